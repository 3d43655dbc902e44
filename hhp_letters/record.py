"""One provable record of a campaign: `hhp-letters verify CAMPAIGN` and `summary CAMPAIGN`.

A campaign's record is its ledger (``ledger.jsonl``: the live runs it made, re-issues, sign-offs,
returned mail, packages) together with the audit of every run the ledger registers.
:func:`verify_campaign` checks them against each other, trusting neither alone:

1. the ledger is the unbroken chain hhp-letters wrote, line by line;
2. every registered run is in the folder the ledger names, ends at the audit head it recorded,
   and made exactly the letters the ledger lists;
3. each registered run passes `verify RUN`, with this campaign's keys;
4. across the campaign: every treatment row of the randomised list has one effective letter or
   a recorded reason, no control row has a letter in any run, nobody has two effective letters;
5. re-issues, returned letters and packages name letters the campaign made, for treatment
   participants; approvals are sign-offs of this campaign's proofs.

The ledger's chain is not signed (anyone can recompute its hashes), which is why 2 and 4 compare
it with the runs' audits, whose heads are signed with the campaign's key.

:func:`campaign_flow` counts the campaign's CONSORT flow from the same record, and refuses a
record that does not add up; :func:`write_campaign_summary` writes it as summary.md and
summary.html (counts only: no participant is named).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from hhp_letters.atomic import atomic_write_text
from hhp_letters.audit import AUDIT_FILE, GENESIS, HEAD_FILE, SIG_FILE
from hhp_letters.campaign import Campaign, load_campaign
from hhp_letters.errors import HhpError, InternalError, UsageError
from hhp_letters.keys import DIGEST_KEY, PUBLIC_KEY, SECRETS_DIR, read_public_key, signature_ok
from hhp_letters.ledger import LEDGER_FILE, PENDING_PREFIX, LedgerError, ledger_problems
from hhp_letters.merge import letter_reference
from hhp_letters.model import TeamKey, fold
from hhp_letters.render.templating import environment
from hhp_letters.summary import REASON_TEXT, FlowBox
from hhp_letters.verify import Result, verify_run

LEDGER_CHECK = "ledger.jsonl is the unbroken chain hhp-letters wrote"
RUNS_CHECK = "every registered run is in its folder, as the ledger recorded it"
ROWS_CHECK = ("every treatment row has one effective letter or a reason; no control row has a "
              "letter; nobody has two")
LINKS_CHECK = "re-issues, returns and packages name letters this campaign made"
APPROVALS_CHECK = "approvals are sign-offs of this campaign's proofs"

TOOL_ROLES = frozenset({"font", "template", "icc_profile"})  # built in: not signed off per file
_NO_REASON = frozenset({"not_produced"})  # what a row without an output gets when nothing said why
_HASH = re.compile(r"[0-9a-f]{64}")
_SHOWN = 5  # participants named in one failure; the rest are counted


def run_check_name(folder: str, line: int) -> str:
    """The name of check 3 for one registered run."""
    return f"run {folder} (ledger line {line}) passes `verify RUN`"


# -- the ledger, read line by line --------------------------------------------------------------

@dataclass(frozen=True)
class _Run:
    """A ``run`` or ``reissue`` entry of the ledger."""

    line: int
    event: str
    folder: str  # as recorded: relative to the campaign folder when inside it
    head: str
    time: str
    letters: tuple[tuple[str, str, str], ...]  # job (participant id), SHA-256, reference
    supersedes: tuple[tuple[str, str], ...]  # job, SHA-256 of the letter replaced
    reason: str

    @property
    def shown(self) -> str:
        return f"{self.folder} (ledger line {self.line})"


@dataclass(frozen=True)
class _Book:
    """The ledger as far as it can be read: a broken line is reported, the rest still used."""

    head: str
    lines: int
    runs: tuple[_Run, ...]
    others: tuple[tuple[int, str, Mapping[str, Any]], ...]  # approvals, returns, packages

    def in_order(self) -> Iterator[tuple[int, _Run | Mapping[str, Any]]]:
        merged: list[tuple[int, _Run | Mapping[str, Any]]] = [(r.line, r) for r in self.runs]
        merged += [(line, record) for line, _, record in self.others]
        yield from sorted(merged, key=lambda item: item[0])


def _strings(item: object, n: int) -> bool:
    return isinstance(item, list) and len(item) >= n and all(isinstance(x, str) for x in item[:n])


def _shape(record: Mapping[str, Any]) -> str | None:
    """What is wrong with an entry's fields, if they are not those hhp-letters writes."""
    event = record.get("event")
    if event in ("run", "reissue"):
        if not isinstance(record.get("run_folder"), str) or not record["run_folder"]:
            return "a run entry that names no run folder"
        if not isinstance(record.get("audit_head"), str) or \
                not _HASH.fullmatch(record["audit_head"]):
            return "a run entry without the run's audit head"
        letters = record.get("letters")
        if not isinstance(letters, list) or not all(_strings(i, 3) for i in letters):
            return "a run entry whose letters are not (participant, SHA-256, reference) lists"
        if event == "reissue":
            supersedes = record.get("supersedes")
            if not isinstance(supersedes, list) or not all(_strings(i, 2) for i in supersedes):
                return "a re-issue entry that does not say which letters it supersedes"
            if not isinstance(record.get("reason"), str):
                return "a re-issue entry without a reason"
    elif event == "returned":
        if not all(isinstance(record.get(k), str) for k in ("participant_id", "output_sha256",
                                                              "reference")):
            return "a returned entry that names no letter"
    elif event == "approval":
        if not all(isinstance(record.get(k), str) for k in ("by", "campaign_name",
                                                              "proof_audit_head")) or \
                not isinstance(record.get("inputs"), list) or \
                not all(_strings(i, 3) for i in record["inputs"]):
            return "an approval entry without who signed off, the proof or its inputs"
    elif event == "package":
        if not isinstance(record.get("run_audit_head"), str):
            return "a package entry that names no run"
    else:
        return f"event {event!r} is not one hhp-letters writes"
    return None


def _read_book(root: Path, result: Result) -> _Book:
    """Check 1, and the entries for the other checks (every line that can be read)."""
    path = root / LEDGER_FILE
    for problem in ledger_problems(root):
        result.fail(problem)
    runs: list[_Run] = []
    others: list[tuple[int, str, Mapping[str, Any]]] = []
    head, number = GENESIS, 0
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        result.checked += 1
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue  # ledger_problems named it
        if not isinstance(record, dict):
            continue
        head = str(record.get("hash", ""))
        wrong = _shape(record)
        if wrong is not None:
            result.fail(f"{LEDGER_FILE} line {number}: {wrong}")
            continue
        event = str(record["event"])
        if event in ("run", "reissue"):
            runs.append(_Run(
                number, event, record["run_folder"], record["audit_head"],
                str(record.get("time", "")),
                tuple((i[0], i[1], i[2]) for i in record["letters"]),
                tuple((i[0], i[1]) for i in record.get("supersedes", [])),
                str(record.get("reason", ""))))
        else:
            others.append((number, event, record))
    return _Book(head, number, tuple(runs), tuple(others))


# -- where the runs are --------------------------------------------------------------------------

def _run_path(root: Path, folder: str) -> Path:
    path = Path(folder)
    return path if path.is_absolute() else root / path


def _head_of(folder: Path) -> str | None:
    path = folder / HEAD_FILE
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _run_folders(root: Path) -> Iterator[Path]:
    """Run folders a few levels down in the campaign folder (where runs are usually made)."""
    for pattern in ("*/" + HEAD_FILE, "*/*/" + HEAD_FILE, "*/*/*/" + HEAD_FILE):
        for candidate in sorted(root.glob(pattern)):
            if (candidate.parent / AUDIT_FILE).is_file():
                yield candidate.parent


def _find_moved(root: Path, head: str) -> Path | None:
    """A registered run that is not where the ledger says may have been moved within the
    campaign folder."""
    return next((f for f in _run_folders(root) if _head_of(f) == head), None)


def _unregistered(root: Path, name: str, book: _Book, result: Result) -> None:
    """A live run of this campaign in its folder that the ledger does not register (a line
    was removed, or the run was copied in from elsewhere)."""
    heads = {run.head for run in book.runs}
    folders = {_run_path(root, run.folder).resolve() for run in book.runs}
    for folder in _run_folders(root):
        if _head_of(folder) in heads or folder.resolve() in folders:
            continue  # registered (a replaced audit is check 2's own failure)
        first = next(_audit_records(folder), {})
        if first.get("campaign_name") == name and not (first.get("options") or {}).get("proof"):
            result.fail(f"{folder.relative_to(root).as_posix()}: a live run of this campaign "
                        "that the ledger does not register")


def _place_runs(root: Path, book: _Book, result: Result) -> list[tuple[_Run, Path]]:
    """Check 2, first half: each registered run is in its folder and ends at its head."""
    present: list[tuple[_Run, Path]] = []
    heads: dict[str, int] = {}
    folders: dict[str, int] = {}
    for run in book.runs:
        result.checked += 1
        if run.head in heads:
            result.fail(f"{run.shown}: the run of ledger line {heads[run.head]} is registered "
                        "again")
            continue
        heads[run.head] = run.line
        path = _run_path(root, run.folder)
        key = str(path.resolve())
        if key in folders:
            result.fail(f"{run.shown}: the folder of ledger line {folders[key]} is registered "
                        "again, for a different run")
        folders[key] = run.line
        if not path.is_dir():
            moved = _find_moved(root, run.head)
            where = f"; a run with its audit head is at {moved.relative_to(root).as_posix()}" \
                if moved is not None else ""
            result.fail(f"{run.shown}: the run folder is missing (moved or deleted){where}")
            continue
        head = _head_of(path)
        if head is None:
            result.fail(f"{run.shown}: {HEAD_FILE} is missing, so the folder does not hold the "
                        "run the ledger recorded")
        elif head != run.head:
            result.fail(f"{run.shown}: {HEAD_FILE} is {head[:12]}…, the ledger recorded "
                        f"{run.head[:12]}…: the folder holds a different run (its audit was "
                        "replaced)")
        else:
            present.append((run, path))
    _pending(root, heads, result)
    return present


def _pending(root: Path, registered: Mapping[str, int], result: Result) -> None:
    """A run that finished but was never registered (the command was killed in between)."""
    for marker in sorted((root / SECRETS_DIR).glob(f"{PENDING_PREFIX}*.json")):
        try:
            fields = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(fields, dict):
            continue
        head, run_path = fields.get("audit_head"), Path(str(fields.get("run_path", "")))
        if head not in registered and run_path.is_dir() and _head_of(run_path) == head:
            result.fail(f"{SECRETS_DIR}/{marker.name}: the run at {run_path} finished but is not "
                        "registered yet; any `letters` command on this campaign registers it")


# -- what the runs' audits say -----------------------------------------------------------------

class _Alloc(NamedTuple):
    row: int | None
    pid: str
    job: str
    arm: str | None
    authority: str | None
    status: str | None
    reason: str | None
    output: str | None
    sha: str | None


def _audit_records(folder: Path) -> Iterator[dict[str, Any]]:
    """audit.jsonl, record by record; a line that is not a record is skipped (`verify RUN`,
    check 3, names it)."""
    try:
        fh = (folder / AUDIT_FILE).open("rb")
    except OSError:
        return
    with fh:
        for raw in fh:
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict):
                yield record


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _job_of(record: Mapping[str, Any], notes: bool) -> str:
    """What the ledger knows an output by: the participant id, or a note's team."""
    pid = str(record.get("participant_id"))
    team, authority = record.get("team"), record.get("authority")
    if notes and team and authority:
        return TeamKey(str(authority), fold(str(team))).text
    return pid


def _show(job: str) -> str:
    return repr(job.replace("\x1f", "/"))


def _some(jobs: set[str]) -> str:
    names = sorted(jobs)
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(_show(j) for j in names[:_SHOWN]) + more


def _arms_text(arms: tuple[str, ...]) -> str:
    return "/".join(arms) if arms else "no"


class _Made(NamedTuple):
    """A letter a registered run made, as the ledger lists it."""

    run: _Run
    job: str
    sha: str
    reference: str


@dataclass
class _Person:
    """One participant across the runs (mutable while the audits are read, then only read)."""

    arms: tuple[str, ...]
    arms_where: str
    last_line: int
    rows: tuple[_Alloc, ...]
    reason: str | None = None  # the latest reason that is not a re-issue's `not_requested`
    reason_where: str = ""
    reported: bool = False


@dataclass
class _Replay:
    """The ledger replayed in order: which letter is effective for whom."""

    effective: dict[str, _Made] = field(default_factory=dict)
    made: dict[str, _Made] = field(default_factory=dict)  # by SHA-256
    letters: Counter[str] = field(default_factory=Counter)  # per job, every run
    reissued: Counter[str] = field(default_factory=Counter)
    returned: Counter[str] = field(default_factory=Counter)
    returned_open: set[str] = field(default_factory=set)  # effective letter came back
    returns: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)


def _replay(book: _Book, rows: Result) -> _Replay:
    """Nobody has two effective letters: only a re-issue replaces one, naming it, with a
    reason (check 4, from the ledger)."""
    state = _Replay()
    for line, item in book.in_order():
        if not isinstance(item, _Run):
            if item.get("event") == "returned":
                state.returns.append((line, item))
                job, sha = str(item["participant_id"]), str(item["output_sha256"])
                state.returned[job] += 1
                current = state.effective.get(job)
                if current is not None and current.sha == sha:
                    state.returned_open.add(job)
            continue
        run = item
        supersedes = dict(run.supersedes)
        jobs = Counter(job for job, _, _ in run.letters)
        for job, n in sorted(jobs.items()):
            if n > 1:
                rows.fail(f"{run.shown} lists {n} letters for {_show(job)}")
        if run.event == "reissue":
            if not run.reason.strip():
                rows.fail(f"re-issue {run.shown} gives no reason")
            for job in sorted(set(supersedes) - set(jobs)):
                rows.fail(f"re-issue {run.shown} supersedes the letter of {_show(job)} but makes "
                          "no letter for them")
        for job, sha, reference in run.letters:
            rows.checked += 1
            current = state.effective.get(job)
            if run.event == "run" and current is not None:
                rows.fail(f"participant {_show(job)} got a second letter from {run.shown} while "
                          f"the letter from {current.run.shown} was effective; only a re-issue "
                          "replaces a letter")
            elif run.event == "reissue":
                named = supersedes.get(job)
                if named is None:
                    rows.fail(f"re-issue {run.shown} replaces the letter of {_show(job)} without "
                              "naming the letter it supersedes")
                elif current is not None and named != current.sha:
                    rows.fail(f"re-issue {run.shown} supersedes letter {named[:12]}… of "
                              f"{_show(job)}, but their effective letter was {current.sha[:12]}… "
                              f"({current.run.shown})")
                state.reissued[job] += 1
            made = _Made(run, job, sha, reference)
            state.effective[job] = made
            state.made.setdefault(sha, made)
            state.letters[job] += 1
            state.returned_open.discard(job)  # re-issued to a corrected address
    return state


@dataclass
class _Runs:
    """Check 2's second half and check 4's rows, from one pass over each run's audit."""

    name: str  # the campaign's name, which every run must carry
    book: _Book
    replay: _Replay
    runs: Result
    rows: Result
    people: dict[str, _Person] = field(default_factory=dict)
    inputs: dict[int, list[Any]] = field(default_factory=dict)  # ledger line → audit inputs
    latest: _Run | None = None

    def read(self, run: _Run, folder: Path) -> None:
        first: dict[str, Any] = {}
        allocs: dict[str, list[_Alloc]] = {}
        produced: set[tuple[str, str]] = set()
        supersedes = dict(run.supersedes)
        notes = False
        for record in _audit_records(folder):
            event = record.get("event")
            if event == "run" and not first:
                first = record
                notes = record.get("command") == "notes"
            elif event == "allocation":
                a = _Alloc(record.get("row") if isinstance(record.get("row"), int) else None,
                           str(record.get("participant_id")), _job_of(record, notes),
                           _text(record.get("arm")), _text(record.get("authority")),
                           _text(record.get("status")), _text(record.get("reason")),
                           _text(record.get("output")), _text(record.get("output_sha256")))
                allocs.setdefault(a.pid, []).append(a)
                self._allocation(run, a, record, supersedes)
                if a.status == "produced" and a.sha is not None:
                    produced.add((a.job, a.sha))
        self._matches(run, first, produced)
        self.inputs[run.line] = list(first.get("inputs") or [])
        for pid, rows in allocs.items():
            self._merge(run, pid, tuple(rows))
        self.latest = run

    def _allocation(self, run: _Run, a: _Alloc, record: Mapping[str, Any],
                    supersedes: Mapping[str, str]) -> None:
        where = f"participant {a.pid!r} (row {a.row})"
        if a.arm != "treatment" and (a.output is not None or a.status == "produced"):
            self.rows.fail(f"{a.arm or 'unknown-arm'} participant {a.pid!r} (row {a.row}) has "
                           f"a letter in {run.shown}: {a.output}")
        if a.reason == "already_sent":
            earlier = record.get("earlier")
            sha = str(earlier.get("output_sha256")) if isinstance(earlier, dict) else ""
            made = self.replay.made.get(sha)
            if made is None or made.run.line >= run.line or made.job != a.job:
                self.rows.fail(f"{where} is withheld in {run.shown} as already sent, with a "
                               f"letter ({sha[:12]}…) no earlier registered run made for them")
        if a.status != "produced":
            return
        replaced = record.get("supersedes")
        if run.event == "reissue":
            named = replaced.get("output_sha256") if isinstance(replaced, dict) else None
            if named != supersedes.get(a.job):
                self.runs.fail(f"{run.shown}: its audit says the new letter of {where} "
                               f"supersedes {str(named)[:12]}…, the ledger says "
                               f"{str(supersedes.get(a.job))[:12]}…")
            elif isinstance(replaced, dict) and replaced.get("reason") != run.reason:
                self.runs.fail(f"{run.shown}: its audit gives the re-issue of {where} another "
                               "reason than the ledger does")
        elif replaced is not None:
            self.runs.fail(f"{run.shown}: its audit says the letter of {where} supersedes "
                           "another, but the ledger registers an ordinary run, not a re-issue")

    def _matches(self, run: _Run, first: Mapping[str, Any], produced: set[tuple[str, str]]
                 ) -> None:
        """The run is of this campaign, live, and made the letters the ledger lists."""
        if not first:
            self.runs.fail(f"{run.shown}: its {AUDIT_FILE} has no run record")
            return
        name = str(first.get("campaign_name", ""))
        if name != self.name:
            self.runs.fail(f"{run.shown}: a run of the campaign {name!r}, not of {self.name!r}")
        if (first.get("options") or {}).get("proof"):
            self.runs.fail(f"{run.shown}: a proof run, registered as a live run")
        listed = {(job, sha) for job, sha, _ in run.letters}
        if listed - produced:
            self.runs.fail(f"{run.shown}: the ledger lists letters its audit does not record "
                           f"({_some({job for job, _ in listed - produced})})")
        if produced - listed:
            self.runs.fail(f"{run.shown}: its audit records letters the ledger does not list "
                           f"({_some({job for job, _ in produced - listed})})")
        if first.get("command") != "notes":
            for job, _, reference in run.letters:
                expected = letter_reference(name, job)
                if reference != expected:
                    self.runs.fail(f"{run.shown}: the letter of {_show(job)} is listed with "
                                   f"reference {reference!r}; hhp-letters gives it {expected}")

    def _merge(self, run: _Run, pid: str, rows: tuple[_Alloc, ...]) -> None:
        arms = tuple(sorted(a.arm or "unknown" for a in rows))
        person = self.people.get(pid)
        if person is None:
            person = self.people[pid] = _Person(arms, run.shown, run.line, rows)
        elif arms != person.arms and not person.reported:
            self.rows.fail(f"participant {pid!r} is in the {_arms_text(person.arms)} arm in "
                           f"{person.arms_where}, but in the {_arms_text(arms)} arm in "
                           f"{run.shown}: the runs disagree on the randomisation")
            person.reported = True
        person.last_line, person.rows = run.line, rows
        first = rows[0]
        if first.reason != "not_requested":  # a re-issue run says nothing about the others
            person.reason = None if first.status == "produced" else first.reason
            person.reason_where = run.shown

    def account(self) -> None:
        """Each row of the latest list: one effective letter or a reason."""
        latest = self.latest
        if latest is None:
            self.rows.fail("no registered run could be read, so no row can be accounted for")
            return
        effective = self.replay.effective
        for pid, person in sorted(self.people.items()):
            if person.last_line != latest.line:
                self.rows.fail(f"participant {pid!r} was in the list {person.arms_where} read, "
                               f"but not in the list the latest run ({latest.shown}) read")
                continue
            for a in person.rows:
                self.rows.checked += 1
                if a.arm != "treatment" or a.job in effective:
                    continue
                where = f"treatment participant {pid!r} (row {a.row})"
                if person.reason is None or person.reason in _NO_REASON:
                    self.rows.fail(f"{where} has no letter and no reason "
                                   f"({person.reason_where or latest.shown} records "
                                   f"{person.reason or 'none'})")
                elif person.reason == "already_sent":
                    self.rows.fail(f"{where} has no effective letter, but "
                                   f"{person.reason_where} withheld them as already sent")
        arms = self.job_arms()
        for run in self.book.runs:
            for job, _, _ in run.letters:
                found = arms.get(job)
                if found is None:
                    self.rows.fail(f"{run.shown} made a letter for {_show(job)}, who is not in "
                                   "the randomised list the latest run read")
                elif "treatment" not in found:
                    self.rows.fail(f"{run.shown} made a letter for {_show(job)}, who is in the "
                                   f"{_arms_text(tuple(sorted(found)))} arm")

    def job_arms(self) -> dict[str, set[str]]:
        latest = self.latest.line if self.latest is not None else -1
        out: dict[str, set[str]] = {}
        for person in self.people.values():
            if person.last_line == latest:
                for a in person.rows:
                    out.setdefault(a.job, set()).add(a.arm or "unknown")
        return out


# -- re-issues, returns, packages, approvals ---------------------------------------------------

def _links(record: _Runs, links: Result) -> None:
    """Check 5: what the ledger says came back or was replaced is a letter the campaign made,
    for a treatment participant."""
    arms = record.job_arms()
    made = record.replay.made
    heads = {run.head for run in record.book.runs}

    def treatment(where: str, job: str) -> None:
        found = arms.get(job)
        if found is None:
            links.fail(f"{where} is for {_show(job)}, who is not in the randomised list")
        elif "treatment" not in found:
            links.fail(f"{where} is for {_show(job)}, who is in the "
                       f"{_arms_text(tuple(sorted(found)))} arm")

    for run in record.book.runs:
        for job, sha in run.supersedes:
            links.checked += 1
            letter = made.get(sha)
            where = f"re-issue {run.shown}"
            if letter is None or letter.run.line >= run.line or letter.job != job:
                links.fail(f"{where} supersedes letter {sha[:12]}… of {_show(job)}, which no "
                           "earlier registered run made for them")
            treatment(where, job)
    for line, entry in record.replay.returns:
        links.checked += 1
        job, sha, reference = (str(entry["participant_id"]), str(entry["output_sha256"]),
                               str(entry["reference"]))
        where = f"{LEDGER_FILE} line {line}: the returned letter {reference}"
        letter = made.get(sha)
        if letter is None or letter.run.line >= line:
            links.fail(f"{where} ({sha[:12]}…) is not a letter a registered run made before it")
        elif letter.job != job:
            links.fail(f"{where} is the letter of {_show(letter.job)}, not of {_show(job)}")
        elif letter.reference != reference:
            links.fail(f"{where} is listed with reference {letter.reference} where it was made")
        treatment(where, job)
    for line, event, entry in record.book.others:
        if event == "package":
            links.checked += 1
            if entry["run_audit_head"] not in heads:
                links.fail(f"{LEDGER_FILE} line {line}: the package {entry.get('package')!r} "
                           "was made from a run the ledger does not register")


def _approvals(root: Path, campaign: Campaign | None, record: _Runs, present: list[_Run],
               result: Result) -> None:
    """Check 5 for sign-offs: each approval is of a proof of this campaign; when campaign.toml
    requires approval, every live run read the inputs of the sign-off before it."""
    approvals = [(line, entry) for line, event, entry in record.book.others
                 if event == "approval"]
    public = read_public_key(root / SECRETS_DIR / PUBLIC_KEY) \
        if (root / SECRETS_DIR / PUBLIC_KEY).is_file() else None
    ours = campaign.path if campaign is not None else root / "campaign.toml"
    for line, entry in approvals:
        result.checked += 1
        where = f"{LEDGER_FILE} line {line}: the approval by {entry['by']}"
        if entry["campaign_name"] != record.name:
            result.fail(f"{where} is for the campaign {entry['campaign_name']!r}, not for this "
                        f"one ({record.name!r})")
        proof = Path(str(entry.get("proof_folder", "")))
        if not proof.is_absolute() or _head_of(proof) != entry["proof_audit_head"]:
            continue  # the proof was replaced or removed since: its hashes are the record
        first = next(_audit_records(proof), {})
        if not (first.get("options") or {}).get("proof"):
            result.fail(f"{where} signed off {proof}, which is a live run, not a proof")
        made_from = Path(str(first.get("campaign", "")))
        if made_from.is_file() and ours.is_file() and not made_from.samefile(ours):
            result.fail(f"{where} signed off {proof}, a proof made from {made_from}, not from "
                        "this campaign's campaign.toml")
        sig = proof / SIG_FILE
        if public is not None and not (sig.is_file() and signature_ok(
                public, entry["proof_audit_head"], sig.read_bytes())):
            result.fail(f"{where} signed off {proof}, a proof not signed with this campaign's "
                        "key")
    if campaign is None or not campaign.spec.campaign.require_approval:
        return
    for run in present:
        before = [(line, e) for line, e in approvals if line < run.line]
        if not before:
            result.fail(f"{run.shown} was made with no sign-off recorded before it, and "
                        "campaign.toml requires approval")
            continue
        line, approval = before[-1]
        signed = {(r, p): s for r, p, s in (i[:3] for i in approval["inputs"])
                  if r not in TOOL_ROLES}
        read = {(str(i.get("role")), str(i.get("path"))): i.get("sha256")
                for i in record.inputs.get(run.line, []) if isinstance(i, dict)
                and i.get("role") not in TOOL_ROLES}
        for role, path in sorted(set(signed) | set(read)):
            if signed.get((role, path)) != read.get((role, path)):
                result.fail(f"{run.shown}: {path} ({role}) is not the file {approval['by']} "
                            f"signed off ({LEDGER_FILE} line {line})")


# -- putting it together -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Record:
    root: Path
    campaign: Campaign | None
    book: _Book
    checks: tuple[Result, ...]  # ledger, runs, rows, links, approvals
    present: tuple[tuple[_Run, Path], ...]
    runs: _Runs


def _campaign_folder(target: Path) -> Path:
    root = target.parent if target.is_file() else target
    if not root.is_dir():
        raise UsageError(f"no campaign folder at {target}",
                         hint="give the folder holding campaign.toml (or a run folder to verify "
                              "one run)")
    return root


def _examine(target: Path) -> _Record:
    root = _campaign_folder(target)
    campaign: Campaign | None
    try:
        campaign = load_campaign(root)
    except HhpError:
        campaign = None
    kind = campaign.kind if campaign is not None else "letters"
    if not (root / LEDGER_FILE).is_file():
        raise UsageError(f"no live runs registered in {root} yet; run `hhp-letters {kind} "
                         f"{root} --out RUN` first",
                         hint="`verify` checks a campaign's registered live runs; give a run "
                              "folder to verify one run")
    ledger, runs_result, rows, links, approvals = (
        Result(LEDGER_CHECK), Result(RUNS_CHECK), Result(ROWS_CHECK), Result(LINKS_CHECK),
        Result(APPROVALS_CHECK))
    book = _read_book(root, ledger)
    if not book.runs and ledger.ok:
        raise UsageError(f"no live runs registered in {root} yet; run `hhp-letters {kind} "
                         f"{root} --out RUN` first",
                         hint="the ledger holds only sign-offs so far")
    present = _place_runs(root, book, runs_result)
    replay = _replay(book, rows)
    name = campaign.spec.campaign.name if campaign is not None else ""
    if campaign is None:
        approvals.fail("campaign.toml cannot be read, so the sign-offs cannot be matched to it: "
                       "run `hhp-letters check CAMPAIGN`")
        first = next(_audit_records(present[-1][1]), {}) if present else {}
        name = str(first.get("campaign_name", ""))
    _unregistered(root, name, book, runs_result)
    record = _Runs(name, book, replay, runs_result, rows)
    for run, path in present:
        record.read(run, path)
    record.account()
    _links(record, links)
    _approvals(root, campaign, record, [run for run, _ in present], approvals)
    return _Record(root, campaign, book, (ledger, runs_result, rows, links, approvals),
                   tuple(present), record)


def _verify_one(run: _Run, folder: Path, root: Path) -> Result:
    """Check 3 for one run: `verify RUN` with this campaign's keys, so a run signed by another
    campaign fails even if it names this one."""
    result = Result(run_check_name(run.folder, run.line))
    public, digest = root / SECRETS_DIR / PUBLIC_KEY, root / SECRETS_DIR / DIGEST_KEY
    try:
        checks = verify_run(folder, public_key=public if public.is_file() else None,
                            digest_key=digest if digest.is_file() else None)
    except HhpError as exc:
        result.fail(exc.message)
        return result
    for check in checks:
        result.checked += check.checked
        for failure in check.failures:
            result.fail(f"{check.name}: {failure}")
        result.failed += check.failed - len(check.failures)  # counted there, not kept
    return result


def verify_campaign(root: Path) -> list[Result]:
    """`hhp-letters verify CAMPAIGN`: the ledger, every registered run and the campaign's
    promises together (see the module's docstring for the five checks). ``root``: the
    campaign folder (or its campaign.toml). :class:`UsageError` when nothing is registered."""
    record = _examine(root)
    ledger, runs, rows, links, approvals = record.checks
    per_run = [_verify_one(run, path, record.root) for run, path in record.present]
    return [ledger, runs, *per_run, rows, links, approvals]


# -- the campaign's CONSORT flow ---------------------------------------------------------------

@dataclass(frozen=True)
class Flow:
    """One arm of the campaign's flow, or one authority within an arm. People are counted
    (participants, rows of the list); ``letters`` and ``reissued`` count letters."""

    arm: str
    authority: str | None  # None: the whole arm
    allocated: int
    letters: int  # produced over all runs: first letters and replacements
    reissued: int  # replacement letters
    effective: int  # participants with one effective letter
    withheld: tuple[tuple[str, int], ...]  # (reason, participants) for those without a letter
    returned: int  # letters that came back undelivered (including ones replaced since)
    returned_open: int  # participants whose effective letter came back (not re-issued since)

    @property
    def not_sent(self) -> int:
        return sum(n for _, n in self.withheld)

    @property
    def presumed_delivered(self) -> int:
        return self.effective - self.returned_open

    def check(self) -> None:
        """The numbers add up (they are counted from a record that verified)."""
        where = f"the {self.arm} arm" + (f" of {self.authority}" if self.authority else "")
        if self.allocated != self.effective + self.not_sent:
            raise InternalError(f"{where}: allocated ≠ effective letters + not sent")
        if self.letters != self.effective + self.reissued:
            raise InternalError(f"{where}: letters produced ≠ first letters + re-issues")
        if not 0 <= self.returned_open <= min(self.returned, self.effective):
            raise InternalError(f"{where}: more letters still returned than came back")
        if self.arm != "treatment" and self.letters:
            raise InternalError(f"{where}: letters for an arm that gets none")


@dataclass(frozen=True)
class RunFlow:
    """Letters one registered run produced (a re-issue's are replacements)."""

    line: int
    folder: str
    event: str  # run | reissue
    date: str  # UTC, from the ledger entry
    letters: int
    by_authority: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class CampaignFlow:
    """allocated → letters produced (per run) → re-issued → returned undelivered → presumed
    delivered, per arm and per authority, computed from the ledger ending at ``ledger_head``."""

    title: str
    ledger_head: str
    ledger_entries: int
    total_rows: int
    runs: tuple[RunFlow, ...]
    arms: tuple[Flow, ...]
    by_authority: tuple[Flow, ...]

    def check(self) -> None:
        if sum(a.allocated for a in self.arms) != self.total_rows:
            raise InternalError("the campaign's arms do not add up to the rows of the list")
        for flow in (*self.arms, *self.by_authority):
            flow.check()
        for arm in self.arms:
            parts = [f for f in self.by_authority if f.arm == arm.arm]
            for name in ("allocated", "letters", "reissued", "effective", "returned",
                         "returned_open"):
                if sum(getattr(f, name) for f in parts) != getattr(arm, name):
                    raise InternalError(f"the {arm.arm} arm's authorities do not add up "
                                        f"({name})")
        if sum(r.letters for r in self.runs) != sum(a.letters for a in self.arms):
            raise InternalError("the runs' letters do not add up to the arms'")
        if sum(r.letters for r in self.runs if r.event == "reissue") != \
                sum(a.reissued for a in self.arms):
            raise InternalError("the re-issue runs' letters are not the re-issues")
        for run in self.runs:
            if sum(n for _, n in run.by_authority) != run.letters:
                raise InternalError(f"{run.folder}: its authorities do not add up")


_ORDER = {"treatment": 0, "control": 1}


def campaign_flow(root: Path) -> CampaignFlow:
    """The campaign's flow, from its ledger and the audits of the runs it registers. Refuses
    (:class:`LedgerError`) a record that `verify CAMPAIGN`'s campaign checks fail: a summary is
    only as good as the record it counts."""
    record = _examine(root)
    if record.campaign is not None and record.campaign.kind == "notes":
        raise UsageError("the campaign summary counts letters; a notes campaign has none",
                         hint="each notes run has its own summary.html")
    failed = [check.failures[0] for check in record.checks[:4] if not check.ok]
    if failed:
        raise LedgerError(f"the campaign's record does not add up, so no summary was written: "
                          f"{failed[0]}",
                          hint="run `hhp-letters verify CAMPAIGN` for every problem")
    people, replay = record.runs.people, record.runs.replay
    latest = record.runs.latest
    if latest is None:
        raise InternalError("a record that verified has no run")
    rows = [a for p in people.values() if p.last_line == latest.line for a in p.rows]
    reasons = {pid: p.reason for pid, p in people.items()}
    authority_of = {a.job: a.authority or "?" for a in rows}

    def flow(arm: str, authority: str | None) -> Flow:
        mine = [a for a in rows if (a.arm or "unknown") == arm
                and (authority is None or (a.authority or "?") == authority)]
        jobs = {a.job for a in mine} if arm == "treatment" else set()
        with_letter = jobs & set(replay.effective)
        withheld: Counter[str] = Counter()
        for a in mine:
            if a.job not in with_letter:
                reason = reasons.get(a.pid) if a.arm == "treatment" else a.reason
                withheld[reason or "unknown"] += 1
        return Flow(arm, authority, len(mine), sum(replay.letters[j] for j in jobs),
                    sum(replay.reissued[j] for j in jobs), len(with_letter),
                    tuple(sorted(withheld.items())), sum(replay.returned[j] for j in jobs),
                    len(with_letter & replay.returned_open))

    arm_names = sorted({a.arm or "unknown" for a in rows}, key=lambda x: (_ORDER.get(x, 2), x))
    cells = sorted({(a.arm or "unknown", a.authority or "?") for a in rows},
                   key=lambda c: (c[1], _ORDER.get(c[0], 2), c[0]))
    runs = tuple(RunFlow(run.line, run.folder, run.event, run.time[:10], len(run.letters),
                         tuple(sorted(Counter(authority_of.get(job, "?")
                                              for job, _, _ in run.letters).items())))
                 for run in record.book.runs)
    result = CampaignFlow(
        record.campaign.spec.campaign.name if record.campaign is not None else record.runs.name,
        record.book.head, record.book.lines, len(rows), runs,
        tuple(flow(arm, None) for arm in arm_names),
        tuple(flow(arm, code) for arm, code in cells))
    result.check()
    return result


def _reason(code: str) -> str:
    return f"{REASON_TEXT.get(code, code)} (`{code}`)"


def _run_label(run: RunFlow) -> str:
    return f"{run.folder}" + (" (re-issue)" if run.event == "reissue" else "")


def to_markdown(flow: CampaignFlow) -> str:
    """summary.md: the flow per arm, letters per run, and per authority."""
    out = [f"# Campaign summary: {flow.title}", "",
           f"Computed from the campaign ledger ending at `{flow.ledger_head}` ({LEDGER_FILE}, "
           f"{flow.ledger_entries} entries) and the audits of the {len(flow.runs)} run(s) it "
           "registers.", "", f"Rows of the randomised list: **{flow.total_rows}**", ""]
    for a in flow.arms:
        out += [f"## {a.arm.capitalize()} arm", "", f"- Allocated: **{a.allocated}**",
                f"- Not sent a letter: **{a.not_sent}**"]
        out += [f"  - {_reason(code)}: {n}" for code, n in a.withheld]
        out.append(f"- Letters produced: **{a.letters}**")
        if a.arm == "treatment":
            out += [f"  - {_run_label(r)}, {r.date}: {r.letters}" for r in flow.runs]
            out += [f"- Re-issued (replacement letters): **{a.reissued}**",
                    f"- Participants with one effective letter: **{a.effective}**",
                    f"- Returned undelivered: **{a.returned}** (not re-issued since: "
                    f"**{a.returned_open}**)",
                    f"- Presumed delivered: **{a.presumed_delivered}**"]
        out.append("")
    codes = sorted({code for r in flow.runs for code, _ in r.by_authority})
    out += ["## Letters produced, per run", "",
            "| ledger line | run | kind | date (UTC) | letters | " + " | ".join(codes) + " |",
            "|---:|---|---|---|---:|" + "---:|" * len(codes)]
    for r in flow.runs:
        counts = dict(r.by_authority)
        out.append(f"| {r.line} | {r.folder} | {r.event} | {r.date} | {r.letters} | "
                   + " | ".join(str(counts.get(c, 0)) for c in codes) + " |")
    out += ["", "## By authority", "",
            "| authority | arm | allocated | not sent | letters produced | re-issued | "
            "effective | returned | presumed delivered |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    out += [f"| {f.authority} | {f.arm} | {f.allocated} | {f.not_sent} | {f.letters} | "
            f"{f.reissued} | {f.effective} | {f.returned} | {f.presumed_delivered} |"
            for f in flow.by_authority]
    out += ["", "Re-check with `hhp-letters verify CAMPAIGN`."]
    return "\n".join(out) + "\n"


def _clip(text: str, width: int = 44) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _diagram(flow: CampaignFlow) -> tuple[int, int, tuple[FlowBox, ...],
                                          tuple[tuple[int, int, int, int], ...]]:
    """Boxes and arrows: one column per arm, the flow top to bottom."""
    col_w, gap, step = 340, 40, 34
    boxes: list[FlowBox] = []
    arrows: list[tuple[int, int, int, int]] = []
    height = 0
    for i, a in enumerate(flow.arms):
        x = 10 + i * (col_w + gap)
        stages: list[tuple[str, ...]] = [
            (f"{a.arm.capitalize()}: allocated {a.allocated}",),
            (f"Not sent a letter: {a.not_sent}",
             *(_clip(f"  {REASON_TEXT.get(c, c)}: {n}") for c, n in a.withheld)),
            (f"Letters produced: {a.letters}",
             *((_clip(f"  {_run_label(r)}: {r.letters}") for r in flow.runs)
               if a.arm == "treatment" else ()))]
        if a.arm == "treatment":
            stages += [(f"Re-issued: {a.reissued}", f"  effective letters: {a.effective}"),
                       (f"Returned undelivered: {a.returned}",
                        f"  not re-issued since: {a.returned_open}"),
                       (f"Presumed delivered: {a.presumed_delivered}",)]
        y = 10
        previous: FlowBox | None = None
        for lines in stages:
            box = FlowBox(x, y, col_w, tuple(lines))
            if previous is not None:
                arrows.append((x + col_w // 2, previous.y + previous.h, x + col_w // 2, box.y))
            boxes.append(box)
            previous, y = box, box.y + box.h + step
        height = max(height, y - step + 10)
    return 20 + len(flow.arms) * (col_w + gap), height, tuple(boxes), tuple(arrows)


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Campaign summary: {{ f.title }}</title>
<style>
body { font-family: sans-serif; max-width: 64rem; margin: 2rem auto; color: #000; }
table { border-collapse: collapse; margin: 1rem 0; }
td, th { border: 1px solid #444; padding: .3rem .7rem; text-align: right; }
td.t, th.t { text-align: left; }
code { font-size: .85em; word-break: break-all; }
@media print { body { margin: 0; } svg { max-width: 100%; height: auto; } }
</style></head><body>
<h1>Campaign summary</h1>
<p>{{ f.title }}. Rows of the randomised list: <strong>{{ f.total_rows }}</strong>.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{{ width }}" height="{{ height }}" \
viewBox="0 0 {{ width }} {{ height }}" font-family="sans-serif" font-size="13" role="img" \
aria-label="Campaign flow">
<defs><marker id="arrow" markerWidth="10" markerHeight="10" refX="9" refY="3" orient="auto">\
<path d="M0,0 L9,3 L0,6 z"/></marker></defs>
{% for box in boxes %}
<rect x="{{ box.x }}" y="{{ box.y }}" width="{{ box.w }}" height="{{ box.h }}" fill="white" \
stroke="black"/>
{% for line in box.lines %}
<text x="{{ box.x + (26 if line.startswith(' ') else 10) }}" \
y="{{ box.y + 22 + 16 * loop.index0 }}" font-weight="{{ 'bold' if loop.first else 'normal' }}">\
{{ line.strip() }}</text>
{% endfor %}
{% endfor %}
{% for a in arrows %}
<line x1="{{ a[0] }}" y1="{{ a[1] }}" x2="{{ a[2] }}" y2="{{ a[3] }}" stroke="black" \
marker-end="url(#arrow)"/>
{% endfor %}
</svg>
<h2>Letters produced, per run</h2>
<table><tr><th>ledger line</th><th class="t">run</th><th class="t">kind</th>\
<th class="t">date (UTC)</th><th>letters</th>{% for c in codes %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r, counts in runs %}
<tr><td>{{ r.line }}</td><td class="t">{{ r.folder }}</td><td class="t">{{ r.event }}</td>\
<td class="t">{{ r.date }}</td><td>{{ r.letters }}</td>\
{% for n in counts %}<td>{{ n }}</td>{% endfor %}</tr>
{% endfor %}
</table>
<h2>By authority</h2>
<table><tr><th class="t">authority</th><th class="t">arm</th><th>allocated</th><th>not sent</th>\
<th>letters produced</th><th>re-issued</th><th>effective</th><th>returned</th>\
<th>presumed delivered</th></tr>
{% for a in f.by_authority %}
<tr><td class="t">{{ a.authority }}</td><td class="t">{{ a.arm }}</td><td>{{ a.allocated }}</td>\
<td>{{ a.not_sent }}</td><td>{{ a.letters }}</td><td>{{ a.reissued }}</td>\
<td>{{ a.effective }}</td><td>{{ a.returned }}</td><td>{{ a.presumed_delivered }}</td></tr>
{% endfor %}
</table>
<p>Computed from the campaign ledger ending at <code>{{ f.ledger_head }}</code>
(ledger.jsonl, {{ f.ledger_entries }} entries) and the audits of the runs it registers.
Re-check with <code>hhp-letters verify CAMPAIGN</code>.</p>
</body></html>
"""


def to_html(flow: CampaignFlow) -> str:
    """summary.html: self-contained (inline SVG, no external resource), every value escaped."""
    width, height, boxes, arrows = _diagram(flow)
    codes = sorted({code for r in flow.runs for code, _ in r.by_authority})
    runs = [(r, [dict(r.by_authority).get(c, 0) for c in codes]) for r in flow.runs]
    template = environment(autoescape=True).from_string(_HTML)
    return template.render(f=flow, width=width, height=height, boxes=boxes, arrows=arrows,
                           codes=codes, runs=runs)


def write_campaign_summary(root: Path, out: Path) -> tuple[Path, Path]:
    """`hhp-letters summary CAMPAIGN --out DIR`: DIR/summary.md and DIR/summary.html, each
    written whole or not at all."""
    if (out / AUDIT_FILE).exists():
        raise UsageError(f"{out} is a run folder, whose summary.md is the run's own",
                         hint="give another folder for the campaign summary")
    flow = campaign_flow(root)
    md, html = out / "summary.md", out / "summary.html"
    atomic_write_text(md, to_markdown(flow))
    atomic_write_text(html, to_html(flow))
    return md, html


__all__ = ["APPROVALS_CHECK", "LEDGER_CHECK", "LINKS_CHECK", "ROWS_CHECK", "RUNS_CHECK",
           "CampaignFlow", "Flow", "RunFlow", "campaign_flow", "run_check_name", "to_html",
           "to_markdown", "verify_campaign", "write_campaign_summary"]
