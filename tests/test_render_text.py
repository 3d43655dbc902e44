"""Any printable text a spreadsheet can hold comes out of the native PDF exactly (property test):
the content-stream escaping, the run-wide font subsets and the ToUnicode maps agree."""

from __future__ import annotations

import dataclasses
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from hhp_letters.campaign import load_campaign
from hhp_letters.merge import address_lines
from hhp_letters.model import LetterJob
from hhp_letters.problems import Origin
from hhp_letters.render.native import load_assets, single_page
from hhp_letters.resources import resource_dir

# Letters a feedback line may hold: printable ASCII (with the PDF string specials ( ) \),
# Latin-1 and Latin Extended-A letters, typographic punctuation; spaces are folded anyway.
ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F)) + "ÀÉÎÕÜßàéîõüçñøåæœŒłŁąęśźżčšžřůőű" \
    "ĀāĒēĪīŌōŪū‘’“”–—…€£"

CAMPAIGN = load_campaign(resource_dir("samples") / "letters")
ASSETS = load_assets(CAMPAIGN)
AUTHORITY = CAMPAIGN.spec.authorities[0]


def job(feedback: str) -> LetterJob:
    from hhp_letters.model import Participant

    person = Participant(1, "P0001", None, AUTHORITY, "Zoë", "O'Neill", ("1 Hawthorn Close",),
                         "Fernleigh", "FL1 2AB", "", "", "", Origin("list.xlsx", row=2))
    return LetterJob("P0001", AUTHORITY, "Zoë", "O'Neill", address_lines(person),
                     (feedback, "Thank you for covering duty."), "", person.origin)


def render(feedback: str) -> str:
    pdf = single_page(CAMPAIGN, ASSETS, job(feedback))
    assert isinstance(pdf, bytes), pdf
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=12), min_size=1,
                      max_size=25))
def test_any_printable_feedback_prints_exactly(words: list[str]) -> None:
    feedback = " ".join(words)
    text = render(feedback)
    assert "".join(feedback.split()) in "".join(text.split())


def test_the_same_letter_renders_to_the_same_bytes() -> None:
    one = single_page(CAMPAIGN, ASSETS, job("Calm, patient work."))
    two = single_page(CAMPAIGN, ASSETS, dataclasses.replace(job("Calm, patient work.")))
    assert isinstance(one, bytes) and one == two
