"""What a format reader hands on: rows of text with row numbers, before headers mean anything.

A reader yields :class:`RawRow` items and, where the file itself says something is wrong or
worth knowing (a damaged workbook part, merged cells, a formula linking another workbook),
:class:`~hhp_letters.problems.Problem` items in the same stream, so the caller gets every row
and every problem in one pass and never has to call things in a particular order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from hhp_letters.problems import Problem

# Excel's error values, as cached in the file.
EXCEL_ERRORS = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!",
                          "#SPILL!", "#CALC!", "#GETTING_DATA"})


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int  # as the spreadsheet shows it (CSV: the record's first physical line)
    values: list[str]  # cell texts from column A
    hidden: bool = False
    # 0-based column → formula text, for cells that hold a formula (workbooks only)
    formulas: Mapping[int, str] = field(default_factory=dict)
    # 0-based columns whose cell holds a formula with no saved value
    uncached: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class MergedRange:
    ref: str  # e.g. "B3:B4"
    first_row: int
    last_row: int


@dataclass(frozen=True)
class RawSheet:
    file: str
    sheet: str | None
    # A fresh pass over the file each call: rows, with problems where the file has them.
    # Merged ranges come last (a workbook stores them after the cells).
    items: Callable[[], Iterator[RawRow | MergedRange | Problem]]


def cell_text(value: object) -> str:
    """A spreadsheet value as text: ids stay text, 123.0 becomes 123, dates become ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


Formatter = Callable[[str], str]
NO_FORMULAS: Mapping[int, str] = {}
