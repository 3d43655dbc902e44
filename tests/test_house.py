"""Defects a review of the house found, each pinned by a test that failed before its fix."""

from __future__ import annotations

import ast
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import CampaignBuilder, run_cli, write_notes_campaign

from hhp_letters.audit import AUDIT_FILE, canonical, record_hash
from hhp_letters.render.text import to_unicode_cmap
from hhp_letters.summary import REASON_TEXT
from hhp_letters.verify import verify_run

PACKAGE = Path(__file__).resolve().parent.parent / "hhp_letters"



def notes_campaign(folder: Path, south_manager: str = "Jo") -> Path:
    return write_notes_campaign(
        folder, "Team ID,Team,Site,Manager first name,Arm,Local authority\n"
        "N1,Fostering,North House,Priya,treatment,NA\n"
        f"S1,Fostering,South House,{south_manager},treatment,SO\n"
        "S2,Duty,South House,Kim,treatment,SO\n"
        "N2,Duty,Elm Court,Lee,control,NA\n", "NA", "SO")


def test_a_note_problem_withholds_only_its_own_authoritys_team(tmp_path: Path) -> None:
    # defect 1: a bad manager name in SO's "Fostering" withheld NA's "Fostering" too
    campaign = notes_campaign(tmp_path / "camp", south_manager="Jo 🙂")
    out = tmp_path / "run"
    result = run_cli("notes", str(campaign), "--out", str(out), "--skip-invalid")
    assert result.exit_code == 0, result.output
    notes = sorted(p.relative_to(out).as_posix() for p in (out / "notes").glob("*/*.pdf"))
    assert notes == ["notes/NA/Fostering.pdf", "notes/SO/Duty.pdf"]
    allocations = {r["participant_id"]: r for r in map(json.loads, (out / AUDIT_FILE)
                                                       .read_text().splitlines())
                   if r["event"] == "allocation"}
    assert allocations["N1"]["status"] == "produced"
    assert allocations["S1"]["reason"] == "unprintable_character"
    verified = run_cli("verify", str(out), "--participants", str(campaign / "teams.csv"))
    assert verified.exit_code == 0, verified.output


def _rewrite(out: Path, change: dict[str, dict[str, object]]) -> None:
    """Edit allocation records and re-hash the whole chain (a forger's full rewrite)."""
    records = [json.loads(line) for line in (out / AUDIT_FILE).read_text().splitlines()]
    prev = "0" * 64
    for r in records:
        r.update(change.get(str(r.get("participant_id")), {}) if r["event"] == "allocation"
                 else {})
        r["prev_hash"] = prev
        r["hash"] = record_hash(r)
        prev = r["hash"]
    (out / AUDIT_FILE).write_text("\n".join(canonical(r) for r in records) + "\n")
    (out / "audit.head").write_text(prev + "\n")


def test_verify_catches_a_team_withheld_for_another_teams_problem(tmp_path: Path) -> None:
    # what the defect produced: NA's Fostering withheld, with nothing wrong in its own rows
    campaign = notes_campaign(tmp_path / "camp", south_manager="Jo 🙂")
    out = tmp_path / "run"
    assert run_cli("notes", str(campaign), "--out", str(out), "--skip-invalid").exit_code == 0
    note = out / "notes" / "NA" / "Fostering.pdf"
    note.unlink()
    _rewrite(out, {"N1": {"status": "withheld", "reason": "unprintable_character",
                          "output": None, "output_sha256": None, "bundle": None,
                          "pages": None, "manager_first_name_sha256": None}})
    failures = [f for r in verify_run(out, participants=campaign / "teams.csv")
                for f in r.failures]
    assert ("teams.csv row 2 (team 'Fostering', NA) was withheld as 'unprintable_character', "
            "but no row of that team shows such a problem: another team's problem withheld "
            "it") in failures
    # and through the recorded cause, without the list
    _rewrite(out, {"N1": {"cause_rows": [3]}})
    failures = [f for r in verify_run(out) for f in r.failures]
    assert ("row 2 (team 'Fostering', NA) was withheld for a problem of row 3, which is in "
            "team 'Fostering' (SO): another team's problem must not withhold it") in failures


def test_our_own_bug_in_row_code_is_a_bug_not_a_damaged_workbook(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # defect 2: `except Exception` turned a KeyError in our code into "xlsx_corrupt"
    from hhp_letters.sources import table

    builder = CampaignBuilder(tmp_path / "camp")
    builder.build()

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(table, "_row", broken)
    result = run_cli("check", str(builder.root))
    assert result.exit_code == 3, result.output
    assert "Internal error (a bug in hhp-letters): KeyError" in result.output
    assert "xlsx_corrupt" not in result.output and "damaged" not in result.output


def test_only_the_cli_catches_everything() -> None:
    # every broad handler in the package, with the reason it may stay
    allowed = {("cli.py", "Exception"): "the exit-3 bug path",
               ("atomic.py", "BaseException"): "removes the temp file, then re-raises",
               ("word_pdf.py", "BaseException"): "closes the half-made PDF, then re-raises",
               ("store.py", "BaseException"): "an interrupt inside SQLite's call of our "
                                              "function, raised again as itself",
               ("parallel.py", "Exception"): "a worker sends what it raised to the parent, "
                                             "which raises it again"}
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name) and \
                    node.type.id in ("Exception", "BaseException"):
                found.add((path.name, node.type.id))
            if isinstance(node, ast.ExceptHandler) and node.type is None:
                found.add((path.name, "bare except"))
    assert found == set(allowed), found


def test_no_assert_guards_an_invariant() -> None:
    # defect 4: `python -O` removes asserts; invariants raise InternalError instead
    offenders = [f"{path.relative_to(PACKAGE)}:{node.lineno}"
                 for path in PACKAGE.rglob("*.py")
                 for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Assert)]
    assert offenders == []


def test_notes_in_duplex_say_duplex_on_the_job_ticket(tmp_path: Path) -> None:
    # defect 3: duplex notes got a blank back each, but the ticket said simplex
    campaign = notes_campaign(tmp_path / "camp")
    toml = campaign / "campaign.toml"
    toml.write_text(toml.read_text() + '\n[print]\nenvelope = "DL"\nduplex = true\n')
    out = tmp_path / "run"
    assert run_cli("notes", str(campaign), "--out", str(out)).exit_code == 0
    ticket = (out / "job-ticket.txt").read_text()
    assert "Printing:       duplex" in ticket and "simplex" not in ticket
    assert "Pages:          6" in ticket and "Sheets:         3" in ticket


def test_the_summary_explains_every_reason_a_run_can_record() -> None:
    from hhp_letters.merge import REASONS

    for reason in {*REASONS.values(), "control_arm", "not_produced", "readback_failed"}:
        assert reason in REASON_TEXT, reason


def test_to_unicode_writes_astral_characters_as_surrogate_pairs() -> None:
    cmap = to_unicode_cmap([(1, "A"), (2, "\U0001F600")]).decode("ascii")
    assert "<0001> <0041>" in cmap
    assert "<0002> <D83DDE00>" in cmap  # U+1F600 as UTF-16BE, never <1F600>


def test_a_workbook_with_an_entity_bomb_is_refused_not_expanded(tmp_path: Path) -> None:
    # the XML guard is ours (defusedxml), not a side effect of what openpyxl imports
    builder = CampaignBuilder(tmp_path / "camp")
    builder.build()
    path = builder.list_path
    doctype = (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
               b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, _, rest = data.partition(b"?>")
                data = head + b"?>" + doctype + rest.replace(b"Alice", b"&c;", 1)
            zout.writestr(info, data)
    path.write_bytes(buf.getvalue())
    result = run_cli("check", str(builder.root))
    assert result.exit_code == 1
    assert "xlsx_corrupt" in result.output


def test_merged_cells_are_found_whatever_the_attribute_order(tmp_path: Path) -> None:
    builder = CampaignBuilder(tmp_path / "camp")
    builder.build()
    path = builder.list_path
    wb = openpyxl.load_workbook(path)
    wb["Allocation"].merge_cells("B3:B4")
    wb.save(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = data.replace(b'<mergeCell ref="B3:B4"/>',
                                    b"<mergeCell xr:uid='{1}' ref='B3:B4'/>")
            zout.writestr(info, data)
    path.write_bytes(buf.getvalue())
    result = run_cli("check", str(builder.root))
    assert "merged_cells" in result.output


def test_the_cli_module_holds_no_workflow() -> None:
    # it parses, calls the library and prints: no file operations, no decisions of its own
    source = (PACKAGE / "cli.py").read_text(encoding="utf-8")
    for word in ("shutil", "rmtree", "unlink", "mkdir", '"problems.csv"', ".kind !=",
                 "exists()"):
        assert word not in source, word
