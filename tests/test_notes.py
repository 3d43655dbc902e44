"""Coffee-machine notes: one per treatment team, read back; clusters checked and counted."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import cast

import openpyxl
import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, PdfObject
from typer.testing import CliRunner

from hhp_letters.cli import app
from hhp_letters.scaffold import init_campaign

runner = CliRunner()
A5_LANDSCAPE_PT = (595.276, 419.528)


def workers(folder: Path) -> list[dict[str, str]]:
    wb = openpyxl.load_workbook(folder / "data" / "randomised-workers.xlsx", read_only=True)
    rows = list(wb["Workers"].iter_rows(values_only=True))
    wb.close()
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, [str(v or "") for v in r], strict=True)) for r in rows[1:] if r[0]]


def _pdf_dict(obj: PdfObject, *keys: str) -> DictionaryObject:
    """``obj[key]...``, each step followed if indirect: a dictionary in these PDFs, which pypdf
    can only type as its PdfObject base class."""
    for key in keys:
        obj = cast(DictionaryObject, obj.get_object())[key]
    return cast(DictionaryObject, obj.get_object())


@pytest.fixture(scope="module")
def notes_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("notes")
    campaign = init_campaign(base / "camp", "notes", sample=True).parent
    out = base / "run"
    result = runner.invoke(app, ["notes", str(campaign), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return campaign, out


def test_one_note_per_treatment_team_read_back(notes_run: tuple[Path, Path]) -> None:
    campaign, out = notes_run
    people = workers(campaign)
    treatment_teams = {r["Team"]: r["Team manager"] for r in people
                       if r["Allocation"] == "Treatment"}
    control_teams = {r["Team"] for r in people if r["Allocation"] == "Control"}
    notes = sorted((out / "notes" / "WM").glob("*.pdf"))
    assert len(notes) == len(treatment_teams) == 12
    greeted = {}
    for path in notes:
        reader = PdfReader(path)
        assert len(reader.pages) == 1
        page = reader.pages[0]
        assert [float(v) for v in page.mediabox[2:]] == pytest.approx(A5_LANDSCAPE_PT, abs=0.01)
        assert [float(v) for v in page.trimbox] == [float(v) for v in page.mediabox]
        head = _pdf_dict(page, "/Resources", "/XObject", "/Head")
        for font in [*_pdf_dict(page, "/Resources", "/Font").values(),
                     *_pdf_dict(head, "/Resources", "/Font").values()]:
            cid = font.get_object()["/DescendantFonts"][0].get_object()
            assert "/FontFile2" in cid["/FontDescriptor"].get_object()
        text = " ".join(page.extract_text().split())
        match = re.search(r"Dear (.+?) and your team,", text)
        assert match, path
        greeted[path.stem] = match.group(1)
        assert "vulnerable children and families in Westmarch" in text
        assert "Rhodri Penhallow" in text
    stems = {re.sub(r"[^\w-]+", "-", team).strip("-"): m for team, m in treatment_teams.items()}
    assert greeted == stems
    assert not {re.sub(r"[^\w-]+", "-", t).strip("-") for t in control_teams} & set(greeted)


def test_notes_audit_summary_and_verify(notes_run: tuple[Path, Path]) -> None:
    campaign, out = notes_run
    md = (out / "summary.md").read_text()
    assert "Rows of the randomised list: **380**" in md
    assert "- Allocated: **185**\n  - clusters (sites): 7\n- Note produced: **185**\n" \
           "  - clusters that received a note: 7; people in them: 185" in md
    assert "- Allocated: **195**\n  - clusters (sites): 6\n- Note produced: **0**" in md
    people = workers(campaign)
    sites = {(r["Building"], r["Allocation"]) for r in people}
    assert len({s for s, a in sites if a == "Treatment"}) == 7
    assert len({s for s, a in sites if a == "Control"}) == 6
    result = runner.invoke(app, ["verify", str(out), "--participants",
                                 str(campaign / "data" / "randomised-workers.xlsx")],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "VERIFIED" in result.output
    ticket = (out / "job-ticket.txt").read_text()
    assert "Notes:          12" in ticket and "A5 landscape" in ticket and "laminate" in ticket


def test_verify_catches_a_missing_note(notes_run: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil
    copy = tmp_path / "run"
    shutil.copytree(notes_run[1], copy)
    victim = sorted((copy / "notes" / "WM").glob("*.pdf"))[0]
    victim.unlink()
    result = runner.invoke(app, ["verify", str(copy)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert f"notes/WM/{victim.name}: recorded" in result.output


def _set_allocation(folder: Path, row_number: int, value: str) -> tuple[str, str]:
    path = folder / "data" / "randomised-workers.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Workers"]
    ws.cell(row=row_number, column=6).value = value
    site = str(ws.cell(row=row_number, column=4).value)
    wb.save(path)
    return site, str(ws.cell(row=row_number, column=1).value)


def test_a_site_with_mixed_arms_fails_check_naming_site_and_rows(tmp_path: Path) -> None:
    campaign = init_campaign(tmp_path / "camp", "notes", sample=True).parent
    site, _ = _set_allocation(campaign, 5, "Treatment" if workers(campaign)[3]["Allocation"]
                              == "Control" else "Control")
    result = runner.invoke(app, ["check", str(campaign)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    rows = list(csv.DictReader((campaign / "problems.csv").read_text(
        encoding="utf-8-sig").splitlines()))
    hit = [r for r in rows if r["code"] == "mixed_cluster"]
    assert len(hit) == 1
    assert f"site {site!r} has mixed arms" in hit[0]["message"]
    assert re.search(r"on rows 5(,|;|$)", hit[0]["message"]) or " 5;" in hit[0]["message"] \
        or hit[0]["message"].endswith(" 5")
    assert hit[0]["file"] == "data/randomised-workers.xlsx" and hit[0]["sheet"] == "Workers"


def test_a_team_with_two_managers_is_an_error(tmp_path: Path) -> None:
    campaign = init_campaign(tmp_path / "camp", "notes", sample=True).parent
    path = campaign / "data" / "randomised-workers.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Workers"]
    team = ws.cell(row=2, column=3).value
    ws.cell(row=2, column=5).value = "Someone Else"
    wb.save(path)
    result = runner.invoke(app, ["check", str(campaign)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "inconsistent_team" in result.output
    text = (campaign / "problems.csv").read_text(encoding="utf-8-sig")
    assert f"team '{team}' (WM) has different managers" in text


def test_team_level_list_and_a4_cards(tmp_path: Path) -> None:
    campaign = init_campaign(tmp_path / "camp", "notes", sample=True).parent
    (campaign / "data" / "teams.csv").write_text(
        "Team ID,Team,Site,Manager first name,Arm,Local authority\n"
        "T1,Duty & Assessment,Oak House,Siobhán,treatment,WM\n"
        "T2,Fostering,Oak House,Zoë,treatment,WM\n"
        "T3,Leaving Care,The Maltings,Anne-Marie,control,WM\n", encoding="utf-8")
    toml = campaign / "campaign.toml"
    toml.write_text(toml.read_text().replace('participants = "data/randomised-workers.xlsx"',
                                             'participants = "data/teams.csv"')
                    .replace('sheet = "Workers"\n', "").replace('page = "A5-landscape"',
                                                                 'page = "A4"'))
    out = tmp_path / "run"
    result = runner.invoke(app, ["notes", str(campaign), "--out", str(out)])
    assert result.exit_code == 0, result.output
    notes = {p.stem: p for p in (out / "notes" / "WM").glob("*.pdf")}
    assert set(notes) == {"Duty-Assessment", "Fostering"}
    page = PdfReader(notes["Fostering"]).pages[0]
    assert [float(v) for v in page.mediabox[2:]] == pytest.approx([595.276, 841.89], abs=0.01)
    assert "Dear Zoë and your team," in page.extract_text()
    md = (out / "summary.md").read_text()
    assert "- Allocated: **2**\n  - clusters (sites): 1\n- Note produced: **2**" in md


def test_notes_command_refuses_a_letters_campaign(tmp_path: Path) -> None:
    campaign = init_campaign(tmp_path / "camp", "letters", sample=True).parent
    result = runner.invoke(app, ["notes", str(campaign), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "is a letters campaign" in result.output
