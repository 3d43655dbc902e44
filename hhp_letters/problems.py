"""Problems found in the inputs: plain data, collected and reported together."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from hhp_letters.atomic import atomic_write_text


class Level(StrEnum):
    ERROR = "error"  # stops a run (or, with --skip-invalid, withholds the rows concerned)
    WARNING = "warning"  # reported; never changes a letter
    INFO = "info"  # for the coordinator's information (a manager's comment, a column choice)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value came from. ``row`` is the 1-based row as the spreadsheet shows it."""

    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def __reduce__(self) -> tuple[type[Origin], tuple[str, str | None, int | None, str | None]]:
        # jobs go to worker processes: a slots dataclass unpickles field by field
        return Origin, (self.file, self.sheet, self.row, self.column)

    def at(self, *, row: int | None = None, column: str | None = None) -> Origin:
        return Origin(self.file, self.sheet, row if row is not None else self.row,
                      column if column is not None else self.column)

    def describe(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Problem:
    level: Level
    code: str
    origin: Origin
    message: str
    hint: str = ""
    participant_id: str | None = field(default=None, compare=False)
    # personal text that helps on screen (the value in the cell) but never goes to a file
    detail: str = field(default="", compare=False)

    @property
    def is_error(self) -> bool:
        return self.level is Level.ERROR

    def __str__(self) -> str:
        text = f"{self.level.value}: {self.origin.describe()}: {self.message} [{self.code}]"
        return f"{text}\n  fix: {self.hint}" if self.hint else text


def error(code: str, origin: Origin, message: str, hint: str = "",
          participant_id: str | None = None, detail: str = "") -> Problem:
    return Problem(Level.ERROR, code, origin, message, hint, participant_id, detail)


def warning(code: str, origin: Origin, message: str, hint: str = "",
            participant_id: str | None = None, detail: str = "") -> Problem:
    return Problem(Level.WARNING, code, origin, message, hint, participant_id, detail)


def note(code: str, origin: Origin, message: str, hint: str = "",
         participant_id: str | None = None, detail: str = "") -> Problem:
    return Problem(Level.INFO, code, origin, message, hint, participant_id, detail)


def ordered(problems: Iterable[Problem], campaign_file: str) -> tuple[Problem, ...]:
    """The one order problems are shown in: campaign.toml first, then by file, sheet, row,
    column; errors before warnings at the same place."""
    return tuple(sorted(problems, key=lambda p: (
        p.origin.file != campaign_file, p.origin.file, p.origin.sheet or "", p.origin.row or 0,
        p.origin.column or "", (p.level is not Level.ERROR, p.level is Level.INFO))))


CSV_COLUMNS = ("level", "code", "file", "sheet", "row", "column", "participant_id", "message",
               "hint")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def as_row(p: Problem) -> dict[str, str]:
    """A problem as problems.csv holds it (never its personal ``detail``)."""
    values = (p.level.value, p.code, p.origin.file, p.origin.sheet or "",
              "" if p.origin.row is None else str(p.origin.row), p.origin.column or "",
              p.participant_id or "", p.message, p.hint)
    return dict(zip(CSV_COLUMNS, values, strict=True))


def problems_csv(problems: Sequence[Problem]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in problems:
        writer.writerow([spreadsheet_safe(v) for v in as_row(p).values()])
    return buf.getvalue()


def write_problems_csv(path: Path, problems: Sequence[Problem]) -> None:
    # utf-8-sig so Excel opens accented names correctly
    atomic_write_text(path, problems_csv(problems), encoding="utf-8-sig")


@dataclass(frozen=True)
class ProblemGroup:
    """Problems that say the same thing about the same column of one file, shown once with
    their rows (97 rows with the same unknown authority are one line, not 97)."""

    first: Problem
    rows: tuple[int, ...]

    @property
    def count(self) -> int:
        return max(1, len(self.rows))


def grouped(problems: Iterable[Problem]) -> list[ProblemGroup]:
    groups: dict[tuple[object, ...], list[Problem]] = {}
    for p in problems:
        column = p.origin.column or ""
        key: tuple[object, ...] = (p.level, p.code, p.origin.file, p.origin.sheet, column,
                                   p.message, p.hint)
        if p.origin.row is None:
            key += (id(p),)
        groups.setdefault(key, []).append(p)
    return [ProblemGroup(items[0], tuple(p.origin.row for p in items if p.origin.row is not None))
            for items in groups.values()]
