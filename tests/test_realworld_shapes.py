"""The real-world corpus (tests/realworld.py) really has the shapes it claims.

Everything here reads the generated files independently of hhp-letters: openpyxl, the csv
module with the encoding the file claims, raw bytes and zip members, and (marked
``libreoffice``) a real LibreOffice Calc. hhp-letters' own readers are never used: the corpus
is the spec they are measured against.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import re
import shutil
import subprocess
import tomllib
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import realworld
from openpyxl.cell.cell import Cell
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image
from realworld import CASES, Case

NAMES = [make.__name__ for make in CASES]
TREATMENT = frozenset({"treatment", "intervention", "t", "1", "yes", "true"})
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


# --- generating ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    root = tmp_path_factory.mktemp("realworld")
    return {c.name: c for c in realworld.generate_all(root)}


@pytest.fixture(params=NAMES)
def case(request: pytest.FixtureRequest, cases: dict[str, Case]) -> Case:
    return cases[request.param]


# --- independent readers ------------------------------------------------------------------------

@contextmanager
def workbook(path: Path) -> Iterator[Workbook]:
    wb = openpyxl.load_workbook(path)  # full mode: number formats, hidden rows, sheet state
    try:
        yield wb
    finally:
        wb.close()


def values(path: Path, sheet: str | None = None) -> list[list[Any]]:
    with workbook(path) as wb:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True)]


def member(path: Path, name: str) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name).decode("utf-8")


def sheet_strings(path: Path, index: int = 1) -> list[str]:
    """Every inline string of a sheet, from its XML (not via openpyxl's cell model)."""
    root = ET.fromstring(member(path, f"xl/worksheets/sheet{index}.xml"))
    return ["".join(t.text or "" for t in c.iter(f"{MAIN_NS}t"))
            for c in root.iter(f"{MAIN_NS}c") if c.get("t") == "inlineStr"]


def sniff_encoding(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def records(path: Path, encoding: str | None = None, delimiter: str | None = None,
            ) -> list[list[str]]:
    data = path.read_bytes()
    text = data.decode(encoding or sniff_encoding(data), errors="replace")
    if delimiter is None:
        first = text.splitlines()[0]
        delimiter = max(",;\t", key=first.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def shown(value: Any, number_format: str = "General") -> str:
    """A cell as Excel displays it, for the id and name cells this corpus uses."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int | float) and float(value).is_integer():
        if re.fullmatch(r"0+", number_format):
            return str(int(value)).zfill(len(number_format))
        return str(int(value))
    return str(value)


def campaign(case: Case) -> dict[str, Any]:
    with (case.folder / "campaign.toml").open("rb") as fh:
        return tomllib.load(fh)


def list_table(case: Case) -> tuple[list[str], list[list[str]]]:
    """The randomised list as displayed text: (header, data rows)."""
    spec = campaign(case)["inputs"]
    path = case.folder / spec["participants"]
    if path.suffix == ".xlsx":
        with workbook(path) as wb:
            ws = wb[spec["sheet"]] if "sheet" in spec else wb.worksheets[0]
            grid = [[shown(c.value, c.number_format) for c in row] for row in ws.iter_rows()]
    else:
        grid = records(path)
    grid = [[v.translate(ZERO_WIDTH) for v in row] for row in grid]
    mapped = spec.get("columns", {})
    wanted = {mapped.get("participant_id", "Participant ID"), "Participant ID",
              "Employee Number", "Emp Ref"}
    head = next(i for i, row in enumerate(grid) if wanted & set(row))
    return grid[head], grid[head + 1:]


def column(header: list[str], *names: str) -> int:
    return next(header.index(n) for n in names if n in header)


# --- every case ---------------------------------------------------------------------------------

def test_there_are_enough_cases_with_unique_names(cases: dict[str, Case]) -> None:
    assert len(CASES) >= 30
    assert len(set(NAMES)) == len(NAMES)
    assert [c.name for c in cases.values()] == NAMES


def test_case_is_self_consistent(case: Case) -> None:
    assert case.folder.is_dir() and case.folder.name == case.name
    assert len(case.description) > 40
    assert set(case.greeting) == case.letters_for
    for pid, name in case.greeting.items():
        assert name and name == unicodedata.normalize("NFC", name) == name.strip(), pid
    levels = {e.level for e in case.problems}
    assert levels <= {"error", "warning", "info"}
    assert ("error" in levels) == case.refuse, "a refused case names its error(s)"
    assert len(set(case.problems)) == len(case.problems)


def test_campaign_toml_names_real_files(case: Case) -> None:
    spec = campaign(case)
    assert spec["campaign"]["kind"] == "letters"
    assert (case.folder / spec["inputs"]["participants"]).is_file()
    for entry in spec["inputs"]["feedback"]:
        if isinstance(entry, str):
            # glob.glob as the README's "files or globs": each pattern matches something
            assert glob.glob(str(case.folder / entry)), entry
        else:
            assert (case.folder / entry["path"]).is_file()
            assert set(entry) <= {"path", "sheet", "columns"}
    assert 1 <= len(spec["authorities"]) <= 2
    for authority in spec["authorities"]:
        for rel in (authority["logo"], authority["signatory"]["signature"]):
            with Image.open(case.folder / rel) as img:
                assert img.format == "PNG" and img.width >= 300


def test_expected_problems_point_at_real_places(case: Case) -> None:
    for expect in case.problems:
        path = case.folder / expect.file
        assert path.is_file(), expect
        if path.suffix == ".xlsx":
            with workbook(path) as wb:
                assert expect.sheet in (None, *wb.sheetnames), expect
            grid = [[shown(v) for v in row] for row in values(path, expect.sheet)]
        else:
            assert expect.sheet in (None, ""), "a CSV has no sheet"
            grid = records(path)
        if expect.row is not None:
            assert 1 <= expect.row <= len(grid), expect
        if expect.column is not None:
            above = grid[:expect.row] if expect.row is not None else grid
            assert any(expect.column in row for row in above), expect


def test_letters_are_for_treatment_rows_and_greet_a_name_on_the_row(case: Case) -> None:
    header, rows = list_table(case)
    mapped = campaign(case)["inputs"].get("columns", {})
    id_col = column(header, mapped.get("participant_id", "Participant ID"), "Participant ID",
                    "Employee Number", "Emp Ref")
    arm_col = column(header, mapped.get("arm", "Arm"), "Arm", "Trial Arm")
    treated = {r[id_col]: r for r in rows
               if len(r) > arm_col and r[arm_col].strip().casefold() in TREATMENT}
    assert case.letters_for <= set(treated)
    if not case.refuse:
        assert case.letters_for == set(treated)
    for pid in case.letters_for:
        cells = {unicodedata.normalize("NFC", v.strip()) for v in treated[pid]}
        assert case.greeting[pid] in cells, (pid, case.greeting[pid])


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = realworld.generate_all(tmp_path / "one")
    second = realworld.generate_all(tmp_path / "two")
    assert first[0].letters_for == second[0].letters_for

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes()
                for p in sorted(root.rglob("*")) if p.is_file()}

    one, two = files(tmp_path / "one"), files(tmp_path / "two")
    assert one.keys() == two.keys()
    assert [k for k in one if one[k] != two[k]] == []


def test_unmet_reads_problems_csv_rows() -> None:
    """The matcher the product's tests will use: located, levels, words, unexpected errors."""
    expect = realworld.Expect("footer_row", "warning", "data/x.xlsx", "Report", 19,
                              "Employee Number", ("total",))
    hit = {"level": "warning", "code": "footer_row", "file": "data/x.xlsx", "sheet": "Report",
           "row": "19", "column": "Employee Number (A)", "message": "Total records: 12"}
    case = Case("t", Path(), "d", frozenset(), {}, (expect,), refuse=False)
    assert realworld.unmet(case, [hit]) == []
    assert realworld.unmet(case, [{**hit, "row": "20"}]) == [f"missing: {expect.describe()}"]
    assert realworld.unmet(case, [{**hit, "column": "Employee Numbers (A)"}])
    error = {**hit, "level": "error", "code": "missing_id"}
    assert realworld.unmet(case, [hit, error])[0].startswith("unexpected error")
    info = realworld.Expect("preferred_name", "info", "data/x.xlsx")
    case = Case("t", Path(), "d", frozenset(), {}, (info,), refuse=False)
    assert realworld.unmet(case, [{**hit, "code": "preferred_name"}]) == []
    assert realworld.unmet(case, [{**hit, "code": "preferred_name", "level": "error"}])


# --- what each case claims ----------------------------------------------------------------------

Shape = Callable[[Case], None]
SHAPES: dict[str, Shape] = {}


def shape(fn: Shape) -> Shape:
    SHAPES[fn.__name__.removeprefix("shape_")] = fn
    return fn


def test_every_case_has_its_shape_checked() -> None:
    assert sorted(SHAPES) == sorted(NAMES)


def test_case_has_the_shape_it_claims(case: Case) -> None:
    SHAPES[case.name](case)


def only(case: Case, code: str) -> realworld.Expect:
    (found,) = [e for e in case.problems if e.code == code]
    return found


def row_of(case: Case, code: str) -> int:
    row = only(case, code).row
    assert row is not None
    return row


def itrent_layout(grid: list[list[Any]]) -> None:
    assert grid[0][0] == "Workforce Report – Children's Services"
    assert grid[1][0] == "Run date" and grid[1][1].year == 2019  # an Excel date
    assert grid[2][0].startswith("Confidential")
    assert not any(grid[3])
    assert grid[4][0] == "Employee Number"


@shape
def shape_itrent_title_and_footer(case: Case) -> None:
    footer = only(case, "footer_row")
    grid = values(case.folder / footer.file)
    itrent_layout(grid)
    data = [r for r in grid[5:] if r[0] and re.fullmatch(r"\d{6}", str(r[0]))]
    assert all(isinstance(r[0], str) for r in data)  # text ids keep their zeros
    assert footer.row is not None
    assert not any(grid[footer.row - 2])  # a blank row between data and footer
    assert grid[footer.row - 1][0] == f"Total records: {len(data)}"
    assert [r[0] for r in grid[footer.row:]] == [
        "End of report", "Generated by iTrent on 03/09/2019 at 08:14"]
    assert all(not any(r[1:]) for r in grid[footer.row - 1:])


@shape
def shape_itrent_csv_count_footer(case: Case) -> None:
    footer = only(case, "footer_row")
    data = (case.folder / footer.file).read_bytes()
    assert not data.startswith(codecs.BOM_UTF8) and data.count(b"\r\n") == data.count(b"\n")
    rows = records(case.folder / footer.file, "utf-8")
    assert footer.row is not None
    count = footer.row - 3  # header, blank row, then the count
    assert rows[footer.row - 2] == [] and rows[footer.row - 1] == [str(count)]
    assert rows[footer.row] == [f"Total records: {count}"]
    assert all(re.fullmatch(r"0\d{7}", r[0]) for r in rows[1:footer.row - 2])


@shape
def shape_itrent_list_ids_lost_zeros(case: Case) -> None:
    grid = values(case.folder / case.problems[0].file, "Report")
    itrent_layout(grid)
    ids = [r[0] for r in grid[5:]]
    numbers = [i for i in ids if isinstance(i, int)]
    assert len(numbers) == 2 and all(isinstance(i, str) and len(i) == 6 for i in ids
                                     if i not in numbers)
    for e in case.problems:
        assert e.row is not None and grid[e.row - 1][0] == int(e.words[0])
        assert e.words[1] == e.words[0].zfill(6)
        assert str(int(e.words[0])) in case.letters_for  # the letter uses the list's id
    returned = {r[0] for f in (case.folder / "data/feedback").glob("*.xlsx")
                for r in values(f)[1:]}
    assert {e.words[1] for e in case.problems} <= returned  # the managers kept the zeros


@shape
def shape_itrent_ids_zero_padded_format(case: Case) -> None:
    with workbook(case.folder / "data/itrent-allocation.xlsx") as wb:
        ws = wb["Report"]
        cells = [ws.cell(row=r, column=1) for r in range(6, ws.max_row + 1)]
        assert cells and all(isinstance(c.value, int) and c.number_format == "000000"
                             for c in cells)
        assert {str(c.value).zfill(6) for c in cells} >= case.letters_for
    returned = [r[0] for f in (case.folder / "data/feedback").glob("*.xlsx")
                for r in values(f)[1:]]
    assert returned and all(isinstance(i, str) and i.startswith("00") for i in returned)


@shape
def shape_feedback_ids_retyped_as_numbers(case: Case) -> None:
    (fb,) = {e.file for e in case.problems}
    list_ids = {r[0] for r in values(case.folder / "data/itrent-allocation.xlsx")[5:]}
    assert all(isinstance(i, str) for i in list_ids)
    typed = [r[0] for r in values(case.folder / fb)[1:]]
    assert typed and all(isinstance(i, int) for i in typed)
    assert {str(i).zfill(6) for i in typed} <= list_ids
    assert [e.row for e in case.problems] == list(range(2, 2 + len(typed)))


@shape
def shape_leading_zeros_ambiguous(case: Case) -> None:
    e = only(case, "leading_zeros")
    ids = [r[0] for r in values(case.folder / "data/combined-list.xlsx")[1:]]
    assert "04506" in ids and "004506" in ids
    assert e.row is not None and values(case.folder / e.file)[e.row - 1][0] == 4506
    assert case.letters_for.isdisjoint({"04506", "004506"})


@shape
def shape_oracle_hcm_known_as(case: Case) -> None:
    path = case.folder / "data/PersonDetails_20190903.xlsx"
    grid = values(path, "Data")
    assert grid[0] == ["Person Details Report", *[None] * (len(grid[0]) - 1)]
    header = grid[3]
    assert header[:3] == ["Person Number", "Legal First Name", "Known As"]
    rows = grid[4:]
    assert all(isinstance(r[0], int) for r in rows)
    known = [r[2] for r in rows if r[2]]
    assert 0 < len(known) < len(rows) / 2
    councils = {a["name"] for a in campaign(case)["authorities"]}
    assert {r[header.index("Business Unit")] for r in rows} == councils
    with workbook(path) as wb:
        hire = [r[-1] for r in wb["Data"].iter_rows(min_row=5)]
        assert all(isinstance(c, Cell) and c.is_date and c.number_format == "dd/mm/yyyy"
                   for c in hire)
    assert member(path, "docProps/core.xml").count("Oracle BI Publisher") == 1


@shape
def shape_successfactors_csv_utf8_bom(case: Case) -> None:
    path = case.folder / "data/SF_Employee_Export.csv"
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8) and data.count(b"\n") == data.count(b"\r\n")
    rows = records(path, "utf-8-sig")
    assert rows[0][0] == "Assignment Number" and "Randomisation" in rows[0]
    assert all(len(r) == len(rows[0]) and re.fullmatch(r"\d{8}-1", r[0]) for r in rows[1:])
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}", r[-1]) for r in rows[1:])


@shape
def shape_workday_excel_table_totals(case: Case) -> None:
    path = case.folder / "data/Workday_Worker_Report.xlsx"
    with zipfile.ZipFile(path) as zf:
        assert "xl/tables/table1.xml" in zf.namelist()
    table = ET.fromstring(member(path, "xl/tables/table1.xml"))
    totals = row_of(case, "footer_row")
    assert table.get("totalsRowCount") == "1" and table.get("ref") == f"A1:K{totals}"
    autofilter = table.find(f"{MAIN_NS}autoFilter")
    assert autofilter is not None and autofilter.get("ref") == f"A1:K{totals - 1}"
    columns = table.findall(f"{MAIN_NS}tableColumns/{MAIN_NS}tableColumn")
    assert columns[0].get("totalsRowLabel") == "Total"
    assert columns[1].get("totalsRowFunction") == "count"
    sheet = ET.fromstring(member(path, "xl/worksheets/sheet1.xml"))
    pane = sheet.find(f".//{MAIN_NS}pane")
    assert pane is not None and pane.get("state") == "frozen" and pane.get("ySplit") == "1"
    cell = sheet.find(f".//{MAIN_NS}c[@r='B{totals}']")
    assert cell is not None
    assert (cell.findtext(f"{MAIN_NS}f") or "").startswith("SUBTOTAL(103,StaffList[")
    assert cell.findtext(f"{MAIN_NS}v") == str(totals - 2)  # the cached count of data rows
    grid = values(path, "Staff")
    assert grid[totals - 1][0] == "Total" and grid[0][1:3] == ["Legal First Name",
                                                              "Preferred First Name"]
    assert any(r[2] for r in grid[1:-1]) and not all(r[2] for r in grid[1:-1])


@shape
def shape_hr_reordered_extra_columns(case: Case) -> None:
    path = case.folder / "data/staff.xlsx"
    grid = values(path, "Staff")
    header = grid[0]
    assert header[0] == "Postcode" and header.index("Payroll Number") > header.index("Surname")
    assert {"NI Number", "Job Title", "FTE", "Line Manager"} <= set(header)
    assert not {"Local authority", "Authority", "Council"} & set(header)
    rows = grid[1:]
    assert all(re.fullmatch(r"QQ\d{6}[A-D]", r[header.index("NI Number")]) for r in rows)
    assert {r[header.index("FTE")] for r in rows} <= {1, 0.8, 0.6}
    assert all(hasattr(r[header.index("Start Date")], "year") for r in rows)
    assert len(campaign(case)["authorities"]) == 1


@shape
def shape_hr_unmapped_employee_number(case: Case) -> None:
    assert "columns" not in campaign(case)["inputs"]
    for e in case.problems:
        header = values(case.folder / e.file, e.sheet)[(e.row or 1) - 1]
        assert header[0] == "Emp Ref"
        assert not {"Participant ID", "ID", "Staff ID", "Employee Number"} & set(header)


@shape
def shape_hr_hidden_sheet_and_row(case: Case) -> None:
    path = case.folder / "data/staff-list.xlsx"
    hidden_row = row_of(case, "hidden_rows")
    with workbook(path) as wb:
        assert wb.sheetnames == ["Staff List", "Randomisation v1"]
        assert wb.worksheets[0].sheet_state == "visible"
        assert wb["Randomisation v1"].sheet_state == "hidden"
        ws = wb["Staff List"]
        hidden = [r for r, d in ws.row_dimensions.items() if d.hidden]
        assert hidden == [hidden_row]
        pid = ws.cell(row=hidden_row, column=1).value
        assert pid in case.letters_for  # hidden is not withdrawn
    current = {r[0]: r[3] for r in values(path, "Staff List")[1:]}
    old = {r[0]: r[3] for r in values(path, "Randomisation v1")[1:]}
    assert current.keys() == old.keys() and all(current[k] != old[k] for k in current)


@shape
def shape_hr_two_councils_no_authority_column(case: Case) -> None:
    header = values(case.folder / "data/list.xlsx")[0]
    assert not {"Local authority", "Authority", "Council", "LA"} & set(header)
    assert len(campaign(case)["authorities"]) == 2


def assert_nfd(texts: list[str]) -> None:
    assert all(t == unicodedata.normalize("NFD", t) for t in texts)
    assert any(t != unicodedata.normalize("NFC", t) for t in texts)


@shape
def shape_mac_excel_nfd(case: Case) -> None:
    for path in (case.folder / "data/list.xlsx", case.folder / "data/feedback/fostering.xlsx"):
        strings = sheet_strings(path)
        assert_nfd(strings)
        assert "\u0301" in "".join(strings) and "\u00e9" not in "".join(strings)
    assert "Zoe\u0308" in sheet_strings(case.folder / "data/list.xlsx")
    assert case.greeting["004901"] == "Zo\u00eb"


@shape
def shape_numbers_csv_utf8_lf(case: Case) -> None:
    for path in (case.folder / "data/allocation.csv", case.folder / "data/feedback/adoption.csv"):
        data = path.read_bytes()
        assert not data.startswith(codecs.BOM_UTF8) and b"\r" not in data
        data.decode("utf-8")
    assert "Siobhán" in (case.folder / "data/allocation.csv").read_text(encoding="utf-8")


@shape
def shape_excel_mac_csv_utf8_cr(case: Case) -> None:
    data = (case.folder / "data/allocation.csv").read_bytes()
    assert data.startswith(codecs.BOM_UTF8) and b"\n" not in data and data.count(b"\r") == 9
    assert "François" in data.decode("utf-8-sig")


@shape
def shape_excel_mac_csv_macroman(case: Case) -> None:
    data = (case.folder / "data/allocation.csv").read_bytes()
    assert b"\n" not in data and b"\r" in data
    assert b"Zo\x91" in data and b"Siobh\x87n" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    as_windows = data.decode("cp1252")  # decodes without error: the silent trap
    assert "Zo\u2018" in as_windows and "Siobh\u2021n" in as_windows
    assert "Zoë" in data.decode("mac_roman")


@shape
def shape_excel_csv_cp1252_crlf(case: Case) -> None:
    data = (case.folder / "data/allocation.csv").read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")
    assert b"Zo\xeb" in data and b"O\x92Neill" in data and b"Siobh\xe1n" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    feedback = b"".join(p.read_bytes() for p in (case.folder / "data/feedback").glob("*.csv"))
    assert b"\xa3" in feedback and b"\x96" in feedback  # £ and an en dash


@shape
def shape_excel_csv_cp1252_lost_characters(case: Case) -> None:
    rows = records(case.folder / "data/allocation.csv", "cp1252")
    for e in case.problems:
        assert e.row is not None and e.column is not None
        cell = rows[e.row - 1][rows[0].index(e.column)]
        assert "?" in cell
        assert rows[e.row - 1][0] not in case.letters_for
    names = {(r[1], r[2]) for r in rows}
    assert ("?ukasz", "?ó??") in names and ("Ng?c Ánh", "Nguy?n") in names


@shape
def shape_excel_csv_utf8_bom_names(case: Case) -> None:
    data = (case.folder / "data/allocation.csv").read_bytes()
    assert data.startswith(codecs.BOM_UTF8) and data.count(b"\n") == data.count(b"\r\n")
    text = data.decode("utf-8-sig")
    for name in ("Łukasz", "Nguyễn Thị", "İlkay", "Şükrü", "Conceição", "\u1ecc\u0301l\u00e1"):
        assert name in text


@shape
def shape_excel_csv_semicolon_locale(case: Case) -> None:
    path = case.folder / "data/allocation.csv"
    data = path.read_bytes()
    assert b"J\xfcrgen" in data and data.count(b"\n") == data.count(b"\r\n")
    rows = records(path, "cp1252", ";")
    assert all(len(r) == len(rows[0]) == 12 for r in rows)
    assert "0,8" in {r[10] for r in rows} and all(re.fullmatch(r"\d\d\.\d\d\.\d{4}", r[11])
                                                  for r in rows[1:])
    by_comma = records(path, "cp1252", ",")
    assert len({len(r) for r in by_comma}) > 1  # a comma reader would split the decimals


@shape
def shape_excel_csv_alt_enter_feedback(case: Case) -> None:
    e = only(case, "feedback_for_control")
    path = case.folder / e.file
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert re.search(rb'"Calm, clear and kind\.\nFamilies say you listen\."', data)
    rows = records(path, "utf-8-sig")
    lines = data.decode("utf-8-sig").split("\n")  # physical lines (and "" after the last)
    assert len(rows) == len(lines) - 2  # one record spans two physical lines
    # the note names the file, not a row ("e.g. row 6": one note per file)
    found = re.search(r"e\.g\. row (\d+)", " ".join(e.words))
    assert e.row is None and found is not None
    row = int(found.group(1))
    assert lines[row].startswith(rows[row - 1][0])  # record `row` starts on line row + 1
    header, people = list_table(case)
    arms = {r[0]: r[header.index("Arm")] for r in people}
    assert arms[rows[row - 1][0]] == "Control"


@shape
def shape_csv_unclosed_quote(case: Case) -> None:
    e = only(case, "csv_malformed")
    path = case.folder / e.file
    text = path.read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    assert e.row is not None and lines[e.row - 1].count('"') == 1
    assert all('"' not in line for i, line in enumerate(lines) if i != e.row - 1)
    with pytest.raises(csv.Error):
        list(csv.reader(io.StringIO(text, newline=""), strict=True))
    swallowed = records(path, "utf-8")
    assert len(swallowed) == e.row  # everything after the quote is one cell


@shape
def shape_csv_mixed_encoding(case: Case) -> None:
    e = only(case, "mixed_encoding")
    lines = (case.folder / e.file).read_bytes().split(b"\r\n")
    with pytest.raises(UnicodeDecodeError):
        b"\r\n".join(lines).decode("utf-8")
    assert e.row is not None
    for number, line in enumerate(lines, start=1):
        if number != e.row:
            line.decode("utf-8")
    assert "Siobhán".encode() in lines[1]  # real UTF-8 above the bad row
    bad = lines[e.row - 1]
    assert b"Ren\xe9e" in bad and "Renée" in bad.decode("cp1252")


def feedback_file(case: Case, name: str) -> Path:
    return case.folder / "data/feedback" / name


@shape
def shape_managers_eight_returns(case: Case) -> None:
    d = case.folder / "data/feedback"
    assert sorted(p.name for p in d.iterdir()) == [
        "dev.xlsx", "team-a.xlsx", "team-b.xlsx", "team-c.xlsx", "team-d.csv", "team-e.xlsx",
        "team-f.xlsx", "team-h.xlsx"]
    assert values(d / "team-a.xlsx")[0] == ["Staff ID", "What they did well",
                                            "Impact on families"]
    b = values(d / "team-b.xlsx", "Sheet1")
    assert b[0][0].startswith("Please give") and not any(b[1])
    assert b[2] == ["Participant ID", "Name", "Feedback 1", "Feedback 2"]
    assert values(d / "team-c.xlsx")[0][-1] == "Notes"
    team_d = (d / "team-d.csv").read_bytes()
    assert team_d.count(b"\n") == team_d.count(b"\r\n") and not team_d.startswith(b"\xef")
    assert all(isinstance(r[0], int) for r in values(d / "team-e.xlsx")[1:])
    f_row = only(case, "name_matched").row
    assert f_row is not None
    f = values(d / "team-f.xlsx")[f_row - 1]
    assert f[0] is None and f[1] == "Priya Shah"
    header, people = list_table(case)
    priya = [r for r in people if r[1:3] == ["Priya", "Shah"]]
    assert len(priya) == 1 and priya[0][header.index("Team")] == "Team F"
    assert only(case, "name_matched").words == (priya[0][0],)
    with workbook(d / "dev.xlsx") as wb:
        assert wb.sheetnames == ["Instructions", "Sheet1"]
        assert [c.value for c in wb["Sheet1"][1]] == ["Staff ID", "What they did well", "Impact"]
    with workbook(d / "team-h.xlsx") as wb:
        assert wb.properties.creator == "Google Sheets"
        assert wb.worksheets[0].freeze_panes == "A2"
        assert wb.worksheets[0]["D1"].value == "Comments"
    entries = campaign(case)["inputs"]["feedback"]
    tables = [e for e in entries if isinstance(e, dict)]
    assert [t["path"] for t in tables] == ["data/feedback/team-a.xlsx", "data/feedback/dev.xlsx"]
    assert tables[1] == {"path": "data/feedback/dev.xlsx", "sheet": "Sheet1", "columns": {
        "feedback_1": "What they did well", "feedback_2": "Impact"}}
    # the glob also matches the files the tables name: they must be read once, as mapped
    assert str(d / "dev.xlsx") in glob.glob(str(case.folder / "data/feedback/*.xlsx"))


@shape
def shape_feedback_folder_junk(case: Case) -> None:
    d = case.folder / "data/feedback"
    lock = d / "~$team-b.xlsx"
    assert lock.stat().st_size == 165 and not zipfile.is_zipfile(lock)
    assert lock.read_bytes()[0] == len("Rebecca Hart")
    assert b"R\x00e\x00b\x00e\x00c\x00c\x00a\x00" in lock.read_bytes()
    for name in ("._team-a.xlsx", "._team-b.xlsx"):
        data = (d / name).read_bytes()
        assert data[:4] == b"\x00\x05\x16\x07" and data[8:24] == b"Mac OS X        "
    assert (d / ".DS_Store").read_bytes()[:8] == b"\x00\x00\x00\x01Bud1"
    assert zipfile.is_zipfile(d / "team-a.xlsx")
    # the traps: glob.glob picks up the lock file; pathlib's glob also the AppleDouble files
    assert str(lock) in glob.glob(str(d / "*.xlsx"))
    assert d / "._team-a.xlsx" in set(d.glob("*.xlsx"))


@shape
def shape_manager_name_ambiguous(case: Case) -> None:
    e = only(case, "name_ambiguous")
    assert e.row is not None
    row = values(case.folder / e.file)[e.row - 1]
    assert row[0] is None and row[1] == "Sam"
    header, people = list_table(case)
    sams = [r for r in people if r[1] == "Sam" and r[3] == "Treatment"]
    assert len(sams) == 2 and len({r[header.index("Team")] for r in sams}) == 1
    assert case.letters_for.isdisjoint(r[0] for r in sams)


@shape
def shape_manager_mapping_missing(case: Case) -> None:
    entries = campaign(case)["inputs"]["feedback"]
    assert all(isinstance(e, str) for e in entries)
    assert values(feedback_file(case, "team-a.xlsx"))[0][1] == "What they did well"
    assert values(feedback_file(case, "dev.xlsx"))[0] == ["Development team feedback"]


def codepoints(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text]


@shape
def shape_names_workforce_xlsx(case: Case) -> None:
    strings = set(sheet_strings(case.folder / "data/randomised.xlsx"))
    # marks with no precomposed form: NFC keeps the combining character
    for name, points in (
            ("\u1ecc\u0301l\u00e1", ["U+1ECC", "U+0301", "U+006C", "U+00E1"]),
            ("\u00d2g\u00fanl\u1eb9\u0300", ["U+00D2", "U+0067", "U+00FA", "U+006E", "U+006C",
                                            "U+1EB9", "U+0300"]),
            ("Nw\u00e1\u0144kw\u1ecd\u0301", ["U+004E", "U+0077", "U+00E1", "U+0144", "U+006B",
                                             "U+0077", "U+1ECD", "U+0301"]),
            ("\u1ee4\u0300ch\u1eb9\u0301", ["U+1EE4", "U+0300", "U+0063", "U+0068", "U+1EB9",
                                           "U+0301"])):
        assert name in strings
        assert codepoints(unicodedata.normalize("NFC", name)) == points
    for name in ("Siobhán", "Gwenllïan", "Ŵyn", "ap Siôn", "Łukasz", "Żółć", "Nguyễn Thị",
                 "İlkay", "João", "Σοφία", "Олена"):
        assert name in strings
    assert all(s == unicodedata.normalize("NFC", s) for s in strings)
    assert "GREEK" in unicodedata.name("Σ") and "CYRILLIC" in unicodedata.name("О")


@shape
def shape_excel_unicode_text_utf16(case: Case) -> None:
    data = (case.folder / "data/allocation.txt").read_bytes()
    assert data.startswith(codecs.BOM_UTF16_LE)
    text = data.decode("utf-16")
    assert text.count("\n") == text.count("\r\n") and "\t" in text and "," not in text
    rows = records(case.folder / "data/allocation.txt", "utf-16", "\t")
    assert all(len(r) == 10 for r in rows) and "Коваленко" in {r[2] for r in rows}


@shape
def shape_names_apostrophes_hyphens(case: Case) -> None:
    strings = set(sheet_strings(case.folder / "data/randomised.xlsx"))
    assert {"O'Neill", "O\u2019Neill", "D\u2019Souza", "N'Diaye", "Smith-Jones",
            "Mary-Kate"} <= strings
    assert "Mary-Kate" in case.greeting.values()


@shape
def shape_emoji_in_known_as(case: Case) -> None:
    e = only(case, "unprintable_character")
    grid = values(case.folder / e.file, e.sheet)
    assert e.row is not None and e.column is not None
    cell = grid[e.row - 1][grid[0].index(e.column)]
    assert cell == "Jo \U0001f642" and ord(cell[-1]) > 0xFFFF
    assert grid[e.row - 1][grid[0].index("Legal First Name")] == "Joanne"
    assert grid[e.row - 1][0] not in case.letters_for


@shape
def shape_emoji_in_feedback(case: Case) -> None:
    e = only(case, "unprintable_character")
    assert e.file.startswith("data/feedback/")
    grid = values(case.folder / e.file, e.sheet)
    assert e.row is not None and e.column is not None
    assert grid[e.row - 1][grid[0].index(e.column)].endswith("\U0001f64f")
    assert grid[e.row - 1][0] not in case.letters_for


@shape
def shape_zero_width_characters(case: Case) -> None:
    data = (case.folder / "data/allocation.csv").read_bytes()
    assert data.startswith(codecs.BOM_UTF8) and data.count(codecs.BOM_UTF8) == 2
    rows = records(case.folder / "data/allocation.csv", "utf-8-sig")
    for e in case.problems:
        assert e.row is not None and e.column is not None
        cell = rows[e.row - 1][rows[0].index(e.column)]
        assert cell != cell.translate(ZERO_WIDTH)
    assert rows[1][1] == "Anna\u200b" and case.greeting[rows[1][0]] == "Anna"


@shape
def shape_word_line_break_in_feedback(case: Case) -> None:
    e = only(case, "control_character")
    path = case.folder / e.file
    assert "You never give up on a family._x000B_Thank you." in member(
        path, "xl/worksheets/sheet1.xml")
    grid = values(path)
    assert e.row is not None and e.column is not None
    # openpyxl hands back Excel's escape as literal text: a reader must decode it itself
    assert grid[e.row - 1][grid[0].index(e.column)].count("_x000B_") == 1


@shape
def shape_preferred_known_as_fallback(case: Case) -> None:
    header, rows = list_table(case)
    assert header[1:3] == ["Legal First Name", "Known As"]
    assert "columns" not in campaign(case)["inputs"]
    by_id = {r[0]: r for r in rows}
    spaces = [r for r in rows if r[2] and not r[2].strip()]
    assert spaces and all(case.greeting[r[0]] == r[1] for r in spaces if r[0] in case.greeting)
    for pid, name in case.greeting.items():
        known = by_id[pid][2].strip()
        assert name == (known or by_id[pid][1])


@shape
def shape_preferred_name_with_first_name_csv(case: Case) -> None:
    header, rows = list_table(case)
    assert header[1:3] == ["First Name", "Preferred Name"]
    blank = [r for r in rows if not r[2]]
    assert blank and all(case.greeting[r[0]] == r[1] for r in blank if r[0] in case.greeting)
    assert all(case.greeting[r[0]] == r[2] for r in rows if r[2] and r[0] in case.greeting)


# --- a real spreadsheet application -------------------------------------------------------------

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _excel_text(value: str) -> str:
    """Text as Excel means it: its _xHHHH_ escapes decoded."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


@pytest.mark.libreoffice
def test_every_workbook_opens_in_libreoffice(cases: dict[str, Case], tmp_path: Path) -> None:
    """Every .xlsx (not the junk named like one) converts with a real LibreOffice Calc, one
    process for all, and Calc sees every text cell of the first sheet that openpyxl sees."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    staging, out = tmp_path / "in", tmp_path / "out"
    staging.mkdir()
    books: dict[str, Path] = {}
    for case in cases.values():
        for path in sorted(case.folder.rglob("*.xlsx")):
            if path.name.startswith(("~$", "._")):
                continue
            rel = path.relative_to(case.folder).as_posix().replace("/", "__").replace(" ", "_")
            stem = f"{case.name}__{rel.removesuffix('.xlsx')}"
            shutil.copy(path, staging / f"{stem}.xlsx")
            books[stem] = path
    assert len(books) >= 60
    result = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--norestore", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1",
         "--outdir", str(out), *sorted(str(p) for p in staging.iterdir())],
        capture_output=True, text=True, timeout=600, check=False)
    missing = sorted(s for s in books if not (out / f"{s}.csv").is_file())
    assert not missing, (missing, result.stdout[-2000:], result.stderr[-2000:])
    for stem, path in books.items():
        calc = {cell for row in records(out / f"{stem}.csv", "utf-8", ",") for cell in row}
        with workbook(path) as wb:
            ws: Worksheet = wb.worksheets[0]
            texts = {_excel_text(v) for row in ws.iter_rows(values_only=True) for v in row
                     if isinstance(v, str) and v.strip() and not v.startswith("=")}
        assert texts and texts <= calc, (stem, sorted(texts - calc)[:5])
    # what Excel shows is what a coordinator sees: the '000000' format pads the ids
    padded = records(out / "itrent_ids_zero_padded_format__data__itrent-allocation.csv")
    assert [r[0] for r in padded[5:8]] == ["004501", "004502", "004503"]
    totals = records(out / "workday_excel_table_totals__data__Workday_Worker_Report.csv")
    assert totals[-1][:2] == ["Total", "12"]
