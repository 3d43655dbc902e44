"""Find one letter: a participant's letter from the current inputs, watermarked, no run folder.

The letter goes through the same stages as a run (check → merge → lay out → render), for that
participant alone, so what the preview shows is what a run would print; nothing is recorded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from hhp_letters.campaign import Campaign
from hhp_letters.checks import check
from hhp_letters.errors import InternalError, ProblemsFound, UsageError
from hhp_letters.merge import merge
from hhp_letters.model import Arm, LetterJob
from hhp_letters.problems import Problem
from hhp_letters.render import Rendered, lay_out, open_backends
from hhp_letters.render.backend import BundleSpec
from hhp_letters.workspace import scratch_store


@dataclass(frozen=True)
class Preview:
    participant_id: str
    authority: str
    pdf: bytes  # one page, with the PROOF watermark
    warnings: tuple[Problem, ...]  # about this participant's row or feedback


def preview_letter(campaign: Campaign, participant_id: str) -> Preview:
    """Render ``participant_id``'s letter as a proof. Raises :class:`UsageError` for an id not
    in the list or a control participant, :class:`ProblemsFound` with the problems that would
    withhold the letter."""
    if campaign.kind != "letters":
        raise UsageError("preview shows one participant's letter; this is a notes campaign",
                         hint="make proofs of the notes with `notes CAMPAIGN --proof --out DIR`")
    pid = participant_id.strip()
    with scratch_store() as store:
        checked = check(campaign, store)
        person = next((p for p in checked.participants() if p.participant_id == pid), None)
        if person is None:
            near = sorted(p.participant_id for p in checked.participants()
                          if p.participant_id.casefold() == pid.casefold())
            raise UsageError(f"no participant {pid!r} in {campaign.display(checked.list_file)}",
                             hint=f"did you mean {near[0]!r}?" if near else
                             "give the id as the randomised list writes it")
        if person.arm is not Arm.TREATMENT:
            raise UsageError(f"participant {pid!r} is in the control arm: control participants "
                             "never get a letter", hint="preview a treatment participant")
        layout = lay_out(merge(checked, only=frozenset({pid})), proof=True)
        mine = tuple(p for p in (*checked.problems, *layout.problems)
                     if p.participant_id == pid or (p.participant_id is None and p.is_error))
        job = next((j for j in layout.jobs() if isinstance(j, LetterJob)), None)
        if job is None:
            raise ProblemsFound(f"participant {pid!r}'s letter would be withheld",
                                [p for p in mine if p.is_error] or list(mine))
        spec = BundleSpec(name="preview", number=1, duplex=False, codes=None)
        made: list[Rendered] = []
        found: list[Problem] = []
        with open_backends(layout) as backends:
            sink = io.BytesIO()
            for item in backends[job.authority.code].render_bundle([job], sink, spec):
                if isinstance(item, Rendered):
                    made.append(item)
                else:
                    found.append(item)
        if found:
            raise ProblemsFound(f"participant {pid!r}'s letter cannot be made", found)
        if len(made) != 1:
            raise InternalError(f"preview made {len(made)} letters for one participant")
        return Preview(pid, job.authority.code, made[0].pdf,
                       tuple(p for p in mine if not p.is_error))


def page_png(pdf: bytes, *, dpi: int = 150) -> bytes:
    """The first page of ``pdf`` as a PNG, rendered by PDFium (what a viewer shows)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        image = page.render(scale=dpi / 72).to_pil()
        page.close()
    finally:
        doc.close()
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
