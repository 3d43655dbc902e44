"""TrueType faces loaded once per run: metrics for measuring, and subsets for embedding.

Every font is embedded as a TrueType subset (FontFile2) of at most 256 characters per PDF font.
Codes are allocated as text is drawn (:class:`TextEncoder`), and the subsets are built once at
the end of the run from what was drawn, so each document carries one program per face instead
of one per letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase.ttfonts import TTFontFile

from hhp_letters.render.pdf import literal, number
from hhp_letters.render.pdf import stream as _stream

_SUBSET_SIZE = 256
STYLES = ("regular", "bold", "italic")


class Face:
    """One TrueType face: character widths (in 1/1000 em) and the font program."""

    def __init__(self, key: str, path: Path) -> None:
        self.key = key
        self.path = path
        self.ttf = TTFontFile(str(path))
        self._widths: dict[int, float] = dict(self.ttf.charWidths)
        self._word_cache: dict[str, float] = {}
        self.ascent: float = self.ttf.ascent
        self.descent: float = self.ttf.descent
        self.cap_height: float = self.ttf.capHeight

    def missing(self, text: str) -> list[str]:
        """Characters of ``text`` the face cannot draw (they would print as blank boxes)."""
        return sorted({c for c in text if ord(c) not in self.ttf.charToGlyph and c not in "\n"})

    def text_width(self, text: str, size: float) -> float:
        """Width of ``text`` in points. Words are measured once per run and cached."""
        units = self._word_cache.get(text)
        if units is None:
            widths = self._widths
            default = self.ttf.defaultWidth
            units = sum(widths.get(ord(c), default) for c in text)
            if len(self._word_cache) < 50_000:  # bounded: memory stays flat
                self._word_cache[text] = units
        return units * size / 1000.0


@dataclass(frozen=True)
class FontSet:
    """The run's faces by style; what the layout measures with."""

    regular: Face
    bold: Face
    italic: Face

    def faces(self) -> tuple[Face, ...]:
        return (self.regular, self.bold, self.italic)

    def face(self, style: str) -> Face:
        return {"regular": self.regular, "bold": self.bold, "italic": self.italic}[style]

    def width(self, text: str, style: str, size: float) -> float:
        return self.face(style).text_width(text, size)

    def unprintable(self, text: str, style: str) -> list[str]:
        return self.face(style).missing(text)

    def ascent(self, style: str) -> float:
        return self.face(style).ascent

    def descent(self, style: str) -> float:
        return self.face(style).descent

    @classmethod
    def load(cls, folder: Path, family: str = "Carlito") -> FontSet:
        return cls(Face("regular", folder / f"{family}-Regular.ttf"),
                   Face("bold", folder / f"{family}-Bold.ttf"),
                   Face("italic", folder / f"{family}-Italic.ttf"))


def load_fonts() -> FontSet:
    """The shipped fonts (what every native letter is measured and printed with)."""
    from hhp_letters.resources import resource_dir

    return FontSet.load(resource_dir("templates") / "fonts")


class _EmbeddedFace:
    """A face's characters for this run, split into ≤256-character PDF fonts, allocated as
    they are first drawn. Subset 0 keeps printable ASCII at its own codes so content streams
    stay readable."""

    def __init__(self, face: Face, resource_prefix: str) -> None:
        self.face = face
        first = [0] * 32 + list(range(32, 127)) + [0]  # codes 0..127
        self.subsets: list[list[int]] = [first]
        self.codes: dict[int, tuple[int, int]] = {c: (0, c) for c in range(32, 127)}
        self.prefix = resource_prefix

    def name(self, n: int) -> str:
        return f"{self.prefix}{n}"

    def _code(self, char: str) -> tuple[int, int]:
        code = ord(char)
        found = self.codes.get(code)
        if found is None:
            if len(self.subsets[-1]) >= _SUBSET_SIZE:
                self.subsets.append([])
            found = (len(self.subsets) - 1, len(self.subsets[-1]))
            self.subsets[-1].append(code)
            self.codes[code] = found
        return found

    def encode(self, text: str) -> list[tuple[str, bytes]]:
        """``text`` as runs of (PDF font resource name, 1-byte codes)."""
        runs: list[tuple[str, bytes]] = []
        current = -1
        buf = bytearray()
        for char in text:
            n, code = self._code(char)
            if n != current and buf:
                runs.append((self.name(current), bytes(buf)))
                buf = bytearray()
            current = n
            buf.append(code)
        if buf:
            runs.append((self.name(current), bytes(buf)))
        return runs

    def pdf_objects(self, first_number: int) -> tuple[list[tuple[int, bytes]], dict[str, int]]:
        """PDF objects (number, body) for every subset: font, descriptor, program, ToUnicode."""
        ttf = self.face.ttf
        out: list[tuple[int, bytes]] = []
        names: dict[str, int] = {}
        number_ = first_number
        for n, subset in enumerate(self.subsets):
            base = f"{_tag(n)}+{ttf.name.decode('latin-1')}"
            program = ttf.makeSubset(subset)
            font_file = _stream(program, {"Length1": str(len(program))})
            cmap = _stream(to_unicode_cmap(base, subset).encode("ascii"), {})
            widths = " ".join(number(ttf.charWidths.get(c, ttf.defaultWidth) if c else
                                     ttf.defaultWidth) for c in subset)
            flags = (ttf.flags | 4) & ~32  # symbolic, not non-symbolic
            descriptor = (
                f"<< /Type /FontDescriptor /FontName /{base} /Flags {flags} "
                f"/FontBBox [{' '.join(number(v) for v in ttf.bbox)}] /ItalicAngle "
                f"{number(ttf.italicAngle)} /Ascent {number(ttf.ascent)} /Descent "
                f"{number(ttf.descent)} /CapHeight {number(ttf.capHeight)} /StemV {ttf.stemV} "
                f"/MissingWidth {number(ttf.defaultWidth)} /FontFile2 {number_ + 2} 0 R >>"
            ).encode("ascii")
            font = (
                f"<< /Type /Font /Subtype /TrueType /BaseFont /{base} /FirstChar 0 "
                f"/LastChar {len(subset) - 1} /Widths [{widths}] /FontDescriptor "
                f"{number_ + 1} 0 R /ToUnicode {number_ + 3} 0 R >>"
            ).encode("ascii")
            out += [(number_, font), (number_ + 1, descriptor), (number_ + 2, font_file),
                    (number_ + 3, cmap)]
            names[self.name(n)] = number_
            number_ += 4
        return out, names


class TextEncoder:
    """One per run: turns lines of text into content-stream operators, allocating codes as it
    goes; :meth:`pdf_objects` then embeds exactly what was drawn."""

    def __init__(self, fonts: FontSet) -> None:
        self._faces = {f.key: _EmbeddedFace(f, f"F{f.key[0].upper()}") for f in fonts.faces()}

    def show(self, text: str, style: str, size: float, x: float, y: float) -> bytes:
        """Operators (inside BT … ET) drawing ``text`` with its baseline at (x, y), PDF user
        space (points from the bottom-left)."""
        out = [b"1 0 0 1 %s %s Tm " % (number(x).encode(), number(y).encode())]
        for font, data in self._faces[style].encode(text):
            out.append(b"/%s %s Tf %s Tj " % (font.encode(), number(size).encode(),
                                              literal(data)))
        return b"".join(out)

    def pdf_objects(self, first_number: int) -> tuple[list[tuple[int, bytes]], dict[str, int]]:
        objects: list[tuple[int, bytes]] = []
        names: dict[str, int] = {}
        n = first_number
        for face in self._faces.values():
            objs, refs = face.pdf_objects(n)
            objects += objs
            names.update(refs)
            n += len(objs)
        return objects, names


def _tag(n: int) -> str:
    """Subset tag: six capital letters, distinct per subset (AAAAAA, AAAAAB, ...)."""
    letters = ""
    for _ in range(6):
        n, rem = divmod(n, 26)
        letters = chr(65 + rem) + letters
    return letters


def _utf16_hex(code: int) -> str:
    """A code point as ToUnicode wants it: UTF-16BE, so above U+FFFF a surrogate pair."""
    return chr(code).encode("utf-16-be", "surrogatepass").hex().upper()


def to_unicode_cmap(name: str, subset: Sequence[int]) -> str:
    lines = [f"<{i:02X}> <{_utf16_hex(code)}>" for i, code in enumerate(subset) if code]
    chunks = [lines[i:i + 100] for i in range(0, len(lines), 100)]
    body = "\n".join(f"{len(c)} beginbfchar\n" + "\n".join(c) + "\nendbfchar" for c in chunks)
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            f"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            f"/CMapName /{name}-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<00> <FF>\n"
            f"endcodespacerange\n{body}\nendcmap\nCMapName currentdict /CMap defineresource pop\n"
            "end\nend")
