"""The native letter: layout with the fonts' real metrics, then PDF content streams.

A letter is planned twice: once while checking (does it fit? which characters does it use?),
then again when drawing, after the run's font subsets are fixed. Planning is cheap because the
template's own paragraphs are wrapped once per run and cached.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from hhp_letters.campaign import Authority, Envelope
from hhp_letters.model import LetterJob
from hhp_letters.problems import Problem, error
from hhp_letters.render.fonts import EmbeddedFace, Face, FontSet
from hhp_letters.render.geometry import A4, MM, Rect, Window
from hhp_letters.render.pdf import literal, number
from hhp_letters.render.templating import BodyTemplate, Part

PAGE_W, PAGE_H = A4[0] * MM, A4[1] * MM

# Layout, in mm from the top-left of the sheet unless noted.
LEFT, RIGHT = 25.0, 185.0
LOGO_TOP, LOGO_MAX_W, LOGO_MAX_H = 12.0, 65.0, 22.0
BOTTOM_LIMIT = 279.0
BODY_GAP_AFTER_WINDOW = 9.0
ADDRESS_SIZE, ADDRESS_LEADING = 10.0, 11.0  # points
SMALL_SIZE, SMALL_LEADING = 9.0, 11.0
BODY_SIZE, BODY_LEADING, PARA_GAP = 11.0, 14.5, 6.5
QUOTE_INDENT, QUOTE_GAP = 9.0 * MM, 4.0
MAX_ADDRESS_LINES = 7
K100 = b"0 0 0 1 k\n"


def format_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


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
    bars: tuple[Rect, ...]  # feedback rules, in points from top-left
    signature: Rect  # in points from top-left
    bottom: float  # lowest point used, points from the top

    def chars(self) -> set[str]:
        out: set[str] = set()
        for line in self.lines:
            out.update(line.text)
        return out


class LetterDesign:
    """One authority's letter for one run: static parts measured once, each job planned."""

    def __init__(self, *, authority: Authority, fonts: FontSet, template: BodyTemplate,
                 envelope: Envelope, date: dt.date, signature_aspect: float,
                 logo_aspect: float, fold_marks: bool) -> None:
        self.authority = authority
        self.fonts = fonts
        self.template = template
        self.window = Window.for_envelope(envelope, A4)
        self.date_text = format_date(date)
        self.signature_aspect = signature_aspect
        self.logo_aspect = logo_aspect
        self.fold_marks = fold_marks
        self.fold_positions = ((A4[1] / 3, 2 * A4[1] / 3) if envelope.fold == "thirds"
                               else (A4[1] / 2,))
        self.brand = hex_to_cmyk(authority.colour)
        self._wrap_cache: dict[tuple[str, str, float, float], tuple[str, ...]] = {}
        self.logo_box, self.header_lines = self._letterhead()
        self.date_line = self._date_line()
        self.body_top = max(self.window.reach.y1, self.date_line.baseline / MM + 2) + \
            BODY_GAP_AFTER_WINDOW

    # -- static parts ----------------------------------------------------------------------

    def face(self, key: str) -> Face:
        return getattr(self.fonts, key)  # type: ignore[no-any-return]

    def _letterhead(self) -> tuple[Rect, tuple[TextLine, ...]]:
        w = LOGO_MAX_W
        h = w * self.logo_aspect
        if h > LOGO_MAX_H:
            h, w = LOGO_MAX_H, LOGO_MAX_H / self.logo_aspect
        logo = Rect(LEFT * MM, LOGO_TOP * MM, (LEFT + w) * MM, (LOGO_TOP + h) * MM)
        regular = self.fonts.regular
        lines = []
        baseline = (LOGO_TOP + 2.5) * MM
        for text in self.authority.return_address:
            width = regular.text_width(text, SMALL_SIZE)
            lines.append(TextLine("regular", SMALL_SIZE, RIGHT * MM - width, baseline, text))
            baseline += SMALL_LEADING
        return logo, tuple(lines)

    def _date_line(self) -> TextLine:
        width = self.fonts.regular.text_width(self.date_text, BODY_SIZE)
        baseline = self.window.address.y0 * MM + BODY_SIZE
        line = TextLine("regular", BODY_SIZE, RIGHT * MM - width, baseline, self.date_text)
        if self._box(line).intersects(_pt(self.window.reach)):
            baseline = (self.window.reach.y1 + 4) * MM
            line = TextLine("regular", BODY_SIZE, RIGHT * MM - width, baseline, self.date_text)
        return line

    def static_problems(self) -> list[str]:
        """Design faults that no participant causes: the letterhead reaching into the window."""
        faults = []
        reach = _pt(self.window.reach)
        if self.logo_box.intersects(reach):
            faults.append("the logo reaches into the envelope window; use a wider logo "
                          "(less tall) or an envelope whose window sits lower")
        for line in self.header_lines:
            if self._box(line).intersects(reach) or line.x < LEFT * MM:
                faults.append(f"return address line {line.text!r} reaches into the envelope "
                              "window or past the margin; shorten it")
        return faults

    def static_chars(self) -> set[str]:
        chars = set(self.date_text)
        for line in self.header_lines:
            chars.update(line.text)
        return chars

    def _box(self, line: TextLine) -> Rect:
        face = self.face(line.face)
        top = line.baseline - face.ascent * line.size / 1000
        bottom = line.baseline - face.descent * line.size / 1000
        return Rect(line.x, top, line.x + face.text_width(line.text, line.size), bottom)

    # -- per letter ------------------------------------------------------------------------

    def _wrap(self, text: str, face_key: str, size: float, width: float,
              cache: bool) -> tuple[str, ...]:
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
                    current, used = [], 0.0
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

    def values(self, job: LetterJob) -> dict[str, object]:
        a = self.authority
        return {"first_name": job.first_name, "last_name": job.last_name,
                "authority": a.name, "area": a.display_area,
                "signatory_name": a.signatory.name, "signatory_title": a.signatory.title,
                "date": self.date_text}

    def plan(self, job: LetterJob) -> Plan | list[Problem]:
        """Lay out one letter, or say exactly why it cannot be printed."""
        problems = self._character_problems(job)
        lines: list[TextLine] = []
        address = self.window.address
        block = (job.name_line, *job.address_lines)
        if len(block) > MAX_ADDRESS_LINES:
            problems.append(self._problem(job, "address_too_many_lines",
                                          f"the address has {len(block)} lines; at most "
                                          f"{MAX_ADDRESS_LINES} fit", "merge address lines"))
        baseline = address.y0 * MM + self.fonts.regular.ascent * ADDRESS_SIZE / 1000
        for i, text in enumerate(block):
            width = self.fonts.regular.text_width(text, ADDRESS_SIZE)
            if width > address.width * MM:
                what = "the name" if i == 0 else f"address line {text!r}"
                problems.append(self._problem(
                    job, "address_too_wide",
                    f"{what} is {width / MM:.0f} mm wide; the envelope window takes "
                    f"{address.width:.0f} mm", "shorten or abbreviate it"))
            lines.append(TextLine("regular", ADDRESS_SIZE, address.x0 * MM, baseline, text))
            baseline += ADDRESS_LEADING
        last = lines[-1]
        block_bottom = last.baseline - self.fonts.regular.descent * ADDRESS_SIZE / 1000
        if block_bottom > address.y1 * MM + 0.01:
            problems.append(self._problem(
                job, "address_too_many_lines",
                f"the address block is {(block_bottom / MM - address.y0):.0f} mm tall; the "
                f"envelope window shows {address.height:.0f} mm", "merge address lines"))

        width = (RIGHT - LEFT) * MM
        y = self.body_top * MM
        bars: list[Rect] = []
        signature = Rect(0, 0, 0, 0)
        overflow_cause = ""
        for part in self.template.render(self.values(job)):
            if part.block == "feedback":
                for n, text in enumerate(job.feedback, start=1):
                    quoted = f"\u201c{text}\u201d"
                    top = y
                    for para in quoted.split("\n"):
                        for row in self._wrap(para, "italic", BODY_SIZE, width - QUOTE_INDENT,
                                              cache=False):
                            y += BODY_LEADING
                            lines.append(TextLine("italic", BODY_SIZE, LEFT * MM + QUOTE_INDENT,
                                                  y - 3.5, row))
                    bars.append(Rect(LEFT * MM + QUOTE_INDENT - 4 * MM, top + 1.5,
                                     LEFT * MM + QUOTE_INDENT - 4 * MM + 1.6, y + 1))
                    y += QUOTE_GAP
                    if y / MM > BOTTOM_LIMIT and not overflow_cause:
                        overflow_cause = f"feedback line {n}"
                y += PARA_GAP - QUOTE_GAP
            elif part.block == "signature":
                sw = self.authority.signature_width * MM
                sh = sw * self.signature_aspect
                signature = Rect(LEFT * MM, y, LEFT * MM + sw, y + sh)
                y += sh + BODY_LEADING
                lines.append(TextLine("bold", BODY_SIZE, LEFT * MM, y - 3.5,
                                      self.authority.signatory.name))
                for row in self._wrap(self.authority.signatory.title, "regular", BODY_SIZE,
                                      width, cache=True):
                    y += BODY_LEADING
                    lines.append(TextLine("regular", BODY_SIZE, LEFT * MM, y - 3.5, row))
                y += PARA_GAP
            else:
                cache = part.text not in (job.first_name, job.last_name)
                for row in self._wrap(part.text, "regular", BODY_SIZE, width, cache=cache):
                    y += BODY_LEADING
                    lines.append(TextLine("regular", BODY_SIZE, LEFT * MM, y - 3.5, row))
                y += PARA_GAP
        bottom = y - PARA_GAP
        if bottom / MM > BOTTOM_LIMIT:
            longest = max((1, 2), key=lambda n: len(job.feedback[n - 1]))
            cause = overflow_cause or f"feedback line {longest}"
            problems.append(self._problem(
                job, "overflow",
                f"the letter does not fit on one page: it is {bottom / MM - BOTTOM_LIMIT:.0f} mm "
                f"too long ({cause} has {len(job.feedback[int(cause[-1]) - 1]):,} characters)",
                f"shorten {cause} for this participant (two or three sentences fit)"))
        if problems:
            return problems
        return Plan(tuple(lines), tuple(bars), signature, bottom)

    def _character_problems(self, job: LetterJob) -> list[Problem]:
        problems = []
        fields = (("first name", job.first_name, "regular"), ("last name", job.last_name,
                                                              "regular"),
                  *((f"address line {i}", t, "regular")
                    for i, t in enumerate(job.address_lines, 1)),
                  ("feedback line 1", job.feedback[0], "italic"),
                  ("feedback line 2", job.feedback[1], "italic"))
        for what, text, face in fields:
            for char in self.face(face).missing(text):
                name = unicodedata.name(char, "unnamed character")
                problems.append(self._problem(
                    job, "unprintable_character",
                    f"{what} contains {char!r} (U+{ord(char):04X} {name}), which the letter "
                    "font cannot print", "remove or replace the character"))
        return problems

    def _problem(self, job: LetterJob, code: str, message: str, hint: str) -> Problem:
        return error(code, job.origin, f"participant {job.participant_id!r}: {message}", hint,
                     job.participant_id)

    # -- drawing ---------------------------------------------------------------------------

    def letterhead_content(self, faces: dict[str, EmbeddedFace]) -> bytes:
        """The static letterhead, drawn once per run as a Form XObject."""
        logo = self.logo_box
        out = [b"q %s 0 0 %s %s %s cm /Logo Do Q\n" % (
            number(logo.width).encode(), number(logo.height).encode(), number(logo.x0).encode(),
            number(PAGE_H - logo.y1).encode())]
        out.append(K100)
        out.append(encode_lines(self.header_lines, faces))
        if self.fold_marks:
            out.append(b"0 0 0 1 K 0.5 w\n")
            for pos in self.fold_positions:
                y = number(PAGE_H - pos * MM).encode()
                out.append(b"0 %s m %s %s l S\n" % (y, number(6 * MM).encode(), y))
        return b"".join(out)

    def content(self, plan: Plan, faces: dict[str, EmbeddedFace]) -> bytes:
        out = [b"q /Head Do Q\n", K100, encode_lines((self.date_line, *plan.lines), faces)]
        if plan.bars:
            c, m, y, k = self.brand
            out.append(b"%s %s %s %s k\n" % tuple(number(v).encode() for v in (c, m, y, k)))
            for bar in plan.bars:
                out.append(b"%s %s %s %s re f\n" % tuple(number(v).encode() for v in (
                    bar.x0, PAGE_H - bar.y1, bar.width, bar.height)))
            out.append(K100)
        s = plan.signature
        out.append(b"q %s 0 0 %s %s %s cm /Sig Do Q\n" % tuple(number(v).encode() for v in (
            s.width, s.height, s.x0, PAGE_H - s.y1)))
        return b"".join(out)


def _pt(r: Rect) -> Rect:
    return Rect(r.x0 * MM, r.y0 * MM, r.x1 * MM, r.y1 * MM)


def encode_lines(lines: Iterable[TextLine], faces: dict[str, EmbeddedFace]) -> bytes:
    out = [b"BT\n"]
    current: tuple[str, float] | None = None
    for line in lines:
        out.append(b"1 0 0 1 %s %s Tm " % (number(line.x).encode(),
                                          number(PAGE_H - line.baseline).encode()))
        for font, data in faces[line.face].encode(line.text):
            if current != (font, line.size):
                out.append(b"/%s %s Tf " % (font.encode(), number(line.size).encode()))
                current = (font, line.size)
            out.append(literal(data) + b" Tj ")
        out.append(b"\n")
    out.append(b"ET\n")
    return b"".join(out)


def parts_chars(parts: Iterable[Part]) -> set[str]:
    out: set[str] = set()
    for part in parts:
        out.update(part.text)
    return out
