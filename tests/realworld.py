"""Campaign folders shaped by *other people's software*: an executable spec for hhp-letters.

Each function in :data:`CASES` writes one complete campaign folder (campaign.toml, the
randomised list, the managers' feedback files, logo and signature PNGs) the way a council's HR
system, a manager's laptop or a Mac actually makes them, and returns a :class:`Case`: what a
careful coordinator expects hhp-letters to do with it. The product is changed to meet the spec,
not the other way round.

Semantics of a :class:`Case` (see :func:`unmet` for the problems part):

- ``refuse``: ``hhp-letters check`` exits 1 (at least one error) when True, 0 when False.
- ``letters_for``: exactly the participants who get a letter — from a plain ``letters`` run
  when ``refuse`` is False, from ``letters --skip-invalid`` when it is True. Ids are as the list
  shows them (as Excel displays the cell; a zero-width character stripped). A file with an
  encoding or CSV-structure error is not used at all; a bad cell withholds only its row.
- ``greeting``: participant id → the first name the letter greets, NFC.
- ``problems``: every :class:`Expect` must match a problem in problems.csv. Every *error* in
  problems.csv must match an expected error, unless its code is in ``allow`` (consequences a
  product may or may not also report, e.g. ``missing_feedback`` for a row whose feedback file
  was refused). Warnings and info not listed are tolerated (they never change a letter).

Everything is seeded and byte-for-byte deterministic (fixed zip timestamps and document dates).
All councils, people and addresses are fictional; NI numbers use the QQ prefix HMRC reserves
for examples.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import random
import re
import unicodedata
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from openpyxl import Workbook
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image, ImageDraw

Level = Literal["error", "warning", "info"]
Value = str | int | float | dt.date | dt.datetime | None
Grid = Sequence[Sequence[Value]]


# --- the spec's value types ---------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """One problem ``check`` must report. ``None`` fields are not checked; ``sheet=""`` means a
    CSV file (problems.csv leaves the sheet blank). ``level="info"`` accepts info or warning."""

    code: str
    level: Level
    file: str  # as problems.csv shows it: relative to campaign.toml, forward slashes
    sheet: str | None = None
    row: int | None = None  # as Excel shows it (a CSV record spanning two lines is one row)
    column: str | None = None  # header text; problems.csv shows "Header (C)"
    words: tuple[str, ...] = ()  # each must occur in the message (case-insensitive, NFC)

    def matches(self, problem: Mapping[str, str]) -> bool:
        """Does a problems.csv row (as read by csv.DictReader) satisfy this expectation?"""
        level = problem.get("level", "")
        if self.level == "info":
            if level not in ("info", "warning"):
                return False
        elif level != self.level:
            return False
        if problem.get("code") != self.code:
            return False
        if _nfc(problem.get("file", "")).replace("\\", "/") != _nfc(self.file):
            return False
        if self.sheet is not None and _nfc(problem.get("sheet", "")) != _nfc(self.sheet):
            return False
        if self.row is not None and problem.get("row", "") != str(self.row):
            return False
        if self.column is not None:
            shown = _nfc(problem.get("column", ""))
            header = _nfc(" ".join(self.column.split()))
            if shown != header and not shown.startswith(header + " ("):
                return False
        message = _nfc(problem.get("message", "")).casefold()
        return all(_nfc(w).casefold() in message for w in self.words)

    def describe(self) -> str:
        where = ", ".join(str(x) for x in (self.file, self.sheet, self.row, self.column)
                          if x not in (None, ""))
        words = f" containing {list(self.words)}" if self.words else ""
        return f"{self.level} {self.code} at {where}{words}"


@dataclass(frozen=True)
class Case:
    name: str
    folder: Path
    description: str  # which software or habit it imitates
    letters_for: frozenset[str]
    greeting: Mapping[str, str]
    problems: tuple[Expect, ...]
    refuse: bool
    allow: frozenset[str] = field(default=frozenset())  # error codes tolerated if reported


def unmet(case: Case, problems: Sequence[Mapping[str, str]]) -> list[str]:
    """What problems.csv (rows from csv.DictReader) fails of ``case``; empty when it passes."""
    failures = [f"missing: {e.describe()}" for e in case.problems
                if not any(e.matches(p) for p in problems)]
    expected_errors = [e for e in case.problems if e.level == "error"]
    for p in problems:
        if p.get("level") != "error" or p.get("code", "") in case.allow:
            continue
        if not any(e.matches(p) for e in expected_errors):
            failures.append("unexpected error: " + ", ".join(
                f"{k}={p.get(k, '')!r}" for k in ("code", "file", "sheet", "row", "column",
                                                  "message")))
    return failures


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- councils, people, feedback -----------------------------------------------------------------

@dataclass(frozen=True)
class Council:
    code: str
    name: str
    area: str
    colour: str
    return_address: tuple[str, ...]
    signatory: str
    title: str
    town: str
    outward: str  # postcode area letters


FB = Council("FB", "Fernleigh Borough Council", "Fernleigh", "#1F4E79",
             ("Civic Offices", "Market Square", "FERNLEIGH", "FL1 1AA"),
             "Dr Aoife Ní Bhriain", "Director of Children's Services", "Fernleigh", "FL")
HC = Council("HC", "Harrowmere County Council", "Harrowmere", "#7A2E5B",
             ("County Hall", "Mere Road", "HARROWMERE", "HW1 2BQ"),
             "Marcus Thorne-Ellery", "Corporate Director, Children and Families", "Harrowmere",
             "HW")


@dataclass(frozen=True)
class Person:
    pid: str  # the id as the list shows it
    first: str  # legal first name, NFC
    last: str
    arm: Literal["treatment", "control"]
    council: Council
    team: str
    address: tuple[str, str, str]  # lines 1-3 ("" when unused)
    postcode: str
    feedback: tuple[str, str]
    known_as: str = ""

    @property
    def greet(self) -> str:
        return _nfc((self.known_as.strip() or self.first).strip())

    @property
    def treated(self) -> bool:
        return self.arm == "treatment"

    @property
    def town(self) -> str:
        return self.council.town


# Mostly ordinary names: the diverse ones are added per case where they are the point.
POOL: tuple[tuple[str, str], ...] = (
    ("Alice", "Hughes"), ("Ben", "Carter"), ("Chloe", "Davies"), ("Dev", "Patel"),
    ("Emma", "Wilson"), ("Finn", "Roberts"), ("Grace", "Evans"), ("Harry", "Walker"),
    ("Isla", "Wright"), ("Jack", "Thompson"), ("Kate", "White"), ("Liam", "Green"),
    ("Maya", "Hall"), ("Noah", "Wood"), ("Olivia", "Clarke"), ("Priya", "Shah"),
    ("Rosie", "Baker"), ("Sam", "Taylor"), ("Tom", "Morris"), ("Una", "Cooper"),
    ("Victor", "Adeyemi"), ("Wendy", "Lewis"), ("Yusuf", "Khan"), ("Zara", "Ahmed"),
    ("Amara", "Okafor"), ("Bilal", "Hussain"), ("Ciara", "Kelly"), ("Daniel", "Murphy"),
    ("Ella", "Price"), ("Farah", "Begum"), ("George", "Young"), ("Hannah", "King"),
    ("Imran", "Ali"), ("Jade", "Scott"), ("Kieran", "Doyle"), ("Lucy", "Mills"),
)

# Names from the UK social-work workforce. Written with escapes where a mark has no precomposed
# form (Yoruba and Igbo), so the exact code points are visible in review.
IRISH = (("Siobhán", "Ní Bhriain"), ("Pádraig", "Ó Súilleabháin"), ("Ruairí", "Mac Aodha"),
         ("Bríd", "Ó Conaill"))
WELSH = (("Gwenllïan", "Jones"), ("Dafydd", "ap Siôn"), ("Ŵyn", "Prys"), ("Siân", "Llŷr"))
POLISH = (("Łukasz", "Żółć"), ("Małgorzata", "Wójcik"))
YORUBA = (("\u1ecc\u0301l\u00e1", "\u00c0d\u00ecg\u00fan"),
          ("Ad\u00e9w\u00e1l\u00e9", "\u00d2g\u00fanl\u1eb9\u0300"))
IGBO = (("Chidiebere", "Nw\u00e1\u0144kw\u1ecd\u0301"), ("\u1ee4\u0300ch\u1eb9\u0301", "Eze"))
VIETNAMESE = (("Ngọc Ánh", "Nguyễn Thị"), ("Văn Đức", "Trần"))
PORTUGUESE = (("João", "Conceição"),)
TURKISH = (("Şükrü", "Çağlar"), ("İlkay", "Gündoğan"))
GREEK = (("Σοφία", "Παπαδοπούλου"),)
CYRILLIC = (("Олена", "Коваленко"),)
APOSTROPHES = (("Niamh", "O'Neill"), ("Ciarán", "O\u2019Neill"), ("Mary-Kate", "Smith-Jones"),
               ("Priya", "D\u2019Souza"), ("Jean-Luc", "N'Diaye"))
WORKFORCE = (*IRISH, *WELSH, *POLISH, *YORUBA, *IGBO, *VIETNAMESE, *PORTUGUESE, *TURKISH,
             *GREEK, *CYRILLIC)

LINE_1 = (
    "You turned round a very difficult case with patience and care.",
    "Families tell us you listen, and it shows in everything you write.",
    "Your court reports are clear, fair and always on time.",
    "You stayed calm and kind through a very hard week on duty.",
    "Your visits are thorough and your case notes are a model for the team.",
    "You went out of your way to keep two brothers together.",
    "New colleagues say you are the first person they ask.",
    "You built trust with a family who had given up on us.",
    "Your planning meeting last month was the best I have chaired.",
    "You never give up on a young person, however hard it gets.",
    "You brought a family back from crisis with real skill.",
    "Your assessments are balanced, warm and thorough.",
)
LINE_2 = (
    "Thank you for the difference you make.",
    "The team is stronger because of you.",
    "Your supervision notes are a pleasure to read.",
    "Thank you for covering the duty desk so often.",
    "You make this a better place to work.",
    "Thank you for your kindness to new starters.",
    "Your good humour keeps us all going.",
    "Thank you for everything this year.",
)
STREETS = ("High Street", "Church Road", "Station Road", "Mill Lane", "Victoria Road",
           "Park Avenue", "Queen Street", "Orchard Close", "Meadow Way", "Kingsway")
LOCALITIES = ("Upper Fernleigh", "Westmere", "Old Town", "Brookside")
_INWARD = "ABDEFGHJLNPQRSTUWXYZ"


def _people(seed: str, names: Sequence[tuple[str, str]], *, ids: Sequence[str],
            arms: str, councils: Sequence[Council] = (FB,),
            teams: Sequence[str] = ("Assessment",),
            known_as: Mapping[int, str] | None = None) -> tuple[Person, ...]:
    """People with seeded addresses and feedback; ``arms`` is one letter per person, T or C."""
    assert len(names) == len(ids) == len(arms), (len(names), len(ids), len(arms))
    rng = random.Random(seed)
    out: list[Person] = []
    for i, ((first, last), pid, arm) in enumerate(zip(names, ids, arms, strict=True)):
        council = councils[i % len(councils)]
        locality = rng.choice(LOCALITIES) if rng.random() < 0.4 else ""
        postcode = (f"{council.outward}{rng.randint(1, 9)} {rng.randint(1, 9)}"
                    f"{rng.choice(_INWARD)}{rng.choice(_INWARD)}")
        out.append(Person(
            pid=pid, first=_nfc(first), last=_nfc(last),
            arm="treatment" if arm == "T" else "control", council=council,
            team=teams[i % len(teams)],
            address=(f"{rng.randint(1, 120)} {rng.choice(STREETS)}", locality, ""),
            postcode=postcode, feedback=(rng.choice(LINE_1), rng.choice(LINE_2)),
            known_as=(known_as or {}).get(i, "")))
    return tuple(out)


def _ids(start: int, n: int, fmt: str = "{:06d}") -> list[str]:
    return [fmt.format(start + i) for i in range(n)]


def _arms(n: int, seed: str) -> str:
    """A balanced, seeded allocation."""
    letters = list("TC" * (n // 2) + "T" * (n % 2))
    random.Random(seed).shuffle(letters)
    return "".join(letters)


# --- writers ------------------------------------------------------------------------------------

FIXED_ZIP_TIME = (2019, 9, 3, 8, 14, 0)
FIXED_DOC_TIME = "2019-09-03T08:14:00Z"
_CORE_TIME = re.compile(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _book(creator: str, *sheets: tuple[str, Grid]) -> tuple[Workbook, list[Worksheet]]:
    """A workbook with the given sheets filled from row 1; dates get an Excel date format."""
    wb = Workbook()
    wb.properties.creator = creator
    first = wb.active
    assert isinstance(first, Worksheet)
    made: list[Worksheet] = []
    for i, (title, grid) in enumerate(sheets):
        ws = first if i == 0 else wb.create_sheet(title)
        ws.title = title
        for r, values in enumerate(grid, start=1):
            for c, value in enumerate(values, start=1):
                if value is None or value == "":
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, dt.datetime):
                    cell.number_format = "dd/mm/yyyy hh:mm"
                elif isinstance(value, dt.date):
                    cell.number_format = "dd/mm/yyyy"
        made.append(ws)
    return wb, made


def _save(wb: Workbook, path: Path, *,
          cached: Mapping[tuple[str, str], Value] | None = None,
          raw: Sequence[tuple[str, str, str]] = ()) -> None:
    """Save deterministically. ``cached``: (sheet, cell) → the value Excel would have cached for
    a formula (openpyxl writes none). ``raw``: (sheet, old, new) text edits of a sheet's XML,
    for what openpyxl will not write (Excel's _xHHHH_ escapes)."""
    buf = io.BytesIO()
    wb.save(buf)
    member = {title: f"xl/worksheets/sheet{i}.xml" for i, title in enumerate(wb.sheetnames, 1)}
    edits: dict[str, list[tuple[str, str]]] = {}
    for (sheet, ref), value in (cached or {}).items():
        edits.setdefault(member[sheet], []).append((ref, "" if value is None else str(value)))
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIME.sub(rf"\g<1>{FIXED_DOC_TIME}\g<2>", data.decode()).encode()
            text_edits = [(o, n) for s, o, n in raw if member[s] == info.filename]
            if info.filename in edits or text_edits:
                xml = data.decode()
                for ref, value in edits.get(info.filename, []):
                    xml = _cache_formula(xml, ref, value)
                for old, new in text_edits:
                    assert old in xml, f"{old!r} not in {info.filename}"
                    xml = xml.replace(old, new)
                data = xml.encode()
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())


def _cache_formula(xml: str, ref: str, value: str) -> str:
    """Give the formula cell ``ref`` the cached value Excel would have saved."""
    kind = "" if re.fullmatch(r"-?\d+(\.\d+)?", value) else ' t="str"'
    pattern = rf'<c r="{ref}"((?: [a-z]+="[^"]*")*)><f>(.*?)</f><v\s*/?>(?:</v>)?</c>'
    xml, count = re.subn(pattern, lambda m: (f'<c r="{ref}"{m.group(1)}{kind}><f>{m.group(2)}'
                                             f"</f><v>{value}</v></c>"), xml)
    assert count == 1, f"no formula cell {ref}"
    return xml


def _xlsx(path: Path, sheet: str, grid: Grid, *, creator: str = "Microsoft Excel",
          edit: Callable[[Worksheet], None] | None = None) -> None:
    wb, (ws,) = _book(creator, (sheet, grid))
    if edit is not None:
        edit(ws)
    _save(wb, path)


def _cell_text(value: Value) -> str:
    """A value as a spreadsheet app writes it to CSV (UK date format)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _csv_text(grid: Grid, *, delimiter: str = ",", newline: str = "\r\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline,
                        quoting=csv.QUOTE_MINIMAL)
    for values in grid:
        writer.writerow([_cell_text(v) for v in values])
    return buf.getvalue()


def _csv(path: Path, grid: Grid, *, encoding: str = "utf-8", bom: bool = False,
         delimiter: str = ",", newline: str = "\r\n") -> None:
    data = _csv_text(grid, delimiter=delimiter, newline=newline).encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)


def _ansi(text: str, codec: str = "cp1252") -> str:
    """What Excel's code-page CSV export keeps of ``text``: unencodable characters become '?'."""
    return "".join(c if c.encode(codec, "ignore") else "?" for c in text)


def _png(path: Path, size: tuple[int, int], draw: Callable[[ImageDraw.ImageDraw], None],
         mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new(mode, size, (255, 255, 255) if mode == "RGB" else (255, 255, 255, 0))
    draw(ImageDraw.Draw(img))
    img.save(path, format="PNG")


def _assets(folder: Path, councils: Sequence[Council]) -> None:
    for c in councils:
        colour = (int(c.colour[1:3], 16), int(c.colour[3:5], 16), int(c.colour[5:7], 16))

        def logo(d: ImageDraw.ImageDraw, colour: tuple[int, int, int] = colour) -> None:
            d.rectangle((0, 0, 179, 179), fill=colour)
            d.ellipse((30, 30, 150, 150), fill=(255, 255, 255))
            d.rectangle((200, 60, 580, 120), fill=colour)

        def signature(d: ImageDraw.ImageDraw, seed: str = c.code) -> None:
            rng = random.Random(seed)
            points = [(20 + i * 28, 60 + rng.randint(-35, 35)) for i in range(20)]
            d.line(points, fill=(10, 10, 40, 255), width=5, joint="curve")

        _png(folder / "brand" / f"{c.code.lower()}-logo.png", (600, 180), logo)
        _png(folder / "signatures" / f"{c.code.lower()}.png", (600, 120), signature, "RGBA")


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _inline(table: Mapping[str, object]) -> str:
    parts = []
    for key, value in table.items():
        if isinstance(value, Mapping):
            parts.append(f"{key} = {_inline(value)}")
        else:
            parts.append(f"{key} = {_q(str(value))}")
    return "{ " + ", ".join(parts) + " }"


def _campaign(folder: Path, *, participants: str,
              feedback: Sequence[str | Mapping[str, object]],
              councils: Sequence[Council] = (FB,), sheet: str | None = None,
              columns: Mapping[str, str] | None = None) -> None:
    """campaign.toml, logos and signatures."""
    lines = ["[campaign]", 'name = "Recognition letters, wave 1"',
             'kind = "letters"', "date = 2019-10-01", "", "[inputs]",
             f"participants = {_q(participants)}"]
    if sheet is not None:
        lines.append(f"sheet = {_q(sheet)}")
    entries = [_q(e) if isinstance(e, str) else _inline(e) for e in feedback]
    lines.append("feedback = [" + ", ".join(entries) + "]")
    if columns:
        lines += ["", "[inputs.columns]", *(f"{k} = {_q(v)}" for k, v in columns.items())]
    for c in councils:
        lines += ["", "[[authorities]]", f"code = {_q(c.code)}", f"name = {_q(c.name)}",
                  f"area = {_q(c.area)}", f'logo = "brand/{c.code.lower()}-logo.png"',
                  f"colour = {_q(c.colour)}",
                  "return_address = [" + ", ".join(_q(x) for x in c.return_address) + "]",
                  f"signatory = {{ name = {_q(c.signatory)}, title = {_q(c.title)}, "
                  f'signature = "signatures/{c.code.lower()}.png" }}']
    lines += ["", "[print]", 'envelope = "DL"', "duplex = false", 'sort = "postcode"', ""]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.toml").write_text("\n".join(lines), encoding="utf-8")
    _assets(folder, councils)


# The house layout of a list and a feedback file, for cases where the layout is not the point.
LIST_HEADER = ("Participant ID", "First name", "Last name", "Arm", "Local authority",
               "Address line 1", "Address line 2", "Town", "Postcode", "Team")
FEEDBACK_HEADER = ("Participant ID", "Feedback 1", "Feedback 2")


def _list_row(p: Person) -> list[Value]:
    return [p.pid, p.first, p.last, p.arm.capitalize(), p.council.code, p.address[0],
            p.address[1], p.town, p.postcode, p.team]


def _feedback_rows(people: Sequence[Person], pid: Callable[[Person], Value] | None = None,
                   ) -> list[list[Value]]:
    return [[p.pid if pid is None else pid(p), *p.feedback] for p in people]


def _by_team(people: Sequence[Person]) -> dict[str, list[Person]]:
    teams: dict[str, list[Person]] = {}
    for p in people:
        if p.treated:
            teams.setdefault(p.team, []).append(p)
    return teams


def _slug(team: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-")


def _team_feedback_xlsx(folder: Path, people: Sequence[Person], *,
                        header: Sequence[str] = FEEDBACK_HEADER) -> dict[str, list[Person]]:
    """One feedback workbook per team (treatment members), house layout; file → people."""
    files: dict[str, list[Person]] = {}
    for team, members in _by_team(people).items():
        name = f"data/feedback/{_slug(team)}.xlsx"
        _xlsx(folder / name, "Feedback", [list(header), *_feedback_rows(members)])
        files[name] = members
    return files


def _case(name: str, folder: Path, description: str, people: Sequence[Person], *,
          problems: Sequence[Expect] = (), refuse: bool = False, allow: Sequence[str] = (),
          withheld: Sequence[str] = (), shown: Mapping[str, str] | None = None) -> Case:
    """``withheld``: treatment pids that get no letter; ``shown``: pid → id as the list shows."""
    letters = [p for p in people if p.treated and p.pid not in withheld]
    ids = {p.pid: (shown or {}).get(p.pid, p.pid) for p in letters}
    return Case(name=name, folder=folder, description=description,
                letters_for=frozenset(ids.values()),
                greeting=MappingProxyType({ids[p.pid]: p.greet for p in letters}),
                problems=tuple(problems), refuse=refuse, allow=frozenset(allow))


def _err(code: str, file: str, sheet: str | None = None, row: int | None = None,
         column: str | None = None, *words: str) -> Expect:
    return Expect(code, "error", file, sheet, row, column, tuple(words))


def _warn(code: str, file: str, sheet: str | None = None, row: int | None = None,
          column: str | None = None, *words: str) -> Expect:
    return Expect(code, "warning", file, sheet, row, column, tuple(words))


def _info(code: str, file: str, sheet: str | None = None, row: int | None = None,
          column: str | None = None, *words: str) -> Expect:
    return Expect(code, "info", file, sheet, row, column, tuple(words))


# --- HR system exports --------------------------------------------------------------------------

RUN_AT = dt.datetime(2019, 9, 3, 8, 14)
ITRENT_TITLE: tuple[Sequence[Value], ...] = (
    ["Workforce Report – Children's Services"], ["Run date", RUN_AT],
    ["Confidential – contains personal data"], [])
ITRENT_HEADER = ("Employee Number", "Forename", "Known As", "Surname", "Home Address 1",
                 "Home Address 2", "Home Address 3", "Post Town", "Postcode", "Team",
                 "Trial Group")
ITRENT_COLUMNS = {"participant_id": "Employee Number", "first_name": "Known As",
                  "address_1": "Home Address 1", "address_2": "Home Address 2",
                  "address_3": "Home Address 3", "arm": "Trial Group"}
ITRENT_FEEDBACK = ("Employee Number", "Feedback 1", "Feedback 2")


def _itrent_row(p: Person, pid: Value = None) -> list[Value]:
    return [p.pid if pid is None else pid, p.first, p.known_as or p.first, p.last,
            p.address[0], p.address[1], p.address[2], p.town, p.postcode, p.team,
            "Intervention" if p.treated else "Control"]


def _itrent_people(seed: str, n: int = 12, start: int = 4501) -> tuple[Person, ...]:
    known = {1: "Chris", 4: "Liz", 7: "Sandy"}
    names = [("Christopher", "Hughes") if i == 1 else ("Elizabeth", "Carter") if i == 4
             else ("Alexandra", "Patel") if i == 7 else POOL[i] for i in range(n)]
    return _people(seed, names, ids=_ids(start, n), arms=_arms(n, seed),
                   teams=("Assessment", "Children in Care"), known_as=known)


def itrent_title_and_footer(folder: Path) -> Case:
    people = _itrent_people("itrent-1")
    header_row = len(ITRENT_TITLE) + 1
    footer = [["Total records: 12"], ["End of report"],
              ["Generated by iTrent on 03/09/2019 at 08:14"]]
    grid: Grid = [*ITRENT_TITLE, ITRENT_HEADER, *(_itrent_row(p) for p in people), [], *footer]
    listing = "data/Workforce Report - Childrens Services.xlsx"
    _xlsx(folder / listing, "Report", grid, creator="iTrent")
    _team_feedback_xlsx(folder, people, header=ITRENT_FEEDBACK)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              columns=ITRENT_COLUMNS)
    first_footer = header_row + len(people) + 2
    return _case(
        "itrent_title_and_footer", folder,
        "iTrent workforce report: title, run-date and Confidential rows above the header, a "
        "blank row, then 'Total records', 'End of report' and 'Generated by iTrent' footers; "
        "one council, no authority column; Known As mapped in campaign.toml",
        people, problems=[_warn("footer_row", listing, "Report", first_footer)])


def itrent_csv_count_footer(folder: Path) -> Case:
    n = 10
    people = _people("itrent-csv", POOL[12:22], ids=_ids(20110, n, "{:08d}"),
                     arms=_arms(n, "itrent-csv"), teams=("Fostering", "Disabled Children"))
    header = ["Payroll Number", "Forename", "Surname", "Address Line 1", "Address Line 2",
              "Post Town", "Postcode", "Trial Arm"]
    rows = [[p.pid, p.first, p.last, p.address[0], p.address[1], p.town, p.postcode,
             "Intervention" if p.treated else "Control"] for p in people]
    listing = "data/payroll-extract.csv"
    # iTrent's CSV: the count alone under the first column, then the record total
    _csv(folder / listing, [header, *rows, [], [n], [f"Total records: {n}"]])
    files = _team_feedback_xlsx(folder, people,
                                header=("Payroll Number", "Feedback 1", "Feedback 2"))
    assert files
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              columns={"participant_id": "Payroll Number"})
    return _case(
        "itrent_csv_count_footer", folder,
        "iTrent CSV extract (UTF-8, CRLF) by Payroll Number with a blank row, a row holding "
        "only the record count, and a 'Total records' line after the data",
        people, problems=[_warn("footer_row", listing, "", 1 + n + 2)])


def itrent_list_ids_lost_zeros(folder: Path) -> Case:
    people = _itrent_people("itrent-zeros")
    people = tuple(replace(p, arm="treatment") if i in (2, 6) else p
                   for i, p in enumerate(people))
    lost = {people[2].pid: 4503, people[6].pid: 4507}  # retyped over in the list: now numbers
    header_row = len(ITRENT_TITLE) + 1
    grid: Grid = [*ITRENT_TITLE, ITRENT_HEADER,
                  *(_itrent_row(p, lost.get(p.pid)) for p in people)]
    listing = "data/itrent-allocation.xlsx"
    _xlsx(folder / listing, "Report", grid, creator="iTrent")
    _team_feedback_xlsx(folder, people, header=ITRENT_FEEDBACK)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              columns=ITRENT_COLUMNS)
    problems = [_warn("leading_zeros", listing, "Report", header_row + 1 + i,
                      "Employee Number", str(lost[p.pid]), p.pid)
                for i, p in enumerate(people) if p.pid in lost]
    return _case(
        "itrent_list_ids_lost_zeros", folder,
        "iTrent list whose Employee Number is text '004501' except two cells a coordinator "
        "retyped, which Excel stored as the numbers 4503 and 4507; the managers wrote '004503'",
        people, problems=problems, shown={pid: str(v) for pid, v in lost.items()})


def itrent_ids_zero_padded_format(folder: Path) -> Case:
    people = _itrent_people("itrent-format")
    grid: Grid = [*ITRENT_TITLE, ITRENT_HEADER, *(_itrent_row(p, int(p.pid)) for p in people)]
    header_row = len(ITRENT_TITLE) + 1
    listing = "data/itrent-allocation.xlsx"

    def pad(ws: Worksheet) -> None:
        for r in range(header_row + 1, header_row + 1 + len(people)):
            ws.cell(row=r, column=1).number_format = "000000"  # Excel shows 004501

    _xlsx(folder / listing, "Report", grid, creator="iTrent", edit=pad)
    _team_feedback_xlsx(folder, people, header=ITRENT_FEEDBACK)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              columns=ITRENT_COLUMNS)
    return _case(
        "itrent_ids_zero_padded_format", folder,
        "iTrent export where Employee Number cells are numbers with the custom format '000000', "
        "so Excel shows 004501; the managers' returns hold the text '004501'",
        people)


def feedback_ids_retyped_as_numbers(folder: Path) -> Case:
    people = _itrent_people("retyped")
    grid: Grid = [*ITRENT_TITLE, ITRENT_HEADER, *(_itrent_row(p) for p in people)]
    listing = "data/itrent-allocation.xlsx"
    _xlsx(folder / listing, "Report", grid, creator="iTrent")
    teams = _by_team(people)
    (team_a, members_a), (team_b, members_b) = sorted(teams.items())
    fa, fb = f"data/feedback/{_slug(team_a)}.xlsx", f"data/feedback/{_slug(team_b)}.xlsx"
    _xlsx(folder / fa, "Feedback", [list(ITRENT_FEEDBACK), *_feedback_rows(members_a)])
    # this manager typed the ids: Excel stored them as numbers
    _xlsx(folder / fb, "Feedback", [list(ITRENT_FEEDBACK),
                                    *_feedback_rows(members_b, lambda p: int(p.pid))])
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              columns=ITRENT_COLUMNS)
    problems = [_warn("leading_zeros", fb, "Feedback", 2 + i, "Employee Number",
                      str(int(p.pid)), p.pid) for i, p in enumerate(members_b)]
    return _case(
        "feedback_ids_retyped_as_numbers", folder,
        "iTrent list with text ids '004501'; one manager typed the ids into their return, so "
        "Excel stored 4503, 4507, … as numbers (leading zeros gone)",
        people, problems=problems)


def leading_zeros_ambiguous(folder: Path) -> Case:
    # Two councils' payroll systems: Fernleigh uses 5 digits, Harrowmere 6.
    fb = _people("amb-fb", POOL[0:4], ids=["04505", "04506", "04507", "04508"], arms="CTCT",
                 councils=(FB,), teams=("Fernleigh Assessment",))
    hc = _people("amb-hc", POOL[4:8], ids=["004505", "004506", "004507", "004508"],
                 arms="TTCC", councils=(HC,), teams=("Harrowmere Duty",))
    people = (*fb, *hc)
    header = [*LIST_HEADER]
    listing = "data/combined-list.xlsx"
    _xlsx(folder / listing, "Allocation", [header, *(_list_row(p) for p in people)])
    fb_file, hc_file = "data/feedback/fernleigh.xlsx", "data/feedback/harrowmere.xlsx"
    # 04506 (FB) and 004506 (HC) are both treatment; the FB manager typed 4506 as a number
    fb_rows = [[4506 if p.pid == "04506" else p.pid, *p.feedback] for p in fb if p.treated]
    _xlsx(folder / fb_file, "Feedback", [list(FEEDBACK_HEADER), *fb_rows])
    _xlsx(folder / hc_file, "Feedback", [list(FEEDBACK_HEADER),
                                         *_feedback_rows([p for p in hc
                                                          if p.treated and p.pid != "004506"])])
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              councils=(FB, HC))
    row = 2 + [r[0] for r in fb_rows].index(4506)
    return _case(
        "leading_zeros_ambiguous", folder,
        "A list combining two councils' payroll ids (5 and 6 digits); a manager's return has "
        "4506 as a number, which could be 04506 or 004506",
        people, refuse=True, withheld=["04506", "004506"], allow=["missing_feedback"],
        problems=[_err("leading_zeros", fb_file, "Feedback", row, "Participant ID",
                       "4506", "04506", "004506")])


ORACLE_HEADER = ("Person Number", "Legal First Name", "Known As", "Last Name", "Address Line 1",
                 "Address Line 2", "Address Line 3", "Town or City", "Postal Code",
                 "Business Unit", "Trial Arm", "Hire Date")


def oracle_hcm_known_as(folder: Path) -> Case:
    n = 12
    known = {0: "Bea", 3: "Kit", 5: "Jas", 9: "Mo"}
    names = [("Beatrice", "Lowe"), *POOL[1:3], ("Christopher", "Dunn"), POOL[4],
             ("Jasmeet", "Kaur"), *POOL[6:9], ("Mohammed", "Rahman"), *POOL[10:12]]
    people = _people("oracle", names, ids=[str(100230 + i * 7) for i in range(n)],
                     arms=_arms(n, "oracle"), councils=(FB, HC),
                     teams=("Safeguarding", "Early Help"), known_as=known)
    rng = random.Random("oracle-hire")
    title = [["Person Details Report"], ["Run on 03-Sep-2019 08:14:09 by HR_ANALYST_04"], []]
    rows = [[int(p.pid), p.first, p.known_as, p.last, *p.address, p.town, p.postcode,
             p.council.name, "Treatment" if p.treated else "Control",
             dt.date(2005 + rng.randint(0, 13), rng.randint(1, 12), rng.randint(1, 28))]
            for p in people]
    listing = "data/PersonDetails_20190903.xlsx"
    _xlsx(folder / listing, "Data", [*title, list(ORACLE_HEADER), *rows],
          creator="Oracle BI Publisher")
    for team, members in _by_team(people).items():
        _xlsx(folder / f"data/feedback/{_slug(team)}.xlsx", "Feedback",
              [["Person Number", "Feedback 1", "Feedback 2"],
               *_feedback_rows(members, lambda p: int(p.pid))])
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              councils=(FB, HC),
              columns={"participant_id": "Person Number", "town": "Town or City",
                       "authority": "Business Unit"})
    return _case(
        "oracle_hcm_known_as", folder,
        "Oracle HCM BI Publisher report: report-name and run-by rows, numeric Person Number, "
        "Legal First Name beside Known As (blank for most), Business Unit as the council name, "
        "Hire Date as an Excel date",
        people, problems=[_info("preferred_name", listing, "Data", None, None, "Known As")])


def successfactors_csv_utf8_bom(folder: Path) -> Case:
    n = 10
    people = _people("sf", POOL[20:30], ids=[f"{31000000 + i * 13}-1" for i in range(n)],
                     arms=_arms(n, "sf"), teams=("MASH", "Court Team"))
    rng = random.Random("sf-dob")
    header = ["Assignment Number", "First Name", "Last Name", "Home Address 1",
              "Home Address 2", "Home Address 3", "Post Town", "Postcode", "Randomisation",
              "Date of Birth"]
    rows = [[p.pid, p.first, p.last, *p.address, p.town, p.postcode,
             "Intervention" if p.treated else "Control",
             dt.date(1970 + rng.randint(0, 25), rng.randint(1, 12), rng.randint(1, 28))]
            for p in people]
    listing = "data/SF_Employee_Export.csv"
    _csv(folder / listing, [header, *rows], bom=True)
    for team, members in _by_team(people).items():
        _csv(folder / f"data/feedback/{_slug(team)}.csv",
             [["Assignment Number", "Feedback 1", "Feedback 2"], *_feedback_rows(members)],
             bom=True)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"],
              columns={"participant_id": "Assignment Number", "address_1": "Home Address 1",
                       "address_2": "Home Address 2", "address_3": "Home Address 3",
                       "arm": "Randomisation"})
    return _case(
        "successfactors_csv_utf8_bom", folder,
        "SAP SuccessFactors employee export saved as CSV UTF-8 (BOM, CRLF): Assignment Number "
        "like '31000013-1', Home Address 1..3, Randomisation, dates as dd/mm/yyyy text",
        people)


def workday_excel_table_totals(folder: Path) -> Case:
    n = 12
    known = {0: "Alex", 2: "", 5: "Kat", 8: "Tash"}
    names = [("Alexander", "Brooks"), POOL[13], POOL[14], POOL[15], POOL[16],
             ("Katarzyna", "Nowak"), POOL[18], POOL[19], ("Natasha", "Ivanova"), *POOL[21:24]]
    people = _people("workday", names, ids=[f"WD{7001 + i}" for i in range(n)],
                     arms=_arms(n, "workday"), councils=(FB, HC), teams=("Leaving Care",),
                     known_as=known)
    header = ["Employee ID", "Legal First Name", "Preferred First Name", "Last Name",
              "Address Line 1", "Address Line 2", "City", "Postcode", "Trial Arm", "Council",
              "Hire Date"]
    rng = random.Random("workday-hire")
    rows = [[p.pid, p.first, p.known_as, p.last, p.address[0], p.address[1], p.town,
             p.postcode, "Treatment" if p.treated else "Control", p.council.name,
             dt.date(2010 + rng.randint(0, 8), rng.randint(1, 12), rng.randint(1, 28))]
            for p in people]
    totals = n + 2
    listing = "data/Workday_Worker_Report.xlsx"
    wb, (ws,) = _book("Microsoft Excel", ("Staff", [header, *rows,
                                                    ["Total", f"=SUBTOTAL(103,StaffList"
                                                     f"[{header[1]}])"]]))
    last_col = chr(ord("A") + len(header) - 1)
    table = Table(displayName="StaffList", ref=f"A1:{last_col}{totals}", totalsRowCount=1,
                  autoFilter=AutoFilter(ref=f"A1:{last_col}{totals - 1}"),
                  tableStyleInfo=TableStyleInfo(name="TableStyleMedium2", showRowStripes=True))
    table.tableColumns = [
        TableColumn(id=i + 1, name=h,
                    totalsRowLabel="Total" if i == 0 else None,
                    totalsRowFunction="count" if i == 1 else None)
        for i, h in enumerate(header)]
    ws.add_table(table)
    ws.freeze_panes = "A2"
    _save(wb, folder / listing, cached={("Staff", f"B{totals}"): n})
    for team, members in _by_team(people).items():
        _xlsx(folder / f"data/feedback/{_slug(team)}.xlsx", "Feedback",
              [["Employee ID", "Feedback 1", "Feedback 2"], *_feedback_rows(members)])
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              councils=(FB, HC), columns={"participant_id": "Employee ID"})
    return _case(
        "workday_excel_table_totals", folder,
        "Workday worker report a coordinator formatted as an Excel Table: autofilter, frozen "
        "header, a totals row ('Total' and a cached SUBTOTAL count) inside the table; Legal "
        "First Name beside Preferred First Name (blank unless set)",
        people, problems=[_warn("footer_row", listing, "Staff", totals),
                          _info("preferred_name", listing, "Staff", None, None,
                                "Preferred First Name")])


def hr_reordered_extra_columns(folder: Path) -> Case:
    n = 10
    people = _people("reorder", POOL[24:34], ids=[str(40112233 + i * 101) for i in range(n)],
                     arms=_arms(n, "reorder"), teams=("Family Support",))
    rng = random.Random("reorder-extra")
    header = ["Postcode", "Surname", "NI Number", "Job Title", "FTE", "Payroll Number",
              "Start Date", "Forename", "Line Manager", "Home Address 1", "Home Address 2",
              "Post Town", "Trial Group", "Team"]
    rows = [[p.postcode, p.last, f"QQ{rng.randint(100000, 999999)}{'ABCD'[i % 4]}",
             rng.choice(("Social Worker", "Senior Practitioner", "Advanced Practitioner")),
             rng.choice((1.0, 0.8, 0.6)), int(p.pid),
             dt.date(2012 + rng.randint(0, 6), rng.randint(1, 12), 1), p.first,
             "Rebecca Hart", p.address[0], p.address[1], p.town,
             "Intervention" if p.treated else "Control", p.team]
            for i, p in enumerate(people)]
    listing = "data/staff.xlsx"
    _xlsx(folder / listing, "Staff", [header, *rows])
    for team, members in _by_team(people).items():
        _xlsx(folder / f"data/feedback/{_slug(team)}.xlsx", "Feedback",
              [["Payroll Number", "Feedback 1", "Feedback 2"],
               *_feedback_rows(members, lambda p: int(p.pid))])
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              columns={"participant_id": "Payroll Number", "address_1": "Home Address 1",
                       "address_2": "Home Address 2", "arm": "Trial Group"})
    return _case(
        "hr_reordered_extra_columns", folder,
        "HR export with columns in an unusual order (Postcode first) and unused extras: NI "
        "Number, Job Title, FTE, Start Date (Excel date), Line Manager; one council, no "
        "authority column",
        people)


def hr_unmapped_employee_number(folder: Path) -> Case:
    n = 8
    people = _people("unmapped", POOL[2:10], ids=_ids(4601, n), arms=_arms(n, "unmapped"),
                     teams=("Assessment",))
    # "Employee Number" is an alias now; a header of the HR system's own naming is not
    header = ["Emp Ref", "Forename", "Surname", "Address Line 1", "Address Line 2",
              "Post Town", "Postcode", "Trial Arm"]
    rows = [[p.pid, p.first, p.last, p.address[0], p.address[1], p.town, p.postcode,
             "Intervention" if p.treated else "Control"] for p in people]
    listing = "data/itrent.xlsx"
    grid: Grid = [*ITRENT_TITLE, header, *rows]
    _xlsx(folder / listing, "Report", grid, creator="iTrent")
    files = _team_feedback_xlsx(folder, people, header=["Emp Ref", *ITRENT_FEEDBACK[1:]])
    # the coordinator did not map Emp Ref in campaign.toml
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    header_row = len(ITRENT_TITLE) + 1
    problems = [_err("missing_column", listing, "Report", header_row, None, "Emp Ref"),
                *(_err("missing_column", f, "Feedback", 1, None, "Emp Ref")
                  for f in files)]
    return _case(
        "hr_unmapped_employee_number", folder,
        "iTrent export (and managers' returns copied from it) keyed by 'Emp Ref', with no "
        "[inputs.columns] mapping: the id column is missing and the message must say what "
        "was found", people, refuse=True, problems=problems,
        withheld=[p.pid for p in people])


def hr_hidden_sheet_and_row(folder: Path) -> Case:
    n = 10
    people = _people("hidden", POOL[3:13], ids=_ids(4701, n), arms="TCTCTTCTCC",
                     teams=("Duty",))
    listing = "data/staff-list.xlsx"
    current: Grid = [LIST_HEADER, *(_list_row(p) for p in people)]
    old: Grid = [LIST_HEADER, *(_list_row(replace(p, arm="control" if p.treated
                                                  else "treatment")) for p in people)]
    wb, (ws, old_ws) = _book("Microsoft Excel", ("Staff List", current),
                             ("Randomisation v1", old))
    hidden_row = 6  # a treatment participant someone filtered out of view
    assert people[hidden_row - 2].treated
    ws.row_dimensions[hidden_row].hidden = True
    old_ws.sheet_state = "hidden"
    _save(wb, folder / listing)
    _team_feedback_xlsx(folder, people)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "hr_hidden_sheet_and_row", folder,
        "A list workbook with a hidden second sheet holding an older allocation ('Randomisation "
        "v1') and a hidden row on the list: the hidden row is still a participant",
        people, problems=[_warn("hidden_sheet", listing, None, None, None, "Randomisation v1"),
                          _warn("hidden_rows", listing, "Staff List", hidden_row)])


def hr_two_councils_no_authority_column(folder: Path) -> Case:
    n = 8
    people = _people("noauth", POOL[10:18], ids=_ids(4801, n), arms=_arms(n, "noauth"),
                     councils=(FB, HC), teams=("Assessment",))
    header = [h for h in LIST_HEADER if h != "Local authority"]
    rows = [[v for h, v in zip(LIST_HEADER, _list_row(p), strict=True) if h != "Local authority"]
            for p in people]
    listing = "data/list.xlsx"
    _xlsx(folder / listing, "Allocation", [header, *rows])
    _team_feedback_xlsx(folder, people)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              councils=(FB, HC))
    return _case(
        "hr_two_councils_no_authority_column", folder,
        "A single-council export reused for a two-council campaign: no authority column, two "
        "[[authorities]] — nobody can tell whose letterhead each letter needs",
        people, refuse=True, withheld=[p.pid for p in people],
        problems=[_err("missing_column", listing, "Allocation", 1, None, "authority")])


# --- Mac-made files -----------------------------------------------------------------------------

ACCENTED = (("Zoë", "Renée"), ("José", "Muñoz"), ("Siobhán", "Ní Bhriain"), ("Ruairí", "Ó Dónaill"),
            ("François", "Lefèvre"), ("Gwenllïan", "Prys"), ("Åsa", "Lindström"),
            ("Chloé", "Brontë"))


def _nfd_grid(grid: Grid) -> list[list[Value]]:
    return [[_nfd(v) if isinstance(v, str) else v for v in row] for row in grid]


def mac_excel_nfd(folder: Path) -> Case:
    n = len(ACCENTED)
    people = _people("nfd", ACCENTED, ids=_ids(4901, n), arms="TTCTCTTC", teams=("Fostering",))
    people = tuple(replace(p, feedback=(p.feedback[0], "Merci — your café mornings are "
                                        "legendary.")) if i == 0 else p
                   for i, p in enumerate(people))
    listing = "data/list.xlsx"
    _xlsx(folder / listing, "Allocation",
          _nfd_grid([list(LIST_HEADER), *(_list_row(p) for p in people)]),
          creator="Microsoft Excel for Mac")
    members = [p for p in people if p.treated]
    _xlsx(folder / "data/feedback/fostering.xlsx", "Feedback",
          _nfd_grid([list(FEEDBACK_HEADER), *_feedback_rows(members)]),
          creator="Microsoft Excel for Mac")
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "mac_excel_nfd", folder,
        "Excel for Mac workbooks whose names were pasted from Finder/Pages: every accented "
        "letter decomposed (NFD, e + U+0301); the letters must greet in NFC",
        people)


def numbers_csv_utf8_lf(folder: Path) -> Case:
    n = 8
    names = (*ACCENTED[:4], *POOL[0:4])
    people = _people("numbers", names, ids=_ids(5001, n), arms=_arms(n, "numbers"),
                     teams=("Adoption",))
    listing = "data/allocation.csv"
    _csv(folder / listing, [list(LIST_HEADER), *(_list_row(p) for p in people)], newline="\n")
    _csv(folder / "data/feedback/adoption.csv",
         [list(FEEDBACK_HEADER), *_feedback_rows([p for p in people if p.treated])],
         newline="\n")
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "numbers_csv_utf8_lf", folder,
        "Apple Numbers 'Export to CSV': UTF-8 without BOM, LF line endings", people)


def excel_mac_csv_utf8_cr(folder: Path) -> Case:
    n = 8
    names = (*ACCENTED[4:8], *POOL[4:8])
    people = _people("mac-utf8", names, ids=_ids(5101, n), arms=_arms(n, "mac-utf8"),
                     teams=("Adoption",))
    listing = "data/allocation.csv"
    _csv(folder / listing, [list(LIST_HEADER), *(_list_row(p) for p in people)], bom=True,
         newline="\r")
    _csv(folder / "data/feedback/adoption.csv",
         [list(FEEDBACK_HEADER), *_feedback_rows([p for p in people if p.treated])],
         bom=True, newline="\r")
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "excel_mac_csv_utf8_cr", folder,
        "Excel 2016 for Mac 'CSV UTF-8': UTF-8 with BOM and classic-Mac CR-only line endings "
        "(as reported for that version)", people)


def excel_mac_csv_macroman(folder: Path) -> Case:
    names = (("Zoë", "Hughes"), ("Siobhán", "Kelly"), ("Seán", "Murphy"), ("Renée", "Clarke"),
             *POOL[0:4])
    n = len(names)
    people = _people("macroman", names, ids=_ids(5201, n), arms="TTCTCTCC",
                     teams=("Adoption",))
    listing = "data/allocation.csv"
    _csv(folder / listing, [list(LIST_HEADER), *(_list_row(p) for p in people)],
         encoding="mac_roman", newline="\r")
    _csv(folder / "data/feedback/adoption.csv",
         [list(FEEDBACK_HEADER), *_feedback_rows([p for p in people if p.treated])],
         bom=True)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "excel_mac_csv_macroman", folder,
        "Excel for Mac 'Comma Separated Values (.csv)': Mac Roman with CR line endings; read "
        "as Windows-1252 it silently gives 'Zo‘' and 'Siobh‡n', so it must be refused",
        people, refuse=True, withheld=[p.pid for p in people], allow=["missing_feedback"],
        problems=[_err("bad_encoding", listing, "")])


# --- Excel's CSV --------------------------------------------------------------------------------

CP1252_NAMES = (("Zoë", "O’Neill"), ("Siobhán", "Ní Bhriain"), ("Ruairí", "Ó Dónaill"),
                ("Seán", "Mac Cárthaigh"), ("Bríd", "Ó Conaill"), ("Renée", "Duchêne"),
                ("Chloé", "Smith-Jones"), ("Niamh", "O'Brien"))


def excel_csv_cp1252_crlf(folder: Path) -> Case:
    n = len(CP1252_NAMES)
    people = _people("cp1252", CP1252_NAMES, ids=_ids(5301, n), arms=_arms(n, "cp1252"),
                     teams=("Assessment", "Court Team"))
    people = tuple(replace(p, feedback=("You saved the service £2,000 in agency costs – thank "
                                        "you.", p.feedback[1])) if i == 0 else p
                   for i, p in enumerate(people))
    listing = "data/allocation.csv"
    _csv(folder / listing, [list(LIST_HEADER), *(_list_row(p) for p in people)],
         encoding="cp1252")
    for team, members in _by_team(people).items():
        _csv(folder / f"data/feedback/{_slug(team)}.csv",
             [list(FEEDBACK_HEADER), *_feedback_rows(members)], encoding="cp1252")
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "excel_csv_cp1252_crlf", folder,
        "Excel for Windows 'CSV (Comma delimited)': Windows-1252, CRLF; Irish fadas, ë, curly "
        "apostrophe (0x92), £ and an en dash (0x96)", people)


def excel_csv_cp1252_lost_characters(folder: Path) -> Case:
    names = (("Łukasz", "Żółć"), *POOL[0:3], ("Ngọc Ánh", "Nguyễn"), *POOL[3:6])
    n = len(names)
    people = _people("lossy", names, ids=_ids(5401, n), arms="TCTCTCTC", teams=("Duty",))
    listing = "data/allocation.csv"
    grid: Grid = [LIST_HEADER, *([_ansi(v) if isinstance(v, str) else v for v in _list_row(p)]
                                 for p in people)]
    _csv(folder / listing, grid, encoding="cp1252")
    _csv(folder / "data/feedback/duty.csv",
         [list(FEEDBACK_HEADER), *_feedback_rows([p for p in people if p.treated])],
         encoding="cp1252")
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    lost = [p for p in people if _ansi(p.first + p.last) != p.first + p.last]
    assert [p.treated for p in lost] == [True, True]
    rows = {p.pid: 2 + people.index(p) for p in lost}
    return _case(
        "excel_csv_cp1252_lost_characters", folder,
        "Excel 'CSV (Comma delimited)' of names Windows-1252 cannot hold: Excel wrote "
        "'?ukasz ?ó??' and 'Ng?c Ánh Nguy?n' — the names are lost and must not be printed",
        people, refuse=True, withheld=[p.pid for p in lost],
        problems=[*(_err("lost_character", listing, "", rows[p.pid], "First name", "?")
                    for p in lost),
                  *(_err("lost_character", listing, "", rows[p.pid], "Last name", "?")
                    for p in lost)])


def excel_csv_utf8_bom_names(folder: Path) -> Case:
    names = (*POLISH, *VIETNAMESE, *TURKISH, *YORUBA, *PORTUGUESE)
    n = len(names)
    people = _people("utf8bom", names, ids=_ids(5501, n), arms=_arms(n, "utf8bom"),
                     teams=("Permanence",))
    listing = "data/allocation.csv"
    _csv(folder / listing, [list(LIST_HEADER), *(_list_row(p) for p in people)], bom=True)
    _csv(folder / "data/feedback/permanence.csv",
         [list(FEEDBACK_HEADER), *_feedback_rows([p for p in people if p.treated])], bom=True)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "excel_csv_utf8_bom_names", folder,
        "Excel 'CSV UTF-8 (Comma delimited)': BOM, CRLF; Polish, Vietnamese, Turkish, Yoruba "
        "and Portuguese names", people)


def excel_csv_semicolon_locale(folder: Path) -> Case:
    names = (("Jürgen", "Müller"), ("Anaïs", "Dubois"), ("Sören", "Kühn"), *POOL[8:13])
    n = len(names)
    people = _people("semicolon", names, ids=_ids(5601, n), arms=_arms(n, "semicolon"),
                     teams=("Assessment",))
    rng = random.Random("semicolon-fte")
    header = [*LIST_HEADER, "FTE", "Start date"]
    rows = [[*_list_row(p), rng.choice(("1", "0,8", "0,6")),
             f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2010, 2018)}"]
            for p in people]
    listing = "data/allocation.csv"
    _csv(folder / listing, [header, *rows], encoding="cp1252", delimiter=";")
    _csv(folder / "data/feedback/assessment.csv",
         [list(FEEDBACK_HEADER), *_feedback_rows([p for p in people if p.treated])],
         encoding="cp1252", delimiter=";")
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "excel_csv_semicolon_locale", folder,
        "Excel in a German/Dutch locale: 'CSV' with ';' between fields (the list separator), "
        "Windows-1252, CRLF, decimal commas (0,8) and dd.mm.yyyy dates", people)


def excel_csv_alt_enter_feedback(folder: Path) -> Case:
    n = 8
    people = _people("altenter", POOL[16:24], ids=_ids(5701, n), arms="TCTTCTCC",
                     teams=("Children in Care",))
    treated = [p for p in people if p.treated]
    first = treated[0]
    treated[0] = replace(first, feedback=("Calm, clear and kind.\nFamilies say you listen.",
                                          first.feedback[1]))
    people = tuple(treated[0] if p.pid == first.pid else p for p in people)
    control = next(p for p in people if not p.treated)
    listing = "data/allocation.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    fb = "data/feedback/children-in-care.csv"
    rows: list[list[Value]] = [*_feedback_rows(treated),
                               [control.pid, "Always cheerful.", "Thank you."]]
    _csv(folder / fb, [list(FEEDBACK_HEADER), *rows], bom=True)
    control_row = 1 + len(rows)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "excel_csv_alt_enter_feedback", folder,
        "A manager's return saved as 'CSV UTF-8' with an Alt+Enter line break inside a quoted "
        "feedback cell (LF inside quotes, CRLF between records): rows after it are numbered as "
        "Excel shows them", people,
        problems=[_info("feedback_for_control", fb, None, None, None,
                        f"e.g. row {control_row}")])


def csv_unclosed_quote(folder: Path) -> Case:
    n = 8
    people = _people("quote", POOL[6:14], ids=_ids(5801, n), arms="TTCTTCTC",
                     teams=("Duty", "Assessment"))
    listing = "data/allocation.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    teams = _by_team(people)
    good = teams["Duty"]
    bad = teams["Assessment"]
    _csv(folder / "data/feedback/duty.csv", [list(FEEDBACK_HEADER), *_feedback_rows(good)])
    # edited in Notepad: an opening quote typed before a line, never closed
    lines = [",".join(FEEDBACK_HEADER)]
    for i, p in enumerate(bad):
        if i == 0:
            lines.append(f'{p.pid},"Brilliant with the Adeyemi family,{p.feedback[1]}')
        else:
            lines.append(f"{p.pid},{p.feedback[0].replace(',', '')},{p.feedback[1]}")
    fb = "data/feedback/assessment.csv"
    (folder / fb).write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "csv_unclosed_quote", folder,
        "A return edited in Notepad: a feedback cell starts with a double quote that is never "
        "closed, so every later line would be swallowed into one cell", people, refuse=True,
        withheld=[p.pid for p in bad], allow=["missing_feedback"],
        problems=[_err("csv_malformed", fb, "", 2, None, "quote")])


def csv_mixed_encoding(folder: Path) -> Case:
    names = (("Siobhán", "Kelly"), *POOL[0:3], ("Renée", "Duchêne"), *POOL[3:6])
    n = len(names)
    people = _people("mixed", names, ids=_ids(5901, n), arms="TCTCTTCC", teams=("Duty",))
    listing = "data/allocation.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    treated = [p for p in people if p.treated]
    fb = "data/feedback/duty.csv"
    # rows pasted from an older Windows-1252 export into a UTF-8 file
    renee = next(i for i, p in enumerate(treated) if p.first == "Renée")
    parts = [_csv_text([list(FEEDBACK_HEADER)]).encode("utf-8")]
    for i, p in enumerate(treated):
        text = _csv_text([[p.pid, f"{p.first}, {p.feedback[0][0].lower()}{p.feedback[0][1:]}",
                           p.feedback[1]]])
        parts.append(text.encode("cp1252" if i == renee else "utf-8"))
    (folder / fb).parent.mkdir(parents=True, exist_ok=True)
    (folder / fb).write_bytes(b"".join(parts))
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "csv_mixed_encoding", folder,
        "A UTF-8 return with one row pasted from an old Windows-1252 export: 'Renée' is the "
        "single byte 0xE9 on that row while 'Siobhán' above is proper UTF-8", people,
        refuse=True, withheld=[p.pid for p in treated], allow=["missing_feedback"],
        problems=[_err("mixed_encoding", fb, "", 2 + renee)])


# --- managers' own returns ----------------------------------------------------------------------

MANAGER_TEAMS = ("Team A", "Team B", "Team C", "Team D", "Team E", "Team F", "Development",
                 "Team H")


def _managers_people(seed: str) -> tuple[Person, ...]:
    n = 32
    names = list(POOL[:32])
    # Priya Shah (unique in the list) becomes the first, treatment, member of Team F
    names.insert(20, names.pop(names.index(("Priya", "Shah"))))
    people = _people(seed, names, ids=_ids(4501, n), arms="TTCC" * 8,
                     teams=[t for t in MANAGER_TEAMS for _ in range(4)])
    assert (people[20].first, people[20].team, people[20].arm) == ("Priya", "Team F",
                                                                   "treatment")
    return people


def _write_managers_returns(folder: Path, people: Sequence[Person]) -> dict[str, int]:
    """The eight returns; returns 'file:row' anchors used by the expectations."""
    teams = _by_team(people)
    rows: dict[str, int] = {}
    d = folder / "data/feedback"
    a = teams["Team A"]
    _xlsx(d / "team-a.xlsx", "Team A", [["Staff ID", "What they did well", "Impact on families"],
                                        *_feedback_rows(a)])
    b = teams["Team B"]
    _xlsx(d / "team-b.xlsx", "Sheet1",
          [["Please give two short lines of feedback for each person below and return by "
            "Friday 20 September."], [], ["Participant ID", "Name", "Feedback 1", "Feedback 2"],
           *([p.pid, f"{p.first} {p.last}", *p.feedback] for p in b)])
    c = teams["Team C"]
    _xlsx(d / "team-c.xlsx", "Feedback",
          [["Participant ID", "Feedback 1", "Feedback 2", "Notes"],
           *([p.pid, *p.feedback, "Back from leave on 7 October" if i == 0 else ""]
             for i, p in enumerate(c))])
    dd = teams["Team D"]
    _csv(d / "team-d.csv", [list(FEEDBACK_HEADER), *_feedback_rows(dd)], encoding="cp1252")
    e = teams["Team E"]
    _xlsx(d / "team-e.xlsx", "Feedback",
          [list(FEEDBACK_HEADER), *_feedback_rows(e, lambda p: int(p.pid))])
    for i, p in enumerate(e):
        rows[f"e:{p.pid}"] = 2 + i
    f = teams["Team F"]
    priya = next(p for p in f if p.first == "Priya")
    _xlsx(d / "team-f.xlsx", "Feedback",
          [["Participant ID", "Name", "Feedback 1", "Feedback 2"],
           *(["" if p is priya else p.pid, f"{p.first} {p.last}", *p.feedback] for p in f)])
    rows["f:priya"] = 2 + f.index(priya)
    dev = teams["Development"]
    wb, _ = _book("Microsoft Excel",
                  ("Instructions", [["Development team feedback"],
                                    ["Use the Sheet1 tab. One row per person."]]),
                  ("Sheet1", [["Staff ID", "What they did well", "Impact"],
                              *_feedback_rows(dev)]))
    _save(wb, d / "dev.xlsx")
    h = teams["Team H"]
    control = next(p for p in people if p.team == "Team H" and not p.treated)
    _xlsx(d / "team-h.xlsx", "Sheet1",
          [["Participant ID", "Feedback 1", "Feedback 2", "Comments"],
           *([p.pid, *p.feedback, ""] for p in h),
           [control.pid, "Always cheerful on duty.", "Thank you.", "not sure if needed?"]],
          creator="Google Sheets", edit=lambda ws: setattr(ws, "freeze_panes", "A2"))
    rows["h:control"] = 2 + len(h)
    return rows


MANAGER_MAPPINGS: tuple[Mapping[str, object], ...] = (
    {"path": "data/feedback/team-a.xlsx",
     "columns": {"feedback_1": "What they did well", "feedback_2": "Impact on families"}},
    {"path": "data/feedback/dev.xlsx", "sheet": "Sheet1",
     "columns": {"feedback_1": "What they did well", "feedback_2": "Impact"}},
)


def managers_eight_returns(folder: Path) -> Case:
    people = _managers_people("managers")
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    rows = _write_managers_returns(folder, people)
    _campaign(folder, participants=listing, sheet="Allocation",
              feedback=["data/feedback/*.xlsx", "data/feedback/*.csv", *MANAGER_MAPPINGS])
    e = [p for p in people if p.team == "Team E" and p.treated]
    priya = next(p for p in people if p.first == "Priya")
    return _case(
        "managers_eight_returns", folder,
        "Eight returns for one list, each made differently: renamed headers mapped per file, "
        "an instruction line above the header on 'Sheet1', a Notes column, one saved as "
        "Windows-1252 CSV, ids retyped as numbers, a row with a name but no id, a two-sheet "
        "workbook read from 'Sheet1' (also matched by the glob), a Google Sheets file with "
        "feedback for a control",
        people, problems=[
            *(_warn("leading_zeros", "data/feedback/team-e.xlsx", "Feedback", rows[f"e:{p.pid}"],
                    "Participant ID", str(int(p.pid)), p.pid) for p in e),
            _warn("name_matched", "data/feedback/team-f.xlsx", "Feedback", rows["f:priya"],
                  None, priya.pid),
            _info("feedback_for_control", "data/feedback/team-h.xlsx", "Sheet1", None, None,
                  f"e.g. row {rows['h:control']}")])


def _lock_file(user: str) -> bytes:
    """Excel's owner file ``~$name.xlsx``: the user's name twice (ANSI, then UTF-16), padded."""
    ansi = bytes([len(user)]) + user.encode("ascii").ljust(53, b" ")
    wide = bytes([len(user), 0]) + user.encode("utf-16-le").ljust(108, b" ")
    data = (ansi + wide).ljust(165, b" ")
    assert len(data) == 165
    return data


def _apple_double() -> bytes:
    """A macOS AppleDouble ``._name`` file: magic, version, filler, a Finder-info entry."""
    head = (b"\x00\x05\x16\x07" + b"\x00\x02\x00\x00" + b"Mac OS X        "
            + b"\x00\x02" + b"\x00\x00\x00\x09\x00\x00\x00\x32\x00\x00\x0e\xb0"
            + b"\x00\x00\x00\x02\x00\x00\x0e\xe2\x00\x00\x01\x1e")
    return head.ljust(4096, b"\x00")


def feedback_folder_junk(folder: Path) -> Case:
    n = 8
    people = _people("junk", POOL[4:12], ids=_ids(6001, n), arms="TCTCTCTC",
                     teams=("Team A", "Team B"))
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    _team_feedback_xlsx(folder, people)
    d = folder / "data/feedback"
    (d / "~$team-b.xlsx").write_bytes(_lock_file("Rebecca Hart"))
    (d / "._team-a.xlsx").write_bytes(_apple_double())
    (d / "._team-b.xlsx").write_bytes(_apple_double())
    (d / ".DS_Store").write_bytes((b"\x00\x00\x00\x01Bud1").ljust(6148, b"\x00"))
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "feedback_folder_junk", folder,
        "A shared feedback folder with Excel's lock file '~$team-b.xlsx' (165 bytes, team-b is "
        "open on someone's PC), macOS '._team-a.xlsx' AppleDouble files and a .DS_Store: all "
        "match or sit beside '*.xlsx' and none is a return", people)


def manager_name_ambiguous(folder: Path) -> Case:
    names = (("Sam", "Taylor"), ("Sam", "Okafor"), *POOL[0:4])
    n = len(names)
    people = _people("sams", names, ids=_ids(6101, n), arms="TTCTCT",
                     teams=("Duty and Assessment",))
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    treated = [p for p in people if p.treated]
    fb = "data/feedback/duty.xlsx"
    rows: list[list[Value]] = [[p.pid, f"{p.first} {p.last}", *p.feedback]
                               for p in treated if p.first != "Sam"]
    rows.insert(1, ["", "Sam", *treated[0].feedback])
    _xlsx(folder / fb, "Feedback", [["Participant ID", "Name", "Feedback 1", "Feedback 2"],
                                    *rows])
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "manager_name_ambiguous", folder,
        "A return with a row naming only 'Sam' and no id, in a team with two treatment "
        "participants called Sam", people, refuse=True,
        withheld=[p.pid for p in treated if p.first == "Sam"], allow=["missing_feedback"],
        problems=[_err("name_ambiguous", fb, "Feedback", 3, None, "Sam")])


def manager_mapping_missing(folder: Path) -> Case:
    people = _managers_people("managers-nomap")
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    _write_managers_returns(folder, people)
    # the coordinator forgot the per-file mappings
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx",
                                                      "data/feedback/*.csv"])
    unmapped = [p.pid for p in people if p.treated and p.team in ("Team A", "Development")]
    return _case(
        "manager_mapping_missing", folder,
        "The eight returns without their per-file column mappings: team-a.xlsx and dev.xlsx "
        "have no feedback columns hhp-letters knows (and dev.xlsx's first sheet is the "
        "instructions)", people, refuse=True, withheld=unmapped, allow=["missing_feedback"],
        problems=[_err("missing_column", "data/feedback/team-a.xlsx", "Team A", 1, None,
                       "What they did well"),
                  _err("no_header", "data/feedback/dev.xlsx", "Instructions")])


# --- names from the workforce -------------------------------------------------------------------

def names_workforce_xlsx(folder: Path) -> Case:
    n = len(WORKFORCE)
    people = _people("workforce", WORKFORCE, ids=_ids(6201, n), arms="T" * n,
                     councils=(FB, HC), teams=("Assessment", "Fostering", "Duty"))
    # and a control or two, so the list is a real allocation
    controls = _people("workforce-c", POOL[0:2], ids=_ids(6201 + n, 2), arms="CC")
    people = (*people, *controls)
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    _team_feedback_xlsx(folder, people)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"],
              councils=(FB, HC))
    return _case(
        "names_workforce_xlsx", folder,
        "Names from the UK social-work workforce: Irish, Welsh (ï, ô, ŵ, ŷ), Polish, Yoruba and "
        "Igbo (dot below + tone mark with no precomposed form), Vietnamese, Portuguese, "
        "Turkish (İ, ş, ğ), Greek and Cyrillic", people)


def excel_unicode_text_utf16(folder: Path) -> Case:
    names = (*IRISH[:2], *YORUBA, *IGBO, *GREEK, *CYRILLIC)
    n = len(names)
    people = _people("utf16", names, ids=_ids(6301, n), arms=_arms(n, "utf16"),
                     teams=("Assessment",))
    listing = "data/allocation.txt"
    text = _csv_text([list(LIST_HEADER), *(_list_row(p) for p in people)], delimiter="\t")
    path = folder / listing
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    _team_feedback_xlsx(folder, people)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "excel_unicode_text_utf16", folder,
        "Excel 'Unicode Text (*.txt)': UTF-16 LE with BOM, tab-delimited, CRLF", people)


def names_apostrophes_hyphens(folder: Path) -> Case:
    n = len(APOSTROPHES) + 3
    names = (*APOSTROPHES, *POOL[28:31])
    people = _people("apos", names, ids=_ids(6401, n), arms="TTTTTCCC", teams=("Court Team",),
                     known_as={})
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    _team_feedback_xlsx(folder, people)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "names_apostrophes_hyphens", folder,
        "O'Neill typed with ' and O’Neill with ’ (kept as typed), D’Souza, N'Diaye, hyphenated "
        "Mary-Kate Smith-Jones and Jean-Luc", people)


LEGAL_KNOWN_HEADER = ("Participant ID", "Legal First Name", "Known As", "Surname", "Arm",
                      "Local authority", "Address line 1", "Address line 2", "Town",
                      "Postcode")


def _legal_known_row(p: Person) -> list[Value]:
    return [p.pid, p.first, p.known_as, p.last, p.arm.capitalize(), p.council.code,
            p.address[0], p.address[1], p.town, p.postcode]


def emoji_in_known_as(folder: Path) -> Case:
    names = (("Joanne", "Hughes"), *POOL[1:7])
    n = len(names)
    people = _people("emoji", names, ids=_ids(6501, n), arms="TCTCTTC", teams=("Duty",),
                     known_as={0: "Jo \U0001f642", 1: "Benji"})
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation",
          [list(LEGAL_KNOWN_HEADER), *(_legal_known_row(p) for p in people)])
    _team_feedback_xlsx(folder, people)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "emoji_in_known_as", folder,
        "An HR system's Known As field holding 'Jo 🙂': refused, naming the list's sheet, row "
        "and Known As column (the legal name is not silently used instead)", people,
        refuse=True, withheld=[people[0].pid],
        problems=[_err("unprintable_character", listing, "Allocation", 2, "Known As"),
                  _info("preferred_name", listing, "Allocation", None, None, "Known As")])


def emoji_in_feedback(folder: Path) -> Case:
    n = 8
    people = _people("emoji-fb", POOL[10:18], ids=_ids(6601, n), arms="TCTTCTCC",
                     teams=("Fostering",))
    treated = [p for p in people if p.treated]
    treated[1] = replace(treated[1], feedback=(treated[1].feedback[0],
                                               "Thank you for everything \U0001f64f"))
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    fb = "data/feedback/fostering.xlsx"
    _xlsx(folder / fb, "Feedback", [list(FEEDBACK_HEADER), *_feedback_rows(treated)])
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "emoji_in_feedback", folder,
        "A manager's feedback ending in 🙏 (typed on a phone): refused, located in the feedback "
        "file, not the list", people, refuse=True, withheld=[treated[1].pid],
        problems=[_err("unprintable_character", fb, "Feedback", 3, "Feedback 2")])


def zero_width_characters(folder: Path) -> Case:
    n = 8
    people = _people("zw", (("Anna", "Kowalski"), *POOL[1:8]), ids=_ids(6701, n),
                     arms="TCTCTCTT", teams=("Duty",))
    listing = "data/allocation.csv"
    grid: list[list[Value]] = [list(LIST_HEADER), *(_list_row(p) for p in people)]
    grid[1][1] = "Anna\u200b"  # copied from a Teams chat
    bom_row = 8
    grid[bom_row - 1][0] = "\ufeff" + str(grid[bom_row - 1][0])  # pasted from another export
    assert people[bom_row - 2].treated
    _csv(folder / listing, grid, bom=True)
    _csv(folder / "data/feedback/duty.csv",
         [list(FEEDBACK_HEADER), *_feedback_rows([p for p in people if p.treated])], bom=True)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "zero_width_characters", folder,
        "A CSV UTF-8 list with a zero-width space after 'Anna' (pasted from Teams) and a stray "
        "BOM (U+FEFF) before an id on a row pasted from another export", people,
        problems=[_warn("zero_width", listing, "", 2, "First name"),
                  _warn("zero_width", listing, "", bom_row, "Participant ID")])


def word_line_break_in_feedback(folder: Path) -> Case:
    n = 6
    people = _people("vt", POOL[18:24], ids=_ids(6801, n), arms="TCTCTC", teams=("Duty",))
    treated = [p for p in people if p.treated]
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation", [list(LIST_HEADER), *(_list_row(p) for p in people)])
    fb = "data/feedback/duty.xlsx"
    marker = "You never give up on a family.VTMARK"
    rows = _feedback_rows(treated)
    rows[0][1] = marker + "Thank you."
    wb, _ = _book("Microsoft Excel", ("Feedback", [list(FEEDBACK_HEADER), *rows]))
    # Word's Shift+Enter is U+000B; Excel stores it as the escape _x000B_
    _save(wb, folder / fb, raw=[("Feedback", "VTMARK", "_x000B_")])
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "word_line_break_in_feedback", folder,
        "Feedback pasted from Word with a Shift+Enter line break: a vertical tab (U+000B) that "
        "Excel stores as '_x000B_' in the sheet XML", people, refuse=True,
        withheld=[treated[0].pid],
        problems=[_err("control_character", fb, "Feedback", 2, "Feedback 1")])


# --- preferred names ----------------------------------------------------------------------------

def preferred_known_as_fallback(folder: Path) -> Case:
    names = (("Elizabeth", "Carter"), ("Thị Ngọc Ánh", "Nguyễn"), ("Robert", "Hall"),
             ("Oluwaseun", "Adebayo"), ("Katherine", "Price"), ("Margaret", "Wood"),
             ("William", "King"), ("Siobhán", "Kelly"))
    n = len(names)
    people = _people("known", names, ids=_ids(6901, n), arms="TTTTCTTC", teams=("Duty",),
                     known_as={0: "Liz", 1: "Ánh", 3: "Seun", 5: "   ", 6: "Bill"})
    listing = "data/randomised.xlsx"
    _xlsx(folder / listing, "Allocation",
          [list(LEGAL_KNOWN_HEADER), *(_legal_known_row(p) for p in people)])
    _team_feedback_xlsx(folder, people)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.xlsx"])
    return _case(
        "preferred_known_as_fallback", folder,
        "Legal First Name and Known As side by side (iTrent/ESR habit): greet by Known As; "
        "blank or spaces-only Known As falls back to the legal name", people,
        problems=[_info("preferred_name", listing, "Allocation", None, None, "Known As")])


def preferred_name_with_first_name_csv(folder: Path) -> Case:
    names = (("Alexandra", "Brooks"), ("Mohammed", "Rahman"), ("Jennifer", "Lewis"),
             ("Adéwálé", "Ògúnlẹ̀"), ("Daniel", "Murphy"), ("Gwenllïan", "Prys"))
    n = len(names)
    people = _people("preferred", names, ids=_ids(7001, n), arms="TTCTTT", teams=("Duty",),
                     known_as={0: "Sasha", 1: "Mo", 3: "Wale", 4: "Daniel"})
    header = ["Participant ID", "First Name", "Preferred Name", "Last Name", "Arm",
              "Local authority", "Address line 1", "Town", "Postcode"]
    rows = [[p.pid, p.first, p.known_as, p.last, p.arm, p.council.code, p.address[0], p.town,
             p.postcode] for p in people]
    listing = "data/allocation.csv"
    _csv(folder / listing, [header, *rows], bom=True)
    _csv(folder / "data/feedback/duty.csv",
         [list(FEEDBACK_HEADER), *_feedback_rows([p for p in people if p.treated])], bom=True)
    _campaign(folder, participants=listing, feedback=["data/feedback/*.csv"])
    return _case(
        "preferred_name_with_first_name_csv", folder,
        "SuccessFactors-style CSV with both 'First Name' and 'Preferred Name' (both are aliases "
        "today): greet by Preferred Name, fall back to First Name when it is blank", people,
        problems=[_info("preferred_name", listing, "", None, None, "Preferred Name")])


# Every case, in the order the report lists them.
CASES: tuple[Callable[[Path], Case], ...] = (
    itrent_title_and_footer,
    itrent_csv_count_footer,
    itrent_list_ids_lost_zeros,
    itrent_ids_zero_padded_format,
    feedback_ids_retyped_as_numbers,
    leading_zeros_ambiguous,
    oracle_hcm_known_as,
    successfactors_csv_utf8_bom,
    workday_excel_table_totals,
    hr_reordered_extra_columns,
    hr_unmapped_employee_number,
    hr_hidden_sheet_and_row,
    hr_two_councils_no_authority_column,
    mac_excel_nfd,
    numbers_csv_utf8_lf,
    excel_mac_csv_utf8_cr,
    excel_mac_csv_macroman,
    excel_csv_cp1252_crlf,
    excel_csv_cp1252_lost_characters,
    excel_csv_utf8_bom_names,
    excel_csv_semicolon_locale,
    excel_csv_alt_enter_feedback,
    csv_unclosed_quote,
    csv_mixed_encoding,
    managers_eight_returns,
    feedback_folder_junk,
    manager_name_ambiguous,
    manager_mapping_missing,
    names_workforce_xlsx,
    excel_unicode_text_utf16,
    names_apostrophes_hyphens,
    emoji_in_known_as,
    emoji_in_feedback,
    zero_width_characters,
    word_line_break_in_feedback,
    preferred_known_as_fallback,
    preferred_name_with_first_name_csv,
)


def generate_all(root: Path) -> tuple[Case, ...]:
    """Write every case into ``root/<case name>/``."""
    return tuple(make(root / make.__name__) for make in CASES)
