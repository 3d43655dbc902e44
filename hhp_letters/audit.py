"""The audit trail: a hash-chained log of who received what, and why not.

``audit.jsonl`` holds one canonical JSON record per line (sorted keys, no insignificant white
space, UTF-8; only strings, integers, booleans and null, so this is RFC 8785's form). Every
record has ``seq``, UTC ``time``, ``event``, ``prev_hash`` and ``hash`` = SHA-256 of the
canonical record without ``hash``. ``audit.head`` holds the last hash, so a truncated or
rewritten log is detectable against a copy of it.

Events, in order: ``run`` (inputs and their hashes), one ``allocation`` per row of the
randomised list, one ``file`` per file written, and ``close`` (totals).

Personal data never enter the log: people are named by participant id only; the texts a
letter prints for them (first name, feedback; a note's manager) appear only as *keyed digests*
(HMAC-SHA256 under the campaign's own key, :mod:`hhp_letters.keys`), with where each lies in
the page's text, so ``verify`` can read a letter back and check it whatever the letter's
design, and nobody can test a list of names against the log. ``audit.sig`` signs the head with
the campaign's Ed25519 key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hhp_letters.atomic import atomic_open, atomic_write_bytes, atomic_write_text
from hhp_letters.store import FileRecord

GENESIS = "0" * 64
AUDIT_FILE = "audit.jsonl"
HEAD_FILE = "audit.head"
SUMS_FILE = "SHA256SUMS"
SIG_FILE = "audit.sig"
# written after the audit's file records, so they are covered by SHA256SUMS only (and the
# summaries are checked by recomputing them from the audit)
META_FILES = (AUDIT_FILE, HEAD_FILE, SIG_FILE, "summary.md", "summary.html")
Clock = Callable[[], dt.datetime]


def canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def record_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AuditLog:
    """Appends chained records to an open file, one line each, as they are made."""

    def __init__(self, out: IO[bytes], clock: Clock = utc_now) -> None:
        self._out = out
        self._clock = clock
        self._seq = 0
        self._prev = GENESIS
        self.events: Counter[str] = Counter()

    @property
    def head(self) -> str:
        return self._prev

    def add(self, event: str, **fields: Any) -> dict[str, Any]:
        self._seq += 1
        record: dict[str, Any] = {
            "seq": self._seq,
            "time": self._clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "event": event, "prev_hash": self._prev, **fields}
        record["hash"] = record_hash(record)
        self._out.write(canonical(record).encode("utf-8") + b"\n")
        self._prev = record["hash"]
        self.events[event] += 1
        return record


@dataclass(frozen=True, slots=True)
class Allocation:
    """What happened to one row of the randomised list."""

    row: int | None
    participant_id: str
    arm: str | None
    authority: str | None
    status: str  # produced | withheld
    reason: str | None
    output: str | None = None
    output_sha256: str | None = None
    bundle: str | None = None
    pages: tuple[int, int] | None = None
    signatory: str | None = None
    # keyed digests of what the output prints for this row, and where it lies in its text
    digests: Mapping[str, str] | None = None
    text_at: Mapping[str, list[int]] | None = None
    cluster: str | None = None
    team: str | None = None
    # list rows whose problem withheld this row, when not the row itself (a team's note)
    cause_rows: tuple[int, ...] = ()
    earlier: Mapping[str, str] | None = None  # already_sent: the letter an earlier run made
    supersedes: Mapping[str, str] | None = None  # a re-issue: the letter it replaces, and why
    # keyed digests of each part a letter prints from the inputs (what a sign-off binds)
    signed: Mapping[str, str] | None = None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "row": self.row, "participant_id": self.participant_id, "arm": self.arm,
            "authority": self.authority, "status": self.status, "reason": self.reason,
            "output": self.output, "output_sha256": self.output_sha256, "bundle": self.bundle,
            "pages": list(self.pages) if self.pages else None, "signatory": self.signatory,
            "digests": dict(self.digests) if self.digests is not None else None,
            "text_at": dict(self.text_at) if self.text_at is not None else None}
        if self.cluster is not None or self.team is not None:
            out["cluster"] = self.cluster
            out["team"] = self.team
        if self.cause_rows:
            out["cause_rows"] = list(self.cause_rows)
        if self.earlier is not None:
            out["earlier"] = dict(self.earlier)
        if self.supersedes is not None:
            out["supersedes"] = dict(self.supersedes)
        if self.signed:
            out["signed"] = dict(self.signed)
        return out


@dataclass(frozen=True, slots=True)
class InputFile:
    role: str  # campaign | participants | feedback | template | font | logo | signature
    path: Path
    shown: str  # as the user knows it (relative to the campaign when inside it)


def write_audit(folder: Path, *, run: Mapping[str, Any], inputs: Sequence[InputFile],
                allocations: Iterable[Allocation], files: Iterable[FileRecord],
                rows: int, sign: Callable[[str], bytes], clock: Clock = utc_now) -> str:
    """Write audit.jsonl and audit.head into ``folder``; return the head hash.
    ``files``: (path, sha256, bytes, kind); ``rows``: how many allocations will follow."""
    input_records = [{"role": f.role, "path": f.shown, "sha256": file_sha256(f.path),
                      "bytes": f.path.stat().st_size} for f in inputs]
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    n_files = 0
    with atomic_open(folder / AUDIT_FILE) as out:
        log = AuditLog(out, clock)
        log.add("run", **run, inputs=input_records, rows_read=rows)
        for a in allocations:
            log.add("allocation", **a.fields())
            statuses[f"{a.arm}:{a.status}"] += 1
            if a.reason:
                reasons[a.reason] += 1
        for f in files:
            log.add("file", path=f.path, sha256=f.sha256, bytes=f.bytes, kind=f.kind)
            n_files += 1
        produced = sum(n for key, n in statuses.items() if key.endswith(":produced"))
        log.add("close", rows=sum(statuses.values()), produced=produced,
                withheld=sum(statuses.values()) - produced,
                by_arm_and_status=dict(sorted(statuses.items())),
                reasons=dict(sorted(reasons.items())), files=n_files)
    atomic_write_text(folder / HEAD_FILE, log.head + "\n")
    atomic_write_bytes(folder / SIG_FILE, sign(log.head))
    return log.head


def write_sums(folder: Path, recorded: Iterable[tuple[str, str]]) -> None:
    """SHA256SUMS (``sha256sum -c`` format) over every other file in the run folder:
    ``recorded`` (relative path, digest) are the files the run logged as it wrote them,
    streamed from the store; the audit and summary files are hashed here."""
    with atomic_open(folder / SUMS_FILE) as out:
        for rel, digest in recorded:
            out.write(f"{digest}  {rel}\n".encode())
        for name in META_FILES:
            if (folder / name).is_file():
                out.write(f"{file_sha256(folder / name)}  {name}\n".encode())
