"""The command line as users meet it: help, version, init, demo, exit codes, and the README's
commands kept true."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from hhp_letters import __version__
from hhp_letters.cli import app
from hhp_letters.scaffold import init_campaign

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    for command in ("init", "check", "letters", "notes", "verify", "demo"):
        assert re.search(rf"│ {command}\s", result.output), command


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"hhp-letters {__version__}"


def test_usage_errors_exit_2() -> None:
    assert runner.invoke(app, ["letters"]).exit_code == 2  # missing CAMPAIGN and --out
    assert runner.invoke(app, ["check", "--nope"]).exit_code == 2
    assert runner.invoke(app, ["init", "x", "--kind", "poems"]).exit_code == 2


def test_init_sample_makes_a_campaign_that_checks_clean(tmp_path: Path) -> None:
    for kind in ("letters", "notes"):
        folder = tmp_path / kind
        made = runner.invoke(app, ["init", str(folder), "--kind", kind, "--sample"])
        assert made.exit_code == 0, made.output
        assert "../../signatures" not in (folder / "campaign.toml").read_text()
        checked = runner.invoke(app, ["check", str(folder)], env={"COLUMNS": "200"})
        assert checked.exit_code == 0, checked.output
        assert "0 errors, 0 warnings" in checked.output
    again = runner.invoke(app, ["init", str(tmp_path / "letters")])
    assert again.exit_code == 2 and "not empty" in again.output


def test_demo_runs_the_whole_flow(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "letters: 196 letters, 3 bundle(s), 196 pages" in result.output
    assert "notes: 12 notes, 1 bundle(s), 12 pages" in result.output
    assert result.output.count("verify: all checks passed") >= 3
    assert (out / "letters-run" / "summary.html").is_file()
    assert (out / "letters-proof" / "proof" / "contact-sheet.png").is_file()
    refused = runner.invoke(app, ["demo", "--out", str(out)])
    assert refused.exit_code == 2


def test_module_entry_point_and_bug_exit_code(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "hhp_letters", "check", str(tmp_path / "none")],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "no campaign file" in done.stderr and "Traceback" not in done.stderr


def test_readme_commands_are_the_ones_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.DOTALL)
    demo, tests = blocks[0], blocks[1]
    assert "hhp-letters demo" in demo and "pip install -e ." in demo
    assert tests in ci  # CI runs the README's test command verbatim


def test_check_output_is_pinned(tmp_path: Path) -> None:
    """What a coordinator sees, exactly: the verdict on a clean campaign, then the table and
    verdict for one missing feedback line (exit 1, problems.csv named)."""
    folder = init_campaign(tmp_path / "c", sample=True).parent
    clean = runner.invoke(app, ["check", str(folder)], env={"COLUMNS": "120"})
    assert (clean.exit_code, clean.output) == (0, CLEAN)
    path = sorted((folder / "data" / "feedback").glob("*.xlsx"))[0]
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws is not None
    pid = str(ws.cell(row=2, column=1).value)
    ws.cell(row=2, column=3).value = None
    wb.save(path)
    broken = runner.invoke(app, ["check", str(folder)], env={"COLUMNS": "120"})
    assert broken.exit_code == 1
    shown = [line.rstrip() for line in broken.output.replace(str(folder), "FOLDER").splitlines()]
    assert shown == BROKEN.format(pid=pid, file=path.name).splitlines()


CLEAN = ("OK: 391 participants (196 treatment, 195 control); feedback matched for 196 of 196; "
         "0 errors, 0 warnings\n")
BROKEN = """\
data/feedback/{file} (sheet 'Feedback')
┏━━━━━━━┳━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┓
┃ level ┃ row ┃ column              ┃ problem                                                      ┃ code           ┃
┡━━━━━━━╇━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━┩
│ error │   2 │ Feedback line 1 (C) │ Feedback line 1 blank for participant '{pid}'                │ blank_feedback │
│       │     │                     │ fix: every treatment participant needs two lines of feedback │                │
└───────┴─────┴─────────────────────┴──────────────────────────────────────────────────────────────┴────────────────┘
FAILED: 391 participants (196 treatment, 195 control); feedback matched for 195 of 196; 1 error, 0 warnings
problems written to FOLDER/problems.csv"""  # noqa: E501
