"""The chase list: exactly the people whose forms are missing or incomplete, every arm alike
(a reminder about only some people would reveal the allocation), grouped by team and manager,
and a chase.xlsx a coordinator can mail-merge reminders from."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from test_forms import Filled, filled_campaign, people

from hhp_letters.campaign import load_campaign
from hhp_letters.chase import (
    COORDINATOR_ONLY,
    MANAGERS_SHEET,
    REMINDERS_SHEET,
    ChaseList,
    chase_list,
    write_chase,
)
from hhp_letters.model import Arm


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    return filled_campaign(tmp_path_factory.mktemp("chase"))


@pytest.fixture(scope="module")
def chase(filled: Filled) -> ChaseList:
    return chase_list(load_campaign(filled.campaign))


def test_chases_exactly_the_missing_and_incomplete(filled: Filled, chase: ChaseList) -> None:
    arm = {p.participant_id: p.arm for p in people(filled.campaign)}
    got = {e.participant_id: e for e in chase.entries}
    expected = filled.blank | filled.not_returned | {filled.line_1_only, filled.over}
    assert set(got) == expected
    assert filled.held not in got  # on hold: nobody chases them
    # blind forms: control members are chased exactly like treatment members
    assert {arm[i] for i in filled.not_returned} == {Arm.TREATMENT, Arm.CONTROL}
    assert {arm[i] for i in filled.blank} == {Arm.TREATMENT, Arm.CONTROL}
    assert all(e.needed_for_letter == (arm[e.participant_id] is Arm.TREATMENT)
               for e in chase.entries)
    assert got[filled.line_1_only].missing == "line 2"
    assert got[filled.over].missing == "over the limit"
    assert got[filled.over].detail == (f"line 1 has {chase.limit + 1} characters; the limit is "
                                       f"{chase.limit}")
    assert all(got[i].missing == "both" for i in filled.blank | filled.not_returned)
    assert {got[i].detail for i in filled.not_returned} == {"the team's form has not come back"}
    assert {got[i].detail for i in filled.blank} == {"no feedback yet"}
    assert chase.limit == 510


def test_grouped_by_team_with_the_form_to_return(filled: Filled, chase: ChaseList) -> None:
    forms = {f.path.name: f for f in filled.forms.forms}
    assert len(chase.teams) == 18
    for team in chase.teams:
        info = forms[team.form_file]
        assert (team.authority, team.team, team.members) == (info.authority, info.team,
                                                             info.members)
        assert team.complete + team.held + len(team.entries) == team.members
        assert all(e.form_file == team.form_file and e.team == team.team
                   for e in team.entries)
    not_back = [t for t in chase.teams if not t.returned]
    assert len(not_back) == 1 and {e.participant_id for e in not_back[0].entries} == \
        filled.not_returned
    # the renamed return still counts as its team's form
    renamed_team = next(t for t in chase.teams if t.form_file == filled.forms.forms[1].path.name)
    assert renamed_team.returned and not renamed_team.entries


def test_treatment_only_forms_chase_treatment_only(filled: Filled) -> None:
    arm = {p.participant_id: p.arm for p in people(filled.campaign)}
    chase = chase_list(load_campaign(filled.campaign), treatment_only=True)
    expected = {i for i in filled.blank | filled.not_returned | {filled.over}
                if arm[i] is Arm.TREATMENT}
    assert {e.participant_id for e in chase.entries} == expected


def _sheet(path: Path, name: str) -> list[list[object]]:
    ws = openpyxl.load_workbook(path)[name]
    assert isinstance(ws, Worksheet)
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_chase_xlsx_for_a_mail_merge(filled: Filled, chase: ChaseList, tmp_path: Path) -> None:
    path = write_chase(chase, tmp_path / "chase.xlsx")
    reminders = _sheet(path, REMINDERS_SHEET)
    assert reminders[0] == ["Authority", "Team", "Manager", "Form file", "Participant ID",
                            "First name", "Last name", "Missing", "Detail", COORDINATOR_ONLY]
    body = reminders[1:]
    assert len(body) == len(chase.entries)
    by_id = {p.participant_id: p for p in people(filled.campaign)}
    for row in body:
        p = by_id[str(row[4])]
        assert (row[5], row[6]) == (p.first_name, p.last_name)
        assert row[9] == ("yes" if p.arm is Arm.TREATMENT else "no")
        assert str(row[3]).endswith(".xlsx")
    summary = _sheet(path, MANAGERS_SHEET)
    assert summary[0] == ["Manager", "Authority", "Teams", "Form files", "Members", "Complete",
                          "To chase", "Forms not returned"]
    assert len(summary) == 1 + 18  # no manager column: a row per team
    assert sum(int(str(r[6])) for r in summary[1:]) == len(chase.entries)
    assert sum(int(str(r[7])) for r in summary[1:]) == 1
    assert {r[0] for r in summary[1:]} == {"(no manager in the list)"}
    # the same list as CSV
    csv_path = write_chase(chase, tmp_path / "chase.csv")
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][-1] == COORDINATOR_ONLY and len(rows) == 1 + len(chase.entries)


def test_one_summary_row_per_manager(filled: Filled, tmp_path: Path) -> None:
    """Two teams with the same manager are one row of the summary."""
    folder = filled.campaign
    path = folder / "data" / "randomised.xlsx"
    backup = path.read_bytes()
    teams = [f.team for f in filled.forms.forms]
    shared = {teams[6], teams[7]}
    campaign = load_campaign(folder)
    wb = openpyxl.load_workbook(path)
    ws = wb["Allocation"]
    assert isinstance(ws, Worksheet)
    col = ws.max_column + 1
    ws.cell(3, col).value = "Team manager"
    for r in range(4, ws.max_row + 1):
        council = campaign.authority(str(ws.cell(r, 4).value))  # by code or by name
        assert council is not None
        team = ws.cell(r, 5).value
        ours = team in shared and council.code == filled.forms.forms[6].authority
        ws.cell(r, col).value = "Rachel Okafor" if ours else f"Head of {team} ({council.code})"
    wb.save(path)
    try:
        chase = chase_list(load_campaign(folder))
    finally:
        path.write_bytes(backup)
    rows = {(m, a): teams_ for m, a, teams_ in chase.managers()}
    rachel = rows[("Rachel Okafor", filled.forms.forms[6].authority)]
    assert {t.team for t in rachel} == shared
    assert all(e.manager == "Rachel Okafor" for t in rachel for e in t.entries)
    summary = _sheet(write_chase(chase, tmp_path / "chase.xlsx"), MANAGERS_SHEET)
    row = next(r for r in summary if r[0] == "Rachel Okafor")
    assert row[2] == f"{teams[6]}; {teams[7]}" and row[7] == 1
    assert len(summary) == 1 + 17
