"""A hostile corpus: inputs and environment faults that a careless (or malicious) world hands
hhp-letters, each with what must happen. An executable spec: the product is changed to meet it.

Everything here *builds* things (campaign folders, workbooks, zip bombs, PNGs, Word templates,
tampered run folders) and *states* expectations as data; ``test_hostile.py`` runs them.

Kinds of case:

- :class:`InputCase` — a campaign (the valid one of ``conftest.py`` with one hostile change).
  ``hhp-letters check`` must exit ``check_exit`` and report every :class:`Expect` in
  problems.csv; then (``run``) ``letters`` (``--skip-invalid`` for ``"skip"``) must exit
  ``run_exit`` and make letters for exactly ``letters``, each printing its spreadsheet text
  (``prints``; by default "Dear {first name}," and both feedback lines) and passing ``verify``.
- :class:`ForceCase`, :class:`SignalCase`, :class:`LimitCase`, :class:`SecretsCase` — the
  environment: ``--out`` targets ``--force`` must not delete, signals mid-run, disk and file-size
  limits, read-only folders, damaged campaign secrets.
- :class:`TamperCase` — a finished run is altered; ``verify`` must exit 1 naming it.

Global rules every case also checks: never a traceback, never "Internal error" (exit 3), never
a letter for someone who should not get one, never a letter printing other text than the
spreadsheet's or a character the fonts cannot draw (a blank box).

Row numbers are as the spreadsheet shows them: header in row 1, so P001 is row 2 … P006 row 7.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import io
import json
import os
import re
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape as xml_escape

from conftest import CampaignBuilder, csv_text, write_assets, write_csv

# --- the valid campaign's facts (see conftest.py) -----------------------------------------------

TREATMENT = frozenset({"P001", "P003", "P005", "P006"})
CONTROL = frozenset({"P002", "P004"})
ROW = {"P001": 2, "P002": 3, "P003": 4, "P004": 5, "P005": 6, "P006": 7}
INDEX = {pid: row - 2 for pid, row in ROW.items()}  # index into CampaignBuilder.rows
COL = {"id": 0, "first": 1, "last": 2, "arm": 3, "authority": 4, "address": 5, "town": 6,
       "postcode": 7}
LABEL = {"id": "Participant ID (A)", "first": "First name (B)", "last": "Last name (C)",
         "arm": "Arm (D)", "authority": "Local authority (E)", "address": "Address line 1 (F)",
         "town": "Town (G)", "postcode": "Post Code (H)"}
FB_LABEL = {0: "Participant ID (A)", 1: "Feedback 1 (B)", 2: "Feedback 2 (C)"}
# which feedback file holds whose feedback, and on which row
FEEDBACK_OF = {"P001": ("team-a.csv", 2), "P005": ("team-a.csv", 3),
               "P003": ("team-b.xlsx", 2), "P006": ("team-b.xlsx", 3)}

LIST_X = "data/list.xlsx"
LIST_C = "data/list.csv"
FB_A = "data/feedback/team-a.csv"
FB_B = "data/feedback/team-b.xlsx"
TOML = "campaign.toml"
BODY = "my-letter.j2"
WORD = "templates/bf-letter.docx"
FIXED_TIME = (2019, 10, 1, 9, 0, 0)
MB = 1 << 20
GB = 1 << 30


# --- zip archives, bombs included ---------------------------------------------------------------

@dataclass(frozen=True)
class Bomb:
    """A zip member of ``head`` + ``chunk`` × ``count`` + ``tail``, deflated without ever
    holding it: each chunk is compressed once after a full flush (so every repetition has the
    same compressed bytes) and the block is repeated. ``declared`` lies about the size."""

    name: str
    head: bytes
    chunk: bytes
    count: int
    tail: bytes
    declared: int | None = None

    @property
    def size(self) -> int:
        return len(self.head) + len(self.chunk) * self.count + len(self.tail)


Member = tuple[str, bytes] | Bomb


def _deflate_bomb(bomb: Bomb) -> tuple[bytes, int]:
    """Raw deflate data and the CRC-32 of the whole inflated member."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(bomb.head) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(bomb.chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(bomb.chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    assert block == again, "a full flush must make repeated chunks compress identically"
    tail = comp.compress(bomb.tail) + comp.flush()
    crc = zlib.crc32(bomb.head)
    for _ in range(bomb.count):
        crc = zlib.crc32(bomb.chunk, crc)
    crc = zlib.crc32(bomb.tail, crc)
    data = head + block + again + block * (bomb.count - 2) + tail if bomb.count >= 2 else (
        head + block * bomb.count + tail)
    return data, crc


def zip_bytes(members: Sequence[Member]) -> bytes:
    """A zip archive (deflated, fixed timestamps), written by hand so that a member can be a
    :class:`Bomb` of any size — and can lie about it."""
    out = io.BytesIO()
    central = io.BytesIO()
    dos_time = (FIXED_TIME[3] << 11) | (FIXED_TIME[4] << 5) | (FIXED_TIME[5] // 2)
    dos_date = ((FIXED_TIME[0] - 1980) << 9) | (FIXED_TIME[1] << 5) | FIXED_TIME[2]
    count = 0
    for member in members:
        if isinstance(member, Bomb):
            name = member.name
            data, crc = _deflate_bomb(member)
            size = member.declared if member.declared is not None else member.size
        else:
            name, raw = member
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            data = comp.compress(raw) + comp.flush()
            crc, size = zlib.crc32(raw), len(raw)
        if size >= 0xFFFFFFFF or len(data) >= 0xFFFFFFFF:
            raise ValueError("zip64 is not needed by this corpus")
        encoded = name.encode("utf-8")
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x0800, 8, dos_time, dos_date,
                              crc, len(data), size, len(encoded), 0))
        out.write(encoded)
        out.write(data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x0800, 8,
                                  dos_time, dos_date, crc, len(data), size, len(encoded), 0, 0,
                                  0, 0, 0, offset))
        central.write(encoded)
        count += 1
    start = out.tell()
    directory = central.getvalue()
    out.write(directory)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), start,
                          0))
    return out.getvalue()


# --- .xlsx workbooks, written the way Excel writes them -----------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
# XML 1.0 cannot hold these; Excel writes them as _xHHHH_ (and CR too, as _x000D_)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")
_LOOKS_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def excel_text(text: str) -> str:
    """Cell text as Excel stores it in XML: a literal "_x0041_" is escaped as "_x005F_x0041_",
    characters XML cannot hold become "_xHHHH_", and &, <, > are escaped."""
    text = _LOOKS_ESCAPED.sub(r"_x005F_\1", text)
    text = _NOT_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return xml_escape(text)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class XCell:
    """A cell that is more than a value: a formula with a cached value, or raw XML."""

    text: str = ""  # the cached value as Excel shows it
    formula: str | None = None  # without the leading '='
    raw: str | None = None  # the whole <c> element's inner XML and attributes, verbatim
    attrs: str = ""


Value = str | int | float | XCell | None


@dataclass(frozen=True)
class XSheet:
    name: str
    grid: Sequence[Sequence[Value]]
    state: Literal["visible", "hidden", "veryHidden"] = "visible"
    hidden_rows: frozenset[int] = frozenset()  # 1-based
    autofilter: bool = False
    row_numbers: Sequence[int] | None = None  # r= of each grid row (default 1, 2, 3 …)


def _sheet_xml(sheet: XSheet, strings: list[str], index: dict[str, int]) -> bytes:
    rows = []
    width = max((len(r) for r in sheet.grid), default=1)
    for i, values in enumerate(sheet.grid):
        number = sheet.row_numbers[i] if sheet.row_numbers is not None else i + 1
        cells = []
        for c, value in enumerate(values):
            ref = f"{column_letter(c)}{number}"
            if value is None or value == "":
                continue
            if isinstance(value, XCell):
                if value.raw is not None:
                    cells.append(f'<c r="{ref}"{value.attrs}>{value.raw}</c>')
                else:
                    cells.append(f'<c r="{ref}" t="str"><f>{xml_escape(value.formula or "")}'
                                 f'</f><v>{excel_text(value.text)}</v></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
            else:
                if value not in index:
                    index[value] = len(strings)
                    strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{index[value]}</v></c>')
        hidden = ' hidden="1"' if number in sheet.hidden_rows else ""
        rows.append(f'<row r="{number}"{hidden}>{"".join(cells)}</row>')
    last = f"{column_letter(width - 1)}{max(len(sheet.grid), 1)}"
    autofilter = f'<autoFilter ref="A1:{last}"/>' if sheet.autofilter else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}"'
            f' xmlns:r="{_RELS}"><dimension ref="A1:{last}"/><sheetData>{"".join(rows)}'
            f"</sheetData>{autofilter}</worksheet>").encode()


def _sst_xml(strings: Sequence[str]) -> bytes:
    items = "".join(f'<si><t xml:space="preserve">{excel_text(s)}</t></si>' for s in strings)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_MAIN}" '
            f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>').encode()


def xlsx_members(sheets: Sequence[XSheet]) -> list[Member]:
    """The parts of a workbook (shared strings, like Excel), sheets in tab order."""
    strings: list[str] = []
    index: dict[str, int] = {}
    parts = [_sheet_xml(s, strings, index) for s in sheets]
    entries = "".join(
        f'<sheet name="{xml_escape(s.name)}" sheetId="{i}"'
        + ("" if s.state == "visible" else f' state="{s.state}"') + f' r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1))
    # the first *visible* sheet is the active tab, as Excel saves it
    active = next((i for i, s in enumerate(sheets) if s.state == "visible"), 0)
    workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook '
                f'xmlns="{_MAIN}" xmlns:r="{_RELS}"><bookViews><workbookView '
                f'activeTab="{active}" firstSheet="{active}"/></bookViews><sheets>{entries}'
                "</sheets></workbook>").encode()
    n = len(sheets)
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_RELS}/worksheet" '
                   f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
    rels += (f'<Relationship Id="rId{n + 1}" Type="{_RELS}/sharedStrings" '
             'Target="sharedStrings.xml"/>')
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1))
    types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://'
             'schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
             'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
             'Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.'
             'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
             'sheet.main+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="'
             'application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
             f"{overrides}</Types>").encode()
    root_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                 f'xmlns="{_PKG}"><Relationship Id="rId1" Type="{_RELS}/officeDocument" '
                 'Target="xl/workbook.xml"/></Relationships>').encode()
    members: list[Member] = [
        ("[Content_Types].xml", types), ("_rels/.rels", root_rels),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"'
                                        f'?>\n<Relationships xmlns="{_PKG}">{rels}'
                                        "</Relationships>").encode()),
        ("xl/sharedStrings.xml", _sst_xml(strings))]
    members += [(f"xl/worksheets/sheet{i}.xml", part) for i, part in enumerate(parts, start=1)]
    return members


def replace_member(members: Sequence[Member], replacement: Member) -> list[Member]:
    name = replacement.name if isinstance(replacement, Bomb) else replacement[0]
    out = [replacement if (m.name if isinstance(m, Bomb) else m[0]) == name else m
           for m in members]
    if replacement not in out:
        out.append(replacement)
    return out


def member_data(members: Sequence[Member], name: str) -> bytes:
    for m in members:
        if not isinstance(m, Bomb) and m[0] == name:
            return m[1]
    raise KeyError(name)


# --- images -------------------------------------------------------------------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_png(path: Path, width: int, height: int, *, idat_rows: int | None = None) -> Path:
    """A one-colour (white) 1-bit greyscale PNG, compressed row by row, never held whole. With
    ``idat_rows`` the header still says ``height`` but only that many rows of data follow."""
    path.parent.mkdir(parents=True, exist_ok=True)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    with path.open("wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)))
        data = bytearray()
        for _ in range(height if idat_rows is None else idat_rows):
            data += comp.compress(row)
            if len(data) > MB:
                fh.write(_png_chunk(b"IDAT", bytes(data)))
                data.clear()
        data += comp.flush()
        fh.write(_png_chunk(b"IDAT", bytes(data)))
        fh.write(_png_chunk(b"IEND", b""))
    return path


def jpeg_claiming(path: Path, width: int, height: int) -> Path:
    """A small real JPEG whose frame header is patched to claim ``width`` × ``height``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (31, 78, 121)).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    return path


# --- Word templates -----------------------------------------------------------------------------

WORD_BODY = ("{{ date }}", "{{ address }}", "Dear {{ first_name }},",
             "Your manager wrote: {{ feedback_1 }}", "and: {{ feedback_2 }}",
             "{{ signatory.name }}, {{ signatory.title }}")


def docx_members(paragraphs: Sequence[str]) -> list[Member]:
    """A Word document (python-docx's default template) holding one paragraph per text."""
    from docx import Document

    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    with zipfile.ZipFile(buf) as zf:
        return [(name, zf.read(name)) for name in zf.namelist()]


def docx_bytes(paragraphs: Sequence[str]) -> bytes:
    return zip_bytes(docx_members(paragraphs))


def docx_bomb() -> bytes:
    """A template whose word/document.xml inflates to 1.1 GB (white space inside the body)."""
    members = docx_members(WORD_BODY)
    xml = member_data(members, "word/document.xml")
    cut = xml.index(b"<w:body>") + len(b"<w:body>")
    bomb = Bomb("word/document.xml", xml[:cut], b" " * MB, 1100, xml[cut:])
    return zip_bytes(replace_member(members, bomb))


# --- the campaign builder -----------------------------------------------------------------------

@dataclass
class HostileBuilder(CampaignBuilder):
    """:class:`conftest.CampaignBuilder`, but every .xlsx is written the way Excel writes it
    (shared strings; control characters as _xHHHH_), with hooks for the hostile parts: sheets
    around the list, hidden rows, formula cells, raw CSV bytes, extra files."""

    list_before: list[XSheet] = field(default_factory=list)  # sheets before the list's tab
    list_after: list[XSheet] = field(default_factory=list)
    list_state: Literal["visible", "hidden", "veryHidden"] = "visible"
    list_hidden: set[int] = field(default_factory=set)  # 1-based rows
    list_autofilter: bool = False
    list_cells: dict[tuple[int, int], XCell] = field(default_factory=dict)  # (row, col 0-based)
    list_row_numbers: list[int] | None = None
    list_bytes: bytes | None = None  # the list file exactly (CSV encodings, bombs)
    list_members: Callable[[list[Member]], list[Member]] | None = None  # edit the .xlsx parts
    feedback_before: dict[str, list[XSheet]] = field(default_factory=dict)
    feedback_hidden: dict[str, set[int]] = field(default_factory=dict)
    feedback_cells: dict[str, dict[tuple[int, int], XCell]] = field(default_factory=dict)
    feedback_bytes: dict[str, bytes] = field(default_factory=dict)
    feedback_members: dict[str, Callable[[list[Member]], list[Member]]] = field(
        default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # extra files, relative to the root
    after_build: list[Callable[[HostileBuilder], None]] = field(default_factory=list)

    def _grid(self, grid: Sequence[Sequence[Any]], cells: Mapping[tuple[int, int], XCell]
              ) -> list[list[Value]]:
        out: list[list[Value]] = [list(r) for r in grid]
        for (row, col), cell in cells.items():
            line = out[row - 1]
            line.extend([None] * (col + 1 - len(line)))
            line[col] = cell
        return out

    def list_workbook(self) -> list[Member]:
        sheet = XSheet(self.sheet, self._grid(self.list_grid(), self.list_cells),
                       self.list_state, frozenset(self.list_hidden), self.list_autofilter,
                       self.list_row_numbers)
        members = xlsx_members([*self.list_before, sheet, *self.list_after])
        return self.list_members(members) if self.list_members else members

    def build(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        self.toml_path.write_text(self.toml(), encoding="utf-8")
        write_assets(self.root)
        self.list_path.parent.mkdir(parents=True, exist_ok=True)
        if self.list_bytes is not None:
            self.list_path.write_bytes(self.list_bytes)
        elif self.fmt == "xlsx":
            self.list_path.write_bytes(zip_bytes(self.list_workbook()))
        else:
            write_csv(self.list_path, self.list_grid(), encoding=self.csv_encoding,
                      delimiter=self.csv_delimiter)
        folder = self.root / "data" / "feedback"
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in self.feedback.items():
            grid = [self.feedback_header, *rows]
            path = folder / name
            if name in self.feedback_bytes:
                path.write_bytes(self.feedback_bytes[name])
            elif name.endswith(".xlsx"):
                sheet = XSheet("Feedback", self._grid(grid, self.feedback_cells.get(name, {})),
                               hidden_rows=frozenset(self.feedback_hidden.get(name, set())))
                members = xlsx_members([*self.feedback_before.get(name, []), sheet])
                edit = self.feedback_members.get(name)
                path.write_bytes(zip_bytes(edit(members) if edit else members))
            else:
                write_csv(path, grid)
        for rel, data in self.files.items():
            target = self.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for hook in self.after_build:
            hook(self)
        return self.root

    # what the spreadsheets say, for the letter oracle
    def row_of(self, pid: str) -> list[Any]:
        return next(r for r in self.rows if str(r[0]) == pid)

    def feedback_of(self, pid: str) -> tuple[str, str]:
        for rows in self.feedback.values():
            for r in rows:
                if str(r[0]) == pid:
                    return str(r[1]), str(r[2])
        raise KeyError(pid)


Mutator = Callable[[HostileBuilder], None]


# --- one-line mutators --------------------------------------------------------------------------

def cell(pid: str, column: str, value: Any) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        b.rows[INDEX[pid]][COL[column]] = value
    return mutate


def rename(pid: str, new: str) -> Mutator:
    """A participant's id changes, in the list and in their feedback."""
    def mutate(b: HostileBuilder) -> None:
        b.rows[INDEX[pid]][COL["id"]] = new
        for rows in b.feedback.values():
            for r in rows:
                if r[0] == pid:
                    r[0] = new
    return mutate


def fb(pid: str, index: int, value: Any) -> Mutator:
    """Feedback cell of ``pid``: 0 the id, 1 and 2 the lines."""
    def mutate(b: HostileBuilder) -> None:
        file, _ = FEEDBACK_OF[pid]
        next(r for r in b.feedback[file] if r[0] == pid)[index] = value
    return mutate


def fb_add(file: str, row: list[Any]) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        b.feedback[file].append(row)
    return mutate


def toml(old: str, new: str) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        b.toml_edits.append((old, new))
    return mutate


def no_sheet_named(b: HostileBuilder) -> None:
    """campaign.toml names no sheet: the default (first visible) sheet is read."""
    b.toml_edits.append(('sheet = "Allocation"\n', ""))


def set_attr(name: str, value: Any) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        setattr(b, name, copy.deepcopy(value))
    return mutate


def add_file(rel: str, data: bytes | str) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        b.files[rel] = data.encode("utf-8") if isinstance(data, str) else data
    return mutate


def body(text: str | bytes) -> Mutator:
    """A custom letter body (``[letters] body``)."""
    def mutate(b: HostileBuilder) -> None:
        b.toml_edits.append(("[print]", f'[letters]\nbody = "{BODY}"\n\n[print]'))
        b.files[BODY] = text.encode("utf-8") if isinstance(text, str) else text
    return mutate


def word_template(data: bytes | Callable[[], bytes], code: str = "BF") -> Mutator:
    """A Word letterhead for one authority (``data`` may be made only when the case runs)."""
    def mutate(b: HostileBuilder) -> None:
        b.toml_edits.append((f'code = "{code}"', f'code = "{code}"\ntemplate = "{WORD}"'))
        b.files[WORD] = data if isinstance(data, bytes) else data()
    return mutate


def add_column(header: str, values: Mapping[str, Any]) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        b.header.append(header)
        for r in b.rows:
            r.append(values.get(str(r[0]), ""))
    return mutate


def control_rows(count: int, *, width: int = 60, start: int = 100,
                 at: Mapping[int, tuple[int, str]] | None = None) -> Mutator:
    """``count`` control-arm rows after P006 (P100 …), padding the file past 64 KiB. ``at``:
    spreadsheet row → (column, text) to put into one of them."""
    def mutate(b: HostileBuilder) -> None:
        for i in range(count):
            number = len(b.rows) + 2
            row: list[Any] = [f"P{start + i}", "", "Padding" + "x" * width, "control", "BF",
                              "", "", ""]
            if at and number in at:
                column, text = at[number]
                row[column] = text
            b.rows.append(row)
    return mutate


def post(action: Callable[[HostileBuilder], None]) -> Mutator:
    """Run ``action`` on the files once they are written."""
    def mutate(b: HostileBuilder) -> None:
        b.after_build.append(action)
    return mutate


def fifo(rel: str) -> Mutator:
    def make(b: HostileBuilder) -> None:
        path = b.root / rel
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    return post(make)


def symlink(rel: str, target: str) -> Mutator:
    def make(b: HostileBuilder) -> None:
        path = b.root / rel
        path.unlink(missing_ok=True)
        path.symlink_to(target)
    return post(make)


def sparse(rel: str, size: int) -> Mutator:
    """A sparse file of ``size`` bytes (no disk used), e.g. a 3 GB "list"."""
    def make(b: HostileBuilder) -> None:
        path = b.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            fh.truncate(size)
    return post(make)


def raw_list_csv(transform: Callable[[HostileBuilder, str], bytes]) -> Mutator:
    """The list CSV's bytes made by ``transform(builder, utf8_text)`` (applied at build)."""
    def make(b: HostileBuilder) -> None:
        b.list_path.write_bytes(transform(b, csv_text(b.list_grid())))
    return post(make)


def raw_feedback_csv(file: str, transform: Callable[[HostileBuilder, str], bytes]) -> Mutator:
    def make(b: HostileBuilder) -> None:
        grid = [b.feedback_header, *b.feedback[file]]
        (b.root / "data" / "feedback" / file).write_bytes(transform(b, csv_text(grid)))
    return post(make)


def one_row_cp1252(marker: str) -> Callable[[HostileBuilder, str], bytes]:
    """UTF-8 text where the line holding ``marker`` is in Windows-1252 (a pasted export)."""
    def transform(b: HostileBuilder, text: str) -> bytes:
        lines = text.split("\r\n")
        out = [line.encode("cp1252") if marker in line else line.encode("utf-8")
               for line in lines]
        assert any(marker in line for line in lines), marker
        return b"\r\n".join(out)
    return transform


# --- expectations -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """A problem that must be in problems.csv. A tuple means "any of these"; None: any value.
    ``column`` matches problems.csv's column exactly, or by prefix when it ends with '*'."""

    code: str | tuple[str, ...]
    file: str | tuple[str, ...] | None = None
    row: int | None = None
    column: str | tuple[str, ...] | None = None
    level: str | tuple[str, ...] = "error"
    participant: str | None = None
    sheet: str | None = None

    def matches(self, p: Mapping[str, str]) -> bool:
        def one_of(value: str, wanted: str | tuple[str, ...]) -> bool:
            options = (wanted,) if isinstance(wanted, str) else wanted
            return any(value.startswith(o[:-1]) if o.endswith("*") else value == o
                       for o in options)

        return (one_of(p.get("code", ""), self.code)
                and one_of(p.get("level", ""), self.level)
                and (self.file is None or one_of(p.get("file", ""), self.file))
                and (self.row is None or p.get("row", "") == str(self.row))
                and (self.column is None or one_of(p.get("column", ""), self.column))
                and (self.participant is None
                     or p.get("participant_id", "").lstrip("'") == self.participant)
                and (self.sheet is None or p.get("sheet", "") == self.sheet))


Choice = str | tuple[str, ...]


def err(code: Choice, file: Choice | None = None, row: int | None = None,
        column: Choice | None = None, **kw: Any) -> Expect:
    return Expect(code, file, row, column, "error", **kw)


def warn(code: Choice, file: Choice | None = None, row: int | None = None,
         column: Choice | None = None, **kw: Any) -> Expect:
    return Expect(code, file, row, column, "warning", **kw)


Run = Literal["letters", "skip"]


@dataclass(frozen=True)
class InputCase:
    id: str
    family: str
    mutators: tuple[Mutator, ...]
    fmt: str = "xlsx"
    check_exit: int | tuple[int, ...] = 1
    problems: tuple[Expect, ...] = ()
    clean: bool = False  # no problem at all: no problems.csv
    run: Run | None = None
    run_exit: int | None = None  # default: 0 if the run may go ahead, else 1
    letters: frozenset[str] | None = None  # exactly these get a letter (default: TREATMENT)
    prints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # pid → texts
    never_printed: tuple[str, ...] = ()  # no letter may show any of these
    forbid_in_problems: tuple[str, ...] = ()  # problems.csv must not hold these
    stale_problems_csv: bool = False  # a problems.csv from an earlier check is there first
    isolated: bool = False  # run in a child process with a timeout, measuring its memory
    timeout: float = 60.0
    max_rss: int = GB
    custom_body: bool = False  # letters greet as the body says (no "Dear …," oracle)
    note: str = ""

    @property
    def expected_letters(self) -> frozenset[str]:
        return TREATMENT if self.letters is None else self.letters

    @property
    def expected_run_exit(self) -> int:
        if self.run_exit is not None:
            return self.run_exit
        ok = self.check_exit == 0 or (isinstance(self.check_exit, tuple) and 0 in self.check_exit)
        return 0 if ok or self.run == "skip" else 1


def without(*pids: str) -> frozenset[str]:
    return TREATMENT - set(pids)


NONE: frozenset[str] = frozenset()


# --- the input corpus ---------------------------------------------------------------------------

def _control_chars() -> list[InputCase]:
    fam = "control_character"
    c = InputCase
    return [
        c("tab-in-first-name-xlsx", fam, (cell("P001", "first", "Ali\tce"),),
          problems=(err("control_character", LIST_X, 2, LABEL["first"]),),
          run="skip", letters=without("P001"), never_printed=("Ali ce", "Ali\tce")),
        c("tab-in-first-name-csv", fam, (cell("P001", "first", "Ali\tce"),), fmt="csv",
          problems=(err("control_character", LIST_C, 2, LABEL["first"]),),
          run="skip", letters=without("P001"), never_printed=("Ali ce",)),
        c("formfeed-in-last-name-xlsx", fam, (cell("P003", "last", "Bro\x0cwn"),),
          problems=(err("control_character", LIST_X, 4, LABEL["last"]),),
          run="skip", letters=without("P003"), never_printed=("_x000C_", "Brown")),
        c("bel-in-first-name-csv", fam, (cell("P005", "first", "Em\x07ma"),), fmt="csv",
          problems=(err("control_character", LIST_C, 6, LABEL["first"]),),
          run="skip", letters=without("P005")),
        c("bel-in-first-name-xlsx-as-excel-escape", fam, (cell("P005", "first", "Em\x07ma"),),
          problems=(err("control_character", LIST_X, 6, LABEL["first"]),),
          run="skip", letters=without("P005"), never_printed=("_x0007_",)),
        c("esc-sequence-in-address-csv", fam,
          (cell("P006", "address", "6 London\x1b[31m Road"),), fmt="csv",
          problems=(err("control_character", LIST_C, 7, LABEL["address"]),),
          run="skip", letters=without("P006"), never_printed=("[31m",)),
        c("esc-in-town-xlsx", fam, (cell("P001", "town", "Brack\x1bnell"),),
          problems=(err("control_character", LIST_X, 2, LABEL["town"]),),
          run="skip", letters=without("P001"), never_printed=("_x001B_",)),
        c("bel-in-feedback-csv", fam, (fb("P005", 1, "Families\x07 trust you."),), fmt="csv",
          problems=(err("control_character", FB_A, 3, FB_LABEL[1]),),
          run="skip", letters=without("P005")),
        c("esc-in-feedback-xlsx", fam, (fb("P003", 2, "Thank you\x1b for the duty desk."),),
          problems=(err("control_character", FB_B, 2, FB_LABEL[2], sheet="Feedback"),),
          run="skip", letters=without("P003"), never_printed=("_x001B_",)),
        c("formfeed-in-feedback-csv", fam, (fb("P001", 2, "Your notes\x0care a model."),),
          fmt="csv", problems=(err("control_character", FB_A, 2, FB_LABEL[2]),),
          run="skip", letters=without("P001")),
        c("del-in-id-csv", fam, (rename("P003", "P0\x7f03"),), fmt="csv",
          problems=(err(("control_character", "unsafe_id"), LIST_C, 4, LABEL["id"]),),
          run="skip", letters=without("P003")),
        c("c1-next-line-in-last-name-csv", fam, (cell("P001", "last", "Smi\x85th"),),
          fmt="csv", problems=(err("control_character", LIST_C, 2, LABEL["last"]),),
          run="skip", letters=without("P001")),
        c("nul-in-first-name-xlsx-as-excel-escape", fam, (cell("P006", "first", "Fi\x00nn"),),
          problems=(err("control_character", LIST_X, 7, LABEL["first"]),),
          run="skip", letters=without("P006"), never_printed=("_x0000_",)),
        c("bidi-override-in-first-name-csv", fam, (cell("P001", "first", "Al\u202eecil"),),
          fmt="csv",
          problems=(err(("control_character", "unprintable_character"), LIST_C, 2,
                        LABEL["first"]),),
          run="skip", letters=without("P001")),
        c("bidi-override-in-feedback-xlsx", fam,
          (fb("P006", 1, "You kept calm \u202ein a crisis."),),
          problems=(err(("control_character", "unprintable_character"),
                        participant="P006"),),
          run="skip", letters=without("P006")),
        # Excel's own escapes must be decoded, never printed: CR as _x000D_, and a typed
        # "_x0041_" stored as "_x005F_x0041_"
        c("xlsx-cr-escape-in-feedback-is-a-line-break", fam,
          (fb("P003", 1, "Your court reports,\r\nare excellent."),), check_exit=0,
          run="letters", prints={"P003": ("Your court reports,", "are excellent.")},
          never_printed=("_x000D_", "x000D")),
        c("xlsx-literal-escape-text-printed-as-typed", fam,
          (cell("P001", "first", "_x0041_lice"),), check_exit=0, run="letters",
          prints={"P001": ("Dear _x0041_lice,",)}, never_printed=("_x005F_",)),
    ]


def _zero_width() -> list[InputCase]:
    fam = "zero_width"
    c = InputCase
    return [
        c("zwsp-in-first-name-xlsx", fam, (cell("P001", "first", "Ali\u200bce"),),
          check_exit=0, problems=(warn("zero_width", LIST_X, 2, LABEL["first"]),),
          run="letters", prints={"P001": ("Dear Alice,",)}, never_printed=("\u200b",)),
        c("zwj-in-last-name-csv", fam, (cell("P003", "last", "Br\u200down"),), fmt="csv",
          check_exit=0, problems=(warn("zero_width", LIST_C, 4, LABEL["last"]),),
          run="letters", prints={"P003": ("Chloe Brown",)}, never_printed=("\u200d",)),
        c("bom-inside-id-csv", fam, (cell("P005", "id", "P0\ufeff05"),), fmt="csv",
          check_exit=0, problems=(warn("zero_width", LIST_C, 6, LABEL["id"]),),
          run="letters"),
        c("zwsp-in-feedback-id-xlsx", fam, (fb("P006", 0, "P00\u200b6"),), check_exit=0,
          problems=(warn("zero_width", FB_B, 3, FB_LABEL[0]),), run="letters"),
        c("word-joiner-in-feedback-csv", fam,
          (fb("P001", 2, "Your notes are a\u2060 model for the team."),), fmt="csv",
          check_exit=0, problems=(warn("zero_width", FB_A, 2, FB_LABEL[2]),), run="letters",
          prints={"P001": ("Your notes are a model for the team.",)},
          never_printed=("\u2060",)),
        c("zero-width-hides-a-duplicate-id-xlsx", fam, (cell("P004", "id", "P0\u200b01"),),
          problems=(err("duplicate_id", LIST_X, 2), err("duplicate_id", LIST_X, 5),
                    warn("zero_width", LIST_X, 5, LABEL["id"])),
          run="skip", letters=without("P001")),
        c("zero-width-only-name-csv", fam, (cell("P005", "first", "\u200b\u200b"),), fmt="csv",
          problems=(err("missing_first_name", LIST_C, 6, LABEL["first"]),),
          run="skip", letters=without("P005")),
    ]


def _encodings() -> list[InputCase]:
    fam = "mixed_encoding"
    c = InputCase
    return [
        c("csv-list-one-cp1252-row-in-utf8", fam,
          (cell("P001", "first", "Zoë"), cell("P003", "last", "Brontë"),
           raw_list_csv(one_row_cp1252("Brontë"))), fmt="csv",
          problems=(err("mixed_encoding", LIST_C, 4),), run="skip", run_exit=1,
          letters=NONE),
        c("csv-feedback-one-cp1252-row-in-utf8", fam,
          (fb("P001", 1, "A café of calm."), fb("P005", 1, "Families trust you, naïvely."),
           raw_feedback_csv("team-a.csv", one_row_cp1252("naïvely"))), fmt="csv",
          problems=(err("mixed_encoding", FB_A, 3),), run="skip",
          letters=without("P001", "P005")),
        c("csv-bom-then-one-cp1252-byte", fam,
          (cell("P006", "address", "6 Lôndon Road"),
           raw_list_csv(lambda b, t: b"\xef\xbb\xbf" + one_row_cp1252("Lôndon")(b, t))),
          fmt="csv", problems=(err("mixed_encoding", LIST_C, 7),)),
        c("csv-cp1252-row-past-64k", fam,
          (cell("P001", "first", "Zoë"), control_rows(1100, at={1000: (2, "Ségolène")}),
           raw_list_csv(one_row_cp1252("Ségolène"))), fmt="csv",
          problems=(err("mixed_encoding", LIST_C, 1000),)),
        c("csv-utf16-without-bom", fam,
          (raw_list_csv(lambda b, t: t.encode("utf-16-le")),), fmt="csv",
          problems=(err(("not_text", "bad_encoding"), LIST_C),)),
        c("csv-two-exports-pasted-together", fam,
          (raw_list_csv(lambda b, t: (t + "\ufeff" + t.split("\r\n", 1)[0] + "\r\n"
                                      + "P101,Gail,Hunt,treatment,BF,7 Park Row,Bracknell,"
                                        "RG12 2AB\r\n").encode("utf-8")),),
          fmt="csv", problems=(err(("unknown_arm", "csv_malformed", "no_header"), LIST_C,
                                   8),)),
    ]


def _csv_structure() -> list[InputCase]:
    fam = "csv_malformed"
    c = InputCase
    return [
        c("csv-unclosed-quote-in-unused-column-of-list", fam,
          (add_column("Notes", {"P002": "call back"}),
           raw_list_csv(lambda b, t: t.replace("call back", '"call back').encode())),
          fmt="csv", problems=(err("csv_malformed", LIST_C, 3),), run="skip", run_exit=1,
          letters=NONE),
        c("csv-unclosed-quote-in-unused-column-of-feedback", fam,
          (set_attr("feedback_header", ["Participant ID", "Feedback 1", "Feedback 2",
                                        "Comments"]),
           fb_add("team-a.csv", ["P999", "x", "y", ""]),
           raw_feedback_csv("team-a.csv", lambda b, t: t.replace(
               "model for the team.\r\n", 'model for the team.,"see me\r\n').encode())),
          fmt="csv", problems=(err("csv_malformed", FB_A, 2),), run="skip",
          letters=without("P001", "P005")),
        c("csv-unclosed-quote-on-last-row", fam,
          (lambda b: b.rows.append(["P007", "", "Hall", "control", "BF", "", "", ""]),
           raw_list_csv(lambda b, t: t.replace("P007,,Hall", 'P007,,"Hall').encode())),
          fmt="csv", problems=(err("csv_malformed", LIST_C, 8),)),
        c("csv-unclosed-quote-in-used-column", fam,
          (raw_list_csv(lambda b, t: t.replace(",Brown,", ',"Brown,').encode()),), fmt="csv",
          problems=(err("csv_malformed", LIST_C, 4),)),
        c("csv-quote-inside-unquoted-field-is-literal", fam,
          (raw_list_csv(lambda b, t: t.replace(",Smith,", ',O"Brien,').encode()),),
          fmt="csv", check_exit=0, run="letters", prints={"P001": ('Alice O"Brien',)}),
        c("csv-unquoted-comma-shifts-columns", fam,
          (raw_list_csv(lambda b, t: t.replace("3 Fore Street", "3 Fore Street,Flat 1")
                        .encode()),),
          fmt="csv", problems=(err(("invalid_postcode", "csv_malformed"), LIST_C, 4),),
          run="skip", letters=without("P003")),
        c("csv-nul-past-64k-in-list", fam,
          (control_rows(1100, at={1050: (2, "Null\x00ified")}),), fmt="csv",
          problems=(err(("not_text", "control_character"), LIST_C),)),
        c("csv-nul-past-64k-in-feedback", fam,
          (lambda b: b.feedback["team-a.csv"].extend(
              [[f"X{i:04d}", "Padding line " + "y" * 60, "z"] for i in range(1100)]),
           lambda b: b.feedback["team-a.csv"].append(
               b.feedback["team-a.csv"].pop(1)),  # P005 last, past 64 KiB
           fb("P005", 2, "You always\x00 make time.")),
          fmt="csv", problems=(err(("not_text", "control_character"), FB_A),)),
    ]


def _stale(grid: list[list[Any]]) -> list[list[Any]]:
    """An older allocation of the same people: P002 treatment, P001 control, other names."""
    out = copy.deepcopy(grid)
    for r in out[1:]:
        r[1] = "Stale" + str(r[1])
    out[1 + INDEX["P001"]][3] = "control"
    out[1 + INDEX["P002"]][3] = "treatment"
    return out


def _hidden_stale_sheet(state: Literal["hidden", "veryHidden"]) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        b.list_before = [XSheet("Old allocation", _stale([b.header, *b.rows]), state)]
    return mutate


def _hidden_feedback_draft(b: HostileBuilder) -> None:
    draft = [b.feedback_header, ["P003", "DRAFT do not send", "DRAFT"],
             ["P006", "DRAFT do not send", "DRAFT"]]
    b.feedback_before["team-b.xlsx"] = [XSheet("Draft", draft, "hidden")]


def _external(pid: str, column: str, formula: str) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        value = str(b.rows[INDEX[pid]][COL[column]])
        b.list_cells[(ROW[pid], COL[column])] = XCell(value, formula)
    return mutate


def _external_feedback(pid: str, index: int, formula: str) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        file, row = FEEDBACK_OF[pid]
        value = b.feedback_of(pid)[index - 1]
        b.feedback_cells.setdefault(file, {})[(row, index)] = XCell(value, formula)
    return mutate


def _billion_laughs(members: list[Member]) -> list[Member]:
    entities = '<!ENTITY a0 "hahahahahahahahahaha">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    sst = member_data(members, "xl/sharedStrings.xml").decode()
    sst = sst.replace("?>\n", f"?>\n<!DOCTYPE sst [{entities}]>\n", 1).replace(
        ">Alice<", ">&a9;<", 1)
    return replace_member(members, ("xl/sharedStrings.xml", sst.encode()))


def _string_index_out_of_range(members: list[Member]) -> list[Member]:
    sheet = member_data(members, "xl/worksheets/sheet1.xml").decode()
    sheet = sheet.replace('<c r="I2" t="s"><v>', '<c r="I2" t="s"><v>9999', 1)
    return replace_member(members, ("xl/worksheets/sheet1.xml", sheet.encode()))


def _xlsx_structure() -> list[InputCase]:
    c = InputCase
    hidden = "hidden_sheet"
    p002_feedback = fb_add("team-a.csv", ["P002", "Ben is great.", "Stale feedback."])
    return [
        c("xlsx-hidden-first-sheet-holds-stale-allocation", hidden,
          (no_sheet_named, _hidden_stale_sheet("hidden"), p002_feedback), check_exit=0,
          problems=(warn("hidden_sheet", LIST_X),), run="letters",
          never_printed=("StaleAlice", "Stale"),
          note="the stale sheet gives P002 (control) a letter if it is ever read"),
        c("xlsx-very-hidden-first-sheet-holds-stale-allocation", hidden,
          (no_sheet_named, _hidden_stale_sheet("veryHidden"), p002_feedback), check_exit=0,
          problems=(warn("hidden_sheet", LIST_X),), run="letters", never_printed=("Stale",)),
        c("xlsx-hidden-draft-sheet-in-feedback-workbook", hidden, (_hidden_feedback_draft,),
          check_exit=0, problems=(warn("hidden_sheet", FB_B),), run="letters",
          never_printed=("DRAFT",)),
        c("xlsx-hidden-list-sheet-named-explicitly-is-read", hidden,
          (set_attr("list_state", "hidden"),
           set_attr("list_after", [XSheet("Notes", [["nothing here"]])])), check_exit=0,
          problems=(warn("hidden_sheet", LIST_X),), run="letters"),
        c("xlsx-only-sheet-hidden-and-none-named", hidden,
          (no_sheet_named, set_attr("list_state", "hidden")),
          problems=(err(("hidden_sheet", "empty_sheet", "unknown_sheet"), LIST_X),)),
        c("xlsx-hidden-treatment-row", "hidden_rows", (set_attr("list_hidden", {4}),),
          check_exit=0, problems=(warn("hidden_rows", LIST_X, 4),), run="letters"),
        c("xlsx-hidden-control-row", "hidden_rows", (set_attr("list_hidden", {3}),),
          check_exit=0, problems=(warn("hidden_rows", LIST_X, 3),), run="letters"),
        c("xlsx-hidden-feedback-row", "hidden_rows",
          (set_attr("feedback_hidden", {"team-b.xlsx": {3}}),), check_exit=0,
          problems=(warn("hidden_rows", FB_B, 3),), run="letters"),
        c("xlsx-rows-filtered-out", "hidden_rows",
          (set_attr("list_hidden", {5, 6}), set_attr("list_autofilter", True)), check_exit=0,
          problems=(warn("hidden_rows", LIST_X, 5),), run="letters"),
        c("xlsx-duplicate-id-in-hidden-row", "hidden_rows",
          (cell("P004", "id", "P001"), set_attr("list_hidden", {5})),
          problems=(err("duplicate_id", LIST_X, 2), err("duplicate_id", LIST_X, 5),
                    warn("hidden_rows", LIST_X, 5)), run="skip", letters=without("P001")),
        c("xlsx-external-link-first-name", "external_link",
          (_external("P001", "first", "[1]Staff!B2"),), check_exit=0,
          problems=(warn("external_link", LIST_X, 2, LABEL["first"]),), run="letters"),
        c("xlsx-external-link-arm", "external_link",
          (_external("P002", "arm", "'[2]Randomisation 2019'!D3"),), check_exit=0,
          problems=(warn("external_link", LIST_X, 3, LABEL["arm"]),), run="letters"),
        c("xlsx-external-link-feedback", "external_link",
          (_external_feedback("P006", 1, "[1]Returns!B7"),), check_exit=0,
          problems=(warn("external_link", FB_B, 3, FB_LABEL[1]),), run="letters"),
        c("xlsx-shared-string-index-out-of-range", "xlsx_corrupt",
          (add_column("Address line 2", {"P001": "Flat 2"}),
           set_attr("list_members", _string_index_out_of_range)),
          problems=(err("xlsx_corrupt", LIST_X),),
          note="the address line would silently vanish from P001's letter"),
        c("xlsx-two-rows-with-the-same-number", "xlsx_corrupt",
          (set_attr("list_row_numbers", [1, 2, 3, 3, 5, 6, 7]),),
          problems=(err("xlsx_corrupt", LIST_X),),
          note="Excel repairs such a file; two list rows would share one row number"),
        c("xlsx-billion-laughs-shared-strings", "xlsx_corrupt",
          (set_attr("list_members", _billion_laughs),), isolated=True,
          problems=(err(("xlsx_corrupt", "xlsx_too_large"), LIST_X),)),
    ]


def _empty_lists() -> list[InputCase]:
    fam = "empty_list"
    c = InputCase
    return [
        c("xlsx-header-only", fam, (set_attr("rows", []),),
          problems=(err("empty_list", LIST_X, 1),), run="letters", letters=NONE),
        c("csv-header-only", fam, (set_attr("rows", []),), fmt="csv",
          problems=(err("empty_list", LIST_C, 1),), run="skip", letters=NONE, run_exit=1),
        c("csv-header-and-blank-lines", fam, (set_attr("rows", [[], [""], ["", ""]]),),
          fmt="csv", problems=(err("empty_list", LIST_C, 1),)),
        c("xlsx-header-and-total-footer", fam, (set_attr("rows", [["Total: 0"]]),),
          problems=(err("empty_list", LIST_X, 1),)),
        c("csv-semicolon-header-only", fam, (set_attr("rows", []),
                                             set_attr("csv_delimiter", ";")), fmt="csv",
          problems=(err("empty_list", LIST_C, 1),)),
    ]


def _unsafe_ids() -> list[InputCase]:
    fam = "unsafe_id"

    def case(name: str, pid: str, new: str, fmt: str = "xlsx") -> InputCase:
        file = LIST_X if fmt == "xlsx" else LIST_C
        return InputCase(f"id-{name}-{fmt}", fam, (rename(pid, new),), fmt=fmt,
                         problems=(err("unsafe_id", file, ROW[pid], LABEL["id"]),),
                         run="skip", letters=without(pid))

    return [
        case("windows-con", "P001", "CON"), case("windows-nul", "P003", "NUL", "csv"),
        case("windows-com1", "P005", "COM1"), case("windows-lpt1", "P006", "LPT1", "csv"),
        case("windows-aux-lowercase", "P001", "aux", "csv"),
        case("windows-nul-with-extension", "P003", "nul.1"),
        case("windows-prn-trailing-space", "P005", "PRN .x", "csv"),
        case("greek-omicron-homoglyph", "P003", "P\u039f03", "csv"),
        case("fullwidth-digits", "P005", "\uff30\uff10\uff10\uff15"),
        case("slash", "P006", "a/b", "csv"), case("backslash", "P006", "P\\006"),
        case("colon-stream-name", "P001", "P:001", "csv"),
        case("trailing-dot", "P006", "P006.", "csv"), case("dot-dot", "P003", ".."),
        case("too-long", "P005", "P" * 150), case("emoji", "P001", "P00\U0001f642", "csv"),
        InputCase("id-cyrillic-homoglyph-of-another-id-xlsx", fam,
                  (cell("P004", "id", "\u0420001"),),
                  problems=(err("unsafe_id", LIST_X, 5, LABEL["id"]),),
                  note="Latin P001 and Cyrillic Р001 look the same on paper and on screen"),
        InputCase("id-cyrillic-homoglyph-treatment-csv", fam, (rename("P003", "\u0420003"),),
                  fmt="csv", problems=(err("unsafe_id", LIST_C, 4, LABEL["id"]),),
                  run="skip", letters=without("P003")),
    ]


def _duplicates() -> list[InputCase]:
    fam = "duplicate_id"
    c = InputCase
    return [
        c("ids-differ-only-by-case-xlsx", fam, (cell("P004", "id", "p001"),),
          problems=(err("duplicate_id_case", LIST_X, 2), err("duplicate_id_case", LIST_X, 5)),
          run="skip", letters=without("P001")),
        c("ids-differ-only-by-case-csv", fam, (rename("P006", "p003"),), fmt="csv",
          problems=(err("duplicate_id_case", LIST_C, 4), err("duplicate_id_case", LIST_C, 7)),
          run="skip", letters=without("P003", "P006")),
        c("ids-differ-by-no-break-space-csv", fam, (cell("P004", "id", "P001\u00a0"),),
          fmt="csv", problems=(err("duplicate_id", LIST_C, 2), err("duplicate_id", LIST_C, 5)),
          run="skip", letters=without("P001")),
        c("ids-differ-by-case-and-zero-width-xlsx", fam, (cell("P002", "id", "p00\u200b5"),),
          problems=(err(("duplicate_id_case", "duplicate_id"), LIST_X, 3),
                    err(("duplicate_id_case", "duplicate_id"), LIST_X, 6)),
          run="skip", letters=without("P005")),
    ]


EMOJI = "\U0001f3db"  # 🏛 classical building: in no font hhp-letters embeds


def _unprintable() -> list[InputCase]:
    fam = "unprintable_character"
    c = InputCase
    toml_codes = ("unprintable_character", "letter_design")

    def toml_case(name: str, old: str, new: str, key: str) -> InputCase:
        return c(f"campaign-toml-{name}", fam, (toml(old, new),),
                 problems=(err(toml_codes, TOML, column=(key, key + "*")),),
                 run="letters", letters=NONE)

    return [
        toml_case("emoji-in-return-address", '"Time Square"', f'"Time Square {EMOJI}"',
                  "authorities[1].return_address"),
        toml_case("emoji-in-signatory-name", 'name = "A. Person"',
                  'name = "A. Person \U0001f58b"', "authorities[1].signatory.name"),
        toml_case("emoji-in-signatory-title",
                  'name = "B. Person", title = "Director of Children\'s Services"',
                  'name = "B. Person", title = "Director \U0001f31f"',
                  "authorities[2].signatory.title"),
        toml_case("emoji-in-area", 'name = "Bracknell Forest Council"',
                  'name = "Bracknell Forest Council"\narea = "Bracknell \U0001f332"',
                  "authorities[1].area"),
        toml_case("emoji-in-authority-name", 'name = "Hertfordshire County Council"',
                  'name = "Hertfordshire County Council \U0001f3f0"', "authorities[2].name"),
        toml_case("cjk-in-return-address", '"County Hall"', '"County Hall \u90f5\u4fbf"',
                  "authorities[2].return_address"),
        c("emoji-in-first-name-csv", fam, (cell("P001", "first", "Alice \U0001f642"),),
          fmt="csv", problems=(err("unprintable_character", LIST_C, 2, LABEL["first"]),),
          run="skip", letters=without("P001")),
        c("cjk-in-last-name-xlsx", fam, (cell("P003", "last", "Brown \u674e"),),
          problems=(err("unprintable_character", LIST_X, 4, LABEL["last"]),),
          run="skip", letters=without("P003")),
        c("arabic-in-town-csv", fam,
          (cell("P005", "town", "Bracknell \u0645\u062f\u064a\u0646\u0629"),),
          fmt="csv", problems=(err("unprintable_character", LIST_C, 6, LABEL["town"]),),
          run="skip", letters=without("P005")),
        c("private-use-character-in-feedback-xlsx", fam,
          (fb("P006", 2, "Your supervision notes are thorough \ue000"),),
          problems=(err("unprintable_character", participant="P006"),),
          run="skip", letters=without("P006")),
        c("emoji-in-feedback-csv", fam, (fb("P001", 1, "Brilliant work \U0001f389"),),
          fmt="csv", problems=(err("unprintable_character", participant="P001"),),
          run="skip", letters=without("P001")),
    ]


HELLO = "Hello {{ first_name }}!\n\n[[feedback]]\n\n[[signature]]\n"


def _bodies() -> list[InputCase]:
    fam_design, fam_unsafe, fam_error = "letter_design", "template_unsafe", "template_error"
    c = InputCase
    design = (err(("letter_design",), TOML),)
    unsafe = (err("template_unsafe"),)
    broken = (err(("template_error", "template_unsafe")),)
    return [
        c("body-without-feedback-marker", fam_design,
          (body("Dear {{ first_name }},\n\nThank you.\n\n[[signature]]\n"),), problems=design,
          run="letters", letters=NONE),
        c("body-without-first-name", fam_design,
          (body("Dear colleague,\n\n[[feedback]]\n\n[[signature]]\n"),), problems=design,
          run="skip", letters=NONE),
        c("body-first-name-only-in-a-comment", fam_design,
          (body("{# {{ first_name }} #}Dear colleague,\n\n[[feedback]]\n\n[[signature]]\n"),),
          problems=design),
        c("body-first-name-only-inside-a-false-if", fam_design,
          (body("{% if false %}{{ first_name }}{% endif %}Dear colleague,\n\n[[feedback]]"
                "\n\n[[signature]]\n"),), problems=design),
        c("body-feedback-marker-inside-if", fam_design,
          (body("Dear {{ first_name }},\n{% if false %}\n[[feedback]]\n{% endif %}\n"
                "[[signature]]\n"),),
          problems=(err(("template_error", "letter_design")),)),
        c("body-include", fam_unsafe,
          (body('Dear {{ first_name }},\n\n{% include "letter.j2" %}\n\n[[feedback]]\n'),),
          problems=unsafe, run="letters", letters=NONE),
        c("body-import", fam_unsafe,
          (body('{% import "letter.j2" as x %}Dear {{ first_name }},\n\n[[feedback]]\n'),),
          problems=unsafe),
        c("body-from-import", fam_unsafe,
          (body('{% from "letter.j2" import y %}Dear {{ first_name }},\n\n[[feedback]]\n'),),
          problems=unsafe),
        c("body-extends", fam_unsafe,
          (body('{% extends "letter.j2" %}Dear {{ first_name }},\n\n[[feedback]]\n'),),
          problems=unsafe),
        c("body-dunder-attribute", fam_unsafe,
          (body("Dear {{ first_name.__class__.__mro__ }},\n\n[[feedback]]\n"),),
          problems=broken),
        c("body-power-bomb", fam_error,
          (body("Dear {{ first_name }}, {{ 9**(9**9) }}\n\n[[feedback]]\n\n[[signature]]\n"),),
          problems=broken, isolated=True, run="letters", letters=NONE,
          note="must answer within the timeout, not compute a 370-million-digit number"),
        c("body-string-repeat-bomb", fam_error,
          (body("Dear {{ first_name }}, {{ 'ab' * 600000000 }}\n\n[[feedback]]\n"),),
          problems=broken, isolated=True),
        c("body-range-bomb", fam_error,
          (body("{% for i in range(10**9) %}x{% endfor %}Dear {{ first_name }},\n\n"
                "[[feedback]]\n"),),
          problems=broken, isolated=True),
        c("body-syntax-error", fam_error,
          (body("Dear {{ first_name ,\n\n[[feedback]]\n"),), problems=(err("template_error"),)),
        c("body-undefined-placeholder", fam_error,
          (body("Dear {{ nickname }},\n\n[[feedback]]\n"),),
          problems=(err(("template_error", "template_unknown_placeholder")),)),
        c("body-unknown-block-marker", fam_error,
          (body("Dear {{ first_name }},\n\n[[feedback]]\n\n[[signatur]]\n"),),
          problems=(err("template_error"),)),
        c("body-not-utf8", fam_error,
          (body("Dear {{ first_name }}, café\n\n[[feedback]]\n".encode("cp1252")),),
          problems=(err(("template_error", "template_format", "campaign_encoding")),)),
        c("body-missing", fam_error,
          (body(""), post(lambda b: (b.root / BODY).unlink())),
          problems=(err(("template_not_found", "asset_not_found")),)),
        c("body-is-a-named-pipe", fam_error, (body(""), fifo(BODY)), isolated=True,
          timeout=30, problems=(err(("not_a_file", "template_format", "template_error")),)),
        # right answers: printed exactly as the spreadsheet says, and verify passes
        c("comma-in-first-name-hello-body-csv", "wrong_letter",
          (cell("P001", "first", "Anne, Marie"), body(HELLO)), fmt="csv", check_exit=0,
          run="letters", custom_body=True,
          prints={"P001": ("Hello Anne, Marie!",), "P003": ("Hello Chloe!",)}),
        c("comma-in-first-name-hello-body-xlsx", "wrong_letter",
          (cell("P003", "first", "Anne, Marie"), body(HELLO)), check_exit=0,
          run="letters", custom_body=True, prints={"P003": ("Hello Anne, Marie!",)}),
        c("comma-in-first-name-default-body", "wrong_letter",
          (cell("P005", "first", "Anne, Marie"),), fmt="csv", check_exit=0, run="letters",
          prints={"P005": ("Dear Anne, Marie,",)}),
        c("first-name-printed-twice-body", "wrong_letter",
          (body("Dear {{ first_name }},\n\n[[feedback]]\n\nThanks again, {{ first_name }}."
                "\n\n[[signature]]\n"),), check_exit=0, run="letters", custom_body=True,
          prints={"P001": ("Dear Alice,", "Thanks again, Alice.")}),
        c("first-name-is-jinja-printed-literally", "wrong_letter",
          (cell("P001", "first", "{{ 7*7 }}"),), fmt="csv", check_exit=(0,), run="letters",
          prints={"P001": ("Dear {{ 7*7 }},",)}, never_printed=("Dear 49",)),
        c("feedback-is-a-block-marker-printed-literally", "wrong_letter",
          (fb("P003", 1, "[[signature]]"),), check_exit=0, run="letters",
          prints={"P003": ("[[signature]]",)}),
        c("first-name-is-markup-printed-literally", "wrong_letter",
          (cell("P006", "first", "<b>Finn</b>"),), check_exit=0, run="letters",
          prints={"P006": ("Dear <b>Finn</b>,",)}),
    ]


def _word() -> list[InputCase]:
    fam = "template_unsafe"
    c = InputCase

    def docx(*extra: str) -> bytes:
        return docx_bytes([*WORD_BODY, *extra])

    return [
        c("word-template-ssti-subclasses", fam,
          (word_template(docx("{{ ''.__class__.__mro__[1].__subclasses__() }}")),),
          problems=(err("template_unsafe"),), run="letters", letters=NONE),
        c("word-template-safe-filter", fam, (word_template(docx("{{ feedback_1|safe }}")),),
          problems=(err("template_unsafe"),)),
        c("word-template-autoescape-off", fam,
          (word_template(docx("{% autoescape false %}{{ first_name }}{% endautoescape %}")),),
          problems=(err("template_unsafe"),)),
        c("word-template-include", fam, (word_template(docx('{% include "letter.j2" %}')),),
          problems=(err("template_unsafe"),)),
        c("word-template-dunder-attribute", fam,
          (word_template(docx("{{ first_name.__class__ }}")),),
          problems=(err(("template_unsafe", "template_error")),)),
        c("word-template-power-bomb", fam, (word_template(docx("{{ 9**(9**9) }}")),),
          problems=(err(("template_unsafe", "template_error")),), isolated=True),
        c("word-template-syntax-error", "template_error",
          (word_template(docx("{{ first_name ")),),
          problems=(err(("template_error", "template_syntax")),)),
        c("word-template-bomb-member", "asset_too_large", (word_template(docx_bomb),),
          problems=(err(("asset_too_large", "template_format", "file_too_large")),),
          isolated=True, timeout=90),
        c("word-template-named-pipe", "not_a_file",
          (word_template(b""), fifo(WORD)), isolated=True, timeout=30,
          problems=(err(("not_a_file", "template_format", "template_not_found")),)),
    ]


def _sheet_bomb(b: HostileBuilder) -> None:
    members = b.list_workbook()
    xml = member_data(members, "xl/worksheets/sheet1.xml")
    cut = xml.index(b"</sheetData>")
    b.list_members = lambda m: replace_member(
        m, Bomb("xl/worksheets/sheet1.xml", xml[:cut], b" " * MB, 1100, xml[cut:]))


def _strings_bomb(size_mb: int, declared: int | None = None) -> Mutator:
    def mutate(b: HostileBuilder) -> None:
        sst = member_data(b.list_workbook(), "xl/sharedStrings.xml")
        cut = sst.index(b"</sst>")  # after the real strings, so their indexes hold
        chunk = b"<si><t>x</t></si>" * (MB // 16)
        b.list_members = lambda m: replace_member(
            m, Bomb("xl/sharedStrings.xml", sst[:cut], chunk, size_mb, sst[cut:], declared))
    return mutate


def _feedback_bomb(b: HostileBuilder) -> None:
    name = "team-b.xlsx"
    sheet = XSheet("Feedback", [b.feedback_header, *b.feedback[name]])
    xml = member_data(xlsx_members([sheet]), "xl/worksheets/sheet1.xml")
    cut = xml.index(b"</sheetData>")
    b.feedback_members[name] = lambda m: replace_member(
        m, Bomb("xl/worksheets/sheet1.xml", xml[:cut], b" " * MB, 1100, xml[cut:]))


def _image(rel: str, make: Callable[[Path], Path]) -> Mutator:
    def action(b: HostileBuilder) -> None:
        make(b.root / rel)
    return post(action)


def _resources() -> list[InputCase]:
    c = InputCase
    big = "xlsx_too_large"
    asset = ("asset_too_large",)
    return [
        c("xlsx-sheet-inflates-past-1gb", big, (_sheet_bomb,), isolated=True,
          problems=(err(big, LIST_X),), run="skip", run_exit=1, letters=NONE),
        c("xlsx-shared-strings-inflate-to-300mb", big, (_strings_bomb(300),), isolated=True,
          problems=(err(big, LIST_X),)),
        c("xlsx-shared-strings-100mb-at-a-bomb-ratio", big, (_strings_bomb(100),),
          isolated=True, problems=(err(big, LIST_X),)),
        c("xlsx-member-lies-about-its-size", big, (_strings_bomb(300, declared=4000),),
          isolated=True, problems=(err(("xlsx_corrupt", big), LIST_X),)),
        c("xlsx-feedback-sheet-inflates-past-1gb", big, (_feedback_bomb,), isolated=True,
          problems=(err(big, FB_B),)),
        c("png-logo-20000px", "asset_too_large",
          (_image("brand/bf-logo.png", lambda p: huge_png(p, 20000, 20000)),), isolated=True,
          problems=(err(asset, TOML, column="authorities[1].logo"),)),
        c("png-logo-12000px-below-pillows-bomb-error", "asset_too_large",
          (_image("brand/hc-logo.png", lambda p: huge_png(p, 12000, 12000)),), isolated=True,
          problems=(err(asset, TOML, column="authorities[2].logo"),)),
        c("png-signature-20000px", "asset_too_large",
          (_image("signatures/hc.png", lambda p: huge_png(p, 20000, 20000)),), isolated=True,
          problems=(err(asset, TOML, column="authorities[2].signatory.signature"),)),
        c("png-header-claims-20000px-data-truncated", "asset_too_large",
          (_image("brand/bf-logo.png", lambda p: huge_png(p, 20000, 20000, idat_rows=10)),),
          isolated=True, problems=(err(("asset_too_large", "asset_not_image"), TOML,
                                       column="authorities[1].logo"),)),
        c("jpeg-header-claims-65000px", "asset_too_large",
          (toml('logo = "brand/bf-logo.png"', 'logo = "brand/bf-logo.jpg"'),
           _image("brand/bf-logo.jpg", lambda p: jpeg_claiming(p, 65000, 65000))),
          isolated=True, problems=(err(("asset_too_large", "asset_not_image"), TOML,
                                       column="authorities[1].logo"),)),
        c("list-is-a-named-pipe", "not_a_file", (fifo(LIST_C),), fmt="csv", isolated=True,
          timeout=30, problems=(err("not_a_file", LIST_C),), run="skip", run_exit=1,
          letters=NONE),
        c("feedback-is-a-named-pipe", "not_a_file", (fifo("data/feedback/team-a.csv"),),
          isolated=True, timeout=30, problems=(err("not_a_file", FB_A),)),
        c("logo-is-a-named-pipe", "not_a_file", (fifo("brand/bf-logo.png"),), isolated=True,
          timeout=30, problems=(err(("not_a_file", "asset_not_image"), TOML,
                                    column="authorities[1].logo"),)),
        c("campaign-toml-is-a-named-pipe", "not_a_file", (fifo(TOML),), isolated=True,
          timeout=30, check_exit=(1, 2)),
        # the file named in campaign.toml, or the device it links to: either tells the truth
        c("list-is-dev-zero", "not_a_file", (symlink(LIST_C, "/dev/zero"),), fmt="csv",
          isolated=True, timeout=30, problems=(err("not_a_file", (LIST_C, "/dev/zero")),)),
        c("feedback-is-dev-urandom", "not_a_file",
          (symlink("data/feedback/team-a.csv", "/dev/urandom"),), isolated=True, timeout=30,
          problems=(err("not_a_file", (FB_A, "/dev/urandom")),)),
        c("list-is-a-symlink-loop", "not_a_file", (symlink(LIST_C, "list.csv"),), fmt="csv",
          problems=(err(("file_unreadable", "file_not_found", "not_a_file"), LIST_C),)),
        c("list-sparse-3gb-csv", "file_too_large", (sparse(LIST_C, 3 * GB),), fmt="csv",
          isolated=True, problems=(err("file_too_large", LIST_C),)),
        c("feedback-sparse-3gb-xlsx", "file_too_large", (sparse(FB_B, 3 * GB),),
          isolated=True, problems=(err(("file_too_large", "xlsx_too_large"), FB_B),)),
        c("logo-sparse-3gb", "asset_too_large", (sparse("brand/hc-logo.png", 3 * GB),),
          isolated=True, problems=(err(("asset_too_large", "asset_not_image"), TOML,
                                       column="authorities[2].logo"),)),
    ]


WIDE_ADDRESS = "Flat 12 The Very Long Named Residential Building Over The Shops Opposite"
FEEDBACK_SECRET = "<b>Brilliant</b> safeguarding judgement in the Hartley case"
TEAM_FORMULAS = {"equals": '=HYPERLINK("http://x.example/","open")', "plus": "+SUM(1,2)",
                 "minus": "-2+3", "at": "@SUM(A1:A2)"}


def _outputs() -> list[InputCase]:
    c = InputCase
    cases = [
        c(f"manifest-neutralises-team-{name}", "formula_injection",
          (add_column("Team", {"P001": value, "P005": value, "P003": "Duty",
                               "P006": "Duty"}),
           toml('sort = "postcode"', 'sort = "team"')),
          check_exit=0, run="letters", note=f"team {value!r} in bundles/*.csv")
        for name, value in TEAM_FORMULAS.items()]
    cases += [
        c("summary-html-escapes-campaign-name", "formula_injection",
          (toml('name = "Recognition letters, test wave"',
                'name = "<script>alert(1)</script> wave"'),), check_exit=0, run="letters"),
        c("problems-csv-holds-no-address-or-feedback", "privacy",
          (cell("P001", "address", WIDE_ADDRESS), fb("P005", 1, FEEDBACK_SECRET)),
          problems=(err("address_too_wide", LIST_X, 2),
                    warn("markup_in_feedback", FB_A, 3)),
          forbid_in_problems=(WIDE_ADDRESS, "Very Long Named", "safeguarding",
                              "Hartley", "Brilliant")),
        c("no-problems-csv-when-clean-and-stale-one-removed", "privacy", (),
          check_exit=0, clean=True, stale_problems_csv=True, run="letters"),
        c("problems-csv-removed-after-clean-letters-run", "privacy", (), fmt="csv",
          check_exit=0, clean=True, stale_problems_csv=True, run="letters"),
    ]
    return cases


def input_cases() -> list[InputCase]:
    cases = [*_control_chars(), *_zero_width(), *_encodings(), *_csv_structure(),
             *_xlsx_structure(), *_empty_lists(), *_unsafe_ids(), *_duplicates(),
             *_unprintable(), *_bodies(), *_word(), *_resources(), *_outputs()]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


# --- a big campaign (signals, concurrent runs) --------------------------------------------------

def big_campaign(root: Path, treatment: int = 1500, control: int = 300) -> HostileBuilder:
    """~1,500 letters: a CSV list and one CSV feedback file per authority."""
    b = HostileBuilder(root, fmt="csv")
    towns = {"BF": ("Bracknell", "RG12 {d}JD"), "HC": ("Hertford", "SG13 {d}DQ")}
    rows: list[list[Any]] = []
    feedback: dict[str, list[list[Any]]] = {"bf.csv": [], "hc.csv": []}
    for i in range(treatment + control):
        pid = f"B{i:05d}"
        code = "BF" if i % 2 else "HC"
        town, postcode = towns[code]
        arm = "treatment" if i < treatment else "control"
        rows.append([pid, f"Name{i}", f"Surname{i}", arm, code, f"{i} High Street", town,
                     postcode.format(d=i % 10)])
        if arm == "treatment":
            feedback[f"{code.lower()}.csv"].append(
                [pid, f"You did good work on case {i}.", f"Thank you, number {i}."])
    b.rows, b.feedback = rows, feedback
    b.toml_edits.append(('feedback = ["data/feedback/*.csv", "data/feedback/*.xlsx"]',
                         'feedback = ["data/feedback/*.csv"]'))
    b.build()
    return b


# --- --force targets ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ForceCase:
    """``letters CAMPAIGN --out TARGET --force``: ``target(campaign, base)`` makes the target;
    the run must exit ``exit_code`` and (when refused) leave every file where it was."""

    id: str
    target: Callable[[Path, Path], Path]
    exit_code: int = 2
    force: bool = True
    cwd_target: bool = False  # --out "" run from inside the target


def _folder_with_files(base: Path) -> Path:
    target = base / "thesis"
    (target / "chapters").mkdir(parents=True)
    (target / "chapters" / "one.docx").write_bytes(b"my thesis, chapter one")
    (target / "notes.txt").write_text("irreplaceable", encoding="utf-8")
    return target


def _forged_run(base: Path) -> Path:
    target = _folder_with_files(base)
    (target / "audit.jsonl").write_text(json.dumps(
        {"event": "run", "tool": "hhp-letters", "seq": 1}) + "\n", encoding="utf-8")
    return target


def _a_file(base: Path) -> Path:
    target = base / "results.xlsx"
    target.write_bytes(b"PK\x03\x04 someone's workbook")
    return target


def _empty(base: Path) -> Path:
    (base / "empty").mkdir()
    return base / "empty"


def _outside_input(campaign: Path, base: Path) -> Path:
    shared = base / "shared-data"
    shared.mkdir()
    shutil.copy(campaign / "data" / "list.xlsx", shared / "list.xlsx")
    text = (campaign / "campaign.toml").read_text(encoding="utf-8")
    (campaign / "campaign.toml").write_text(text.replace(
        'participants = "data/list.xlsx"', f'participants = "{shared / "list.xlsx"}"'),
        encoding="utf-8")
    return shared


FORCE_CASES = [
    ForceCase("unrelated-folder-with-files", lambda c, b: _folder_with_files(b)),
    ForceCase("the-campaign-folder", lambda c, b: c),
    ForceCase("folder-holding-the-campaign", lambda c, b: c.parent),
    ForceCase("grandparent-of-the-campaign", lambda c, b: c.parent.parent),
    ForceCase("a-regular-file", lambda c, b: _a_file(b)),
    ForceCase("an-empty-folder", lambda c, b: _empty(b)),
    ForceCase("forged-run-marker-over-user-files", lambda c, b: _forged_run(b)),
    ForceCase("folder-holding-an-input-outside-the-campaign", _outside_input),
    ForceCase("current-folder-as-empty-out", lambda c, b: _folder_with_files(b),
              cwd_target=True),
    ForceCase("the-campaign-data-folder", lambda c, b: c / "data"),
]


# --- signals, limits, secrets -------------------------------------------------------------------

@dataclass(frozen=True)
class SignalCase:
    """A signal mid-run. ``command``: letters | check | verify | letters-force (replacing an
    earlier run). SIGTERM/SIGHUP/SIGINT: exit 130 and nothing left; SIGKILL: the next run
    removes what was left and says "Removed"."""

    id: str
    command: Literal["letters", "check", "verify", "letters-force"]
    signum: int


@dataclass(frozen=True)
class LimitCase:
    """The machine refuses writes. ``fault``: fsize (RLIMIT_FSIZE of ``limit`` bytes), full
    (a tmpfs of ``limit`` bytes), readonly (a read-only tmpfs, or /sys when mounting fails).
    ``where``: out (the run folder's disk), campaign (problems.csv / .hhp), tmp (TMPDIR)."""

    id: str
    command: Literal["letters", "check", "verify"]
    fault: Literal["fsize", "full", "readonly"]
    where: Literal["out", "campaign", "tmp"] = "out"
    limit: int = 0
    problems: bool = False  # the campaign has a problem (so check writes problems.csv)


LIMIT_CASES = [
    LimitCase("fsize-40k-bundle-too-big", "letters", "fsize", limit=40_000),
    LimitCase("fsize-4k-store-cannot-grow", "letters", "fsize", limit=4_000),
    LimitCase("fsize-1k-check-problems-csv", "check", "fsize", "campaign", 1_000,
              problems=True),
    LimitCase("fsize-4k-verify-index", "verify", "fsize", "tmp", 4_000),
    LimitCase("disk-full-run-folder", "letters", "full", limit=200_000),
    LimitCase("disk-full-tmpdir-during-check", "check", "full", "tmp", 4_096),
    LimitCase("disk-full-problems-csv", "check", "full", "campaign", problems=True),
    LimitCase("read-only-out-parent", "letters", "readonly"),
    LimitCase("read-only-campaign-problems-csv", "check", "readonly", "campaign",
              problems=True),
    LimitCase("read-only-campaign-first-run-keys", "letters", "readonly", "campaign"),
]


@dataclass(frozen=True)
class SecretsCase:
    """The campaign's ``.hhp`` folder is damaged before a ``letters`` run: exit 1 or 2 with a
    message naming it, never 3, never a hang, never a run folder signed with a different key
    than the campaign keeps."""

    id: str
    damage: Callable[[Path], None]  # given CAMPAIGN/.hhp (which may not exist yet)
    # a named pipe holds no key: replacing it with a new one is also fine, if the run verifies
    may_replace: bool = False


def _hhp_is_a_file(hhp: Path) -> None:
    shutil.rmtree(hhp, ignore_errors=True)
    hhp.write_text("not a folder", encoding="utf-8")


def _garbage(name: str) -> Callable[[Path], None]:
    def damage(hhp: Path) -> None:
        hhp.mkdir(exist_ok=True)
        (hhp / name).write_bytes(b"\x00\xffnot a key\n")
    return damage


def _fifo_key(hhp: Path) -> None:
    hhp.mkdir(exist_ok=True)
    (hhp / "digest.key").unlink(missing_ok=True)
    os.mkfifo(hhp / "digest.key")


def _key_is_folder(hhp: Path) -> None:
    hhp.mkdir(exist_ok=True)
    (hhp / "audit-signing.key").mkdir()


SECRETS_CASES = [
    SecretsCase("hhp-is-a-file", _hhp_is_a_file),
    SecretsCase("digest-key-garbage", _garbage("digest.key")),
    SecretsCase("signing-key-garbage", _garbage("audit-signing.key")),
    SecretsCase("digest-key-is-a-named-pipe", _fifo_key, may_replace=True),
    SecretsCase("signing-key-is-a-folder", _key_is_folder),
]


# --- tampering with a finished run --------------------------------------------------------------

def canonical(record: Mapping[str, Any]) -> str:
    """The audit's canonical JSON (README: sorted keys, no insignificant white space)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rehash(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Renumber and re-chain records as the audit does: seq, prev_hash, hash."""
    prev = "0" * 64
    out = []
    for seq, record in enumerate(records, start=1):
        body = {k: v for k, v in record.items() if k != "hash"}
        body["seq"], body["prev_hash"] = seq, prev
        body["hash"] = hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()
        prev = body["hash"]
        out.append(body)
    return out


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Tamper:
    """What a tamper step is given: a private copy of a finished run and its campaign (or the
    shared campaign, read-only), another campaign (with its own keys) and the original head."""

    run: Path
    campaign: Path
    other_campaign: Path
    head: str
    outside: Path  # a folder outside the run for the attacker's files


def read_audit(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "audit.jsonl").read_text(
        encoding="utf-8").splitlines()]


def write_rewritten(t: Tamper, records: list[dict[str, Any]], *,
                    sign_with: Path | None = None) -> str:
    """An attacker's complete rewrite: re-chained audit, audit.head, summaries recomputed by
    the tool's own summary code, SHA256SUMS over every file; audit.sig re-signed with
    ``sign_with`` (an Ed25519 private key PEM) or left as it was."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from hhp_letters.summary import Tally, to_html, to_markdown

    records = rehash(records)
    # close totals follow the records
    allocations = [r for r in records if r.get("event") == "allocation"]
    close = records[-1]
    statuses: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for a in allocations:
        key = f"{a.get('arm')}:{a.get('status')}"
        statuses[key] = statuses.get(key, 0) + 1
        if a.get("reason"):
            reasons[str(a["reason"])] = reasons.get(str(a["reason"]), 0) + 1
    produced = sum(n for k, n in statuses.items() if k.endswith(":produced"))
    close.update(rows=len(allocations), produced=produced, withheld=len(allocations) - produced,
                 by_arm_and_status=dict(sorted(statuses.items())),
                 reasons=dict(sorted(reasons.items())),
                 files=sum(1 for r in records if r.get("event") == "file"))
    records = rehash(records)
    head = str(records[-1]["hash"])
    (t.run / "audit.jsonl").write_text("".join(canonical(r) + "\n" for r in records),
                                       encoding="utf-8")
    (t.run / "audit.head").write_text(head + "\n", encoding="utf-8")
    tally = Tally()
    for a in records:
        if a.get("event") == "allocation":
            tally.add(a)
    run_record = records[0]
    summary = tally.summary(head=head, title=str(run_record.get("campaign_name", "")),
                            kind=str(run_record.get("command", "letters")))
    (t.run / "summary.md").write_text(to_markdown(summary), encoding="utf-8")
    (t.run / "summary.html").write_text(to_html(summary), encoding="utf-8")
    if sign_with is not None:
        private = load_pem_private_key(sign_with.read_bytes(), password=None)
        assert isinstance(private, Ed25519PrivateKey)
        (t.run / "audit.sig").write_bytes(
            base64.b64encode(private.sign(head.encode("ascii"))) + b"\n")
    files = sorted(p for p in t.run.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    (t.run / "SHA256SUMS").write_text("".join(
        f"{sha256_file(p)}  {p.relative_to(t.run).as_posix()}\n" for p in files),
        encoding="utf-8")
    return head


def _hide_letter(t: Tamper, pid: str = "P005") -> list[dict[str, Any]]:
    records = read_audit(t.run)
    for r in records:
        if r.get("event") == "allocation" and r.get("participant_id") == pid:
            output = r["output"]
            r.update(status="withheld", reason="missing_feedback", output=None,
                     output_sha256=None, bundle=None, pages=None, signatory=None,
                     digests=None, text_at=None)
    records = [r for r in records if not (r.get("event") == "file" and r.get("path") == output)]
    (t.run / output).unlink()
    return records


def _digest(key: bytes, pid: str, text: str) -> str:
    """The audit's keyed digest of printed text (README: HMAC-SHA256 of the read-back form;
    for the plain ASCII texts of this corpus that is the text without white space or '-')."""
    form = re.sub(r"[\s\-]+", "", text)
    return hmac.new(key, f"{pid}\x1f{form}".encode(), hashlib.sha256).hexdigest()


def _control_letter(t: Tamper, *, flip_arm: bool) -> list[dict[str, Any]]:
    """P002 (control) is given a copy of P001's letter, recorded as produced. With
    ``flip_arm`` the attacker (who has the campaign folder) also records P002 as treatment
    and recomputes the letter's digests under P002's id with the campaign's digest key."""
    records = read_audit(t.run)
    source = next(r for r in records if r.get("participant_id") == "P001")
    target = "letters/BF/P002.pdf"
    shutil.copy(t.run / source["output"], t.run / target)
    for r in records:
        if r.get("event") == "allocation" and r.get("participant_id") == "P002":
            r.update({k: source[k] for k in ("status", "reason", "bundle", "pages",
                                             "signatory", "digests", "text_at")})
            r.update(output=target, output_sha256=source["output_sha256"])
            if flip_arm:
                r["arm"] = "treatment"
                key = bytes.fromhex((t.campaign / ".hhp" / "digest.key").read_text(
                    encoding="ascii").strip())
                texts = {"first_name": "Alice", "feedback_1": "You turned a difficult case "
                         "around.", "feedback_2": "Your notes are a model for the team."}
                r["digests"] = {k: _digest(key, "P002", v) for k, v in texts.items()}
    at = max(i for i, r in enumerate(records) if r.get("event") == "file")
    records.insert(at + 1, {"event": "file", "path": target, "sha256": source["output_sha256"],
                            "bytes": (t.run / target).stat().st_size, "kind": "letter",
                            "time": records[at]["time"]})
    return records


def _signing_key(campaign: Path) -> Path:
    return campaign / ".hhp" / "audit-signing.key"


def _edit(rel: str, old: bytes, new: bytes) -> Callable[[Tamper], None]:
    def tamper(t: Tamper) -> None:
        path = t.run / rel
        data = path.read_bytes()
        assert old in data, (rel, old)
        path.write_bytes(data.replace(old, new, 1))
    return tamper


def _append_sums(line: str) -> Callable[[Tamper], None]:
    def tamper(t: Tamper) -> None:
        with (t.run / "SHA256SUMS").open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    return tamper


def _outside_sums(rel: str) -> Callable[[Tamper], None]:
    def tamper(t: Tamper) -> None:
        secret = t.outside / "outside"
        secret.write_text("outside the run", encoding="utf-8")
        target = Path("/etc/passwd") if rel.startswith("/") else secret
        _append_sums(f"{sha256_file(target)}  {rel}")(t)
    return tamper


def _symlink_letter_outside(t: Tamper) -> None:
    letter = t.run / "letters" / "BF" / "P001.pdf"
    copy_path = t.outside / "P001.pdf"
    shutil.copy(letter, copy_path)
    letter.unlink()
    letter.symlink_to(copy_path)


def _symlink_letter_inside(t: Tamper) -> None:
    letter = t.run / "letters" / "BF" / "P005.pdf"
    letter.unlink()
    letter.symlink_to("P001.pdf")


def _symlinked_folder(t: Tamper) -> None:
    extra = t.outside / "XX"
    extra.mkdir()
    shutil.copy(t.run / "letters" / "BF" / "P001.pdf", extra / "P999.pdf")
    (t.run / "letters" / "XX").symlink_to(extra, target_is_directory=True)


def _symlink_loop(t: Tamper) -> None:
    (t.run / "letters" / "a").symlink_to("b")
    (t.run / "letters" / "b").symlink_to("a")


def _self_loop(t: Tamper) -> None:
    (t.run / "letters" / "BF" / "loop").symlink_to("loop")


def _letters_dir_symlink(t: Tamper) -> None:
    shutil.copytree(t.run / "letters", t.outside / "letters")
    shutil.rmtree(t.run / "letters")
    (t.run / "letters").symlink_to(t.outside / "letters", target_is_directory=True)


def _swap(t: Tamper) -> None:
    a, b = t.run / "letters" / "BF" / "P001.pdf", t.run / "letters" / "BF" / "P005.pdf"
    data = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(data)


def _replace_with_garbage_and_fix_sums(t: Tamper) -> None:
    letter = t.run / "letters" / "HC" / "P003.pdf"
    letter.write_bytes(b"%PDF-1.4\n%garbage\n")
    lines = (t.run / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    fixed = [f"{sha256_file(letter)}  letters/HC/P003.pdf" if line.endswith("P003.pdf")
             else line for line in lines]
    (t.run / "SHA256SUMS").write_text("\n".join(fixed) + "\n", encoding="utf-8")


def _flip_byte(rel: str) -> Callable[[Tamper], None]:
    def tamper(t: Tamper) -> None:
        path = t.run / rel
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    return tamper


def _empty_run(t: Tamper) -> None:
    for p in list(t.run.iterdir()):
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()


def _truncate_audit(t: Tamper) -> None:
    lines = (t.run / "audit.jsonl").read_bytes().splitlines(keepends=True)
    (t.run / "audit.jsonl").write_bytes(b"".join(lines[:-1]))


def _extra_file(in_sums: bool) -> Callable[[Tamper], None]:
    def tamper(t: Tamper) -> None:
        extra = t.run / "letters" / "BF" / "P999.pdf"
        shutil.copy(t.run / "letters" / "BF" / "P001.pdf", extra)
        if in_sums:
            _append_sums(f"{sha256_file(extra)}  letters/BF/P999.pdf")(t)
    return tamper


def _audit_replaced_by(kind: Literal["folder", "fifo"]) -> Callable[[Tamper], None]:
    def tamper(t: Tamper) -> None:
        path = t.run / "audit.jsonl"
        path.unlink()
        if kind == "folder":
            path.mkdir()
        else:
            os.mkfifo(path)
    return tamper


def _audit_line(make: Callable[[dict[str, Any]], str]) -> Callable[[Tamper], None]:
    """Replace the second audit line (P001's allocation) by ``make(record)``."""
    def tamper(t: Tamper) -> None:
        lines = (t.run / "audit.jsonl").read_text(encoding="utf-8").splitlines()
        lines[1] = make(json.loads(lines[1]))
        (t.run / "audit.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tamper


def _wrong_types(record: dict[str, Any]) -> str:
    record.update(digests="abc", text_at=[1, 2], row="two", pages=5, output=7)
    return canonical(record)


def _rewrite(hide: bool = True, *, resign: Literal["none", "attacker", "campaign"] = "none",
             flip_arm: bool = False) -> Callable[[Tamper], None]:
    def tamper(t: Tamper) -> None:
        records = _hide_letter(t) if hide else _control_letter(t, flip_arm=flip_arm)
        key = {"none": None, "attacker": _signing_key(t.other_campaign),
               "campaign": _signing_key(t.campaign)}[resign]
        write_rewritten(t, records, sign_with=key)
    return tamper


def _flip_list_arm(t: Tamper) -> None:
    """A copy of the randomised list with P002's arm flipped (given as --participants)."""
    from openpyxl import load_workbook

    wb = load_workbook(t.campaign / "data" / "list.xlsx")
    ws = wb["Allocation"]
    ws["D3"] = "treatment"
    wb.save(t.outside / "list.xlsx")


def _replace_public_key(t: Tamper) -> None:
    shutil.copy(t.other_campaign / ".hhp" / "audit-signing.pub",
                t.campaign / ".hhp" / "audit-signing.pub")


@dataclass(frozen=True)
class TamperCase:
    """``tamper`` alters a private copy of a finished run; ``verify`` (with ``args``, where
    {head}, {other}, {outside}, {campaign} are filled in) must exit 1 and its output must
    name ``words`` (all of them, matched ignoring white space and case)."""

    id: str
    tamper: Callable[[Tamper], None]
    words: tuple[str, ...]
    args: tuple[str, ...] = ()
    own_campaign: bool = False  # the tamper changes the campaign folder: use a private one
    exit_codes: tuple[int, ...] = (1,)
    timeout: float = 60.0


TAMPER_CASES = [
    TamperCase("summary-md-edited", _edit("summary.md", b"**4**", b"**5**"), ("summary.md",)),
    TamperCase("summary-html-edited", _edit("summary.html", b"Treatment", b"Treatmant"),
               ("summary.html",)),
    TamperCase("rewritten-audit-hides-a-letter-expect-head", _rewrite(), ("head",),
               args=("--expect-head", "{head}")),
    TamperCase("rewritten-audit-hides-a-letter-old-signature", _rewrite(), ("audit.sig",)),
    TamperCase("rewritten-audit-hides-a-letter-attacker-signature",
               _rewrite(resign="attacker"), ("audit.sig",)),
    TamperCase("rewritten-audit-hides-a-letter-campaign-signature-expect-head",
               _rewrite(resign="campaign"), ("head",), args=("--expect-head", "{head}")),
    TamperCase("rewritten-audit-gives-control-a-letter", _rewrite(hide=False),
               ("P002",)),
    TamperCase("rewritten-audit-gives-control-a-letter-old-signature", _rewrite(hide=False),
               ("audit.sig",)),
    TamperCase("rewritten-audit-control-made-treatment-resigned-participants",
               _rewrite(hide=False, resign="campaign", flip_arm=True),
               ("P002",), args=("--participants", "{campaign}/data/list.xlsx")),
    TamperCase("rewritten-audit-control-made-treatment-resigned-expect-head",
               _rewrite(hide=False, resign="campaign", flip_arm=True), ("head",),
               args=("--expect-head", "{head}")),
    TamperCase("list-with-flipped-arm-given-to-verify", _flip_list_arm, ("P002",),
               args=("--participants", "{outside}/list.xlsx")),
    TamperCase("letter-replaced-by-symlink-outside", _symlink_letter_outside, ("P001.pdf",)),
    TamperCase("letter-replaced-by-symlink-to-another-letter", _symlink_letter_inside,
               ("P005.pdf",)),
    TamperCase("symlinked-folder-with-an-extra-letter", _symlinked_folder, ("letters/XX",)),
    TamperCase("symlink-loop", _symlink_loop, ("letters/a",)),
    TamperCase("symlink-to-itself", _self_loop, ("loop",)),
    TamperCase("letters-folder-is-a-symlink", _letters_dir_symlink, ("letters",)),
    TamperCase("sums-line-names-dot-dot-outside", _outside_sums("../outside"), ("../outside",)),
    TamperCase("sums-line-names-etc-passwd", _outside_sums("/etc/passwd"), ("/etc/passwd",)),
    TamperCase("sums-line-climbs-out-through-letters",
               _outside_sums("letters/../../outside"), ("letters/../../outside",)),
    TamperCase("sums-garbage-line", _append_sums("not a checksum line at all"),
               ("SHA256SUMS",)),
    TamperCase("unexpected-empty-folder", lambda t: (t.run / "letters" / "ZZ").mkdir(),
               ("letters/ZZ",)),
    TamperCase("non-utf8-byte-in-audit", _edit("audit.jsonl", b'"event":"allocation"',
                                               b'"event":"allocati\xff"'), ("audit.jsonl",)),
    TamperCase("audit-line-with-nan", _audit_line(lambda r: canonical(r).replace(
        '"row":2', '"row":NaN')), ("audit.jsonl",)),
    TamperCase("audit-line-deeply-nested", _audit_line(lambda r: "[" * 100_000 + "]" * 100_000),
               ("audit.jsonl",)),
    TamperCase("audit-record-with-wrong-types", _audit_line(_wrong_types), ("audit.jsonl",)),
    TamperCase("audit-sig-deleted", lambda t: (t.run / "audit.sig").unlink(), ("audit.sig",)),
    TamperCase("another-campaigns-public-key-given", lambda t: None, ("audit.sig",),
               args=("--public-key", "{other}/.hhp/audit-signing.pub")),
    TamperCase("campaign-public-key-swapped", _replace_public_key, ("audit.sig",),
               own_campaign=True),
    TamperCase("another-campaigns-digest-key-given", lambda t: None, ("P001",),
               args=("--digest-key", "{other}/.hhp/digest.key")),
    TamperCase("letter-byte-changed", _flip_byte("letters/HC/P006.pdf"), ("P006.pdf",)),
    TamperCase("two-letters-swapped", _swap, ("P001.pdf", "P005.pdf")),
    TamperCase("letter-not-a-pdf-and-sums-fixed", _replace_with_garbage_and_fix_sums,
               ("P003.pdf",)),
    TamperCase("audit-truncated", _truncate_audit, ("audit.head",)),
    TamperCase("audit-head-edited", _edit("audit.head", b"", b"0"), ("audit.head",)),
    TamperCase("letter-deleted", lambda t: (t.run / "letters" / "HC" / "P003.pdf").unlink(),
               ("P003.pdf",)),
    TamperCase("extra-letter-added", _extra_file(False), ("P999.pdf",)),
    TamperCase("extra-letter-added-to-sums", _extra_file(True), ("P999.pdf",)),
    TamperCase("sums-deleted", lambda t: (t.run / "SHA256SUMS").unlink(), ("SHA256SUMS",)),
    TamperCase("manifest-edited", _edit("bundles/BF-1.csv", b"RG12 1JD", b"RG12 1JE"),
               ("BF-1.csv",)),
    TamperCase("audit-is-a-folder", _audit_replaced_by("folder"), ("audit.jsonl",)),
    TamperCase("audit-is-a-named-pipe", _audit_replaced_by("fifo"), ("audit.jsonl",),
               timeout=30),
    TamperCase("expect-head-garbage", lambda t: None, ("zzz-not",),
               args=("--expect-head", "zzz-not-a-hash")),
    TamperCase("not-a-run-folder", _empty_run, ("audit.jsonl",), exit_codes=(1, 2)),
]


def all_ids(items: Iterable[Any]) -> list[str]:
    return [str(i.id) for i in items]
