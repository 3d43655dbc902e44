"""Feedback forms, as a manager and the coordinator meet them: one workbook per team with
every member, locked ids, limits that Excel enforces, plain instructions, a hidden record of
what the form is; returned forms (renamed, re-sorted, saved as CSV, half filled, with a hold)
read by `check` with no column mapping; and a real LibreOffice opening every form."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from hhp_letters.audit import GENESIS, record_hash
from hhp_letters.campaign import load_campaign
from hhp_letters.checks import check
from hhp_letters.errors import ProblemsFound, UsageError
from hhp_letters.fields import FEEDBACK_FIELDS, alias_index, normalise_header
from hhp_letters.forms import (
    FEEDBACK_SHEET,
    FORMS_LOG,
    HEADER_ROW,
    INSTRUCTIONS_SHEET,
    META_SHEET,
    WIDE_FEEDBACK,
    FormReturn,
    FormsResult,
    build_roster,
    derive_limit,
    feedback_limit,
    form_problems,
    read_form_meta,
    return_problems,
    roster_hash,
    write_forms,
)
from hhp_letters.model import Arm, LetterJob, Participant
from hhp_letters.pipeline import produce
from hhp_letters.problems import Origin, Problem
from hhp_letters.render import libreoffice
from hhp_letters.render.layout import Plan
from hhp_letters.render.native import load_assets, make_designs
from hhp_letters.report import check_campaign
from hhp_letters.scaffold import init_campaign
from hhp_letters.workspace import scratch_store

HEADERS = ["Participant ID", "First name", "Last name", "Feedback 1", "Feedback 2",
           "Hold (do not send)", "Comments"]
FIRST_ROW = HEADER_ROW + 1
DUE = dt.date(2026, 9, 18)
RETURN_TO = "Sam Coordinator, sam@example.org"
# Warnings the reader gives for every returned form until it knows forms (see the report):
# the form's hidden sheet, and feedback for control participants (expected with blind forms).
FORM_NOISE = frozenset({"hidden_sheet", "feedback_for_control"})


# -- helpers (test_chase.py uses them too) --------------------------------------------------------

def sample_campaign(folder: Path) -> Path:
    """A copy of the bundled sample campaign (three councils, 18 teams, 391 people)."""
    return init_campaign(folder, "letters", sample=True).parent


def people(campaign_dir: Path) -> list[Participant]:
    campaign = load_campaign(campaign_dir)
    with scratch_store() as store:
        return list(check(campaign, store).participants())


def with_forms_settings(folder: Path) -> Path:
    """[forms] due and return_to in the sample copy's campaign.toml."""
    toml = folder / "campaign.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'\n[forms]\ndue = {DUE.isoformat()}\n'
                    f'return_to = "{RETURN_TO}"\n', encoding="utf-8")
    return folder


def feedback_sheet(path: Path) -> Worksheet:
    ws = openpyxl.load_workbook(path)[FEEDBACK_SHEET]
    assert isinstance(ws, Worksheet)
    return ws


def data_rows(ws: Worksheet) -> list[list[str]]:
    return [["" if v is None else str(v) for v in row]
            for row in ws.iter_rows(min_row=FIRST_ROW, values_only=True)]


Lines = Callable[[str, str], tuple[str, str]]


def good_lines(pid: str, first: str) -> tuple[str, str]:
    return (f"{first}, your work with the Harper family this spring was careful and kind "
            f"({pid}).", "You make time for every new colleague, and the team is better for it.")


@dataclass(frozen=True)
class Filled:
    """The sample campaign with its own feedback replaced by returned forms, filled as the
    managers did (one team's form never came back)."""

    campaign: Path
    forms: FormsResult
    blank: frozenset[str]  # ids whose row was left blank
    line_1_only: str  # a control participant with only line 1
    over: str  # a participant whose line 1 is one character over the limit
    held: str  # a treatment participant the manager put on hold
    not_returned: frozenset[str]  # the members of the team whose form is missing
    csv_form: Path  # the form saved as CSV
    renamed: Path
    resorted: Path


def fill_form(source: Path, target: Path, lines: Lines, *,
              skip: frozenset[str] = frozenset(),
              edit: Callable[[str, Worksheet, int], None] | None = None) -> list[str]:
    """Type feedback into a form as a manager would (openpyxl); return the ids on it."""
    wb = openpyxl.load_workbook(source)
    ws = wb[FEEDBACK_SHEET]
    assert isinstance(ws, Worksheet)
    ids = []
    for r in range(FIRST_ROW, ws.max_row + 1):
        pid, first = str(ws.cell(r, 1).value), str(ws.cell(r, 2).value)
        ids.append(pid)
        if pid not in skip:
            ws.cell(r, 4).value, ws.cell(r, 5).value = lines(pid, first)
        if edit is not None:
            edit(pid, ws, r)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return ids


def save_as_csv(xlsx: Path, target: Path) -> None:
    """What Excel's "CSV UTF-8" writes for the Feedback sheet: every row, titles included."""
    ws = feedback_sheet(xlsx)
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        for row in ws.iter_rows(values_only=True):
            writer.writerow(["" if v is None else v for v in row])
    xlsx.unlink()


def resort(path: Path) -> None:
    """Unprotect (no password needed) and sort the rows by first name, descending."""
    wb = openpyxl.load_workbook(path)
    ws = wb[FEEDBACK_SHEET]
    assert isinstance(ws, Worksheet)
    ws.protection.sheet = False
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=FIRST_ROW)]
    rows.sort(key=lambda r: str(r[1]), reverse=True)
    for r, values in enumerate(rows, start=FIRST_ROW):
        for c, value in enumerate(values, start=1):
            ws.cell(r, c).value = value
    wb.save(path)


def use_forms_as_feedback(campaign_dir: Path) -> Path:
    """Replace the sample's feedback files; read .xlsx and .csv returns."""
    feedback = campaign_dir / "data" / "feedback"
    shutil.rmtree(feedback)
    feedback.mkdir()
    toml = campaign_dir / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('feedback = ["data/feedback/*.xlsx"]',
                                 'feedback = ["data/feedback/*.xlsx", "data/feedback/*.csv"]'),
                    encoding="utf-8")
    return feedback


def filled_campaign(base: Path) -> Filled:
    folder = sample_campaign(base / "camp")
    campaign = load_campaign(folder)
    result = write_forms(campaign, base / "forms")
    limit = result.limit
    feedback = use_forms_as_feedback(folder)
    everyone = {p.participant_id: p for p in people(folder)}
    forms = list(result.forms)
    members = [feedback_sheet(f.path) for f in forms]
    ids = [[row[0] for row in data_rows(ws)] for ws in members]

    def arm(pid: str) -> Arm | None:
        return everyone[pid].arm

    # team 0: filled, then saved as CSV
    fill_form(forms[0].path, feedback / forms[0].path.name, good_lines)
    csv_form = feedback / forms[0].path.with_suffix(".csv").name
    save_as_csv(feedback / forms[0].path.name, csv_form)
    # team 1: filled and renamed
    renamed = feedback / "Copy of feedback FINAL (2).xlsx"
    fill_form(forms[1].path, renamed, good_lines)
    # team 2: filled, then re-sorted
    resorted = feedback / forms[2].path.name
    fill_form(forms[2].path, resorted, good_lines)
    resort(resorted)
    # team 3: three rows left blank, treatment and control among them
    t3 = ids[3]
    blank = frozenset([next(i for i in t3 if arm(i) is Arm.TREATMENT),
                       next(i for i in t3 if arm(i) is Arm.CONTROL), t3[-1]])
    fill_form(forms[3].path, feedback / forms[3].path.name, good_lines, skip=blank)
    # team 4: a treatment participant on hold
    held = next(i for i in ids[4] if arm(i) is Arm.TREATMENT)

    def hold(pid: str, ws: Worksheet, r: int) -> None:
        if pid == held:
            ws.cell(r, 4).value = ws.cell(r, 5).value = None
            ws.cell(r, 6).value = "On long-term leave"

    fill_form(forms[4].path, feedback / forms[4].path.name, good_lines, edit=hold)
    # team 5: a control participant with line 1 only; a treatment one over the limit by one
    line_1_only = next(i for i in ids[5] if arm(i) is Arm.CONTROL)
    over = next(i for i in ids[5] if arm(i) is Arm.TREATMENT)

    def partial(pid: str, ws: Worksheet, r: int) -> None:
        if pid == line_1_only:
            ws.cell(r, 5).value = None
        if pid == over:
            text = (WIDE_FEEDBACK * 10)[:limit - 1].rstrip()
            ws.cell(r, 4).value = text + "!" * (limit + 1 - len(text))

    fill_form(forms[5].path, feedback / forms[5].path.name, good_lines, edit=partial)
    # team 6 never comes back; every other team's form is filled as it is
    for f in forms[7:]:
        fill_form(f.path, feedback / f.path.name, good_lines)
    return Filled(folder, result, blank, line_1_only, over, held, frozenset(ids[6]), csv_form,
                  renamed, resorted)


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FormsResult]:
    base = tmp_path_factory.mktemp("forms")
    folder = with_forms_settings(sample_campaign(base / "camp"))
    return folder, write_forms(load_campaign(folder), base / "forms")


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    return filled_campaign(tmp_path_factory.mktemp("filled"))


# -- the forms ------------------------------------------------------------------------------------

def test_one_form_per_team_listing_every_member_by_last_name(
        sample: tuple[Path, FormsResult]) -> None:
    folder, result = sample
    everyone = people(folder)
    teams: dict[tuple[str, str], list[Participant]] = {}
    for p in everyone:
        assert p.authority is not None
        teams.setdefault((p.authority.code, p.team), []).append(p)
    assert len(teams) == 18
    files = sorted(p.name for p in result.out.glob("*.xlsx"))
    assert files == sorted(f.path.name for f in result.forms)
    assert len(files) == 18 and not result.by_authority and not result.left_off
    assert "FB-children-in-care-1.xlsx" in files and "HC-disabled-children-s-team.xlsx" in files
    for info in result.forms:
        ws = feedback_sheet(info.path)
        rows = data_rows(ws)
        members = teams[(info.authority, info.team)]
        # every arm: the control members are on the form too
        assert {r[0] for r in rows} == {p.participant_id for p in members}
        assert {p.arm for p in members} == {Arm.TREATMENT, Arm.CONTROL}
        assert len(rows) == len(members) == info.members
        names = [(r[2].casefold(), r[1].casefold()) for r in rows]
        assert names == sorted(names)
        by_id = {p.participant_id: p for p in members}
        assert all((r[1], r[2]) == (by_id[r[0]].first_name, by_id[r[0]].last_name)
                   for r in rows)
        assert all(r[3:] == ["", "", "", ""] for r in rows)
        assert ws.cell(1, 1).value == (f"Feedback for {info.team}, "
                                       f"{by_id[rows[0][0]].authority.name}")  # type: ignore[union-attr]
    assert result.members == len(everyone) == 391


def test_headers_are_ones_the_reader_maps_unaided(sample: tuple[Path, FormsResult]) -> None:
    _, result = sample
    ws = feedback_sheet(result.forms[0].path)
    headers = [ws.cell(HEADER_ROW, c).value for c in range(1, 8)]
    assert headers == HEADERS
    index = alias_index(FEEDBACK_FIELDS)
    assert [index.get(normalise_header(str(h))) for h in headers] == [
        "participant_id", "first_name", "last_name", "feedback_1", "feedback_2", "hold",
        "comment"]


def test_ids_and_names_locked_feedback_cells_open_no_password(
        sample: tuple[Path, FormsResult]) -> None:
    _, result = sample
    info = result.forms[0]
    wb = openpyxl.load_workbook(info.path)
    ws = wb[FEEDBACK_SHEET]
    assert isinstance(ws, Worksheet)
    assert ws.protection.sheet is True
    assert not ws.protection.password and not ws.protection.hashValue
    assert ws.protection.formatColumns is False  # columns can still be widened
    assert wb.security is not None and wb.security.lockStructure
    assert not wb.security.workbookPassword and not wb.security.workbookHashValue
    last = HEADER_ROW + info.members
    for r in (FIRST_ROW, last):
        assert all(ws.cell(r, c).protection.locked for c in (1, 2, 3))
        assert not any(ws.cell(r, c).protection.locked for c in range(4, 8))
        assert ws.cell(r, 4).alignment.wrap_text and ws.cell(r, 7).alignment.wrap_text
    assert ws.cell(HEADER_ROW, 1).protection.locked  # the header cannot be retyped
    assert ws.freeze_panes == f"A{FIRST_ROW}"
    assert ws.column_dimensions["D"].width == ws.column_dimensions["E"].width == 60
    assert ws.cell(FIRST_ROW, 1).data_type == "s" and ws.cell(FIRST_ROW, 1).number_format == "@"


def test_feedback_cells_enforce_the_limit(sample: tuple[Path, FormsResult]) -> None:
    _, result = sample
    limit = result.limit
    info = result.forms[1]
    ws = feedback_sheet(info.path)
    last = HEADER_ROW + info.members
    rules = ws.data_validations.dataValidation
    assert len(rules) == 1
    rule = rules[0]
    assert (rule.type, rule.operator, rule.formula1) == ("textLength", "lessThanOrEqual",
                                                         str(limit))
    assert str(rule.sqref) == f"D{FIRST_ROW}:E{last}"
    assert rule.allowBlank and rule.showInputMessage and rule.showErrorMessage
    assert rule.errorStyle == "stop"
    assert f"at most {limit} characters" in (rule.prompt or "")
    assert str(limit) in (rule.error or "") and len(rule.prompt or "") <= 255
    formats = list(ws.conditional_formatting)
    assert len(formats) == 1
    assert str(formats[0].sqref) == f"D{FIRST_ROW}:E{last}"
    (cf,) = formats[0].rules
    assert cf.type == "expression" and cf.formula == [f"LEN(D{FIRST_ROW})>{limit}"]
    assert cf.dxf is not None and cf.dxf.fill is not None
    assert ws.cell(3, 1).value.startswith(  # type: ignore[union-attr]
        f"Two specific lines for every person listed, at most {limit} characters each")


def test_instructions_in_plain_english(sample: tuple[Path, FormsResult]) -> None:
    _, result = sample
    wb = openpyxl.load_workbook(result.forms[0].path)
    ws = wb[INSTRUCTIONS_SHEET]
    assert wb.sheetnames == [FEEDBACK_SHEET, INSTRUCTIONS_SHEET, META_SHEET]
    assert wb.active is not None and wb.active.title == FEEDBACK_SHEET
    text = "\n".join(str(c.value) for c in ws["A"] if c.value)
    assert "two specific lines about the work of each person" in text
    assert "An example" in text and "Feedback 1: Your patience" in text
    assert f"at most {result.limit} characters" in text
    assert "by Friday 18 September 2026, to Sam Coordinator, sam@example.org." in text
    assert "Everyone in the team is listed on purpose" in text
    assert "feedback for every person on the list" in text
    # nothing on the form speaks of arms, treatment or control
    every_cell = " ".join(str(c.value) for sheet in (FEEDBACK_SHEET, INSTRUCTIONS_SHEET)
                          for row in wb[sheet].iter_rows() for c in row if c.value)
    assert not re.search(r"treatment|control|arm\b|randomi", every_cell, re.IGNORECASE)


def test_hidden_metadata_recognises_the_form_by_content(
        sample: tuple[Path, FormsResult], tmp_path: Path) -> None:
    folder, result = sample
    info = result.forms[2]
    wb = openpyxl.load_workbook(info.path)
    assert wb[META_SHEET].sheet_state == "veryHidden"
    renamed = tmp_path / "feedback - final v2.xlsx"
    shutil.copyfile(info.path, renamed)
    meta = read_form_meta(renamed)
    assert meta is not None
    ids = [r[0] for r in data_rows(feedback_sheet(info.path))]
    assert (meta.campaign, meta.authority, meta.team) == (
        load_campaign(folder).spec.campaign.name, info.authority, info.team)
    assert meta.roster == tuple(sorted(ids)) and meta.roster_intact
    expected = hashlib.sha256("".join(f"{i}\n" for i in sorted(ids)).encode()).hexdigest()
    assert meta.roster_sha256 == expected == info.roster_sha256 == roster_hash(ids)
    assert (meta.version, meta.limit, meta.treatment_only, meta.members) == (
        1, result.limit, False, len(ids))
    # not forms: a CSV, a workbook of someone else's, a damaged file
    assert read_form_meta(tmp_path / "x.csv") is None
    other = openpyxl.Workbook()
    other.save(tmp_path / "other.xlsx")
    assert read_form_meta(tmp_path / "other.xlsx") is None
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really")
    assert read_form_meta(tmp_path / "broken.xlsx") is None


def test_forms_log_is_chained_and_names_nobody(sample: tuple[Path, FormsResult]) -> None:
    folder, result = sample
    lines = (result.out / FORMS_LOG).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["event"] for r in records] == ["run", *["form"] * 18, "close"]
    prev = GENESIS
    for r in records:
        assert r["prev_hash"] == prev and r["hash"] == record_hash(r)
        prev = r["hash"]
    run = records[0]
    assert (run["command"], run["limit"], run["treatment_only"]) == ("forms", result.limit,
                                                                     False)
    for r, info in zip(records[1:-1], result.forms, strict=True):
        assert r["file"] == info.path.name
        assert r["sha256"] == hashlib.sha256(info.path.read_bytes()).hexdigest()
        assert (r["roster_sha256"], r["members"], r["limit"]) == (
            info.roster_sha256, info.members, result.limit)
    values = {str(v) for r in records for v in r.values()}
    names = {p.first_name for p in people(folder)} | {p.last_name for p in people(folder)}
    assert not values & names
    assert not re.search(r"treatment\"|control|\"arm", "\n".join(lines).replace(
        '"treatment_only"', ""))


def test_forms_are_byte_identical_run_to_run(sample: tuple[Path, FormsResult],
                                             tmp_path: Path) -> None:
    folder, result = sample
    again = write_forms(load_campaign(folder), tmp_path / "again")
    assert [f.sha256 for f in again.forms] == [f.sha256 for f in result.forms]
    with zipfile.ZipFile(again.forms[0].path) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2026, 10, 1, 0, 0, 0)}
        core = zf.read("docProps/core.xml").decode()
    assert "2026-10-01T00:00:00Z" in core and "hhp-letters" in core


def test_treatment_only_forms(sample: tuple[Path, FormsResult], tmp_path: Path) -> None:
    folder, _ = sample
    result = write_forms(load_campaign(folder), tmp_path / "t", treatment_only=True)
    treatment = {p.participant_id for p in people(folder) if p.arm is Arm.TREATMENT}
    on_forms = {r[0] for f in result.forms for r in data_rows(feedback_sheet(f.path))}
    assert on_forms == treatment and result.members == 196
    meta = read_form_meta(result.forms[0].path)
    assert meta is not None and meta.treatment_only
    assert any("treatment participants only" in n for n in result.notes)


def test_the_limit_comes_from_the_letter(sample: tuple[Path, FormsResult]) -> None:
    folder, result = sample
    campaign = load_campaign(folder)
    d = derive_limit(campaign)
    assert result.limit == feedback_limit(campaign) == d.limit == 510
    assert d.limit == (d.fits - d.per_row) // 10 * 10
    assert d.per_row == 89 and round(d.box_width_pt) == 428
    # with the real designs (images as prepared for print), a pair of wide lines at the limit
    # fits on one page for every council; the widest pair that fits is what derive_limit found
    assets = load_assets(campaign)
    designs, _ = make_designs(campaign, assets)
    filler = WIDE_FEEDBACK * 20

    def plan(code: str, n: int) -> object:
        text = filler[:n].rstrip()
        job = LetterJob("X1", designs[code].authority, "Alexandra", "Example",
                        ("1 Example Street", "EXAMPLETOWN", "AB1 2CD"), (text, text), "",
                        Origin("t"))
        return designs[code].plan(job)

    for code in designs:
        assert isinstance(plan(code, d.limit), Plan)
        # a line break in each line still fits at the limit
        text = filler[:d.limit].rstrip()
        cut = text.rfind(" ", 0, len(text) // 2)
        broken = text[:cut] + "\n" + text[cut + 1:]
        job = LetterJob("X1", designs[code].authority, "Alexandra", "Example",
                        ("1 Example Street", "EXAMPLETOWN", "AB1 2CD"), (broken, broken), "",
                        Origin("t"))
        assert isinstance(designs[code].plan(job), Plan)
    assert not isinstance(plan(d.authority, d.fits + 12), Plan)
    assert isinstance(plan(d.authority, d.fits), Plan)


def _edit_list(folder: Path, change: Callable[[Worksheet], None]) -> None:
    path = folder / "data" / "randomised.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Allocation"]
    assert isinstance(ws, Worksheet)
    change(ws)
    wb.save(path)


def test_manager_named_above_the_header(tmp_path: Path) -> None:
    folder = sample_campaign(tmp_path / "camp")

    def add_manager(ws: Worksheet) -> None:
        col = ws.max_column + 1
        ws.cell(3, col).value = "Team manager"
        for r in range(4, ws.max_row + 1):
            team = ws.cell(r, 5).value
            ws.cell(r, col).value = f"Manager of {team}" if team else None

    _edit_list(folder, add_manager)
    result = write_forms(load_campaign(folder), tmp_path / "forms")
    info = next(f for f in result.forms if f.team == "Leaving Care")
    ws = feedback_sheet(info.path)
    assert ws.cell(2, 1).value == "Team manager: Manager of Leaving Care"
    assert info.managers == ("Manager of Leaving Care",)
    assert ws.cell(HEADER_ROW, 1).value == "Participant ID"


def test_no_team_column_one_form_per_authority(tmp_path: Path) -> None:
    folder = sample_campaign(tmp_path / "camp")
    _edit_list(folder, lambda ws: ws.delete_cols(5))
    result = write_forms(load_campaign(folder), tmp_path / "forms")
    assert result.by_authority
    assert [f.path.name for f in result.forms] == ["FB.xlsx", "HC.xlsx", "KB.xlsx"]
    assert sum(f.members for f in result.forms) == 391
    assert result.notes[0] == ("The list has no team column (or it is empty): one form per "
                               "authority.")
    ws = feedback_sheet(result.forms[0].path)
    assert ws.cell(1, 1).value == ("Feedback for everyone at Fernleigh Borough Council, "
                                   "Fernleigh Borough Council")


def test_rows_with_no_team_get_a_form_of_their_own(tmp_path: Path) -> None:
    folder = sample_campaign(tmp_path / "camp")
    campaign = load_campaign(folder)
    blanked: list[str] = []

    def blank_two(ws: Worksheet) -> None:
        for r in range(4, ws.max_row + 1):
            council = campaign.authority(str(ws.cell(r, 4).value))
            if council is not None and council.code == "KB" and len(blanked) < 2:
                blanked.append(str(ws.cell(r, 1).value))
                ws.cell(r, 5).value = None

    _edit_list(folder, blank_two)
    result = write_forms(load_campaign(folder), tmp_path / "forms")
    (info,) = [f for f in result.forms if f.path.name == "KB-no-team.xlsx"]
    ws = feedback_sheet(info.path)
    assert sorted(r[0] for r in data_rows(ws)) == sorted(blanked)
    assert ws.cell(1, 1).value == ("Feedback for people with no team in the list, Kestrel Bay "
                                   "City Council")
    assert "2 people of KB have no team in the list: they are on KB-no-team.xlsx." in \
        result.notes
    assert len(result.forms) == 19 and result.members == 391


def test_where_forms_may_not_go(sample: tuple[Path, FormsResult], tmp_path: Path) -> None:
    folder, result = sample
    campaign = load_campaign(folder)
    with pytest.raises(UsageError, match=r"where campaign\.toml reads feedback"):
        write_forms(campaign, folder / "data" / "feedback")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="already exists and is not empty"):
        write_forms(campaign, tmp_path / "mine")
    with pytest.raises(UsageError, match="not a forms folder"):
        write_forms(campaign, tmp_path / "mine", force=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    copy = tmp_path / "forms"
    shutil.copytree(result.out, copy)
    (copy / "stale-team.xlsx").write_bytes(b"old")
    again = write_forms(campaign, copy, force=True)
    assert len(again.forms) == 18 and not (copy / "stale-team.xlsx").exists()


def test_an_unreadable_list_makes_no_forms(tmp_path: Path) -> None:
    folder = sample_campaign(tmp_path / "camp")
    (folder / "data" / "randomised.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(ProblemsFound, match="could not be read completely"):
        write_forms(load_campaign(folder), tmp_path / "forms")
    assert not (tmp_path / "forms").exists()


# -- returned forms -------------------------------------------------------------------------------

def test_returned_forms_check_with_no_mapping(filled: Filled) -> None:
    report = check_campaign(filled.campaign)
    everyone = people(filled.campaign)
    arm = {p.participant_id: p.arm for p in everyone}
    treatment = {i for i, a in arm.items() if a is Arm.TREATMENT}
    blank = {i for i in filled.blank if arm[i] is Arm.TREATMENT}
    not_back = {i for i in filled.not_returned if arm[i] is Arm.TREATMENT}
    errors = [p for p in report.problems if p.is_error]
    # a blank row of a returned form is blank feedback; a form not returned, missing feedback
    assert {(p.code, p.participant_id) for p in errors} == {
        *(("blank_feedback", i) for i in blank), *(("missing_feedback", i) for i in not_back)}
    matched = len(treatment) - len(blank) - len(not_back) - 1  # the one on hold
    assert f"feedback matched for {matched} of {len(treatment)}" in report.verdict
    held = [p for p in report.problems if p.code == "held"]
    assert [(p.participant_id, p.level.value) for p in held] == [(filled.held, "warning")]
    others = {p.code for p in report.problems if not p.is_error} - {"held"}
    assert others <= FORM_NOISE  # no mapping, name-matching or column warnings
    noise = [p for p in report.problems if p.code == "hidden_sheet"]
    assert all("'hhp-form'" in p.message for p in noise)
    # the CSV, the renamed and the re-sorted forms were all read
    read = {p.origin.file for p in report.problems if p.code == "feedback_for_control"}
    assert {"data/feedback/" + f.name for f in (filled.csv_form, filled.renamed,
                                                 filled.resorted)} <= read


def test_a_hold_withholds_exactly_that_letter(filled: Filled, tmp_path: Path) -> None:
    result = produce(load_campaign(filled.campaign), tmp_path / "run", skip_invalid=True)
    records = [json.loads(line) for line in
               (result.out / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    alloc = {r["participant_id"]: r for r in records if r["event"] == "allocation"}
    arm = {p.participant_id: p.arm for p in people(filled.campaign)}
    missing = {i for i in filled.blank | filled.not_returned if arm[i] is Arm.TREATMENT}
    withheld = {pid: r["reason"] for pid, r in alloc.items()
                if r["status"] == "withheld" and r["arm"] == "treatment"}
    assert withheld == {filled.held: "held", **{i: "missing_feedback" for i in missing}}
    assert alloc[filled.over]["status"] == "produced"  # one over the limit still fits
    produced = [r for r in alloc.values() if r["status"] == "produced"]
    assert len(produced) == 196 - len(withheld)


def test_form_problems_name_what_is_wrong(filled: Filled) -> None:
    campaign = load_campaign(filled.campaign)
    everyone = people(filled.campaign)
    roster = build_roster(campaign, everyone)
    forms = filled.forms.forms
    meta0, meta1 = read_form_meta(forms[0].path), read_form_meta(forms[1].path)
    assert meta0 is not None and meta1 is not None
    ids0 = meta0.roster
    ids1 = meta1.roster
    # a returned form exactly as sent: no problem
    assert form_problems([FormReturn("a.xlsx", meta0, ids0)], roster) == []
    # another campaign's form (last wave's)
    old_wave = replace(meta0, campaign="Recognition letters, wave 0")
    (p,) = form_problems([FormReturn("wave0.xlsx", old_wave, ids0)], roster)
    assert (p.code, p.level.value, p.origin.file) == ("form_other_campaign", "error",
                                                      "wave0.xlsx")
    assert "'Recognition letters, wave 0'" in p.message
    # rows of another team pasted into this team's form
    pasted = (*ids0, ids1[0], ids1[1])
    (p,) = form_problems([FormReturn("a.xlsx", meta0, pasted)], roster)
    assert p.code == "form_wrong_team" and p.is_error
    assert f"{ids1[0]}, {ids1[1]}" in p.message and repr(forms[1].team) in p.message
    # made from an older list: one person has joined the team since, one has left
    joined, left = ids0[0], "09999"
    older = tuple(sorted((*ids0[1:], left)))
    stale = replace(meta0, roster=older, roster_sha256=roster_hash(older))
    (p,) = form_problems([FormReturn("a.xlsx", stale, older)], roster)
    assert (p.code, p.level.value) == ("form_old_roster", "warning")
    assert f"1 joined the team since ({joined})" in p.message
    assert f"1 on the form are no longer in the team ({left})" in p.message
    # the same team's form twice: as .xlsx and as its CSV export (no metadata)
    problems = form_problems([FormReturn("a.xlsx", meta0, ids0),
                              FormReturn("a.csv", None, ids0)], roster)
    assert [(p.code, p.origin.file) for p in problems] == [("form_duplicate", "a.csv")]
    assert "first in a.xlsx" in problems[0].message
    # a manager's own files that split the team between them (no metadata): not a duplicate
    half = len(ids0) // 2
    assert form_problems([FormReturn("mine-1.csv", None, ids0[:half]),
                          FormReturn("mine-2.csv", None, ids0[half:])], roster) == []
    # ... unless they share a row
    (p,) = form_problems([FormReturn("mine-1.csv", None, ids0[:half + 1]),
                          FormReturn("mine-2.csv", None, ids0[half:])], roster)
    assert (p.code, p.origin.file) == ("form_duplicate", "mine-2.csv")


def test_return_problems_on_the_real_returns(filled: Filled, tmp_path: Path) -> None:
    campaign = load_campaign(filled.campaign)
    with scratch_store() as store:
        check(campaign, store)
        assert return_problems(campaign, store) == []
    # a second copy of a returned form (the manager sent it twice)
    copy = filled.campaign / "data" / "feedback" / "resent.xlsx"
    shutil.copyfile(filled.renamed, copy)
    try:
        with scratch_store() as store:
            check(campaign, store)
            problems: list[Problem] = return_problems(campaign, store)
    finally:
        copy.unlink()
    assert [(p.code, p.origin.file) for p in problems] == [
        ("form_duplicate", "data/feedback/resent.xlsx")]


# -- a real LibreOffice ---------------------------------------------------------------------------

@pytest.fixture
def soffice() -> Iterator[str]:
    binary = libreoffice.find_soffice()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice is needed: apt-get install libreoffice-calc-nogui")
        pytest.skip("LibreOffice (soffice) is not installed")
    yield binary


def _convert(soffice: str, files: list[Path], target: str, out: Path, profile: Path) -> None:
    done = subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", target, "--outdir", str(out), *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.libreoffice
def test_every_form_opens_in_libreoffice(sample: tuple[Path, FormsResult], tmp_path: Path,
                                         soffice: str) -> None:
    _, result = sample
    files = [f.path for f in result.forms]
    _convert(soffice, files, "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path / "csv",
             tmp_path / "profile")
    for info in result.forms:
        with (tmp_path / "csv" / info.path.with_suffix(".csv").name).open(
                encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0][0].startswith(f"Feedback for {info.team}")
        header = rows[HEADER_ROW - 1]
        assert header[:7] == HEADERS
        body = [r for r in rows[HEADER_ROW:] if any(r)]
        expected = data_rows(feedback_sheet(info.path))
        assert [r[:3] for r in body] == [r[:3] for r in expected]  # ids keep their zeros
        assert len(body) == info.members
    # re-saved by LibreOffice as .xlsx (a manager using it): still recognised as the form
    _convert(soffice, files, "xlsx", tmp_path / "xlsx", tmp_path / "profile")
    for info in result.forms:
        meta = read_form_meta(tmp_path / "xlsx" / info.path.name)
        assert meta is not None and meta.roster_sha256 == info.roster_sha256
        ws = feedback_sheet(tmp_path / "xlsx" / info.path.name)
        assert ws.protection.sheet
        rule = ws.data_validations.dataValidation[0]
        assert (rule.type, rule.formula1) == ("textLength", str(result.limit))
