"""Run the hostile corpus of ``hostile.py``: every case states what must happen; this file
makes it happen and checks, for each, the global rules too — never a traceback, never
"Internal error" (exit 3) for bad input or a bad environment, never a wrong letter.

Three ways of running the command, chosen per case:

- in process (Typer's CliRunner): most cases, fast;
- a forked child (``isolated`` cases, tampered runs): a timeout (a template that would compute
  for hours, a named pipe that would block) and the child's own peak memory (``wait4``);
- ``python -m hhp_letters`` subprocesses: signals, concurrent runs, file-size limits
  (``RLIMIT_FSIZE`` in ``preexec_fn``), disk-full and read-only disks (tmpfs mounts; skipped
  where mounting is not allowed).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import CLI_ENV, read_problems
from hostile import (
    CONTROL,
    FORCE_CASES,
    GB,
    LIMIT_CASES,
    SECRETS_CASES,
    TAMPER_CASES,
    TEAM_FORMULAS,
    Bomb,
    ForceCase,
    HostileBuilder,
    InputCase,
    LimitCase,
    SecretsCase,
    SignalCase,
    Tamper,
    TamperCase,
    XSheet,
    all_ids,
    big_campaign,
    input_cases,
    xlsx_members,
    zip_bytes,
)
from typer.testing import CliRunner

from hhp_letters.cli import app

REPO = Path(__file__).resolve().parent.parent
FONTS = REPO / "templates" / "fonts"
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


# --- running the command ------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    rss: int | None = None  # peak resident memory of the child, bytes (forked runs)
    timed_out: bool = False

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def brief(self, limit: int = 1500) -> str:
        text = self.output.strip()
        return f"exit {self.exit_code}" + (" (TIMED OUT)" if self.timed_out else "") + \
            f"\n{text[-limit:]}"


def inproc(*args: str) -> Outcome:
    result = CliRunner(env=CLI_ENV).invoke(app, list(args))
    extra = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        extra = "Traceback (escaped the CLI):\n" + "".join(
            traceback.format_exception(result.exception))
    return Outcome(result.exit_code, result.stdout, result.stderr + extra)


def _rss_now() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def forked(*args: str, timeout: float = 60.0, env: Mapping[str, str] | None = None,
           cwd: Path | None = None) -> Outcome:
    """The command in a forked child (the package is already imported): a timeout, and the
    child's peak memory above what it inherited."""
    folder = Path(tempfile.mkdtemp(prefix="hostile-fork-"))
    out_file, err_file = folder / "stdout", folder / "stderr"
    inherited = _rss_now()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 97
        try:
            os.setpgid(0, 0)
            for fd, path in ((1, out_file), (2, err_file)):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            # as a user's shell runs it: default warning filters, not pytest's "error"
            warnings.resetwarnings()
            warnings.simplefilter("default")
            for key, value in {**CLI_ENV, **(env or {})}.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            tempfile.tempdir = None
            if cwd is not None:
                os.chdir(cwd)
            try:
                app(args=list(args), prog_name="hhp-letters", standalone_mode=True)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
                code = 98
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            done, status, usage = os.wait4(pid, 0)
            timed_out = True
            break
        time.sleep(0.01)
    code = os.waitstatus_to_exitcode(status)
    outcome = Outcome(code, out_file.read_text(encoding="utf-8", errors="replace"),
                      err_file.read_text(encoding="utf-8", errors="replace"),
                      max(0, usage.ru_maxrss * 1024 - inherited), timed_out)
    shutil.rmtree(folder, ignore_errors=True)
    return outcome


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "PYTHONWARNINGS": "default"}, **extra)
    return env


def spawn(*args: str, env: Mapping[str, str] | None = None, fsize: int | None = None,
          cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """``python -m hhp_letters ARGS`` as a user would run it (own session, so a signal reaches
    only it)."""
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.Popen([sys.executable, "-m", "hhp_letters", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(env or {}), cwd=cwd, start_new_session=True,
                            preexec_fn=limit if fsize is not None else None)


def finish(proc: subprocess.Popen[bytes], timeout: float = 120.0) -> Outcome:
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    return Outcome(proc.returncode, out.decode("utf-8", "replace"),
                   err.decode("utf-8", "replace"), None, timed_out)


def execute(*args: str, env: Mapping[str, str] | None = None, fsize: int | None = None,
            timeout: float = 120.0) -> Outcome:
    return finish(spawn(*args, env=env, fsize=fsize), timeout)


# --- the global rules ---------------------------------------------------------------------------

def assert_sane(outcome: Outcome, what: str = "") -> None:
    """Never a hang, a traceback or an internal error; exit codes are the documented ones."""
    head = f"{what}: " if what else ""
    assert not outcome.timed_out, f"{head}did not finish in time\n{outcome.brief()}"
    assert "Traceback" not in outcome.output, f"{head}a traceback\n{outcome.brief()}"
    assert "Internal error" not in outcome.output, f"{head}an internal error\n{outcome.brief()}"
    assert outcome.exit_code in (0, 1, 2, 130), f"{head}exit {outcome.exit_code}\n" \
                                               f"{outcome.brief()}"


def squash(text: str) -> str:
    """Output without white space or table borders, lower case: words survive Rich's folding."""
    return re.sub(r"[\s│┃║|─━]+", "", text).lower()


def mentions(outcome: Outcome, *words: str) -> bool:
    flat = squash(outcome.output)
    return all(squash(w) in flat for w in words)


def details(outcome: Outcome) -> str:
    """verify's output without the names of its checks (which always mention audit.head,
    SHA256SUMS …): the details column of its table, and everything outside the table."""
    kept = [outcome.stderr]
    for line in outcome.stdout.splitlines():
        if line.lstrip().startswith("┃"):
            continue
        cells = line.split("│")
        kept.append(cells[3] if len(cells) >= 5 else line)
    return "\n".join(kept)


@cache
def font_coverage() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    codes: set[int] = set()
    for path in sorted(FONTS.glob("*.ttf")):
        with TTFont(path, lazy=True) as font:
            codes.update(font.getBestCmap())
    return frozenset(codes)


def letter_text(pdf: Path) -> tuple[int, str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        texts = []
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            texts.append(tp.get_text_range())
            tp.close()
            page.close()
        return len(doc), "\n".join(texts)
    finally:
        doc.close()


def _key(text: Any) -> str:
    return " ".join(ZERO_WIDTH.sub("", str(text)).split())


def _row(builder: HostileBuilder, pid: str) -> list[Any]:
    return next(r for r in builder.rows if _key(r[0]) == pid)


def _feedback(builder: HostileBuilder, pid: str) -> tuple[str, str]:
    for rows in builder.feedback.values():
        for r in rows:
            if _key(r[0]) == pid:
                return str(r[1]), str(r[2])
    raise KeyError(pid)


def expected_texts(case: InputCase, builder: HostileBuilder, pid: str) -> tuple[str, ...]:
    """What a letter must print: the case's own list, else the spreadsheet's first name in the
    greeting and name line, and both feedback lines, as written."""
    if pid in case.prints:
        return case.prints[pid]
    row = _row(builder, pid)
    first, last = _key(row[1]), _key(row[2])
    lines = tuple(_key(line) for line in _feedback(builder, pid))
    if case.custom_body:
        return lines
    return (f"Dear {first},", f"{first} {last}", *lines)


def assert_letter(pdf: Path, texts: Sequence[str], never: Sequence[str]) -> None:
    pages, text = letter_text(pdf)
    assert pages == 1, f"{pdf.name}: {pages} pages"
    flat = " ".join(text.split())
    for wanted in texts:
        assert " ".join(wanted.split()) in flat, f"{pdf.name} does not print {wanted!r}:\n{flat}"
    for bad in never:
        assert bad not in text and bad not in flat, f"{pdf.name} prints {bad!r}"
    coverage = font_coverage()
    boxes = sorted({c for c in text if c not in "\r\n\t " and (
        ord(c) not in coverage or unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs")
        or c == "\ufffd")})
    assert not boxes, f"{pdf.name} prints characters no embedded font can draw (blank boxes) " \
                      f"or invisible controls: {[f'U+{ord(c):04X}' for c in boxes]}"


def personal_texts(builder: HostileBuilder) -> set[str]:
    texts: set[str] = set()
    for row in builder.rows:
        texts.update(_key(v) for v in row[1:3] + row[5:7] if len(_key(v)) >= 5)
    for rows in builder.feedback.values():
        for r in rows:
            texts.update(_key(v) for v in r[1:] if len(_key(v)) >= 5)
    return texts


def leftovers(folder: Path) -> list[str]:
    """What an interrupted or refused run must never leave: staging folders, temporary
    stores, half-written files, lock files."""
    if not folder.exists():
        return []
    found = []
    for path in folder.rglob("*"):
        name = path.name
        if re.match(r"^\..+\.(partial|old)-\d+$", name) or name.startswith(
                ("hhp-store-", "hhp-rerender-", "hhp-word-", "hhp-verify-")) or \
                name.endswith(".part") or re.match(r"^\..+\.lock$", name):
            found.append(str(path.relative_to(folder)))
    return sorted(found)


def tree(root: Path, skip: Sequence[str] = (".hhp",)) -> dict[str, str]:
    """Every path under ``root`` → its content hash (folders and links marked)."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(part in skip for part in Path(rel).parts):
            continue
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            out[rel] = "dir"
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# --- the input corpus ---------------------------------------------------------------------------

INPUT_CASES = input_cases()


def _manifest_cells(run: Path) -> list[str]:
    cells: list[str] = []
    for manifest in sorted((run / "bundles").glob("*.csv")):
        with manifest.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                cells.extend(row)
    return cells


def _check_outputs(case: InputCase, run: Path) -> None:
    """What leaves the building: manifests and summaries."""
    if case.id.startswith("manifest-neutralises-team-"):
        value = TEAM_FORMULAS[case.id.rsplit("-", 1)[1]]
        cells = _manifest_cells(run)
        assert cells, "no manifest rows"
        live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
        assert not live, f"manifest cells a spreadsheet would run as formulas: {live}"
        shown = [c for c in cells if value.lower() in c.lower()]
        assert shown, f"the manifest (sort = team) does not show the team: {cells}"
        for c in shown:
            assert c.startswith("'"), f"team {value!r} not neutralised: {c!r}"
    if case.id == "summary-html-escapes-campaign-name":
        html = (run / "summary.html").read_text(encoding="utf-8")
        assert "<script>alert" not in html, "summary.html runs the campaign name as a script"


def run_input_case(case: InputCase, base: Path) -> None:
    builder = HostileBuilder(base / "campaign", fmt=case.fmt)
    for mutate in case.mutators:
        mutate(builder)
    builder.build()
    root = builder.root
    report = root / "problems.csv"
    if case.stale_problems_csv:
        report.write_text("level,code,file,sheet,row,column,participant_id,message,hint\n"
                          "error,stale,x,,,,,from an earlier check,\n", encoding="utf-8")

    def cli(*args: str) -> Outcome:
        return forked(*args, timeout=case.timeout) if case.isolated else inproc(*args)

    checked = cli("check", str(root))
    assert_sane(checked, "check")
    allowed = case.check_exit if isinstance(case.check_exit, tuple) else (case.check_exit,)
    assert checked.exit_code in allowed, f"check: expected exit {allowed}\n{checked.brief()}"
    if checked.rss is not None:
        assert checked.rss < case.max_rss, f"check used {checked.rss / 2**20:.0f} MB"
    problems = read_problems(report)
    for expect in case.problems:
        assert any(expect.matches(p) for p in problems), \
            f"no problem {expect} in problems.csv:\n" + "\n".join(
                f"  {p['level']} {p['code']} {p['file']} {p['sheet']} row {p['row']} "
                f"col {p['column']} id {p['participant_id']}" for p in problems) \
            + f"\n{checked.brief(600)}"
    if checked.exit_code == 0:
        assert not [p for p in problems if p["level"] == "error"], problems
    if case.clean:
        assert not report.exists(), "problems.csv written (or left) although there are none"
    if case.forbid_in_problems and report.exists():
        raw = report.read_text(encoding="utf-8-sig")
        for secret in case.forbid_in_problems:
            assert secret not in raw, f"problems.csv holds {secret!r}"
    if case.run is None:
        return
    out = base / "run"
    args = ["letters", str(root), "--out", str(out)]
    if case.run == "skip":
        args.append("--skip-invalid")
    ran = cli(*args)
    assert_sane(ran, " ".join(args[:1] + args[4:]))
    assert ran.exit_code == case.expected_run_exit, \
        f"letters: expected exit {case.expected_run_exit}\n{ran.brief()}"
    if ran.rss is not None:
        assert ran.rss < case.max_rss, f"letters used {ran.rss / 2**20:.0f} MB"
    assert not leftovers(base), f"left behind: {leftovers(base)}"
    if ran.exit_code != 0:
        assert not out.exists(), "a refused run left a run folder"
        return
    made = {p.stem: p for p in (out / "letters").glob("*/*.pdf")}
    assert set(made) == case.expected_letters, \
        f"letters for {sorted(made)}, expected exactly {sorted(case.expected_letters)}"
    assert not set(made) & CONTROL, "a control participant has a letter"
    for pid, pdf in sorted(made.items()):
        assert_letter(pdf, expected_texts(case, builder, pid), case.never_printed)
    audit = (out / "audit.jsonl").read_text(encoding="utf-8")
    for text in personal_texts(builder):
        assert text not in audit, f"audit.jsonl holds personal text {text!r}"
    if case.clean:
        assert not report.exists(), "problems.csv left after a clean run"
    _check_outputs(case, out)
    verified = inproc("verify", str(out), "--participants", str(builder.list_path))
    assert_sane(verified, "verify")
    assert verified.exit_code == 0, f"verify of a good run failed\n{verified.brief()}"


@pytest.mark.parametrize("case", INPUT_CASES, ids=all_ids(INPUT_CASES))
def test_input(case: InputCase, tmp_path: Path) -> None:
    run_input_case(case, tmp_path)


def test_corpus_size() -> None:
    total = (len(INPUT_CASES) + len(FORCE_CASES) + len(LIMIT_CASES) + len(SECRETS_CASES)
             + len(TAMPER_CASES) + len(SIGNAL_CASES))
    assert total >= 130, total


# --- --force ------------------------------------------------------------------------------------

def small_campaign(base: Path) -> HostileBuilder:
    builder = HostileBuilder(base / "home" / "work" / "campaign")
    builder.build()
    return builder


@pytest.mark.parametrize("case", FORCE_CASES, ids=all_ids(FORCE_CASES))
def test_force_never_deletes_what_is_not_a_run(case: ForceCase, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    builder = small_campaign(tmp_path)
    target = case.target(builder.root, tmp_path)
    before = tree(tmp_path)
    args = ["letters", str(builder.root), "--out", "" if case.cwd_target else str(target)]
    if case.force:
        args.append("--force")
    if case.cwd_target:
        monkeypatch.chdir(target)
    outcome = inproc(*args)
    assert_sane(outcome)
    assert outcome.exit_code == case.exit_code, outcome.brief()
    if case.exit_code != 0:
        assert tree(tmp_path) == before, "a refused --force changed files"
        assert outcome.stderr.strip(), "refused without a message"
    assert not leftovers(tmp_path), leftovers(tmp_path)


def _earlier_run(base: Path) -> tuple[HostileBuilder, Path]:
    builder = small_campaign(base)
    run = base / "runs" / "wave-1"
    # a proof run: --force may replace it (a live run, recorded in the ledger, never is)
    made = inproc("letters", str(builder.root), "--out", str(run), "--proof")
    assert made.exit_code == 0, made.brief()
    return builder, run


def test_force_replaces_an_earlier_run(tmp_path: Path) -> None:
    builder, run = _earlier_run(tmp_path)
    old_head = (run / "audit.head").read_text(encoding="utf-8")
    again = inproc("letters", str(builder.root), "--out", str(run), "--proof", "--force")
    assert_sane(again)
    assert again.exit_code == 0, again.brief()
    assert (run / "audit.head").read_text(encoding="utf-8") != old_head
    assert inproc("verify", str(run)).exit_code == 0
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("variant", ["without-force", "symlink-to-it", "user-file-added"])
def test_force_and_an_earlier_run(variant: str, tmp_path: Path) -> None:
    """An earlier run is kept without --force; a link to it is not replaced through the link;
    a run folder a user has added their own file to is not deleted with that file."""
    builder, run = _earlier_run(tmp_path)
    target, force = run, ["--force"]
    if variant == "without-force":
        force = []
    elif variant == "symlink-to-it":
        target = tmp_path / "latest"
        target.symlink_to(run, target_is_directory=True)
    else:
        (run / "my-notes.txt").write_text("the printer called about bundle 2", encoding="utf-8")
    before = tree(tmp_path)
    outcome = inproc("letters", str(builder.root), "--out", str(target), "--proof", *force)
    assert_sane(outcome)
    assert outcome.exit_code == 2, outcome.brief()
    assert tree(tmp_path) == before


@dataclass(frozen=True)
class BadOut:
    id: str
    out: str  # relative to tmp_path; {long} is a 300-character name


BAD_OUTS = [BadOut("parent-is-a-regular-file", "a-file/run"),
            BadOut("name-too-long", "{long}"),
            BadOut("inside-a-regular-file-deeper", "a-file/x/y/run")]


@pytest.mark.parametrize("case", BAD_OUTS, ids=all_ids(BAD_OUTS))
def test_unusable_out_path(case: BadOut, tmp_path: Path) -> None:
    builder = small_campaign(tmp_path)
    (tmp_path / "a-file").write_text("data", encoding="utf-8")
    out = tmp_path / case.out.format(long="r" * 300)
    outcome = inproc("letters", str(builder.root), "--out", str(out))
    assert_sane(outcome)
    assert outcome.exit_code in (1, 2), outcome.brief()
    assert outcome.stderr.strip(), "no message"
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "data"
    assert not leftovers(tmp_path)


# --- concurrent runs ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> HostileBuilder:
    """~1,500 letters, built once (runs only read it; the first run makes its keys)."""
    return big_campaign(tmp_path_factory.mktemp("big") / "campaign")


@pytest.fixture(scope="module")
def big_run(big: HostileBuilder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("big-run") / "run"
    made = execute("letters", str(big.root), "--out", str(run), "--proof")
    assert made.exit_code == 0, made.brief()
    return run


# the campaign's lock or the run folder's, whichever the loser meets first
ANOTHER = "another hhp-letters"


@pytest.mark.parametrize("variant", ["fresh-out", "both-force-over-earlier-run"])
def test_two_runs_into_one_out(variant: str, big: HostileBuilder, big_run: Path,
                               tmp_path: Path) -> None:
    out = tmp_path / "run"
    extra: list[str] = []
    if variant != "fresh-out":
        shutil.copytree(big_run, out, symlinks=True)
        extra = ["--force"]
    # proofs: live runs of one campaign are serialised by its ledger, and a top-up makes
    # nothing twice; proof runs exercise the run folder's own lock
    procs = [spawn("letters", str(big.root), "--out", str(out), "--proof", *extra)
             for _ in range(2)]
    outcomes = [finish(p, 300) for p in procs]
    for o in outcomes:
        assert_sane(o)
    codes = sorted(o.exit_code for o in outcomes)
    assert codes == [0, 2], "\n---\n".join(o.brief(800) for o in outcomes)
    loser = next(o for o in outcomes if o.exit_code == 2)
    assert mentions(loser, ANOTHER), loser.brief()
    verified = forked("verify", str(out), timeout=300)
    assert verified.exit_code == 0, verified.brief()
    assert not leftovers(tmp_path)


def test_two_first_runs_share_one_campaign_key(tmp_path: Path) -> None:
    """Two runs at once on a campaign that has no keys yet: each run that succeeds must be
    signed with, and read back by, the key the campaign keeps."""
    fresh = big_campaign(tmp_path / "campaign", 300, 30).root  # no keys yet
    procs = [spawn("letters", str(fresh), "--out", str(tmp_path / f"run-{i}")) for i in (1, 2)]
    outcomes = [finish(p, 300) for p in procs]
    for i, o in enumerate(outcomes, start=1):
        assert_sane(o)
        if o.exit_code == 0:
            verified = forked("verify", str(tmp_path / f"run-{i}"), timeout=300)
            assert verified.exit_code == 0, f"run-{i} does not verify:\n{verified.brief()}"
        else:
            assert o.exit_code == 2 and o.stderr.strip(), o.brief()
    assert any(o.exit_code == 0 for o in outcomes)


# --- signals ------------------------------------------------------------------------------------

SIGNAL_CASES = [
    SignalCase("letters-sigterm", "letters", signal.SIGTERM),
    SignalCase("letters-sighup", "letters", signal.SIGHUP),
    SignalCase("letters-sigint", "letters", signal.SIGINT),
    SignalCase("letters-sigkill-then-next-run-cleans", "letters", signal.SIGKILL),
    SignalCase("check-sigterm", "check", signal.SIGTERM),
    SignalCase("check-sighup", "check", signal.SIGHUP),
    SignalCase("check-sigkill-then-next-run-cleans", "check", signal.SIGKILL),
    SignalCase("verify-sigterm", "verify", signal.SIGTERM),
    SignalCase("force-replace-sigterm-keeps-old-run", "letters-force", signal.SIGTERM),
    SignalCase("force-replace-sigkill-keeps-old-run", "letters-force", signal.SIGKILL),
]


def _wait_for(found: Any, proc: subprocess.Popen[bytes], what: str, timeout: float = 90.0
              ) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        if proc.poll() is not None:
            out = finish(proc)
            pytest.fail(f"the command ended before {what}:\n{out.brief()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{what} never happened")
        time.sleep(0.005)


def _staging_with_letters(parent: Path) -> bool:
    return any(any(s.glob("letters/*/*.pdf")) or any(s.glob("proof/letters/*/*.pdf"))
               for s in parent.glob(".run.partial-*"))


@pytest.mark.parametrize("case", SIGNAL_CASES, ids=all_ids(SIGNAL_CASES))
def test_signal_mid_run(case: SignalCase, big: HostileBuilder, big_run: Path,
                        tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    out = tmp_path / "run"
    old: dict[str, str] = {}
    if case.command == "letters-force":
        shutil.copytree(big_run, out, symlinks=True)
        old = tree(out)
    if case.command in ("letters", "letters-force"):
        extra = ["--force"] if case.command == "letters-force" else []
        proc = spawn("letters", str(big.root), "--out", str(out), "--proof", *extra, env=env)
        _wait_for(lambda: _staging_with_letters(tmp_path), proc, "letters were being written")
    elif case.command == "check":
        proc = spawn("check", str(big.root), env=env)
        _wait_for(lambda: any(tmp.glob("hhp-store-*")), proc, "the store was made")
        time.sleep(0.3)
    else:
        proc = spawn("verify", str(big_run), env=env)
        _wait_for(lambda: any(tmp.glob("hhp-*")), proc, "verify started its index")
        time.sleep(0.3)
    os.kill(proc.pid, case.signum)
    outcome = finish(proc, 120)
    assert not outcome.timed_out, outcome.brief()
    if case.signum != signal.SIGKILL:
        assert_sane(outcome)
        assert outcome.exit_code == 130, outcome.brief()
        assert not leftovers(tmp_path), f"left behind: {leftovers(tmp_path)}"
        if case.command == "letters":
            assert not out.exists(), "an interrupted run left a run folder"
        if case.command == "letters-force":
            assert tree(out) == old, "the earlier run was changed by an interrupted --force"
        return
    assert outcome.exit_code == -signal.SIGKILL
    left = leftovers(tmp_path)
    assert left, "kill -9 left nothing to clean (the case did not test anything)"
    # the next run removes what the killed one left, and says so
    again = execute("letters", str(big.root), "--out", str(tmp_path / "next"), "--proof",
                    env=env, timeout=300)
    assert_sane(again, "the next run")
    assert again.exit_code == 0, again.brief()
    assert "Removed" in again.output, f"the next run did not say what it removed:\n" \
                                      f"{again.brief()}"
    assert not leftovers(tmp_path), f"still left: {leftovers(tmp_path)}"
    if case.command == "letters-force":
        assert tree(out) == old, "kill -9 of a --force run damaged the earlier run"


# --- disks that refuse: file-size limits, full disks, read-only disks --------------------------

@contextlib.contextmanager
def tmpfs(path: Path, size: int, *, read_only: bool = False) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={max(size, 4096)}",
                              "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount_read_only(path: Path) -> None:
    done = subprocess.run(["mount", "-o", "remount,ro", str(path)], capture_output=True)
    assert done.returncode == 0, done.stderr


def fill(disk: Path) -> None:
    """Use every free byte of ``disk``."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)


FIX_WORDS = {"fsize": ("limit",), "full": ("space",), "readonly": ("read-only",)}


def _assert_refused_cleanly(outcome: Outcome, case: LimitCase, base: Path,
                            *paths: Path) -> None:
    assert_sane(outcome)
    assert outcome.exit_code in (1, 2), outcome.brief()
    assert any(mentions(outcome, w) for w in FIX_WORDS[case.fault]), \
        f"the message gives no fix ({FIX_WORDS[case.fault]}):\n{outcome.brief()}"
    assert any(str(p) in outcome.output.replace("\n", "") or mentions(outcome, str(p))
               for p in paths), f"the message names none of {paths}:\n{outcome.brief()}"
    assert not leftovers(base), f"left behind: {leftovers(base)}"
    for report in base.rglob("problems.csv"):  # complete or absent, never half
        with report.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows and rows[0][:2] == ["level", "code"], "a half-written problems.csv"


@pytest.mark.parametrize("case", LIMIT_CASES, ids=all_ids(LIMIT_CASES))
def test_disk_refuses(case: LimitCase, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    disk = tmp_path / "disk"
    with contextlib.ExitStack() as stack:
        if case.fault == "fsize":
            builder = HostileBuilder(tmp_path / "campaign")
            if case.problems:
                builder.rows[1][3] = "placebo"
            builder.build()
            out = tmp_path / "run"
            if case.command == "verify":
                made = inproc("letters", str(builder.root), "--out", str(out))
                assert made.exit_code == 0, made.brief()
                outcome = execute("verify", str(out), env=env, fsize=case.limit)
                _assert_refused_cleanly(outcome, case, tmp_path, tmp)
                return
            args = ["letters", str(builder.root), "--out", str(out)] if \
                case.command == "letters" else ["check", str(builder.root)]
            outcome = execute(*args, env=env, fsize=case.limit)
            _assert_refused_cleanly(outcome, case, tmp_path, tmp_path)
            assert not out.exists()
            return
        size = case.limit or 64 * 1024 * 1024
        stack.enter_context(tmpfs(disk, size))
        on_disk = case.where == "campaign"
        builder = HostileBuilder((disk if on_disk else tmp_path) / "campaign")
        if case.problems:
            builder.rows[1][3] = "placebo"
        builder.build()
        out = (disk if case.where == "out" else tmp_path) / "run"
        if case.where == "tmp":
            env = {"TMPDIR": str(disk)}
        if case.fault == "full" and case.where == "campaign":
            fill(disk)
        if case.fault == "readonly":
            remount_read_only(disk)
        args = ["letters", str(builder.root), "--out", str(out)] if \
            case.command == "letters" else ["check", str(builder.root)]
        outcome = execute(*args, env=env)
        _assert_refused_cleanly(outcome, case, tmp_path, disk)
        if case.command == "letters":
            assert not out.exists(), "a refused run left a run folder"


def test_read_only_out_outside_a_mount(tmp_path: Path) -> None:
    """Where mounting is not possible: /sys is read-only to everyone, root included."""
    builder = small_campaign(tmp_path)
    outcome = inproc("letters", str(builder.root), "--out", "/sys/hhp-hostile-run")
    assert_sane(outcome)
    assert outcome.exit_code in (1, 2), outcome.brief()
    assert mentions(outcome, "/sys"), outcome.brief()


# --- campaign secrets ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", SECRETS_CASES, ids=all_ids(SECRETS_CASES))
def test_damaged_secrets(case: SecretsCase, tmp_path: Path) -> None:
    builder = small_campaign(tmp_path)
    case.damage(builder.root / ".hhp")
    out = tmp_path / "run"
    outcome = forked("letters", str(builder.root), "--out", str(out), timeout=30)
    assert_sane(outcome)
    if case.may_replace and outcome.exit_code == 0:
        verified = inproc("verify", str(out))
        assert verified.exit_code == 0, verified.brief()
        return
    assert outcome.exit_code in (1, 2), outcome.brief()
    assert mentions(outcome, ".hhp"), f"the message does not name .hhp:\n{outcome.brief()}"
    assert not out.exists(), "a run folder was written with keys the campaign does not keep"
    assert not leftovers(tmp_path), leftovers(tmp_path)


# --- tampering with a finished run --------------------------------------------------------------

@dataclass(frozen=True)
class Pristine:
    campaign: Path
    run: Path
    other: Path


def _make_run(root: Path) -> tuple[HostileBuilder, Path]:
    builder = HostileBuilder(root / "campaign")
    builder.build()
    run = root / "run"
    made = inproc("letters", str(builder.root), "--out", str(run))
    assert made.exit_code == 0, made.brief()
    return builder, run


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    builder, run = _make_run(tmp_path_factory.mktemp("tamper"))
    other, _ = _make_run(tmp_path_factory.mktemp("other"))
    return Pristine(builder.root, run, other.root)


def test_untampered_copy_verifies(pristine: Pristine, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(pristine.run, run, symlinks=True)
    outcome = forked("verify", str(run), "--participants",
                     str(pristine.campaign / "data" / "list.xlsx"), "--expect-head",
                     (run / "audit.head").read_text(encoding="utf-8").strip())
    assert outcome.exit_code == 0, outcome.brief()


@pytest.mark.parametrize("case", TAMPER_CASES, ids=all_ids(TAMPER_CASES))
def test_tampered_run(case: TamperCase, pristine: Pristine, tmp_path: Path) -> None:
    if case.own_campaign:
        builder, source = _make_run(tmp_path / "own")
        campaign = builder.root
    else:
        campaign, source = pristine.campaign, pristine.run
    run = tmp_path / "run"
    shutil.copytree(source, run, symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    head = (run / "audit.head").read_text(encoding="utf-8").strip()
    t = Tamper(run, campaign, pristine.other, head, outside)
    case.tamper(t)
    args = [a.format(head=head, other=pristine.other, outside=outside, campaign=campaign)
            for a in case.args]
    outcome = forked("verify", str(run), *args, timeout=case.timeout)
    assert_sane(outcome)
    assert outcome.exit_code in case.exit_codes, outcome.brief()
    assert "VERIFIED: every check passed" not in outcome.output
    named = squash(details(outcome))
    missing = [w for w in case.words if squash(w) not in named]
    assert not missing, f"verify does not name {missing}:\n{outcome.brief(2500)}"


# --- helpers the corpus relies on are right -----------------------------------------------------

def test_excel_escapes_round_trip_through_an_independent_reader(tmp_path: Path) -> None:
    """The corpus writes control characters as Excel does (_xHHHH_, ECMA-376 ST_Xstring);
    calamine (the Rust reader) decodes them back, as Excel and LibreOffice do: so expecting
    'control_character' for such a cell is fair. (openpyxl does not decode them.)"""
    from python_calamine import CalamineWorkbook

    path = tmp_path / "x.xlsx"
    values = ["Em\x07ma", "_x0041_lice", "a\r\nb", "Bro\x0cwn"]
    path.write_bytes(zip_bytes(xlsx_members([XSheet("S", [values])])))
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert sheet.to_python()[0] == values


def test_bomb_members_inflate_as_declared(tmp_path: Path) -> None:
    import zipfile

    data = zip_bytes([Bomb("big.xml", b"<a>", b" " * 1024, 3000, b"</a>")])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("big.xml")
        assert info.file_size == 3 + 1024 * 3000 + 4
        assert len(zf.read("big.xml")) == info.file_size  # the CRC checks too
    assert len(data) * 50 < info.file_size  # a bomb: it inflates ≥ 50 times
    assert GB > 0
