"""The native coffee-machine note: a card (A5 landscape, or A4) with the authority's logo, the
greeting to the team manager and team, the note's wording, and the signature. No address,
no window; generous margins so it can be laminated."""

from __future__ import annotations

from dataclasses import dataclass

from hhp_letters.campaign import Authority
from hhp_letters.model import NoteJob
from hhp_letters.problems import Problem
from hhp_letters.render.geometry import A4, A5_LANDSCAPE, MM, Rect
from hhp_letters.render.layout import Design, Metrics, Plan, TextLine
from hhp_letters.render.templating import BodyTemplate


@dataclass(frozen=True)
class CardStyle:
    page: tuple[float, float]  # mm
    margin: float  # mm
    logo_max: tuple[float, float]  # mm
    size: float  # body text, points
    leading: float
    gap: float  # between paragraphs, points
    signature_max: float  # mm


STYLES = {
    "A5-landscape": CardStyle(A5_LANDSCAPE, 18.0, (55.0, 17.0), 12.5, 17.0, 7.0, 38.0),
    "A4": CardStyle(A4, 25.0, (70.0, 24.0), 14.0, 20.0, 9.0, 50.0),
}


class NoteDesign(Design):
    subject = "team"
    item = "note"
    forbidden_blocks = ("feedback",)
    required_names = ("manager_first_name",)

    def sample_values(self) -> dict[str, object]:
        a = self.authority
        return {"manager_first_name": "Alex", "team": "Example Team", "site": "Example House",
                "authority": a.name, "area": a.display_area, "signatory_name": a.signatory.name,
                "signatory_title": a.signatory.title}

    def __init__(self, *, authority: Authority, fonts: Metrics, template: BodyTemplate,
                 page: str, signature_aspect: float, logo_aspect: float,
                 brand: tuple[float, float, float, float]) -> None:
        self.style = STYLES[page]
        super().__init__(authority=authority, fonts=fonts, template=template,
                         page_mm=self.style.page, signature_aspect=signature_aspect,
                         logo_aspect=logo_aspect, brand=brand)
        m = self.style.margin
        self.logo_box = self.place_logo(m, m - 4, *self.style.logo_max)
        self.body_top = self.logo_box.y1 / MM + 8
        self.bottom_limit = self.style.page[1] - m + 4

    def values(self, job: NoteJob) -> dict[str, object]:
        a = self.authority
        return {"manager_first_name": job.manager_first_name, "team": job.team,
                "site": job.site, "authority": a.name, "area": a.display_area,
                "signatory_name": a.signatory.name, "signatory_title": a.signatory.title}

    def plan(self, job: NoteJob) -> Plan | list[Problem]:
        st = self.style
        problems = self.character_problems(job.origin, job.team, (
            ("the manager's first name", job.manager_first_name, "regular"),))
        left = st.margin * MM
        width = (st.page[0] - 2 * st.margin) * MM
        y = self.body_top * MM
        lines: list[TextLine] = []
        signature = Rect(0, 0, 0, 0)
        for part in self.template.render(self.values(job)):
            if part.block == "signature":
                sw = min(self.authority.signature_width, st.signature_max) * MM
                signature = Rect(left, y, left + sw, y + sw * self.signature_aspect)
                y += sw * self.signature_aspect + st.leading
                lines.append(TextLine("bold", st.size, left, y - 4, self.authority.signatory.name))
                for row in self.wrap(self.authority.signatory.title, "regular", st.size, width,
                                     cache=True):
                    y += st.leading
                    lines.append(TextLine("regular", st.size, left, y - 4, row))
                y += st.gap
            elif part.block == "feedback":
                problems.append(self.problem(job.origin, job.team, "letter_design",
                                             "the note template has a [[feedback]] block; "
                                             "notes have no feedback",
                                             "remove [[feedback]] from the note template"))
            else:
                cache = job.manager_first_name not in part.text
                for row in self.wrap(part.text, "regular", st.size, width, cache=cache):
                    y += st.leading
                    lines.append(TextLine("regular", st.size, left, y - 4, row))
                y += st.gap
        bottom = y - st.gap
        if bottom / MM > self.bottom_limit:
            problems.append(self.problem(
                job.origin, job.team, "overflow",
                f"the note does not fit on its card: it is {bottom / MM - self.bottom_limit:.0f}"
                " mm too long", "shorten the note's wording or use page = \"A4\""))
        if problems:
            return problems
        band_y = (st.page[1] - st.margin / 2) * MM  # a thin rule in the brand colour
        band = Rect(left, band_y, left + width, band_y + 2.0)
        return Plan(tuple(lines), (band,), signature, bottom)
