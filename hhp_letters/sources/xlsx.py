"""Read .xlsx workbooks by streaming their XML, using the values Excel saved.

One pass over the sheet gives every cell's cached value, its formula (if any), hidden rows and
merged ranges, so a workbook is opened once and read at the speed of the XML parser, with
memory for one row at a time (openpyxl's read-only mode was ~0.8 ms a row and needed a second
and third pass for formulas). The XML is parsed by ``defusedxml`` (no entity expansion, no
external references), and zip members are size-checked before anything is inflated.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_xml
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

from hhp_letters.problems import Origin, Problem, error, warning
from hhp_letters.sources.raw import MergedRange, RawRow, RawSheet, cell_text

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")
_ZEROS = re.compile(r"0+")

# A workbook is a zip: refuse members that would inflate past these (a "zip bomb", or a
# pasted-in gigabyte) before reading them. A 100,000-row list is ~40 MB of sheet XML.
MAX_MEMBER_BYTES = 1 << 30
MAX_STRINGS_BYTES = 256 << 20
MAX_RATIO = 200  # uncompressed / compressed, for members over 8 MB

# What the zip and XML libraries raise for a damaged or hostile workbook: bad input, never a bug.
BAD_WORKBOOK: tuple[type[Exception], ...] = (
    zipfile.BadZipFile, zlib.error, EOFError, ParseError, defusedxml.DefusedXmlException,
    UnicodeDecodeError, zipfile.LargeZipFile, NotImplementedError)

# The hidden sheet our own feedback forms carry (forms.META_SHEET): expected, never a warning.
OWN_SHEET = "hhp-form"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


@dataclass(frozen=True)
class _Styles:
    dates: frozenset[int]  # cellXfs indexes formatted as dates or times
    padded: Mapping[int, int]  # cellXfs index → width, for formats like "000000"


@dataclass(frozen=True)
class _SheetEntry:
    name: str
    state: str  # visible | hidden | veryHidden
    member: str | None  # zip member of the sheet XML
    is_chart: bool


def _corrupt(origin: Origin, detail: str = "") -> Problem:
    return error("xlsx_corrupt", origin,
                 "the workbook is damaged and cannot be read" + (f" ({detail})" if detail else ""),
                 "open it in Excel and save a fresh copy as .xlsx, or export it as CSV UTF-8")


def _too_large(origin: Origin, member: str, size: int) -> Problem:
    return error("xlsx_too_large", origin,
                 f"the workbook's part {member} would unpack to {size / 2**20:,.0f} MB, more "
                 "than a list of participants can need (a damaged or hostile file)",
                 "open it in Excel, delete what does not belong to the list and save it again; "
                 "or export the list as CSV UTF-8")


def _sniff(path: Path, origin: Origin) -> Problem | None:
    with path.open("rb") as fh:
        head = fh.read(8)
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
    return None


def _check_sizes(zf: zipfile.ZipFile, origin: Origin) -> Problem | None:
    for info in zf.infolist():
        ratio = info.file_size / max(1, info.compress_size)
        limit = MAX_STRINGS_BYTES if info.filename.endswith("sharedStrings.xml") \
            else MAX_MEMBER_BYTES
        if info.file_size > limit or (info.file_size > 8 << 20 and ratio > MAX_RATIO):
            return _too_large(origin, info.filename, info.file_size)
    return None


class _MissingPart(Exception):
    """A part of the workbook's zip that must be there is not."""


def _parse(zf: zipfile.ZipFile, member: str) -> Element:
    try:
        fh = zf.open(member)
    except KeyError as exc:  # zipfile's way of saying "no such member"
        raise _MissingPart(member) from exc
    with fh:
        return safe_xml.parse(fh).getroot()  # type: ignore[no-any-return]


def _int(text: str | None, default: int = 0) -> int:
    """An integer attribute; junk in a damaged file reads as the default, never a crash."""
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _sheets(zf: zipfile.ZipFile) -> tuple[list[_SheetEntry], bool]:
    """The workbook's sheets in tab order, and whether it uses the 1904 date system."""
    workbook = _parse(zf, "xl/workbook.xml")
    rels: dict[str, tuple[str, str]] = {}
    try:
        for rel in _parse(zf, "xl/_rels/workbook.xml.rels"):
            target = rel.get("Target", "")
            member = target.lstrip("/") if target.startswith("/") else \
                posixpath.normpath(posixpath.join("xl", target))
            rels[rel.get("Id", "")] = (member, rel.get("Type", ""))
    except _MissingPart:
        pass
    date1904 = any(_local(e.tag) == "workbookPr" and e.get("date1904") in ("1", "true")
                   for e in workbook)
    entries = []
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        rid = element.get(f"{{{_REL}}}id") or element.get(f"{{{_STRICT_REL}}}id") or ""
        part, kind = rels.get(rid, ("", ""))
        entries.append(_SheetEntry(element.get("name", ""), element.get("state", "visible"),
                                   part or None, kind.endswith("/chartsheet")))
    return entries, date1904


def _styles(zf: zipfile.ZipFile) -> _Styles:
    try:
        root = _parse(zf, "xl/styles.xml")
    except _MissingPart:
        return _Styles(frozenset(), {})
    codes: dict[int, str] = dict(BUILTIN_FORMATS)
    for element in root.iter():
        if _local(element.tag) == "numFmt":
            codes[_int(element.get("numFmtId"))] = element.get("formatCode", "")
    dates: set[int] = set()
    padded: dict[int, int] = {}
    xfs = next((e for e in root if _local(e.tag) == "cellXfs"), None)
    for index, xf in enumerate(xfs if xfs is not None else ()):
        code = codes.get(_int(xf.get("numFmtId")), "General")
        if is_date_format(code):
            dates.add(index)
        elif _ZEROS.fullmatch(code):
            padded[index] = len(code)  # Excel shows 4506 formatted "000000" as 004506
    return _Styles(frozenset(dates), padded)


# Excel writes characters XML cannot hold (control characters, and "_x" itself) as _xHHHH_.
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _text_of(element: Element) -> str:
    """A shared or inline string: its runs' text, without phonetic (rPh) guides."""
    parts: list[str] = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return _unescape("".join(parts))


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    try:
        root = _parse(zf, "xl/sharedStrings.xml")
    except _MissingPart:
        return []
    return [_text_of(si) for si in root if _local(si.tag) == "si"]


def _choose(entries: list[_SheetEntry], sheet: str | None, origin: Origin
            ) -> _SheetEntry | Problem:
    if sheet is None:
        visible = [e for e in entries if e.state == "visible"]
        if not visible:
            return error("empty_sheet", origin, "the workbook has no visible sheets",
                         "put the list on a visible worksheet, or name its sheet with "
                         "`sheet` in campaign.toml")
        return visible[0]  # a hidden first sheet (often a stale copy) is never read unnamed
    matches = [e for e in entries if e.name.strip().casefold() == sheet.strip().casefold()]
    if not matches:
        return error("unknown_sheet", origin,
                     f"no sheet named {sheet!r}; the workbook has "
                     + ", ".join(repr(e.name) for e in entries),
                     "fix `sheet` in campaign.toml (or rename the sheet)")
    return matches[0]


def read_xlsx(path: Path, sheet: str | None, shown: str) -> RawSheet | Problem:
    origin = Origin(shown)
    problem = _sniff(path, origin)
    if problem is not None:
        return problem
    try:
        with zipfile.ZipFile(path) as zf:
            problem = _check_sizes(zf, origin)
            if problem is not None:
                return problem
            entries, date1904 = _sheets(zf)
            chosen = _choose(entries, sheet, origin)
            if isinstance(chosen, Problem):
                return chosen
            if chosen.is_chart:
                return error("not_a_worksheet", Origin(shown, chosen.name),
                             f"{chosen.name!r} is a chart sheet, not a worksheet",
                             "name the worksheet that holds the list")
            if chosen.member is None or chosen.member not in zf.namelist():
                return _corrupt(origin, f"sheet {chosen.name!r} has no data part")
            styles = _styles(zf)
            strings = _shared_strings(zf)
    except _MissingPart as exc:
        return _corrupt(origin, f"its part {exc} is missing")
    except BAD_WORKBOOK as exc:
        return _corrupt(origin, type(exc).__name__)
    member = chosen.member
    epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
    where = Origin(shown, chosen.name)
    hidden = [e.name for e in entries if e.state != "visible" and e is not chosen
              and not e.is_chart and e.name != OWN_SHEET]
    notes: tuple[Problem, ...] = (warning(
        "hidden_sheet", Origin(shown), "the workbook has hidden sheet(s) "
        + ", ".join(map(repr, hidden)) + f"; only {chosen.name!r} was read",
        "nothing to do if the hidden sheets are old copies; delete them, or name the sheet to "
        "read with `sheet` in campaign.toml"),) if hidden else ()
    if chosen.state != "visible":
        notes += (warning("hidden_sheet", Origin(shown, chosen.name),
                          f"the sheet {chosen.name!r} is hidden in Excel; it was read because "
                          "campaign.toml names it", "check it is the current allocation, not "
                          "an old copy someone hid"),)

    def items() -> Iterator[RawRow | MergedRange | Problem]:
        yield from notes
        with zipfile.ZipFile(path) as zf, zf.open(member) as fh:
            yield from _stream(fh, strings, styles, epoch, where)

    return RawSheet(shown, chosen.name, items)


def _stream(fh: IO[bytes], strings: list[str], styles: _Styles, epoch: dt.datetime,
            where: Origin) -> Iterator[RawRow | MergedRange | Problem]:
    events = iter(safe_xml.iterparse(fh, events=("start", "end")))
    parent: Element | None = None
    merged: list[MergedRange] = []
    number = 0
    while True:
        try:  # the boundary: only the zip and XML libraries' errors mean a damaged file
            event, element = next(events)
        except StopIteration:
            break
        except BAD_WORKBOOK as exc:
            yield _corrupt(Origin(where.file), f"reading row {number + 1}: "
                                               f"{type(exc).__name__}")
            return
        name = _local(element.tag)
        if event == "start":
            if name == "sheetData":
                parent = element
            continue
        if name == "row":
            given = _int(element.get("r"), number + 1)
            if given <= number:  # Excel writes each row once, in order
                yield _corrupt(Origin(where.file), f"row {given} appears again after row "
                                                   f"{number}")
                return
            number = given
            row = _row(element, number, strings, styles, epoch)
            if row is None:
                yield _corrupt(Origin(where.file), f"a cell of row {number} refers to text "
                                                   "the workbook does not hold")
                return
            yield row
            if parent is not None:
                parent.clear()  # memory for one row at a time
        elif name == "mergeCell":
            ref = element.get("ref", "")
            try:
                _, first, _, last = range_boundaries(ref)
            except (ValueError, TypeError):
                continue
            if first is not None and last is not None:
                merged.append(MergedRange(ref, first, last))
    yield from merged


def _row(element: Element, number: int, strings: list[str], styles: _Styles,
         epoch: dt.datetime) -> RawRow | None:
    """The row's cells, or None when a cell points at a shared string that is not there."""
    values: list[str] = []
    formulas: dict[int, str] = {}
    uncached: set[int] = set()
    col = -1
    for cell in element:
        if _local(cell.tag) != "c":
            continue
        ref = cell.get("r")
        match = _CELL_REF.fullmatch(ref) if ref else None
        col = column_index_from_string(match.group(1)) - 1 if match else col + 1
        kind = cell.get("t", "n")
        style = _int(cell.get("s"))
        value: str | None = None
        formula: str | None = None
        inline = ""
        for child in cell:
            tag = _local(child.tag)
            if tag == "v":
                value = child.text or ""
            elif tag == "f":
                formula = "=" + (child.text or "(shared formula)")
            elif tag == "is":
                inline = _text_of(child)
        if formula is not None:
            formulas[col] = formula
            # no saved value: no <v>, or an empty one on a cell whose result is not text
            if (value is None and kind != "inlineStr") or (value == "" and kind not in (
                    "str", "inlineStr", "s")):
                uncached.add(col)
        if kind == "s" and value is not None and not 0 <= _int(value, -1) < len(strings):
            return None
        text = _value(kind, value, inline, style, strings, styles, epoch)
        if len(values) <= col:
            values.extend([""] * (col + 1 - len(values)))
        values[col] = text
    hidden = element.get("hidden") in ("1", "true")
    return RawRow(number, values, hidden, formulas, frozenset(uncached))


def _value(kind: str, value: str | None, inline: str, style: int, strings: list[str],
           styles: _Styles, epoch: dt.datetime) -> str:
    if kind == "inlineStr":
        return inline
    if value is None:
        return ""
    if kind == "s":
        index = _int(value, -1)
        return strings[index] if 0 <= index < len(strings) else ""
    if kind == "b":
        return "TRUE" if value in ("1", "true") else "FALSE"
    if kind == "str":
        return _unescape(value)
    if kind == "e":
        return value
    if kind == "d":
        return value.split("T")[0] if value.endswith("T00:00:00") else value
    try:
        number = float(value)
    except ValueError:
        return value
    if style in styles.dates:
        try:
            return cell_text(from_excel(number, epoch))
        except (ValueError, OverflowError):
            return cell_text(number)
    width = styles.padded.get(style)
    if width is not None and number.is_integer() and number >= 0:
        return f"{int(number):0{width}d}"
    return cell_text(number)
