"""The Word letterhead corpus (tests/word_corpus.py) really has the shapes it claims.

Two kinds of test: the .docx files are built the way their descriptions say (OOXML read back
with lxml), and, filled with docxtpl and converted by a real LibreOffice, each PDF has the
geometry its ``expect`` claims: page size, where the address block lies relative to the
window band, one page, fold crossings. Geometry is checked with two independent readers:
pypdfium2 (ink boxes and line slots, via ``word_corpus.measure``) and pdfplumber.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import docx
import pdfplumber
import pytest
import word_corpus as wc
from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

# The placeholders hhp-letters fills (the brief's list, including the new ones).
PLACEHOLDERS = {"first_name", "last_name", "name_line", "address", "address_1", "address_2",
                "address_3", "town", "postcode", "feedback_1", "feedback_2", "signatory",
                "signature", "date", "authority", "area", "team", "manager_first_name",
                "reference"}
EXPECTS = {"ok", "page_size", "address_outside_window", "address_overflow", "fold_warning"}
CASES = {case.name: case for case in wc.CASES}
FONTS = Path(__file__).resolve().parents[1] / "templates" / "fonts"
PT_TOLERANCE_MM = 0.5 / wc.PT_PER_MM  # page size to ±0.5 pt (print-spec P1)
FOLD_CLEARANCE = 1.0  # mm of ink on each side of a fold that a crossing line must have

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None and not os.environ.get("CI"),
                                   reason="LibreOffice (soffice) is not installed")


# --- the templates ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return wc.build_all(tmp_path_factory.mktemp("corpus"))


def xml_parts(path: Path) -> dict[str, etree._Element]:
    with zipfile.ZipFile(path) as zf:
        return {name: etree.fromstring(zf.read(name)) for name in zf.namelist()
                if re.fullmatch(r"word/(document|header\d*|footer\d*|styles|numbering)\.xml",
                                name)}


def texts(element: etree._Element) -> str:
    return "".join(element.xpath(".//w:t/text()", namespaces=wc.NS))


def test_the_corpus_has_the_shapes_asked_for() -> None:
    assert len(CASES) == len(wc.CASES) >= 12
    assert {case.expect for case in wc.CASES} == EXPECTS
    for case in wc.CASES:
        assert case.description and case.name.isidentifier()
    assert CASES["six_line_fits"].sample.address_lines == (
        "Priya Okafor", "Flat 3 Rosewood Court", "14 Chestnut Avenue", "Bengeo", "HERTFORD",
        "SG14 3AB")


def test_every_template_is_a_docx_using_only_our_placeholders(corpus: dict[str, Path]) -> None:
    assert set(corpus) == set(CASES)
    for name, path in corpus.items():
        assert path.name == f"{name}.docx"
        docx.Document(str(path))  # python-docx (and so Word's schema order) can read it back
        used = DocxTemplate(str(path)).get_undeclared_template_variables(
            jinja_env=SandboxedEnvironment())
        assert used <= PLACEHOLDERS, (name, used - PLACEHOLDERS)
        assert {"first_name", "signature", "signatory"} <= used, name


# Each case: (part, XPath) pairs that must match, proving the template is built as described.
STRUCTURE: dict[str, list[tuple[str, str]]] = {
    "header_logo_footer": [
        ("header", "//w:drawing/wp:inline//a:blip"),
        ("footer", "//w:t[contains(., 'County Hall')]"),
        ("document", "//w:pgMar[@w:left='1440' and @w:top='1440']"),
        ("styles", "//w:rPrDefault//w:rFonts[@w:ascii='Calibri']"),
        ("styles", "//w:rPrDefault/w:rPr/w:sz[@w:val='22']")],
    "table_address": [
        ("document", "//w:tbl[w:tblPr/w:tblpPr[@w:vertAnchor='page' and @w:horzAnchor='page']]"
                     "//w:t[.='{{ address }}']"),
        ("document", "//w:tblBorders/w:top[@w:val='none']")],
    "frame_address": [
        ("document", "//w:p[w:pPr/w:framePr[@w:vAnchor='page' and @w:hAnchor='page']]"
                     "//w:t[.='{{ address }}']")],
    "textbox_address": [
        ("document", "//mc:AlternateContent/mc:Choice[@Requires='wps']"
                     "//wp:anchor[wp:positionV/@relativeFrom='page']//wps:txbx"
                     "//w:t[.='{{ address }}']"),
        ("document", "//mc:AlternateContent/mc:Fallback//v:shape"
                     "[contains(@style, 'mso-position-vertical-relative:page')]/v:textbox"
                     "//w:t[.='{{ address }}']"),
        ("document", "//wps:spPr/a:ln/a:noFill")],
    "bullet_feedback": [
        ("document", "//w:p[w:pPr/w:numPr/w:numId/@w:val='10']//w:t[.='{{ feedback_1 }}']"),
        ("document", "//w:p[w:pPr/w:numPr/w:numId/@w:val='10']//w:t[.='{{ feedback_2 }}']"),
        ("numbering", "//w:num[@w:numId='10']"),
        ("numbering", "//w:abstractNum[@w:abstractNumId='20']//w:numFmt[@w:val='bullet']"),
        ("styles", "//w:pPrDefault//w:spacing[@w:after='160' and @w:line='259']")],
    "table_feedback": [
        ("document", "//w:tbl[.//w:t[.='What they did well'] and .//w:t[.='Why it mattered']]"
                     "//w:t[.='{{ feedback_2 }}']")],
    "arial_2cm": [
        ("styles", "//w:rPrDefault//w:rFonts[@w:ascii='Arial']"),
        ("document", "//w:pgMar[@w:left='1134' and @w:right='1134']")],
    "date_right_aligned": [
        ("document", "//w:p[w:pPr/w:jc/@w:val='right'][.//w:t[.='{{ date }}']]"
                     "/following-sibling::w:p//w:t[.='{{ name_line }}']")],
    "us_letter": [
        ("document", "//w:pgSz[@w:w='12240' and @w:h='15840']"),
        ("styles", "//w:rPrDefault//w:lang[@w:val='en-US']")],
    "address_top_right": [
        ("document", "//w:p[w:pPr/w:ind[@w:left >= 5669]]//w:t[.='{{ address }}']")],
    "six_line_fits": [
        ("styles", "//w:style[@w:styleId='Address']//w:spacing[@w:line='216' and "
                   "@w:lineRule='exact']"),
        ("styles", "//w:style[@w:styleId='Address']//w:sz[@w:val='20']")],
    "six_line_overflows": [
        ("styles", "//w:style[@w:styleId='Address']//w:spacing[@w:line='300' and "
                   "@w:lineRule='exact']"),
        ("styles", "//w:style[@w:styleId='Address']//w:sz[@w:val='24']")],
    "continuation_header": [
        ("document", "//w:sectPr/w:titlePg"),
        ("document", "//w:sectPr/w:headerReference[@w:type='first']"),
        ("document", "//w:sectPr/w:headerReference[@w:type='default']"),
        ("header", "//w:fldSimple[contains(@w:instr, 'PAGE')]")],
    "soft_hyphens_signature_table": [
        ("document", "//w:softHyphen"),
        ("document", "//w:t[contains(., '\u00a0')]"),
        ("document", "//w:tbl//w:t[.='{{ signature }}']")],
    "brand_colour_header": [
        ("header", "//w:r[w:rPr/w:color/@w:val='005EB8']/w:t[.='{{ authority }}']"),
        ("header", "//wp:anchor[wp:positionH/@relativeFrom='page']//a:blip")],
    "split_placeholder": [
        ("document", "//w:r[w:rPr/w:b]/w:t[.='{{ first_']"),
        ("document", "//w:r[not(w:rPr)]/w:t[.='name }},']")],
    "address_at_2cm_margin": [
        ("document", "//w:pgMar[@w:left='1134']"),
        ("document", "//w:p[not(w:pPr/w:ind)]//w:t[.='{{ address }}']")],
    "fold_crossing": [
        ("document", "//w:p[not(.//w:t)]/following-sibling::w:p[1][not(.//w:t)]"
                     "/following-sibling::w:p[1]//w:t[.='Yours sincerely,']")],
    "address_fields": [
        ("document", "//w:t[.='{%p if address_2 %}']"),
        ("document", "//w:t[.='{{ postcode }}']")],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_template_is_built_as_described(corpus: dict[str, Path], name: str) -> None:
    parts = xml_parts(corpus[name])
    for part, xpath in STRUCTURE[name]:
        roots = [root for key, root in parts.items() if re.fullmatch(f"word/{part}\\d*\\.xml",
                                                                      key)]
        assert any(root.xpath(xpath, namespaces=wc.NS) for root in roots), (name, part, xpath)


def test_the_split_placeholder_is_in_no_single_run(corpus: dict[str, Path]) -> None:
    body = xml_parts(corpus["split_placeholder"])["word/document.xml"]
    runs = body.xpath("//w:t/text()", namespaces=wc.NS)
    assert not any("{{ first_name }}" in t for t in runs)
    assert "Dear {{ first_name }}," in texts(body)


# --- filled and converted -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdfs(corpus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every case filled with its sample and converted to PDF by one LibreOffice process."""
    if shutil.which("soffice") is None and not os.environ.get("CI"):
        pytest.skip("LibreOffice (soffice) is not installed")
    base = tmp_path_factory.mktemp("filled")
    signature = wc.write_signature(base / "signature.png")
    filled = [wc.fill(path, base / "docx" / path.name, CASES[name].sample, signature)
              for name, path in corpus.items()]
    profile = Path(tempfile.mkdtemp(prefix="corpus-lo-"))
    try:
        fonts = profile / "user" / "fonts"
        fonts.mkdir(parents=True)
        for font in FONTS.glob("Carlito-*.ttf"):  # as hhp-letters does: Calibri keeps metrics
            shutil.copy2(font, fonts / font.name)
        subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                        "--norestore", "--convert-to", "pdf", "--outdir", str(base / "pdf"),
                        *map(str, filled)], check=True, capture_output=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    out = {name: base / "pdf" / f"{name}.pdf" for name in corpus}
    missing = [name for name, pdf in out.items() if not pdf.is_file()]
    assert not missing, f"LibreOffice made no PDF for {missing}"
    return out


def plumber_address_box(pdf: Path, sample: wc.Sample) -> wc.Box:
    """The address block as pdfplumber sees it (its em boxes), page 1, in mm."""
    with pdfplumber.open(pdf) as doc:
        lines = doc.pages[0].extract_text_lines()
    found = [ln for ln in lines if ln["text"].strip() in sample.address_lines]
    assert [ln["text"].strip() for ln in found] == list(sample.address_lines)
    mm = wc.PT_PER_MM
    return wc.Box(min(ln["x0"] for ln in found) / mm, min(ln["top"] for ln in found) / mm,
                  max(ln["x1"] for ln in found) / mm, max(ln["bottom"] for ln in found) / mm)


def is_a4(size: tuple[float, float]) -> bool:
    return all(abs(a - b) <= PT_TOLERANCE_MM for a, b in zip(size, wc.A4_MM, strict=True))


def intruders(m: wc.Measured, sample: wc.Sample) -> list[str]:
    """Anything but the address that falls in the window's reach on page 1."""
    found = [f"text {ln.text!r} at {ln.loose}" for ln in m.others(sample)
             if ln.page == 0 and ln.loose.intersects(wc.REACH)]
    found += [f"image at {box}" for page, box in m.images
              if page == 0 and box.intersects(wc.REACH)]
    found += [f"drawing at {box}" for page, box in m.paths
              if page == 0 and box.intersects(wc.REACH)]
    return found


def crossings(m: wc.Measured) -> list[str]:
    lines = [f"{fold:g} mm through {ln.text!r} ({'loose' if loose else 'ink'})"
             for loose in (False, True) for fold, ln in m.fold_crossings(loose=loose)]
    images = [f"{fold:g} mm through an image at {box}" for _, box in m.images
              for fold in wc.FOLDS if box.y0 < fold < box.y1]
    return lines + images


@needs_soffice
@pytest.mark.libreoffice
@pytest.mark.parametrize("name", sorted(CASES))
def test_converted_letter_has_the_claimed_geometry(pdfs: dict[str, Path], name: str) -> None:
    case = CASES[name]
    m = wc.measure(pdfs[name])
    ink = m.address_box(case.sample, loose=False)
    slot = m.address_box(case.sample, loose=True)
    plumber = plumber_address_box(pdfs[name], case.sample)
    boxes = {"ink": ink, "slot": slot, "pdfplumber": plumber}
    assert len(m.pages) == 1, f"{name}: {len(m.pages)} pages"
    assert is_a4(m.pages[0]) == (case.expect != "page_size"), m.pages[0]
    assert not intruders(m, case.sample), intruders(m, case.sample)
    if case.expect == "page_size":
        assert all(abs(a - b) <= PT_TOLERANCE_MM
                   for a, b in zip(m.pages[0], wc.LETTER_MM, strict=True)), m.pages[0]
    if case.expect in ("ok", "page_size", "fold_warning"):
        for kind, box in boxes.items():
            assert wc.ADDRESS_BAND.contains(box), f"{name}: address ({kind}) at {box}"
    elif case.expect == "address_outside_window":
        for kind, box in boxes.items():
            assert box.height <= wc.ADDRESS_BAND.height, f"{name}: ({kind}) would not fit"
            assert not wc.ADDRESS_BAND.contains(box), f"{name}: address ({kind}) at {box}"
    elif case.expect == "address_overflow":
        for kind, box in boxes.items():
            assert box.height > wc.ADDRESS_BAND.height, f"{name}: ({kind}) {box} fits"
        # placed for the window (top-left corner in the band), too tall to fit it
        assert wc.ADDRESS_BAND.x0 <= ink.x0 and wc.ADDRESS_BAND.y0 <= slot.y0 < wc.ADDRESS_BAND.y1
    if case.expect == "fold_warning":
        deep = [ln for fold, ln in m.fold_crossings(loose=False)
                if ln.tight.y0 + FOLD_CLEARANCE <= fold <= ln.tight.y1 - FOLD_CLEARANCE]
        assert deep, f"{name}: no line crosses a fold by {FOLD_CLEARANCE} mm: {crossings(m)}"
    else:
        assert not crossings(m), f"{name}: {crossings(m)}"


@needs_soffice
@pytest.mark.libreoffice
def test_the_two_address_outside_window_cases_differ_as_described(
        pdfs: dict[str, Path]) -> None:
    top_right = wc.measure(pdfs["address_top_right"]).address_box(wc.STANDARD, loose=False)
    assert not top_right.intersects(wc.VISIBLE)  # wholly out of the window
    at_margin = wc.measure(pdfs["address_at_2cm_margin"]).address_box(wc.STANDARD, loose=False)
    assert wc.VISIBLE.contains(at_margin)  # visible, but inside the 5 mm clear margin
    assert at_margin.x0 < wc.ADDRESS_BAND.x0 and wc.ADDRESS_BAND.y0 <= at_margin.y0
    assert at_margin.y1 <= wc.ADDRESS_BAND.y1


@needs_soffice
@pytest.mark.libreoffice
def test_six_line_address_just_fits_and_its_twin_overflows(pdfs: dict[str, Path]) -> None:
    fits = wc.measure(pdfs["six_line_fits"]).address_box(wc.SIX_LINES, loose=True)
    overflows = wc.measure(pdfs["six_line_overflows"]).address_box(wc.SIX_LINES, loose=True)
    assert 23.0 < fits.height < wc.ADDRESS_BAND.height  # just under 24 mm, even as slots
    assert overflows.height > wc.ADDRESS_BAND.height + 5


@needs_soffice
@pytest.mark.libreoffice
@pytest.mark.parametrize("name", sorted(CASES))
def test_converted_letter_reads_as_filled(pdfs: dict[str, Path], name: str) -> None:
    sample = CASES[name].sample
    m = wc.measure(pdfs[name])
    text = " ".join(ln.text for ln in m.lines if ln.page == 0)
    assert "{{" not in text and "{%" not in text and "}}" not in text
    for wanted in (f"Dear {sample.first_name},", sample.feedback_1, sample.feedback_2,
                   sample.signatory_name, sample.signatory_title, sample.team, sample.area):
        assert wanted in text, (name, wanted)
    # the signature is an inline image 45 mm wide, below the body
    assert any(abs(box.width - 45) < 0.2 and box.y0 > wc.FOLDS[0] for _, box in m.images)
    if name == "continuation_header":
        assert "continued" not in text  # the later-pages header never shows on page 1
    if name == "soft_hyphens_signature_table":
        assert "\u00ad" not in text and "children, young" in text  # no break: nothing shows
