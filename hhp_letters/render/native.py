"""The native backend (reportlab font metrics, our own PDF writer): plan every letter or note,
then draw them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hhp_letters import __version__
from hhp_letters.campaign import Authority, Campaign
from hhp_letters.model import LetterJob, NoteJob
from hhp_letters.problems import Origin, Problem, error
from hhp_letters.render.fonts import EmbeddedFace, FontSet
from hhp_letters.render.images import PreparedImage, prepare_image
from hhp_letters.render.layout import Design, Plan
from hhp_letters.render.letter import LetterDesign
from hhp_letters.render.note import NoteDesign
from hhp_letters.render.pdf import DocInfo, SharedBlock, literal, number, stream
from hhp_letters.render.templating import BodyTemplate
from hhp_letters.resources import resource_dir

LOGO_PLACED_MM = 65.0
Job = LetterJob | NoteJob
CREATOR = f"hhp-letters {__version__}"


@dataclass(frozen=True)
class Assets:
    """Per-run inputs of the native backend, and the files they came from (for the audit)."""

    fonts: FontSet
    template: BodyTemplate
    files: tuple[Path, ...]


def load_assets(campaign: Campaign) -> Assets:
    folder = resource_dir("templates")
    fonts = FontSet.load(folder / "fonts")
    if campaign.kind == "letters":
        body, default = campaign.spec.letters.body, "letter.j2"
    else:
        body, default = campaign.spec.notes.body, "note.j2"
    path = campaign.resolve(body) if body else folder / default
    return Assets(fonts, BodyTemplate.load(path),
                  (path, *(f.path for f in fonts.faces())))


class NativeBackend:
    """Letters or notes for one run: ``check`` every job first, then ``prepare``, then
    ``page`` for each job in bundle order."""

    def __init__(self, campaign: Campaign, assets: Assets, *, proof: bool = False) -> None:
        self.campaign = campaign
        self.kind = campaign.kind
        self.assets = assets
        self.proof = proof
        self.images: dict[str, tuple[PreparedImage, PreparedImage]] = {}
        self.designs: dict[str, Design] = {}
        for a in campaign.spec.authorities:
            logo = prepare_image(campaign.resolve(a.logo), LOGO_PLACED_MM)
            sig = prepare_image(campaign.resolve(a.signatory.signature), a.signature_width)
            self.images[a.code] = (logo, sig)
            if self.kind == "letters":
                self.designs[a.code] = LetterDesign(
                    authority=a, fonts=assets.fonts, template=assets.template,
                    envelope=campaign.spec.print.envelope,
                    date=a.date or campaign.spec.campaign.date, signature_aspect=sig.aspect,
                    logo_aspect=logo.aspect, fold_marks=campaign.spec.print.fold_marks)
            else:
                self.designs[a.code] = NoteDesign(
                    authority=a, fonts=assets.fonts, template=assets.template,
                    page=campaign.spec.notes.page, signature_aspect=sig.aspect,
                    logo_aspect=logo.aspect)
        # authorities whose letters come from their own Word template: layout is Word's
        self.word_codes = {a.code for a in campaign.spec.authorities if a.template}
        first = next(iter(self.designs.values()))
        self.page_size = (first.page_w, first.page_h)
        self._chars: dict[str, set[str]] = {f.key: set() for f in assets.fonts.faces()}
        self._shared: dict[str, tuple[SharedBlock, dict[str, EmbeddedFace]]] = {}

    def design_problems(self) -> list[Problem]:
        out = []
        for i, a in enumerate(self.campaign.spec.authorities, start=1):
            for fault in self.designs[a.code].static_problems():
                out.append(error("letter_design", Origin(self.campaign.path.name,
                                                         column=f"authorities[{i}]"), fault))
        return out

    def check(self, jobs: Iterable[Job]) -> list[Problem]:
        """Plan every letter: problems for those that cannot be printed; note the characters."""
        problems: list[Problem] = []
        for design in self.designs.values():
            self._chars["regular"].update(design.static_chars())
            self._chars["bold"].update(design.authority.signatory.name)
        for job in jobs:
            design = self.designs[job.authority.code]
            if isinstance(job, LetterJob) and job.authority.code in self.word_codes:
                problems.extend(design.character_problems(job.origin, job.participant_id, (
                    ("first name", job.first_name, "regular"),
                    ("feedback line 1", job.feedback[0], "italic"),
                    ("feedback line 2", job.feedback[1], "italic"))))
                continue
            plan = design.plan(job)  # type: ignore[attr-defined]
            if isinstance(plan, list):
                problems.extend(plan)
                continue
            for line in plan.lines:
                self._chars[line.face].update(line.text)
        return problems

    def prepare(self) -> None:
        """Fix the run's font subsets and serialise each authority's shared objects."""
        faces = {f.key: EmbeddedFace(f, self._chars[f.key], f"F{f.key[0].upper()}")
                 for f in self.assets.fonts.faces()}
        if self.proof:
            faces["bold"] = EmbeddedFace(self.assets.fonts.bold,
                                         self._chars["bold"] | set("PROOF"), "FB")
        for a in self.campaign.spec.authorities:
            self._shared[a.code] = (self._shared_block(a, faces), faces)

    def _shared_block(self, authority: Authority, faces: dict[str, EmbeddedFace]) -> SharedBlock:
        logo, sig = self.images[authority.code]
        objects: list[tuple[int, bytes]] = []
        n = 2  # 1 is the resources dictionary
        font_refs: list[str] = []
        for face in faces.values():
            objs = face.pdf_objects(n)
            for name, num in zip(face.names, face.font_object_numbers(n), strict=True):
                font_refs.append(f"/{name} {num} 0 R")
            objects += objs
            n += len(objs)
        logo_n, sig_n, head_n = n, n + 1, n + 2
        design = self.designs[authority.code]
        head = stream(design.letterhead_content(faces), {
            "Type": "/XObject", "Subtype": "/Form",
            "BBox": f"[0 0 {number(design.page_w)} {number(design.page_h)}]",
            "Resources": "1 0 R"})
        objects += [(logo_n, logo.body), (sig_n, sig.body), (head_n, head)]
        resources = (f"<< /ProcSet [/PDF /Text /ImageC] /Font << {' '.join(font_refs)} >> "
                     f"/XObject << /Logo {logo_n} 0 R /Sig {sig_n} 0 R /Head {head_n} 0 R >> >>")
        objects.append((1, resources.encode("ascii")))
        return SharedBlock.build(objects, resources=1)

    def shared(self, authority: Authority) -> SharedBlock:
        return self._shared[authority.code][0]

    def page(self, job: Job) -> bytes:
        """The page content stream object for one job (compressed once, used twice)."""
        design = self.designs[job.authority.code]
        plan = design.plan(job)  # type: ignore[attr-defined]
        if not isinstance(plan, Plan):  # checked already; a change here is a bug
            raise AssertionError(f"{job.title} no longer fits")
        faces = self._shared[job.authority.code][1]
        content = design.content(plan, faces)
        if self.proof:
            content = watermark(faces["bold"], design.page_w, design.page_h) + content
        return stream(content, {})

    def info(self, title: str, authority: Authority, keywords: str) -> DocInfo:
        day = self.campaign.spec.campaign.date
        return DocInfo(title=title, author=authority.name,
                       subject=self.campaign.spec.campaign.name, creator=CREATOR,
                       keywords=keywords, date=f"D:{day:%Y%m%d}000000Z")


def watermark(bold: EmbeddedFace, page_w: float, page_h: float) -> bytes:
    """A light diagonal PROOF across the page, drawn first so the letter stays readable."""
    angle = math.atan2(page_h, page_w)
    c, s = math.cos(angle), math.sin(angle)
    size = 160.0 * min(page_w, page_h) / 595.0
    width = bold.face.text_width("PROOF", size)
    x = page_w / 2 - c * width / 2 + s * size * 0.35
    y = page_h / 2 - s * width / 2 - c * size * 0.35
    (font, data), = bold.encode("PROOF")
    return (b"q 0 0 0 0.22 k BT /%s %s Tf %s %s %s %s %s %s Tm %s Tj ET Q\n" % (
        font.encode(), number(size).encode(),
        *(number(v).encode() for v in (c, s, -s, c, x, y)), literal(data)))

