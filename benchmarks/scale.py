"""Scale benchmark: every stage of a run at N = 10,000 and 100,000 letters — time, CPU and peak
memory of a fresh `hhp-letters` process, each as a ratio to `letters` in the same run.

Stages: `letters` (repeated, each on a fresh copy of the campaign so the ledger never turns a
repeat into an empty top-up), `check` of the CSV campaign and of the same campaign as .xlsx
workbooks, `verify`, `verify --participants` and `verify --participants --rerender` of the last
`letters` run. Prints a markdown table per N, then all numbers as JSON.

    python benchmarks/scale.py                       # N = 10,000 and 100,000, 3 letters runs
    python benchmarks/scale.py --n 2000 --repeat 3 --json scale.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from letters import ROOT, make_campaign

# verify's targets from issues #16 and #11: peak RSS and time relative to `letters`
RSS_TARGET = 1.5


@dataclass(frozen=True, slots=True)
class Measure:
    stage: str
    wall: float  # seconds
    cpu: float  # user + system seconds of the process and anything it waited for
    rss_mb: float  # peak resident set of the process (or its largest child)
    load: float  # 1-minute load average just before the process started
    ok: bool


def run_cli(stage: str, *args: str, expect: tuple[str, ...] = ()) -> Measure:
    """One fresh `hhp-letters` process; its own rusage comes from wait4, so nothing else this
    script started counts."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "hhp_letters", *args], stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "COLUMNS": "200"})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    ok = proc.returncode == 0 and (not expect or any(e in text for e in expect))
    if not ok:
        print(f"{stage} FAILED (exit {proc.returncode}):\n{text[-3000:]}", file=sys.stderr)
    return Measure(stage, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, load,
                   ok)


def as_workbooks(csv_campaign: Path, folder: Path, per_file: int) -> None:
    """The same campaign with the list as one .xlsx and the feedback as manager returns of
    ``per_file`` rows each (what `check` reads in a real campaign)."""
    from openpyxl import Workbook

    shutil.copytree(csv_campaign, folder, ignore=shutil.ignore_patterns("*.csv"))

    def write(path: Path, sheet: str, rows: list[list[str]]) -> None:
        book = Workbook(write_only=True)
        ws = book.create_sheet(sheet)
        for row in rows:
            ws.append(row)
        book.save(path)

    with (csv_campaign / "list.csv").open(encoding="utf-8", newline="") as fh:
        write(folder / "list.xlsx", "Allocation", list(csv.reader(fh)))
    (folder / "feedback").mkdir()
    with (csv_campaign / "feedback.csv").open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    for start in range(0, len(rows), per_file):
        write(folder / "feedback" / f"return-{start // per_file:05d}.xlsx", "Feedback",
              [header, *rows[start:start + per_file]])
    toml = (folder / "campaign.toml").read_text(encoding="utf-8")
    toml = toml.replace('participants = "list.csv"',
                        'participants = "list.xlsx"\nsheet = "Allocation"')
    toml = toml.replace('feedback = ["feedback.csv"]', 'feedback = ["feedback/*.xlsx"]')
    (folder / "campaign.toml").write_text(toml, encoding="utf-8")


def fresh_copy(pristine: Path, folder: Path) -> Path:
    shutil.copytree(pristine, folder)
    return folder


@dataclass(frozen=True, slots=True)
class Scale:
    n: int
    letters: tuple[Measure, ...]
    stages: tuple[Measure, ...]


STAGES = ("check-csv", "check-xlsx", "verify", "verify-participants", "verify-rerender")


def measure(n: int, work: Path, repeat: int, per_file: int,
            stages: tuple[str, ...] = STAGES) -> Scale:
    pristine = work / f"pristine-{n}"
    pristine.mkdir()
    t0 = time.perf_counter()
    make_campaign(pristine, n)
    xlsx = work / f"xlsx-{n}"
    if "check-xlsx" in stages:
        as_workbooks(pristine, xlsx, per_file)
    print(f"N = {n:,}: campaign made in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    letters: list[Measure] = []
    last: Path | None = None
    for i in range(repeat):
        camp = fresh_copy(pristine, work / f"campaign-{n}-{i}")
        letters.append(run_cli("letters", "letters", str(camp), "-o", str(camp / "run"),
                               expect=(f"Done: {n} letters", f"Done: {n:,} letters")))
        print(f"  letters #{i + 1}: {letters[-1].wall:.1f} s", file=sys.stderr)
        if last is not None:
            shutil.rmtree(last)  # only the last run is verified; 100k letters are ~8 GB
        last = camp
    assert last is not None
    run = last / "run"
    verified = ("VERIFIED: every check passed",)
    plan = {
        "check-csv": lambda: run_cli("check (CSV)", "check",
                                     str(fresh_copy(pristine, work / f"check-{n}"))),
        "check-xlsx": lambda: run_cli("check (xlsx)", "check", str(xlsx)),
        "verify": lambda: run_cli("verify", "verify", str(run), expect=verified),
        "verify-participants": lambda: run_cli(
            "verify --participants", "verify", str(run), "--participants",
            str(last / "list.csv"), expect=verified),
        "verify-rerender": lambda: run_cli(
            "verify --participants --rerender", "verify", str(run), "--participants",
            str(last / "list.csv"), "--rerender", expect=verified),
    }
    others = []
    for stage in stages:
        others.append(plan[stage]())
        m = others[-1]
        print(f"  {m.stage}: {m.wall:.1f} s, {m.rss_mb:.0f} MB", file=sys.stderr)
    shutil.rmtree(last)
    return Scale(n, tuple(letters), tuple(others))


def table(result: Scale) -> str:
    n, runs = result.n, result.letters
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    rss = statistics.median(r.rss_mb for r in runs)
    walls = sorted(r.wall for r in runs)
    lines = [
        f"### N = {n:,} ({os.cpu_count()} cores)", "",
        f"`letters`: {len(runs)} runs, wall min / median / max = {walls[0]:.1f} / {wall:.1f} / "
        f"{walls[-1]:.1f} s ({n / walls[-1]:,.0f} / {n / wall:,.0f} / {n / walls[0]:,.0f} "
        "letters/s); ratios below are to the median run.", "",
        "| stage | wall s | × letters | CPU s | × letters | peak RSS MB | × letters | load | ok |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    named = [(f"letters #{i + 1}", r) for i, r in enumerate(runs)]
    for stage, r in [*named, *((s.stage, s) for s in result.stages)]:
        lines.append(
            f"| {stage} | {r.wall:,.1f} | {r.wall / wall:.2f} | {r.cpu:,.1f} | "
            f"{r.cpu / cpu:.2f} | {r.rss_mb:,.0f} | {r.rss_mb / rss:.2f} | "
            f"{r.load:.2f} | {'yes' if r.ok else 'FAILED'} |")
    by = {s.stage: s for s in result.stages}
    verdicts = [(name, by[stage].rss_mb / rss if memory else by[stage].wall / wall, limit)
                for name, stage, memory, limit in (
                    ("`verify` peak RSS ≤ 1.5 × `letters`'", "verify", True, RSS_TARGET),
                    ("`verify --participants` time ≤ `letters`'", "verify --participants",
                     False, 1.0)) if stage in by]
    lines.append("")
    for name, ratio, limit in verdicts:
        lines.append(f"- {name}: {ratio:.2f} → {'met' if ratio <= limit else 'MISSED'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="letters runs per N (≥ 3)")
    parser.add_argument("--feedback-per-file", type=int, default=500,
                        help="rows per feedback workbook in the xlsx campaign")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                        help="what to measure after the letters runs (default: all)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
    with tempfile.TemporaryDirectory(prefix="hhp-scale-") as tmp:
        work = args.keep or Path(tmp)
        results = []
        for n in args.n:
            results.append(measure(n, work, args.repeat, args.feedback_per_file,
                                   tuple(args.stages)))
            print(table(results[-1]) + "\n", flush=True)
    numbers = json.dumps([asdict(r) for r in results], indent=1)
    print("```json\n" + numbers + "\n```")
    if args.json is not None:
        args.json.write_text(numbers + "\n", encoding="utf-8")
    if not all(m.ok for r in results for m in (*r.letters, *r.stages)):
        sys.exit(1)


if __name__ == "__main__":
    main()
