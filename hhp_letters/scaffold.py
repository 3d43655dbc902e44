"""`hhp-letters init`: a new campaign folder.

By default a clean single-authority campaign, ready to be filled in::

    campaign.toml              one [[authorities]] table; every value to fill in says CHANGE ME
    README.txt                 what to do, step by step, in plain English
    brand/logo.png             stand-in images, marked as such (see is_placeholder), so
    signatures/signature.png     `check` reports them until they are replaced
    templates/letter.j2        the built-in wording (note.j2 for notes), named in campaign.toml
    data/randomised.xlsx       the randomised list's template: the canonical headers, no rows
    data/feedback/             (letters) where the managers' returned forms are saved

``sample=True`` copies the bundled fictional sample campaign instead (the demo and the tests).
Nothing scaffolded tells the user to edit a script: the samples' "edit samples/generate.py"
stays with the samples.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import stat
import string
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from hhp_letters.campaign import CAMPAIGN_FILE, Campaign, Kind
from hhp_letters.errors import UsageError
from hhp_letters.fields import display_name
from hhp_letters.problems import Origin, Problem, error
from hhp_letters.resources import resource_dir

_SHARED_SIGNATURE = re.compile(r'"\.\./\.\./signatures/([^"]+)"')

PLACEHOLDER_KEY = "hhp-placeholder"  # the PNG text chunk that marks a stand-in image
PLACEHOLDER_TEXT = "CHANGE ME"  # what every value to fill in in campaign.toml says
LIST_SHEET = "Allocation"
LOGO_FILE, SIGNATURE_FILE = "brand/logo.png", "signatures/signature.png"

# The list template's columns: canonical fields, under the header the reader maps unaided.
LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "letters": ("participant_id", "first_name", "last_name", "arm", "team",
                "manager_first_name", "address_1", "address_2", "address_3", "town",
                "postcode"),
    "notes": ("participant_id", "team", "site", "manager_first_name", "arm"),
}
_HEADER = {"manager_first_name": {"notes": "Manager first name", "letters": "Team manager"}}
_NOTES = {
    "participant_id": "The id the trial gave the person (or the team); keep leading zeros.",
    "first_name": "Their first name, as the letter greets them.",
    "last_name": "Their last name.",
    "arm": "treatment or control, as randomised.",
    "team": "Their team: each team gets its own feedback form.",
    "manager_first_name": "letters: the team manager (named on the team's form); notes: the "
                          "manager's first name, as the note greets them.",
    "address_1": "Home address: house number and street.",
    "address_2": "Optional second address line.",
    "address_3": "Optional third address line (locality).",
    "town": "Post town, e.g. BRACKNELL.",
    "postcode": "Postcode in full, e.g. RG12 1JD.",
    "site": "The building (site): sites are what was randomised.",
}


def init_campaign(target: Path, kind: Kind = "letters", *, sample: bool = False,
                  today: dt.date | None = None) -> Path:
    """Make a campaign folder at ``target`` (which must be new or empty) and return the path of
    its campaign.toml. ``today`` (default: the date now) sets the scaffold's dates: letters
    four weeks on, forms due in two."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not empty",
                         hint="choose a new folder name")
    tmp = target.with_name(f".{target.name}.init")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        if sample:
            _copy_sample(tmp, kind)
        else:
            _scaffold(tmp, kind, today or dt.date.today())
        if target.exists():
            target.rmdir()
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target / CAMPAIGN_FILE


def _copy_sample(tmp: Path, kind: Kind) -> None:
    """The bundled fictional campaign, with the signatures it shares copied in."""
    signatures = resource_dir("signatures")
    # never what a run left in the samples' folder: its ledger, keys, reports, hidden files
    shutil.copytree(resource_dir("samples") / kind, tmp, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", ".*", "ledger.jsonl", "problems.csv", "chase.*"))
    (tmp / "signatures").mkdir(exist_ok=True)
    for toml_path in sorted(tmp.glob("*.toml")):  # campaign.toml and its variants
        toml = toml_path.read_text(encoding="utf-8")
        for name in sorted(set(_SHARED_SIGNATURE.findall(toml))):
            shutil.copy2(signatures / name, tmp / "signatures" / name)
        toml_path.write_text(_SHARED_SIGNATURE.sub(r'"signatures/\1"', toml), encoding="utf-8")


def _scaffold(tmp: Path, kind: Kind, today: dt.date) -> None:
    templates = resource_dir("templates")
    source = templates / "scaffold"
    tmp.mkdir(parents=True)
    toml = string.Template((source / f"campaign-{kind}.toml").read_text(encoding="utf-8"))
    (tmp / CAMPAIGN_FILE).write_text(toml.substitute(
        date=(today + dt.timedelta(days=28)).isoformat(),
        due=(today + dt.timedelta(days=14)).isoformat()), encoding="utf-8")
    shutil.copyfile(source / f"README-{kind}.txt", tmp / "README.txt")
    body = "letter.j2" if kind == "letters" else "note.j2"
    (tmp / "templates").mkdir()
    shutil.copyfile(templates / body, tmp / "templates" / body)
    fonts = templates / "fonts"
    for rel, size, words in ((LOGO_FILE, (1200, 400), "YOUR LOGO HERE"),
                             (SIGNATURE_FILE, (900, 300), "Signature here")):
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(placeholder_png(size, words, fonts / "Carlito-Bold.ttf"))
    (tmp / "data").mkdir()
    if kind == "letters":
        (tmp / "data" / "feedback").mkdir()
    (tmp / "data" / "randomised.xlsx").write_bytes(list_template(kind))


def placeholder_png(size: tuple[int, int], words: str, font_file: Path) -> bytes:
    """A grey stand-in image saying ``words``, marked with the PNG text chunk
    :data:`PLACEHOLDER_KEY` (deterministic bytes)."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    w, h = size
    for i in range(0, 2 * (w + h), 40):  # a dashed frame: plainly not a real logo
        for x0, y0, x1, y1 in ((i, 0, i + 20, 6), (i, h - 6, i + 20, h), (0, i, 6, i + 20),
                               (w - 6, i, w, i + 20)):
            draw.rectangle((x0, y0, x1, y1), fill=(150, 150, 150))
    font = ImageFont.truetype(str(font_file), size=h // 5)
    box = draw.textbbox((0, 0), words, font=font)
    draw.text(((w - (box[2] - box[0])) / 2, (h - (box[3] - box[1])) / 2 - box[1]), words,
              fill=(120, 120, 120), font=font)
    info = PngImagePlugin.PngInfo()
    info.add_text(PLACEHOLDER_KEY, "made by hhp-letters init: replace this file")
    out = io.BytesIO()
    img.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def is_placeholder(path: Path) -> bool:
    """The image is a stand-in that `init` made (its PNG text chunk says so). Reads the
    header only, never the pixels; anything unreadable is not a placeholder (the image check
    reports it), and so is anything that is not a regular file (opening a pipe would block)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False
        with Image.open(path) as img:
            return img.format == "PNG" and PLACEHOLDER_KEY in img.info
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False


def placeholder_problems(campaign: Campaign) -> list[Problem]:
    """Errors for what `init` left to fill in: stand-in images (``placeholder_image``) and
    values of campaign.toml that still say CHANGE ME (``placeholder_value``), by key path."""
    problems: list[Problem] = []
    here = campaign.path.name

    def value(key: str, text: str | None, fix: str) -> None:
        if text and PLACEHOLDER_TEXT.casefold() in text.casefold():
            problems.append(error("placeholder_value", Origin(here, column=key),
                                  f"{key} still says {text!r}", fix))

    value("campaign.name", campaign.spec.campaign.name, "name the campaign in campaign.toml")
    for i, a in enumerate(campaign.spec.authorities, start=1):
        key = f"authorities[{i}]"
        for name, rel, what in (("logo", a.logo, "your council's logo"),
                                ("signatory.signature", a.signatory.signature,
                                 "the signatory's signature")):
            if is_placeholder(campaign.resolve(rel)):
                problems.append(error(
                    "placeholder_image", Origin(here, column=f"{key}.{name}"),
                    f"{key}.{name}: {rel} is the stand-in image `hhp-letters init` made",
                    f"replace {rel} with {what} (PNG or JPEG)"))
        value(f"{key}.name", a.name, "write your council's full name in campaign.toml")
        value(f"{key}.area", a.area, "write the place the letter names in campaign.toml")
        for j, line in enumerate(a.return_address, start=1):
            value(f"{key}.return_address[{j}]", line, "write the return address in "
                  "campaign.toml (drop lines you do not need)")
        value(f"{key}.signatory.name", a.signatory.name, "write the signatory's name in "
              "campaign.toml")
        value(f"{key}.signatory.title", a.signatory.title, "write the signatory's job title "
              "in campaign.toml")
    value("forms.return_to", campaign.spec.forms.return_to,
          "write whom managers return their forms to (your name and email) in campaign.toml")
    return problems


def list_header(kind: Kind) -> list[str]:
    return [_HEADER.get(f, {}).get(kind) or display_name(f) for f in LIST_FIELDS[kind]]


def list_template(kind: Kind) -> bytes:
    """The randomised list's template: the canonical headers on sheet "Allocation" (id
    columns formatted as text, an arm drop-down), and a sheet that explains each column."""
    from hhp_letters.forms import text_cell, workbook_bytes

    wb = Workbook()
    ws = wb.active
    if not isinstance(ws, Worksheet):
        raise TypeError("openpyxl gave no worksheet")
    ws.title = LIST_SHEET
    fields = LIST_FIELDS[kind]
    for c, (field, header) in enumerate(zip(fields, list_header(kind), strict=True), start=1):
        cell = text_cell(ws, 1, c, header)
        cell.font = Font(bold=True)
        cell.fill = PatternFill(fill_type="solid", start_color="FFD9D9D9", end_color="FFD9D9D9")
        column = ws.column_dimensions[cell.column_letter]
        column.width = 22 if field.startswith("address") else 16
        if field in ("participant_id", "postcode"):
            column.number_format = "@"  # typed ids keep their leading zeros
        if field == "arm":
            arms = DataValidation(type="list", formula1='"treatment,control"', allow_blank=True,
                                  showErrorMessage=True, errorTitle="Arm",
                                  error="Type treatment or control.")
            arms.add(f"{cell.column_letter}2:{cell.column_letter}100000")
            ws.add_data_validation(arms)
    ws.freeze_panes = "A2"
    guide = wb.create_sheet("Columns")
    text_cell(guide, 1, 1, "Column").font = Font(bold=True)
    text_cell(guide, 1, 2, "What to put in it").font = Font(bold=True)
    guide.column_dimensions["A"].width = 22
    guide.column_dimensions["B"].width = 90
    for r, (field, header) in enumerate(zip(fields, list_header(kind), strict=True), start=2):
        text_cell(guide, r, 1, header)
        text_cell(guide, r, 2, _NOTES[field])
    wb.active = 0
    return workbook_bytes(wb, dt.date(2000, 1, 1))


__all__ = ["LIST_SHEET", "PLACEHOLDER_KEY", "PLACEHOLDER_TEXT", "init_campaign",
           "is_placeholder", "list_header", "list_template", "placeholder_png",
           "placeholder_problems"]
