"""`init`: a clean single-authority campaign that says what to fill in, and `check` reports
nothing else until it is filled in; `init --sample` still copies the fictional samples."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tomllib
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image
from test_forms import feedback_sheet, fill_form, good_lines

from hhp_letters.campaign import load_campaign
from hhp_letters.errors import UsageError
from hhp_letters.fields import LIST_FIELDS, alias_index, normalise_header
from hhp_letters.forms import write_forms
from hhp_letters.report import check_campaign
from hhp_letters.resources import resource_dir
from hhp_letters.scaffold import (
    PLACEHOLDER_KEY,
    init_campaign,
    is_placeholder,
    placeholder_problems,
)

TODAY = dt.date(2026, 9, 1)
LETTERS_FILES = ["README.txt", "brand/logo.png", "campaign.toml", "data/feedback",
                 "data/randomised.xlsx", "signatures/signature.png", "templates/letter.j2"]
# what a fresh scaffold lacks besides its placeholders: the list's rows and the returned forms
TO_DO = {"empty_list", "feedback_not_found"}


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() or not any(p.iterdir()))


@pytest.fixture
def scaffold(tmp_path: Path) -> Path:
    return init_campaign(tmp_path / "wave-1", today=TODAY).parent


def test_init_scaffolds_a_clean_single_authority_campaign(scaffold: Path) -> None:
    assert files(scaffold) == LETTERS_FILES
    spec = tomllib.loads((scaffold / "campaign.toml").read_text(encoding="utf-8"))
    assert spec["campaign"]["require_approval"] is True
    assert spec["campaign"]["date"] == dt.date(2026, 9, 29)
    assert spec["forms"] == {"due": dt.date(2026, 9, 15),
                             "return_to": "CHANGE ME: your name and email address"}
    (authority,) = spec["authorities"]
    assert authority["logo"] == "brand/logo.png"
    assert authority["signatory"]["signature"] == "signatures/signature.png"
    assert authority["name"].startswith("CHANGE ME")
    assert spec["letters"]["body"] == "templates/letter.j2"
    assert (scaffold / "templates" / "letter.j2").read_bytes() == (
        resource_dir("templates") / "letter.j2").read_bytes()
    assert spec["inputs"]["participants"] == "data/randomised.xlsx"
    assert not any((scaffold / "data" / "feedback").iterdir())


def test_nothing_scaffolded_asks_for_a_script(scaffold: Path) -> None:
    for name in ("README.txt", "campaign.toml", "templates/letter.j2"):
        text = (scaffold / name).read_text(encoding="utf-8")
        assert not re.search(r"generate\.py|\.py\b|script", text, re.IGNORECASE), name
    readme = (scaffold / "README.txt").read_text(encoding="utf-8")
    assert "you never need to change a program" in readme
    for step in ("hhp-letters check .", "hhp-letters forms . --out forms",
                 "hhp-letters chase . --out chase.xlsx", "data/feedback/"):
        assert step in readme


def test_placeholder_images_are_marked(scaffold: Path, tmp_path: Path) -> None:
    for rel in ("brand/logo.png", "signatures/signature.png"):
        assert is_placeholder(scaffold / rel)
        with Image.open(scaffold / rel) as img:
            assert img.format == "PNG" and PLACEHOLDER_KEY in img.info
    assert not is_placeholder(resource_dir("samples") / "letters" / "brand" / "fb-logo.png")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG not really")
    assert not is_placeholder(tmp_path / "junk.png")
    assert not is_placeholder(tmp_path / "absent.png")


def test_the_list_template_has_the_canonical_headers(scaffold: Path) -> None:
    wb = openpyxl.load_workbook(scaffold / "data" / "randomised.xlsx")
    ws = wb["Allocation"]
    assert isinstance(ws, Worksheet)
    assert ws.max_row == 1
    headers = [str(c.value) for c in ws[1]]
    index = alias_index(LIST_FIELDS)
    assert [index[normalise_header(h)] for h in headers] == [
        "participant_id", "first_name", "last_name", "arm", "team", "manager_first_name",
        "address_1", "address_2", "address_3", "town", "postcode"]
    assert ws.column_dimensions["A"].number_format == "@"


def test_check_reports_only_what_is_left_to_fill_in(scaffold: Path) -> None:
    report = check_campaign(scaffold)
    codes = {p.code for p in report.problems}
    # the placeholders are reported once `check` calls placeholder_problems
    assert codes - {"placeholder_image", "placeholder_value"} == TO_DO
    assert all(p.is_error for p in report.problems)
    found = placeholder_problems(load_campaign(scaffold))
    columns = [p.origin.column for p in found]
    assert columns[:2] == ["authorities[1].logo", "authorities[1].signatory.signature"]
    assert set(columns) >= {"authorities[1].name", "authorities[1].area",
                            "authorities[1].return_address[1]",
                            "authorities[1].return_address[4]",
                            "authorities[1].signatory.name", "authorities[1].signatory.title"}
    assert {p.code for p in found} == {"placeholder_image", "placeholder_value"}
    assert found[0].message == ("authorities[1].logo: brand/logo.png is the stand-in image "
                                "`hhp-letters init` made")


def test_a_filled_in_scaffold_checks_clean(scaffold: Path, tmp_path: Path) -> None:
    folder = scaffold
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    for old, new in (("CHANGE ME: your council's full name", "Bracknell Forest Council"),
                     ("CHANGE ME: the place the letter names, e.g. Bracknell Forest",
                      "Bracknell Forest"),
                     ("CHANGE ME: building", "Time Square"),
                     ("CHANGE ME: street", "Market Street"),
                     ("CHANGE ME: TOWN", "BRACKNELL"), ("CHANGE ME: postcode", "RG12 1JD"),
                     ("CHANGE ME: the signatory's name", "A. Person"),
                     ("CHANGE ME: their job title", "Director of Children's Services"),
                     ("CHANGE ME: your name and email address", "sam@example.org")):
        text = text.replace(old, new)
    toml.write_text(text, encoding="utf-8")
    shutil.copyfile(resource_dir("samples") / "letters" / "brand" / "fb-logo.png",
                    folder / "brand" / "logo.png")
    shutil.copyfile(resource_dir("signatures") / "fb-signature.png",
                    folder / "signatures" / "signature.png")
    path = folder / "data" / "randomised.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Allocation"]
    assert isinstance(ws, Worksheet)
    for row in (["0001", "Alice", "Smith", "treatment", "Duty", "Rachel Okafor",
                 "1 High Street", "", "", "BRACKNELL", "RG12 1JD"],
                ["0002", "Ben", "Jones", "control", "Duty", "Rachel Okafor",
                 "2 Church Road", "", "", "BRACKNELL", "RG12 7QF"],
                ["0003", "Chloe", "Brown", "treatment", "Fostering", "Dev Patel",
                 "3 Mill Lane", "Binfield", "", "BRACKNELL", "RG42 1AB"]):
        ws.append(row)
    wb.save(path)
    campaign = load_campaign(folder)
    assert placeholder_problems(campaign) == []
    forms = write_forms(campaign, tmp_path / "forms")
    assert [f.path.name for f in forms.forms] == ["LA-duty.xlsx", "LA-fostering.xlsx"]
    assert feedback_sheet(forms.forms[0].path).cell(2, 1).value == "Team manager: Rachel Okafor"
    for f in forms.forms:
        fill_form(f.path, folder / "data" / "feedback" / f.path.name, good_lines)
    report = check_campaign(folder)
    assert report.ok, [str(p) for p in report.problems]
    assert "3 participants (2 treatment, 1 control); feedback matched for 2 of 2" in \
        report.verdict


def test_notes_scaffold(tmp_path: Path) -> None:
    folder = init_campaign(tmp_path / "notes", "notes", today=TODAY).parent
    assert files(folder) == ["README.txt", "brand/logo.png", "campaign.toml",
                             "data/randomised.xlsx", "signatures/signature.png",
                             "templates/note.j2"]
    spec = tomllib.loads((folder / "campaign.toml").read_text(encoding="utf-8"))
    assert spec["notes"]["body"] == "templates/note.j2" and "forms" not in spec
    ws = openpyxl.load_workbook(folder / "data" / "randomised.xlsx")["Allocation"]
    assert [c.value for c in ws[1]] == ["Participant ID", "Team", "Site", "Manager first name",
                                        "Arm"]
    report = check_campaign(folder)
    assert {p.code for p in report.problems} - {"placeholder_image", "placeholder_value"} == {
        "empty_list"}


def test_scaffolds_are_reproducible(tmp_path: Path) -> None:
    a = init_campaign(tmp_path / "a", today=TODAY).parent
    b = init_campaign(tmp_path / "b", today=TODAY).parent
    for rel in LETTERS_FILES:
        if (a / rel).is_file():
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_init_sample_keeps_working(tmp_path: Path) -> None:
    folder = init_campaign(tmp_path / "sample", "letters", sample=True).parent
    assert (folder / "data" / "feedback" / "fb-tom.xlsx").is_file()
    assert (folder / "signatures" / "fb-signature.png").is_file()
    assert "../../signatures" not in (folder / "campaign.toml").read_text(encoding="utf-8")
    # whatever a run left in the bundled folder (its ledger, keys) is never copied
    assert not (folder / "ledger.jsonl").exists() and not list(folder.glob(".*"))
    report = check_campaign(folder)
    assert report.ok and "391 participants (196 treatment, 195 control)" in report.verdict


def test_init_refuses_a_folder_in_use(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("mine")
    with pytest.raises(UsageError, match="already exists and is not empty"):
        init_campaign(tmp_path / "busy")
    assert (tmp_path / "busy" / "x.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    assert init_campaign(tmp_path / "empty", today=TODAY).is_file()
    assert not list(tmp_path.glob(".*init"))
