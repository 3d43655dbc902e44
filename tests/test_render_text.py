"""Any printable text a spreadsheet can hold comes out of the native PDF exactly (property test):
the content-stream escaping, the run-wide font subsets and the ToUnicode maps agree."""

from __future__ import annotations

import dataclasses
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from hhp_letters.campaign import load_campaign
from hhp_letters.pipeline import prepare
from hhp_letters.render.native import NativeBackend
from hhp_letters.render.pdf import DocumentWriter
from hhp_letters.resources import resource_dir

# Letters a feedback line may hold: printable ASCII (with the PDF string specials ( ) \),
# Latin-1 and Latin Extended-A letters, typographic punctuation; spaces are folded anyway.
ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F)) + "ÀÉÎÕÜßàéîõüçñøåæœŒłŁąęśźżčšžřůőű" \
    "ĀāĒēĪīŌōŪū‘’“”–—…€£"

CAMPAIGN = load_campaign(resource_dir("samples") / "letters")
PREPARED = prepare(CAMPAIGN)
JOB = next(PREPARED.merged.iter_jobs())


def render(feedback: str) -> str:
    backend = NativeBackend(CAMPAIGN, PREPARED.assets)  # type: ignore[arg-type]
    job = dataclasses.replace(JOB, feedback=(feedback, JOB.feedback[1]))
    assert backend.check([job]) == []
    backend.prepare()
    buf = io.BytesIO()
    doc = DocumentWriter(buf, backend.shared(job.authority), backend.page_size)
    doc.add_page(backend.page(job))
    doc.finish(backend.info("t", job.authority, "k"))
    return PdfReader(io.BytesIO(buf.getvalue())).pages[0].extract_text()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=12), min_size=1,
                      max_size=25))
def test_any_printable_feedback_prints_exactly(words: list[str]) -> None:
    feedback = " ".join(words)
    text = render(feedback)
    assert "".join(feedback.split()) in "".join(text.split())
