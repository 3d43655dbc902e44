"""The bad-input corpus: every broken input gets a named problem at the right place, an exit code
of 1 (2 for usage errors) and never a traceback.

Each case starts from the valid campaign in ``conftest.py`` and breaks one thing. Row numbers are
as the spreadsheet shows them (header in row 1, so participant P001 is row 2 ... P006 row 7);
columns are "header (letter)".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    FEEDBACK_SHEET,
    LIST_SHEET,
    CampaignBuilder,
    csv_text,
    run_cli,
    write_xlsx,
)
from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import Result

from hhp_letters.model import Arm

# Index of each column of the list (see conftest.LIST_HEADER).
COL = {"id": 0, "first": 1, "last": 2, "arm": 3, "authority": 4, "address": 5, "town": 6,
       "postcode": 7}
# Index of each participant's row in CampaignBuilder.rows; spreadsheet row = index + 2.
P = {"P001": 0, "P002": 1, "P003": 2, "P004": 3, "P005": 4, "P006": 5}

LIST_X = "data/list.xlsx"
LIST_C = "data/list.csv"
FB_A = "data/feedback/team-a.csv"
FB_B = "data/feedback/team-b.xlsx"
TOML = "campaign.toml"

Mutator = Callable[[CampaignBuilder], None]


# --- one-line mutators --------------------------------------------------------------------------

def setcell(pid: str, column: str, value: Any) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        b.rows[P[pid]][COL[column]] = value
    return mutate


def set_header(column: str, text: str) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        b.header[COL[column]] = text
    return mutate


def toml(old: str, new: str) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        b.toml_edits.append((old, new))
    return mutate


def feedback_add(file: str, row: list[Any]) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        b.feedback[file].append(row)
    return mutate


def feedback_set(file: str, pid: str, index: int, value: Any) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        next(r for r in b.feedback[file] if r[0] == pid)[index] = value
    return mutate


def feedback_drop(file: str, pid: str) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        b.feedback[file] = [r for r in b.feedback[file] if r[0] != pid]
    return mutate


def cut_row(pid: str, cells: int) -> Mutator:
    """The row ends after ``cells`` cells (a ragged CSV line)."""
    def mutate(b: CampaignBuilder) -> None:
        del b.rows[P[pid]][cells:]
    return mutate


def blank_rows_after(pid: str, count: int) -> Mutator:
    """Blank rows below ``pid``'s row; apply it last (the row indexes in P no longer hold)."""
    def mutate(b: CampaignBuilder) -> None:
        index = P[pid] + 1
        b.rows[index:index] = [[] for _ in range(count)]
    return mutate


def xlsx_edit(edit: Callable[[Worksheet], None]) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        b.xlsx_edit = edit
    return mutate


def attr(name: str, value: Any) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        setattr(b, name, value)
    return mutate


def both(*mutators: Mutator) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        for m in mutators:
            m(b)
    return mutate


def overwrite(relative: str, data: bytes | Callable[[bytes], bytes]) -> Mutator:
    """After build: replace a file's bytes (or transform them)."""
    def mutate(b: CampaignBuilder) -> None:
        path = b.root / relative
        old = path.read_bytes() if path.exists() else b""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data(old) if callable(data) else data)
    return mutate


def add_forename_column(b: CampaignBuilder) -> None:
    """A second column meaning first_name (column I)."""
    b.header.append("Forename")
    for row in b.rows:
        row.append(row[COL["first"]])


def drop_header(b: CampaignBuilder) -> None:
    """The list starts with data in row 1."""
    b.header = b.rows.pop(0)


def merge_header(ws: Worksheet) -> None:
    ws.merge_cells("F1:G1")


def merge_data_cells(ws: Worksheet) -> None:
    ws.merge_cells("B3:B4")  # P002's first name spills over P003's


def add_chart_sheet(ws: Worksheet) -> None:
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=3))
    assert ws.parent is not None
    ws.parent.create_chartsheet("Chart").add_chart(chart)


def unlabelled_value(b: CampaignBuilder) -> None:
    """A note typed in column J, two columns right of the last header."""
    b.rows[P["P002"]] += ["", "call back"]


def _xlsx_bytes(tmp: Path) -> bytes:
    return write_xlsx(tmp, [["Participant ID", "First name"], ["P001", "Alice"]]).read_bytes()


def xlsx_bytes_as(relative: str) -> Mutator:
    """After build: a real .xlsx workbook saved under another name (e.g. list.csv)."""
    def mutate(b: CampaignBuilder) -> None:
        (b.root / relative).write_bytes(_xlsx_bytes(b.root / "tmp-real.xlsx"))
    return mutate


def truncate(relative: str) -> Mutator:
    def mutate(b: CampaignBuilder) -> None:
        path = b.root / relative
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return mutate


def cp1252_with_undefined_byte(b: CampaignBuilder) -> None:
    # 0x81 is invalid UTF-8 (a lone continuation byte) and undefined in Windows-1252.
    text = csv_text(b.list_grid()).replace("Alice", "Al\x00ice")
    b.list_path.write_bytes(text.encode("latin-1").replace(b"\x00", b"\x81"))


# --- the corpus ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    expect: dict[str, str]  # code, file, and where meaningful sheet, row, column
    before: Mutator | None = None  # applied to the builder before build()
    after: Mutator | None = None  # applied to the files after build()
    fmt: str = "xlsx"
    exit_code: int = 1
    level: str = "error"
    message: tuple[str, ...] = ()  # substrings of the problem's message
    also: tuple[dict[str, str], ...] = field(default=())  # more problems that must be there


def at(code: str, file: str, row: int | None = None, column: str = "", sheet: str | None = None,
       ) -> dict[str, str]:
    """An expected problems.csv row. A problem with the whole file names no sheet; one at a row
    of the .xlsx list (feedback file) names the sheet Allocation (Feedback)."""
    if sheet is None:
        sheet = "" if row is None and not column else (
            LIST_SHEET if file == LIST_X else FEEDBACK_SHEET if file == FB_B else "")
    return {"code": code, "file": file, "sheet": sheet, "row": "" if row is None else str(row),
            "column": column}


CASES = [
    # -- encodings and text formats
    Case("csv-neither-utf8-nor-cp1252", at("bad_encoding", LIST_C), fmt="csv",
         after=cp1252_with_undefined_byte, message=("0x81",)),
    Case("csv-nul-bytes", at("not_text", LIST_C), fmt="csv",
         after=overwrite(LIST_C, lambda old: old.replace(b"Alice", b"Al\x00ice"))),
    Case("csv-is-really-xlsx", at("not_text", LIST_C), fmt="csv", after=xlsx_bytes_as(LIST_C)),
    Case("csv-empty-file", at("empty_file", LIST_C), fmt="csv", after=overwrite(LIST_C, b"")),
    Case("csv-only-separators", at("empty_sheet", LIST_C), fmt="csv",
         after=overwrite(LIST_C, b",,,\r\n,,,\r\n\r\n")),
    Case("csv-title-rows-above-header",
         at("invalid_postcode", LIST_C, 6, "Post Code (H)"), fmt="csv",
         before=both(attr("above", [["Randomised list, wave 1"], []]),
                     setcell("P003", "postcode", "XYZ 123"))),
    Case("csv-quoted-newline-keeps-row-numbers",
         at("invalid_postcode", LIST_C, 4, "Post Code (H)"), fmt="csv",
         before=both(setcell("P001", "address", "Flat 2\n1 High Street"),
                     setcell("P003", "postcode", "XYZ 123"))),
    Case("csv-field-over-csv-module-limit", at("csv_malformed", LIST_C, 2), fmt="csv",
         before=setcell("P001", "address", "x" * 200_000)),
    Case("csv-ragged-rows", at("incomplete_address", LIST_C, 2, "Town (G)"), fmt="csv",
         before=cut_row("P001", 6),
         message=("Town or Postcode",)),
    Case("csv-blank-lines-between-rows", at("invalid_postcode", LIST_C, 6, "Post Code (H)"),
         fmt="csv", before=both(setcell("P003", "postcode", "?"), blank_rows_after("P002", 2))),
    Case("csv-formula-error-text", at("formula_error", LIST_C, 4, "Post Code (H)"), fmt="csv",
         before=setcell("P003", "postcode", "#N/A")),
    # -- not the file it claims to be
    Case("xlsx-is-plain-text", at("not_xlsx", LIST_X),
         after=overwrite(LIST_X, b"Participant ID,First name\r\nP001,Alice\r\n")),
    Case("xlsx-empty-file", at("empty_file", LIST_X), after=overwrite(LIST_X, b"")),
    Case("xlsx-encrypted", at("xlsx_encrypted", LIST_X),
         after=overwrite(LIST_X, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8)),
    Case("xlsx-truncated-zip", at("xlsx_corrupt", LIST_X), after=truncate(LIST_X)),
    Case("ods-unsupported", at("unsupported_format", "data/list.ods"),
         before=toml('participants = "data/list.xlsx"', 'participants = "data/list.ods"'),
         after=overwrite("data/list.ods", b"PK\x03\x04 not really")),
    Case("xls-unsupported", at("unsupported_format", "data/list.xls"),
         before=toml('participants = "data/list.xlsx"', 'participants = "data/list.xls"'),
         after=overwrite("data/list.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),
    Case("list-is-a-folder", at("file_not_found", "data"),
         before=toml('participants = "data/list.xlsx"', 'participants = "data"')),
    Case("list-not-found", at("file_not_found", "data/randomised.xlsx"),
         before=toml('participants = "data/list.xlsx"', 'participants = "data/randomised.xlsx"')),
    # -- sheets and headers
    Case("unknown-sheet", at("unknown_sheet", LIST_X, sheet=""),
         before=toml('sheet = "Allocation"', 'sheet = "Randomisation"'),
         message=("'Randomisation'", "'Allocation'")),
    Case("xlsx-empty-sheet", at("empty_sheet", LIST_X, sheet=LIST_SHEET),
         before=both(attr("header", [" ", "  "]), attr("rows", [[" "], [], ["", "   "]]))),
    Case("xlsx-title-rows-above-header",
         at("invalid_postcode", LIST_X, 7, "Post Code (H)"),
         before=both(attr("above", [["Randomised list, wave 1"], [], ["Confidential"]]),
                     setcell("P003", "postcode", "XYZ 123"))),
    Case("no-header", at("no_header", LIST_X, 1), before=drop_header),
    Case("no-header-below-blank-row", at("no_header", LIST_X, 2), before=attr("header", [])),
    Case("missing-column", at("missing_column", LIST_X, 1),
         before=set_header("last", "Nickname"), message=("last_name",)),
    Case("duplicate-column", at("duplicate_column", LIST_X, 1, "Forename (I)"),
         before=add_forename_column),
    Case("mapped-column-missing", at("mapped_column_missing", LIST_X, 1),
         before=attr("columns", {"first_name": "Known as"}), message=("Known as",)),
    Case("header-wrapped-in-its-cell", at("invalid_postcode", LIST_X, 4, "Post Code (H)"),
         before=both(set_header("postcode", "Post\nCode "),
                     setcell("P003", "postcode", "SG13 8D"))),
    Case("merged-header", at("merged_header", LIST_X, 1, "F1:G1"),
         before=xlsx_edit(merge_header)),
    Case("merged-data-cells", at("merged_cells", LIST_X, 3, "B3:B4"),
         before=xlsx_edit(merge_data_cells),
         also=(at("missing_first_name", LIST_X, 4, "First name (B)"),)),
    Case("unlabelled-column-is-a-warning", at("unlabelled_column", LIST_X, 1, "J"),
         before=unlabelled_value,
         exit_code=0, level="warning"),
    Case("chart-sheet", at("not_a_worksheet", LIST_X, sheet="Chart"),
         before=both(xlsx_edit(add_chart_sheet), toml('sheet = "Allocation"', 'sheet = "chart"'))),
    Case("xlsx-blank-rows-between-rows", at("invalid_postcode", LIST_X, 7, "Post Code (H)"),
         before=both(setcell("P003", "postcode", "?"), blank_rows_after("P002", 3))),
    # -- cells
    Case("formula-not-cached-id", at("formula_not_cached", LIST_X, 5, "Participant ID (A)"),
         before=setcell("P004", "id", "=1+1"), message=("=1+1",)),
    Case("formula-not-cached-postcode", at("formula_not_cached", LIST_X, 7, "Post Code (H)"),
         before=setcell("P006", "postcode", '=UPPER("sg14 1aa")')),
    Case("formula-error-cached", at("formula_error", LIST_X, 4, "Post Code (H)"),
         before=setcell("P003", "postcode", "#N/A")),
    Case("cell-too-long", at("cell_too_long", LIST_X, 2, "Address line 1 (F)"),
         before=setcell("P001", "address", "x" * 6000)),
    # -- rows of the randomised list
    Case("duplicate-id", at("duplicate_id", LIST_X, 2), before=setcell("P004", "id", "P001"),
         also=(at("duplicate_id", LIST_X, 5),), message=("rows 2, 5",)),
    Case("unknown-arm", at("unknown_arm", LIST_X, 3, "Arm (D)"),
         before=setcell("P002", "arm", "placebo"), message=("'placebo'",)),
    Case("blank-arm", at("unknown_arm", LIST_X, 3, "Arm (D)"), before=setcell("P002", "arm", ""),
         message=("blank",)),
    Case("unknown-authority", at("unknown_authority", LIST_X, 4, "Local authority (E)"),
         before=setcell("P003", "authority", "Slough"), message=("'Slough'",)),
    Case("missing-first-name", at("missing_first_name", LIST_X, 2, "First name (B)"),
         before=setcell("P001", "first", "")),
    Case("missing-address-line", at("incomplete_address", LIST_X, 6, "Address line 1 (F)"),
         before=setcell("P005", "address", "")),
    Case("missing-town", at("incomplete_address", LIST_X, 2, "Town (G)"),
         before=setcell("P001", "town", "  ")),
    Case("missing-postcode", at("incomplete_address", LIST_X, 7, "Post Code (H)"),
         before=setcell("P006", "postcode", "")),
    Case("invalid-postcode", at("invalid_postcode", LIST_X, 4, "Post Code (H)"),
         before=setcell("P003", "postcode", "SG13 8D")),
    Case("id-that-is-a-path", at("unsafe_id", LIST_X, 3, "Participant ID (A)"),
         before=setcell("P002", "id", "../../etc/passwd"),
         message=("'../../etc/passwd' cannot be used as a file name",)),
    # -- feedback files
    Case("conflicting-feedback", at("conflicting_feedback", FB_A, 2),
         before=feedback_add("team-b.xlsx", ["P001", "Something else.", "And more."]),
         message=(FB_A, FB_B)),
    Case("duplicate-feedback-is-a-warning", at("duplicate_feedback", FB_B, 4),
         before=feedback_add("team-b.xlsx", ["P001", "You turned a difficult case around.",
                                             "Your notes are a model for the team."]),
         exit_code=0, level="warning"),
    Case("feedback-unknown-id", at("feedback_unknown_id", FB_B, 4),
         before=feedback_add("team-b.xlsx", ["P999", "Well done.", "Thank you."]),
         exit_code=0, level="warning"),
    Case("missing-feedback", at("missing_feedback", LIST_X, 7),
         before=feedback_drop("team-b.xlsx", "P006")),
    Case("blank-feedback-line", at("blank_feedback", FB_A, 3, "Feedback 2 (C)"),
         before=feedback_set("team-a.csv", "P005", 2, "")),
    Case("markup-in-feedback", at("markup_in_feedback", FB_A, 2),
         before=feedback_set("team-a.csv", "P001", 1, "<b>x</b> {{ y }}"),
         exit_code=0, level="warning"),
    Case("feedback-missing-id", at("feedback_missing_id", FB_B, 4, "Participant ID (A)"),
         before=feedback_add("team-b.xlsx", ["", "Well done.", "Thank you."])),
    Case("feedback-formula-not-cached", at("formula_not_cached", FB_B, 3, "Feedback 1 (B)"),
         before=feedback_set("team-b.xlsx", "P006", 1, '=CONCAT("Well ", "done")'),
         also=(at("blank_feedback", FB_B, 3, "Feedback 1 (B)"),)),
    Case("feedback-excel-error", at("formula_error", FB_B, 2, "Feedback 2 (C)"),
         before=feedback_set("team-b.xlsx", "P003", 2, "#REF!")),
    Case("feedback-missing-column", at("missing_column", FB_A, 1),
         before=attr("feedback_header", ["Participant ID", "Feedback 1", "Comments"]),
         message=("feedback_2",)),
    Case("feedback-file-binary", at("not_text", FB_A),
         after=overwrite(FB_A, lambda old: old.replace(b"P005", b"P\x00\x0005"))),
    Case("feedback-glob-matches-nothing",
         at("feedback_not_found", TOML, column="inputs.feedback[2]"),
         before=toml('"data/feedback/*.xlsx"', '"data/fedback/*.xlsx"')),
    # -- campaign.toml
    Case("campaign-syntax", at("campaign_syntax", TOML),
         before=toml('name = "Recognition letters, test wave"',
                     'name = "Recognition letters, test wave')),
    Case("campaign-not-utf8", at("campaign_encoding", TOML),
         after=overwrite(TOML, lambda old: old.replace(b"A. Person", b"A. P\xe9rson"))),
    Case("campaign-missing-key",
         at("campaign_invalid", TOML, column="authorities[1].signatory.signature"),
         before=toml(', signature = "signatures/bf.png"', "")),
    Case("campaign-wrong-type", at("campaign_invalid", TOML, column="print.duplex"),
         before=toml("duplex = false", 'duplex = "sometimes"')),
    Case("campaign-wrong-date", at("campaign_invalid", TOML, column="campaign.date"),
         before=toml("date = 2019-10-01", 'date = "next week"')),
    Case("campaign-empty", at("campaign_invalid", TOML, column="authorities"),
         after=overwrite(TOML, b""),
         also=(at("campaign_invalid", TOML, column="campaign"),
               at("campaign_invalid", TOML, column="inputs"))),
    Case("campaign-wrong-kind", at("campaign_invalid", TOML, column="campaign.kind"),
         before=toml('kind = "letters"', 'kind = "postcards"')),
    Case("campaign-unknown-envelope", at("campaign_invalid", TOML, column="print.envelope"),
         before=toml('envelope = "DL"', 'envelope = "C4X"'), message=("DL, C5",)),
    Case("campaign-bad-colour", at("campaign_invalid", TOML, column="authorities[1].colour"),
         before=toml('code = "BF"', 'code = "BF"\ncolour = "navy"')),
    Case("campaign-authority-twice", at("campaign_invalid", TOML, column="authorities"),
         before=toml('code = "HC"', 'code = "bf"'), message=("'bf'",)),
    Case("campaign-unknown-key", at("campaign_invalid", TOML, column="authorities[2].logo_path"),
         before=toml('code = "HC"', 'code = "HC"\nlogo_path = "brand/hc-logo.png"')),
    Case("campaign-unknown-field-mapped",
         at("campaign_invalid", TOML, column="inputs.columns.nickname"),
         before=attr("columns", {"nickname": "Known as"})),
    Case("logo-not-found", at("asset_not_found", TOML, column="authorities[1].logo"),
         before=toml('logo = "brand/bf-logo.png"', 'logo = "brand/bf_logo.png"')),
    Case("logo-not-an-image", at("asset_not_image", TOML, column="authorities[1].logo"),
         after=overwrite("brand/bf-logo.png", b"this is not a picture\n")),
    Case("template-not-found", at("template_not_found", TOML, column="authorities[2].template"),
         before=toml('code = "HC"', 'code = "HC"\ntemplate = "templates/hc.docx"')),
    Case("template-not-docx", at("template_format", TOML, column="authorities[1].template"),
         before=toml('code = "BF"', 'code = "BF"\ntemplate = "brand/bf-logo.png"')),
    Case("signature-not-an-image",
         at("asset_not_image", TOML, column="authorities[2].signatory.signature"),
         after=overwrite("signatures/hc.png", b"\x89PNG\r\n\x1a\n truncated")),
]


def _matches(row: dict[str, str], expected: dict[str, str]) -> bool:
    return all(row[k] == v for k, v in expected.items())


def run(builder: CampaignBuilder, case: Case) -> tuple[Result, list[dict[str, str]]]:
    if case.before is not None:
        case.before(builder)
    builder.build()
    if case.after is not None:
        case.after(builder)
    result = builder.run_check()
    return result, builder.problems()


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert "Internal error" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign(case.fmt)
    result, problems = run(builder, case)
    assert_no_traceback(result)
    assert result.exit_code == case.exit_code, result.output
    found = [p for p in problems if _matches(p, case.expect)]
    assert found, f"no problem {case.expect} in\n" + "\n".join(map(str, problems))
    assert found[0]["level"] == case.level
    for text in case.message:
        assert text in found[0]["message"]
    for extra in case.also:
        assert any(_matches(p, extra) for p in problems), f"no problem {extra}"
    if case.exit_code == 0:
        assert all(p["level"] == "warning" for p in problems)
    # every problem is shown on screen too
    assert case.expect["code"] in result.output


# --- inputs that look odd but must be read correctly --------------------------------------------

def test_clean_campaign_passes(campaign: CampaignBuilder) -> None:
    campaign.build()
    result = campaign.run_check()
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout
    assert "6 participants (4 treatment, 2 control); feedback matched for 4 of 4" in result.stdout
    assert campaign.problems() == []
    checked = campaign.checked()
    assert [p.participant_id for p in checked.treatment] == ["P001", "P003", "P005", "P006"]
    assert checked.participants[4].authority is not None
    assert checked.participants[4].authority.code == "BF"  # matched by name, not code


def test_campaign_file_path_is_accepted(make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign()
    builder.build()
    result = builder.run_check(builder.toml_path)
    assert result.exit_code == 0, result.output
    assert not (builder.root / "problems.csv").exists()  # written only when there are problems


@pytest.mark.parametrize("target", ["no-such-folder", "no-such-folder/campaign.toml", "empty"])
def test_missing_campaign_is_a_usage_error(tmp_path: Path, target: str) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli("check", str(tmp_path / target))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert "no campaign file" in result.stderr
    assert "hhp-letters init" in result.stderr
    assert not (tmp_path / "empty" / "problems.csv").exists()


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("cp1252", ","),  # Excel's plain "CSV (Comma delimited)"
    ("utf-8-sig", ","),  # Excel's "CSV UTF-8": the BOM must not stick to the first header
    ("utf-8", ";"),  # continental Excel
    ("utf-8", "\t"),
    ("utf-16", "\t"),  # Excel's "Unicode text"
])
def test_csv_encodings_and_delimiters_are_read(
        make_campaign: Callable[..., CampaignBuilder], encoding: str, delimiter: str) -> None:
    builder = make_campaign("csv")
    builder.csv_encoding, builder.csv_delimiter = encoding, delimiter
    setcell("P001", "first", "Zoë")(builder)
    setcell("P003", "last", "Brontë-Ó Súilleabháin")(builder)
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    people = {p.participant_id: p for p in builder.checked().participants}
    assert list(people) == ["P001", "P002", "P003", "P004", "P005", "P006"]
    assert people["P001"].first_name == "Zoë"
    assert people["P003"].last_name == "Brontë-Ó Súilleabháin"
    assert people["P006"].postcode == "SG14 1AA"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("address", [
    '1 High Street, Flat "A"',  # Excel writes "1 High Street, Flat ""A"""
    'Flat "B"; 2 Church Road',
    "'The Maltings'",  # single quotes are part of the value, not quoting
    "O'Neill's Farm, 'Top', Lane",
    '"Rose Cottage"',
    "6 King's Road | rear",
])
def test_csv_quoting_is_read_exactly(make_campaign: Callable[..., CampaignBuilder],
                                     delimiter: str, address: str) -> None:
    """Quotes doubled inside quoted fields (as Excel writes them), other delimiters and
    apostrophes inside values: every address comes back exactly as written."""
    builder = make_campaign("csv")
    builder.csv_delimiter = delimiter
    for pid in P:
        setcell(pid, "address", address)(builder)
    setcell("P001", "last", "O'Brien")(builder)
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    people = builder.checked().participants
    assert [p.address for p in people] == [(address,)] * 6
    assert people[0].last_name == "O'Brien"
    assert [p.postcode for p in people[:2]] == ["RG12 1JD", "RG12 7QF"]


def test_cp1252_csv_with_another_error(make_campaign: Callable[..., CampaignBuilder]) -> None:
    """Decoding as Windows-1252 does not hide the row's real problem or shift its place."""
    builder = make_campaign("csv")
    builder.csv_encoding = "cp1252"
    setcell("P003", "first", "Zoë")(builder)
    setcell("P003", "postcode", "Z0Ë 123")(builder)
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 1
    problems = builder.problems()
    assert [(p["code"], p["row"], p["column"]) for p in problems] == [
        ("invalid_postcode", "4", "Post Code (H)")]
    assert "'Z0Ë 123'" in result.output  # decoded right, shown on screen ...
    assert "Z0Ë" not in (builder.root / "problems.csv").read_text(encoding="utf-8-sig")  # only
    assert builder.checked().participants[2].first_name == "Zoë"


def test_numeric_ids_are_text(make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign("xlsx")
    setcell("P001", "id", 123)(builder)  # an int cell
    setcell("P002", "id", 124.0)(builder)  # a float cell
    setcell("P003", "id", "00123")(builder)  # text with leading zeros
    setcell("P001", "arm", 1)(builder)
    setcell("P002", "arm", 0)(builder)
    # feedback ids typed as numbers still match the list's text ids
    feedback_set("team-a.csv", "P001", 0, "123")(builder)
    feedback_set("team-b.xlsx", "P003", 0, "00123")(builder)
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    checked = builder.checked()
    assert [p.participant_id for p in checked.participants] == [
        "123", "124", "00123", "P004", "P005", "P006"]
    assert [p.arm for p in checked.participants[:2]] == [Arm.TREATMENT, Arm.CONTROL]
    assert set(checked.feedback) == {"123", "00123", "P005", "P006"}


def test_numeric_feedback_ids_match(make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign("xlsx")
    setcell("P003", "id", "3")(builder)
    setcell("P006", "id", 6.0)(builder)
    builder.feedback["team-b.xlsx"] = [[3, "Line one.", "Line two."],
                                       [6.0, "Line one.", "Line two."]]
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    assert set(builder.checked().feedback) == {"P001", "3", "P005", "6"}


def test_spaces_around_values_are_ignored(make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign("csv")
    setcell("P001", "id", " P001\u00a0")(builder)  # a no-break space pasted from the web
    setcell("P001", "arm", "  TREATMENT ")(builder)
    setcell("P001", "first", "Alice\u00a0 Mary")(builder)
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    first = builder.checked().participants[0]
    assert (first.participant_id, first.first_name) == ("P001", "Alice Mary")


@pytest.mark.parametrize("written", ["sw1a1aa", "SW1A1AA", " sw1a  1aa "])
def test_postcode_is_normalised(make_campaign: Callable[..., CampaignBuilder],
                                written: str) -> None:
    builder = make_campaign("xlsx")
    setcell("P001", "postcode", written)(builder)
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    assert builder.checked().participants[0].postcode == "SW1A 1AA"


def test_control_rows_need_no_address(make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign("xlsx")
    for column in ("first", "address", "town", "postcode"):
        setcell("P002", column, "")(builder)
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    assert builder.problems() == []


def test_title_and_blank_rows_above_header_are_skipped(
        make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign("xlsx")
    builder.above = [["Randomised list, wave 1"], [], ["Confidential", "", "do not forward"]]
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    rows = [p.origin.row for p in builder.checked().participants]
    assert rows == [5, 6, 7, 8, 9, 10]


def test_markup_in_feedback_is_kept_literally(
        make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign("xlsx")
    feedback_set("team-a.csv", "P001", 1, "<b>x</b> {{ y }}")(builder)
    feedback_set("team-b.xlsx", "P006", 2, "{% if x %}&amp; <script>")(builder)
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    assert [p["code"] for p in builder.problems()] == ["markup_in_feedback"] * 2
    feedback = builder.checked().feedback
    assert feedback["P001"].line_1 == "<b>x</b> {{ y }}"
    assert feedback["P006"].line_2 == "{% if x %}&amp; <script>"


def test_feedback_keeps_its_line_breaks(make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign("xlsx")
    feedback_set("team-a.csv", "P001", 1, "First part,\r\n  second part.")(builder)
    builder.build()
    assert builder.run_check().exit_code == 0
    assert builder.checked().feedback["P001"].line_1 == "First part,\nsecond part."


def test_mapped_header_is_used(make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign("xlsx")
    builder.header[COL["first"]] = "Known as"
    builder.header[COL["postcode"]] = "Zip"
    builder.columns = {"first_name": "known as", "postcode": "ZIP"}
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    assert builder.checked().participants[0].first_name == "Alice"


def test_mapping_chooses_between_two_name_columns(
        make_campaign: Callable[..., CampaignBuilder]) -> None:
    """A list with a legal first name and a name the person is known by: the mapping picks one,
    and the other (which matches an alias) is not a duplicate column."""
    builder = make_campaign("xlsx")
    builder.header.append("Known as")
    for row, known in zip(builder.rows, ["Ali", "Benny", "Clo", "Dev", "Em", "Finn"],
                          strict=True):
        row.append(known)
    builder.columns = {"first_name": "Known as"}
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 0, result.output
    assert [p.first_name for p in builder.checked().participants][:3] == ["Ali", "Benny", "Clo"]


def test_duplicate_id_feedback_is_not_matched_to_either_row(
        make_campaign: Callable[..., CampaignBuilder]) -> None:
    """P001 is on a treatment row and (by mistake) a control row: the feedback is not reported as
    being for a control participant, and the treatment row is not also 'missing feedback'."""
    builder = make_campaign("xlsx")
    setcell("P004", "id", "P001")(builder)
    builder.build()
    assert builder.run_check().exit_code == 1
    assert [(p["code"], p["row"]) for p in builder.problems()] == [
        ("duplicate_id", "2"), ("duplicate_id", "5")]


def test_unreadable_list_does_not_flood_feedback_warnings(
        make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign("xlsx")
    builder.build()
    builder.list_path.write_bytes(b"not a workbook")
    assert builder.run_check().exit_code == 1
    assert [p["code"] for p in builder.problems()] == ["not_xlsx"]


def test_campaign_toml_with_byte_order_mark(make_campaign: Callable[..., CampaignBuilder]
                                            ) -> None:
    """Windows Notepad saves "UTF-8" with a BOM; the file is still read."""
    builder = make_campaign()
    builder.build()
    builder.toml_path.write_bytes(b"\xef\xbb\xbf" + builder.toml_path.read_bytes())
    result = builder.run_check()
    assert result.exit_code == 0, result.output


def test_values_that_look_like_rich_markup_are_shown_literally(
        make_campaign: Callable[..., CampaignBuilder]) -> None:
    builder = make_campaign()
    setcell("P003", "authority", "[bold]Slough[/bold]")(builder)
    setcell("P005", "postcode", "[/]")(builder)
    builder.build()
    result = builder.run_check()
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert "'[bold]Slough[/bold]'" in result.stdout
    assert "the cell reads '[/]'" in result.stdout
    assert [p["code"] for p in builder.problems()] == ["unknown_authority", "invalid_postcode"]


# --- problems.csv -------------------------------------------------------------------------------

@pytest.mark.parametrize("pid", ['=HYPERLINK("http://example.com","click")', "+1+1", "-2+3",
                                 "@SUM(A1)"])
def test_problems_csv_neutralises_formulas(make_campaign: Callable[..., CampaignBuilder],
                                           pid: str) -> None:
    builder = make_campaign("csv")
    setcell("P002", "id", pid)(builder)
    setcell("P002", "arm", "placebo")(builder)
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 1
    raw = (builder.root / "problems.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    problems = builder.problems()
    assert list(problems[0]) == ["level", "code", "file", "sheet", "row", "column",
                                 "participant_id", "message", "hint"]
    row = next(p for p in problems if p["code"] == "unknown_arm")
    assert row["participant_id"] == "'" + pid
    assert (row["row"], row["column"]) == ("3", "Arm (D)")
    for p in problems:
        assert not any(value.startswith(("=", "+", "-", "@")) for value in p.values())


def test_problems_csv_is_removed_when_clean(make_campaign: Callable[..., CampaignBuilder]
                                             ) -> None:
    builder = make_campaign("xlsx")
    setcell("P002", "arm", "placebo")(builder)
    builder.build()
    assert builder.run_check().exit_code == 1
    assert len(builder.problems()) == 1
    setcell("P002", "arm", "control")(builder)
    builder.build()
    assert builder.run_check().exit_code == 0
    assert builder.problems() == []


def test_control_characters_never_reach_a_letter(
        make_campaign: Callable[..., CampaignBuilder]) -> None:
    # BEL and form feed would become paragraph and page breaks in a Word letter
    builder = make_campaign("csv")
    builder.rows[P["P001"]][COL["first"]] = "Ali\x07ce"
    next(r for r in builder.feedback["team-a.csv"] if r[0] == "P001")[1] = \
        "Great\x0cwork\x07 this year."
    builder.build()
    result = builder.run_check()
    assert result.exit_code == 1
    found = {(p["code"], p["file"], p["row"], p["column"]) for p in builder.problems()}
    assert ("control_character", LIST_C, "2", "First name (B)") in found
    assert ("control_character", FB_A, "2", "Feedback 1 (B)") in found
    messages = " ".join(p["message"] for p in builder.problems())
    assert "U+0007" in messages and "U+000C" in messages
    checked = builder.checked()
    assert checked.participants[0].first_name == "Alice"  # never printed with the BEL in it
    assert "control_character" in checked.participants[0].errors  # withheld, never printed


def test_feedback_for_control_is_one_note_per_file_and_no_report(
        make_campaign: Callable[..., CampaignBuilder]) -> None:
    """Forms go to every arm, so control feedback is expected: a note on screen, nothing to
    fix (no problems.csv), and never used."""
    builder = make_campaign("xlsx")
    feedback_add("team-a.csv", ["P002", "Well done.", "Thank you."])(builder)
    builder.build()
    result = builder.run_check()
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert out.count("feedback_for_control") == 1
    assert "1 row(s) of feedback are for control participants (e.g. row 4)" in out
    assert not (builder.root / "problems.csv").exists()
