"""docs/guide.md is executed: every `$ hhp-letters ...` line, in order, on a practice campaign.

What a coordinator does between commands (forms coming back late, a correction, returned
envelopes) is done by the step named in the guide's ``<!-- test: ... -->`` comments, so the
guide cannot drift from the tool: a command it shows that fails, or a step it names that this
file does not know, fails the test.
"""

from __future__ import annotations

import csv
import io
import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide.md"
CAMPAIGN = "my-campaign"
CHANGED = "00002"


def steps(text: str) -> list[tuple[str, str]]:
    """("directive", name) and ("command", line) in the order the guide gives them."""
    out: list[tuple[str, str]] = []
    for match in re.finditer(r"<!-- test: (.+?) -->|```console\n(.*?)```", text, re.DOTALL):
        if match.group(1):
            out.append(("directive", match.group(1).strip()))
        else:
            out += [("command", line[2:]) for line in match.group(2).splitlines()
                    if line.startswith("$ ")]
    return out


def _feedback_files(here: Path) -> list[Path]:
    return sorted((here / CAMPAIGN / "data" / "feedback").glob("*.xlsx"))


def _holds(path: Path, pid: str) -> bool:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return any(str(row[0]) == pid for ws in wb.worksheets
                   for row in ws.iter_rows(values_only=True) if row and row[0] is not None)
    finally:
        wb.close()


def practice(here: Path) -> None:
    """The practice campaign, with sign-off required as a fresh `init` has it."""
    shutil.rmtree(here / CAMPAIGN)
    assert run_cli("init", CAMPAIGN, "--sample").exit_code == 0
    toml = here / CAMPAIGN / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("[campaign]\n", "[campaign]\nrequire_approval = true\n", 1),
                    encoding="utf-8")


def two_teams_late(here: Path) -> None:
    late = here / "late"
    late.mkdir()
    movable = [p for p in _feedback_files(here) if not _holds(p, CHANGED)]
    for path in movable[:2]:
        shutil.move(path, late / path.name)


def late_forms_arrive(here: Path) -> None:
    for path in sorted((here / "late").iterdir()):
        shutil.move(path, here / CAMPAIGN / "data" / "feedback" / path.name)


def change_feedback(here: Path) -> None:
    (path,) = [p for p in _feedback_files(here) if _holds(p, CHANGED)]
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            if str(row[0].value) == CHANGED:
                texts = [c for c in row[1:] if isinstance(c.value, str) and len(c.value) > 20]
                texts[0].value = "You steadied the whole team through a very hard winter."
    wb.save(path)


def passphrase(here: Path) -> None:
    (here / "passphrase.txt").write_text("correct horse battery staple\n", encoding="utf-8")


def _manifest_rows(run: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for manifest in sorted((run / "bundles").glob("*.csv")):
        rows += csv.DictReader(io.StringIO(manifest.read_text(encoding="utf-8-sig")))
    return rows


def scan_of_wave_1(here: Path) -> None:
    codes = [r["code"] for r in _manifest_rows(here / "wave-1")]
    assert codes and all(codes)
    (here / "inserter-scan.txt").write_text("\n".join(codes) + "\n", encoding="utf-8")


def two_returned(here: Path) -> None:
    rows = [r for r in _manifest_rows(here / "wave-1")][-2:]
    text = "reference,reason\n" + "".join(f"{r['reference']},not known at this address\n"
                                          for r in rows)
    (here / "returned.csv").write_text(text, encoding="utf-8")


STEPS: dict[str, Callable[[Path], None]] = {
    "practice": practice,
    "some forms are back, two teams are late": two_teams_late,
    "the late forms arrive": late_forms_arrive,
    "change a feedback line of 00002": change_feedback,
    "passphrase": passphrase,
    "scan of wave-1": scan_of_wave_1,
    "two returned letters": two_returned,
}


def test_the_readme_links_the_guide_first() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", readme)
    assert links and links[0] == "docs/guide.md"


def test_every_command_of_the_guide_runs(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    expect = 0
    ran: list[str] = []
    for kind, value in steps(GUIDE.read_text(encoding="utf-8")):
        if kind == "directive":
            if value.startswith("exit "):
                expect = int(value.split()[1])
            else:
                assert value in STEPS, f"the guide names a step this test does not know: {value}"
                STEPS[value](tmp_path)
            continue
        args = shlex.split(value)
        assert args[0] == "hhp-letters"
        result = run_cli(*args[1:])
        assert result.exit_code == expect, f"$ {value}\n{result.output}"
        ran.append(args[1])
        expect = 0
    assert ran == ["init", "check", "forms", "chase", "letters", "letters", "preview",
                   "approve", "letters", "package", "reconcile", "letters", "approve",
                   "letters", "reissue", "approve", "reissue", "returns", "verify", "summary"]
    # what the guide promises came true
    assert len(list((tmp_path / "forms").glob("*.xlsx"))) == 18
    wave_1 = {r["reference"] for r in _manifest_rows(tmp_path / "wave-1")}
    wave_2 = {r["reference"] for r in _manifest_rows(tmp_path / "wave-2")}
    assert wave_1 and wave_2 and not wave_1 & wave_2  # the top-up made only the missing letters
    assert len(_manifest_rows(tmp_path / "reissue-1")) == 1
    flow = (tmp_path / "summary" / "summary.md").read_text(encoding="utf-8")
    assert "eturned" in flow and "e-issued" in flow
