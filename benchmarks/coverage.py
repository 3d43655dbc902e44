"""Line and branch coverage of each module of hhp_letters under the test suite.

Runs pytest under ``coverage run --branch`` (subprocesses too: the CLI tests start
``python -m hhp_letters``), then prints, per module, statements and the share run, branches and
the share taken both ways. The data go to a temporary folder, never into the repository.

    .venv/bin/python benchmarks/coverage.py                         # the whole suite (minutes)
    .venv/bin/python benchmarks/coverage.py tests/test_strength_layout.py tests/test_letters.py
    .venv/bin/python benchmarks/coverage.py --json coverage.json    # also keep coverage's JSON

A failing test does not stop the measurement; pytest's verdict is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
PACKAGE = ROOT / "hhp_letters"

RCFILE = """\
[run]
branch = True
parallel = True
source = {source}
data_file = {data}
disable_warnings = module-not-measured, no-data-collected
"""


@dataclass(frozen=True)
class Figures:
    module: str
    statements: int
    missed: int
    branches: int
    covered_branches: int
    partial: int

    @property
    def line_pct(self) -> float:
        return 100.0 * (self.statements - self.missed) / self.statements if self.statements \
            else 100.0

    @property
    def branch_pct(self) -> float:
        return 100.0 * self.covered_branches / self.branches if self.branches else 100.0


def module_name(path: str) -> str:
    rel = Path(path).resolve().relative_to(PACKAGE)
    return rel.with_suffix("").as_posix()


def figures(report: dict[str, Any]) -> list[Figures]:
    out = []
    for path, data in report["files"].items():
        s = data["summary"]
        out.append(Figures(module_name(path), s["num_statements"], s["missing_lines"],
                           s.get("num_branches", 0), s.get("covered_branches", 0),
                           s.get("num_partial_branches", 0)))
    return sorted(out, key=lambda f: f.module)


def total(rows: Sequence[Figures]) -> Figures:
    return Figures("TOTAL", sum(r.statements for r in rows), sum(r.missed for r in rows),
                   sum(r.branches for r in rows), sum(r.covered_branches for r in rows),
                   sum(r.partial for r in rows))


def print_table(rows: Sequence[Figures]) -> None:
    width = max(len(r.module) for r in [*rows, total(rows)])
    print(f"{'module':<{width}}  {'stmts':>6} {'miss':>5} {'lines':>7}  {'branches':>8} "
          f"{'partial':>7} {'branch':>7}")
    for r in [*rows, total(rows)]:
        if r.module == "TOTAL":
            print("-" * (width + 48))
        print(f"{r.module:<{width}}  {r.statements:>6} {r.missed:>5} {r.line_pct:>6.1f}%  "
              f"{r.branches:>8} {r.partial:>7} {r.branch_pct:>6.1f}%")


def measure(tests: Sequence[str], work: Path) -> tuple[int, str, dict[str, Any]]:
    data = work / ".coverage"
    rc = work / "coveragerc"
    rc.write_text(RCFILE.format(source=PACKAGE, data=data), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    env["COVERAGE_PROCESS_START"] = str(rc)  # measured in subprocesses too (see the .pth hook)
    run = subprocess.run([str(PYTHON), "-m", "coverage", "run", f"--rcfile={rc}", "-m", "pytest",
                          "-q", "-p", "no:cacheprovider", *tests], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    lines = run.stdout.strip().splitlines()
    verdict = lines[-1] if lines else run.stderr.strip()[-500:]
    for step in (["combine", "--quiet"], ["json", "--quiet", "-o", str(work / "cov.json")]):
        done = subprocess.run([str(PYTHON), "-m", "coverage", *step, f"--rcfile={rc}"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"coverage {step[0]} failed: {done.stderr or done.stdout}")
    return run.returncode, verdict, json.loads((work / "cov.json").read_text(encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tests", nargs="*", default=["tests"],
                        help="test files or folders (default: the whole suite)")
    parser.add_argument("--json", type=Path, help="also write coverage's JSON report here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hhp-coverage-") as tmp:
        code, verdict, report = measure(args.tests, Path(tmp))
    print_table(figures(report))
    print(f"\npytest (exit {code}): {verdict}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
