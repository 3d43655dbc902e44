"""A run with every kind of row, made with --skip-invalid: the audit records exactly why each
row got nothing, the close record adds up, and the print house gets the letters in postage
order with a manifest that counts sheets right."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import CampaignBuilder, run_cli, write_notes_campaign
from pypdf import PdfReader

HEADER = ["Participant ID", "First name", "Last name", "Arm", "Local authority",
          "Address line 1", "Town", "Post Code", "Hold"]
# list rows (id first); the spreadsheet row is the index + 2
ROWS: list[list[Any]] = [
    ["R01", "Alice", "Smith", "treatment", "BF", "1 High Street", "Bracknell", "RG2 1AA", ""],
    ["R02", "Ben", "Jones", "control", "BF", "2 Church Road", "Bracknell", "RG12 7QF", ""],
    ["R03", "Cara", "Lee", "control", "XX", "3 Fore Street", "Hertford", "SG13 8DQ", ""],
    ["R04", "Dan", "Fox", "maybe", "BF", "4 Mill Lane", "Bracknell", "RG12 9AA", ""],
    ["R05", "Eve", "Hill", "treatment", "BF", "5 Park Road", "Bracknell", "RG12 1JD", ""],
    ["R06", "Fay", "Ross", "treatment", "BF", "6 Oak Road", "Bracknell", "RG12 2AB", ""],
    ["R07", "Gus", "", "treatment", "BF", "7 Elm Road", "Bracknell", "NOT A CODE", ""],
    ["R08", "Hal", "Webb", "treatment", "BF", "8 Ash Road", "Bracknell", "RG12 3AB", ""],
    ["R08", "Hana", "Webb", "treatment", "BF", "9 Ash Road", "Bracknell", "RG12 3AC", ""],
    ["R10", "Ian", "Moss", "treatment", "BF", "10 Bay Road", "Bracknell", "RG1 1AA", ""],
    ["R11", "Jo", "King", "treatment", "HC", "11 Fore Street", "Ware", "SG12 9AA", ""],
    ["R12", "Kay", "Lamb", "treatment", "BF", "12 Station Road", "Bracknell", "RG42 1AB", ""],
    ["R13", "Lee", "Nash", "treatment", "BF", "13 Kings Road", "Bracknell", "RG12 7QF", ""],
    ["R14", "Max", "Owen", "control", "BF", "14 Queens Road", "Bracknell", "RG12 8AA", ""],
    ["R15", "Nia", "Pike", "treatment", "BF", "15 Vale Road", "Bracknell", "RG12 4AB",
     "Moved away"],
]
FEEDBACK_HEADER = ["Participant ID", "Feedback 1", "Feedback 2", "Hold"]
FEEDBACK = [[pid, f"{pid} turned a hard case around.", f"{pid} supports the team.", hold]
            for pid, hold in (("R01", ""), ("R06", "On leave until May"), ("R07", ""),
                              ("R08", ""), ("R10", ""), ("R11", ""), ("R12", ""), ("R13", ""),
                              ("R15", ""))]
# why each list row (by spreadsheet row) gets no letter; None: it gets one
EXPECTED = {2: None, 3: "control_arm", 4: "control_arm", 5: "unknown_arm",
            6: "missing_feedback", 7: "held", 8: "missing_name", 9: "duplicate_id",
            10: "duplicate_id", 11: None, 12: None, 13: None, 14: None, 15: "control_arm",
            16: "held"}


def records(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "audit.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("runs")
    b = CampaignBuilder(base / "camp", fmt="xlsx")
    b.header = list(HEADER)
    b.rows = [list(r) for r in ROWS]
    b.feedback_header = list(FEEDBACK_HEADER)
    b.feedback = {"team.csv": [list(r) for r in FEEDBACK]}
    b.toml_edits.append(("duplex = false", "duplex = true"))
    b.toml_edits.append(('"data/feedback/*.csv", "data/feedback/*.xlsx"', '"data/feedback/*.csv"'))
    b.build()
    out = base / "run"
    result = run_cli("letters", str(b.root), "--out", str(out), "--skip-invalid")
    assert result.exit_code == 0, result.output
    return out


def allocations(run: Path) -> dict[int, dict[str, Any]]:
    return {int(r["row"]): r for r in records(run) if r["event"] == "allocation"}


def test_every_row_is_produced_or_withheld_for_its_own_reason(run: Path) -> None:
    got = {row: (None if r["status"] == "produced" else r["reason"])
           for row, r in allocations(run).items()}
    assert got == EXPECTED


def test_exactly_the_produced_rows_have_letters(run: Path) -> None:
    made = sorted(p.stem for p in (run / "letters").glob("*/*.pdf"))
    assert made == ["R01", "R10", "R11", "R12", "R13"]
    for row, r in allocations(run).items():
        assert (r["output"] is not None) == (EXPECTED[row] is None), row


def test_no_row_is_recorded_as_withheld_for_a_problem_of_its_own_row_number(run: Path) -> None:
    for row, r in allocations(run).items():
        assert row not in r.get("cause_rows", []), r


def test_the_close_record_adds_up(run: Path) -> None:
    recs = records(run)
    close = recs[-1]
    assert close["event"] == "close"
    alloc = [r for r in recs if r["event"] == "allocation"]
    produced = sum(1 for r in alloc if r["status"] == "produced")
    assert (close["rows"], close["produced"], close["withheld"]) == (15, 5, 10)
    assert produced == 5
    assert close["by_arm_and_status"] == {"None:withheld": 1, "control:withheld": 3,
                                          "treatment:produced": 5, "treatment:withheld": 6}
    assert close["reasons"] == dict(sorted(Counter(
        v for v in EXPECTED.values() if v is not None).items()))
    assert close["files"] == sum(1 for r in recs if r["event"] == "file")


def _manifest(run: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted((run / "bundles").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows += [{"bundle": path.stem, **r} for r in csv.DictReader(fh)]
    return rows


def _postage(postcode: str) -> tuple[str, int, str, str]:
    """Postage order, worked out here: area letters, district as a number, then the rest."""
    m = re.fullmatch(r"([A-Z]{1,2})(\d{1,2})([A-Z]?) (\d[A-Z]{2})", postcode)
    assert m is not None, postcode
    return m[1], int(m[2]), m[3], m[4]


def test_bundles_are_in_postage_order_with_districts_as_numbers(run: Path) -> None:
    manifest = _manifest(run)
    bf = [r["postcode"] for r in manifest if r["bundle"].startswith("BF")]
    assert bf == ["RG1 1AA", "RG2 1AA", "RG12 7QF", "RG42 1AB"]
    assert bf == sorted(bf, key=_postage)


def test_each_bundle_page_is_the_letter_the_manifest_says(run: Path) -> None:
    for bundle in sorted((run / "bundles").glob("*.pdf")):
        reader = PdfReader(bundle)
        with bundle.with_suffix(".csv").open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                text = " ".join(reader.pages[int(r["first_page"]) - 1].extract_text().split())
                assert r["postcode"] in text, (bundle.name, r)


def test_each_letters_audit_record_names_its_place_in_its_bundle(run: Path) -> None:
    by_postcode = {r["postcode"]: r for r in _manifest(run)}
    postcode = {row: r[7] for row, r in enumerate(ROWS, start=2)}
    produced = [(row, r) for row, r in allocations(run).items() if r["status"] == "produced"]
    assert len(produced) == len(by_postcode) == 5
    for row, r in produced:
        listed = by_postcode[postcode[row]]
        first, pages = int(listed["first_page"]), int(listed["pages"])
        assert r["bundle"] == listed["bundle"]
        assert r["pages"] == [first, first + pages - 1], r


def test_duplex_manifest_counts_one_sheet_per_two_pages(run: Path) -> None:
    manifest = _manifest(run)
    assert manifest
    for r in manifest:
        assert (int(r["pages"]), int(r["sheets"])) == (2, 1), r
        assert int(r["first_page"]) % 2 == 1  # every letter starts on a front page
    ticket = (run / "job-ticket.txt").read_text(encoding="utf-8")
    assert re.search(r"^Sheets:\s+5$", ticket, re.MULTILINE), ticket
    assert re.search(r"^Pages:\s+10$", ticket, re.MULTILINE), ticket


# --- notes ----------------------------------------------------------------------------------------

TEAMS = """\
Team ID,Team,Site,Manager first name,Arm,Local authority
N1,Team A,North House,Priya,treatment,NA
N2,Team/A,North House,Raj,treatment,NA
N3,Duty,Elm Court,Lee,control,NA
N4,Care,Mixed Hall,Kim,treatment,NA
N5,Respite,Mixed Hall,Kim,control,NA
N6,Fostering,South House,Jo \U0001F642,treatment,SO
N7,Fostering,South House,Jo \U0001F642,treatment,SO
N8,Duty,South House,Kim,treatment,SO
"""


@pytest.fixture(scope="module")
def notes_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("notes")
    camp = write_notes_campaign(base / "camp", TEAMS, "NA", "SO")
    out = base / "run"
    result = run_cli("notes", str(camp), "--out", str(out), "--skip-invalid")
    assert result.exit_code == 0, result.output
    return out


def test_two_teams_whose_names_make_one_file_name_get_two_notes(notes_run: Path) -> None:
    notes = sorted(p.relative_to(notes_run).as_posix() for p in notes_run.glob("notes/*/*.pdf"))
    assert notes == ["notes/NA/Team-A-2.pdf", "notes/NA/Team-A.pdf", "notes/SO/Duty.pdf"]
    texts = {p.name: " ".join(PdfReader(p).pages[0].extract_text().split())
             for p in notes_run.glob("notes/NA/*.pdf")}
    assert "Priya" in texts["Team-A.pdf"] and "Raj" in texts["Team-A-2.pdf"]


def test_a_site_with_both_arms_gets_no_note(notes_run: Path) -> None:
    by_id = {r["participant_id"]: r for r in records(notes_run) if r["event"] == "allocation"}
    assert by_id["N4"]["status"] == "withheld"
    assert by_id["N4"]["reason"] == "mixed_cluster"
    assert by_id["N5"]["reason"] == "control_arm"


def test_a_team_withheld_for_its_first_rows_problem_names_that_row(notes_run: Path) -> None:
    by_id = {r["participant_id"]: r for r in records(notes_run) if r["event"] == "allocation"}
    first, second = by_id["N6"], by_id["N7"]
    assert (first["reason"], second["reason"]) == ("unprintable_character",) * 2
    assert "cause_rows" not in first  # its own problem
    assert second["cause_rows"] == [first["row"]]
    assert by_id["N8"]["status"] == "produced"  # the same site's other team is not held back
