"""The rows of a campaign, kept in a temporary SQLite file rather than in memory, so that a
list of any length needs memory for one row at a time (and SQL does the joins and counts).

The file lives in a private temporary folder removed when the store is closed or collected.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from hhp_letters.campaign import Campaign
from hhp_letters.model import Arm, Feedback, LetterJob, Participant
from hhp_letters.problems import Origin

_SCHEMA = """
CREATE TABLE participants (
    seq INTEGER PRIMARY KEY, row INTEGER, pid TEXT, arm TEXT, authority TEXT,
    first TEXT, last TEXT, address TEXT, town TEXT, postcode TEXT, team TEXT, site TEXT,
    manager TEXT, errors TEXT NOT NULL DEFAULT '', sort_key TEXT NOT NULL DEFAULT '');
CREATE INDEX participants_pid ON participants(pid);
CREATE TABLE feedback_rows (
    seq INTEGER PRIMARY KEY, pid TEXT, line1 TEXT, line2 TEXT, file TEXT, sheet TEXT,
    row INTEGER);
CREATE TABLE feedback (pid TEXT PRIMARY KEY, line1 TEXT, line2 TEXT, file TEXT, sheet TEXT,
                       row INTEGER);
CREATE TABLE outputs (pid TEXT PRIMARY KEY, path TEXT, sha256 TEXT, bundle TEXT,
                      first_page INTEGER, pages INTEGER);
CREATE TABLE files (seq INTEGER PRIMARY KEY, path TEXT UNIQUE, sha256 TEXT, bytes INTEGER,
                    kind TEXT);
"""

_SEP = "\x1f"
_P_COLUMNS = ("row, pid, arm, authority, first, last, address, town, postcode, team, site, "
              "manager, errors")


def _close(conn: sqlite3.Connection, folder: str) -> None:
    conn.close()
    shutil.rmtree(folder, ignore_errors=True)


class Store:
    """One campaign's rows. ``file``/``sheet`` of the list are kept once, not per row."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        folder = tempfile.mkdtemp(prefix="hhp-store-")
        self.conn = sqlite3.connect(Path(folder) / "rows.sqlite", isolation_level=None)
        self.conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                                "PRAGMA cache_size=-4000; PRAGMA temp_store=FILE;" + _SCHEMA)
        self.conn.execute("BEGIN")
        self._finalizer = weakref.finalize(self, _close, self.conn, folder)
        self.list_origin = Origin("")

    def close(self) -> None:
        self._finalizer()

    # -- participants ------------------------------------------------------------------------

    def add_participants(self, people: Iterable[Participant]) -> None:
        rows = ((p.origin.row, p.participant_id, p.arm.value if p.arm else None,
                 p.authority.code if p.authority else None, p.first_name, p.last_name,
                 _SEP.join(p.address), p.town, p.postcode, p.team, p.site,
                 p.manager_first_name, ",".join(p.errors)) for p in people)
        self.conn.executemany(f"INSERT INTO participants ({_P_COLUMNS}) VALUES "  # noqa: S608
                              "(?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)

    def _participant(self, r: Sequence[Any]) -> Participant:
        authority = self.campaign.authority(r[3]) if r[3] else None
        return Participant(
            participant_id=r[1], arm=Arm(r[2]) if r[2] else None, authority=authority,
            first_name=r[4], last_name=r[5], address=tuple(r[6].split(_SEP)) if r[6] else (),
            town=r[7], postcode=r[8], team=r[9], site=r[10], manager_first_name=r[11],
            origin=self.list_origin.at(row=r[0]),
            errors=tuple(e for e in r[12].split(",") if e))

    def participants(self, where: str = "", params: Sequence[Any] = (),
                     order: str = "seq") -> Iterator[Participant]:
        # ``where`` and ``order`` are constant SQL from this package; values go in ``params``
        sql = f"SELECT {_P_COLUMNS} FROM participants {where} ORDER BY {order}"  # noqa: S608
        for r in self.conn.execute(sql, params):
            yield self._participant(r)

    def add_error(self, code: str, *, pid: str | None = None, row: int | None = None,
                  team: str | None = None) -> None:
        """Mark rows with an error code: a participant's, a list row, or a treatment team's."""
        update = "UPDATE participants SET errors = CASE errors WHEN '' THEN ? ELSE " \
                 "errors || ',' || ? END "
        if pid is not None:
            self.conn.execute(update + "WHERE pid = ?", (code, code, pid))
        elif team is not None:
            self.conn.execute(update + "WHERE lower(team) = lower(?) AND arm = 'treatment'",
                              (code, code, team))
        else:
            self.conn.execute(update + "WHERE row = ?", (code, code, row))

    def count_withheld(self) -> int:
        return int(self.scalar("SELECT count(*) FROM participants WHERE arm IS NOT "
                               "'treatment' OR errors != ''"))

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Any]]:
        yield from self.conn.execute(sql, params)

    # -- feedback ----------------------------------------------------------------------------

    def add_feedback_rows(self, entries: Iterable[Feedback]) -> None:
        self.conn.executemany(
            "INSERT INTO feedback_rows (pid, line1, line2, file, sheet, row) VALUES "
            "(?,?,?,?,?,?)", ((f.participant_id, f.line_1, f.line_2, f.origin.file,
                               f.origin.sheet, f.origin.row) for f in entries))

    def accept_feedback(self, feedback: Feedback) -> None:
        self.conn.execute("INSERT INTO feedback VALUES (?,?,?,?,?,?)", (
            feedback.participant_id, feedback.line_1, feedback.line_2, feedback.origin.file,
            feedback.origin.sheet, feedback.origin.row))

    def feedback_for(self, pid: str) -> Feedback | None:
        r = self.conn.execute("SELECT pid, line1, line2, file, sheet, row FROM feedback "
                              "WHERE pid = ?", (pid,)).fetchone()
        return None if r is None else Feedback(r[0], r[1], r[2], Origin(r[3], r[4], r[5]))

    def feedback(self) -> Iterator[Feedback]:
        for r in self.conn.execute("SELECT pid, line1, line2, file, sheet, row FROM feedback "
                                   "ORDER BY pid"):
            yield Feedback(r[0], r[1], r[2], Origin(r[3], r[4], r[5]))

    # -- letters -----------------------------------------------------------------------------

    def letter_jobs(self) -> Iterator[LetterJob]:
        """Treatment rows with no error and matched feedback, in postage order."""
        from hhp_letters.merge import address_lines  # merge builds on the store

        columns = ", ".join(f"p.{c.strip()}" for c in _P_COLUMNS.split(","))
        sql = (f"SELECT {columns}, p.sort_key, f.line1, f.line2 FROM participants p "  # noqa: S608
               "JOIN feedback f ON f.pid = p.pid WHERE p.arm = 'treatment' AND p.errors = '' "
               "ORDER BY p.authority, p.sort_key, p.pid")
        for r in self.conn.execute(sql):
            p = self._participant(r)
            assert p.authority is not None
            yield LetterJob(p.participant_id, p.authority, p.first_name, p.last_name,
                            address_lines(p), (r[14], r[15]), r[13], p.origin)

    def count_letter_jobs(self) -> int:
        return int(self.scalar(
            "SELECT count(*) FROM participants p JOIN feedback f ON f.pid = p.pid "
            "WHERE p.arm = 'treatment' AND p.errors = ''"))

    # -- notes -------------------------------------------------------------------------------

    def note_teams(self) -> Iterator[tuple[str, str, str, str, str, int, int]]:
        """Treatment teams with at least one valid row, in bundle order (authority, site, team):
        (key, authority, team, site, manager, people, first row)."""
        sql = ("SELECT authority || char(31) || lower(team), authority, min(team), min(site), "
               "min(manager), count(*), min(row) FROM participants WHERE arm = 'treatment' AND "
               "errors = '' GROUP BY authority, lower(team) "
               "ORDER BY authority, lower(min(site)), lower(team)")
        for r in self.conn.execute(sql):
            yield r[0], r[1], r[2], r[3], r[4], r[5], r[6]

    def count_note_teams(self) -> int:
        return int(self.scalar("SELECT count(DISTINCT authority || char(31) || lower(team)) "
                               "FROM participants WHERE arm = 'treatment' AND errors = ''"))

    # -- outputs -----------------------------------------------------------------------------

    def reset_outputs(self) -> None:
        self.conn.execute("DELETE FROM outputs")
        self.conn.execute("DELETE FROM files")

    def add_output(self, pid: str, path: str, sha256: str, bundle: str, first_page: int,
                   pages: int) -> None:
        self.conn.execute("INSERT INTO outputs VALUES (?,?,?,?,?,?)",
                          (pid, path, sha256, bundle, first_page, pages))

    def add_file(self, path: str, sha256: str, size: int, kind: str) -> None:
        self.conn.execute("INSERT INTO files (path, sha256, bytes, kind) VALUES (?,?,?,?)",
                          (path, sha256, size, kind))

    def files(self) -> Iterator[tuple[str, str, int, str]]:
        for r in self.conn.execute("SELECT path, sha256, bytes, kind FROM files ORDER BY seq"):
            yield r[0], r[1], r[2], r[3]

    def team_output_for(self, authority: str, team: str) -> tuple[str, str, str, int, int] | None:
        """The note of a team (keyed as :meth:`note_teams` keys it, so SQL does the case)."""
        r = self.conn.execute("SELECT path, sha256, bundle, first_page, pages FROM outputs "
                              "WHERE pid = ? || char(31) || lower(?)", (authority, team)
                              ).fetchone()
        return None if r is None else (r[0], r[1], r[2], r[3], r[4])

    def output_for(self, pid: str) -> tuple[str, str, str, int, int] | None:
        r = self.conn.execute("SELECT path, sha256, bundle, first_page, pages FROM outputs "
                              "WHERE pid = ?", (pid,)).fetchone()
        return None if r is None else (r[0], r[1], r[2], r[3], r[4])
