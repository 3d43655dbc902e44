"""`hhp-letters verify`: re-check a finished run from its folder (and, optionally, the
randomised list) without trusting anything the run says about itself.

Everything streams: the audit is read once, each file is hashed once, and what the checks
need to compare (ids, rows, hashes) goes into verify's own temporary SQLite index, so memory
stays flat for a run of any size and no page's text is kept.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hhp_letters.audit import (
    AUDIT_FILE,
    GENESIS,
    HEAD_FILE,
    META_FILES,
    SIG_FILE,
    SUMS_FILE,
    canonical,
    file_sha256,
    record_hash,
)
from hhp_letters.errors import HhpError, UsageError
from hhp_letters.keys import (
    DIGEST_KEY,
    PUBLIC_KEY,
    SECRETS_DIR,
    keyed_digest,
    read_digest_key,
    read_public_key,
    readback_form,
    signature_ok,
)
from hhp_letters.parallel import in_order
from hhp_letters.pdftext import UnreadablePdf, page_count_and_text
from hhp_letters.preflight import Preflight, preflight
from hhp_letters.summary import Tally, to_html, to_markdown
from hhp_letters.workspace import signals_as_interrupts, store_error

META = frozenset({*META_FILES, SUMS_FILE})
MAX_DETAILS = 20
MAX_KEPT = 1000  # failures kept per check; the rest are counted


@dataclass
class Result:
    name: str
    failures: list[str] = field(default_factory=list)
    checked: int = 0
    failed: int = 0  # failures found, including those not kept

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def fail(self, message: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_KEPT:
            self.failures.append(message)


_INDEX = """
CREATE TABLE alloc (seq INTEGER, row INTEGER, pid TEXT, arm TEXT, authority TEXT,
                    status TEXT, reason TEXT, output TEXT, sha TEXT, team TEXT,
                    cluster TEXT, digests TEXT, text_at TEXT, causes TEXT);
CREATE INDEX alloc_row ON alloc(row);
CREATE TABLE recorded (path TEXT, sha TEXT, kind TEXT, seq INTEGER);
CREATE INDEX recorded_path ON recorded(path);
CREATE TABLE disk (path TEXT PRIMARY KEY, sha TEXT);
CREATE TABLE sums (path TEXT, sha TEXT, line INTEGER);
CREATE TABLE seen (row INTEGER PRIMARY KEY);
CREATE TABLE people (pid TEXT PRIMARY KEY, forms TEXT);
CREATE TABLE named (form TEXT, pid TEXT);
CREATE TABLE listed (row INTEGER PRIMARY KEY, authority TEXT, team_key TEXT, treatment INTEGER,
                     team TEXT, site TEXT, manager_first_name TEXT, first_name TEXT,
                     preferred_name TEXT, last_name TEXT, address_1 TEXT, town TEXT,
                     postcode TEXT, arm TEXT);
CREATE INDEX listed_team ON listed(authority, team_key);
CREATE TABLE sites (site TEXT, arm TEXT, PRIMARY KEY (site, arm));
"""


class _Index:
    """verify's own index of a run: built from the files, never from the run's store."""

    def __init__(self, folder: Path) -> None:
        self.conn = sqlite3.connect(folder / "verify.sqlite", isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _INDEX)
        self.conn.execute("BEGIN")

    def close(self) -> None:
        self.conn.close()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[sqlite3.Row]:
        # not `yield from`: a generator left unfinished by an interrupt is closed after the
        # index, and `yield from` would then close its cursor on a closed database
        for row in self.conn.execute(sql, params):  # noqa: UP028
            yield row

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]


@dataclass
class _Audit:
    run: dict[str, Any] = field(default_factory=dict)
    close: dict[str, Any] = field(default_factory=dict)
    allocations: int = 0
    head: str = ""
    tally: Tally = field(default_factory=Tally)


def _walk(run: Path, result: Result) -> Iterator[tuple[str, Path]]:
    """Every regular file under the run folder; a symbolic link anywhere is a failure (it
    could point at a file that is not part of the run)."""
    for path in sorted(run.rglob("*")):
        rel = path.relative_to(run).as_posix()
        if path.is_symlink():
            result.fail(f"{rel}: a symbolic link; a run folder holds only its own files")
        elif path.is_file():
            yield rel, path


def check_chain(run: Path, index: _Index) -> tuple[Result, _Audit]:
    """One pass over audit.jsonl: the chain, and what the other checks need, into the index."""
    result = Result("audit hash chain ends at audit.head")
    audit = _Audit()
    path = run / AUDIT_FILE
    if not path.is_file() or path.is_symlink():
        result.fail(f"{AUDIT_FILE} is missing")
        return result, audit
    prev = GENESIS
    number = 0
    last_event = None
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            where = f"{AUDIT_FILE} line {number}"
            try:
                line = raw.decode("utf-8").rstrip("\n")
                record = json.loads(line, parse_constant=_no_constant)
            except UnicodeDecodeError:
                result.fail(f"{where}: not UTF-8 text (the file was altered)")
                continue
            except json.JSONDecodeError as exc:
                result.fail(f"{where}: not JSON ({exc.msg})")
                continue
            except (ValueError, RecursionError):  # NaN, Infinity, or nested past any record
                result.fail(f"{where}: not a record hhp-letters writes (the file was altered)")
                continue
            if not isinstance(record, dict):
                result.fail(f"{where}: not a JSON object")
                continue
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
            _index_record(record, number, audit, index)
            last_event = record.get("event")
            result.checked += 1
    audit.head = prev
    head_path = run / HEAD_FILE
    head = head_path.read_text(encoding="utf-8", errors="replace").strip() \
        if head_path.is_file() else None
    if head is None:
        result.fail(f"{HEAD_FILE} is missing")
    elif head != prev:
        result.fail(f"the last record's hash {prev[:12]}… is not audit.head {head[:12]}…: the "
                    "log was truncated or extended")
    if number and (audit.run.get("event") != "run" or last_event != "close"):
        result.fail("the log must start with a 'run' record and end with a 'close' record")
    return result, audit


def _index_record(record: dict[str, Any], number: int, audit: _Audit, index: _Index) -> None:
    event = record.get("event")
    if event == "run" and not audit.run:
        audit.run = record
    elif event == "close":
        audit.close = record
    elif event == "allocation":
        audit.allocations += 1
        audit.tally.add(record)
        index.conn.execute(
            "INSERT INTO alloc VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (record.get("seq"), _scalar(record.get("row")), _text(record.get("participant_id")),
             _text(record.get("arm")), _text(record.get("authority")),
             _text(record.get("status")), _text(record.get("reason")),
             _text(record.get("output")), _text(record.get("output_sha256")),
             _text(record.get("team")), _text(record.get("cluster")),
             json.dumps(record.get("digests")), json.dumps(record.get("text_at")),
             json.dumps(record.get("cause_rows") or [])))
    elif event == "file":
        index.conn.execute("INSERT INTO recorded VALUES (?,?,?,?)",
                           (_text(record.get("path")), _text(record.get("sha256")),
                            _text(record.get("kind")), number))


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON an audit holds")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _scalar(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def hash_folder(run: Path, index: _Index) -> Result:
    """Hash every file of the run once (the other checks compare against these)."""
    result = Result("the run folder holds only regular files")
    for rel, path in _walk(run, result):
        index.conn.execute("INSERT INTO disk VALUES (?, ?)", (rel, file_sha256(path)))
        result.checked += 1
    for folder in sorted(p for p in run.rglob("*") if p.is_dir() and not p.is_symlink()):
        if not any(folder.iterdir()):
            result.fail(f"{folder.relative_to(run).as_posix()}/: an empty folder the run did "
                        "not make")
    return result


def check_sums(run: Path, index: _Index) -> Result:
    result = Result("SHA256SUMS matches every file")
    path = run / SUMS_FILE
    if not path.is_file() or path.is_symlink():
        result.fail(f"{SUMS_FILE} is missing")
        return result
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            digest, _, rel = line.partition("  ")
            if not rel or rel.startswith("/") or ".." in rel.split("/"):
                result.fail(f"{SUMS_FILE} line {number}: {rel!r} is not a path inside the run")
                continue
            index.conn.execute("INSERT INTO sums VALUES (?,?,?)", (rel, digest, number))
    for r in index.rows("SELECT s.path, s.sha, s.line, d.sha AS disk FROM sums s LEFT JOIN disk "
                        "d USING (path) ORDER BY s.line"):
        if r["disk"] is None:
            result.fail(f"{r['path']}: listed in {SUMS_FILE} (line {r['line']}) but missing")
        elif r["disk"] != r["sha"]:
            result.fail(f"{r['path']}: SHA-256 differs from {SUMS_FILE} line {r['line']}: the "
                        "file changed after the run")
        result.checked += 1
    for r in index.rows("SELECT path FROM disk WHERE path != ? AND path NOT IN (SELECT path "
                        "FROM sums) ORDER BY path", (SUMS_FILE,)):
        result.fail(f"{r['path']}: in the run folder but not in {SUMS_FILE}")
    return result


def check_outputs(index: _Index) -> Result:
    result = Result("every output matches its audit record; no file unaccounted for")
    for r in index.rows("SELECT r.path, r.sha, r.seq, d.sha AS disk FROM recorded r LEFT JOIN "
                        "disk d USING (path) ORDER BY r.seq"):
        if r["disk"] is None:
            result.fail(f"{r['path']}: recorded (seq {r['seq']}) but missing")
        elif r["disk"] != r["sha"]:
            result.fail(f"{r['path']}: SHA-256 differs from its audit record (seq {r['seq']})")
        result.checked += 1
    for r in index.rows("SELECT a.pid, a.output FROM alloc a WHERE a.output IS NOT NULL AND NOT "
                        "EXISTS (SELECT 1 FROM recorded r WHERE r.path = a.output AND r.sha = "
                        "a.sha) ORDER BY a.seq"):
        result.fail(f"participant {r['pid']}: output {r['output']} is not a recorded file with "
                    "that SHA-256")
    marks = ",".join("?" * len(META))
    for r in index.rows(f"SELECT path FROM disk WHERE path NOT IN (SELECT path FROM recorded) "  # noqa: S608
                        f"AND path NOT IN ({marks}) ORDER BY path", tuple(sorted(META))):
        result.fail(f"{r['path']}: in the run folder but not in the audit")
    return result


def check_print(run: Path, index: _Index) -> Result:
    """Every PDF identifies as one PDF/X for one output condition and keeps its rules; each
    bundle page is judged, a letter's own file by its identification (its page is in a bundle).
    """
    result = Result("every PDF is PDF/X for the output condition the job ticket names")
    claims: dict[tuple[str | None, str | None], int] = {}
    rows = ((str(r["path"]), r["kind"] == "bundle") for r in index.rows(
        "SELECT path, kind FROM recorded WHERE path LIKE '%.pdf' ORDER BY seq"))
    for rel, found in in_order(_preflight_one, ((run, rel, pages) for rel, pages in rows)):
        if found is None:
            continue  # check_outputs reports it
        if isinstance(found, str):
            result.fail(f"{rel}: cannot be read ({found})")
            continue
        result.checked += 1
        claims[(found.standard, found.condition)] = claims.get(
            (found.standard, found.condition), 0) + 1
        for failure in found.failures:
            result.fail(f"{rel}: {failure}")
    if len(claims) > 1:
        result.fail("the files do not agree: " + "; ".join(
            f"{n} say {s or 'no PDF/X'} for {c or 'no condition'}"
            for (s, c), n in sorted(claims.items(), key=lambda kv: -kv[1])))
    elif claims:
        ((standard, condition),) = claims
        result.name = f"every PDF is {standard or 'PDF/X'} for {condition or 'a named condition'}"
        ticket = run / "job-ticket.txt"
        text = ticket.read_text(encoding="utf-8", errors="replace") if ticket.is_file() else ""
        line = next((ln for ln in text.splitlines() if ln.startswith("PDF:")), "")
        if line and (str(standard) not in line or f"output intent {condition} " not in line):
            result.fail(f"job-ticket.txt says {line[4:].strip()!r}, the files say "
                        f"{standard} for {condition}")
    return result


def check_allocations(index: _Index, audit: _Audit) -> Result:
    result = Result("every row accounted for; no control output; nobody twice")
    run, close = audit.run, audit.close
    if run.get("rows_read") != audit.allocations:
        result.fail(f"the run read {run.get('rows_read')} rows but the audit has "
                    f"{audit.allocations} allocation records")
    for r in index.rows("SELECT row, count(*) AS n FROM alloc GROUP BY row HAVING n > 1 "
                        "ORDER BY row"):
        result.fail(f"list row {r['row']} has {r['n']} allocation records")
    produced = 0
    for a in index.rows("SELECT * FROM alloc ORDER BY seq"):
        where = f"participant {a['pid']!r} (row {a['row']}, seq {a['seq']})"
        status, output = a["status"], a["output"]
        if status == "produced":
            produced += 1
            if output is None or a["reason"] is not None:
                result.fail(f"{where}: produced, but without an output or with a reason")
            if a["arm"] != "treatment":
                result.fail(f"{where}: arm {a['arm']!r} but an output was produced")
        elif status == "withheld":
            if output is not None:
                result.fail(f"{where}: withheld, but has output {output}")
            if not a["reason"]:
                result.fail(f"{where}: withheld without a reason")
        else:
            result.fail(f"{where}: status {status!r} is neither produced nor withheld")
        if a["arm"] == "control" and output is not None:
            result.fail(f"{where}: CONTROL participant has an output {output}")
        result.checked += 1
    notes = run.get("command") == "notes"
    if not notes:
        for r in index.rows("SELECT pid, count(*) AS n FROM alloc WHERE status = 'produced' "
                            "GROUP BY pid HAVING n > 1 ORDER BY pid"):
            result.fail(f"participant {r['pid']!r} has {r['n']} outputs")
    else:
        _check_teams(index, result)
    if close.get("produced") != produced or close.get("rows") != audit.allocations:
        result.fail(f"the closing totals ({close.get('produced')} produced of "
                    f"{close.get('rows')}) do not match the records ({produced} of "
                    f"{audit.allocations})")
    return result


def _check_teams(index: _Index, result: Result) -> None:
    """Notes: exactly one note per treatment team (a team is its authority *and* its name),
    shared by all its rows; a team withheld for a problem of another team's rows is caught."""
    teams = ("SELECT authority, lower(coalesce(team, '')) AS team, count(DISTINCT output) AS "
             "notes, group_concat(DISTINCT output) AS outputs, sum(status = 'produced') AS made, "
             "sum(status = 'withheld' AND (reason IS NULL OR reason = 'not_produced')) AS "
             "unexplained FROM alloc WHERE arm = 'treatment' GROUP BY authority, "
             "lower(coalesce(team, '')) ORDER BY authority, team")
    for r in index.rows(teams):
        if r["notes"] > 1:
            result.fail(f"team {r['team']!r} ({r['authority']}) has {r['notes']} notes: "
                        + ", ".join(sorted(str(r["outputs"]).split(","))))
        if r["made"] == 0 and r["unexplained"]:
            result.fail(f"treatment team {r['team']!r} ({r['authority']}) has no note and no "
                        "reason")
    for r in index.rows("SELECT output, count(DISTINCT authority || char(31) || "
                        "lower(coalesce(team, ''))) AS n FROM alloc WHERE output IS NOT NULL "
                        "GROUP BY output HAVING n > 1"):
        result.fail(f"{r['output']} is the note of {r['n']} teams")
    # the rows whose problem withheld a team must be that team's own rows
    for a in index.rows("SELECT pid, row, authority, team, causes FROM alloc WHERE causes != "
                        "'[]' ORDER BY seq"):
        for cause in json.loads(a["causes"]):
            other = index.conn.execute("SELECT authority, team FROM alloc WHERE row = ?",
                                       (cause,)).fetchone()
            if other is None:
                result.fail(f"row {a['row']} ({a['pid']}) was withheld for row {cause}, which "
                            "is not in the list")
            elif (other["authority"], (other["team"] or "").casefold()) != (
                    a["authority"], (a["team"] or "").casefold()):
                result.fail(f"row {a['row']} (team {a['team']!r}, {a['authority']}) was "
                            f"withheld for a problem of row {cause}, which is in team "
                            f"{other['team']!r} ({other['authority']}): another team's "
                            "problem must not withhold it")


def check_readback(run: Path, index: _Index, key: bytes | None) -> Result:
    """Each output's text layer, read now, shows at the recorded places exactly the texts the
    audit has keyed digests of: its own participant's name and feedback, whatever the design;
    with the list, no line of it is another participant's full name."""
    result = Result("each output reads back: its own name (and feedback), nobody else's")
    if key is None:
        result.fail("no campaign digest key to read letters back with: give --digest-key "
                    "(the campaign's .hhp/digest.key)")
        return result
    # the list's full names (given --participants), each with who has it, are in the index;
    # only the set of names is held, to see which lines need looking up
    for r in index.rows("SELECT pid, forms FROM people"):
        index.conn.executemany("INSERT INTO named VALUES (?, ?)",
                               ((form, r["pid"]) for form in json.loads(r["forms"])))
    index.conn.execute("CREATE INDEX named_form ON named(form)")
    by_name = frozenset(r["form"] for r in index.rows("SELECT DISTINCT form FROM named"))
    # each output is read once (a note serves a team: its rows follow each other), by as many
    # processes as there are cores, in the order the rows come
    outputs = (str(r["output"]) for r in index.rows(
        "SELECT DISTINCT output FROM alloc WHERE status = 'produced' ORDER BY output"))
    reads = in_order(_read_one, ((run, rel, bool(by_name)) for rel in outputs))
    last: tuple[str, _Read | str] | None = None
    for a in index.rows("SELECT pid, output, digests, text_at FROM alloc WHERE status = "
                        "'produced' ORDER BY output, seq"):
        pid, rel = str(a["pid"]), str(a["output"])
        if last is None or last[0] != rel:
            last = next(reads)
        read = last[1]
        if isinstance(read, str):
            result.fail(f"{rel}: cannot be read as a PDF ({read})")
            continue
        pages, form, lines = read
        if pages != 1:
            result.fail(f"{rel}: {pages} pages, expected 1")
        digests = json.loads(a["digests"]) or {}
        spans = json.loads(a["text_at"]) or {}
        if not digests or set(digests) != set(spans):
            result.fail(f"{rel}: the audit records no read-back for participant {pid}")
        for name, digest in sorted(digests.items()):
            start, end = (spans.get(name) or [0, 0])[:2]
            if keyed_digest(key, pid, form[start:end]) != digest:
                result.fail(f"{rel}: the {name.replace('_', ' ')} printed is not participant "
                            f"{pid}'s (the letter was changed or swapped)")
        for line in lines:
            if line not in by_name:
                continue
            named = {str(r["pid"]) for r in index.rows("SELECT pid FROM named WHERE form = ?",
                                                         (line,))}
            if named and pid not in named:  # a name two people share is not a failure
                result.fail(f"{rel}: names participant {min(named)}, not {pid}")
        result.checked += 1
    return result


# What reading one output back gives: its page count, its text in read-back form, and (when
# names are checked) each line of it in that form.
_Read = tuple[int, str, tuple[str, ...]]


def _read_one(run: Path, rel: str, want_lines: bool) -> tuple[str, _Read | str]:
    """Read one output back (in a worker process): the read, or why the file cannot be read.
    The text's read-back form is its lines' forms joined: line breaks are white space, which
    the form drops, and nothing the form does reaches across one."""
    try:
        pages, text = page_count_and_text(run / rel)
    except (OSError, UnreadablePdf) as exc:
        return rel, str(exc)
    lines = tuple(readback_form(line) for line in text.splitlines())
    return rel, (pages, "".join(lines), lines if want_lines else ())


def _preflight_one(run: Path, rel: str, pages: bool) -> tuple[str, Preflight | str | None]:
    """Preflight one PDF (in a worker process); None when it is not there (check_outputs
    reports that), the reason when it cannot be read."""
    path = run / rel
    if not path.is_file():
        return rel, None
    try:
        return rel, preflight(path, pages=pages)
    except OSError as exc:
        return rel, str(exc.strerror or exc)


def check_participants(index: _Index, audit: _Audit, path: Path) -> Result:
    """The randomised list given now is the one the run read, row for row and arm for arm; its
    names go into the index for the read-back to look for."""
    from hhp_letters.fields import LIST_FIELDS
    from hhp_letters.model import Arm
    from hhp_letters.sources import Row, read_table

    result = Result("--participants: same list, same rows, same arms")
    run = audit.run
    recorded = next((i for i in run.get("inputs", []) if i.get("role") == "participants"), None)
    if recorded is None:
        result.fail("the audit records no randomised list")
        return result
    if file_sha256(path) != recorded.get("sha256"):
        result.fail(f"{path.name}: SHA-256 differs from the list the run read "
                    f"({recorded.get('path')}); this is not the same file")
    spec = run.get("list") or {}
    table = read_table(path, shown=path.name, sheet=spec.get("sheet"), fields=LIST_FIELDS,
                       required=("participant_id", "arm"),
                       explicit_columns=spec.get("columns") or {})
    from hhp_letters.checks import UNREADABLE

    # a bad cell is the run's business (its row was withheld); a list that cannot be read
    # row for row is this check's
    for problem in table.problems:
        if problem.is_error and problem.code in UNREADABLE:
            result.fail(f"{path.name}: {problem.message}")
    footers = set(run.get("footer_rows") or [])
    evidence = _Evidence()
    for item in table.read():
        if not isinstance(item, Row):
            if item.is_error and item.code in UNREADABLE:
                result.fail(f"{path.name}: {item.message}")
            continue
        number = item.origin.row
        if number is None or number in footers:
            continue
        index.conn.execute("INSERT OR IGNORE INTO seen VALUES (?)", (number,))
        a = index.conn.execute("SELECT pid, arm, authority FROM alloc WHERE row = ?",
                               (number,)).fetchone()
        pid = item.get("participant_id")
        arm = Arm.parse(item.get("arm"))
        last = item.get("last_name")
        forms = {readback_form(f"{first} {last}") for first in (
            item.get("first_name"), item.get("preferred_name")) if first}
        # a participant listed twice: the later row's names count
        index.conn.execute("INSERT OR REPLACE INTO people VALUES (?, ?)",
                           (pid, json.dumps(sorted(forms))))
        if a is None:
            result.fail(f"{path.name} row {number} (participant {pid!r}) has no allocation "
                        "record")
            continue
        evidence.add(index, number, item, a)
        if a["pid"] != pid:
            result.fail(f"{path.name} row {number}: participant {pid!r} but the audit has "
                        f"{a['pid']!r}")
        if (arm.value if arm else None) != a["arm"]:
            result.fail(f"{path.name} row {number} (participant {pid!r}): arm "
                        f"{arm.value if arm else item.get('arm')!r} but the audit has "
                        f"{a['arm']!r}")
        result.checked += 1
    for r in index.rows("SELECT row FROM alloc WHERE row IS NULL OR row NOT IN (SELECT row "
                        "FROM seen) ORDER BY row"):
        result.fail(f"audit allocation for row {r['row']} has no row in {path.name}")
    evidence.judge(index, path.name, run.get("command") == "notes", result)
    return result


# Reasons a row can be withheld for that the list itself must show.
_TEAM_REASONS = frozenset({"invalid_team", "unprintable_character", "mixed_cluster"})
_ROW_REASONS = frozenset({"missing_name", "invalid_address"})


_LISTED = ("team", "site", "manager_first_name", "first_name", "preferred_name", "last_name",
           "address_1", "town", "postcode", "arm")


class _Evidence:
    """What the randomised list shows about each treatment row and team, so that a row the
    run withheld for a reason of its own content must show that reason in the list — a row
    withheld because of *another* team's problem is caught. The rows wait in the index, so
    memory stays flat for a list of any length."""

    def add(self, index: _Index, number: int, row: Any, a: sqlite3.Row) -> None:
        from hhp_letters.model import Arm, fold

        values = [row.get(f) for f in _LISTED]
        arm = Arm.parse(row.get("arm"))
        site = row.get("site")
        if site and arm is not None:
            index.conn.execute("INSERT OR IGNORE INTO sites VALUES (?, ?)",
                               (fold(site), arm.value))
        index.conn.execute("INSERT OR REPLACE INTO listed VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           (number, str(a["authority"]), fold(row.get("team")),
                            arm is Arm.TREATMENT, *values))

    def judge(self, index: _Index, shown: str, notes: bool, result: Result) -> None:
        from hhp_letters.model import fold
        from hhp_letters.postcode import normalise_postcode
        from hhp_letters.render.text import Fonts
        from hhp_letters.resources import resource_dir

        fonts = Fonts.load(resource_dir("templates") / "fonts")

        def arms_at(site: str) -> int:
            return int(index.one("SELECT count(*) FROM sites WHERE site = ?", (fold(site),)))

        for a in index.rows("SELECT row, pid, authority, team, reason FROM alloc WHERE status "
                            "= 'withheld' AND arm = 'treatment' ORDER BY seq"):
            reason, row = a["reason"], a["row"]
            own = index.conn.execute("SELECT * FROM listed WHERE row = ?", (row,)).fetchone()
            if own is None:
                continue
            if notes and reason in _TEAM_REASONS:
                rows = index.conn.execute(
                    "SELECT * FROM listed WHERE authority = ? AND team_key = ? AND treatment",
                    (str(a["authority"]), fold(own["team"]))).fetchall() or [own]
                shows = (
                    any(not r["team"] or not r["site"] or not r["manager_first_name"]
                        for r in rows)
                    or len({fold(r["site"]) for r in rows}) > 1
                    or len({fold(r["manager_first_name"]) for r in rows}) > 1
                    or any(fonts.unprintable(r["manager_first_name"], "regular") for r in rows)
                    or any(arms_at(r["site"]) > 1 for r in rows))
                if not shows:
                    result.fail(f"{shown} row {row} (team {own['team']!r}, {a['authority']}) "
                                f"was withheld as {reason!r}, but no row of that team shows "
                                "such a problem: another team's problem withheld it")
            elif not notes and reason in _ROW_REASONS:
                if reason == "missing_name":
                    shows = not (own["first_name"] or own["preferred_name"]) or \
                        not own["last_name"]
                else:
                    shows = not own["address_1"] or not own["town"] or \
                        normalise_postcode(own["postcode"]) is None
                if not shows:
                    result.fail(f"{shown} row {row} ({a['pid']}) was withheld as {reason!r}, "
                                "but the row shows no such problem")


def _history_at(campaign: Any, audit: _Audit) -> Any:
    """What the campaign had sent when this run was made: the ledger before its own entry
    (or, for a proof, which is not registered, before the proof's time)."""
    from hhp_letters.ledger import read_ledger
    from hhp_letters.pipeline import history_of

    book = read_ledger(campaign.root)
    entry = next((e for e in book.entries if e.get("audit_head") == audit.head), None)
    if entry is not None:
        reissue = None
        if entry.event == "reissue":
            reissue = frozenset(str(pid) for pid, _ in entry.get("supersedes", []))
        return history_of(campaign, before=entry.seq, reissue=reissue,
                          reason=entry.get("reason"))
    made = str(audit.run.get("time", ""))
    before = 1 + max((e.seq for e in book.entries if str(e.get("time", "")) < made), default=0)
    return history_of(campaign, before=before)


def check_rerender(index: _Index, audit: _Audit) -> Result:
    """Render every letter again from the recorded inputs; compare bytes."""
    from hhp_letters.campaign import load_campaign
    from hhp_letters.pipeline import produce

    result = Result("--rerender: every letter renders again to the same bytes")
    rec = audit.run
    campaign_path = Path(str(rec.get("campaign")))
    if not campaign_path.is_file():
        result.fail(f"the campaign {campaign_path} recorded by the run is not here")
        return result
    campaign = load_campaign(campaign_path)
    for item in rec.get("inputs", []):
        role, shown = item.get("role"), str(item.get("path"))
        if role in ("font", "template", "icc_profile"):
            continue  # built into the tool; a changed tool shows up as changed bytes below
        target = campaign.resolve(shown) if role != "campaign" else campaign.path
        if not target.is_file() or file_sha256(target) != item.get("sha256"):
            result.fail(f"input {shown} ({role}) is not the file the run read")
    if result.failures:
        return result
    options = rec.get("options") or {}
    history = _history_at(campaign, audit)
    with tempfile.TemporaryDirectory(prefix=f"hhp-rerender-{os.getpid()}-") as tmp:
        fresh_run = Path(tmp) / "run"
        produce(campaign, fresh_run, proof=bool(options.get("proof")),
                skip_invalid=bool(options.get("skip_invalid")), replay=history)
        fresh: dict[str, str] = {}
        with (fresh_run / AUDIT_FILE).open(encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if r.get("event") == "file":
                    fresh[str(r["path"])] = str(r["sha256"])
    recorded: set[str] = set()
    for r in index.rows("SELECT path, sha, kind FROM recorded ORDER BY seq"):
        recorded.add(r["path"])
        if r["kind"] not in ("letter", "note", "docx", "bundle", "manifest", "job_ticket"):
            continue
        if fresh.get(r["path"]) != r["sha"]:
            result.fail(f"{r['path']}: renders to different bytes now")
        result.checked += 1
    for path in sorted(set(fresh) - recorded):
        result.fail(f"{path}: rendered now but not by the recorded run")
    return result


def check_seal(run: Path, audit: _Audit, *, expect_head: str | None,
               public_key: Path | None, campaign_root: Path | None) -> Result:
    """The audit is the one the campaign signed (and, given, the head kept elsewhere), and the
    summaries are what its records add up to."""
    result = Result("signed by the campaign; summaries match the audit")
    if expect_head is not None and expect_head.strip().lower() != audit.head:
        result.fail(f"the audit ends at {audit.head[:12]}…, not at the expected head "
                    f"{expect_head.strip()[:12]}…: this is not the run that was recorded")
    key_path = public_key or (campaign_root / SECRETS_DIR / PUBLIC_KEY
                              if campaign_root is not None else None)
    sig_path = run / SIG_FILE
    if key_path is None or not key_path.is_file():
        result.fail("no public key to check audit.sig against: give --public-key (the "
                    "campaign's .hhp/audit-signing.pub)")
    elif not sig_path.is_file():
        result.fail(f"{SIG_FILE} is missing: the audit is not signed")
    else:
        public = read_public_key(key_path)
        if public is None:
            result.fail(f"{key_path} is not an Ed25519 public key")
        elif not signature_ok(public, audit.head, sig_path.read_bytes()):
            result.fail(f"{SIG_FILE} is not the campaign key's signature of this audit's head: "
                        "the audit was rewritten, or signed by another key")
        result.checked += 1
    if audit.run:
        summary = audit.tally.summary(head=audit.head, title=str(audit.run.get(
            "campaign_name", "")), kind=str(audit.run.get("command", "letters")))
        for name, text in (("summary.md", to_markdown(summary)),
                           ("summary.html", to_html(summary))):
            path = run / name
            if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
                result.fail(f"{name} is not what the audit's records add up to (it was "
                            "edited, or is missing)")
            result.checked += 1
    return result


def _campaign_root(audit: _Audit) -> Path | None:
    recorded = audit.run.get("campaign")
    if not recorded:
        return None
    path = Path(str(recorded))
    return path.parent if path.is_file() else None


def _checks(run: Path, index: _Index, *, participants: Path | None, rerender: bool,
            expect_head: str | None, public_key: Path | None,
            digest_key: Path | None) -> list[Result]:
    chain, audit = check_chain(run, index)
    files = hash_folder(run, index)
    root = _campaign_root(audit)
    results = [chain, check_sums(run, index), check_outputs(index),
               check_allocations(index, audit), check_print(run, index),
               check_seal(run, audit, expect_head=expect_head, public_key=public_key,
                          campaign_root=root)]
    if not files.ok:
        results.insert(1, files)
    if participants is not None:
        results.append(check_participants(index, audit, participants))
    key_file = digest_key or (root / SECRETS_DIR / DIGEST_KEY if root else None)
    key = read_digest_key(key_file) if key_file is not None else None
    results.append(check_readback(run, index, key))
    if rerender:
        try:
            results.append(check_rerender(index, audit))
        except HhpError as exc:
            failed = Result("--rerender: every letter renders again to the same bytes")
            failed.fail(str(exc))
            results.append(failed)
    return results


def verify_run(run: Path, *, participants: Path | None = None, rerender: bool = False,
               expect_head: str | None = None, public_key: Path | None = None,
               digest_key: Path | None = None) -> list[Result]:
    if not run.is_dir():
        raise UsageError(f"no run folder at {run}",
                         hint="give the folder a `letters` or `notes` run created")
    if participants is not None and not participants.is_file():
        raise UsageError(f"no file at {participants}", hint="give the randomised list file")
    for given, what in ((public_key, "--public-key"), (digest_key, "--digest-key")):
        if given is not None and not given.is_file():
            raise UsageError(f"no file at {given}", hint=f"give {what} a key file")
    with signals_as_interrupts(), \
            tempfile.TemporaryDirectory(prefix=f"hhp-verify-{os.getpid()}-") as tmp:
        try:
            index = _Index(Path(tmp))
        except sqlite3.OperationalError as exc:  # verify's own index: the disk refuses
            raise store_error(exc, Path(tmp)) from exc
        try:
            results = _checks(run, index, participants=participants, rerender=rerender,
                              expect_head=expect_head, public_key=public_key,
                              digest_key=digest_key)
        except sqlite3.OperationalError as exc:
            raise store_error(exc, Path(tmp)) from exc
        finally:
            index.close()
    return results
