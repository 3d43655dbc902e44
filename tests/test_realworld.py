"""The real-world corpus (tests/realworld.py) through the product: `check` says what a careful
coordinator expects, the letters go to exactly the right people greeting them by the right
name, and every run verifies."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import read_problems, run_cli
from realworld import CASES, Case, unmet

from hhp_letters.pdftext import page_count_and_text
from hhp_letters.problems import as_row
from hhp_letters.report import check_campaign

GREETING = re.compile(r"Dear\s+(.+?),")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("realworld")


@pytest.mark.parametrize("make", CASES, ids=[c.__name__ for c in CASES])
def test_real_world_input(make: Callable[[Path], Case], root: Path) -> None:
    case = make(root / make.__name__)
    checked = run_cli("check", str(case.folder))
    assert "Traceback" not in checked.output and "Internal error" not in checked.output, \
        checked.output
    # what check found, as problems.csv rows (the file itself is written only when something
    # needs fixing, so an info-only case has none)
    problems = [as_row(p) for p in check_campaign(case.folder).problems]
    written = read_problems(case.folder / "problems.csv")
    assert all(row in problems for row in written)
    failures = unmet(case, problems)
    assert not failures, "\n".join(failures) + "\n\n" + checked.output
    assert checked.exit_code == (1 if case.refuse else 0), checked.output
    out = case.folder.parent / f"{case.name}-run"
    args = ["letters", str(case.folder), "--out", str(out)]
    made = run_cli(*args, *(["--skip-invalid"] if case.refuse else []))
    if not case.letters_for and made.exit_code == 1:
        return  # nothing could be made (the list itself was refused)
    assert made.exit_code == 0, made.output
    letters = {p.stem: p for p in (out / "letters").glob("*/*.pdf")}
    assert set(letters) == set(case.letters_for)
    for pid, name in case.greeting.items():
        pages, text = page_count_and_text(letters[pid])
        found = GREETING.search(text)
        assert pages == 1 and found, text[:300]
        assert unicodedata.normalize("NFC", found.group(1)) == name
    verified = run_cli("verify", str(out))
    assert verified.exit_code == 0, verified.output
