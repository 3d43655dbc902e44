"""The command line as users meet it: help, version, init, demo, exit codes, and the README's
commands kept true."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from hhp_letters import __version__
from hhp_letters.cli import app

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


def test_init_makes_a_campaign_that_checks_clean(tmp_path: Path) -> None:
    for kind in ("letters", "notes"):
        folder = tmp_path / kind
        made = runner.invoke(app, ["init", str(folder), "--kind", kind])
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
