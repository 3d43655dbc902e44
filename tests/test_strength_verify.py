"""What the researcher's `verify` must catch, one forgery or accident at a time, and what the
run folder must be for anyone checking it by hand (the audit's documented hash chain,
SHA256SUMS that `sha256sum -c` accepts)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import CampaignBuilder, run_cli
from pypdf import PdfReader, PdfWriter

from hhp_letters import verify_run

GENESIS = "0" * 64
Record = dict[str, Any]


# --- the audit's format, written out independently of the package --------------------------------

def canonical(record: Record) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: Record) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})
                          .encode("utf-8")).hexdigest()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def records(run: Path) -> list[Record]:
    return [json.loads(line) for line in (run / "audit.jsonl").read_text().splitlines()]


def sums(run: Path) -> dict[str, str]:
    lines = (run / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}


def write_sums(run: Path, table: dict[str, str]) -> None:
    (run / "SHA256SUMS").write_text("".join(f"{d}  {p}\n" for p, d in table.items()),
                                    encoding="utf-8")


def rewrite(run: Path, edit: Callable[[list[Record]], list[Record]]) -> None:
    """A forger's full rewrite: edit the records, then re-number, re-chain and re-hash them all,
    write a matching audit.head and bring SHA256SUMS up to date."""
    recs = edit(records(run))
    prev = GENESIS
    for seq, r in enumerate(recs, start=1):
        r["seq"], r["prev_hash"] = seq, prev
        r["hash"] = record_hash(r)
        prev = r["hash"]
    (run / "audit.jsonl").write_text("".join(canonical(r) + "\n" for r in recs),
                                     encoding="utf-8")
    (run / "audit.head").write_text(prev + "\n", encoding="utf-8")
    table = sums(run)
    for name in ("audit.jsonl", "audit.head"):
        table[name] = sha256(run / name)
    write_sums(run, table)


def failures(run: Path, **options: Any) -> list[str]:
    return [" ".join(f.split()) for r in verify_run(run, **options) for f in r.failures]


def has(found: list[str], *parts: str) -> bool:
    return any(all(p in f for p in parts) for f in found)


# --- the run ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[CampaignBuilder, Path]:
    base = tmp_path_factory.mktemp("verify")
    b = CampaignBuilder(base / "camp", fmt="xlsx")
    b.build()
    out = base / "run"
    result = run_cli("letters", str(b.root), "--out", str(out))
    assert result.exit_code == 0, result.output
    return b, out


@pytest.fixture
def run(pristine: tuple[CampaignBuilder, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(pristine[1], copy, symlinks=True)
    return copy


def test_a_clean_run_passes_every_check(pristine: tuple[CampaignBuilder, Path]) -> None:
    b, out = pristine
    assert failures(out, participants=b.list_path) == []
    result = run_cli("verify", str(out), "--participants", str(b.list_path))
    assert result.exit_code == 0, result.output


def test_the_audit_is_a_hash_chain_by_its_documented_rule(
        pristine: tuple[CampaignBuilder, Path]) -> None:
    out = pristine[1]
    lines = (out / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    prev = GENESIS
    for seq, line in enumerate(lines, start=1):
        r = json.loads(line)
        assert canonical(r) == line
        assert (r["seq"], r["prev_hash"]) == (seq, prev)
        assert r["hash"] == record_hash(r)
        prev = r["hash"]
    assert (out / "audit.head").read_text().strip() == prev
    assert json.loads(lines[0])["event"] == "run" and json.loads(lines[-1])["event"] == "close"


def test_the_run_record_hashes_every_input_and_counts_the_rows(
        pristine: tuple[CampaignBuilder, Path]) -> None:
    b, out = pristine
    run_record = records(out)[0]
    assert run_record["rows_read"] == len(b.rows) == 6
    inputs = {i["role"]: i for i in run_record["inputs"] if i["role"] in
              ("campaign", "participants")}
    assert inputs["campaign"]["sha256"] == sha256(b.toml_path)
    assert inputs["participants"]["sha256"] == sha256(b.list_path)
    for i in run_record["inputs"]:
        if i["role"] == "feedback":
            assert i["sha256"] == sha256(b.root / i["path"]), i


def test_sha256sums_lists_every_other_file_with_its_real_digest(
        pristine: tuple[CampaignBuilder, Path]) -> None:
    out = pristine[1]
    table = sums(out)
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert set(table) == on_disk - {"SHA256SUMS"}
    assert {"audit.jsonl", "audit.head"} <= set(table)
    for rel, digest in table.items():
        assert digest == sha256(out / rel), rel
    if shutil.which("sha256sum"):  # what the print house runs
        done = subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=out,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


# --- the files ---------------------------------------------------------------------------------

def test_a_two_page_letter_fails(run: Path) -> None:
    letter = run / "letters" / "BF" / "P001.pdf"
    writer = PdfWriter()
    page = PdfReader(letter).pages[0]
    writer.add_page(page)
    writer.add_page(page)
    with letter.open("wb") as fh:
        writer.write(fh)
    assert has(failures(run), "letters/BF/P001.pdf", "2 pages, expected 1")


def test_a_file_left_out_of_sha256sums_fails(run: Path) -> None:
    table = sums(run)
    del table["job-ticket.txt"]
    write_sums(run, table)
    assert has(failures(run), "job-ticket.txt", "not in SHA256SUMS")


def test_a_file_changed_after_the_run_fails_against_sha256sums(run: Path) -> None:
    with (run / "job-ticket.txt").open("a", encoding="utf-8") as fh:
        fh.write("Rush job\n")
    assert has(failures(run), "job-ticket.txt", "SHA-256 differs from SHA256SUMS")


def test_a_listed_file_that_is_gone_fails(run: Path) -> None:
    (run / "job-ticket.txt").unlink()
    assert has(failures(run), "job-ticket.txt", "listed in SHA256SUMS", "missing")


def test_a_symbolic_link_in_the_run_folder_fails(run: Path) -> None:
    (run / "letters" / "BF" / "copy.pdf").symlink_to(run / "letters" / "BF" / "P001.pdf")
    assert has(failures(run), "letters/BF/copy.pdf", "symbolic link")


# --- the list ------------------------------------------------------------------------------------

def changed_list(b: CampaignBuilder, tmp_path: Path, row: int, column: int, value: str) -> Path:
    wb = openpyxl.load_workbook(b.list_path)
    ws = wb.active
    assert ws is not None
    ws.cell(row=row, column=column, value=value)
    path = tmp_path / "list.xlsx"
    wb.save(path)
    return path


def test_participants_with_a_changed_id_fails(pristine: tuple[CampaignBuilder, Path],
                                              tmp_path: Path) -> None:
    b, out = pristine
    given = changed_list(b, tmp_path, 5, 1, "P044")  # P004's row
    assert has(failures(out, participants=given), "row 5", "'P044'",
               "but the audit has 'P004'")


def test_participants_with_a_changed_arm_fails(pristine: tuple[CampaignBuilder, Path],
                                               tmp_path: Path) -> None:
    b, out = pristine
    given = changed_list(b, tmp_path, 3, 4, "treatment")  # P002, a control
    assert has(failures(out, participants=given), "row 3", "arm 'treatment'",
               "but the audit has 'control'")


# --- the audit -----------------------------------------------------------------------------------

def test_a_record_re_hashed_in_the_middle_of_the_chain_fails(run: Path) -> None:
    lines = (run / "audit.jsonl").read_text().splitlines()
    r = json.loads(lines[3])
    r["prev_hash"] = "f" * 64
    r["hash"] = record_hash(r)
    lines[3] = canonical(r)
    (run / "audit.jsonl").write_text("\n".join(lines) + "\n")
    found = failures(run)
    assert has(found, "audit.jsonl line 4", "prev_hash does not match")
    assert has(found, "audit.jsonl line 5", "prev_hash does not match")


def test_an_audit_head_that_is_not_the_chains_end_fails(run: Path) -> None:
    (run / "audit.head").write_text("ab" * 32 + "\n")
    table = sums(run)
    table["audit.head"] = sha256(run / "audit.head")
    write_sums(run, table)
    assert has(failures(run), "truncated or extended")


def test_a_close_record_with_a_wrong_produced_total_fails(run: Path) -> None:
    def edit(recs: list[Record]) -> list[Record]:
        recs[-1]["produced"] += 1
        recs[-1]["withheld"] -= 1
        return recs

    rewrite(run, edit)
    assert has(failures(run), "closing totals")


def test_two_allocation_records_for_one_row_fail(run: Path) -> None:
    def edit(recs: list[Record]) -> list[Record]:
        i = next(i for i, r in enumerate(recs) if r.get("arm") == "control")
        return [*recs[:i + 1], dict(recs[i]), *recs[i + 1:]]

    rewrite(run, edit)
    assert has(failures(run), "list row 3 has 2 allocation records")


def test_a_withheld_row_without_a_reason_fails(run: Path) -> None:
    def edit(recs: list[Record]) -> list[Record]:
        victim = next(r for r in recs if r.get("arm") == "control")
        victim["reason"] = None
        return recs

    rewrite(run, edit)
    assert has(failures(run), "withheld without a reason")


def test_verify_says_not_verified_and_exits_1(run: Path) -> None:
    (run / "job-ticket.txt").write_text("changed\n")
    result = run_cli("verify", str(run))
    assert result.exit_code == 1
    assert "NOT VERIFIED" in result.output
