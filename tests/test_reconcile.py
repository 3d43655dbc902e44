"""Reconciling a scan of the DataMatrix codes with the run: a complete scan is clean, and each
kind of fault (a page or envelope missing, a page twice, a foreign, unreadable, mistyped or
unknown code) is found, counted and named in what the CLI prints. The last test reads the codes
off rendered pages with zxing-cpp, as an inserter's camera would.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from conftest import decoded_pages
from test_package import (
    BUNDLES,
    JOB,
    Envelope,
    envelopes,
    make_run,
    manifest_csv,
    write_sums,
)

from hhp_letters.errors import RunFolderError
from hhp_letters.reconcile import Reconciliation, read_scan, reconcile
from hhp_letters.render.datamatrix import MailPayload

# read_barcodes takes a set of formats (a lone format only converts to one implicitly)


def all_codes() -> list[str]:
    return [t for e in envelopes() for t in e.texts()]


def envelope(bundle: str, sequence: int) -> Envelope:
    return next(e for e in envelopes() if e.bundle == bundle and e.sequence == sequence)


def write_scan(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rows(result: Reconciliation) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(result.to_csv())))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


def test_a_complete_scan_reconciles_clean(run: Path, tmp_path: Path) -> None:
    result = reconcile(run, write_scan(tmp_path / "scan.txt", all_codes()))
    assert result.clean
    assert dict(result.counts) == {
        "bundles": 2, "pieces": 5, "pages": 9, "scanned": 9, "complete": 5, "missing": 0,
        "incomplete": 0, "missing_pages": 0, "duplicated_pages": 0, "duplicated_pieces": 0,
        "unknown": 0, "foreign": 0, "unreadable": 0}
    text = result.to_text()
    assert text.splitlines()[1] == "CLEAN: every page of every envelope scanned exactly once"
    assert "Bundle BF-1 (code BF1): 3 envelope(s): 3 complete, 0 missing, 0 with pages " \
        "missing" in text
    table = rows(result)
    assert [(r["status"], r["bundle"], r["sequence"], r["reference"]) for r in table] == [
        ("complete", "BF-1", "1", "RBF0001"), ("complete", "BF-1", "2", "RBF0002"),
        ("complete", "BF-1", "3", "RBF0003"), ("complete", "HC-1", "1", "RHC0001"),
        ("complete", "HC-1", "2", "RHC0002")]


def test_scan_order_does_not_matter_and_spaces_and_blank_lines_are_ignored(
        run: Path, tmp_path: Path) -> None:
    lines = [f"  {c}\t" for c in reversed(all_codes())]
    lines[3:3] = ["", "   "]
    assert reconcile(run, write_scan(tmp_path / "scan.txt", lines)).clean


def test_finds_a_removed_page(run: Path, tmp_path: Path) -> None:
    codes = all_codes()
    gone = envelope("HC-1", 2).texts()[1]  # page 2 of 3
    codes.remove(gone)
    result = reconcile(run, write_scan(tmp_path / "scan.txt", codes))
    assert not result.clean
    assert (result.counts["complete"], result.counts["incomplete"],
            result.counts["missing_pages"]) == (4, 1, 1)
    piece = next(p for p in result.pieces if p.status != "complete")
    assert (piece.bundle, piece.sequence, piece.missing_pages, piece.seen) == (
        "HC-1", 2, (2,), (1, 0, 1))
    assert ("  INCOMPLETE envelope 000002 (ref RHC0002): page(s) 2/3 not scanned "
            "(bundle pages 2-4)") in result.to_text().splitlines()
    assert [r["missing_pages"] for r in rows(result) if r["status"] == "incomplete"] == ["2"]


def test_finds_a_removed_envelope(run: Path, tmp_path: Path) -> None:
    gone = set(envelope("BF-1", 2).texts())
    result = reconcile(run, write_scan(tmp_path / "scan.txt",
                                       [c for c in all_codes() if c not in gone]))
    assert (result.counts["missing"], result.counts["complete"]) == (1, 4)
    bundle = result.bundles[0]
    assert (bundle.count("missing"), bundle.count("complete")) == (1, 2)
    assert ("  MISSING envelope 000002 (ref RBF0002): no page scanned (bundle pages 3-4)"
            in result.to_text().splitlines())
    assert "1 missing" in result.to_text().splitlines()[1]


def test_finds_a_duplicated_page_and_a_duplicated_envelope(run: Path, tmp_path: Path) -> None:
    codes = all_codes()
    page = envelope("BF-1", 1).texts()[1]
    twice = envelope("HC-1", 1).texts()[0]  # a one-page envelope, through twice more
    scan = write_scan(tmp_path / "scan.txt", [*codes, page, twice, twice])
    result = reconcile(run, scan)
    assert not result.clean
    assert result.counts["complete"] == 5  # everything is there, some of it too often
    assert (result.counts["duplicated_pages"], result.counts["duplicated_pieces"]) == (2, 1)
    first, second = result.duplicates
    assert (first.bundle, first.sequence, first.page, first.pages, first.times) == (
        "BF-1", 1, 2, 2, 2)
    assert [s.line for s in first.lines] == [2, 10]
    assert (second.bundle, second.times, [s.line for s in second.lines]) == ("HC-1", 3,
                                                                            [6, 11, 12])
    text = result.to_text()
    assert "  DUPLICATE envelope 000001 page 2/2: scanned 2 times (lines 2, 10)" in text
    assert "  DUPLICATE envelope 000001 page 1/1: scanned 3 times (lines 6, 11, 12)" in text
    dup = [r for r in rows(result) if r["status"] == "duplicate"]
    assert [(r["bundle"], r["times"], r["lines"], r["code"]) for r in dup] == [
        ("BF-1", "2", "2 10", page), ("HC-1", "3", "6 11 12", twice)]


def test_finds_foreign_unreadable_mistyped_and_unknown_codes(run: Path, tmp_path: Path) -> None:
    codes = all_codes()
    good = codes[0]
    wrong_check = good[:-1] + ("A" if good[-1] != "A" else "B")
    foreign = MailPayload("ZZ99ZZ99", "BF1", 1, 1, 2).text()
    lines = [*codes,
             foreign,  # 10
             "not a code at all",  # 11
             wrong_check,  # 12
             MailPayload(JOB, "BF1", 99, 1, 1).text(),  # 13: no such envelope
             MailPayload(JOB, "BF1", 3, 1, 2).text(),  # 14: envelope 3 has 1 page
             MailPayload(JOB, "XX1", 1, 1, 1).text()]  # 15: no such bundle
    result = reconcile(run, write_scan(tmp_path / "scan.txt", lines))
    assert result.counts["complete"] == 5
    assert [(f.line.line, f.job) for f in result.foreign] == [(10, "ZZ99ZZ99")]
    assert [(u.line.line, u.reason) for u in result.unreadable] == [
        (11, "not an HHP1 mail-integrity code"),
        (12, "check character does not match: a misread or mistyped code")]
    assert [(u.line.line, u.bundle, u.reason) for u in result.unknown] == [
        (13, "BF-1", "BF-1 has no envelope 000099"),
        (14, "BF-1", "envelope 000003 of BF-1 has 1 page(s), not 2"),
        (15, None, "the run has no bundle with code XX1")]
    assert (result.counts["foreign"], result.counts["unreadable"], result.counts["unknown"]) == (
        1, 2, 3)
    text = result.to_text()
    assert f"  line 10: {foreign} (job ZZ99ZZ99)" in text
    assert "  line 11: not a code at all (not an HHP1 mail-integrity code)" in text
    assert f"  line 12: {wrong_check} (check character does not match" in text
    assert "1 foreign, 2 unreadable code(s)" in text.splitlines()[1]
    by_status = {r["status"]: r for r in rows(result)}
    assert by_status["foreign"]["lines"] == "10"
    assert by_status["unreadable"]["detail"].startswith("check character")


def test_a_csv_scan_keeps_its_other_columns_for_the_report(run: Path, tmp_path: Path) -> None:
    codes = all_codes()
    out = ["Timestamp;Station;CODE"]
    out += [f"2024-05-01T09:00:{n:02d};INS-2;{c}" for n, c in enumerate(codes[1:])]
    out += [";;", "2024-05-01T09:01:00;INS-2;", f"2024-05-01T09:01:01;INS-3;{codes[1]}",
            "2024-05-01T09:01:02;INS-3;=HYPERLINK(\"x\")"]
    scan = tmp_path / "scan.csv"
    scan.write_text("\n".join(out) + "\n", encoding="utf-8-sig")  # Excel writes a BOM
    result = reconcile(run, scan)
    assert result.columns == ("Timestamp", "Station")
    assert result.counts["scanned"] == len(codes) + 2  # the all-empty row is not a scan
    assert result.counts["incomplete"] == 1  # the first page of BF-1 envelope 1
    assert [(u.line.line, u.reason) for u in result.unreadable] == [
        (11, "no code (a no-read)"), (13, "not an HHP1 mail-integrity code")]
    text = result.to_text()
    assert ("DUPLICATE envelope 000001 page 2/2: scanned 2 times (lines 2 "
            "[Timestamp=2024-05-01T09:00:00, Station=INS-2], 12 "
            "[Timestamp=2024-05-01T09:01:01, Station=INS-3])") in text
    assert "  line 11 [Timestamp=2024-05-01T09:01:00, Station=INS-2]: '' (no code" in text
    table = rows(result)
    assert list(table[0]) == ["status", "bundle", "sequence", "reference", "first_page",
                              "pages", "missing_pages", "times", "lines", "code", "detail",
                              "scan_Timestamp", "scan_Station"]
    dup = next(r for r in table if r["status"] == "duplicate")
    assert dup["scan_Station"] == "INS-2 ; INS-3"
    formula = next(r for r in table if r["lines"] == "13")
    assert formula["code"] == "'=HYPERLINK(\"x\")"  # neutralised for spreadsheets


def test_read_scan_tells_a_csv_from_a_list_of_codes(tmp_path: Path) -> None:
    listed = read_scan(write_scan(tmp_path / "a.txt", ["", " HHP1|X ", "", "b"]))
    assert [(s.line, s.text) for s in listed.lines] == [(2, "HHP1|X"), (4, "b")]
    assert listed.columns == ()
    table = read_scan(write_scan(tmp_path / "b.csv", ["code,station", "HHP1|X,1", "", "y,2"]))
    assert [(s.line, s.text, s.fields) for s in table.lines] == [
        (2, "HHP1|X", (("station", "1"),)), (4, "y", (("station", "2"),))]
    tabbed = read_scan(write_scan(tmp_path / "c.tsv", ["when\tCode", "9:00\tHHP1|X"]))
    assert [(s.text, s.fields) for s in tabbed.lines] == [("HHP1|X", (("when", "9:00"),))]


def test_a_headerless_csv_is_reported_as_unreadable_with_a_hint(run: Path,
                                                               tmp_path: Path) -> None:
    scan = write_scan(tmp_path / "scan.csv", [f"09:00,{c}" for c in all_codes()])
    result = reconcile(run, scan)
    assert result.counts["unreadable"] == 9
    assert result.counts["missing"] == 5
    assert "its first line must be a header with a 'code' column" in result.to_text()


def test_refuses_a_run_without_codes_or_with_a_changed_manifest(tmp_path: Path) -> None:
    scan = write_scan(tmp_path / "scan.txt", all_codes())
    old = make_run(tmp_path / "old", job=None)
    with pytest.raises(RunFolderError, match=r"has no 'Job id:' line"):
        reconcile(old, scan)
    run = make_run(tmp_path / "run")
    manifest = run / "bundles" / "HC-1.csv"
    manifest.write_text(manifest.read_text().replace("RHC0002", "RHC0009"))
    with pytest.raises(RunFolderError, match=r"bundles/HC-1\.csv differs from SHA256SUMS"):
        reconcile(run, scan)
    write_sums(run)  # re-sealed, so only the codes themselves are wrong from here on
    manifest.write_text(manifest.read_text().replace(f"|{JOB}|", "|ZZ99ZZ99|"))
    write_sums(run)
    with pytest.raises(RunFolderError, match=r"HC-1\.csv line 2: 'HHP1\|ZZ99ZZ99\|HC1\|000001"
                       r"\|01/01\|.': check character does not match"):
        reconcile(run, scan)
    hc = [e for e in envelopes() if e.bundle == "HC-1"]
    manifest.write_text(manifest_csv(hc, job="ZZ99ZZ99"))
    write_sums(run)
    with pytest.raises(RunFolderError, match=r"HC-1\.csv line 2: code .* is not the first "
                       r"page of an envelope of job AB12CD34"):
        reconcile(run, scan)


def test_refuses_a_run_whose_envelopes_share_a_code(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", bundles={"BF-1": ("BF", (1, 1)), "BF-2": ("BF", (1,))})
    scan = write_scan(tmp_path / "scan.txt", [])
    with pytest.raises(RunFolderError, match=r"envelope 000001 of bundle code BF is in both "
                       r"BF-1\.csv and BF-2\.csv"):
        reconcile(run, scan)


# --- Codes read off rendered pages, as an inserter's camera reads them -------------------

def decode_bundle(path: Path) -> list[str]:
    """Each page rendered and read with zxing-cpp: one text per page, in order."""
    return [text for text, _ in decoded_pages(path)]


def test_a_scan_of_the_rendered_bundles_finds_a_removed_and_a_duplicated_page(
        run: Path, tmp_path: Path) -> None:
    decoded = [t for name in BUNDLES for t in decode_bundle(run / "bundles" / f"{name}.pdf")]
    assert decoded == all_codes()  # every page carries its own code, readable at 200 dpi
    scan = write_scan(tmp_path / "clean.txt", decoded)
    assert reconcile(run, scan).clean
    removed = decoded.pop(3)  # BF-1 envelope 2, page 2/2
    decoded.insert(4, decoded[3])  # BF-1 envelope 3 (1 page) read twice: lines 4 and 5
    result = reconcile(run, write_scan(tmp_path / "scan.txt", decoded))
    assert MailPayload.parse(removed) == MailPayload(JOB, "BF1", 2, 2, 2)
    assert [(p.bundle, p.sequence, p.missing_pages) for p in result.pieces
            if p.status != "complete"] == [("BF-1", 2, (2,))]
    assert [(d.bundle, d.sequence, d.page, [s.line for s in d.lines])
            for d in result.duplicates] == [("BF-1", 3, 1, [4, 5])]
    assert result.counts["duplicated_pieces"] == 1
    assert (result.counts["unknown"], result.counts["foreign"],
            result.counts["unreadable"]) == (0, 0, 0)
