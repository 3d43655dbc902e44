"""A run killed at any moment leaves nothing behind that looks finished, and nothing with
personal data in it; the next run cleans up, says so, and verifies."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hhp_letters.cli import app
from hhp_letters.scaffold import init_campaign

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from letters import make_campaign  # noqa: E402


def leftovers(*folders: Path) -> list[str]:
    """Anything a run may leave only while it is running."""
    found = []
    for folder in folders:
        for path in folder.rglob("*") if folder.exists() else ():
            name = path.name
            if path.parent.name == ".hhp":
                continue  # the campaign's keys (and their lock) belong to the campaign
            if (".partial-" in name or ".old-" in name or name.endswith((".lock", ".part"))
                    or name.startswith("hhp-") or name == "rows.sqlite"):
                found.append(str(path.relative_to(folder)))
    return sorted(found)


def _when_staging(out: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until the run has its staging folder (so a signal lands mid-run)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and process.poll() is None:
        if any(out.parent.glob(f".{out.name}.partial-*")):
            return
        time.sleep(0.05)
    raise AssertionError("the run never started writing")


def _start(campaign: Path, out: Path, env: dict[str, str], *,
           capture: bool = False) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hhp_letters", "letters", str(campaign),
                             "--out", str(out)], env=env,
                            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                            stderr=subprocess.STDOUT if capture else subprocess.DEVNULL)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kills") / "campaign"
    folder.mkdir()
    make_campaign(folder, 4_000)
    return folder


def test_twenty_random_kill_9s_then_a_run_that_verifies(big: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    runs = tmp_path / "runs"
    out = runs / "wave-1"
    rng = random.Random(4000)
    finished = 0
    for _ in range(20):
        process = _start(big, out, env)
        time.sleep(rng.uniform(0.2, 5.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if out.exists():  # it finished before the kill: a complete run, never a partial one
            finished += 1
            verified = subprocess.run([sys.executable, "-m", "hhp_letters", "verify", str(out)],
                                      capture_output=True, text=True, env=env)
            assert verified.returncode == 0, verified.stdout
            shutil.rmtree(out)
    final = subprocess.run([sys.executable, "-m", "hhp_letters", "letters", str(big), "--out",
                            str(out)], capture_output=True, text=True, env=env)
    assert final.returncode == 0, final.stdout + final.stderr
    assert "Done: 4000 letters" in final.stdout
    assert leftovers(runs, scratch, big) == []
    verified = subprocess.run([sys.executable, "-m", "hhp_letters", "verify", str(out)],
                              capture_output=True, text=True, env=env)
    assert verified.returncode == 0, verified.stdout
    assert finished < 20  # most kills landed mid-run (the test means something)


def test_sigterm_and_sighup_unwind_a_run_like_ctrl_c(big: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        out = tmp_path / f"run-{sig.name}"
        process = _start(big, out, env, capture=True)
        _when_staging(out, process)
        time.sleep(0.5)
        process.send_signal(sig)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 130, output
        assert b"nothing half-written was left behind" in output
        assert not out.exists()
        assert leftovers(tmp_path, scratch) == []


def test_the_next_run_removes_what_a_killed_one_left_and_says_so(big: Path,
                                                                 tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    out = tmp_path / "run"
    process = _start(big, out, env)
    _when_staging(out, process)
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert leftovers(tmp_path) and not out.exists()  # the staging folder, with the store
    again = subprocess.run([sys.executable, "-m", "hhp_letters", "letters", str(big), "--out",
                            str(out)], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stdout
    assert "left by an interrupted run" in again.stdout
    assert leftovers(tmp_path, scratch) == []


def test_a_signal_inside_sqlites_call_of_our_function_is_an_interrupt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SIGTERM landing while SQLite sorts by postcode (our function, called from SQLite) was
    # reported as "could not write the working copy of the rows" (exit 1), not an interrupt
    from hhp_letters import merge
    from hhp_letters.postcode import postcode_key as original
    from hhp_letters.workspace import Interrupted
    calls = {"n": 0}

    def stopped(postcode: str) -> str:
        calls["n"] += 1
        if calls["n"] == 20:
            raise Interrupted("SIGTERM")
        return original(postcode)

    monkeypatch.setattr(merge, "postcode_key", stopped)
    campaign = init_campaign(tmp_path / "camp", sample=True).parent
    result = CliRunner().invoke(app, ["letters", str(campaign), "--out", str(tmp_path / "run")])
    assert calls["n"] == 20
    assert result.exit_code == 130, result.output
    assert "Interrupted; nothing half-written was left behind." in result.output
    assert "working copy" not in result.output
    assert not (tmp_path / "run").exists()
