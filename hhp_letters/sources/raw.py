"""What a format reader hands on: a grid of text with row numbers, before headers mean anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

# Excel's error values, as cached in the file.
EXCEL_ERRORS = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!",
                          "#SPILL!", "#CALC!", "#GETTING_DATA"})


@dataclass(frozen=True)
class RawSheet:
    file: str
    sheet: str | None
    # (row number as the spreadsheet shows it, cell texts from column A)
    rows: Callable[[], Iterator[tuple[int, list[str]]]]
    merged: tuple[str, ...] = ()
    # Given blank cells (row, 0-based column), return those that hold a formula with no saved value.
    formulas_at: Callable[[set[tuple[int, int]]], Mapping[tuple[int, int], str]] = field(
        default=lambda cells: {})
    has_formulas: bool = False  # worth looking for formulas behind blank cells


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


def column_letter(index: int) -> str:
    """0-based column index → spreadsheet letters (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
