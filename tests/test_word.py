"""Word letterheads: docxtpl under our environment, converted by a real headless LibreOffice."""

from __future__ import annotations

import csv
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import sample_feedback, sample_people
from pypdf import PdfReader
from typer.testing import CliRunner

from hhp_letters.campaign import load_campaign
from hhp_letters.cli import app
from hhp_letters.errors import ConverterUnavailable
from hhp_letters.problems import Origin
from hhp_letters.render import libreoffice
from hhp_letters.render.word import lint_template
from hhp_letters.scaffold import init_campaign

runner = CliRunner()
# CI installs LibreOffice and must run these; elsewhere they are skipped when it is missing.
needs_soffice = pytest.mark.skipif(libreoffice.find_soffice() is None and not os.environ.get("CI"),
                                   reason="LibreOffice (soffice) is not installed")
pytestmark = pytest.mark.libreoffice


def word_campaign(tmp_path: Path) -> Path:
    return init_campaign(tmp_path / "camp", sample=True).parent / "campaign-word.toml"


@pytest.fixture(scope="module")
def word_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if libreoffice.find_soffice() is None and not os.environ.get("CI"):
        pytest.skip("LibreOffice (soffice) is not installed")
    base = tmp_path_factory.mktemp("word")
    toml = word_campaign(base)
    out = base / "run"
    result = runner.invoke(app, ["letters", str(toml), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return toml.parent, out


@needs_soffice
def test_word_letters_read_back(word_run: tuple[Path, Path]) -> None:
    folder, out = word_run
    people, feedback = sample_people(folder), sample_feedback(folder, "hc-*.xlsx")
    pdfs = sorted((out / "letters" / "HC").glob("*.pdf"))
    treatment = {pid for pid, r in people.items()
                 if r["Allocation"] == "Treatment" and folder.joinpath("campaign.toml").exists()
                 and pid in feedback}
    assert {p.stem for p in pdfs} == treatment and len(pdfs) == 62
    for pdf in pdfs:
        assert pdf.with_suffix(".docx").is_file()  # the .docx is kept beside the PDF
        reader = PdfReader(pdf)
        assert len(reader.pages) == 1
        text = " ".join(reader.pages[0].extract_text().split())
        person = people[pdf.stem]
        assert f"Dear {person['Forename']}," in text
        for line in feedback[pdf.stem]:
            assert " ".join(line.split()) in text
        assert "Marcus Thorne-Ellery" in text
        fonts: Any = reader.pages[0]["/Resources"]["/Font"]  # type: ignore[index]
        for ref in fonts.values():
            descriptor = ref.get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor or "/FontFile" in descriptor
            assert "Carlito" in str(ref.get_object()["/BaseFont"])  # Calibri → Carlito
    # the other authorities still use the native letter
    assert not list((out / "letters" / "FB").glob("*.docx"))
    bundle = PdfReader(out / "bundles" / "HC-1.pdf")
    assert len(bundle.pages) == 62
    rows = list(csv.DictReader((out / "bundles" / "HC-1.csv").read_text().splitlines()))
    assert [int(r["first_page"]) for r in rows] == list(range(1, 63))


@needs_soffice
def test_word_run_verifies_and_rerenders_byte_identically(word_run: tuple[Path, Path]) -> None:
    folder, out = word_run
    result = runner.invoke(app, ["verify", str(out), "--participants",
                                 str(folder / "data" / "randomised.xlsx"), "--rerender"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    records = (out / "audit.jsonl").read_text()
    assert '"role":"word_template"' in records and '"kind":"docx"' in records


@needs_soffice
@pytest.mark.parametrize("line", [
    "<b>Great</b> & {{ work }} {% if x %}",
    "Tom & Jerry's \"court\" report — 100% <w:t>spot</w:t> on",
    "Zoë, Siobhán & Seán: naïve façades; ‘quotes’ “double” …",
])
def test_hostile_feedback_prints_literally_in_word(tmp_path: Path, line: str) -> None:
    toml = word_campaign(tmp_path)
    path = sorted((toml.parent / "data" / "feedback").glob("hc-*.xlsx"))[0]
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    pid = str(ws.cell(row=2, column=1).value)
    ws.cell(row=2, column=3).value = line
    ws.cell(row=2, column=4).value = "First line\nsecond line"
    wb.save(path)
    out = tmp_path / "run"
    result = runner.invoke(app, ["letters", str(toml), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = PdfReader(out / "letters" / "HC" / f"{pid}.pdf").pages[0].extract_text()
    assert " ".join(line.split()) in " ".join(text.split())
    assert "First line\nsecond line" in text  # a line break stays a line break


def _edit_template(toml: Path, old: str, new: str) -> Path:
    path = toml.parent / "templates" / "hc-letter.docx"
    with zipfile.ZipFile(path) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == "word/document.xml":
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode(), 1)
            zout.writestr(info, data)
    return path


def test_misspelt_placeholder_fails_check_naming_it(tmp_path: Path) -> None:
    toml = word_campaign(tmp_path)
    _edit_template(toml, "{{ first_name }}", "{{ fist_name }}")
    result = runner.invoke(app, ["check", str(toml)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    rows = list(csv.DictReader((toml.parent / "problems.csv").read_text(
        encoding="utf-8-sig").splitlines()))
    hit = [r for r in rows if r["code"] == "template_unknown_placeholder"]
    assert len(hit) == 1
    assert "{{ fist_name }}" in hit[0]["message"] and "first_name" in hit[0]["hint"]
    assert hit[0]["column"] == "authorities[2].template"
    assert hit[0]["file"] == "campaign-word.toml"


def test_lint_reports_smart_quotes_split_runs_and_spaced_braces(tmp_path: Path) -> None:
    toml = word_campaign(tmp_path)
    path = _edit_template(toml, "{{ date }}",
                          "{{ date }}</w:t></w:r><w:r><w:t>{% if area == \u201cX\u201d %}"
                          "{% endif %} { { area } }")
    _edit_template(toml, "Dear {{ first_name }},",
                   "Dear {</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>{ first_name }},")
    problems = lint_template(path, "templates/hc-letter.docx", Origin("campaign.toml"))
    codes = sorted(p.code for p in problems)
    assert "template_smart_quotes" in codes
    assert codes.count("template_split_placeholder") == 2  # split runs, and "{ { area } }"
    split = next(p for p in problems if "split {{ first_name }}" in p.message)
    assert split.level.value == "warning" and "type it again" in split.hint
    spaced = next(p for p in problems if "space between its braces" in p.message)
    assert spaced.is_error


def test_missing_libreoffice_is_a_clear_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hhp_letters.render.libreoffice.shutil.which", lambda name: None)
    with pytest.raises(ConverterUnavailable) as caught:
        libreoffice.Converter()
    assert "apt-get install libreoffice-writer-nogui" in str(caught.value)
    toml = word_campaign(tmp_path)
    result = runner.invoke(app, ["letters", str(toml), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "LibreOffice (soffice) is not installed" in result.output
    assert "libreoffice-writer-nogui" in result.output
    assert not (tmp_path / "run").exists()


def test_word_campaign_loads_with_its_template() -> None:
    from hhp_letters.resources import resource_dir
    campaign = load_campaign(resource_dir("samples") / "letters" / "campaign-word.toml")
    assert [a.template for a in campaign.spec.authorities] == [None, "templates/hc-letter.docx",
                                                                None]


@needs_soffice
def test_a_word_letter_that_runs_over_a_page_is_an_error_naming_it(tmp_path: Path) -> None:
    toml = word_campaign(tmp_path)
    path = sorted((toml.parent / "data" / "feedback").glob("hc-*.xlsx"))[0]
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    pid = str(ws.cell(row=2, column=1).value)
    ws.cell(row=2, column=3).value = " ".join(["remarkable"] * 400)
    wb.save(path)
    out = tmp_path / "run"
    result = runner.invoke(app, ["letters", str(toml), "--out", str(out)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert not out.exists()
    rows = list(csv.DictReader((toml.parent / "problems.csv").read_text(
        encoding="utf-8-sig").splitlines()))
    assert [(r["code"], r["participant_id"]) for r in rows] == [("overflow", pid)]
    skipped = runner.invoke(app, ["letters", str(toml), "--out", str(out), "--skip-invalid"])
    assert skipped.exit_code == 0, skipped.output
    assert not (out / "letters" / "HC" / f"{pid}.pdf").exists()
    assert len(list((out / "letters" / "HC").glob("*.pdf"))) == 61
    records = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    mine = [r for r in records if r.get("participant_id") == pid]
    assert [(r["status"], r["reason"], r["output"]) for r in mine] == [
        ("withheld", "overflow", None)]
    verified = runner.invoke(app, ["verify", str(out)], env={"COLUMNS": "200"})
    assert verified.exit_code == 0, verified.output
