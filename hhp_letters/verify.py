"""`hhp-letters verify`: re-check a finished run from its folder (and, optionally, the
randomised list) without trusting anything the run says about itself."""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from hhp_letters.audit import (
    AUDIT_FILE,
    GENESIS,
    HEAD_FILE,
    META_FILES,
    SUMS_FILE,
    canonical,
    file_sha256,
    record_hash,
    text_digest,
)
from hhp_letters.errors import HhpError, UsageError

META = frozenset({*META_FILES, SUMS_FILE})
MAX_DETAILS = 20


@dataclass
class Result:
    name: str
    failures: list[str] = field(default_factory=list)
    checked: int = 0
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and self.skipped is None

    def fail(self, message: str) -> None:
        self.failures.append(message)


@dataclass(frozen=True)
class AuditRecords:
    records: tuple[dict[str, Any], ...]

    def of(self, event: str) -> Iterator[dict[str, Any]]:
        return (r for r in self.records if r.get("event") == event)

    @property
    def run(self) -> dict[str, Any]:
        return next(self.of("run"), {})


def _files(run: Path) -> set[str]:
    return {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()}


def check_chain(run: Path) -> tuple[Result, AuditRecords]:
    result = Result("audit hash chain ends at audit.head")
    records: list[dict[str, Any]] = []
    path = run / AUDIT_FILE
    if not path.is_file():
        result.fail(f"{AUDIT_FILE} is missing")
        return result, AuditRecords(())
    prev = GENESIS
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            result.fail(f"{AUDIT_FILE} line {number}: not JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            result.fail(f"{AUDIT_FILE} line {number}: not a JSON object")
            continue
        records.append(record)
        where = f"{AUDIT_FILE} line {number}"
        if record.get("seq") != number:
            result.fail(f"{where}: seq is {record.get('seq')}, expected {number} "
                        "(a record was removed or inserted)")
        if record.get("prev_hash") != prev:
            result.fail(f"{where}: prev_hash does not match the hash of line {number - 1}")
        if record_hash(record) != record.get("hash"):
            result.fail(f"{where} (event {record.get('event')!r}, participant "
                        f"{record.get('participant_id', '-')}): hash does not match the "
                        "record's content: the record was edited")
        elif canonical(record) != line:
            result.fail(f"{where}: not in canonical form (rewritten)")
        prev = str(record.get("hash"))
        result.checked += 1
    head_path = run / HEAD_FILE
    head = head_path.read_text(encoding="utf-8").strip() if head_path.is_file() else None
    if head is None:
        result.fail(f"{HEAD_FILE} is missing")
    elif head != prev:
        result.fail(f"the last record's hash {prev[:12]}… is not audit.head {head[:12]}…: the "
                    "log was truncated or extended")
    if records and (records[0].get("event") != "run" or records[-1].get("event") != "close"):
        result.fail("the log must start with a 'run' record and end with a 'close' record")
    return result, AuditRecords(tuple(records))


def check_sums(run: Path) -> Result:
    result = Result("SHA256SUMS matches every file")
    path = run / SUMS_FILE
    if not path.is_file():
        result.fail(f"{SUMS_FILE} is missing")
        return result
    listed: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        digest, _, rel = line.partition("  ")
        listed.add(rel)
        target = run / rel
        if not target.is_file():
            result.fail(f"{rel}: listed in {SUMS_FILE} (line {number}) but missing")
        elif file_sha256(target) != digest:
            result.fail(f"{rel}: SHA-256 differs from {SUMS_FILE} line {number}: the file "
                        "changed after the run")
        result.checked += 1
    for rel in sorted(_files(run) - listed - {SUMS_FILE}):
        result.fail(f"{rel}: in the run folder but not in {SUMS_FILE}")
    return result


def check_outputs(run: Path, audit: AuditRecords) -> Result:
    result = Result("every output matches its audit record; no file unaccounted for")
    recorded: dict[str, str] = {}
    for r in audit.of("file"):
        recorded[str(r.get("path"))] = str(r.get("sha256"))
        target = run / str(r.get("path"))
        if not target.is_file():
            result.fail(f"{r.get('path')}: recorded (seq {r.get('seq')}) but missing")
        elif file_sha256(target) != r.get("sha256"):
            result.fail(f"{r.get('path')}: SHA-256 differs from its audit record "
                        f"(seq {r.get('seq')})")
        result.checked += 1
    for r in audit.of("allocation"):
        if r.get("output") is not None and recorded.get(str(r["output"])) != r.get(
                "output_sha256"):
            result.fail(f"participant {r.get('participant_id')}: output {r['output']} is not "
                        "a recorded file with that SHA-256")
    for rel in sorted(_files(run) - set(recorded) - META):
        result.fail(f"{rel}: in the run folder but not in the audit")
    return result


def check_allocations(audit: AuditRecords) -> Result:
    result = Result("every row accounted for; no control output; nobody twice")
    allocations = list(audit.of("allocation"))
    run = audit.run
    close = next(audit.of("close"), {})
    if run.get("rows_read") != len(allocations):
        result.fail(f"the run read {run.get('rows_read')} rows but the audit has "
                    f"{len(allocations)} allocation records")
    rows = Counter(a.get("row") for a in allocations)
    for row, n in sorted(rows.items(), key=lambda kv: kv[0] or 0):
        if n > 1:
            result.fail(f"list row {row} has {n} allocation records")
    produced_ids: Counter[str] = Counter()
    for a in allocations:
        where = f"participant {a.get('participant_id')!r} (row {a.get('row')}, seq {a.get('seq')})"
        status, output = a.get("status"), a.get("output")
        if status == "produced":
            produced_ids[str(a.get("participant_id"))] += 1
            if output is None or a.get("reason") is not None:
                result.fail(f"{where}: produced, but without an output or with a reason")
            if a.get("arm") != "treatment":
                result.fail(f"{where}: arm {a.get('arm')!r} but an output was produced")
        elif status == "withheld":
            if output is not None:
                result.fail(f"{where}: withheld, but has output {output}")
            if not a.get("reason"):
                result.fail(f"{where}: withheld without a reason")
        else:
            result.fail(f"{where}: status {status!r} is neither produced nor withheld")
        if a.get("arm") == "control" and output is not None:
            result.fail(f"{where}: CONTROL participant has an output {output}")
        result.checked += 1
    for pid, n in sorted(produced_ids.items()):
        if n > 1:
            result.fail(f"participant {pid!r} has {n} outputs")
    if run.get("command") == "notes":
        _check_teams(allocations, result)
    produced = sum(produced_ids.values())
    if close.get("produced") != produced or close.get("rows") != len(allocations):
        result.fail(f"the closing totals ({close.get('produced')} produced of "
                    f"{close.get('rows')}) do not match the records ({produced} of "
                    f"{len(allocations)})")
    return result


def _check_teams(allocations: list[dict[str, Any]], result: Result) -> None:
    """Notes: exactly one note per treatment team, shared by all its rows; none for control."""
    outputs: dict[tuple[object, str], set[object]] = {}
    teams_of: dict[object, set[tuple[object, str]]] = {}
    for a in allocations:
        key = (a.get("authority"), str(a.get("team") or "").lower())
        if a.get("status") == "produced":
            outputs.setdefault(key, set()).add(a.get("output"))
            teams_of.setdefault(a.get("output"), set()).add(key)
        elif a.get("arm") == "treatment" and a.get("reason") in (None, "not_produced"):
            outputs.setdefault(key, set())
    for (code, name), found in sorted(outputs.items(), key=lambda kv: str(kv[0])):
        if len(found) > 1:
            result.fail(f"team {name!r} ({code}) has {len(found)} notes: "
                        + ", ".join(sorted(map(str, found))))
        if not found:
            result.fail(f"treatment team {name!r} ({code}) has no note and no reason")
    for output, teams in teams_of.items():
        if len(teams) > 1:
            result.fail(f"{output} is the note of {len(teams)} teams")


_QUOTED = re.compile("\u201c")


def _page_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(path)
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


def _quoted_digests(pid: str, text: str) -> set[str]:
    """Digests of every “…” span (any pairing, so quotes inside feedback do not matter)."""
    opens = [m.start() for m in _QUOTED.finditer(text)]
    closes = [i for i, c in enumerate(text) if c == "\u201d"]
    return {text_digest(pid, text[o + 1:c]) for o in opens for c in closes if c > o}


def check_readback(run: Path, audit: AuditRecords, names: dict[str, str] | None) -> Result:
    result = Result("each output reads back: its own name (and feedback), nobody else's")
    greeting = re.compile(r"Dear\s+(.+?)(?:\s+and your team)?,")
    full_names = {"".join(v.split()): k for k, v in (names or {}).items()}
    texts: dict[str, tuple[int, str]] = {}  # notes: one file serves a whole team
    for a in audit.of("allocation"):
        if a.get("status") != "produced":
            continue
        pid, rel = str(a.get("participant_id")), str(a.get("output"))
        try:
            if rel not in texts:
                texts[rel] = _page_text(run / rel)
            pages, text = texts[rel]
        except (OSError, PyPdfError) as exc:
            result.fail(f"{rel}: cannot be read as a PDF ({exc})")
            continue
        if pages != 1:
            result.fail(f"{rel}: {pages} pages, expected 1")
        match = greeting.search(text)
        expected_name = a.get("first_name_sha256") or a.get("manager_first_name_sha256")
        if match is None or text_digest(pid, match.group(1)) != expected_name:
            found = match.group(1) if match else "no greeting"
            result.fail(f"{rel}: the greeting ({found!r}) is not participant {pid}'s name")
        wanted = a.get("feedback_sha256")
        if wanted:
            digests = _quoted_digests(pid, text)
            for n, digest in enumerate(wanted, start=1):
                if digest not in digests:
                    result.fail(f"{rel}: feedback line {n} of participant {pid} is not in the "
                                "letter")
        if full_names:
            for line in text.splitlines():
                other = full_names.get("".join(line.split()))
                if other is not None and other != pid:
                    result.fail(f"{rel}: names participant {other}, not {pid}")
        result.checked += 1
    return result


def check_participants(audit: AuditRecords, path: Path) -> tuple[Result, dict[str, str]]:
    """The randomised list given now is the one the run read, row for row and arm for arm."""
    from hhp_letters.fields import LIST_FIELDS
    from hhp_letters.model import Arm
    from hhp_letters.sources import read_table

    result = Result("--participants: same list, same rows, same arms")
    names: dict[str, str] = {}
    run = audit.run
    recorded = next((i for i in run.get("inputs", []) if i.get("role") == "participants"), None)
    if recorded is None:
        result.fail("the audit records no randomised list")
        return result, names
    if file_sha256(path) != recorded.get("sha256"):
        result.fail(f"{path.name}: SHA-256 differs from the list the run read "
                    f"({recorded.get('path')}); this is not the same file")
    spec = run.get("list") or {}
    table = read_table(path, shown=path.name, sheet=spec.get("sheet"), fields=LIST_FIELDS,
                       required=("participant_id", "arm"),
                       explicit_columns=spec.get("columns") or {})
    by_row = {a.get("row"): a for a in audit.of("allocation")}
    seen: set[object] = set()
    for row in table.rows():
        number = row.origin.row
        seen.add(number)
        a = by_row.get(number)
        pid = row.get("participant_id")
        arm = Arm.parse(row.get("arm"))
        names[pid] = f"{row.get('first_name')} {row.get('last_name')}".strip()
        if a is None:
            result.fail(f"{path.name} row {number} (participant {pid!r}) has no allocation "
                        "record")
            continue
        if a.get("participant_id") != pid:
            result.fail(f"{path.name} row {number}: participant {pid!r} but the audit has "
                        f"{a.get('participant_id')!r}")
        if (arm.value if arm else None) != a.get("arm"):
            result.fail(f"{path.name} row {number} (participant {pid!r}): arm "
                        f"{arm.value if arm else row.get('arm')!r} but the audit has "
                        f"{a.get('arm')!r}")
        result.checked += 1
    for problem in table.problems:
        if problem.is_error:
            result.fail(f"{path.name}: {problem.message}")
    for number in sorted(set(by_row) - seen, key=lambda r: r or 0):
        result.fail(f"audit allocation for row {number} has no row in {path.name}")
    return result, names


def check_rerender(run: Path, audit: AuditRecords) -> Result:
    """Render every letter again from the recorded inputs; compare bytes."""
    from hhp_letters.campaign import load_campaign
    from hhp_letters.pipeline import prepare_letters, run_letters

    result = Result("--rerender: every letter renders again to the same bytes")
    rec = audit.run
    campaign_path = Path(str(rec.get("campaign")))
    if not campaign_path.is_file():
        result.fail(f"the campaign {campaign_path} recorded by the run is not here")
        return result
    campaign = load_campaign(campaign_path)
    for item in rec.get("inputs", []):
        role, shown = item.get("role"), str(item.get("path"))
        if role in ("font", "template"):
            continue  # built into the tool; a changed tool shows up as changed bytes below
        target = campaign.resolve(shown) if role != "campaign" else campaign.path
        if not target.is_file() or file_sha256(target) != item.get("sha256"):
            result.fail(f"input {shown} ({role}) is not the file the run read")
    if result.failures:
        return result
    options = rec.get("options") or {}
    prepared = prepare_letters(campaign, proof=bool(options.get("proof")))
    with tempfile.TemporaryDirectory(prefix="hhp-rerender-") as tmp:
        run_letters(prepared, Path(tmp) / "run", skip_invalid=bool(options.get("skip_invalid")))
        fresh = {path: sha for path, sha, _, _ in prepared.checked.store.files()}
        prepared.close()
    for r in audit.of("file"):
        if r.get("kind") not in ("letter", "docx", "bundle", "manifest", "job_ticket"):
            continue
        path = str(r.get("path"))
        if fresh.get(path) != r.get("sha256"):
            result.fail(f"{path}: renders to different bytes now")
        result.checked += 1
    for path in sorted(set(fresh) - {str(r.get("path")) for r in audit.of("file")}):
        result.fail(f"{path}: rendered now but not by the recorded run")
    return result


def verify_run(run: Path, *, participants: Path | None = None,
               rerender: bool = False) -> list[Result]:
    if not run.is_dir():
        raise UsageError(f"no run folder at {run}",
                         hint="give the folder a `letters` or `notes` run created")
    if participants is not None and not participants.is_file():
        raise UsageError(f"no file at {participants}", hint="give the randomised list file")
    chain, audit = check_chain(run)
    results = [chain, check_sums(run), check_outputs(run, audit), check_allocations(audit)]
    names = None
    if participants is not None:
        given, names = check_participants(audit, participants)
        results.append(given)
    results.append(check_readback(run, audit, names))
    if rerender:
        try:
            results.append(check_rerender(run, audit))
        except HhpError as exc:
            failed = Result("--rerender: every letter renders again to the same bytes")
            failed.fail(str(exc))
            results.append(failed)
    return results
