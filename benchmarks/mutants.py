"""Mutation testing by hand: one-line mutants that a user or a print house would notice, each
run against the few test files that exercise its code.

Each mutant is (file, exact original snippet, replacement, test files). The harness copies the
repository (without ``.venv``, ``.git`` and caches) to a temporary folder, checks that the
copy's ``hhp_letters`` is the one the tests import, runs each chosen test file once unmutated
(tests that already fail are deselected, a file that cannot be collected is dropped), then
applies one mutant at a time to the copy and runs its tests with ``-x``:

* ``killed``   a test failed (or the mutated package could not even be collected);
* ``survived`` every test passed: no test notices the change;
* ``timeout``  the tests ran past the limit (counted as detected: the mutant hangs a run);
* ``stale``    the original snippet is no longer in the file (the code moved on); not scored;
* ``no-tests`` none of its test files can run at baseline; not scored.

Score = (killed + timeout) / (killed + timeout + survived).

    .venv/bin/python benchmarks/mutants.py                 # every mutant (about 30-40 min)
    .venv/bin/python benchmarks/mutants.py --list          # names, files, whether each applies
    .venv/bin/python benchmarks/mutants.py --only merge-town-not-upper --only verify-two-pages
    .venv/bin/python benchmarks/mutants.py --only 'letter-*' --without-strength
    .venv/bin/python benchmarks/mutants.py --json out.json # also write the results as JSON

``--without-strength`` leaves out ``tests/test_strength_*.py`` (the score before those tests).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
IGNORED = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pyc", ".pytest_cache",
                                 ".mypy_cache", ".ruff_cache", ".hypothesis", ".coverage*",
                                 "htmlcov")
STRENGTH = "tests/test_strength_"
# one process: -x stops at the first failure, and mutants are run one at a time anyway
PYTEST_ARGS = ("-x", "-q", "-p", "no:cacheprovider", "-rfE", "--no-header", "-n", "0")
SCORED = ("killed", "timeout", "survived")


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # relative to the repository
    original: str  # exact text, found exactly once in the file
    replacement: str
    tests: tuple[str, ...]  # test files (or node ids), the likeliest killer first
    why: str  # what would go wrong for a user or the print house

    @property
    def module(self) -> str:
        return self.file.removeprefix("hhp_letters/").removesuffix(".py")


@dataclass(frozen=True)
class Outcome:
    name: str
    module: str
    status: str
    seconds: float
    detail: str  # the failing test, or why it was not run


# -- the mutants -------------------------------------------------------------------------------

CHECKS = "hhp_letters/checks.py"
MERGE = "hhp_letters/merge.py"
STORE = "hhp_letters/store.py"
AUDIT = "hhp_letters/audit.py"
VERIFY = "hhp_letters/verify.py"
LAYOUT = "hhp_letters/render/layout.py"
LETTER = "hhp_letters/render/letter.py"
TABLE = "hhp_letters/sources/table.py"
CELLS = "hhp_letters/sources/cells.py"
POSTCODE = "hhp_letters/postcode.py"
BUNDLE = "hhp_letters/bundle.py"
PIPELINE = "hhp_letters/pipeline.py"

T_CHECKS = "tests/test_strength_checks.py"
T_SOURCES = "tests/test_strength_sources.py"
T_RUNS = "tests/test_strength_runs.py"
T_VERIFY = "tests/test_strength_verify.py"
T_LAYOUT = "tests/test_strength_layout.py"
BAD = "tests/test_bad_inputs.py"
HOUSE = "tests/test_house.py"
NOTES = "tests/test_notes.py"
LETTERS = "tests/test_letters.py"
VERIFY_T = "tests/test_verify.py"
SHAPES = "tests/test_realworld_shapes.py"


def m(name: str, file: str, original: str, replacement: str, tests: Sequence[str],
      why: str) -> Mutant:
    return Mutant(name, file, original, replacement, tuple(tests), why)


MUTANTS: tuple[Mutant, ...] = (
    # -- checks.py: what the check stage refuses -------------------------------------------------
    m("checks-list-hold-ignored", CHECKS,
      'if p.is_error or p.code == "held":', "if p.is_error:",
      [T_RUNS, T_CHECKS, BAD, HOUSE], "a row put on hold in the list still gets its letter"),
    m("checks-unknown-arm-not-error", CHECKS,
      "        if arm is None:\n            add(error(\"unknown_arm\"",
      "        if arm is None and not arm_text:\n            add(error(\"unknown_arm\"",
      [T_CHECKS, BAD], "an arm like 'maybe' passes check silently"),
    m("checks-invalid-postcode-accepted", CHECKS,
      "        elif postcode is None:", "        elif False:",
      [T_CHECKS, BAD], "a letter goes out with a postcode Royal Mail cannot deliver to"),
    m("checks-missing-town-accepted", CHECKS,
      'for f in ("address_1", "town", "postcode") if not row.get(f)]',
      'for f in ("address_1", "postcode") if not row.get(f)]',
      [T_CHECKS, BAD], "a letter goes out with no POST TOWN line"),
    m("checks-manager-hold-ignored", CHECKS,
      "held = pid in read.held", "held = False",
      [T_RUNS, T_CHECKS, BAD, HOUSE], "a participant the manager put on hold still gets a letter"),
    m("checks-conflicting-feedback-missed", CHECKS,
      "if len(texts) > 1:", "if len(texts) > 2:",
      [T_CHECKS, BAD], "two different feedback texts: one is printed without asking"),
    m("checks-blank-line-2-missed", CHECKS,
      '("Feedback line 2", chosen.line_2)) if not text]',
      '("Feedback line 2", chosen.line_1)) if not text]',
      [T_CHECKS, BAD], "a letter is printed with an empty second quote"),
    m("checks-ambiguous-name-matched", CHECKS,
      "if len(found) == 1:", "if len(found) >= 1:",
      [T_CHECKS, BAD], "id-less feedback goes to the first of two people with the same name"),
    m("checks-lost-zeros-feedback-unmatched", CHECKS,
      "        if len(like) == 1:\n", "        if len(like) == 2:\n",
      [T_CHECKS, BAD], "feedback whose id lost its zeros in Excel no longer matches"),
    m("checks-lost-zeros-in-list-missed", CHECKS,
      "    if width is None:\n        return\n", "    if True:\n        return\n",
      [T_CHECKS, BAD], "a list id that lost its leading zeros is printed as a different id"),
    m("checks-duplicate-id-not-withheld", CHECKS,
      'repeated rows", pid))\n        store.add_error(STAGE, "duplicate_id", pid=pid)',
      'repeated rows", pid))\n        pass',
      [T_RUNS, T_CHECKS, BAD], "with --skip-invalid, two rows with one id both get letters"),
    m("checks-unsafe-id-accepted", CHECKS,
      "elif (why := id_problem(pid)) is not None:", "elif (why := id_problem(pid)) and False:",
      [T_CHECKS, BAD], "an id like '../x' becomes a file path outside the run"),
    m("checks-control-count-wrong", CHECKS,
      "control=store.count_rows(arm=Arm.CONTROL)", "control=store.count_rows(arm=Arm.TREATMENT)",
      [T_CHECKS, BAD, LETTERS], "check's verdict states the wrong number of controls"),
    m("checks-footer-rows-not-recorded", CHECKS,
      'if item.code == "footer_row" and item.origin.row is not None:', "if False:",
      [T_SOURCES, SHAPES], "verify --participants fails a run whose list has a footer"),
    m("checks-mixed-cluster-not-withheld", CHECKS,
      'store.add_error(STAGE, "mixed_cluster", seq=seq, cause=seq)', "pass",
      [T_RUNS, NOTES, HOUSE], "notes: a site with mixed arms still gets notes with --skip-invalid"),

    # -- merge.py: reasons, address lines, postage order -----------------------------------------
    m("merge-control-reason-after-errors", MERGE,
      "    if p.arm is Arm.CONTROL:\n", "    if p.arm is Arm.CONTROL and not p.errors:\n",
      [T_RUNS, LETTERS, VERIFY_T], "a control row is recorded as withheld for a data error"),
    m("merge-unknown-arm-reason", MERGE,
      '"unknown_arm": "unknown_arm",', '"unknown_arm": "invalid_row",',
      [T_RUNS, LETTERS, HOUSE], "the audit hides that a row's arm was unknown"),
    m("merge-missing-feedback-reason", MERGE,
      '"missing_feedback": "missing_feedback",', '"missing_feedback": "invalid_row",',
      [T_RUNS, LETTERS, HOUSE], "the audit hides that feedback was missing"),
    m("merge-held-reason", MERGE,
      '"held": "held"', '"held": "invalid_row"',
      [T_RUNS, LETTERS, HOUSE], "the audit hides that a letter was held"),
    m("merge-first-code-not-used", MERGE,
      "    for code in codes:\n", "    for code in reversed(tuple(codes)):\n",
      [T_RUNS, LETTERS], "the audit records a row's later problem, not its first"),
    m("merge-town-not-upper", MERGE,
      '_PUNCT.sub(" ", p.town).upper().split()', '_PUNCT.sub(" ", p.town).split()',
      [T_LAYOUT, LETTERS], "the POST TOWN is not in capitals"),
    m("merge-full-stops-kept", MERGE,
      '_PUNCT = re.compile(r"[,.]")', '_PUNCT = re.compile(r"[,]")',
      [T_LAYOUT, LETTERS], "address lines keep full stops (Royal Mail: none)"),
    m("merge-postcode-not-last", MERGE,
      "return (*[line for line in lines if line], town, p.postcode)",
      "return (*[line for line in lines if line], p.postcode, town)",
      [T_LAYOUT, LETTERS], "the postcode is not the last line of the address"),
    m("merge-sorted-as-text", MERGE,
      "store.assign_order(campaign.spec.print.sort, postcode_key)",
      "store.assign_order(campaign.spec.print.sort, str)",
      [T_RUNS, LETTERS], "bundles are in text order of postcodes, not postage order"),
    m("merge-feedback-line-2-lost", MERGE,
      "(feedback.line_1, feedback.line_2), sort_key",
      "(feedback.line_1, feedback.line_1), sort_key",
      [T_LAYOUT, LETTERS, VERIFY_T], "the first quote is printed twice, the second never"),
    m("merge-preferred-name-ignored", MERGE,
      "p.participant_id, p.authority, p.greeting_name, p.last_name",
      "p.participant_id, p.authority, p.first_name, p.last_name",
      [T_LAYOUT, LETTERS], "a letter greets the legal first name, not the name they go by"),
    m("merge-note-stems-collide", MERGE,
      "while (team.key.authority, stem.lower()) in used:", "while False:",
      [T_RUNS, NOTES], "two teams' notes are written to the same file"),

    # -- store.py: the SQL behind the checks and the order ----------------------------------------
    m("store-duplicates-need-three", STORE,
      "GROUP BY pid HAVING count(*) > 1)", "GROUP BY pid HAVING count(*) > 2)",
      [T_CHECKS, BAD], "an id on two rows is not a duplicate"),
    m("store-digit-width-needs-all", STORE,
      'r["n"] * 2 < total', 'r["n"] < total',
      [T_CHECKS, BAD], "one id that lost its zeros hides the check for lost zeros"),
    m("store-held-needs-feedback", STORE,
      "'conflicting_feedback', 'blank_feedback', 'held')) ORDER BY seq",
      "'conflicting_feedback', 'blank_feedback')) ORDER BY seq",
      [T_CHECKS, BAD], "a manager's hold with no feedback becomes a missing-feedback error"),
    m("store-letters-not-in-postage-order", STORE,
      '"ORDER BY p.authority, o.sort_key, p.pid")', '"ORDER BY p.authority, p.pid")',
      [T_RUNS, LETTERS], "bundles are in id order: the postage discount is lost"),
    m("store-preferred-name-not-matched", STORE,
      'else ("name_key", "pref_key")', 'else ("name_key", "name_key")',
      [T_CHECKS, BAD], "id-less feedback naming the person as they are known is not matched"),
    m("store-unknown-feedback-id-silent", STORE,
      "coalesce(p.n, 0) ", "coalesce(p.n, 1) ",
      [T_CHECKS, BAD], "feedback for an id not in the list is dropped without a warning"),
    m("store-unknown-arm-needs-feedback", STORE,
      "\"SELECT seq, row, pid FROM participants p WHERE arm = 'treatment' AND pid != '' \"",
      "\"SELECT seq, row, pid FROM participants p WHERE arm IS NOT 'control' AND pid != '' \"",
      [T_CHECKS, BAD], "a row with an unknown arm is treated as needing a letter"),
    m("store-manager-case-matters", STORE,
      "count(DISTINCT NULLIF(lower(manager), '')) > 1",
      "count(DISTINCT NULLIF(manager, '')) > 1",
      [T_CHECKS, NOTES], "notes: 'Sam' and 'sam' are called two different managers"),
    m("store-mixed-sites-need-three-arms", STORE,
      "HAVING count(DISTINCT arm) > 1 ORDER BY min(seq)",
      "HAVING count(DISTINCT arm) > 2 ORDER BY min(seq)",
      [T_CHECKS, NOTES], "notes: a site with both arms is not caught"),
    m("store-own-row-is-a-cause", STORE,
      "e.cause IS NOT NULL AND e.cause != e.seq ORDER BY p.row",
      "e.cause IS NOT NULL ORDER BY p.row",
      [T_RUNS, HOUSE], "the audit names a row as withheld for another row: itself"),
    m("store-feedback-matched-counts-all", STORE,
      "FROM participants p JOIN feedback f USING (pid)",
      "FROM participants p LEFT JOIN feedback f USING (pid)",
      [T_CHECKS, BAD, LETTERS], "check says every treatment row has feedback when one has none"),

    # -- audit.py: the closing totals and the chain ---------------------------------------------
    m("audit-withheld-equals-produced", AUDIT,
      "withheld=sum(statuses.values()) - produced,", "withheld=produced,",
      [T_RUNS, VERIFY_T], "the close record's withheld total is wrong"),
    m("audit-reasons-counted-once", AUDIT,
      "reasons[a.reason] += 1", "reasons[a.reason] = 1",
      [T_RUNS, VERIFY_T], "the close record counts each reason once"),
    m("audit-chain-not-linked", AUDIT,
      'self._prev = record["hash"]', "self._prev = GENESIS",
      [T_VERIFY, VERIFY_T], "the log is not a chain: a removed record is not detectable"),
    m("audit-rows-read-off-by-one", AUDIT,
      "rows_read=rows)", "rows_read=rows - 1)",
      [T_VERIFY, VERIFY_T], "the run record says one row fewer was read"),
    m("audit-meta-not-in-sums", AUDIT,
      "        for name in META_FILES:\n", "        for name in META_FILES[2:]:\n",
      [T_VERIFY, VERIFY_T], "SHA256SUMS does not cover audit.jsonl and audit.head"),
    m("audit-input-hashes-wrong", AUDIT,
      '"sha256": file_sha256(f.path),', '"sha256": file_sha256(inputs[0].path),',
      [T_VERIFY, VERIFY_T], "every input is recorded with the campaign file's hash"),
    m("audit-cause-rows-dropped", AUDIT,
      "        if self.cause_rows:\n", "        if False:\n",
      [T_RUNS, HOUSE], "the audit no longer says which row's problem withheld a team"),
    m("audit-sums-not-sha256", AUDIT,
      "    return digest.hexdigest()\n", "    return digest.hexdigest()[::-1]\n",
      [T_VERIFY, VERIFY_T], "SHA256SUMS fails `sha256sum -c` at the print house"),
    m("audit-statuses-lose-arm", AUDIT,
      'statuses[f"{a.arm}:{a.status}"] += 1', 'statuses[f"treatment:{a.status}"] += 1',
      [T_RUNS, VERIFY_T], "the close record's by-arm totals put controls in the treatment arm"),

    # -- verify.py: what the researcher's re-check catches ---------------------------------------
    m("verify-two-pages", VERIFY,
      "if pages != 1:", "if pages > 2:",
      [T_VERIFY, VERIFY_T], "verify accepts a two-page letter"),
    m("verify-unlisted-file-ok", VERIFY,
      'result.fail(f"{r[\'path\']}: in the run folder but not in {SUMS_FILE}")', "pass",
      [T_VERIFY, VERIFY_T], "a file missing from SHA256SUMS is not flagged"),
    m("verify-participant-ids-not-compared", VERIFY,
      'if a["pid"] != pid:', "if False:",
      [T_VERIFY, VERIFY_T], "--participants passes a list whose ids were changed"),
    m("verify-arms-not-compared", VERIFY,
      'if (arm.value if arm else None) != a["arm"]:', "if False:",
      [T_VERIFY, VERIFY_T], "--participants passes a list whose arms were changed"),
    m("verify-close-produced-unchecked", VERIFY,
      'if close.get("produced") != produced or close.get("rows") != audit.allocations:',
      'if close.get("rows") != audit.allocations:',
      [T_VERIFY, VERIFY_T], "a close record with a wrong produced total passes"),
    m("verify-prev-hash-unchecked", VERIFY,
      'if record.get("prev_hash") != prev:', "if False:",
      [T_VERIFY, VERIFY_T], "a re-hashed record in the middle of the chain passes"),
    m("verify-head-unchecked", VERIFY,
      "    elif head != prev:\n", "    elif False:\n",
      [T_VERIFY, VERIFY_T], "audit.head can say anything"),
    m("verify-symlink-ok", VERIFY,
      "        if path.is_symlink():\n", "        if False:\n",
      [T_VERIFY, VERIFY_T], "a symbolic link in the run folder is not flagged"),
    m("verify-duplicate-rows-ok", VERIFY,
      "GROUP BY row HAVING n > 1 ", "GROUP BY row HAVING n > 2 ",
      [T_VERIFY, VERIFY_T], "two allocation records for one list row pass"),
    m("verify-missing-listed-file-ok", VERIFY,
      'elif r["disk"] != r["sha"]:\n            result.fail(f"{r[\'path\']}: SHA-256 differs '
      "from {SUMS_FILE}",
      'elif False:\n            result.fail(f"{r[\'path\']}: SHA-256 differs '
      "from {SUMS_FILE}",
      [T_VERIFY, VERIFY_T], "a file changed after the run matches SHA256SUMS"),
    m("verify-withheld-without-reason-ok", VERIFY,
      '            if not a["reason"]:\n', "            if False:\n",
      [T_VERIFY, VERIFY_T], "a withheld row with no reason passes"),

    # -- render/layout.py: wrapping, boxes, drawing ------------------------------------------------
    m("layout-wrap-past-margin", LAYOUT,
      "if current and needed > width:", "if current and needed > width * 1.15:",
      [T_LAYOUT, LETTERS], "body lines run past the right margin"),
    m("layout-long-word-not-broken", LAYOUT,
      "if w > width:  # a single", "if w > width * 3:  # a single",
      [T_LAYOUT, LETTERS], "a long URL runs off the page"),
    m("layout-last-line-dropped", LAYOUT,
      "        if current:\n            lines.append(\" \".join(current))\n        result",
      "        if current and not lines:\n            lines.append(\" \".join(current))\n"
      "        result",
      [T_LAYOUT, LETTERS], "the last line of every long paragraph is lost"),
    m("layout-brand-colour-wrong", "hhp_letters/render/native.py",
      "    cc, m, y, k = (v / 100 for v in colour.cmyk)",
      "    m, cc, y, k = (v / 100 for v in colour.cmyk)",
      [T_LAYOUT, LETTERS], "the council's brand colour prints other than its guide gives"),
    m("layout-box-has-no-width", LAYOUT,
      "return Rect(line.x, top, line.x + fonts.width(line.text, line.face, line.size), bottom)",
      "return Rect(line.x, top, line.x, bottom)",
      [T_LAYOUT, LETTERS], "a return address reaching into the window is not caught"),
    m("layout-logo-not-capped", LAYOUT,
      "        if h > max_h:\n", "        if False:\n",
      [T_LAYOUT, LETTERS], "a square logo is drawn 65 mm tall, into the window"),
    m("layout-fold-marks-zero-length", LAYOUT,
      "number(6 * MM).encode(), y))", "number(0).encode(), y))",
      [T_LAYOUT], "fold marks are invisible"),
    m("layout-bars-mirrored", LAYOUT,
      "bar.x0, self.page_h - bar.y1, bar.width, bar.height)))",
      "bar.x0, bar.y1, bar.width, bar.height)))",
      [T_LAYOUT, LETTERS], "the quote bars are drawn away from the quotes"),
    m("layout-signature-misplaced", LAYOUT,
      "s.width, s.height, s.x0, self.page_h - s.y1)))",
      "s.width, s.height, s.x0, s.y1)))",
      [T_LAYOUT, LETTERS], "the signature is drawn away from the signatory's name"),
    m("layout-first-unprintable-missed", LAYOUT,
      "for char in self.fonts.unprintable(text, face):",
      "for char in self.fonts.unprintable(text, face)[1:]:",
      [T_LAYOUT, LETTERS], "a character the font lacks prints as a blank box"),

    # -- render/letter.py: the letter's design ----------------------------------------------------
    m("letter-address-moved-down", LETTER,
      'baseline = address.y0 * MM + self.fonts.ascent("regular") * ADDRESS_SIZE / 1000',
      'baseline = address.y0 * MM + 3 * self.fonts.ascent("regular") * ADDRESS_SIZE / 1000',
      [T_LAYOUT, LETTERS], "the address block slips down out of the window's clear area"),
    m("letter-address-at-margin", LETTER,
      'TextLine("regular", ADDRESS_SIZE, address.x0 * MM, baseline, text)',
      'TextLine("regular", ADDRESS_SIZE, LEFT * MM, baseline, text)',
      [T_LAYOUT, LETTERS], "the address sits at the page margin, not in the window"),
    m("letter-postcode-line-dropped", LETTER,
      "for i, text in enumerate(block):", "for i, text in enumerate(block[:-1]):",
      [T_LAYOUT, LETTERS], "the postcode is not printed"),
    m("letter-street-line-dropped", LETTER,
      "block = (job.name_line, *job.address_lines)",
      "block = (job.name_line, *job.address_lines[1:])",
      [T_LAYOUT, LETTERS], "the first street line is not printed"),
    m("letter-wide-address-allowed", LETTER,
      "if width > address.width * MM:", "if width > address.width * MM * 1.5:",
      [T_LAYOUT, LETTERS], "an address line wider than the window is printed"),
    m("letter-tall-address-allowed", LETTER,
      "if block_bottom > address.y1 * MM + 0.01:", "if block_bottom > address.y1 * MM + 40:",
      [T_LAYOUT, LETTERS], "an address taller than the window is printed"),
    m("letter-body-in-window", LETTER,
      "self.body_top = max(self.window.reach.y1,", "self.body_top = max(self.window.reach.y0,",
      [T_LAYOUT, LETTERS], "the body text starts inside the window's reach"),
    m("letter-date-leading-zero", LETTER,
      'return f"{day.day} {day:%B %Y}"', 'return f"{day:%d %B %Y}"',
      [T_LAYOUT, LETTERS], "the date reads '01 October'"),
    m("letter-one-fold-mark", LETTER,
      "folds_mm = (A4[1] / 3, 2 * A4[1] / 3) if", "folds_mm = (A4[1] / 3,) if",
      [T_LAYOUT], "a thirds fold has one fold (and one fold mark)"),
    m("letter-return-address-not-right-aligned", LETTER,
      "SMALL_SIZE, RIGHT * MM - width, baseline, text))",
      "SMALL_SIZE, RIGHT * MM - width / 2, baseline, text))",
      [T_LAYOUT, LETTERS], "the return address runs past the right margin"),
    m("letter-overflow-allowed", LETTER,
      "if bottom / MM > BOTTOM_LIMIT:", "if bottom / MM > BOTTOM_LIMIT + 15:",
      [T_LAYOUT, LETTERS], "a letter whose text runs into the bottom margin is printed"),
    m("letter-signatory-not-bold", LETTER,
      'lines.append(TextLine("bold", BODY_SIZE, LEFT * MM, y - 3.5,',
      'lines.append(TextLine("regular", BODY_SIZE, LEFT * MM, y - 3.5,',
      [T_LAYOUT], "the signatory's name is not set in bold"),
    m("letter-last-name-chars-unchecked", LETTER,
      '("last name", job.last_name, "regular",', '("last name", "", "regular",',
      [T_LAYOUT, LETTERS], "a last name the font cannot print is printed as blank boxes"),
    m("letter-logo-in-window-allowed", LETTER,
      "        if self.logo_box.intersects(reach):\n", "        if False:\n",
      [T_LAYOUT], "a logo reaching into the window is printed"),
    m("letter-return-address-past-margin", LETTER,
      "if self.box(line).intersects(reach) or line.x < LEFT * MM:",
      "if self.box(line).intersects(reach):",
      [T_LAYOUT], "a return address past the left margin is printed"),
    m("letter-date-left-in-window", LETTER,
      "        if self.box(line).intersects(_pt(self.window.reach)):\n",
      "        if False:\n",
      [T_LAYOUT], "with a right-hand window, the date is printed in the window"),

    # -- sources/table.py: reading the spreadsheet ------------------------------------------------
    m("table-count-footer-is-a-row", TABLE,
      "and texts[0].isdigit() and int(texts[0]) in (data_rows,",
      "and texts[0].isdigit() and int(texts[0]) in (-1,",
      [T_SOURCES, SHAPES, BAD], "a report's row-count footer is read as a participant"),
    m("table-total-footer-is-a-row", TABLE,
      "    if _FOOTER.match(texts[0]):\n", "    if False:\n",
      [T_SOURCES, SHAPES, BAD], "a 'Grand total' footer is read as a participant"),
    m("table-footer-like-rows-dropped", TABLE,
      "            yield from _row(earlier, where, header, unlabelled, hidden, width)",
      "            pass",
      [T_SOURCES, SHAPES, BAD], "a row that looks like a footer but is followed by data is lost"),
    m("table-hidden-rows-silent", TABLE,
      "    if raw.hidden:\n", "    if False:\n",
      [T_SOURCES, SHAPES, BAD], "rows hidden in Excel (often withdrawn people) are read silently"),
    m("table-control-chars-only-warn", TABLE,
      "yield (error if f.is_error else warning)(f.code, origin, f.message, f.hint)",
      "yield warning(f.code, origin, f.message, f.hint)",
      [T_SOURCES, BAD], "invisible control characters in a name are only a warning"),
    m("table-duplicate-column-overwrites", TABLE,
      "        if name in columns:\n", "        if False:\n",
      [T_SOURCES, BAD], "two postcode columns: the second silently wins"),
    m("table-header-search-short", TABLE,
      "HEADER_SEARCH_ROWS = 20", "HEADER_SEARCH_ROWS = 3",
      [T_SOURCES, BAD, SHAPES], "a header under a few title rows is not found"),
    m("table-column-letter-off-by-one", TABLE,
      'label = f"{shown} ({column_letter(col)})" if shown',
      'label = f"{shown} ({column_letter(col + 1)})" if shown',
      [T_SOURCES, BAD], "problems.csv points at the wrong spreadsheet column"),
    m("table-unlabelled-next-column-silent", TABLE,
      "for col in range(width, len(values)):", "for col in range(width + 1, len(values)):",
      [T_SOURCES, BAD], "values in the column right after the header are ignored silently"),
    m("table-mapped-column-missing-silent", TABLE,
      "if name in fields and name not in columns:", "if False:",
      [T_SOURCES, BAD], "a mapping to a header that is not there is not reported"),

    # -- elsewhere: postcodes, control characters, manifests --------------------------------------
    m("postcode-district-as-text", POSTCODE,
      "{int(district):03d}", "{district:<3}",
      [T_RUNS, LETTERS], "RG12 sorts before RG2: postcode districts in text order"),
    m("cells-c1-controls-accepted", CELLS,
      r"\x0e-\x1f\x7f-\x9f", r"\x0e-\x1f",
      [T_SOURCES, BAD], "DEL and C1 control characters reach a letter"),
    m("bundle-duplex-sheets-wrong", BUNDLE,
      "sheets = (item.pages + 1) // 2 if duplex else item.pages",
      "sheets = item.pages",
      [T_RUNS, LETTERS], "the duplex manifest counts pages as sheets"),
    m("pipeline-withheld-reason-lost", PIPELINE,
      'reason or "not_produced"', '"not_produced"',
      [T_RUNS, VERIFY_T, HOUSE], "every withheld row is recorded as not_produced"),

    # -- holdouts: written after the tests above, to see how far they reach unaided -----------
    m("holdout-audit-pages-range-long", PIPELINE,
      "pages=(output.first_page, output.first_page + output.pages - 1)",
      "pages=(output.first_page, output.first_page + output.pages)",
      [T_RUNS, VERIFY_T], "the audit says a letter spans one page more of its bundle"),
    m("holdout-ticket-letter-count", BUNDLE,
      "out.record.sha256, len(manifest), pages,",
      "out.record.sha256, len(manifest) + 1, pages,",
      [T_RUNS, LETTERS], "the job ticket says each bundle holds one letter more"),
    m("holdout-short-postcodes-refused", POSTCODE,
      "    if len(compact) < 5:\n", "    if len(compact) < 6:\n",
      [T_CHECKS, T_SOURCES, BAD], "a valid short postcode (W1 1AA) is refused"),
    m("holdout-tab-in-name-only-warns", CELLS,
      'Finding("control_character", True, "the cell holds a TAB "',
      'Finding("control_character", False, "the cell holds a TAB "',
      [T_SOURCES, BAD], "a TAB pasted into a name is only a warning"),
    m("holdout-address-spaces-not-folded", MERGE,
      'lines = [" ".join(_PUNCT.sub(" ", line).split()) for line in p.address]',
      'lines = [_PUNCT.sub(" ", line) for line in p.address]',
      [T_LAYOUT, LETTERS], "'Flat 2, Rowan Court.' prints with a double space and a trailing one"),
    m("holdout-missing-last-name-accepted", CHECKS,
      'if not row.get("last_name"):', 'if not row.get("first_name"):',
      [T_RUNS, T_CHECKS, BAD], "a letter goes out addressed to a first name only"),
    m("holdout-quotes-not-indented", LETTER,
      'lines.append(TextLine("italic", BODY_SIZE, LEFT * MM + QUOTE_INDENT,',
      'lines.append(TextLine("italic", BODY_SIZE, LEFT * MM,',
      [T_LAYOUT, LETTERS], "the quotes are not set in from the margin, beside their bars"),
    m("holdout-spaces-not-measured", LAYOUT,
      'space = fonts.width(" ", face_key, size)', "space = 0.0",
      [T_LAYOUT, LETTERS], "wrapping ignores the spaces: lines run past the margin"),
)


# -- the harness ---------------------------------------------------------------------------------

def copy_repo(source: Path, into: Path) -> Path:
    repo = into / "repo"
    shutil.copytree(source, repo, ignore=IGNORED, symlinks=True)
    return repo


def test_env(repo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COVERAGE_", "PYTEST_")) and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(repo), PYTHONDONTWRITEBYTECODE="1", COLUMNS="200",
               NO_COLOR="1")
    return env


def check_import(repo: Path, env: dict[str, str]) -> None:
    """The tests must import the copy's package, or every mutant would survive."""
    done = subprocess.run([str(PYTHON), "-c", "import hhp_letters; print(hhp_letters.__file__)"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    where = Path(done.stdout.strip() or "?").resolve()
    if done.returncode != 0 or repo.resolve() not in where.parents:
        sys.exit(f"the copy's package is not the one imported: {where}\n{done.stderr}")


@dataclass(frozen=True)
class Ran:
    code: int | None  # None: timed out
    seconds: float
    output: str


def run_pytest(repo: Path, env: dict[str, str], args: Sequence[str], timeout: float) -> Ran:
    start = time.perf_counter()
    # its own process group, so a timeout ends it and everything it started (and nothing else)
    proc = subprocess.Popen([str(PYTHON), "-m", "pytest", *args], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return Ran(proc.returncode, time.perf_counter() - start, out)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return Ran(None, time.perf_counter() - start, out)


_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Baseline:
    seconds: float
    usable: bool  # collected and ran
    failing: tuple[str, ...]  # node ids that already fail unmutated


def baseline(repo: Path, env: dict[str, str], files: Iterable[str]) -> dict[str, Baseline]:
    found: dict[str, Baseline] = {}
    for name in files:
        ran = run_pytest(repo, env, ["-q", "-p", "no:cacheprovider", "-rfE", name], 1800)
        failing = tuple(dict.fromkeys(_FAILED.findall(ran.output)))
        # 0 all passed, 1 some failed; 2-5: interrupted, internal error, usage, nothing collected
        usable = ran.code in (0, 1) and not any(f.split("::")[0] == name and "::" not in f
                                                for f in failing)
        found[name] = Baseline(ran.seconds, usable, failing)
        state = ("ok" if ran.code == 0 else f"{len(failing)} failing deselected" if usable
                 else f"unusable (exit {ran.code})")
        print(f"  baseline {name}: {ran.seconds:.0f} s, {state}", flush=True)
        for node in failing:
            print(f"    already failing: {node}", flush=True)
    return found


def select_tests(mutant: Mutant, repo: Path, with_strength: bool) -> list[str]:
    chosen = []
    for t in mutant.tests:
        if not with_strength and t.startswith(STRENGTH):
            continue
        if (repo / t.split("::")[0]).is_file():
            chosen.append(t)
    return chosen


def run_mutant(mutant: Mutant, repo: Path, env: dict[str, str], tests: list[str],
               base: dict[str, Baseline]) -> Outcome:
    path = repo / mutant.file
    if not path.is_file():
        return Outcome(mutant.name, mutant.module, "stale", 0, f"{mutant.file} is gone")
    source = path.read_text(encoding="utf-8")
    count = source.count(mutant.original)
    if count != 1:
        why = "snippet not found" if count == 0 else f"snippet found {count} times"
        return Outcome(mutant.name, mutant.module, "stale", 0, why)
    usable = [t for t in tests if base[t.split("::")[0]].usable]
    if not usable:
        return Outcome(mutant.name, mutant.module, "no-tests", 0,
                       "no test file runs at baseline: " + ", ".join(tests or ["none exist"]))
    mutated = source.replace(mutant.original, mutant.replacement)
    try:
        compile(mutated, str(path), "exec")
    except SyntaxError as exc:
        sys.exit(f"mutant {mutant.name} is not valid Python: {exc}")
    deselect = [a for t in usable for f in base[t.split("::")[0]].failing
                for a in ("--deselect", f)]
    limit = 60 + 3 * sum(base[t.split("::")[0]].seconds for t in usable)
    path.write_text(mutated, encoding="utf-8")
    try:
        ran = run_pytest(repo, env, [*PYTEST_ARGS, *deselect, *usable], limit)
    finally:
        path.write_text(source, encoding="utf-8")
    if ran.code is None:
        return Outcome(mutant.name, mutant.module, "timeout", ran.seconds, f"> {limit:.0f} s")
    if ran.code == 0:
        return Outcome(mutant.name, mutant.module, "survived", ran.seconds, " ".join(usable))
    if ran.code == 5:
        return Outcome(mutant.name, mutant.module, "no-tests", ran.seconds, "nothing collected")
    killer = _FAILED.findall(ran.output)
    detail = killer[0] if killer else f"pytest exit {ran.code}"
    return Outcome(mutant.name, mutant.module, "killed", ran.seconds, detail)


def score(outcomes: Sequence[Outcome]) -> tuple[int, int]:
    detected = sum(1 for o in outcomes if o.status in ("killed", "timeout"))
    return detected, sum(1 for o in outcomes if o.status in SCORED)


def print_table(outcomes: Sequence[Outcome]) -> None:
    width = max(len(o.name) for o in outcomes)
    for o in outcomes:
        print(f"{o.name:<{width}}  {o.module:<15} {o.status:<9} {o.seconds:6.1f} s  {o.detail}")
    by_module: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_module.setdefault(o.module, []).append(o)
    print()
    for module, group in sorted(by_module.items()):
        d, n = score(group)
        print(f"  {module:<15} {d}/{n} detected" + ("" if not n else f" ({100 * d / n:.0f} %)"))
    d, n = score(outcomes)
    counts = {s: sum(1 for o in outcomes if o.status == s)
              for s in ("killed", "timeout", "survived", "stale", "no-tests")}
    print("\n" + ", ".join(f"{v} {k}" for k, v in counts.items()))
    print(f"SCORE: {d}/{n} = {100 * d / n:.1f} % of non-stale mutants" if n else "SCORE: n/a")


def chosen_mutants(patterns: Sequence[str]) -> list[Mutant]:
    if not patterns:
        return list(MUTANTS)
    chosen = [mu for mu in MUTANTS if any(fnmatch.fnmatchcase(mu.name, p) for p in patterns)]
    if not chosen:
        sys.exit(f"no mutant matches {', '.join(patterns)} (see --list)")
    return chosen


def list_mutants(mutants: Sequence[Mutant], source: Path) -> None:
    for mu in mutants:
        path = source / mu.file
        count = path.read_text(encoding="utf-8").count(mu.original) if path.is_file() else 0
        state = "applies" if count == 1 else "STALE" if count == 0 else f"AMBIGUOUS x{count}"
        print(f"{mu.name:<42} {mu.module:<15} {state:<9} {mu.why}")
    per: dict[str, int] = {}
    for mu in mutants:
        per[mu.module] = per.get(mu.module, 0) + 1
    print(f"\n{len(mutants)} mutants: " + ", ".join(f"{k} {v}" for k, v in sorted(per.items())))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this mutant (glob patterns allowed; repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="the repository to copy (default: this one)")
    parser.add_argument("--without-strength", action="store_true",
                        help="leave out tests/test_strength_*.py (the score before them)")
    parser.add_argument("--json", type=Path, help="also write the outcomes to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args(argv)
    mutants = chosen_mutants(args.only)
    if args.list:
        list_mutants(mutants, args.source)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="hhp-mutants-"))
    try:
        repo = copy_repo(args.source, tmp)
        env = test_env(repo)
        check_import(repo, env)
        print(f"copy: {repo} (the tests import its hhp_letters)", flush=True)
        selected = {mu.name: select_tests(mu, repo, not args.without_strength) for mu in mutants}
        files = dict.fromkeys(t.split("::")[0] for ts in selected.values() for t in ts)
        base = baseline(repo, env, files)
        outcomes = []
        for i, mu in enumerate(mutants, start=1):
            outcome = run_mutant(mu, repo, env, selected[mu.name], base)
            outcomes.append(outcome)
            print(f"  [{i}/{len(mutants)}] {mu.name}: {outcome.status} "
                  f"({outcome.seconds:.0f} s) {outcome.detail}", flush=True)
        print()
        print_table(outcomes)
        if args.json:
            args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n",
                                 encoding="utf-8")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
