"""Shared fixtures: a small, valid letters campaign built in ``tmp_path``, easy to break one
thing at a time.

``CampaignBuilder`` holds the campaign as plain Python data (header and rows as lists, the
campaign.toml text); a test changes one thing, calls :meth:`CampaignBuilder.build`, and runs
``hhp-letters check`` on the folder with :meth:`CampaignBuilder.run_check`.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pypdfium2 as pdfium
import pytest
import zxingcpp
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image
from typer.testing import CliRunner, Result

from hhp_letters.campaign import load_campaign
from hhp_letters.checks import Counts, check
from hhp_letters.cli import app
from hhp_letters.model import Arm, Feedback, Participant
from hhp_letters.pipeline import Prepared, prepare
from hhp_letters.problems import Level, Problem
from hhp_letters.workspace import scratch_store

LIST_SHEET = "Allocation"
FEEDBACK_SHEET = "Feedback"

# Columns A..H; the postcode is in column H.
LIST_HEADER = ["Participant ID", "First name", "Last name", "Arm", "Local authority",
               "Address line 1", "Town", "Post Code"]
LIST_ROWS: list[list[Any]] = [
    ["P001", "Alice", "Smith", "treatment", "BF", "1 High Street", "Bracknell", "RG12 1JD"],
    ["P002", "Ben", "Jones", "control", "BF", "2 Church Road", "Bracknell", "RG12 7QF"],
    ["P003", "Chloe", "Brown", "Treatment", "HC", "3 Fore Street", "Hertford", "SG13 8DQ"],
    ["P004", "Dev", "Patel", "control", "hc", "4 Mill Lane", "Ware", "SG12 9AA"],
    ["P005", "Emma", "Wilson", "intervention", "Bracknell Forest Council", "5 Station Road",
     "Bracknell", "RG42 1AB"],
    ["P006", "Finn", "Taylor", "T", "HC", "6 London Road", "Hertford", "SG14 1AA"],
]
TREATMENT_IDS = ("P001", "P003", "P005", "P006")

FEEDBACK_HEADER = ["Participant ID", "Feedback 1", "Feedback 2"]
# Two feedback files, one of each format; every treatment participant is in exactly one.
FEEDBACK_FILES: dict[str, list[list[Any]]] = {
    "team-a.csv": [
        ["P001", "You turned a difficult case around.", "Your notes are a model for the team."],
        ["P005", "Families trust you.", "You always make time for new colleagues."],
    ],
    "team-b.xlsx": [
        ["P003", "Your court reports are excellent.", "Thank you for covering the duty desk."],
        ["P006", "You kept calm in a crisis.", "Your supervision notes are thorough."],
    ],
}

CAMPAIGN_TOML = """\
[campaign]
name = "Recognition letters, test wave"
kind = "letters"
date = 2019-10-01

[inputs]
participants = "data/{list_name}"
{sheet_line}feedback = ["data/feedback/*.csv", "data/feedback/*.xlsx"]
{columns}
[[authorities]]
code = "BF"
name = "Bracknell Forest Council"
logo = "brand/bf-logo.png"
return_address = ["Time Square", "Market Street", "BRACKNELL", "RG12 1JD"]
signatory = {{ name = "A. Person", title = "Director of Children's Services", \
signature = "signatures/bf.png" }}

[[authorities]]
code = "HC"
name = "Hertfordshire County Council"
logo = "brand/hc-logo.png"
return_address = ["County Hall", "Pegs Lane", "HERTFORD", "SG13 8DQ"]
signatory = {{ name = "B. Person", title = "Director of Children's Services", \
signature = "signatures/hc.png" }}

[print]
envelope = "DL"
duplex = false
sort = "postcode"
"""


# --- writers ------------------------------------------------------------------------------------

def write_xlsx(path: Path, rows: Sequence[Sequence[Any]], *, sheet: str = LIST_SHEET,
               edit: Callable[[Worksheet], None] | None = None) -> Path:
    """Write ``rows`` (lists of cell values, header included) to a one-sheet workbook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)
    ws.title = sheet
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            if value is not None and value != "":
                ws.cell(row=r, column=c, value=value)
    if edit is not None:
        edit(ws)
    wb.save(path)
    return path


def csv_text(rows: Sequence[Sequence[Any]], *, delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for values in rows:
        writer.writerow(["" if v is None else str(v) for v in values])
    return buf.getvalue()


def write_csv(path: Path, rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    """Write ``rows`` as delimited text, the way Excel exports it (CRLF line ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(rows, delimiter=delimiter).encode(encoding))
    return path


_NOTES_AUTHORITIES = {
    "NA": ('name = "North Council"', '["Town Hall", "NORTH", "NA1 1AA"]', "Ann Director"),
    "SO": ('name = "South Council"', '["Civic Centre", "SOUTH", "SO1 1AA"]', "Sam Director"),
}


def notes_toml(*codes: str) -> str:
    """A small notes campaign.toml reading teams.csv, one authority per code (NA, SO), each
    with logo.png and sig.png beside it."""
    text = ('[campaign]\nname = "Coffee machines"\nkind = "notes"\ndate = 2026-10-01\n\n'
            '[inputs]\nparticipants = "teams.csv"\n')
    for code in codes or ("NA",):
        name, address, signatory = _NOTES_AUTHORITIES[code]
        text += (f'\n[[authorities]]\ncode = "{code}"\n{name}\nlogo = "logo.png"\n'
                 f"return_address = {address}\n"
                 f'signatory = {{ name = "{signatory}", title = "Director", '
                 'signature = "sig.png" }\n')
    return text


def write_notes_campaign(folder: Path, teams_csv: str, *codes: str) -> Path:
    """``notes_toml(*codes)`` with its teams.csv, logo and signature, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.toml").write_text(notes_toml(*codes), encoding="utf-8")
    (folder / "teams.csv").write_text(teams_csv, encoding="utf-8")
    write_png(folder / "logo.png", (30, 60, 120))
    write_png(folder / "sig.png", (0, 0, 0))
    return folder


def write_assets(root: Path) -> None:
    """The two authorities' logos and signatures that CampaignBuilder's campaign.toml names."""
    write_png(root / "brand" / "bf-logo.png")
    write_png(root / "brand" / "hc-logo.png", (120, 30, 40))
    write_png(root / "signatures" / "bf.png", (0, 0, 0))
    write_png(root / "signatures" / "hc.png", (0, 0, 80))


def write_png(path: Path, colour: tuple[int, int, int] = (31, 78, 121)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (120, 40), colour).save(path, format="PNG")
    return path


# --- the campaign -------------------------------------------------------------------------------

@dataclass
class CampaignBuilder:
    """A valid letters campaign, as data; change one attribute, then :meth:`build`."""

    root: Path
    fmt: str = "xlsx"  # format of the randomised list: "xlsx" or "csv"
    header: list[Any] = field(default_factory=lambda: list(LIST_HEADER))
    rows: list[list[Any]] = field(default_factory=lambda: copy.deepcopy(LIST_ROWS))
    above: list[list[Any]] = field(default_factory=list)  # title/blank rows above the header
    sheet: str = LIST_SHEET
    csv_encoding: str = "utf-8"
    csv_delimiter: str = ","
    xlsx_edit: Callable[[Worksheet], None] | None = None  # change the list sheet before saving
    feedback_header: list[Any] = field(default_factory=lambda: list(FEEDBACK_HEADER))
    feedback: dict[str, list[list[Any]]] = field(
        default_factory=lambda: copy.deepcopy(FEEDBACK_FILES))
    columns: dict[str, str] = field(default_factory=dict)  # [inputs.columns]
    toml_edits: list[tuple[str, str]] = field(default_factory=list)  # (old, new) replacements

    @property
    def list_name(self) -> str:
        return f"list.{self.fmt}"

    @property
    def list_path(self) -> Path:
        return self.root / "data" / self.list_name

    @property
    def list_shown(self) -> str:
        """The list's path as problems.csv shows it."""
        return f"data/{self.list_name}"

    @property
    def list_sheet(self) -> str:
        """The sheet column of problems.csv for the list ("" for CSV)."""
        return self.sheet if self.fmt == "xlsx" else ""

    @property
    def toml_path(self) -> Path:
        return self.root / "campaign.toml"

    def toml(self) -> str:
        columns = ""
        if self.columns:
            columns = "\n[inputs.columns]\n" + "".join(
                f'{name} = "{header}"\n' for name, header in self.columns.items())
        text = CAMPAIGN_TOML.format(
            list_name=self.list_name, columns=columns,
            sheet_line=f'sheet = "{self.sheet}"\n' if self.fmt == "xlsx" else "")
        for old, new in self.toml_edits:
            assert old in text, f"toml edit: {old!r} not in campaign.toml"
            text = text.replace(old, new, 1)
        return text

    def list_grid(self) -> list[list[Any]]:
        return [*self.above, self.header, *self.rows]

    def build(self) -> Path:
        """Write every file of the campaign; returns the campaign folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.toml_path.write_text(self.toml(), encoding="utf-8")
        write_assets(self.root)
        if self.fmt == "xlsx":
            write_xlsx(self.list_path, self.list_grid(), sheet=self.sheet, edit=self.xlsx_edit)
        else:
            write_csv(self.list_path, self.list_grid(), encoding=self.csv_encoding,
                      delimiter=self.csv_delimiter)
        folder = self.root / "data" / "feedback"
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in self.feedback.items():
            grid = [self.feedback_header, *rows]
            if name.endswith(".xlsx"):
                write_xlsx(folder / name, grid, sheet=FEEDBACK_SHEET)
            else:
                write_csv(folder / name, grid)
        return self.root

    def run_check(self, target: Path | None = None) -> Result:
        return run_cli("check", str(target or self.root))

    def problems(self) -> list[dict[str, str]]:
        return read_problems(self.root / "problems.csv")

    def checked(self) -> CheckedView:
        """The check stage's result, materialised (small campaigns only)."""
        with scratch_store() as store:
            result = check(load_campaign(self.root), store)
            return CheckedView(tuple(result.participants()),
                               {f.participant_id: f for f in store.accepted_feedback()},
                               result.problems, result.counts)


@dataclass(frozen=True)
class CheckedView:
    participants: tuple[Participant, ...]
    feedback: dict[str, Feedback]
    problems: tuple[Problem, ...]
    counts: Counts

    @property
    def treatment(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.arm is Arm.TREATMENT)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level is Level.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level is Level.WARNING)


@contextlib.contextmanager
def prepared_campaign(folder: Path, *, proof: bool = False) -> Iterator[Prepared]:
    """A campaign checked and laid out (as `check` does), in a scratch store."""
    with scratch_store() as store:
        yield prepare(load_campaign(folder), store, proof=proof)


# A wide, colourless terminal, whatever the environment says, so output is deterministic.
CLI_ENV: dict[str, str | None] = {"COLUMNS": "200", "NO_COLOR": "1", "FORCE_COLOR": None,
                                  "TTY_COMPATIBLE": None}


def run_cli(*args: str) -> Result:
    return CliRunner(env=CLI_ENV).invoke(app, list(args))


def read_problems(path: Path) -> list[dict[str, str]]:
    """problems.csv as rows; no file means no problems (it is written only when there are)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(params=["xlsx", "csv"])
def list_format(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def campaign(tmp_path: Path, list_format: str) -> CampaignBuilder:
    """A valid campaign (not yet written: call ``build()``), once per list format."""
    return CampaignBuilder(tmp_path / "campaign", fmt=list_format)


@pytest.fixture
def make_campaign(tmp_path: Path) -> Callable[..., CampaignBuilder]:
    """``make_campaign(fmt="xlsx")``: a fresh valid campaign builder in its own folder."""
    count = 0

    def make(fmt: str = "xlsx") -> CampaignBuilder:
        nonlocal count
        count += 1
        return CampaignBuilder(tmp_path / f"campaign-{count}", fmt=fmt)

    return make


# --- reading the sample campaigns independently of hhp-letters' own readers ---------------------

def sample_people(folder: Path) -> dict[str, dict[str, str]]:
    """A letters campaign's randomised list, straight from the workbook: id → column → text."""
    wb = openpyxl.load_workbook(folder / "data" / "randomised.xlsx", read_only=True)
    rows = list(wb["Allocation"].iter_rows(values_only=True))
    wb.close()
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Participant ID")
    header = [str(h) for h in rows[head]]
    return {str(r[0]): dict(zip(header, [str(v or "") for v in r], strict=True))
            for r in rows[head + 1:] if r and r[0]}


def sample_feedback(folder: Path, pattern: str = "*.xlsx") -> dict[str, tuple[str, str]]:
    """The managers' feedback workbooks of a letters campaign: id → (line 1, line 2)."""
    out = {}
    for path in sorted((folder / "data" / "feedback").glob(pattern)):
        wb = openpyxl.load_workbook(path, read_only=True)
        ws = wb.active
        assert ws is not None
        rows = list(ws.iter_rows(values_only=True))
        wb.close()
        out.update({str(r[0]): (str(r[2]), str(r[3])) for r in rows[1:] if r and r[0]})
    return out


DATAMATRIX = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.DataMatrix)


def decoded_pages(path: Path, dpi: int = 200) -> list[tuple[str, tuple[float, float, float,
                                                                       float]]]:
    """Each page's one DataMatrix: its text and where it is, in mm from the top-left."""
    found: list[tuple[str, tuple[float, float, float, float]]] = []
    doc = pdfium.PdfDocument(str(path))
    try:
        for index in range(len(doc)):
            page = doc[index]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            page.close()
            codes = zxingcpp.read_barcodes(image, formats=DATAMATRIX)
            assert len(codes) == 1, f"{path.name} page {index + 1}: {len(codes)} codes"
            pos = codes[0].position
            xs = [p.x * 25.4 / dpi for p in (pos.top_left, pos.top_right, pos.bottom_left,
                                             pos.bottom_right)]
            ys = [p.y * 25.4 / dpi for p in (pos.top_left, pos.top_right, pos.bottom_left,
                                             pos.bottom_right)]
            found.append((codes[0].text, (min(xs), min(ys), max(xs), max(ys))))
    finally:
        doc.close()
    return found
