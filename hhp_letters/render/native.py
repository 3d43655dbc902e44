"""The native backend (real font metrics, our own PDF writer).

:func:`lay_out_native` plans every letter or note once: what cannot be printed becomes a
problem, and what can is encoded there and then into its page's content stream, kept in the
store. The run's fonts, images and letterheads are then serialised once, per authority, into a
:class:`~hhp_letters.render.pdf.SharedBlock`. :class:`NativeBackend` writes bundles from those
pages; it never lays anything out again.
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hhp_letters import __version__, runfolder
from hhp_letters.campaign import Authority, Campaign
from hhp_letters.errors import InternalError, RenderError
from hhp_letters.merge import CHECKED, Merged
from hhp_letters.model import Job, LetterJob
from hhp_letters.parallel import in_order
from hhp_letters.problems import Origin, Problem, error
from hhp_letters.render import press
from hhp_letters.render.backend import BundleSpec, Rendered, Spans, find_spans
from hhp_letters.render.colour import CmykConverter, default_profile_path
from hhp_letters.render.images import PreparedImage, prepare_image
from hhp_letters.render.integrity import IntegrityCodes
from hhp_letters.render.layout import Design, Encoder, Metrics, Plan
from hhp_letters.render.letter import LetterDesign
from hhp_letters.render.note import NoteDesign
from hhp_letters.render.pdf import (
    DocInfo,
    DocumentWriter,
    Pdfx,
    SharedBlock,
    Sink,
    number,
    stream,
)
from hhp_letters.render.pdfx import PdfxError
from hhp_letters.render.templating import BodyTemplate
from hhp_letters.render.text import Fonts, TextEncoder, quiet_fonttools
from hhp_letters.resources import resource_dir
from hhp_letters.store import FileRecord, Store

LOGO_PLACED_MM = 65.0
CREATOR = f"hhp-letters {__version__}"
STAGE = "layout"


@dataclass(frozen=True)
class Assets:
    """Per-run inputs of the native backend, and the files they came from (for the audit)."""

    fonts: Fonts
    template: BodyTemplate
    files: tuple[Path, ...]
    colour: CmykConverter  # sRGB → CMYK through the output condition's ICC profile
    pdfx: Pdfx  # what every file says about the press it is for


def load_assets(campaign: Campaign) -> Assets:
    folder = resource_dir("templates")
    fonts = Fonts.load(folder / "fonts")
    if campaign.kind == "letters":
        body, default = campaign.spec.letters.body, "letter.j2"
    else:
        body, default = campaign.spec.notes.body, "note.j2"
    path = campaign.resolve(body) if body else folder / default
    try:
        pdfx = press.identification(campaign)
    except (PdfxError, OSError) as exc:  # check reports these; a run never gets here with one
        raise InternalError(f"[print] settings reached the renderer unchecked: {exc}") from exc
    profile = campaign.spec.print.icc_profile
    icc = campaign.resolve(profile) if profile is not None else default_profile_path()
    return Assets(fonts, BodyTemplate.load(path), (path, *fonts.files, icc),
                  press.converter(campaign), pdfx)


def brand_cmyk(authority: Authority, converter: CmykConverter
               ) -> tuple[float, float, float, float]:
    """The brand colour as printed: a CMYK colour as given, an RGB one through the profile."""
    colour = authority.colour
    if isinstance(colour, str):
        c = converter.brand_cmyk(colour)
        return c.c / 100, c.m / 100, c.y / 100, c.k / 100
    cc, m, y, k = (v / 100 for v in colour.cmyk)
    return cc, m, y, k


def doc_info(campaign: Campaign, title: str, authority: Authority, keywords: str,
             creator: str = CREATOR) -> DocInfo:
    day = campaign.spec.campaign.date
    return DocInfo(title=title, author=authority.name, subject=campaign.spec.campaign.name,
                   creator=creator, keywords=keywords, date=f"D:{day:%Y%m%d}000000Z")


@dataclass(frozen=True)
class NativeLayout:
    """The laid-out native letters of a run: shared objects per authority; the pages
    themselves are in the store."""

    campaign: Campaign
    store: Store
    shared: Mapping[str, SharedBlock]
    page_size: tuple[float, float]
    problems: tuple[Problem, ...]
    pdfx: Pdfx


def make_designs(campaign: Campaign, assets: Assets
             ) -> tuple[dict[str, Design], dict[str, tuple[PreparedImage, PreparedImage]]]:
    images: dict[str, tuple[PreparedImage, PreparedImage]] = {}
    designs: dict[str, Design] = {}
    for a in campaign.spec.authorities:
        logo = prepare_image(campaign.resolve(a.logo), LOGO_PLACED_MM, assets.colour)
        sig = prepare_image(campaign.resolve(a.signatory.signature), a.signature_width,
                            assets.colour)
        images[a.code] = (logo, sig)
        brand = brand_cmyk(a, assets.colour)
        if campaign.kind == "letters":
            designs[a.code] = LetterDesign(
                authority=a, fonts=assets.fonts, template=assets.template,
                envelope=campaign.spec.print.envelope,
                date=a.date or campaign.spec.campaign.date, signature_aspect=sig.aspect,
                logo_aspect=logo.aspect, fold_marks=campaign.spec.print.fold_marks,
                brand=brand)
        else:
            designs[a.code] = NoteDesign(
                authority=a, fonts=assets.fonts, template=assets.template,
                page=campaign.spec.notes.page, signature_aspect=sig.aspect,
                logo_aspect=logo.aspect, brand=brand)
    return designs, images


def _withhold(store: Store, job: Job, code: str) -> None:
    if isinstance(job, LetterJob):
        store.add_error(STAGE, code, pid=job.participant_id)
    else:  # a note's problem withholds that team, in that authority, and no other
        store.add_error(STAGE, code, team=job.team_key, cause=store.team_first_seq(job.team_key))


def lay_out_native(campaign: Campaign, merged: Merged, assets: Assets, *, proof: bool,
                   skip: frozenset[str] = frozenset()) -> NativeLayout:
    """Plan and encode every job (except those of authorities in ``skip``, which have their
    own Word letterhead)."""
    store = merged.checked.store
    designs, images = make_designs(campaign, assets)
    encoder = TextEncoder(assets.fonts)
    problems: list[Problem] = []
    broken: set[str] = set()
    body = f"{campaign.kind}.body"
    for i, a in enumerate(campaign.spec.authorities, start=1):
        if a.code in skip:
            continue
        for fault in designs[a.code].static_problems():
            column = body if fault.key == "body" else f"authorities[{i}].{fault.key}"
            problems.append(error(fault.code, Origin(campaign.path.name, column=column),
                                  fault.message, fault.hint))
            broken.add(a.code)
    problems = list(dict.fromkeys(problems))  # a wording fault is found once per authority
    heads = {code: d.letterhead_content(encoder) for code, d in designs.items()
             if code not in skip and code not in broken}
    marks = {code: watermark(encoder, assets.fonts, d.page_w, d.page_h) if proof else b""
             for code, d in designs.items()}
    # planned on every core (the slow part: wording, wrapping, shaping); encoded here, in
    # order, so every page draws from the one run-wide subset of each font
    sent: deque[Job] = deque()  # the jobs whose plans are on their way, in order

    def wanted() -> Iterator[tuple[Job]]:
        for job in merged.jobs(CHECKED):
            if job.authority.code not in skip:
                sent.append(job)
                yield (job,)

    for planned in in_order(_plan, wanted(), context=(designs, frozenset(broken))):
        job = sent.popleft()
        code = job.authority.code
        if planned is None:  # the letterhead itself is wrong: nothing of it may be printed
            _withhold(store, job, "letter_design")
            continue
        if isinstance(planned, str):  # a custom body that leaves out a name or the feedback
            problems.append(_not_shown(campaign, job, planned))
            _withhold(store, job, "letter_design")
            continue
        if isinstance(planned, list):
            problems.extend(planned)
            for p in planned:
                _withhold(store, job, p.code)
            continue
        plan, spans = planned
        # compressed later, on every core, when the bundles are written
        store.add_page(job.key, marks[code] + designs[code].content(plan, encoder), spans)
    shared = {code: _shared_block(designs[code], images[code], heads[code], encoder,
                                  assets.pdfx.header)
              for code in heads}
    first = next(iter(designs.values()))
    return NativeLayout(campaign, store, shared, (first.page_w, first.page_h), tuple(problems),
                        assets.pdfx)


def _plan(context: tuple[Mapping[str, Design], frozenset[str]], job: Job
          ) -> tuple[Plan, Spans] | list[Problem] | str | None:
    """A job's plan and where its fields lie on the page; or its problems; or the field the
    page does not show; None when its authority's letterhead is wrong."""
    designs, broken = context
    if job.authority.code in broken:
        return None
    design = designs[job.authority.code]
    try:
        plan = design.plan(job)
    except RenderError as exc:  # the wording fails for this job's values
        return [error("letter_design", job.origin, exc.message, exc.hint or "",
                      job.key if isinstance(job, LetterJob) else None)]
    if not isinstance(plan, Plan):
        return plan
    spans = find_spans(page_text(design, plan), job.fields())
    return spans if isinstance(spans, str) else (plan, spans)


def page_text(design: Design, plan: Plan) -> str:
    """The page's text in the order its text layer holds it: the letterhead (drawn first, as
    a form), then the page's own lines (the watermark is outlines, not text)."""
    return "\n".join(line.text for line in (*design.header_lines, *plan.lines))


def _not_shown(campaign: Campaign, job: Job, field: str) -> Problem:
    body = "[letters] body" if campaign.kind == "letters" else "[notes] body"
    marker = "[[feedback]]" if field.startswith("feedback") else "{{ " + field + " }}"
    item = campaign.kind[:-1]
    return error("letter_design", Origin(campaign.path.name, column=body),
                 f"the {item} for {job.key!r} does not print its {field.replace('_', ' ')}",
                 f"put {marker} in the template: every {item} must show it",
                 job.key if isinstance(job, LetterJob) else None)


def _shared_block(design: Design, images: tuple[PreparedImage, PreparedImage], head: bytes,
                  encoder: TextEncoder, header: bytes) -> SharedBlock:
    logo, sig = images
    fonts, names = encoder.pdf_objects(2)  # 1 is the resources dictionary
    n = 2 + len(fonts)
    logo_n, sig_n, head_n = n, n + 1, n + 2
    form = stream(head, {
        "Type": "/XObject", "Subtype": "/Form",
        "BBox": f"[0 0 {number(design.page_w)} {number(design.page_h)}]",
        "Resources": "1 0 R"})
    font_refs = " ".join(f"/{name} {num} 0 R" for name, num in names.items())
    resources = (f"<< /ProcSet [/PDF /Text /ImageC] /Font << {font_refs} >> "
                 f"/XObject << /Logo {logo_n} 0 R /Sig {sig_n} 0 R /Head {head_n} 0 R >> >>")
    objects = [*fonts, (logo_n, logo.body), (sig_n, sig.body), (head_n, form),
               (1, resources.encode("ascii"))]
    return SharedBlock.build(objects, resources=1, header=header)


def watermark(encoder: Encoder, fonts: Metrics, page_w: float, page_h: float) -> bytes:
    """A light diagonal PROOF across the page, drawn first so the letter stays readable. It is
    drawn as outlines, not text: it must never enter the page's text layer, whose reading
    order the audit's read-back relies on."""
    del encoder
    angle = math.atan2(page_h, page_w)
    c, s = math.cos(angle), math.sin(angle)
    size = 160.0 * min(page_w, page_h) / 595.0
    width = fonts.width("PROOF", "bold", size)
    x = page_w / 2 - c * width / 2 + s * size * 0.35
    y = page_h / 2 - s * width / 2 - c * size * 0.35
    scale = size / 1000.0
    return (b"q %s %s %s %s %s %s cm %s 0 0 %s 0 0 cm 0 0 0 0.22 k\n%sQ\n" % (
        *(number(v).encode() for v in (c, s, -s, c, x, y)), number(scale).encode(),
        number(scale).encode(), _proof_outlines()))


def _proof_outlines() -> bytes:
    """"PROOF" in Carlito Bold as filled paths, in 1/1000 em units."""
    from fontTools.ttLib import TTFont

    with quiet_fonttools(), \
            TTFont(str(resource_dir("templates") / "fonts" / "Carlito-Bold.ttf")) as font:
        return _outlines(font, "PROOF")


def _outlines(font: Any, text: str) -> bytes:
    from fontTools.pens.basePen import BasePen

    per_em = 1000.0 / font["head"].unitsPerEm
    glyphs = font.getGlyphSet()
    cmap = font.getBestCmap()
    out: list[bytes] = []

    class _Pen(BasePen):  # type: ignore[misc]
        def __init__(self, dx: float) -> None:
            super().__init__(glyphs)
            self.dx = dx

        def _pt(self, p: tuple[float, float]) -> bytes:
            return b"%s %s" % (number(self.dx + p[0] * per_em).encode(),
                               number(p[1] * per_em).encode())

        def _moveTo(self, p: tuple[float, float]) -> None:
            out.append(self._pt(p) + b" m ")

        def _lineTo(self, p: tuple[float, float]) -> None:
            out.append(self._pt(p) + b" l ")

        def _curveToOne(self, p1: tuple[float, float], p2: tuple[float, float],
                        p3: tuple[float, float]) -> None:
            out.append(b"%s %s %s c " % (self._pt(p1), self._pt(p2), self._pt(p3)))

        def _closePath(self) -> None:
            out.append(b"h\n")

    dx = 0.0
    for char in text:
        name = cmap[ord(char)]
        glyph = glyphs[name]
        glyph.draw(_Pen(dx))
        dx += glyph.width * per_em
    return b"".join(out) + b"f\n"


def single_page(campaign: Campaign, assets: Assets, job: Job, *, proof: bool = False
                ) -> bytes | list[Problem]:
    """One job's PDF on its own, laid out with fonts subset for it alone (a preview, or a
    test); or the problems that stop it being printed."""
    designs, images = make_designs(campaign, assets)
    design = designs[job.authority.code]
    plan = design.plan(job)
    if not isinstance(plan, Plan):
        return plan
    encoder = TextEncoder(assets.fonts)
    head = design.letterhead_content(encoder)
    content = design.content(plan, encoder)
    if proof:
        content = watermark(encoder, assets.fonts, design.page_w, design.page_h) + content
    page = stream(content, {})
    shared = _shared_block(design, images[job.authority.code], head, encoder,
                           assets.pdfx.header)
    pdf, _ = _single(shared, (design.page_w, design.page_h), page,
                     doc_info(campaign, job.title, job.authority,
                              f"hhp-letters {campaign.kind}"), assets.pdfx)
    return pdf


class NativeBackend:
    """Writes bundles (and each letter's own file) from the pages laid out in the store."""

    def __init__(self, layout: NativeLayout, kind: str) -> None:
        self.layout = layout
        self.kind = kind

    def render_bundle(self, jobs: Sequence[Job], out: Sink, spec: BundleSpec
                      ) -> Iterator[Rendered | Problem]:
        """The bundle is written here, page by page, in order; each letter's own file (and its
        pages' codes) is made on every core, and written there when ``spec.folder`` is set."""
        layout = self.layout
        authority = jobs[0].authority
        shared = layout.shared[authority.code]
        doc = DocumentWriter(out, shared, layout.page_size, layout.pdfx)
        base = doc_info(layout.campaign, "", authority, f"hhp-letters {self.kind}")
        context = _Letters(shared, layout.page_size, layout.pdfx, base, spec.codes,
                           spec.number, spec.duplex, spec.folder,
                           "letter" if self.kind == "letters" else "note")
        spans: deque[Spans] = deque()  # of the pages on their way, in order: kept here

        def items() -> Iterator[tuple[int, str, str, bytes]]:
            for seq, job in enumerate(jobs, start=1):
                content, found = self._page(job)
                spans.append(found)
                yield seq, job.title, spec.letter_path(job), content

        for job, made in zip(jobs, in_order(_letter, items(), context=context), strict=True):
            first = doc.page_count + 1
            doc.add_page(made.page, made.mark)
            if spec.duplex:
                doc.add_page(None, made.back)
            yield Rendered(job, made.pdf, first, doc.page_count - first + 1, spans.popleft(),
                           code=made.code, file=made.file)
        doc.finish(doc_info(layout.campaign, f"Bundle {spec.name}", authority,
                            f"{len(jobs)} {self.kind}"))

    def _page(self, job: Job) -> tuple[bytes, Spans]:
        laid_out = self.layout.store.page(job.key)
        if laid_out is None:
            raise InternalError(f"{job.title} reached the bundle without a laid-out page")
        return laid_out


@dataclass(frozen=True)
class _Letters:
    """What every letter of one bundle shares (the workers have it from the fork)."""

    shared: SharedBlock
    page_size: tuple[float, float]
    pdfx: Pdfx
    info: DocInfo  # the title is each letter's own
    codes: IntegrityCodes | None
    bundle: int
    duplex: bool
    folder: Path | None
    file_kind: str  # what the run folder records each file as


@dataclass(frozen=True)
class _Made:
    page: bytes  # the content stream, compressed
    mark: bytes | None  # the code drawn on its page (and the back page's, duplex)
    back: bytes | None
    code: str
    pdf: bytes  # b"" once written to ``file``
    file: FileRecord | None


def _letter(context: _Letters, seq: int, title: str, rel: str, content: bytes) -> _Made:
    """One letter's page, codes and own file (in a worker process, for a large bundle)."""
    page = stream(content, {})
    codes = context.codes
    pages = 2 if context.duplex else 1
    code = codes.payload(context.bundle, seq, 1, pages) if codes is not None else ""
    mark = stream(codes.operators(code), {}) if codes is not None else None
    back = stream(codes.operators(codes.payload(context.bundle, seq, 2, 2)), {}) \
        if codes is not None and context.duplex else None
    pdf, sha = _single(context.shared, context.page_size, page,
                       dataclasses.replace(context.info, title=title), context.pdfx, mark)
    if context.folder is None:
        return _Made(page, mark, back, code, pdf, None)
    record = runfolder.write_file(context.folder, rel, pdf, context.file_kind, sha)
    return _Made(page, mark, back, code, b"", record)


def _single(shared: SharedBlock, page_size: tuple[float, float], page: bytes,
            info: DocInfo, pdfx: Pdfx, mark: bytes | None = None) -> tuple[bytes, str]:
    """A letter's own file and its SHA-256: the same identification, the profile only where
    X-4 needs it."""
    buf = io.BytesIO()
    one = DocumentWriter(buf, shared, page_size, pdfx, embed_profile=False)
    one.add_page(page, mark)
    sha = one.finish(info)
    return buf.getvalue(), sha
