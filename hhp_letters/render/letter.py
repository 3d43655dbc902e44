"""The native letter: A4, letterhead, address in the envelope window, body, signature.

A letter is planned twice: once while checking (does it fit? which characters does it use?),
then again when drawing, after the run's font subsets are fixed. Planning is cheap because the
template's own paragraphs are wrapped once per run and cached.
"""

from __future__ import annotations

import datetime as dt

from hhp_letters.campaign import Authority, Envelope
from hhp_letters.model import LetterJob
from hhp_letters.problems import Problem
from hhp_letters.render.geometry import A4, MM, Rect, Window
from hhp_letters.render.layout import Design, Fault, Metrics, Plan, TextLine
from hhp_letters.render.templating import BodyTemplate

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
FOLD_CLEAR = 1.5  # points kept clear either side of a fold


def format_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _pt(r: Rect) -> Rect:
    return Rect(r.x0 * MM, r.y0 * MM, r.x1 * MM, r.y1 * MM)


class LetterDesign(Design):
    """One authority's letter for one run: static parts measured once, each job planned."""

    def __init__(self, *, authority: Authority, fonts: Metrics, template: BodyTemplate,
                 envelope: Envelope, date: dt.date, signature_aspect: float,
                 logo_aspect: float, fold_marks: bool,
                 brand: tuple[float, float, float, float]) -> None:
        super().__init__(authority=authority, fonts=fonts, template=template, page_mm=A4,
                         signature_aspect=signature_aspect, logo_aspect=logo_aspect,
                         brand=brand)
        self.window = Window.for_envelope(envelope, A4)
        # where the sheet is folded for the envelope, in mm and in points from the top
        folds_mm = (A4[1] / 3, 2 * A4[1] / 3) if envelope.fold == "thirds" else (A4[1] / 2,)
        self.folds = tuple(f * MM for f in folds_mm)
        self.date_text = format_date(date)
        if fold_marks:
            self.fold_marks = folds_mm
        self.logo_box = self.place_logo(LEFT, LOGO_TOP, LOGO_MAX_W, LOGO_MAX_H)
        self.date_line = self._date_line()
        # The date is drawn on the page, just after the addressee's name: a text layer's
        # reading order then matches the drawing order (the two share a line on the page).
        self.header_lines = self._return_address()
        self.body_top = max(self.window.reach.y1, self.date_line.baseline / MM + 2) + \
            BODY_GAP_AFTER_WINDOW

    def _return_address(self) -> tuple[TextLine, ...]:
        lines = []
        baseline = (LOGO_TOP + 2.5) * MM
        for text in self.authority.return_address:
            width = self.fonts.width(text, "regular", SMALL_SIZE)
            lines.append(TextLine("regular", SMALL_SIZE, RIGHT * MM - width, baseline, text))
            baseline += SMALL_LEADING
        return tuple(lines)

    def _date_line(self) -> TextLine:
        width = self.fonts.width(self.date_text, "regular", BODY_SIZE)
        baseline = self.window.address.y0 * MM + BODY_SIZE
        line = TextLine("regular", BODY_SIZE, RIGHT * MM - width, baseline, self.date_text)
        if self.box(line).intersects(_pt(self.window.reach)):
            baseline = (self.window.reach.y1 + 4) * MM
            line = TextLine("regular", BODY_SIZE, RIGHT * MM - width, baseline, self.date_text)
        return line

    required_blocks = ("feedback", "signature")
    required_names = ("first_name",)

    def static_problems(self) -> list[Fault]:
        """Design faults that no participant causes: the letterhead reaching into the window,
        and those of the wording and the campaign's texts."""
        faults = super().static_problems()
        reach = _pt(self.window.reach)
        if self.logo_box.intersects(reach):
            faults.append(Fault("logo", "the logo reaches into the envelope window",
                                "use a wider logo (less tall) or an envelope whose window "
                                "sits lower"))
        for line in (*self.header_lines, self.date_line):
            if self.box(line).intersects(reach) or line.x < LEFT * MM:
                faults.append(Fault("return_address", f"return address line {line.text!r} "
                                    "reaches into the envelope window or past the margin",
                                    "shorten it"))
        return faults

    def sample_values(self) -> dict[str, object]:
        a = self.authority
        return {"first_name": "Alex", "last_name": "Example", "authority": a.name,
                "area": a.display_area, "signatory_name": a.signatory.name,
                "signatory_title": a.signatory.title, "date": self.date_text}

    def values(self, job: LetterJob) -> dict[str, object]:
        a = self.authority
        return {"first_name": job.first_name, "last_name": job.last_name,
                "authority": a.name, "area": a.display_area,
                "signatory_name": a.signatory.name, "signatory_title": a.signatory.title,
                "date": self.date_text}

    def plan(self, job: LetterJob) -> Plan | list[Problem]:
        """Lay out one letter, or say exactly why it cannot be printed."""
        pid = job.participant_id
        where = job.where
        problems = self.character_problems(job.origin, pid, (
            ("first name", job.first_name, "regular", where("first_name")),
            ("last name", job.last_name, "regular", where("last_name")),
            *((f"address line {i}", t, "regular", where(f"address_{i}" if i <= 3 else "town"))
              for i, t in enumerate(job.address_lines[:-2], 1)),
            ("post town", job.address_lines[-2], "regular", where("town")),
            ("feedback line 1", job.feedback[0], "italic", where("feedback_1")),
            ("feedback line 2", job.feedback[1], "italic", where("feedback_2"))))
        lines: list[TextLine] = []
        address = self.window.address
        block = (job.name_line, *job.address_lines)
        if len(block) > MAX_ADDRESS_LINES:
            problems.append(self.problem(job.origin, pid, "address_too_many_lines",
                                         f"the address has {len(block)} lines; at most "
                                         f"{MAX_ADDRESS_LINES} fit", "merge address lines"))
        baseline = address.y0 * MM + self.fonts.ascent("regular") * ADDRESS_SIZE / 1000
        for i, text in enumerate(block):
            width = self.fonts.width(text, "regular", ADDRESS_SIZE)
            if width > address.width * MM:
                what = "the name" if i == 0 else f"address line {i}"
                problems.append(self.problem(
                    job.origin, pid, "address_too_wide",
                    f"{what} is {width / MM:.0f} mm wide; the envelope window takes "
                    f"{address.width:.0f} mm", "shorten or abbreviate it", detail=text))
            lines.append(TextLine("regular", ADDRESS_SIZE, address.x0 * MM, baseline, text))
            if i == 0:
                lines.append(self.date_line)
            baseline += ADDRESS_LEADING
        block_bottom = lines[-1].baseline - self.fonts.descent("regular") * ADDRESS_SIZE / 1000
        if block_bottom > address.y1 * MM + 0.01:
            problems.append(self.problem(
                job.origin, pid, "address_too_many_lines",
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
                    top = y
                    for para in f"\u201c{text}\u201d".split("\n"):
                        for row in self.wrap(para, "italic", BODY_SIZE, width - QUOTE_INDENT,
                                             cache=False):
                            y = self.clear_of_folds(y + BODY_LEADING, BODY_LEADING)
                            lines.append(TextLine("italic", BODY_SIZE, LEFT * MM + QUOTE_INDENT,
                                                  y - 3.5, row))
                    bars.append(Rect(LEFT * MM + QUOTE_INDENT - 4 * MM, top + 1.5,
                                     LEFT * MM + QUOTE_INDENT - 4 * MM + 1.6, y + 1))
                    y += QUOTE_GAP
                    if y / MM > BOTTOM_LIMIT and not overflow_cause:
                        overflow_cause = f"feedback line {n}"
                y += PARA_GAP - QUOTE_GAP
            elif part.block == "signature":
                signature, y = self._signature(lines, y, width)
            else:
                cache = job.first_name not in part.text
                for row in self.wrap(part.text, "regular", BODY_SIZE, width, cache=cache):
                    y = self.clear_of_folds(y + BODY_LEADING, BODY_LEADING)
                    lines.append(TextLine("regular", BODY_SIZE, LEFT * MM, y - 3.5, row))
                y += PARA_GAP
        bottom = y - PARA_GAP
        if bottom / MM > BOTTOM_LIMIT:
            longest = max((1, 2), key=lambda n: len(job.feedback[n - 1]))
            cause = overflow_cause or f"feedback line {longest}"
            problems.append(self.problem(
                job.origin, pid, "overflow",
                f"the letter does not fit on one page: it is {bottom / MM - BOTTOM_LIMIT:.0f} mm "
                f"too long ({cause} has {len(job.feedback[int(cause[-1]) - 1]):,} characters)",
                f"shorten {cause} for this participant (two or three sentences fit)"))
        if problems:
            return problems
        return Plan(tuple(lines), tuple(bars), signature, bottom)

    def clear_of_folds(self, bottom: float, height: float) -> float:
        """The bottom of a slot ``height`` tall ending at ``bottom`` (points from the top),
        moved down so no fold of the sheet runs through it (a fold through a line of text or
        the signature cracks the toner and reads badly)."""
        for fold in self.folds:
            if bottom - height < fold + FOLD_CLEAR and bottom > fold - FOLD_CLEAR:
                bottom = fold + FOLD_CLEAR + height
        return bottom

    def _signature(self, lines: list[TextLine], y: float, width: float) -> tuple[Rect, float]:
        sw = self.authority.signature_width * MM
        sh = sw * self.signature_aspect
        y = self.clear_of_folds(y + sh, sh) - sh
        box = Rect(LEFT * MM, y, LEFT * MM + sw, y + sh)
        y = self.clear_of_folds(y + sh + BODY_LEADING, BODY_LEADING)
        lines.append(TextLine("bold", BODY_SIZE, LEFT * MM, y - 3.5,
                              self.authority.signatory.name))
        for row in self.wrap(self.authority.signatory.title, "regular", BODY_SIZE, width,
                             cache=True):
            y = self.clear_of_folds(y + BODY_LEADING, BODY_LEADING)
            lines.append(TextLine("regular", BODY_SIZE, LEFT * MM, y - 3.5, row))
        return box, y + PARA_GAP
