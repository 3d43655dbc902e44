"""Shaped text for the native PDF writer: font choice per word, HarfBuzz shaping, Type0 embedding.

Two phases, so every document of a run can share one subset per face:

1. :class:`Fonts` (loaded once per run) chooses a font for each word (Carlito, else Noto Sans),
   shapes it with HarfBuzz (kerning, ligatures, mark positioning) and caches its width;
   ``width`` is exactly the advance that will be drawn.
2. :class:`TextEncoder` (one per run) turns lines into PDF operators, allocating a CID per
   distinct (face, glyph, text) as it goes and caching each word's TJ bytes; once every page is
   encoded, ``pdf_objects`` writes the Type0 fonts: CIDFontType2 descendants with a fontTools
   subset, ``/W``, ``/CIDToGIDMap``, ``/ToUnicode`` and ``/CIDSet``.

Why a positioned mark is drawn as a glyph made for the subset: drawn as itself it needs a text
rise (Ts) and pen moves back and forth, and pypdf turns a rightward TJ move of half a space or
more into a space ("W̃yn" reads back "W̃ yn"); a /W width that differs from the font program's
fails PDF/A checks. So each glyph HarfBuzz offsets (and each cluster of several glyphs) becomes
a TrueType composite in the subset, with the component at HarfBuzz's offset and a real advance;
the text is then a plain run of glyphs with kerning as TJ numbers, one CID per character.

/W widths are whole numbers because PDFium keeps them as integers (Carlito's 2048-unit advances
would drift ~0.3 units a glyph); the rounding is taken back with TJ numbers once it reaches
1/1000 em, and ``width`` adds the very numbers written, so it matches every reader.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import NamedTuple, TypeVar

import uharfbuzz as hb
from fontTools import subset as ft_subset
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from hhp_letters.render.pdf import number, stream

STYLES = ("regular", "bold", "italic")
PRIMARY = "Carlito"
FALLBACK = "NotoSans"
FAMILIES = (PRIMARY, FALLBACK)
_FILE_STYLE = {"regular": "Regular", "bold": "Bold", "italic": "Italic"}
_MARKS = frozenset({"Mn", "Mc", "Me"})
_MAX_CID = 0xFFFF
_UNPRINTABLE = -1
# tables a PDF font program does not use; hdmx, VDMX and LTSH would go stale with added glyphs
_DROP = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "kern", "hdmx", "VDMX", "LTSH", "DSIG")
# a pen error below 1/1000 em (0.012 pt at 12 pt) is left to grow rather than corrected with
# a TJ number after every Carlito glyph (its 2048-unit advances are not whole 1/1000 em)
_SLACK = 1.0
_IDENTITY = (1.0, 0.0, 0.0, 1.0)
_SAME_SPOT = 70  # 1/1000 em: PDFium's "same position" for duplicate characters
_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class Metrics:
    """Vertical metrics of a style's primary font, in 1/1000 em."""

    ascent: float
    descent: float
    cap_height: float


@dataclass(frozen=True, slots=True)
class Composite:
    """A glyph synthesized for the subset: components (glyph id, dx, dy) in font units."""

    components: tuple[tuple[int, int, int], ...]
    advance: int


GlyphRef = int | Composite  # a glyph id of the font, or a glyph made for the subset


class Drawn(NamedTuple):
    """One glyph as drawn: ``before`` is the TJ number in front of it (1/1000 em).

    ``repeat`` counts earlier copies drawn at (nearly) the same spot: each copy gets its own
    CID because PDFium drops a character whose code repeats within 0.07 em (it takes it for
    overprinted fake bold), which would lose the second of two identical stacked marks."""

    glyph: GlyphRef
    text: str
    before: float
    repeat: int


@dataclass(frozen=True, slots=True)
class Shaped:
    """A word shaped once per run. ``face`` indexes FAMILIES, or is -1 when unprintable."""

    face: int
    units: float  # advance in 1/1000 em: the sum of the drawn /W widths minus the TJ numbers
    glyphs: tuple[Drawn, ...]
    after: float  # TJ number after the last glyph
    missing: tuple[str, ...]  # why it is unprintable


def _units(value: float) -> float:
    """1/1000 em rounded as written to the file, so width() adds what a reader adds."""
    return round(value, 4) + 0.0  # + 0.0 turns -0.0 into 0.0


def _coord(value: float) -> bytes:
    """A position in points with 3 decimals, as short as it goes."""
    text = b"%.3f" % value
    text = text.rstrip(b"0").rstrip(b".")
    return b"0" if text == b"-0" else text


def _num(value: float) -> bytes:
    return number(value).encode("ascii") if float(value).is_integer() else (
        f"{value:.4f}".rstrip("0").encode("ascii"))


class _Face:
    """One font file: HarfBuzz font for shaping, cmap, advances and descriptor values."""

    def __init__(self, family: str, style: str, path: Path) -> None:
        self.family = family
        self.style = style
        self.path = path
        self.data = path.read_bytes()
        face = hb.Face(self.data)
        self.hb_font = hb.Font(face)
        self.upem: int = face.upem
        self.cmap = frozenset(face.unicodes)
        self.space = self.hb_font.get_nominal_glyph(0x20) or 0
        self.glyph_count: int = face.glyph_count
        # the /W width of every glyph, looked up per glyph when shaping
        self.widths = tuple(self.width(self.advance(g)) for g in range(self.glyph_count))
        tables = _read_tables(face)
        self.ps_name = tables.ps_name
        self.bbox = tuple(v * 1000 / self.upem for v in tables.bbox)
        self.italic_angle = tables.italic_angle
        scale = 1000 / self.upem
        self.metrics = Metrics(tables.ascent * scale, tables.descent * scale,
                               tables.cap_height * scale if tables.cap_height else
                               tables.ascent * scale)
        # the same rough estimate reportlab writes: TrueType has no stem width
        self.stem_v = 50 + int((tables.weight / 65.0) ** 2)
        self.flags = 4 | (64 if tables.italic_angle else 0)  # symbolic; italic

    @property
    def key(self) -> str:
        return f"{self.family}-{_FILE_STYLE[self.style]}"

    def covers(self, char: str) -> bool:
        # HarfBuzz draws a Unicode space the font lacks (no-break space…) with the space glyph
        return ord(char) in self.cmap or (unicodedata.category(char) == "Zs" and self.space != 0)

    def advance(self, gid: int) -> int:
        return int(self.hb_font.get_glyph_h_advance(gid))

    def width(self, font_units: int) -> int:
        """An advance as written in /W: whole 1/1000 em, since PDFium drops the fraction."""
        return round(font_units * 1000 / self.upem)


@dataclass(frozen=True)
class _Tables:
    ps_name: str
    bbox: tuple[int, int, int, int]
    italic_angle: float
    ascent: int
    descent: int
    cap_height: int
    weight: int


def _read_tables(face: hb.Face) -> _Tables:
    """The few values of head, post, OS/2 and name that a font descriptor needs."""
    head = face.reference_table("head").data
    bbox = struct.unpack(">hhhh", head[36:44])
    post = face.reference_table("post").data
    angle = struct.unpack(">i", post[4:8])[0] / 65536
    os2 = face.reference_table("OS/2").data
    version, weight = struct.unpack(">HxxH", os2[:6])
    ascent, descent = struct.unpack(">hh", os2[68:72])
    cap = struct.unpack(">h", os2[88:90])[0] if version >= 2 and len(os2) >= 90 else 0
    name = face.get_name(hb.OTNameIdPredefined.POSTSCRIPT_NAME) or "Font"
    return _Tables(name, bbox, angle, ascent, descent, cap, weight)


class Fonts:
    """The run's fonts: Carlito first, Noto Sans for words Carlito cannot draw.

    Loaded once per run; read-only after load except for the bounded cache of word widths.
    """

    def __init__(self, faces: Mapping[str, tuple[_Face, _Face]], *, kerning: bool = True,
                 cache_size: int = 50_000) -> None:
        self._faces = dict(faces)
        self._features = {"kern": kerning}
        self._cache_size = cache_size
        # word → (advance in 1/1000 em, characters no font has): small, so 50,000 words of
        # free text cost ~10 MB, and the shaping itself is kept by the encoder as bytes
        self._cache: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {
            s: {} for s in STYLES}
        self._space = {s: float(faces[s][0].width(faces[s][0].advance(faces[s][0].space)))
                       for s in STYLES}
        self.files = tuple(f.path for s in STYLES for f in faces[s])
        self._lookups = 0  # words measured by width(), for the cache hit rate
        self._misses = 0  # words shaped

    @classmethod
    def load(cls, folder: Path, *, kerning: bool = True, cache_size: int = 50_000) -> Fonts:
        faces = {s: (_Face(PRIMARY, s, folder / f"{PRIMARY}-{_FILE_STYLE[s]}.ttf"),
                     _Face(FALLBACK, s, folder / f"{FALLBACK}-{_FILE_STYLE[s]}.ttf"))
                 for s in STYLES}
        return cls(faces, kerning=kerning, cache_size=cache_size)

    def cache_info(self) -> tuple[int, int, int]:
        """(words measured by width(), of those not in the cache, word widths cached now)."""
        return self._lookups, self._misses, sum(len(c) for c in self._cache.values())

    def face(self, style: str, index: int) -> _Face:
        return self._faces[style][index]

    def metrics(self, style: str) -> Metrics:
        return self._faces[style][0].metrics

    def ascent(self, style: str) -> float:
        return self._faces[style][0].metrics.ascent

    def descent(self, style: str) -> float:
        return self._faces[style][0].metrics.descent

    def cap_height(self, style: str) -> float:
        return self._faces[style][0].metrics.cap_height

    def space_units(self, style: str) -> float:
        """The advance of a space between words, in 1/1000 em (the primary font's space)."""
        return self._space[style]

    def width(self, text: str, style: str, size: float) -> float:
        """Width in points, exactly the advance ``TextEncoder.show`` draws: words + spaces."""
        cache = self._cache[style]
        words = text.split(" ")
        self._lookups += len(words)
        total = self._space[style] * (len(words) - 1)
        for word in words:
            measure = cache.get(word)
            if measure is None:
                measure = self._measure(word, style)
            total += measure[0]
        return total * size / 1000.0

    def unprintable(self, text: str, style: str) -> list[str]:
        """The distinct characters that stop a word of ``text`` from printing, in text order:
        ones no shipped font has (emoji, unassigned, CJK…), or a mark with no letter before it.
        (A word with marks must be drawn in Noto Sans, so a character only Carlito has is
        named too when it shares a word with a mark.)"""
        cache = self._cache[style]
        seen: dict[str, None] = {}
        for line in text.split("\n"):
            for word in line.split(" "):
                measure = cache.get(word)
                if measure is None:
                    measure = self._measure(word, style)
                seen.update(dict.fromkeys(measure[1]))
        return list(seen)

    def _measure(self, word: str, style: str) -> tuple[float, tuple[str, ...]]:
        self._misses += 1
        shaped = self.shape(word, style)
        measure = (shaped.units, shaped.missing)
        _bounded_put(self._cache[style], word, measure, self._cache_size)
        return measure

    def shape(self, word: str, style: str) -> Shaped:
        """One word (no spaces) shaped with the face that draws it: Carlito when it has every
        character and the word has no combining mark, else Noto Sans when it has every one,
        else unprintable (``face`` -1). Not cached: the encoder keeps each word's TJ bytes
        and width() each word's advance."""
        return self._shape(unicodedata.normalize("NFC", word), style)

    def _shape(self, word: str, style: str) -> Shaped:
        primary, fallback = self._faces[style]
        has_marks = any(unicodedata.category(c) in _MARKS for c in word)
        if not has_marks and all(primary.covers(c) for c in word):
            return self._run(word, primary, 0)
        missing = tuple(dict.fromkeys(c for c in word if not fallback.covers(c)))
        if not missing and has_marks and _starts_with_mark(word):
            missing = (word[0],)  # a mark with no letter to sit on
        shaped = self._run(word, fallback, 1)
        if missing:
            return Shaped(_UNPRINTABLE, shaped.units, (), 0.0, missing)
        return shaped

    def _run(self, word: str, face: _Face, index: int) -> Shaped:
        if not word:
            return Shaped(index, 0.0, (), 0.0, ())
        buf = hb.Buffer()
        buf.add_str(word)
        buf.guess_segment_properties()
        buf.direction = "ltr"
        buf.language = "en"  # not the process locale: output must not depend on LANG
        # one cluster per character, so marks and letters keep their own ToUnicode text
        buf.cluster_level = hb.BufferClusterLevel.CHARACTERS
        hb.shape(face.hb_font, buf, self._features)
        glyphs = [(info.codepoint, info.cluster, pos.x_advance, pos.x_offset, pos.y_offset)
                  for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True)]
        groups: list[list[tuple[int, int, int, int, int]]] = []
        for glyph in glyphs:
            if groups and groups[-1][0][1] == glyph[1]:
                groups[-1].append(glyph)
            else:
                groups.append([glyph])
        starts = [g[0][1] for g in groups]
        if starts != sorted(set(starts)) or starts[0] != 0:
            # glyphs out of text order: the text read back would be scrambled
            return Shaped(index, 0.0, (), 0.0, tuple(dict.fromkeys(word)))
        ends = [*starts[1:], len(word)]
        drawn: list[Drawn] = []
        missing: list[str] = []  # characters that came out as .notdef
        scale = 1000 / face.upem
        widths = face.widths
        # the PDF pen (integer /W widths minus TJ numbers) and HarfBuzz's, 1/1000 em
        actual = target = 0.0
        places: list[float] = []  # the PDF pen where each drawn glyph starts
        for group, start, end in zip(groups, starts, ends, strict=True):
            text = word[start:end]
            gid, _, x_advance, x_offset, y_offset = group[0]
            if len(group) == 1 and not x_offset and not y_offset:
                if not gid:
                    missing.extend(text)
                gap = actual - target
                before = _units(gap) if gap >= _SLACK or gap <= -_SLACK else 0.0
                actual -= before
                repeat = (_repeat(drawn, places, gid, text, actual)
                          if places and actual - places[-1] < _SAME_SPOT else 0)
                drawn.append(Drawn(gid, text, before, repeat))
                places.append(actual)
                actual += widths[gid]
                target += x_advance * scale
                continue
            if any(g[0] == 0 for g in group):
                missing.extend(text)
            # offset glyphs (marks) and multi-glyph clusters: one composite drawn where the
            # PDF pen is, so kerning still pending stays out of the component offsets
            pen = target
            components = []
            for g, _, xa, xo, yo in group:
                components.append((g, round((pen + xo * scale - actual) / scale), yo))
                pen += xa * scale
            advance = sum(g[2] for g in group)
            composite = Composite(tuple(components), advance)
            repeat = (_repeat(drawn, places, composite, text, actual)
                      if places and actual - places[-1] < _SAME_SPOT else 0)
            drawn.append(Drawn(composite, text, 0.0, repeat))
            places.append(actual)
            actual += face.width(advance)
            target = pen
        gap = actual - target
        after = _units(gap) if abs(gap) >= _SLACK else 0.0
        total = actual - after
        if missing:
            return Shaped(_UNPRINTABLE, total, (), 0.0, tuple(dict.fromkeys(missing)))
        return Shaped(index, total, tuple(drawn), after, ())


def _repeat(drawn: Sequence[Drawn], places: Sequence[float], glyph: GlyphRef, text: str,
            place: float) -> int:
    """How many of the last glyphs (PDFium looks at 7) are this glyph within 0.07 em."""
    return max((d.repeat + 1 for d, p in zip(drawn[-7:], places[-7:], strict=True)
                if d.glyph == glyph and d.text == text and abs(p - place) < _SAME_SPOT),
               default=0)


def _starts_with_mark(word: str) -> bool:
    return unicodedata.category(word[0]) in _MARKS


@dataclass(frozen=True, slots=True)
class _Fragment:
    face: int
    body: bytes  # TJ array elements


class _FontUse:
    """The CIDs one face has handed out this run, in allocation order."""

    def __init__(self, face: _Face, resource: str) -> None:
        self.face = face
        self.resource = resource
        self.cids: dict[tuple[GlyphRef, str, int], int] = {}
        self.order: list[tuple[GlyphRef, str, int]] = []
        self.program: tuple[bytes, list[int]] | None = None  # the subset, once sealed

    def cid(self, glyph: GlyphRef, text: str, sealed: bool, repeat: int = 0) -> int:
        key = (glyph, text, repeat)
        cid = self.cids.get(key)
        if cid is None:
            if sealed:
                raise RuntimeError(
                    f"text {text!r} was first drawn after the fonts were written; encode "
                    "every page (or call TextEncoder.allocate) before pdf_objects()")
            cid = len(self.order) + 1  # CID 0 stays .notdef
            if cid > _MAX_CID:
                raise RuntimeError(f"more than {_MAX_CID} distinct glyphs in {self.face.key}")
            self.cids[key] = cid
            self.order.append(key)
        return cid


class TextEncoder:
    """Draws lines for one run and, at the end, writes the fonts they used.

    ``show`` returns operators for inside BT … ET; the same text always gives the same bytes.
    After ``pdf_objects`` the fonts are fixed: text needing a new glyph raises RuntimeError.
    """

    def __init__(self, fonts: Fonts, resource_prefix: str = "F", *,
                 word_cache: int = 20_000, line_cache: int = 5_000) -> None:
        self.fonts = fonts
        self._uses: dict[tuple[str, int], _FontUse] = {}
        self._names = {(s, i): f"{resource_prefix}{s[0].upper()}{i}"
                       for s in STYLES for i in range(len(FAMILIES))}
        self._words: dict[str, dict[str, _Fragment]] = {s: {} for s in STYLES}
        self._lines: dict[tuple[str, str], tuple[bytes, ...]] = {}
        self._spaces: dict[str, dict[int, bytes]] = {s: {} for s in STYLES}
        self._word_cache = word_cache  # bounded: memory stays flat at any run size
        self._line_cache = line_cache
        self._sealed = False

    def _use(self, style: str, index: int) -> _FontUse:
        use = self._uses.get((style, index))
        if use is None:
            use = _FontUse(self.fonts.face(style, index), self._names[(style, index)])
            self._uses[(style, index)] = use
        return use

    def show(self, text: str, style: str, size: float, x: float, y: float,
             matrix: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 1.0)) -> bytes:
        """Operators drawing one line with its baseline origin at (x, y), PDF user space.

        ``matrix`` (a b c d of Tm) rotates or skews the line (the proof watermark)."""
        if not text:
            return b""
        parts = self._lines.get((text, style))
        if parts is None:
            parts = self._line(text, style)
            _bounded_put(self._lines, (text, style), parts, self._line_cache)
        tm = b"1 0 0 1 " if matrix == _IDENTITY else b"%s %s %s %s " % tuple(
            _num(v) for v in matrix)
        return tm + _coord(x) + b" " + _coord(y) + b" Tm " + _num(size).join(parts) + b"\n"

    def allocate(self, text: str, style: str) -> None:
        """Give ``text`` its CIDs now (phase one of a run) without drawing it."""
        if text and (text, style) not in self._lines:
            _bounded_put(self._lines, (text, style), self._line(text, style),
                         self._line_cache)

    def _line(self, text: str, style: str) -> tuple[bytes, ...]:
        """The line's operators split where the font size goes (size-independent parts)."""
        runs: list[tuple[int, list[bytes]]] = []
        words = text.split(" ")
        last = len(words) - 1
        fragments = self._words[style]
        spaces = self._spaces[style]
        face = -1
        bodies: list[bytes] = []
        for n, word in enumerate(words):
            fragment = fragments.get(word) or self._word(word, style)
            if word and fragment.face != face:  # an empty word stays in the current font
                if bodies:
                    runs.append((face, bodies))
                face, bodies = fragment.face, []
            elif face < 0:
                face = 0
            if fragment.body:
                bodies.append(fragment.body)
            if n < last:
                bodies.append(spaces.get(face) or self._space(style, face))
        if bodies:
            runs.append((face, bodies))
        if not runs:
            return (b"",)
        parts: list[bytes] = []
        pending = b""
        for face, bodies in runs:
            parts.append(pending + b"/" + self._names[(style, face)].encode("ascii") + b" ")
            # adjacent glyph strings merge into one: <0001> <0002> → <00010002>
            pending = b" Tf [" + b" ".join(bodies).replace(b"> <", b"") + b"] TJ"
        parts.append(pending)
        return tuple(parts)

    def _space(self, style: str, face: int) -> bytes:
        """A space in the word's own font, corrected to the primary font's width."""
        use = self._use(style, face)
        cid = use.cid(use.face.space, " ", self._sealed)
        correction = use.face.widths[use.face.space] - self.fonts.space_units(style)
        body = b"<%04X>" % cid + (b" " + _num(correction) if correction else b"")
        self._spaces[style][face] = body
        return body

    def _word(self, word: str, style: str) -> _Fragment:
        fragment = self._words[style].get(word)
        if fragment is not None:
            return fragment
        shaped = self.fonts.shape(word, style)
        if shaped.face == _UNPRINTABLE:
            chars = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in shaped.missing)
            raise ValueError(f"cannot print {word!r}: no shipped font draws {chars}")
        use = self._use(style, shaped.face)
        items: list[bytes] = []
        codes = bytearray()
        for d in shaped.glyphs:
            if d.before:
                if codes:
                    items.append(b"<" + codes.hex().upper().encode("ascii") + b">")
                    codes = bytearray()
                items.append(_num(d.before))
            codes += use.cid(d.glyph, d.text, self._sealed, d.repeat).to_bytes(2, "big")
        if codes:
            items.append(b"<" + codes.hex().upper().encode("ascii") + b">")
        if shaped.after:
            items.append(_num(shaped.after))
        fragment = _Fragment(shaped.face, b" ".join(items))
        _bounded_put(self._words[style], word, fragment, self._word_cache)
        return fragment

    def resource_names(self) -> dict[str, str]:
        """Resource name → font key (e.g. "FR1" → "NotoSans-Regular") of every font used."""
        return {use.resource: use.face.key for _, use in sorted(self._uses.items(),
                                                                key=self._order)}

    def _order(self, item: tuple[tuple[str, int], _FontUse]) -> tuple[int, int]:
        (style, index), _ = item
        return STYLES.index(style), index

    def pdf_objects(self, first_number: int) -> tuple[list[tuple[int, bytes]], dict[str, int]]:
        """Objects (number, body) of every font used, numbered from ``first_number``, and
        resource name → object number of its Type0 font. Fixes the fonts (see ``show``), so a
        second call (say, another authority's shared block) only renumbers: no new subset."""
        self._sealed = True
        objects: list[tuple[int, bytes]] = []
        fonts: dict[str, int] = {}
        n = first_number
        with quiet_fonttools():
            for _, use in sorted(self._uses.items(), key=self._order):
                if not use.order:
                    continue
                if use.program is None:
                    use.program = _subset(use.face, use.order)
                built = _font_objects(use, use.program, n)
                fonts[use.resource] = n
                objects += built
                n += len(built)
        return objects, fonts


def _bounded_put(cache: dict[_K, _V], key: _K, value: _V, limit: int) -> None:
    """Insert, first dropping the oldest half when full: memory stays flat at any run size."""
    if len(cache) >= limit:
        for old in list(islice(cache, len(cache) // 2)):
            del cache[old]
    cache[key] = value


# ---------------------------------------------------------------------------------------------
# Font objects


def _font_objects(use: _FontUse, subset: tuple[bytes, list[int]], n: int,
                  ) -> list[tuple[int, bytes]]:
    face = use.face
    program, gids = subset
    tag = subset_tag(program)
    base = f"{tag}+{face.ps_name}"
    widths = [face.width(face.advance(g) if isinstance(g, int) else g.advance)
              for g, _, _ in use.order]
    cid_to_gid = b"\0\0" + b"".join(g.to_bytes(2, "big") for g in gids)
    count = len(use.order) + 1
    cid_set = bytearray((count + 7) // 8)
    for cid in range(count):
        cid_set[cid // 8] |= 0x80 >> (cid % 8)
    descriptor = (
        f"<< /Type /FontDescriptor /FontName /{base} /Flags {face.flags} "
        f"/FontBBox [{' '.join(number(v) for v in face.bbox)}] "
        f"/ItalicAngle {number(face.italic_angle)} /Ascent {number(face.metrics.ascent)} "
        f"/Descent {number(face.metrics.descent)} /CapHeight {number(face.metrics.cap_height)} "
        f"/StemV {face.stem_v} /FontFile2 {n + 3} 0 R /CIDSet {n + 6} 0 R >>")
    w = b"[1 [" + b" ".join(_num(v) for v in widths) + b"]]"
    cid_font = (
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base} /CIDSystemInfo << /Registry "
        f"(Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {n + 2} 0 R /DW 0 "
        f"/CIDToGIDMap {n + 5} 0 R /W ").encode("ascii") + w + b" >>"
    type0 = (f"<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H "
             f"/DescendantFonts [{n + 1} 0 R] /ToUnicode {n + 4} 0 R >>").encode("ascii")
    mapping = [(cid, text) for cid, (_, text, _) in enumerate(use.order, start=1)]
    return [(n, type0), (n + 1, cid_font), (n + 2, descriptor.encode("ascii")),
            (n + 3, stream(program, {"Length1": str(len(program))})),
            (n + 4, stream(to_unicode_cmap(mapping), {})),
            (n + 5, stream(cid_to_gid, {})), (n + 6, stream(bytes(cid_set), {}))]


def subset_tag(program: bytes) -> str:
    """Six capital letters from the SHA-256 of the subset's font program bytes."""
    value = int.from_bytes(hashlib.sha256(program).digest()[:8], "big")
    letters = []
    for _ in range(6):
        value, rem = divmod(value, 26)
        letters.append(chr(65 + rem))
    return "".join(letters)


def _subset(face: _Face, order: Sequence[tuple[GlyphRef, str, int]],
            ) -> tuple[bytes, list[int]]:
    """The subset program and, for each CID (in order), its glyph id in that program."""
    font = TTFont(io.BytesIO(face.data), recalcTimestamp=False)
    names = font.getGlyphOrder()
    keep = {0}
    composites: dict[Composite, str] = {}
    for glyph, _, _ in order:
        if isinstance(glyph, int):
            keep.add(glyph)
        else:
            keep.update(c[0] for c in glyph.components)
            composites.setdefault(glyph, f"hhp.{len(composites):04d}")
    for tag in _DROP:  # before the subsetter decompiles them (80% of its time otherwise)
        if tag in font:
            del font[tag]
    options = ft_subset.Options()
    options.glyph_names = False
    options.notdef_outline = True
    options.recalc_timestamp = False
    options.layout_features = []
    options.drop_tables = [*options.drop_tables, *_DROP]
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(gids=sorted(keep))
    subsetter.subset(font)
    if composites:
        glyf = font["glyf"]
        hmtx = font["hmtx"]
        glyph_order = list(font.getGlyphOrder())
        for composite, name in composites.items():
            pen = TTGlyphPen(glyf)
            for gid, dx, dy in composite.components:
                pen.addComponent(names[gid], (1, 0, 0, 1, dx, dy))
            glyph = pen.glyph()
            glyph_order.append(name)
            glyf[name] = glyph
            glyph.recalcBounds(glyf)
            hmtx[name] = (composite.advance, getattr(glyph, "xMin", 0))
        font.setGlyphOrder(glyph_order)
        glyf.glyphOrder = glyph_order
    out = io.BytesIO()
    font.save(out)
    ids = {name: i for i, name in enumerate(font.getGlyphOrder())}
    gids = [ids[names[g]] if isinstance(g, int) else ids[composites[g]] for g, _, _ in order]
    return out.getvalue(), gids


def to_unicode_cmap(mapping: Sequence[tuple[int, str]]) -> bytes:
    """A ToUnicode CMap for 2-byte codes; text beyond U+FFFF is written as surrogate pairs."""
    lines = [f"<{cid:04X}> <{text.encode('utf-16-be').hex().upper()}>" for cid, text in mapping]
    blocks = []
    for i in range(0, len(lines), 100):
        chunk = lines[i:i + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar\n")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "".join(blocks) +
            "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")


@contextmanager
def quiet_fonttools() -> Iterator[None]:
    """Hide fontTools' notice that Carlito's 'created' date is odd (it is, harmlessly)."""
    logger = logging.getLogger("fontTools.ttLib.tables._h_e_a_d")

    def odd_timestamp(record: logging.LogRecord) -> bool:
        return "timestamp seems very low" not in record.getMessage()

    logger.addFilter(odd_timestamp)
    try:
        yield
    finally:
        logger.removeFilter(odd_timestamp)
