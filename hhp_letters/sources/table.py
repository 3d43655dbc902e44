"""Find the header row, map headers to canonical fields, and keep every value's origin.

:func:`read_table` returns a :class:`Table`: the header's mapping and the problems of the file
and its header, plus :meth:`Table.read`, a fresh pass over the data that yields every row and
every row-level problem in file order. Nothing accumulates behind the caller's back.
"""

from __future__ import annotations

import difflib
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl.utils.cell import get_column_letter

from hhp_letters.fields import (
    ALIASES,
    DESCRIPTION,
    MULTILINE,
    alias_index,
    display_name,
    normalise_header,
)
from hhp_letters.problems import Origin, Problem, error, warning
from hhp_letters.sources.cells import clean
from hhp_letters.sources.delimited import read_delimited
from hhp_letters.sources.raw import EXCEL_ERRORS, MergedRange, RawRow, RawSheet
from hhp_letters.sources.xlsx import read_xlsx

HEADER_SEARCH_ROWS = 20
MAX_CELL_CHARS = 5_000
MAX_FILE_BYTES = 2 << 30
# A formula that reads another workbook: "[1]Sheet1!A1" as stored (not a Table's [@Column]).
_EXTERNAL = re.compile(r"(?<![\w\]])\[\d+\]")
# Rows a report generator adds after the data (iTrent, Oracle, Excel's totals row).
_FOOTER = re.compile(r"^\s*(grand\s+total|totals?\b|total\s+(records|rows|count)|end\s+of\s+"
                     r"(report|data|list)|generated\s+(by|on)|printed\s+(by|on)|report\s+"
                     r"(run|generated)|records?\s*:|row\s*count|count\s*:|page\s+\d+)",
                     re.IGNORECASE)


def column_letter(index: int) -> str:
    """0-based column index → spreadsheet letters (0 → A, 26 → AA)."""
    return get_column_letter(index + 1)


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

    def has(self, name: str) -> bool:
        return name in self.cells


@dataclass(frozen=True)
class Table:
    """One sheet: its header mapping and the problems of the file and header. ``read()``
    streams the data rows (and their problems) afresh each call."""

    origin: Origin  # file and sheet
    columns: Mapping[str, str] = field(default_factory=dict)  # field -> "Header (C)"
    problems: tuple[Problem, ...] = ()
    _read: Callable[[], Iterator[Row | Problem]] | None = None
    header_row: int | None = None

    @property
    def readable(self) -> bool:
        return self._read is not None

    def read(self) -> Iterator[Row | Problem]:
        return self._read() if self._read is not None else iter(())


@dataclass(frozen=True)
class _Header:
    row: int
    values: list[str]
    columns: dict[str, int]  # field -> 0-based column
    labels: dict[int, str]


def _find_header(rows: list[RawRow], index: Mapping[str, str],
                 explicit: Mapping[str, str]) -> RawRow | None:
    """The row that reads most like a header: two or more known headers, or a known id
    header beside other headers (a manager's own column names), so a missing column can be
    named instead of the header row itself."""
    best: tuple[int, RawRow] | None = None
    for raw in rows:
        keys = {normalise_header(v) for v in raw.values if v.strip()}
        found = [explicit.get(k) or index.get(k) for k in keys if k in index or k in explicit]
        score = len(found)
        headerlike = score == 1 and found[0] == "participant_id" and len(keys) >= 3 and \
            not any(v.strip().replace(".", "").isdigit() for v in raw.values)
        if (score >= 2 or headerlike) and (best is None or score > best[0]):
            best = (score, raw)
    return None if best is None else best[1]


def _nearest(field_name: str, found: list[str]) -> str | None:
    """The header in ``found`` most like one of the field's aliases."""
    aliases = [normalise_header(a) for a in (field_name, *ALIASES[field_name])]
    scored = []
    for header in found:
        key = normalise_header(header)
        if not key:
            continue
        ratio = max(difflib.SequenceMatcher(None, key, a).ratio() for a in aliases)
        if any(a in key or key in a for a in aliases if len(a) > 2):
            ratio = max(ratio, 0.75)
        scored.append((ratio, header))
    scored.sort(key=lambda t: -t[0])
    return scored[0][1] if scored and scored[0][0] >= 0.6 else None


def _missing_problem(where: Origin, missing: list[str], header: _Header,
                     mapped: Mapping[str, int]) -> Problem:
    """Name each missing field in the user's words, the headers that were found, and the
    nearest one, with the exact line to add to campaign.toml."""
    unused = [" ".join(header.values[c].split()) for c in range(len(header.values))
              if header.values[c].strip() and c not in mapped.values()]
    parts = []
    hint_lines = []
    for name in missing:
        close = _nearest(name, unused)
        if close:
            parts.append(f"no column for {DESCRIPTION[name]} ({name}; found {close!r})")
            hint_lines.append(f'{name} = "{close}"')
        else:
            parts.append(f"no column for {DESCRIPTION[name]} ({name}; a header such as "
                         f"{display_name(name)!r})")
    found = ", ".join(repr(" ".join(v.split())) for v in header.values if v.strip())
    message = "; ".join(parts) + f". Headers found in row {header.row}: {found}"
    if hint_lines:
        hint = ("map the column(s) under [inputs.columns] in campaign.toml: "
                + "; ".join(hint_lines))
    else:
        hint = (f"add the column(s), or map an existing header under [inputs.columns], e.g. "
                f'{missing[0]} = "Your header"')
    return error("missing_column", where.at(row=header.row), message, hint)


def build_table(raw: RawSheet, fields: tuple[str, ...], required: tuple[str, ...],
                explicit_columns: Mapping[str, str],
                soft_columns: Mapping[str, str] | None = None) -> Table:
    """Turn a raw grid into rows keyed by canonical field; problems are returned, not raised.

    ``explicit_columns`` map a field to the one header it is read from. ``soft_columns``
    (campaign-wide mappings applied to a feedback file) are used when that header is present,
    and otherwise the field's aliases are.
    """
    where = Origin(raw.file, raw.sheet)
    # An explicit mapping wins over aliases: normalised header as written -> field. A mapped
    # field is read from its mapped header only, so its aliases (e.g. "First name" when
    # first_name is mapped to "Known as") neither clash with it nor stand in for a mapped header
    # that is absent.
    explicit = {normalise_header(h): f for f, h in explicit_columns.items() if f in fields}
    soft = {normalise_header(h): f for f, h in (soft_columns or {}).items()
            if f in fields and f not in explicit.values()}

    head: list[RawRow] = []
    early: list[Problem] = []
    for item in raw.items():
        if isinstance(item, Problem):
            early.append(item)
            if item.is_error:
                break
            continue
        if isinstance(item, RawRow) and any(v.strip() for v in item.values):
            head.append(item)
            if len(head) >= HEADER_SEARCH_ROWS:
                break
    if any(p.is_error for p in early) and not head:
        return Table(where, problems=tuple(early))
    if not head:
        return Table(where, problems=(error(
            "empty_sheet", where, "the sheet has no rows",
            "put the list on this sheet, or name the right one with `sheet` in campaign.toml"),))
    present = {normalise_header(v) for raw_row in head for v in raw_row.values}
    explicit |= {k: f for k, f in soft.items() if k in present}
    index = {k: f for k, f in alias_index(fields).items() if f not in explicit.values()}
    found = _find_header(head, index, explicit)
    if found is None:
        wanted = ", ".join(repr(display_name(f)) for f in required)
        first = ", ".join(repr(v) for v in head[0].values if v.strip())
        return Table(where, problems=(*early, error(
            "no_header", where.at(row=head[0].number),
            f"no row in the first {HEADER_SEARCH_ROWS} looks like the header (it needs headers "
            f"such as {wanted}); row {head[0].number} reads {first[:200]}",
            "add a header row above the data, or map your headers with [inputs.columns] in "
            "campaign.toml")))

    problems: list[Problem] = []  # ``early`` ones come again when the rows are read
    columns: dict[str, int] = {}
    labels: dict[int, str] = {}
    for col, text in enumerate(found.values):
        shown = " ".join(text.split())  # a header wrapped in its cell (Alt+Enter) on one line
        label = f"{shown} ({column_letter(col)})" if shown else column_letter(col)
        labels[col] = label
        key = normalise_header(text)
        name = explicit.get(key) or index.get(key)
        if name is None or not key:
            continue
        if name in columns:
            problems.append(error(
                "duplicate_column", where.at(row=found.number, column=label),
                f"two columns mean {DESCRIPTION[name]}: {labels[columns[name]]!r} and "
                f"{label!r}", "delete or rename one of them, or choose one with "
                "[inputs.columns]"))
            continue
        columns[name] = col
    header = _Header(found.number, found.values, columns, labels)
    for name, wanted_header in explicit_columns.items():
        if name in fields and name not in columns:
            problems.append(error(
                "mapped_column_missing", where.at(row=found.number),
                f"[inputs.columns] maps {name} to {wanted_header!r}, but the header row has no "
                "such column", "fix the header in campaign.toml or in the file"))
    missing = [f for f in required if f not in columns]
    if missing:
        problems.append(_missing_problem(where, missing, header, columns))
        # the rows will not be read, so look for what explains a lost header here
        problems += [_merged_problem(m, where, found.number) for m in raw.items()
                     if isinstance(m, MergedRange) and m.first_row <= found.number <= m.last_row]

    def read() -> Iterator[Row | Problem]:
        return _data_rows(raw, where, header)

    return Table(where, {f: labels[c] for f, c in columns.items()}, tuple(problems), read,
                 found.number)


def _is_footer(raw: RawRow, data_rows: int) -> bool:
    texts = [v.strip() for v in raw.values if v.strip()]
    if not texts:
        return False
    if _FOOTER.match(texts[0]):
        return True
    # a row holding only a count of the rows above it
    return len(texts) == 1 and texts[0].isdigit() and int(texts[0]) in (data_rows,
                                                                       data_rows - 1)


def _data_rows(raw: RawSheet, where: Origin, header: _Header) -> Iterator[Row | Problem]:
    """Rows below the header, each cell cleaned and located; problems in the same stream.
    Footer rows after the data (a report's totals, "End of report") are held back and, if no
    data follows them, reported as footers instead of rows."""
    unlabelled: set[int] = set()
    hidden: list[int] = []
    held: list[RawRow] = []  # footer-like rows; data after them makes them ordinary rows
    data_rows = 0
    width = len(header.values)
    for item in raw.items():
        if isinstance(item, Problem):
            yield item
            continue
        if isinstance(item, MergedRange):
            yield _merged_problem(item, where, header.row)
            continue
        if item.number <= header.row or not any(v.strip() for v in item.values):
            continue
        if _is_footer(item, data_rows):
            held.append(item)
            continue
        for earlier in held:
            data_rows += 1
            yield from _row(earlier, where, header, unlabelled, hidden, width)
        held = []
        data_rows += 1
        yield from _row(item, where, header, unlabelled, hidden, width)
    for footer in held:
        text = " ".join(v.strip() for v in footer.values if v.strip())
        yield warning("footer_row", where.at(row=footer.number),
                      f"row {footer.number} ({text[:60]!r}) is a report footer after the data, "
                      "not a participant; it is not read",
                      "nothing to do; delete it from the file if it is not a footer")
    if hidden:
        shown = ", ".join(str(n) for n in hidden[:20]) + (" …" if len(hidden) > 20 else "")
        yield warning("hidden_rows", where.at(row=hidden[0]),
                      f"{len(hidden)} row(s) are hidden in Excel but are read like any other: "
                      f"rows {shown}", "unhide them and check they belong in the list (hidden "
                      "rows are often withdrawn participants); delete those that do not")
    for col in sorted(unlabelled):
        yield warning(
            "unlabelled_column", where.at(row=header.row, column=column_letter(col)),
            f"column {column_letter(col)} has values but no header; it is ignored",
            "give it a header if it should be used (a merged header cell looks like this)")


def _merged_problem(merged: MergedRange, where: Origin, header_row: int) -> Problem:
    if merged.first_row <= header_row <= merged.last_row:
        return error("merged_header", where.at(row=header_row, column=merged.ref),
                     f"merged cells {merged.ref} in the header row",
                     "unmerge the header cells so each column has its own header")
    return error("merged_cells", where.at(row=merged.first_row, column=merged.ref),
                 f"merged cells {merged.ref}: only the first cell holds a value",
                 "unmerge the cells and fill the value into every row")


def _row(raw: RawRow, where: Origin, header: _Header, unlabelled: set[int], hidden: list[int],
         width: int) -> Iterator[Row | Problem]:
    number = raw.number
    values = raw.values
    if raw.hidden:
        hidden.append(number)
    cells: dict[str, Cell] = {}
    for name, col in header.columns.items():
        text = values[col] if col < len(values) else ""
        origin = where.at(row=number, column=header.labels[col])
        formula = raw.formulas.get(col)
        if col in raw.uncached:
            yield error("formula_not_cached", origin,
                        f"the cell holds a formula ({(formula or '')[:60]}) with no saved value",
                        "open the workbook in Excel and save it (so the values are stored), "
                        "or paste the column as values")
            text = ""
        elif formula is not None and _EXTERNAL.search(formula):
            yield warning("external_link", origin,
                          f"the value comes from another workbook through a link "
                          f"({formula[:60]}); it is used as last saved, and may be out of date",
                          "open the workbook in Excel, update the links (or paste the column "
                          "as values) and save it", detail=f"the cell shows {text[:60]!r}")
        value, findings = clean(text, name in MULTILINE)
        for f in findings:
            yield (error if f.is_error else warning)(f.code, origin, f.message, f.hint)
        if value in EXCEL_ERRORS:
            yield error("formula_error", origin, f"the cell shows the Excel error {value}",
                        "fix the formula in Excel, or paste the values")
            value = ""
        elif len(value) > MAX_CELL_CHARS:
            yield error("cell_too_long", origin,
                        f"the cell holds {len(value):,} characters (at most "
                        f"{MAX_CELL_CHARS:,})", "shorten it; this is probably pasted by mistake")
            value = ""
        cells[name] = Cell(value, origin)
    for col in range(width, len(values)):
        if values[col].strip():
            unlabelled.add(col)
    for col in range(min(width, len(values))):
        if values[col].strip() and not header.values[col].strip():
            unlabelled.add(col)
    yield Row(where.at(row=number), cells)


SUPPORTED = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "text", ".tsv": "text", ".txt": "text"}


def read_table(path: Path, *, shown: str, sheet: str | None, fields: tuple[str, ...],
               required: tuple[str, ...], explicit_columns: Mapping[str, str],
               soft_columns: Mapping[str, str] | None = None) -> Table:
    """Read one spreadsheet file; every problem comes back inside the :class:`Table`."""
    origin = Origin(shown)
    try:
        info = path.stat()
    except FileNotFoundError:
        return Table(origin, problems=(error("file_not_found", origin, "the file does not exist",
                                             "check the path in campaign.toml (it is relative "
                                             "to campaign.toml)"),))
    except OSError as exc:
        return Table(origin, problems=(error("file_unreadable", origin,
                                             f"cannot read: {exc.strerror}",
                                             "check the file's permissions"),))
    if stat.S_ISDIR(info.st_mode):
        return Table(origin, problems=(error("file_not_found", origin, "this is a folder",
                                             "name a .xlsx or .csv file"),))
    if not stat.S_ISREG(info.st_mode):  # a pipe or device would block or never end
        return Table(origin, problems=(error("not_a_file", origin,
                                             "this is not a regular file (a pipe or device)",
                                             "name a .xlsx or .csv file saved on disk"),))
    if info.st_size > MAX_FILE_BYTES:
        return Table(origin, problems=(error(
            "file_too_large", origin, f"the file is {info.st_size / 2**30:.1f} GB; a list of "
            "participants is far smaller", "check that this is the right file"),))
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        return Table(origin, problems=(error(
            "unsupported_format", origin, f"{path.suffix or 'no extension'} files are not read",
            "save the list as .xlsx or as CSV UTF-8 (.csv)"),))
    raw: RawSheet | Problem
    try:
        raw = read_xlsx(path, sheet, shown) if kind == "xlsx" else read_delimited(path, shown)
    except OSError as exc:  # permissions, a network drive gone: the machine, not our code
        return Table(origin, problems=(error("file_unreadable", origin,
                                             f"cannot read: {exc.strerror}",
                                             "check the file's permissions"),))
    if isinstance(raw, Problem):
        return Table(origin, problems=(raw,))
    return build_table(raw, fields, required, explicit_columns, soft_columns)
