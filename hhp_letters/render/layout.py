"""What every native page shares: measured text, the wrap, and drawing a plan as PDF operators.

A design (letter or note) plans a page as :class:`TextLine` s, rules and a signature box, all
in points from the top-left; :class:`Design` turns a plan into a content stream.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hhp_letters.campaign import Authority
from hhp_letters.errors import RenderError
from hhp_letters.problems import Origin, Problem, error
from hhp_letters.render.geometry import MM, Rect
from hhp_letters.render.pdf import number
from hhp_letters.render.templating import BodyTemplate


def graphemes(word: str) -> list[str]:
    """A word's letters with their combining marks (what a reader sees as one character)."""
    out: list[str] = []
    for char in word:
        if out and unicodedata.category(char) in ("Mn", "Mc", "Me"):
            out[-1] += char
        else:
            out.append(char)
    return out


class Metrics(Protocol):
    """What a design measures text with (per style: regular, bold, italic)."""

    def width(self, text: str, style: str, size: float) -> float: ...
    def unprintable(self, text: str, style: str) -> list[str]: ...
    def ascent(self, style: str) -> float: ...
    def descent(self, style: str) -> float: ...


class Encoder(Protocol):
    """What a design draws text with: operators for one line (inside BT … ET)."""

    def show(self, text: str, style: str, size: float, x: float, y: float) -> bytes: ...

K100 = b"0 0 0 1 k\n"


@dataclass(frozen=True, slots=True)
class TextLine:
    face: str  # regular | bold | italic
    size: float
    x: float  # points from the left edge
    baseline: float  # points from the top edge
    text: str

    def __reduce__(self) -> tuple[type[TextLine], tuple[str, float, float, float, str]]:
        # plans come back from worker processes: a slots dataclass unpickles field by field
        return TextLine, (self.face, self.size, self.x, self.baseline, self.text)


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault of a design that no participant causes: ``key`` says where it lies
    (``body`` is the letter's wording; anything else is a key of the authority's table)."""

    key: str
    message: str
    hint: str = ""
    code: str = "letter_design"


@dataclass(frozen=True)
class Plan:
    lines: tuple[TextLine, ...]
    bars: tuple[Rect, ...]  # coloured rules, in points from top-left
    signature: Rect  # in points from top-left
    bottom: float  # lowest point used, points from the top


class Design:
    """Shared by the letter and the note: fonts, wrap, letterhead form, drawing."""

    def __init__(self, *, authority: Authority, fonts: Metrics, template: BodyTemplate,
                 page_mm: tuple[float, float], signature_aspect: float,
                 logo_aspect: float, brand: tuple[float, float, float, float]) -> None:
        self.authority = authority
        self.fonts = fonts
        self.template = template
        self.page_w, self.page_h = page_mm[0] * MM, page_mm[1] * MM
        self.signature_aspect = signature_aspect
        self.logo_aspect = logo_aspect
        self.brand = brand  # CMYK 0..1, as printed (render.native.brand_cmyk)
        self._wrap_cache: dict[tuple[str, str, float, float], tuple[str, ...]] = {}
        self.logo_box = Rect(0, 0, 0, 0)
        self.header_lines: tuple[TextLine, ...] = ()
        self.fold_marks: tuple[float, ...] = ()  # mm from the top

    def place_logo(self, left: float, top: float, max_w: float, max_h: float) -> Rect:
        w, h = max_w, max_w * self.logo_aspect
        if h > max_h:
            h, w = max_h, max_h / self.logo_aspect
        return Rect(left * MM, top * MM, (left + w) * MM, (top + h) * MM)

    # what a design needs of its wording: blocks and placeholders it must use
    required_blocks: tuple[str, ...] = ("signature",)
    forbidden_blocks: tuple[str, ...] = ()
    required_names: tuple[str, ...] = ()
    item = "letter"

    def static_problems(self) -> list[Fault]:
        """Faults of the wording and the campaign's own texts, found with a sample job: a
        missing block or greeting, a template that fails or runs away, a character the
        fonts cannot print in the return address, signatory or wording."""
        faults: list[Fault] = []
        t = self.template
        for block in self.required_blocks:
            if block not in t.blocks:
                faults.append(Fault("body", f"{t.name} has no [[{block}]] line, so the "
                                    f"{self.item}s would go out without it",
                                    f"add a line holding only [[{block}]] to {t.name}"))
        for block in self.forbidden_blocks:
            if block in t.blocks:
                faults.append(Fault("body", f"{t.name} has a [[{block}]] line; "
                                    f"{self.item}s have no {block}", f"remove [[{block}]]"))
        for name in self.required_names:
            if name not in t.names:
                faults.append(Fault("body", f"{t.name} never uses {{{{ {name} }}}}, so the "
                                    f"{self.item} would not greet its reader by name",
                                    f"put {{{{ {name} }}}} in the greeting"))
        values = self.sample_values()
        try:
            parts = t.render(values, timed=True)
        except RenderError as exc:
            code = "template_unsafe" if "not allowed" in exc.message else "template_error"
            return [*faults, Fault("body", exc.message, exc.hint or "", code)]
        greeting = values.get("first_name") or values.get("manager_first_name")
        body = " ".join(p.text for p in parts if p.text)
        if isinstance(greeting, str) and greeting not in body:
            faults.append(Fault("body", f"{t.name} does not print {{{{ first_name }}}} for "
                                "every letter (it is inside a condition that can be false), "
                                f"so a {self.item} would not greet its reader by name",
                                "put the placeholder in the greeting, outside {% if %}"))
        a = self.authority
        texts = [("return_address", "the return address", line) for line in a.return_address]
        texts += [("signatory.name", "the signatory's name", a.signatory.name),
                  ("signatory.title", "the signatory's title", a.signatory.title),
                  ("name", "the authority's name", a.name),
                  ("area", "the area", a.display_area if a.area else "")]
        seen: set[str] = set()
        for key, what, text in texts:
            for style in ("regular", "bold") if key == "signatory.name" else ("regular",):
                for char in self.fonts.unprintable(text, style):
                    seen.add(char)
                    faults.append(self._blank_box(key, what, char))
        for part in parts:  # the wording itself (what campaign.toml put in it is named above)
            for char in self.fonts.unprintable(part.text, "regular"):
                if char not in seen:
                    seen.add(char)
                    faults.append(self._blank_box("body", "the wording", char))
        return list(dict.fromkeys(faults))

    def _blank_box(self, key: str, what: str, char: str) -> Fault:
        return Fault(key, f"{what} contains {char!r} (U+{ord(char):04X} "
                     f"{unicodedata.name(char, 'unnamed')}), which no shipped font can print: "
                     f"every {self.item} would show a blank box",
                     "replace or remove the character", "unprintable_character")

    def sample_values(self) -> dict[str, object]:
        """Values a template is checked with: plain ASCII, so only the template's own text
        and the campaign's can be unprintable."""
        return {}

    def plan(self, job: Any) -> Plan | list[Problem]:
        """Lay out one job, or say exactly why it cannot be printed."""
        raise NotImplementedError

    def box(self, line: TextLine) -> Rect:
        fonts = self.fonts
        top = line.baseline - fonts.ascent(line.face) * line.size / 1000
        bottom = line.baseline - fonts.descent(line.face) * line.size / 1000
        return Rect(line.x, top, line.x + fonts.width(line.text, line.face, line.size), bottom)

    def wrap(self, text: str, face_key: str, size: float, width: float,
             cache: bool) -> tuple[str, ...]:
        """Greedy wrap; each word measured once (and cached per run by the face)."""
        key = (text, face_key, size, width)
        if cache and key in self._wrap_cache:
            return self._wrap_cache[key]
        fonts = self.fonts
        space = fonts.width(" ", face_key, size)
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for word in text.split(" "):
            w = fonts.width(word, face_key, size)
            if w > width:  # a single over-long word (a URL): break it by characters
                if current:
                    lines.append(" ".join(current))
                piece = ""
                for char in graphemes(word):  # never part a letter from its accents
                    if fonts.width(piece + char, face_key, size) > width and piece:
                        lines.append(piece)
                        piece = ""
                    piece += char
                current, used = [piece], fonts.width(piece, face_key, size)
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
                           fields: Sequence[tuple[str, str, str] | tuple[str, str, str, Origin]]
                           ) -> list[Problem]:
        """(what, text, face[, where it came from]) → an error for each character no shipped
        font can draw, located in the file, sheet, row and column the text came from."""
        problems = []
        for field in fields:
            what, text, face = field[:3]
            where = field[3] if len(field) > 3 else origin
            for char in self.fonts.unprintable(text, face):
                name = unicodedata.name(char, "unnamed character")
                problems.append(self.problem(
                    where, key, "unprintable_character",
                    f"{what} contains {char!r} (U+{ord(char):04X} {name}), which no shipped "
                    "font can print", "remove or replace the character"))
        return problems

    def problem(self, origin: Origin, key: str, code: str, message: str,
                hint: str, detail: str = "") -> Problem:
        return error(code, origin, f"{self.subject} {key!r}: {message}", hint, key, detail)

    subject = "participant"

    def letterhead_content(self, encoder: Encoder) -> bytes:
        """The static letterhead, drawn once per run as a Form XObject."""
        logo = self.logo_box
        out = [b"q %s 0 0 %s %s %s cm /Logo Do Q\n" % (
            number(logo.width).encode(), number(logo.height).encode(), number(logo.x0).encode(),
            number(self.page_h - logo.y1).encode()), K100]
        if self.header_lines:
            out.append(self.encode_lines(self.header_lines, encoder))
        if self.fold_marks:
            out.append(b"0 0 0 1 K 0.5 w\n")
            for pos in self.fold_marks:
                y = number(self.page_h - pos * MM).encode()
                out.append(b"0 %s m %s %s l S\n" % (y, number(6 * MM).encode(), y))
        return b"".join(out)

    def content(self, plan: Plan, encoder: Encoder) -> bytes:
        out = [b"q /Head Do Q\n", K100, self.encode_lines(plan.lines, encoder)]
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

    def encode_lines(self, lines: Iterable[TextLine], encoder: Encoder) -> bytes:
        out = [b"BT\n"]
        for line in lines:
            out.append(encoder.show(line.text, line.face, line.size, line.x,
                                    self.page_h - line.baseline))
            out.append(b"\n")
        out.append(b"ET\n")
        return b"".join(out)
