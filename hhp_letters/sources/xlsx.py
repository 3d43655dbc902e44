"""Read .xlsx workbooks with openpyxl in read-only mode, using the values Excel saved."""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from hhp_letters.problems import Origin, Problem, error
from hhp_letters.sources.raw import RawSheet, cell_text

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _open(path: Path, *, data_only: bool) -> Any:
    with warnings.catch_warnings():
        # openpyxl warns about unsupported extensions (data validation, conditional formats):
        # harmless for reading values.
        warnings.simplefilter("ignore")
        return load_workbook(path, read_only=True, data_only=data_only, keep_links=False)


def _unreadable(path: Path, shown: str) -> Problem:
    head = path.read_bytes()[:8] if path.stat().st_size else b""
    origin = Origin(shown)
    if not head:
        return error("empty_file", origin, "the file is empty (0 bytes)",
                     "export the list again; the file on disk has no content")
    if head == _OLE_MAGIC:
        return error("xlsx_encrypted", origin,
                     "the workbook is password-protected (encrypted) or an old .xls file",
                     "open it in Excel, remove the password (File > Info > Protect Workbook) "
                     "and save as .xlsx; or save it as CSV UTF-8")
    if not head.startswith(b"PK"):
        return error("not_xlsx", origin,
                     "the file is not an Excel .xlsx workbook (its content is not a zip archive)",
                     "check the file; if it is CSV text, rename it to .csv")
    return error("xlsx_corrupt", origin, "the workbook is damaged and cannot be read",
                 "open it in Excel and save a fresh copy as .xlsx, or export it as CSV UTF-8")


def read_xlsx(path: Path, sheet: str | None, shown: str) -> RawSheet | Problem:
    try:
        wb = _open(path, data_only=True)
    except Exception:  # openpyxl raises many types for bad archives; all mean "can't read"
        return _unreadable(path, shown)
    try:
        names = list(wb.sheetnames)
        if sheet is None:
            if not names:
                return error("empty_sheet", Origin(shown), "the workbook has no sheets",
                             "put the list on a worksheet")
            name = names[0]
        else:
            matches = [n for n in names if n.strip().casefold() == sheet.strip().casefold()]
            if not matches:
                return error("unknown_sheet", Origin(shown),
                             f"no sheet named {sheet!r}; the workbook has "
                             + ", ".join(repr(n) for n in names),
                             "fix `sheet` in campaign.toml (or rename the sheet)")
            name = matches[0]
        ws = wb[name]
        if not isinstance(ws, ReadOnlyWorksheet):
            return error("not_a_worksheet", Origin(shown, name),
                         f"{name!r} is a chart sheet, not a worksheet",
                         "name the worksheet that holds the list")
        worksheet_path: str = ws._worksheet_path  # type: ignore[attr-defined]
    finally:
        wb.close()

    def rows() -> Iterator[tuple[int, list[str]]]:
        book = _open(path, data_only=True)
        try:
            for number, values in enumerate(book[name].iter_rows(min_row=1, values_only=True),
                                            start=1):
                yield number, [cell_text(v) for v in values]
        finally:
            book.close()

    def formulas_at(cells: set[tuple[int, int]]) -> Mapping[tuple[int, int], str]:
        if not cells:
            return {}
        last = max(r for r, _ in cells)
        found: dict[tuple[int, int], str] = {}
        book = _open(path, data_only=False)
        try:
            for number, values in enumerate(
                    book[name].iter_rows(min_row=1, max_row=last, values_only=True), start=1):
                for col, value in enumerate(values):
                    if (number, col) in cells and isinstance(value, str) and value.startswith("="):
                        found[(number, col)] = value
        finally:
            book.close()
        return found

    merged, has_formulas = _scan(path, worksheet_path)
    return RawSheet(shown, name, rows, merged, formulas_at, has_formulas)


def _scan(path: Path, member: str) -> tuple[tuple[str, ...], bool]:
    """Merged ranges, and whether any cell holds a formula, from the sheet's XML, read in
    chunks so a large sheet never sits in memory whole."""
    merged: list[str] = []
    formulas = False
    tail = b""
    try:
        with zipfile.ZipFile(path) as zf, zf.open(member) as fh:
            while chunk := fh.read(1 << 20):
                text = tail + chunk
                formulas = formulas or _FORMULA.search(text) is not None
                cut = max(0, len(text) - 256)  # keep a tail so a tag split by a chunk is seen
                merged += [m.group(1).decode() for m in _MERGE.finditer(text)
                           if m.start() < cut]
                tail = text[cut:]
            merged += [m.group(1).decode() for m in _MERGE.finditer(tail)]
    except (KeyError, zipfile.BadZipFile, OSError):
        return (), True
    return tuple(dict.fromkeys(merged)), formulas
