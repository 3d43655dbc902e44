"""The proof contact sheet shows first the letters most likely to be wrong, and `preview`
renders one participant's letter without a run folder."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import CampaignBuilder, run_cli
from PIL import Image
from pypdf import PdfReader

from hhp_letters.proof import PER_AUTHORITY, Candidate, pick


def test_risky_letters_come_before_postage_order() -> None:
    plain = [Candidate("BF", f"P{i:03d}", f"letters/BF/P{i:03d}.pdf", 100, 20)
             for i in range(1, 40)]
    risky = [Candidate("BF", "P050", "letters/BF/P050.pdf", 900, 20),
             Candidate("BF", "P051", "letters/BF/P051.pdf", 100, 48),
             Candidate("BF", "P052", "letters/BF/P052.pdf", 100, 20, other_script=True),
             Candidate("BF", "P053", "letters/BF/P053.pdf", 100, 20, reissue=True)]
    rows = pick([*plain, *risky])
    assert [(c.key, why) for c, why in rows["BF"]] == [
        ("P053", "re-issue"), ("P050", "longest feedback"), ("P051", "longest address"),
        ("P052", "accents")]
    assert len(rows["BF"]) == PER_AUTHORITY


def test_without_risky_letters_the_first_are_shown_once_each() -> None:
    same = [Candidate("HC", f"P{i:03d}", "x", 100, 20) for i in range(1, 4)]
    rows = pick(same)
    # the first letter is also the longest (ties keep the first): shown once, not twice
    assert [(c.key, why) for c, why in rows["HC"]] == [
        ("P001", "longest feedback"), ("P002", "first"), ("P003", "first")]


def _campaign(tmp_path: Path) -> Path:
    builder = CampaignBuilder(tmp_path / "c")
    builder.rows[0][1] = "Adébáyọ̀"  # P001, treatment: a Yoruba name with tone marks
    builder.feedback["team-a.csv"][1][1] = "Families trust you. " * 20  # P005: long feedback
    return builder.build()


def test_the_contact_sheet_labels_why_each_letter_is_there(tmp_path: Path) -> None:
    campaign = _campaign(tmp_path)
    result = run_cli("letters", str(campaign), "--proof", "--out", str(tmp_path / "proof"))
    assert result.exit_code == 0, result.output
    sheet = Image.open(io.BytesIO((tmp_path / "proof" / "proof" /
                                   "contact-sheet.png").read_bytes()))
    assert sheet.width > 300 and sheet.height > 400  # two authorities' rows of thumbnails


def test_preview_writes_one_watermarked_page_and_a_png(tmp_path: Path) -> None:
    campaign = _campaign(tmp_path)
    pdf, png = tmp_path / "one.pdf", tmp_path / "one.png"
    result = run_cli("preview", str(campaign), "--participant", "P001", "--out", str(pdf),
                     "--png", str(png))
    assert result.exit_code == 0, result.output
    reader = PdfReader(pdf)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Adébáyọ̀" in text and "PROOF" not in text  # the watermark is outlines, not text
    with Image.open(png) as image:
        assert image.size[0] > 1000
    assert not (tmp_path / "c" / "ledger.jsonl").exists()  # nothing recorded


def test_preview_refuses_control_and_unknown_ids(tmp_path: Path) -> None:
    campaign = _campaign(tmp_path)
    control = run_cli("preview", str(campaign), "--participant", "P002")
    assert control.exit_code == 2
    assert "participant 'P002' is in the control arm" in control.output
    unknown = run_cli("preview", str(campaign), "--participant", "p001")
    assert unknown.exit_code == 2
    assert "no participant 'p001'" in unknown.output and "did you mean 'P001'?" in unknown.output
