"""TrueType faces loaded once per run: metrics for measuring, and subsets for embedding.

Every font is embedded as a TrueType subset (FontFile2) of at most 256 characters per PDF font,
built once per run from the characters the run actually prints, so each document carries one
program per face instead of one per letter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase.ttfonts import TTFontFile

from hhp_letters.render.pdf import number as _num
from hhp_letters.render.pdf import stream as _stream

_SUBSET_SIZE = 256


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

    def has(self, char: str) -> bool:
        return ord(char) in self.ttf.charToGlyph

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
    regular: Face
    bold: Face
    italic: Face

    def faces(self) -> tuple[Face, ...]:
        return (self.regular, self.bold, self.italic)

    @classmethod
    def load(cls, folder: Path, family: str = "Carlito") -> FontSet:
        return cls(Face("regular", folder / f"{family}-Regular.ttf"),
                   Face("bold", folder / f"{family}-Bold.ttf"),
                   Face("italic", folder / f"{family}-Italic.ttf"))


class EmbeddedFace:
    """A face's characters for this run, split into ≤256-character PDF fonts.

    Subset 0 keeps printable ASCII at its own codes so content streams stay readable.
    """

    def __init__(self, face: Face, chars: Iterable[str], resource_prefix: str) -> None:
        self.face = face
        wanted = sorted({ord(c) for c in chars if c not in "\n"} | set(range(32, 127)))
        first = [0] * 32 + list(range(32, 127)) + [0]  # codes 0..127
        extra = [c for c in wanted if c > 127 or c < 32]
        subsets: list[list[int]] = [first]
        for code in extra:
            if len(subsets[-1]) >= _SUBSET_SIZE:
                subsets.append([])
            subsets[-1].append(code)
        self.subsets = subsets
        self.codes: dict[int, tuple[int, int]] = {}
        for n, subset in enumerate(subsets):
            for i, code in enumerate(subset):
                if code and (code >= 32 or n):
                    self.codes.setdefault(code, (n, i))
        self.names = [f"{resource_prefix}{n}" for n in range(len(subsets))]

    def encode(self, text: str) -> list[tuple[str, bytes]]:
        """``text`` as runs of (PDF font resource name, 1-byte codes)."""
        runs: list[tuple[str, bytes]] = []
        current = -1
        buf = bytearray()
        for char in text:
            n, code = self.codes[ord(char)]
            if n != current and buf:
                runs.append((self.names[current], bytes(buf)))
                buf = bytearray()
            current = n
            buf.append(code)
        if buf:
            runs.append((self.names[current], bytes(buf)))
        return runs

    def pdf_objects(self, first_number: int) -> list[tuple[int, bytes]]:
        """PDF objects (number, body) for every subset: font, descriptor, program, ToUnicode."""
        ttf = self.face.ttf
        out: list[tuple[int, bytes]] = []
        number = first_number
        for n, subset in enumerate(self.subsets):
            base = f"{_tag(n)}+{ttf.name.decode('latin-1')}"
            program = ttf.makeSubset(subset)
            font_file = _stream(program, {"Length1": str(len(program))})
            cmap = _stream(_to_unicode(base, subset).encode("ascii"), {})
            widths = " ".join(_num(ttf.charWidths.get(c, ttf.defaultWidth) if c else
                                   ttf.defaultWidth) for c in subset)
            flags = (ttf.flags | 4) & ~32  # symbolic, not non-symbolic
            descriptor = (
                f"<< /Type /FontDescriptor /FontName /{base} /Flags {flags} "
                f"/FontBBox [{' '.join(_num(v) for v in ttf.bbox)}] /ItalicAngle "
                f"{_num(ttf.italicAngle)} /Ascent {_num(ttf.ascent)} /Descent "
                f"{_num(ttf.descent)} /CapHeight {_num(ttf.capHeight)} /StemV {ttf.stemV} "
                f"/MissingWidth {_num(ttf.defaultWidth)} /FontFile2 {number + 2} 0 R >>"
            ).encode("ascii")
            font = (
                f"<< /Type /Font /Subtype /TrueType /BaseFont /{base} /FirstChar 0 "
                f"/LastChar {len(subset) - 1} /Widths [{widths}] /FontDescriptor {number + 1} 0 R "
                f"/ToUnicode {number + 3} 0 R >>"
            ).encode("ascii")
            out += [(number, font), (number + 1, descriptor), (number + 2, font_file),
                    (number + 3, cmap)]
            number += 4
        return out

    def font_object_numbers(self, first_number: int) -> list[int]:
        return [first_number + 4 * n for n in range(len(self.subsets))]


def _tag(n: int) -> str:
    """Subset tag: six capital letters, distinct per subset (AAAAAA, AAAAAB, ...)."""
    letters = ""
    for _ in range(6):
        n, rem = divmod(n, 26)
        letters = chr(65 + rem) + letters
    return letters


def _to_unicode(name: str, subset: Sequence[int]) -> str:
    lines = [f"<{i:02X}> <{code:04X}>" for i, code in enumerate(subset) if code]
    chunks = [lines[i:i + 100] for i in range(0, len(lines), 100)]
    body = "\n".join(f"{len(c)} beginbfchar\n" + "\n".join(c) + "\nendbfchar" for c in chunks)
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            f"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            f"/CMapName /{name}-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<00> <FF>\n"
            f"endcodespacerange\n{body}\nendcmap\nCMapName currentdict /CMap defineresource pop\n"
            "end\nend")
