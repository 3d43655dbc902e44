"""The audit trail and `verify`: a clean run verifies; each kind of tampering is caught and
named precisely."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hhp_letters.audit import AUDIT_FILE, canonical, record_hash
from hhp_letters.cli import app
from hhp_letters.keys import keyed_digest, readback_form
from hhp_letters.resources import resource_dir
from hhp_letters.scaffold import init_campaign

runner = CliRunner()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("verify")
    campaign = init_campaign(base / "camp", sample=True).parent
    out = base / "run"
    result = runner.invoke(app, ["letters", str(campaign), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return campaign, out


@pytest.fixture
def run(pristine: tuple[Path, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(pristine[1], copy)
    return copy


def records(run: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (run / AUDIT_FILE).read_text().splitlines()]


def verify(run: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["verify", str(run), *extra], env={"COLUMNS": "240"})
    return result.exit_code, result.output


def test_clean_run_verifies_with_participants_and_rerender(pristine: tuple[Path, Path]) -> None:
    campaign, out = pristine
    code, output = verify(out, "--participants", str(campaign / "data" / "randomised.xlsx"),
                          "--rerender")
    assert code == 0, output
    assert output.splitlines()[-1] == "VERIFIED: every check passed"
    rows = [tuple(cell.strip() for cell in line.strip("│ ").split("│"))
            for line in output.splitlines() if line.startswith("│")]
    assert rows == VERIFY_TABLE


# What a researcher sees for the clean sample run (391 rows, 196 letters), pinned.
VERIFY_TABLE = [
    ("audit hash chain ends at audit.head", "PASS", "596 checked"),
    ("SHA256SUMS matches every file", "PASS", "208 checked"),
    ("every output matches its audit record; no file unaccounted for", "PASS", "203 checked"),
    ("every row accounted for; no control output; nobody twice", "PASS", "391 checked"),
    ("every PDF is PDF/X-1a:2003 for FOGRA39", "PASS", "199 checked"),
    ("signed by the campaign; summaries match the audit", "PASS", "3 checked"),
    ("--participants: same list, same rows, same arms", "PASS", "391 checked"),
    ("each output reads back: its own name (and feedback), nobody else's", "PASS",
     "196 checked"),
    ("--rerender: every letter renders again to the same bytes", "PASS", "203 checked"),
]


def test_audit_shape(pristine: tuple[Path, Path]) -> None:
    recs = records(pristine[1])
    assert recs[0]["event"] == "run" and recs[-1]["event"] == "close"
    alloc = [r for r in recs if r["event"] == "allocation"]
    assert len(alloc) == recs[0]["rows_read"] == 391
    assert {r["status"] for r in alloc if r["arm"] == "control"} == {"withheld"}
    assert {r["reason"] for r in alloc if r["arm"] == "control"} == {"control_arm"}
    produced = [r for r in alloc if r["status"] == "produced"]
    assert len(produced) == 196 and all(r["reason"] is None for r in produced)
    assert all(r["output"].startswith("letters/") and len(r["output_sha256"]) == 64
               for r in produced)
    inputs = {i["role"] for i in recs[0]["inputs"]}
    assert inputs >= {"campaign", "participants", "feedback", "logo", "signature", "font",
                      "template"}
    prev = "0" * 64
    for r in recs:  # canonical, chained
        assert r["prev_hash"] == prev and record_hash(r) == r["hash"]
        prev = r["hash"]
    assert (pristine[1] / "audit.head").read_text().strip() == prev
    # no personal data: no names, postcodes or feedback text anywhere in the log
    text = (pristine[1] / AUDIT_FILE).read_text()
    for needle in ("Aoife", "Zoë", "O'Neill", "FERNLEIGH", "Hawthorn"):
        assert needle not in text.replace("Dr Aoife Ní Bhriain", "")


def test_summary_adds_up(pristine: tuple[Path, Path]) -> None:
    md = (pristine[1] / "summary.md").read_text()
    assert "Rows of the randomised list: **391**" in md
    assert re.search(r"Treatment arm\n\n- Allocated: \*\*196\*\*\n- Letter produced: \*\*196\*\*"
                     r"\n- Not produced: \*\*0\*\*", md)
    assert "control arm (by design) (`control_arm`): 195" in md
    rows = re.findall(r"\| (\w+) \| (\w+) \| (\d+) \| (\d+) \| (\d+) \|", md)
    assert sum(int(n) for *_, n, _, _ in rows) == 391
    assert all(int(n) == int(p) + int(w) for *_, n, p, w in rows)
    head = (pristine[1] / "audit.head").read_text().strip()
    html = (pristine[1] / "summary.html").read_text()
    assert head in md and head in html and "<svg" in html and "allocated 196" in html


def test_one_changed_byte_in_a_pdf_fails(run: Path) -> None:
    target = sorted((run / "letters" / "FB").glob("*.pdf"))[3]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    code, output = verify(run)
    rel = f"letters/FB/{target.name}"
    assert code == 1
    assert f"{rel}: SHA-256 differs from SHA256SUMS" in output
    assert f"{rel}: SHA-256 differs from its audit record" in output


def test_a_deleted_audit_line_fails(run: Path) -> None:
    lines = (run / AUDIT_FILE).read_text().splitlines()
    del lines[100]
    (run / AUDIT_FILE).write_text("\n".join(lines) + "\n")
    code, output = verify(run)
    assert code == 1
    assert "audit.jsonl line 101: seq is 102, expected 101" in output
    assert "prev_hash does not match the hash of line 100" in output


def test_a_truncated_audit_fails_against_the_head(run: Path) -> None:
    lines = (run / AUDIT_FILE).read_text().splitlines()
    (run / AUDIT_FILE).write_text("\n".join(lines[:-1]) + "\n")
    code, output = verify(run)
    assert code == 1 and "the log was truncated or extended" in output


def test_an_edited_status_fails(run: Path) -> None:
    lines = (run / AUDIT_FILE).read_text().splitlines()
    i, rec = next((i, json.loads(line)) for i, line in enumerate(lines)
                  if '"arm":"control"' in line)
    rec["status"] = "produced"
    lines[i] = canonical(rec)
    (run / AUDIT_FILE).write_text("\n".join(lines) + "\n")
    code, output = verify(run)
    assert code == 1
    assert (f"audit.jsonl line {i + 1} (event 'allocation', participant "
            f"{rec['participant_id']}): hash does not match") in output
    assert f"participant '{rec['participant_id']}'" in output and "arm 'control'" in output


def test_a_rehashed_forgery_still_fails(run: Path) -> None:
    # rewrite a control record as produced AND recompute the whole chain: only audit.head
    # (kept elsewhere) and the outputs can catch it
    recs = records(run)
    victim = next(r for r in recs if r.get("arm") == "control")
    victim.update(status="produced", reason=None, output="letters/FB/forged.pdf")
    prev = "0" * 64
    for r in recs:
        r["prev_hash"] = prev
        r["hash"] = record_hash(r)
        prev = r["hash"]
    (run / AUDIT_FILE).write_text("\n".join(canonical(r) for r in recs) + "\n")
    code, output = verify(run)
    assert code == 1
    assert "the log was truncated or extended" in output  # head no longer matches
    assert "CONTROL participant has an output" in output


def test_two_swapped_letters_fail(run: Path) -> None:
    a, b = sorted((run / "letters" / "HC").glob("*.pdf"))[:2]
    tmp = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(tmp)
    code, output = verify(run)
    assert code == 1
    assert (f"letters/HC/{a.name}: the first name printed is not participant {a.stem}'s "
            "(the letter was changed or swapped)") in " ".join(output.split())
    assert f"letters/HC/{a.name}: SHA-256 differs from its audit record" in output


def test_an_extra_file_is_unaccounted_for(run: Path) -> None:
    (run / "letters" / "FB" / "99999.pdf").write_bytes(b"%PDF-1.4\n")
    code, output = verify(run)
    assert code == 1
    assert "letters/FB/99999.pdf: in the run folder but not in the audit" in output


def test_a_different_list_fails_participants(pristine: tuple[Path, Path], tmp_path: Path) -> None:
    import openpyxl
    src = pristine[0] / "data" / "randomised.xlsx"
    changed = tmp_path / "randomised.xlsx"
    wb = openpyxl.load_workbook(src)
    ws = wb["Allocation"]
    row = next(r for r in ws.iter_rows() if r[5].value == "Control")
    row[5].value = "Treatment"
    wb.save(changed)
    code, output = verify(pristine[1], "--participants", str(changed))
    assert code == 1
    assert "randomised.xlsx: SHA-256 differs from the list the run read" in output
    assert f"row {row[0].row} (participant '{row[0].value}'): arm 'treatment'" in output


def test_digests_ignore_what_text_layers_do_but_not_words() -> None:
    key = bytes(32)
    assert keyed_digest(key, "1", "a  b\nc") == keyed_digest(key, "1", "abc")
    assert keyed_digest(key, "1", "well-\nbeing") == keyed_digest(key, "1", "wellbeing")
    assert keyed_digest(key, "1", "o\ufb03ce\u00ad") == keyed_digest(key, "1", "office")
    assert keyed_digest(key, "1", "abc") != keyed_digest(key, "2", "abc")
    assert keyed_digest(key, "1", "abc") != keyed_digest(key, "1", "abd")
    assert keyed_digest(key, "1", "abc") != keyed_digest(bytes([1] * 32), "1", "abc")
    assert readback_form("Ne\u0301ha Smith-Jones") == "NéhaSmithJones"


def test_verify_of_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    code, output = verify(tmp_path / "nope")
    assert code == 2 and "no run folder" in output


def test_samples_are_bundled() -> None:
    assert (resource_dir("samples") / "letters" / "campaign.toml").is_file()
