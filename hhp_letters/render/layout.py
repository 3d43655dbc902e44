"""What every native page shares: measured text, the wrap, and drawing a plan as PDF operators.

A design (letter or note) plans a page as :class:`TextLine` s, rules and a signature box, all
in points from the top-left; :class:`Design` turns a plan into a content stream.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hhp_letters.campaign import Authority
from hhp_letters.problems import Origin, Problem, error
from hhp_letters.render.fonts import EmbeddedFace, Face, FontSet
from hhp_letters.render.geometry import MM, Rect
from hhp_letters.render.pdf import literal, number
from hhp_letters.render.templating import BodyTemplate

K100 = b"0 0 0 1 k\n"


def hex_to_cmyk(colour: str) -> tuple[float, float, float, float]:
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    k = 1 - max(r, g, b)
    if k >= 1:
        return 0.0, 0.0, 0.0, 1.0
    c, m, y = (round((1 - v - k) / (1 - k), 3) for v in (r, g, b))
    return c, m, y, round(k, 3)


@dataclass(frozen=True, slots=True)
class TextLine:
    face: str  # regular | bold | italic
    size: float
    x: float  # points from the left edge
    baseline: float  # points from the top edge
    text: str


@dataclass(frozen=True)
class Plan:
    lines: tuple[TextLine, ...]
    bars: tuple[Rect, ...]  # coloured rules, in points from top-left
    signature: Rect  # in points from top-left
    bottom: float  # lowest point used, points from the top


class Design:
    """Shared by the letter and the note: fonts, wrap, letterhead form, drawing."""

    def __init__(self, *, authority: Authority, fonts: FontSet, template: BodyTemplate,
                 page_mm: tuple[float, float], signature_aspect: float,
                 logo_aspect: float) -> None:
        self.authority = authority
        self.fonts = fonts
        self.template = template
        self.page_w, self.page_h = page_mm[0] * MM, page_mm[1] * MM
        self.signature_aspect = signature_aspect
        self.logo_aspect = logo_aspect
        self.brand = hex_to_cmyk(authority.colour)
        self._wrap_cache: dict[tuple[str, str, float, float], tuple[str, ...]] = {}
        self.logo_box = Rect(0, 0, 0, 0)
        self.header_lines: tuple[TextLine, ...] = ()
        self.fold_marks: tuple[float, ...] = ()  # mm from the top

    def face(self, key: str) -> Face:
        return getattr(self.fonts, key)  # type: ignore[no-any-return]

    def place_logo(self, left: float, top: float, max_w: float, max_h: float) -> Rect:
        w, h = max_w, max_w * self.logo_aspect
        if h > max_h:
            h, w = max_h, max_h / self.logo_aspect
        return Rect(left * MM, top * MM, (left + w) * MM, (top + h) * MM)

    def static_problems(self) -> list[str]:
        return []

    def static_chars(self) -> set[str]:
        chars: set[str] = set()
        for line in self.header_lines:
            chars.update(line.text)
        return chars

    def box(self, line: TextLine) -> Rect:
        face = self.face(line.face)
        top = line.baseline - face.ascent * line.size / 1000
        bottom = line.baseline - face.descent * line.size / 1000
        return Rect(line.x, top, line.x + face.text_width(line.text, line.size), bottom)

    def wrap(self, text: str, face_key: str, size: float, width: float,
             cache: bool) -> tuple[str, ...]:
        """Greedy wrap; each word measured once (and cached per run by the face)."""
        key = (text, face_key, size, width)
        if cache and key in self._wrap_cache:
            return self._wrap_cache[key]
        face = self.face(face_key)
        space = face.text_width(" ", size)
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for word in text.split(" "):
            w = face.text_width(word, size)
            if w > width:  # a single over-long word (a URL): break it by characters
                if current:
                    lines.append(" ".join(current))
                piece = ""
                for char in word:
                    if face.text_width(piece + char, size) > width and piece:
                        lines.append(piece)
                        piece = ""
                    piece += char
                current, used = [piece], face.text_width(piece, size)
                continue
            needed = w if not current else used + space + w
            if current and needed > width:
                lines.append(" ".join(current))
                current, used = [word], w
            else:
                current.append(word)
                used = needed
        if current:
            lines.append(" ".join(current))
        result = tuple(lines)
        if cache and len(self._wrap_cache) < 10_000:
            self._wrap_cache[key] = result
        return result

    def character_problems(self, origin: Origin, key: str,
                           fields: Sequence[tuple[str, str, str]]) -> list[Problem]:
        """(what, text, face) → an error for each character the face cannot draw."""
        problems = []
        for what, text, face in fields:
            for char in self.face(face).missing(text):
                name = unicodedata.name(char, "unnamed character")
                problems.append(self.problem(
                    origin, key, "unprintable_character",
                    f"{what} contains {char!r} (U+{ord(char):04X} {name}), which the font "
                    "cannot print", "remove or replace the character"))
        return problems

    def problem(self, origin: Origin, key: str, code: str, message: str,
                hint: str) -> Problem:
        return error(code, origin, f"{self.subject} {key!r}: {message}", hint, key)

    subject = "participant"

    def letterhead_content(self, faces: dict[str, EmbeddedFace]) -> bytes:
        """The static letterhead, drawn once per run as a Form XObject."""
        logo = self.logo_box
        out = [b"q %s 0 0 %s %s %s cm /Logo Do Q\n" % (
            number(logo.width).encode(), number(logo.height).encode(), number(logo.x0).encode(),
            number(self.page_h - logo.y1).encode()), K100]
        if self.header_lines:
            out.append(self.encode_lines(self.header_lines, faces))
        if self.fold_marks:
            out.append(b"0 0 0 1 K 0.5 w\n")
            for pos in self.fold_marks:
                y = number(self.page_h - pos * MM).encode()
                out.append(b"0 %s m %s %s l S\n" % (y, number(6 * MM).encode(), y))
        return b"".join(out)

    def content(self, plan: Plan, faces: dict[str, EmbeddedFace]) -> bytes:
        out = [b"q /Head Do Q\n", K100, self.encode_lines(plan.lines, faces)]
        if plan.bars:
            c, m, y, k = self.brand
            out.append(b"%s %s %s %s k\n" % tuple(number(v).encode() for v in (c, m, y, k)))
            for bar in plan.bars:
                out.append(b"%s %s %s %s re f\n" % tuple(number(v).encode() for v in (
                    bar.x0, self.page_h - bar.y1, bar.width, bar.height)))
            out.append(K100)
        s = plan.signature
        out.append(b"q %s 0 0 %s %s %s cm /Sig Do Q\n" % tuple(number(v).encode() for v in (
            s.width, s.height, s.x0, self.page_h - s.y1)))
        return b"".join(out)

    def encode_lines(self, lines: Iterable[TextLine], faces: dict[str, EmbeddedFace]) -> bytes:
        out = [b"BT\n"]
        current: tuple[str, float] | None = None
        for line in lines:
            out.append(b"1 0 0 1 %s %s Tm " % (number(line.x).encode(),
                                              number(self.page_h - line.baseline).encode()))
            for font, data in faces[line.face].encode(line.text):
                if current != (font, line.size):
                    out.append(b"/%s %s Tf " % (font.encode(), number(line.size).encode()))
                    current = (font, line.size)
                out.append(literal(data) + b" Tj ")
            out.append(b"\n")
        out.append(b"ET\n")
        return b"".join(out)
