"""The campaign ledger: one provable record of a campaign over weeks.

``ledger.jsonl`` in the campaign folder is append-only, one canonical JSON record per line,
hash-chained like the audit (``seq``, ``time``, ``event``, ``prev_hash``, ``hash``). Events:

``run``        a live run registered after it finished: its folder, audit head, kind, and the
               letters it made (participant id, output SHA-256, letter reference)
``reissue``    the same, for a run of replacement letters: which letters each supersedes, why
``approval``   a proof run signed off: who, the proof's audit head, every input's SHA-256, each
               letter's keyed digest of what it prints
``returned``   a letter came back undelivered (participant id, reference, reason, date)
``package``    a print package made from a run (its SHA-256)

Runs are registered last and atomically (the whole ledger is rewritten to a temporary file and
renamed over the old one), so a killed run leaves the ledger unchanged. A run that finished
but was killed before it was registered is found on the next start through the pending marker
it left in ``.hhp/`` and registered then. From the ledger, :func:`standing` says which letter is
*effective* for each participant: the latest one made for them that no re-issue superseded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hhp_letters.atomic import atomic_write_bytes
from hhp_letters.audit import GENESIS, Clock, canonical, record_hash, utc_now
from hhp_letters.errors import EnvironmentProblem, HhpError, RunFolderError
from hhp_letters.keys import SECRETS_DIR, open_lock_file

LEDGER_FILE = "ledger.jsonl"
PENDING_PREFIX = "pending-"


class LedgerError(HhpError):
    """The ledger is not the chain hhp-letters wrote (edited, truncated, reordered)."""


@dataclass(frozen=True)
class Entry:
    seq: int
    event: str
    record: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.record[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.record.get(key, default)


@dataclass(frozen=True)
class Ledger:
    path: Path
    entries: tuple[Entry, ...]

    @property
    def head(self) -> str:
        return str(self.entries[-1].record["hash"]) if self.entries else GENESIS

    def of(self, *events: str) -> Iterator[Entry]:
        return (e for e in self.entries if e.event in events)


@dataclass(frozen=True)
class Letter:
    """A letter the campaign made for one participant."""

    participant_id: str
    output_sha256: str
    reference: str
    run: str  # the audit head of the run that made it
    run_folder: str
    seq: int  # the ledger entry
    code: str = ""  # the mail-integrity payload of its first page (job|bundle|envelope)


@dataclass(frozen=True)
class Standing:
    """Per participant: the effective letter (if any), the letters it superseded, whether the
    effective one came back undelivered."""

    effective: Mapping[str, Letter]
    superseded: Mapping[str, tuple[Letter, ...]]
    returned: Mapping[str, Entry]  # participant → the return of their effective letter
    by_reference: Mapping[str, Letter]
    by_sha: Mapping[str, Letter] = field(default_factory=dict)
    by_envelope: Mapping[str, Letter] = field(default_factory=dict)  # "job|bundle|envelope"


def ledger_path(campaign_root: Path) -> Path:
    return campaign_root / LEDGER_FILE


def _problems(lines: list[bytes], path: Path) -> Iterator[str]:
    prev = GENESIS
    for number, raw in enumerate(lines, start=1):
        where = f"{path.name} line {number}"
        try:
            text = raw.decode("utf-8").rstrip("\n")
            record = json.loads(text, parse_constant=_refuse)
        except (UnicodeDecodeError, ValueError, RecursionError):
            yield f"{where}: not a record hhp-letters writes (the file was edited)"
            return
        if not isinstance(record, dict):
            yield f"{where}: not a JSON object (the file was edited)"
            return
        if record.get("seq") != number:
            yield (f"{where}: seq is {record.get('seq')}, expected {number} (a line was removed "
                   "or inserted)")
        if record.get("prev_hash") != prev:
            yield f"{where}: prev_hash does not match line {number - 1} (lines were changed)"
        if record_hash(record) != record.get("hash") or canonical(record) != text:
            yield (f"{where} (event {record.get('event')!r}): the line was edited after it was "
                   "written")
        prev = str(record.get("hash"))


def _refuse(name: str) -> Any:
    raise ValueError(name)


def read_ledger(campaign_root: Path) -> Ledger:
    """The campaign's ledger (empty if none yet); :class:`LedgerError` naming the first line
    that breaks the chain."""
    path = ledger_path(campaign_root)
    if not path.is_file():
        return Ledger(path, ())
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {path}: {exc.strerror}",
                                 hint="check the campaign folder's permissions") from exc
    lines = data.splitlines(keepends=True)
    problems = list(_problems(lines, path))
    if problems:
        raise LedgerError(f"{path.name} has been altered: {problems[0]}",
                          hint="restore ledger.jsonl from the campaign's backup; `hhp-letters "
                               "verify CAMPAIGN` lists every broken line")
    entries = tuple(Entry(json.loads(line)["seq"], json.loads(line)["event"], json.loads(line))
                    for line in lines)
    return Ledger(path, entries)


def ledger_problems(campaign_root: Path) -> list[str]:
    """Every line that breaks the chain (for `verify CAMPAIGN`)."""
    path = ledger_path(campaign_root)
    if not path.is_file():
        return []
    return list(_problems(path.read_bytes().splitlines(keepends=True), path))


def append(campaign_root: Path, event: str, fields: Mapping[str, Any], *,
           clock: Clock = utc_now) -> Entry:
    """Add one record, atomically: the ledger is read and checked, the line appended, and the
    whole file replaced in one rename (hold :func:`lock` around it)."""
    ledger = read_ledger(campaign_root)
    seq = len(ledger.entries) + 1
    record: dict[str, Any] = {
        "seq": seq, "time": clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "event": event, "prev_hash": ledger.head, **fields}
    record["hash"] = record_hash(record)
    old = ledger.path.read_bytes() if ledger.path.is_file() else b""
    try:
        atomic_write_bytes(ledger.path, old + canonical(record).encode("utf-8") + b"\n")
    except OSError as exc:
        raise EnvironmentProblem(f"could not write {ledger.path}: {exc.strerror}",
                                 hint="check the campaign folder is writable and has room") \
            from exc
    return Entry(seq, event, record)


@contextlib.contextmanager
def lock(campaign_root: Path) -> Iterator[None]:
    """The campaign's ledger lock: one command at a time changes what the campaign sent."""
    fd = open_lock_file(campaign_root, "ledger.lock", "lock the campaign's ledger")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunFolderError("another hhp-letters command is changing this campaign right "
                                 "now", hint="wait for it to finish, then run again") from exc
        yield
    finally:
        os.close(fd)


def standing(ledger: Ledger) -> Standing:
    """Which letter is effective for each participant, from the ledger alone."""
    effective: dict[str, Letter] = {}
    superseded: dict[str, list[Letter]] = {}
    returned: dict[str, Entry] = {}
    by_reference: dict[str, Letter] = {}
    by_sha: dict[str, Letter] = {}
    by_envelope: dict[str, Letter] = {}
    for entry in ledger.entries:
        if entry.event in ("run", "reissue"):
            for item in entry.get("letters", []):
                pid, sha, reference = item[:3]
                code = item[3] if len(item) > 3 else ""
                letter = Letter(pid, sha, reference, str(entry["audit_head"]),
                                str(entry["run_folder"]), entry.seq, code)
                if pid in effective:
                    superseded.setdefault(pid, []).append(effective[pid])
                effective[pid] = letter
                returned.pop(pid, None)  # a re-issue to a corrected address: effective again
                by_reference[reference] = letter
                by_sha[sha] = letter
                if code:
                    by_envelope[envelope_key(code)] = letter
        elif entry.event == "returned":
            pid = str(entry["participant_id"])
            current = effective.get(pid)
            if current is not None and current.output_sha256 == entry.get("output_sha256"):
                returned[pid] = entry
    return Standing(effective, {k: tuple(v) for k, v in superseded.items()}, returned,
                    by_reference, by_sha, by_envelope)


def envelope_key(code: str) -> str:
    """``job|bundle|envelope`` of a mail-integrity payload: the same for every page of one
    envelope."""
    return "|".join(code.split("|")[1:4])


# -- a run that finished but was not registered -------------------------------------------------

def pending_marker(campaign_root: Path, fields: Mapping[str, Any]) -> Path:
    """Written just before a run is renamed into place: if the process dies before the run is
    registered, the next command registers it from this."""
    folder = campaign_root / SECRETS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{PENDING_PREFIX}{fields['audit_head'][:16]}.json"
    atomic_write_bytes(path, canonical(fields).encode("utf-8"))
    return path


def recover(campaign_root: Path, *, clock: Clock = utc_now) -> list[Entry]:
    """Register runs that finished but were not registered; forget markers of runs that never
    finished. Returns what was registered (the caller says so)."""
    folder = campaign_root / SECRETS_DIR
    done: list[Entry] = []
    if not folder.is_dir():
        return done
    registered = {str(e.get("audit_head")) for e in read_ledger(campaign_root).entries}
    for marker in sorted(folder.glob(f"{PENDING_PREFIX}*.json")):
        try:
            fields = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            marker.unlink(missing_ok=True)
            continue
        head_file = Path(str(fields.get("run_path", ""))) / "audit.head"
        finished = head_file.is_file() and \
            head_file.read_text(encoding="utf-8").strip() == fields.get("audit_head")
        if finished and fields.get("audit_head") not in registered:
            event = str(fields.pop("event", "run"))
            fields.pop("run_path", None)
            done.append(append(campaign_root, event, fields, clock=clock))
        marker.unlink(missing_ok=True)
    return done
