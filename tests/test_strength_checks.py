"""`check` on one broken thing at a time, judged by what the coordinator sees: the exit code,
the verdict line, and the rows of problems.csv (code, level, row, participant)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import CampaignBuilder, write_notes_campaign
from typer.testing import Result

# conftest's list: P001..P006 on rows 2..7; P001, P003, P005, P006 are treatment
ROW = {"P001": 0, "P002": 1, "P003": 2, "P004": 3, "P005": 4, "P006": 5}
COL = {"id": 0, "first": 1, "last": 2, "arm": 3, "authority": 4, "address": 5, "town": 6,
       "postcode": 7}


@pytest.fixture
def b(tmp_path: Path) -> CampaignBuilder:
    return CampaignBuilder(tmp_path / "camp", fmt="xlsx")


def check(b: CampaignBuilder) -> tuple[Result, list[dict[str, str]]]:
    b.build()
    result = b.run_check()
    assert "Traceback" not in result.output
    return result, b.problems()


def codes(problems: list[dict[str, str]], level: str | None = None) -> list[tuple[str, str]]:
    return sorted((p["code"], p["participant_id"]) for p in problems
                  if level is None or p["level"] == level)


def verdict(result: Result) -> str:
    found = re.findall(r"\d+ participants \(.*", result.output)
    assert found, result.output
    return " ".join(found[-1].split())


def feedback_row(b: CampaignBuilder, pid: str) -> list[Any]:
    return next(r for rows in b.feedback.values() for r in rows if r[0] == pid)


def drop_feedback(b: CampaignBuilder, pid: str) -> None:
    for name, rows in b.feedback.items():
        b.feedback[name] = [r for r in rows if r[0] != pid]


# --- the list -------------------------------------------------------------------------------------

def test_an_unknown_arm_is_one_error_and_needs_no_feedback(b: CampaignBuilder) -> None:
    b.rows[ROW["P001"]][COL["arm"]] = "maybe"
    drop_feedback(b, "P001")
    result, problems = check(b)
    assert result.exit_code == 1
    assert codes(problems, "error") == [("unknown_arm", "P001")]
    assert "5 participants" not in verdict(result)
    assert verdict(result).startswith("6 participants (3 treatment, 2 control)")


def test_an_id_that_lost_its_leading_zeros_in_the_list_is_reported(b: CampaignBuilder) -> None:
    for pid, new in zip(ROW, ("004501", "004502", "004503", "4504", "004505", "004506"),
                        strict=True):
        b.rows[ROW[pid]][COL["id"]] = new
        for rows in b.feedback.values():
            for r in rows:
                if r[0] == pid:
                    r[0] = new
    _, problems = check(b)
    found = [p for p in problems if p["code"] == "leading_zeros"]
    assert [(p["row"], p["participant_id"]) for p in found] == [("5", "4504")]
    assert "'004504'" in found[0]["message"]


def test_feedback_whose_id_lost_its_zeros_is_matched_with_a_warning(b: CampaignBuilder) -> None:
    for pid, new in zip(ROW, ("004501", "004502", "004503", "004504", "004505", "004506"),
                        strict=True):
        b.rows[ROW[pid]][COL["id"]] = new
        for rows in b.feedback.values():
            for r in rows:
                if r[0] == pid:
                    r[0] = new.lstrip("0") if pid == "P003" else new
    result, problems = check(b)
    assert result.exit_code == 0, result.output
    assert codes(problems) == [("leading_zeros", "004503")]
    assert "feedback matched for 4 of 4" in verdict(result)


def test_the_verdict_counts_feedback_matched_to_treatment_rows(b: CampaignBuilder) -> None:
    drop_feedback(b, "P005")
    result, problems = check(b)
    assert result.exit_code == 1
    assert codes(problems, "error") == [("missing_feedback", "P005")]
    assert verdict(result).startswith(
        "6 participants (4 treatment, 2 control); feedback matched for 3 of 4; 1 error")


@pytest.mark.parametrize("written", ["w1 1aa", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT",
                                     "EC1A 1BB", "W1A 0AX"])
def test_valid_postcodes_of_every_shape_are_accepted(b: CampaignBuilder, written: str) -> None:
    b.rows[ROW["P001"]][COL["postcode"]] = written
    result, problems = check(b)
    assert result.exit_code == 0, result.output
    assert problems == []


def test_two_rows_with_one_id_are_both_duplicates(b: CampaignBuilder) -> None:
    b.rows[ROW["P004"]][COL["id"]] = "P002"  # two controls share an id
    result, problems = check(b)
    assert result.exit_code == 1
    dup = sorted(p["row"] for p in problems if p["code"] == "duplicate_id")
    assert dup == ["3", "5"]


# --- feedback -----------------------------------------------------------------------------------

def test_a_managers_hold_without_feedback_is_only_a_warning(b: CampaignBuilder) -> None:
    b.feedback_header = [*b.feedback_header, "Hold"]
    for rows in b.feedback.values():
        for r in rows:
            r.append("")
    row = feedback_row(b, "P005")
    row[1:4] = ["", "", "Off sick; send later"]
    result, problems = check(b)
    assert result.exit_code == 0, result.output
    assert codes(problems) == [("held", "P005")]
    assert problems[0]["level"] == "warning"


def test_different_feedback_in_two_files_is_a_conflict(b: CampaignBuilder) -> None:
    b.feedback["team-b.xlsx"].append(["P001", "Someone else's praise.", "A second line."])
    result, problems = check(b)
    assert result.exit_code == 1
    assert codes(problems, "error") == [("conflicting_feedback", "P001")]
    found = next(p for p in problems if p["code"] == "conflicting_feedback")
    assert "team-a.csv" in found["message"] and "team-b.xlsx" in found["message"]


def test_a_blank_second_feedback_line_is_an_error(b: CampaignBuilder) -> None:
    feedback_row(b, "P003")[2] = ""
    result, problems = check(b)
    assert result.exit_code == 1
    assert codes(problems, "error") == [("blank_feedback", "P003")]
    assert "Feedback line 2" in problems[0]["message"]
    assert "Feedback line 1" not in problems[0]["message"]


def _nameless(b: CampaignBuilder, first: str, last: str) -> None:
    b.feedback_header = ["Participant ID", "Feedback 1", "Feedback 2", "First name", "Last name"]
    for rows in b.feedback.values():
        for r in rows:
            r += ["", ""]
    row = feedback_row(b, "P006")
    row[0], row[3], row[4] = "", first, last


def test_feedback_without_an_id_is_matched_by_a_unique_name(b: CampaignBuilder) -> None:
    _nameless(b, "Finn", "Taylor")
    result, problems = check(b)
    assert result.exit_code == 0, result.output
    assert codes(problems) == [("name_matched", "P006")]


def test_feedback_without_an_id_is_matched_by_the_known_as_name(b: CampaignBuilder) -> None:
    b.header = [*b.header, "Known as"]
    for r in b.rows:
        r.append("")
    b.rows[ROW["P006"]][-1] = "Fin"
    _nameless(b, "Fin", "Taylor")
    result, problems = check(b)
    assert result.exit_code == 0, result.output
    assert ("name_matched", "P006") in codes(problems)
    assert codes(problems, "error") == []


def test_feedback_without_an_id_is_not_given_to_one_of_two_namesakes(
        b: CampaignBuilder) -> None:
    b.rows[ROW["P004"]][COL["first"]] = "Finn"  # P004 (control) is also Finn Taylor
    b.rows[ROW["P004"]][COL["last"]] = "Taylor"
    _nameless(b, "Finn", "Taylor")
    result, problems = check(b)
    assert result.exit_code == 1
    assert ("name_ambiguous", "") in codes(problems, "error")
    assert ("missing_feedback", "P006") in codes(problems, "error")


def test_feedback_for_someone_not_in_the_list_is_a_warning(b: CampaignBuilder) -> None:
    b.feedback["team-a.csv"].append(["P999", "Praise.", "More praise."])
    result, problems = check(b)
    assert result.exit_code == 0, result.output
    assert codes(problems) == [("feedback_unknown_id", "P999")]


def test_feedback_for_a_control_participant_is_a_note_not_a_problem(b: CampaignBuilder
                                                                    ) -> None:
    """Forms go to every arm (blinding), so feedback for a control participant is expected:
    a note on screen, nothing in problems.csv, never used."""
    b.feedback["team-a.csv"].append(["P002", "Praise.", "More praise."])
    result, problems = check(b)
    assert result.exit_code == 0, result.output
    assert problems == []
    assert "feedback_for_control" in result.output


# --- notes --------------------------------------------------------------------------------------



def notes_check(tmp_path: Path, rows: str) -> tuple[Result, list[dict[str, str]]]:
    camp = tmp_path / "notes"
    b = CampaignBuilder(camp)  # only for its png writer and problems reader
    write_notes_campaign(camp, "Staff ID,Team,Site,Manager first name,Arm\n" + rows)
    result = b.run_check()
    return result, b.problems()


def test_a_managers_name_in_another_case_is_the_same_manager(tmp_path: Path) -> None:
    result, problems = notes_check(tmp_path, "W1,Duty,North House,Sam,treatment\n"
                                             "W2,Duty,North House,sam,treatment\n"
                                             "W3,Care,Elm Court,Lee,control\n")
    assert result.exit_code == 0, result.output
    assert codes(problems, "error") == []


def test_a_site_with_both_arms_is_an_error_naming_its_rows(tmp_path: Path) -> None:
    result, problems = notes_check(tmp_path, "W1,Duty,North House,Sam,treatment\n"
                                             "W2,Care,North House,Lee,control\n"
                                             "W3,Care,Elm Court,Lee,control\n")
    assert result.exit_code == 1
    mixed = [p for p in problems if p["code"] == "mixed_cluster"]
    assert len(mixed) == 1 and "North House" in mixed[0]["message"]
    assert "rows 2" in mixed[0]["message"] and "rows 3" in mixed[0]["message"]
