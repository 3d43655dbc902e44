"""Find the header row, map headers to canonical fields, and keep every value's origin."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from hhp_letters.fields import MULTILINE, alias_index, display_name, normalise_header
from hhp_letters.problems import Origin, Problem, error, warning
from hhp_letters.sources.delimited import read_delimited
from hhp_letters.sources.raw import EXCEL_ERRORS, RawSheet, column_letter
from hhp_letters.sources.xlsx import read_xlsx

HEADER_SEARCH_ROWS = 20
MAX_CELL_CHARS = 5_000


@dataclass(frozen=True, slots=True)
class Cell:
    value: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class Row:
    origin: Origin  # file, sheet, row
    cells: Mapping[str, Cell]

    def get(self, name: str) -> str:
        cell = self.cells.get(name)
        return cell.value if cell is not None else ""

    def where(self, name: str) -> Origin:
        cell = self.cells.get(name)
        return cell.origin if cell is not None else self.origin


class Table:
    """One sheet's header mapping and its rows, streamed: ``rows()`` can be iterated once, and
    problems found in the rows join ``problems`` as they are read (so a list of any length
    needs memory for one row at a time)."""

    def __init__(self, origin: Origin, columns: Mapping[str, str] | None = None,
                 problems: Iterable[Problem] = (), rows: Iterator[Row] | None = None) -> None:
        self.origin = origin  # file and sheet
        self.columns = dict(columns or {})  # field -> "Header (C)"
        self.problems = list(problems)
        self._rows = rows

    def rows(self) -> Iterator[Row]:
        rows, self._rows = self._rows, None
        return rows if rows is not None else iter(())


# Control characters other than line breaks: invisible, invalid in Word XML, and some (BEL,
# form feed) would become paragraph or page breaks in a Word letter.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str, multiline: bool) -> str:
    text = text.replace("\u00a0", " ").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    if multiline:
        lines = [" ".join(line.split()) for line in text.split("\n")]
        return "\n".join(line for line in lines if line)
    return " ".join(text.split())


def _find_header(rows: list[tuple[int, list[str]]], index: Mapping[str, str],
                 explicit: Mapping[str, str]) -> tuple[int, list[str]] | None:
    best: tuple[int, int, list[str]] | None = None
    for number, values in rows:
        keys = {normalise_header(v) for v in values if v.strip()}
        score = sum(1 for k in keys if k in index or k in explicit)
        if score >= 2 and (best is None or score > best[0]):
            best = (score, number, values)
    return None if best is None else (best[1], best[2])


def _merged_rows(ref: str) -> tuple[int, int]:
    start, end = ref.split(":")
    return (int("".join(c for c in start if c.isdigit())),
            int("".join(c for c in end if c.isdigit())))


def build_table(raw: RawSheet, fields: tuple[str, ...], required: tuple[str, ...],
                explicit_columns: Mapping[str, str]) -> Table:
    """Turn a raw grid into rows keyed by canonical field; problems are returned, not raised."""
    where = Origin(raw.file, raw.sheet)
    # [inputs.columns] wins over aliases: normalised header as written -> field. A mapped field
    # is read from its mapped header only, so its aliases (e.g. "First name" when first_name is
    # mapped to "Known as") neither clash with it nor stand in for a mapped header that is absent.
    explicit = {normalise_header(h): f for f, h in explicit_columns.items() if f in fields}
    index = {k: f for k, f in alias_index(fields).items() if f not in explicit.values()}
    problems: list[Problem] = []

    rows_iter = raw.rows()
    head: list[tuple[int, list[str]]] = []
    try:
        for number, values in rows_iter:
            if any(v.strip() for v in values):
                head.append((number, values))
            if len(head) >= HEADER_SEARCH_ROWS:
                break
    except csv.Error as exc:
        return Table(where, problems=(error("csv_malformed", where, f"the file is not valid CSV: "
                                            f"{exc}", "save it again from Excel as CSV UTF-8"),))
    if not head:
        return Table(where, problems=(error(
            "empty_sheet", where, "the sheet has no rows",
            "put the list on this sheet, or name the right one with `sheet` in campaign.toml"),))
    found = _find_header(head, index, explicit)
    if found is None:
        wanted = ", ".join(repr(display_name(f)) for f in required)
        return Table(where, problems=(error(
            "no_header", where.at(row=head[0][0]),
            f"no header row found in the first {HEADER_SEARCH_ROWS} rows; expected headers "
            f"such as {wanted}",
            "add a header row, or map your headers with [inputs.columns] in campaign.toml"),))
    header_row, header = found

    columns: dict[str, int] = {}
    labels: dict[int, str] = {}
    for col, text in enumerate(header):
        shown = " ".join(text.split())  # a header wrapped in its cell (Alt+Enter) on one line
        label = f"{shown} ({column_letter(col)})" if shown else column_letter(col)
        labels[col] = label
        key = normalise_header(text)
        name = explicit.get(key) or index.get(key)
        if name is None or not key:
            continue
        if name in columns:
            problems.append(error(
                "duplicate_column", where.at(row=header_row, column=label),
                f"two columns mean {name}: {labels[columns[name]]!r} and {label!r}",
                "delete or rename one of them, or choose one with [inputs.columns]"))
            continue
        columns[name] = col
    for name, wanted_header in explicit_columns.items():
        if name in fields and name not in columns:
            problems.append(error(
                "mapped_column_missing", where.at(row=header_row),
                f"[inputs.columns] maps {name} to {wanted_header!r}, but the header row has no "
                "such column", "fix the header in campaign.toml or in the file"))
    missing = [f for f in required if f not in columns]
    if missing:
        problems.append(error(
            "missing_column", where.at(row=header_row),
            "missing column(s): " + ", ".join(f"{f} (e.g. {display_name(f)!r})" for f in missing),
            "add the column(s), or map an existing header with [inputs.columns], e.g. "
            f'{missing[0]} = "Your header"'))

    for ref in raw.merged:
        first, last = _merged_rows(ref)
        if first <= header_row <= last:
            problems.append(error("merged_header", where.at(row=header_row, column=ref),
                                  f"merged cells {ref} in the header row",
                                  "unmerge the header cells so each column has its own header"))
        elif last >= header_row:
            problems.append(error("merged_cells", where.at(row=first, column=ref),
                                  f"merged cells {ref}: only the first cell holds a value",
                                  "unmerge the cells and fill the value into every row"))

    table = Table(where, {f: labels[c] for f, c in columns.items()}, problems)
    table._rows = _data_rows(raw, table, header_row, header, columns, labels,
                             ((n, v) for n, v in head if n > header_row), rows_iter)
    return table


def _data_rows(raw: RawSheet, table: Table, header_row: int, header: list[str],
               columns: Mapping[str, int], labels: Mapping[int, str],
               head: Iterator[tuple[int, list[str]]],
               rest: Iterator[tuple[int, list[str]]]) -> Iterator[Row]:
    """Yield data rows; row-level problems are appended to ``table.problems`` as found."""
    where = table.origin
    problems = table.problems
    blanks: set[tuple[int, int]] = set()  # blank mapped cells, to look for uncached formulas
    unlabelled_data: set[int] = set()
    try:
        for number, values in itertools.chain(head, rest):
            if not any(v.strip() for v in values):
                continue
            cells: dict[str, Cell] = {}
            for name, col in columns.items():
                text = values[col] if col < len(values) else ""
                origin = where.at(row=number, column=labels[col])
                value = _clean(text, name in MULTILINE)
                if value in EXCEL_ERRORS:
                    problems.append(error("formula_error", origin,
                                          f"the cell shows the Excel error {value}",
                                          "fix the formula in Excel, or paste the values"))
                    value = ""
                elif len(value) > MAX_CELL_CHARS:
                    problems.append(error("cell_too_long", origin,
                                          f"the cell holds {len(value):,} characters "
                                          f"(at most {MAX_CELL_CHARS:,})",
                                          "shorten it; this is probably pasted by mistake"))
                    value = ""
                elif not value and raw.has_formulas:
                    blanks.add((number, col))
                cells[name] = Cell(value, origin)
            for col, text in enumerate(values):
                if text.strip() and (col >= len(header) or not header[col].strip()):
                    unlabelled_data.add(col)
            yield Row(where.at(row=number), cells)
    except csv.Error as exc:
        problems.append(error("csv_malformed", where, f"the file is not valid CSV: {exc}",
                              "save it again from Excel as CSV UTF-8"))
    except Exception as exc:  # a damaged workbook can fail while streaming rows
        problems.append(error(
            "xlsx_corrupt", Origin(where.file), f"the workbook could not be read to the end "
            f"({exc})", "open it in Excel and save a fresh copy, or export it as CSV UTF-8"))

    for (number, col), formula in sorted(raw.formulas_at(blanks).items()):
        problems.append(error(
            "formula_not_cached", where.at(row=number, column=labels[col]),
            f"the cell holds a formula ({formula[:60]}) with no saved value",
            "open the workbook in Excel and save it (so the values are stored), or paste the "
            "column as values"))
    for col in sorted(unlabelled_data):
        problems.append(warning(
            "unlabelled_column", where.at(row=header_row, column=column_letter(col)),
            f"column {column_letter(col)} has values but no header; it is ignored",
            "give it a header if it should be used (a merged header cell looks like this)"))


SUPPORTED = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "text", ".tsv": "text", ".txt": "text"}


def read_table(path: Path, *, shown: str, sheet: str | None, fields: tuple[str, ...],
               required: tuple[str, ...], explicit_columns: Mapping[str, str]) -> Table:
    """Read one spreadsheet file; every problem comes back inside the :class:`Table`."""
    origin = Origin(shown)
    if not path.exists():
        return Table(origin, problems=(error("file_not_found", origin, "the file does not exist",
                                             "check the path in campaign.toml (it is relative "
                                             "to campaign.toml)"),))
    if path.is_dir():
        return Table(origin, problems=(error("file_not_found", origin, "this is a folder",
                                             "name a .xlsx or .csv file"),))
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        return Table(origin, problems=(error(
            "unsupported_format", origin, f"{path.suffix or 'no extension'} files are not read",
            "save the list as .xlsx or as CSV UTF-8 (.csv)"),))
    raw: RawSheet | Problem
    try:
        raw = read_xlsx(path, sheet, shown) if kind == "xlsx" else read_delimited(path, shown)
    except OSError as exc:
        return Table(origin, problems=(error("file_unreadable", origin, f"cannot read: {exc}",
                                             "check the file's permissions"),))
    if isinstance(raw, Problem):
        return Table(origin, problems=(raw,))
    try:
        return build_table(raw, fields, required, explicit_columns)
    except Exception as exc:  # a damaged workbook can fail while streaming rows
        return Table(origin, problems=(error(
            "xlsx_corrupt", origin, f"the workbook could not be read to the end ({exc})",
            "open it in Excel and save a fresh copy, or export it as CSV UTF-8"),))
