"""The rows of a campaign, kept in a SQLite file rather than in memory, so that a list of any
length needs memory for one row at a time (and SQL does the joins and counts).

This module owns every SQL statement. Each table is written by one stage only, and a stage
never changes rows another stage wrote; stages hand on frozen values that read from here:

==============  ==========  ===============================================================
table           written by  holds
==============  ==========  ===============================================================
sources         check       where the randomised list came from (file, sheet)
participants    check       one row per data row of the list, as parsed
feedback_rows   check       every feedback row read, from every file
feedback        check       the one accepted entry per treatment participant
errors          each stage  (seq, stage, code): why a row gets nothing, tagged by stage
orders          merge       postage order of each treatment row
pages           render      each planned page's content stream, laid out once
outputs         bundle      each output file and where it sits in its bundle
files           bundle      every file written to the run folder, with its SHA-256
==============  ==========  ===============================================================

The file lives in a folder the caller owns (a run's staging folder, or a private temporary
folder for ``check``), so a killed run leaves it in one known place.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from hhp_letters.model import Arm, Feedback, Participant, TeamKey, fold
from hhp_letters.problems import Origin

STORE_FILE = "rows.sqlite"
STAGES = ("check", "merge", "layout", "render")

_SCHEMA = """
CREATE TABLE sources (role TEXT PRIMARY KEY, file TEXT NOT NULL, sheet TEXT,
                      columns TEXT NOT NULL DEFAULT '{}');
CREATE TABLE participants (
    seq INTEGER PRIMARY KEY, row INTEGER, pid TEXT NOT NULL, arm TEXT, authority TEXT,
    first TEXT, last TEXT, address TEXT, town TEXT, postcode TEXT, team TEXT, team_key TEXT,
    site TEXT, site_key TEXT, manager TEXT, preferred TEXT, hold TEXT, name_key TEXT,
    pref_key TEXT, first_key TEXT, pref_first TEXT, digits TEXT);
CREATE INDEX participants_pid ON participants(pid);
CREATE INDEX participants_name ON participants(name_key);
CREATE INDEX participants_digits ON participants(digits);
CREATE INDEX participants_team ON participants(authority, team_key);
CREATE TABLE feedback_rows (
    seq INTEGER PRIMARY KEY, pid TEXT, line1 TEXT, line2 TEXT, file TEXT, sheet TEXT,
    row INTEGER);
CREATE INDEX feedback_rows_pid ON feedback_rows(pid);
CREATE TABLE feedback (pid TEXT PRIMARY KEY, line1 TEXT, line2 TEXT, file TEXT, sheet TEXT,
                       row INTEGER);
CREATE TABLE errors (seq INTEGER NOT NULL, stage TEXT NOT NULL, code TEXT NOT NULL,
                     cause INTEGER, UNIQUE (seq, stage, code));
CREATE INDEX errors_seq ON errors(seq);
CREATE TABLE orders (seq INTEGER PRIMARY KEY, sort_key TEXT NOT NULL);
CREATE TABLE pages (job TEXT PRIMARY KEY, content BLOB NOT NULL, spans TEXT NOT NULL);
CREATE TABLE outputs (job TEXT PRIMARY KEY, path TEXT, sha256 TEXT, bundle TEXT,
                      first_page INTEGER, pages INTEGER, spans TEXT, code TEXT);
CREATE TABLE files (seq INTEGER PRIMARY KEY, path TEXT UNIQUE, sha256 TEXT, bytes INTEGER,
                    kind TEXT);
"""

_SEP = "\x1f"
_P_COLUMNS = ("seq, row, pid, arm, authority, first, last, address, town, postcode, team, "
              "site, manager, preferred, hold")


def name_key(first: str, last: str) -> str:
    """A full name as a key: case, spacing and punctuation between the parts ignored."""
    return fold(f"{first} {last}")


@dataclass(frozen=True, slots=True)
class Output:
    path: str
    sha256: str
    bundle: str
    first_page: int
    pages: int
    spans: dict[str, list[int]]
    code: str = ""  # the mail-integrity payload of its first page


@dataclass(frozen=True, slots=True)
class FileRecord:
    path: str
    sha256: str
    bytes: int
    kind: str


@dataclass(frozen=True, slots=True)
class TeamRow:
    """One treatment team with at least one valid row, as the notes stage needs it."""

    key: TeamKey
    team: str
    site: str
    manager: str
    people: int
    first_row: int


AuthorityLookup = Callable[[str], Any]


class Store:
    """One campaign's rows in ``folder/rows.sqlite``. Close it when done (a context manager)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def create(cls, folder: Path) -> Store:
        path = folder / STORE_FILE
        conn = sqlite3.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                           "PRAGMA cache_size=-4000; PRAGMA temp_store=FILE;" + _SCHEMA)
        conn.execute("BEGIN")
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._conn.execute(sql, params).fetchone()[0]

    # -- check: the list -----------------------------------------------------------------------

    def add_participants(self, origin: Origin, people: Iterable[Participant],
                         columns: Mapping[str, str] | None = None) -> None:
        """The list's rows; ``columns``: field → the column it was read from ("Header (C)")."""
        self._conn.execute("INSERT INTO sources VALUES ('list', ?, ?, ?)",
                           (origin.file, origin.sheet, json.dumps(dict(columns or {}))))
        rows = ((p.seq, p.origin.row, p.participant_id, p.arm.value if p.arm else None,
                 p.authority.code if p.authority else None, p.first_name, p.last_name,
                 _SEP.join(p.address), p.town, p.postcode, p.team, fold(p.team), p.site,
                 fold(p.site), p.manager_first_name, p.preferred_name, p.hold,
                 name_key(p.first_name, p.last_name), name_key(p.preferred_name, p.last_name)
                 if p.preferred_name else None, fold(p.first_name),
                 fold(p.preferred_name) if p.preferred_name else None,
                 p.participant_id.lstrip("0") if p.participant_id.isdigit() else None)
                for p in people)
        self._conn.executemany(
            "INSERT INTO participants (seq, row, pid, arm, authority, first, last, address, "
            "town, postcode, team, team_key, site, site_key, manager, preferred, hold, "
            "name_key, pref_key, first_key, pref_first, digits) VALUES "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)

    def add_source(self, role: str, origin: Origin, columns: Mapping[str, str]) -> None:
        """Where a file's fields were read from (``feedback:<file>``)."""
        self._conn.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)",
                           (role, origin.file, origin.sheet, json.dumps(dict(columns))))

    def source_columns(self, role: str) -> dict[str, str]:
        r = self._conn.execute("SELECT columns FROM sources WHERE role = ?", (role,)).fetchone()
        return {} if r is None else dict(json.loads(r[0]))

    def list_column(self, field: str) -> str | None:
        return self.source_columns("list").get(field)

    def list_origin(self) -> Origin:
        r = self._conn.execute("SELECT file, sheet FROM sources WHERE role = 'list'").fetchone()
        return Origin("") if r is None else Origin(r["file"], r["sheet"])

    def participants(self, authority: AuthorityLookup, *, arm: Arm | None = None
                     ) -> Iterator[Participant]:
        """Every row of the list in list order, with the error codes of every stage."""
        origin = self.list_origin()
        where = "" if arm is None else "WHERE p.arm = ?"
        sql = (f"SELECT {', '.join('p.' + c.strip() for c in _P_COLUMNS.split(','))}, "  # noqa: S608
               "(SELECT group_concat(code, ',') FROM (SELECT code FROM errors e WHERE "
               "e.seq = p.seq ORDER BY CASE e.stage WHEN 'check' THEN 0 WHEN 'merge' THEN 1 "
               f"WHEN 'layout' THEN 2 ELSE 3 END, rowid)) AS codes FROM participants p {where} "
               "ORDER BY p.seq")
        params: tuple[Any, ...] = () if arm is None else (arm.value,)
        for r in self._conn.execute(sql, params):
            yield self._participant(r, origin, authority)

    @staticmethod
    def _participant(r: sqlite3.Row, origin: Origin, authority: AuthorityLookup
                     ) -> Participant:
        codes = r["codes"] if "codes" in r.keys() else None  # noqa: SIM118 (sqlite3.Row)
        return Participant(
            seq=r["seq"], participant_id=r["pid"], arm=Arm(r["arm"]) if r["arm"] else None,
            authority=authority(r["authority"]) if r["authority"] else None,
            first_name=r["first"], last_name=r["last"],
            address=tuple(r["address"].split(_SEP)) if r["address"] else (),
            town=r["town"], postcode=r["postcode"], team=r["team"], site=r["site"],
            manager_first_name=r["manager"], origin=origin.at(row=r["row"]),
            preferred_name=r["preferred"] or "", hold=r["hold"] or "",
            errors=tuple(codes.split(",")) if codes else ())

    def ids_named(self, full_name: str, within: Iterable[str] | None,
                  *, first_only: bool = False) -> list[tuple[str, int]]:
        """(id, row) of list rows with this full name (first or preferred, then last) — or,
        with ``first_only``, this first or preferred name — among the rows whose team is one
        of ``within`` (folded team names) when given."""
        key = fold(full_name)
        columns = ("first_key", "pref_first") if first_only else ("name_key", "pref_key")
        rows = self._conn.execute(
            f"SELECT pid, row, team_key FROM participants WHERE ({columns[0]} = ? OR "  # noqa: S608
            f"{columns[1]} = ?) AND pid != '' ORDER BY seq", (key, key)).fetchall()
        teams = None if within is None else set(within)
        return [(r["pid"], r["row"]) for r in rows if teams is None or r["team_key"] in teams]

    def ids_like(self, pid: str) -> list[tuple[str, int]]:
        """All-digit ids that are ``pid`` but for leading zeros: (id, row)."""
        return [(r["pid"], r["row"]) for r in self._conn.execute(
            "SELECT pid, row FROM participants WHERE digits = ? AND pid != ? ORDER BY seq",
            (pid.lstrip("0"), pid))]

    def teams_of(self, ids: Iterable[str]) -> set[str]:
        """Folded team names of the given ids (the teams a manager's return covers)."""
        found: set[str] = set()
        batch = list(dict.fromkeys(ids))
        for i in range(0, len(batch), 500):
            part = batch[i:i + 500]
            sql = (f"SELECT DISTINCT team_key FROM participants WHERE team_key != '' AND "  # noqa: S608
                   f"pid IN ({','.join('?' * len(part))})")
            found.update(r[0] for r in self._conn.execute(sql, part))
        return found

    def has_id(self, pid: str) -> bool:
        return self._conn.execute("SELECT 1 FROM participants WHERE pid = ? LIMIT 1",
                                  (pid,)).fetchone() is not None

    def digit_id_width(self) -> int | None:
        """The width most all-digit ids in the list have (``004506`` → 6), if most ids are
        all digits: the width a number that lost its leading zeros should be padded to."""
        r = self._conn.execute(
            "SELECT length(pid) AS w, count(*) AS n FROM participants WHERE pid != '' AND "
            "pid NOT GLOB '*[^0-9]*' AND pid GLOB '0*' GROUP BY w ORDER BY n DESC, w DESC "
            "LIMIT 1").fetchone()
        total = self._one("SELECT count(*) FROM participants WHERE pid != ''")
        if r is None or not total or r["n"] * 2 < total:
            return None
        return int(r["w"])

    def short_digit_ids(self, width: int) -> Iterator[tuple[int, int, str]]:
        """All-digit ids shorter than ``width`` that start with no zero (what Excel leaves of
        an id it turned into a number): (seq, row, id)."""
        for r in self._conn.execute(
                "SELECT seq, row, pid FROM participants WHERE pid != '' AND pid NOT GLOB "
                "'*[^0-9]*' AND pid NOT GLOB '0*' AND length(pid) < ? ORDER BY seq", (width,)):
            yield r["seq"], r["row"], r["pid"]

    def count_rows(self, *, arm: Arm | None = None) -> int:
        if arm is None:
            return int(self._one("SELECT count(*) FROM participants"))
        return int(self._one("SELECT count(*) FROM participants WHERE arm = ?", (arm.value,)))

    def duplicate_ids(self) -> Iterator[tuple[str, list[int]]]:
        """Ids on more than one row: (id, list rows)."""
        rows = self._conn.execute(
            "SELECT pid, row FROM participants WHERE pid IN (SELECT pid FROM participants "
            "WHERE pid != '' GROUP BY pid HAVING count(*) > 1) ORDER BY pid, seq").fetchall()
        for pid, group in groupby(rows, key=lambda r: r["pid"]):
            yield pid, [r["row"] for r in group]

    def ids_differing_by_case(self) -> Iterator[tuple[list[str], list[int]]]:
        """Distinct ids that are the same but for capitals: ([ids], [rows])."""
        rows = self._conn.execute(
            "SELECT pid, row, lower(pid) AS k FROM participants WHERE lower(pid) IN (SELECT "
            "lower(pid) FROM participants WHERE pid != '' GROUP BY lower(pid) HAVING "
            "count(DISTINCT pid) > 1) ORDER BY k, seq").fetchall()
        for _, group in groupby(rows, key=lambda r: r["k"]):
            items = list(group)
            yield [r["pid"] for r in items], [r["row"] for r in items]

    def mixed_sites(self) -> Iterator[tuple[str, list[tuple[str, int]], list[int]]]:
        """Notes: sites whose rows have more than one arm: (site as first written,
        [(arm, row)], their seqs)."""
        keys = [r[0] for r in self._conn.execute(
            "SELECT site_key FROM participants WHERE site_key != '' AND arm IS NOT NULL "
            "GROUP BY site_key HAVING count(DISTINCT arm) > 1 ORDER BY min(seq)")]
        for key in keys:
            rows = self._conn.execute("SELECT seq, site, arm, row FROM participants WHERE "
                                      "site_key = ? AND arm IS NOT NULL ORDER BY seq",
                                      (key,)).fetchall()
            yield rows[0]["site"], [(r["arm"], r["row"]) for r in rows], [r["seq"] for r in rows]

    def inconsistent_teams(self) -> Iterator[tuple[TeamKey, list[sqlite3.Row]]]:
        """Notes: teams (within one authority) whose rows disagree on site or manager."""
        keys = self._conn.execute(
            "SELECT authority, team_key FROM participants WHERE team_key != '' AND authority "
            "IS NOT NULL GROUP BY authority, team_key HAVING count(DISTINCT NULLIF(site_key, "
            "'')) > 1 OR count(DISTINCT NULLIF(lower(manager), '')) > 1 ORDER BY min(seq)"
        ).fetchall()
        for k in keys:
            rows = self._conn.execute(
                "SELECT seq, team, site, manager, row FROM participants WHERE authority = ? AND "
                "team_key = ? ORDER BY seq", (k["authority"], k["team_key"])).fetchall()
            yield TeamKey(k["authority"], k["team_key"]), rows

    # -- check: feedback ------------------------------------------------------------------------

    def add_feedback_rows(self, entries: Iterable[Feedback]) -> None:
        self._conn.executemany(
            "INSERT INTO feedback_rows (pid, line1, line2, file, sheet, row) VALUES "
            "(?,?,?,?,?,?)", ((f.participant_id, f.line_1, f.line_2, f.origin.file,
                               f.origin.sheet, f.origin.row) for f in entries))

    def feedback_by_id(self) -> Iterator[tuple[str, list[Feedback], str | None, int]]:
        """Every id that has feedback: (id, its entries in reading order, arm in the list or
        None, how many list rows have that id)."""
        query = self._conn.execute(
            "SELECT f.pid, f.line1, f.line2, f.file, f.sheet, f.row, p.arm, coalesce(p.n, 0) "
            "AS n FROM feedback_rows f LEFT JOIN (SELECT pid, max(arm) AS arm, count(*) AS n "
            "FROM participants GROUP BY pid) p USING (pid) ORDER BY f.pid, f.seq")
        for pid, group in groupby(query, key=lambda r: r["pid"]):
            rows = list(group)
            yield pid, [Feedback(r["pid"], r["line1"], r["line2"],
                                 Origin(r["file"], r["sheet"], r["row"])) for r in rows], \
                rows[0]["arm"], int(rows[0]["n"])

    def accept_feedback(self, feedback: Feedback) -> None:
        self._conn.execute("INSERT INTO feedback VALUES (?,?,?,?,?,?)", (
            feedback.participant_id, feedback.line_1, feedback.line_2, feedback.origin.file,
            feedback.origin.sheet, feedback.origin.row))

    def treatment_without_feedback(self) -> Iterator[tuple[int, int, str]]:
        """Treatment rows with an id, no accepted feedback and no check error yet:
        (seq, row, id)."""
        for r in self._conn.execute(
                "SELECT seq, row, pid FROM participants p WHERE arm = 'treatment' AND pid != '' "
                "AND pid NOT IN (SELECT pid FROM feedback) AND NOT EXISTS (SELECT 1 FROM errors "
                "e WHERE e.seq = p.seq AND e.stage = 'check' AND e.code IN ('duplicate_id', "
                "'conflicting_feedback', 'blank_feedback', 'held')) ORDER BY seq"):
            yield r["seq"], r["row"], r["pid"]

    def feedback_for(self, pid: str) -> Feedback | None:
        r = self._conn.execute("SELECT pid, line1, line2, file, sheet, row FROM feedback "
                               "WHERE pid = ?", (pid,)).fetchone()
        return None if r is None else Feedback(r["pid"], r["line1"], r["line2"],
                                               Origin(r["file"], r["sheet"], r["row"]))

    def accepted_feedback(self) -> Iterator[Feedback]:
        for r in self._conn.execute("SELECT pid, line1, line2, file, sheet, row FROM feedback "
                                    "ORDER BY pid"):
            yield Feedback(r["pid"], r["line1"], r["line2"],
                           Origin(r["file"], r["sheet"], r["row"]))

    def count_feedback_matched(self) -> int:
        return int(self._one("SELECT count(*) FROM participants p JOIN feedback f USING (pid) "
                             "WHERE p.arm = 'treatment'"))

    def count_treatment_teams(self) -> tuple[int, int]:
        """(teams, sites) in the treatment arm, each team counted within its authority."""
        r = self._conn.execute(
            "SELECT count(DISTINCT authority || char(31) || team_key), count(DISTINCT site_key) "
            "FROM participants WHERE arm = 'treatment'").fetchone()
        return int(r[0]), int(r[1])

    # -- errors: every stage adds its own ---------------------------------------------------------

    def add_error(self, stage: str, code: str, *, seq: int | None = None,
                  pid: str | None = None, team: TeamKey | None = None,
                  cause: int | None = None) -> None:
        """Mark rows with an error code: one row (by seq), every row of an id, or every
        treatment row of a team (within its authority). ``cause`` is the list row whose
        problem this is, when it is another row (a team's)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        insert = "INSERT OR IGNORE INTO errors (seq, stage, code, cause) SELECT seq, ?, ?, ? "
        if seq is not None:
            self._conn.execute(insert + "FROM participants WHERE seq = ?",
                               (stage, code, cause, seq))
        elif pid is not None:
            self._conn.execute(insert + "FROM participants WHERE pid = ?",
                               (stage, code, cause, pid))
        elif team is not None:
            self._conn.execute(insert + "FROM participants WHERE authority = ? AND team_key = ? "
                               "AND arm = 'treatment'", (stage, code, cause, team.authority,
                                                          team.team))
        else:
            raise ValueError("add_error needs seq, pid or team")

    def mark_others(self, stage: str, code: str, keep: Iterable[str]) -> None:
        """Mark every treatment row whose id is not in ``keep`` (a re-issue's other rows)."""
        self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS keep (pid TEXT PRIMARY KEY)")
        self._conn.execute("DELETE FROM keep")
        self._conn.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keep))
        self._conn.execute("INSERT OR IGNORE INTO errors (seq, stage, code, cause) SELECT seq, "
                           "?, ?, NULL FROM participants WHERE arm = 'treatment' AND pid NOT IN "
                           "(SELECT pid FROM keep)", (stage, code))

    def treatment_ids(self) -> set[str]:
        return {r[0] for r in self._conn.execute(
            "SELECT pid FROM participants WHERE arm = 'treatment' AND pid != ''")}

    def count_with_errors(self, stages: tuple[str, ...] = STAGES) -> int:
        marks = ",".join("?" * len(stages))
        return int(self._one(f"SELECT count(DISTINCT seq) FROM errors WHERE stage IN "  # noqa: S608
                             f"({marks})", stages))

    def causes(self, seq: int) -> list[int]:
        """List rows whose problems withhold this row (other than the row itself)."""
        return [r[0] for r in self._conn.execute(
            "SELECT DISTINCT p.row FROM errors e JOIN participants p ON p.seq = e.cause "
            "WHERE e.seq = ? AND e.cause IS NOT NULL AND e.cause != e.seq ORDER BY p.row",
            (seq,))]

    # -- merge ------------------------------------------------------------------------------------

    def assign_order(self, sort: str, postcode_key: Callable[[str], str]) -> None:
        """Postage order of every treatment row, computed inside SQLite."""
        stopped: list[BaseException] = []

        def key(postcode: str) -> str:
            try:
                return postcode_key(postcode)
            except BaseException as exc:  # SQLite would report it as its own failure
                stopped.append(exc)
                raise

        self._conn.create_function("postcode_key", 1, key, deterministic=True)
        expression = {"postcode": "postcode_key(postcode)",
                      "team": "team_key || char(0) || postcode_key(postcode)",
                      "none": "printf('%09d', seq)"}[sort]
        self._conn.execute("DELETE FROM orders")
        try:
            self._conn.execute(f"INSERT INTO orders SELECT seq, {expression} "  # noqa: S608
                               "FROM participants WHERE arm = 'treatment'")
        except sqlite3.OperationalError:
            if stopped:  # an interrupt (or our bug) inside the function: raised as itself
                raise stopped[0] from None
            raise

    def letter_rows(self, authority: AuthorityLookup, stages: tuple[str, ...]
                    ) -> Iterator[tuple[Participant, str, Feedback]]:
        """Treatment rows with matched feedback and no error of ``stages``, in postage order:
        (participant, sort key, feedback)."""
        origin = self.list_origin()
        marks = ",".join("?" * len(stages))
        columns = ", ".join(f"p.{c.strip()}" for c in _P_COLUMNS.split(","))
        sql = (f"SELECT {columns}, o.sort_key, f.line1, f.line2, f.file AS ffile, "  # noqa: S608
               "f.sheet AS fsheet, f.row AS frow FROM participants p JOIN feedback f ON "
               "f.pid = p.pid JOIN orders o ON o.seq = p.seq WHERE p.arm = 'treatment' AND "
               f"NOT EXISTS (SELECT 1 FROM errors e WHERE e.seq = p.seq AND e.stage IN ({marks})) "
               "ORDER BY p.authority, o.sort_key, p.pid")
        for r in self._conn.execute(sql, stages):
            yield (self._participant(r, origin, authority), r["sort_key"],
                   Feedback(r["pid"], r["line1"], r["line2"],
                            Origin(r["ffile"], r["fsheet"], r["frow"])))

    def count_letter_rows(self, stages: tuple[str, ...]) -> int:
        marks = ",".join("?" * len(stages))
        return int(self._one(
            "SELECT count(*) FROM participants p JOIN feedback f ON f.pid = p.pid WHERE "  # noqa: S608
            "p.arm = 'treatment' AND NOT EXISTS (SELECT 1 FROM errors e WHERE e.seq = p.seq "
            f"AND e.stage IN ({marks}))", stages))

    def count_team_rows(self, stages: tuple[str, ...]) -> int:
        marks = ",".join("?" * len(stages))
        return int(self._one(
            "SELECT count(DISTINCT authority || char(31) || team_key) FROM participants p "  # noqa: S608
            "WHERE arm = 'treatment' AND authority IS NOT NULL AND team_key != '' AND NOT "
            f"EXISTS (SELECT 1 FROM errors e WHERE e.seq = p.seq AND e.stage IN ({marks}))",
            stages))

    def team_rows(self, stages: tuple[str, ...]) -> Iterator[TeamRow]:
        """Treatment teams with at least one row free of ``stages``' errors, in bundle order
        (authority, site, team)."""
        marks = ",".join("?" * len(stages))
        sql = ("SELECT authority, team_key, min(team) AS team, min(site) AS site, "  # noqa: S608
               "min(manager) AS manager, count(*) AS people, min(row) AS first_row FROM "
               "participants p WHERE arm = 'treatment' AND authority IS NOT NULL AND team_key "
               "!= '' AND NOT EXISTS (SELECT 1 FROM errors e WHERE e.seq = p.seq AND e.stage IN "
               f"({marks})) GROUP BY authority, team_key ORDER BY authority, min(site_key), "
               "team_key")
        for r in self._conn.execute(sql, stages):
            yield TeamRow(TeamKey(r["authority"], r["team_key"]), r["team"], r["site"],
                          r["manager"], r["people"], r["first_row"])

    def team_first_seq(self, key: TeamKey) -> int | None:
        r = self._conn.execute("SELECT min(seq) FROM participants WHERE authority = ? AND "
                               "team_key = ? AND arm = 'treatment'", key).fetchone()
        return None if r is None or r[0] is None else int(r[0])

    # -- render: pages laid out once ------------------------------------------------------------

    def add_page(self, job: str, content: bytes, spans: dict[str, list[int]]) -> None:
        """A laid-out page: its content stream's operators (not yet compressed), and where
        its fields lie in its text."""
        self._conn.execute("INSERT INTO pages VALUES (?, ?, ?)",
                           (job, content, json.dumps(spans, sort_keys=True)))

    def page(self, job: str) -> tuple[bytes, dict[str, list[int]]] | None:
        r = self._conn.execute("SELECT content, spans FROM pages WHERE job = ?",
                               (job,)).fetchone()
        return None if r is None else (bytes(r[0]), json.loads(r[1]))

    # -- bundle: outputs and files ----------------------------------------------------------------

    def add_output(self, job: str, output: Output) -> None:
        self._conn.execute("INSERT INTO outputs VALUES (?,?,?,?,?,?,?,?)",
                           (job, output.path, output.sha256, output.bundle, output.first_page,
                            output.pages, json.dumps(output.spans, sort_keys=True),
                            output.code))

    def output_for(self, job: str) -> Output | None:
        r = self._conn.execute("SELECT path, sha256, bundle, first_page, pages, spans, code "
                               "FROM outputs WHERE job = ?", (job,)).fetchone()
        return None if r is None else Output(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]),
                                             r[6])

    def outputs_in_bundle_order(self) -> Iterator[tuple[str, Output]]:
        for r in self._conn.execute("SELECT job, path, sha256, bundle, first_page, pages, spans, "
                                    "code FROM outputs ORDER BY bundle, first_page"):
            yield r[0], Output(r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7])

    def add_file(self, record: FileRecord) -> None:
        self._conn.execute("INSERT INTO files (path, sha256, bytes, kind) VALUES (?,?,?,?)",
                           (record.path, record.sha256, record.bytes, record.kind))

    def files(self) -> Iterator[FileRecord]:
        for r in self._conn.execute("SELECT path, sha256, bytes, kind FROM files ORDER BY seq"):
            yield FileRecord(r[0], r[1], r[2], r[3])
