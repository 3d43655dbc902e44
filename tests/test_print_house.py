"""What a strict print and mailing house checks on arrival: PDF/X identification its preflight
accepts, brand colours printed as the brand guide gives them, a DataMatrix on every page that
its inserter camera reads and that matches the manifest, and folds that cross no line of text,
the date or the signature.

The PDF/X judgement is ``tests/pdfx_check.py`` (every ISO 15930-4 rule readable with pikepdf),
independent of the package's own preflight that ``verify`` runs. Codes are decoded by zxing-cpp
from a 200 dpi PDFium render, as a camera would see the page.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
import zxingcpp
from conftest import DATAMATRIX, CampaignBuilder, decoded_pages, read_problems, run_cli
from pdfx_check import X1A, X4, check_pdfx
from PIL import Image, ImageCms

from hhp_letters.render.colour import default_profile_path
from hhp_letters.render.datamatrix import MailPayload

MM = 72 / 25.4
A4_H = 841.89
# read_barcodes takes a set of formats (a lone format only converts to one implicitly)
FOLD_CLEAR = 1.4  # points: what the layout promises either side of a fold, less rounding

# Feedback of very different lengths, so lines fall at many heights down the page.
_SENTENCE = ("You stayed with a family through a very hard month and never let them feel "
             "alone. ")


def _rows(n: int) -> tuple[list[list[str]], dict[str, list[list[str]]]]:
    rows, feedback = [], []
    towns = ("Bracknell", "Crowthorne", "Sandhurst", "Binfield")
    for i in range(1, n + 1):
        pid = f"P{i:03d}"
        arm = "treatment" if i % 4 else "control"
        rows.append([pid, f"Name{i}", f"Surname{i}", arm, "BF", f"{i} Station Road",
                     towns[i % 4], f"RG12 {i % 9}AB"])
        if arm == "treatment":
            first = _SENTENCE * (1 + i % 4) + "Thank you."
            second = "Your notes are a model for the team. " * (1 + (i * 7) % 3)
            feedback.append([pid, first[:480], second.strip()])
    return rows, {"team.csv": feedback[::2], "team.xlsx": feedback[1::2]}


def build(root: Path, *, n: int = 24, edits: tuple[tuple[str, str], ...] = ()) -> Path:
    rows, feedback = _rows(n)
    builder = CampaignBuilder(root, fmt="csv", rows=rows, feedback=feedback,
                              toml_edits=list(edits))
    return builder.build()


def letters(campaign: Path, out: Path, *extra: str) -> Path:
    result = run_cli("letters", str(campaign), "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("house")
    return letters(build(base / "campaign"), base / "run")


def pdfs(run: Path, folder: str) -> list[Path]:
    return sorted((run / folder).rglob("*.pdf"))


def intent(path: Path) -> dict[str, object]:
    with pikepdf.open(path) as pdf:
        (oi,) = pdf.Root.OutputIntents
        info = pdf.docinfo
        return {"id": str(oi.OutputConditionIdentifier), "profile": "/DestOutputProfile" in oi,
                "version": str(info["/GTS_PDFXVersion"]), "header": pdf.pdf_version,
                "xmp": "/Metadata" in pdf.Root}


# --- PDF/X ------------------------------------------------------------------------------------

def test_bundles_and_letters_are_pdfx_1a_for_fogra39(run: Path) -> None:
    files = pdfs(run, "bundles") + pdfs(run, "letters")
    assert len(files) == 1 + 18  # one bundle, 18 treatment letters
    for path in files:
        assert check_pdfx(path, X1A) == [], path.name
        assert check_pdfx(path, X4) != [], "an X-1a file must not pass as X-4"
    bundle = intent(pdfs(run, "bundles")[0])
    letter = intent(pdfs(run, "letters")[0])
    assert bundle == {"id": "FOGRA39", "profile": True, "version": "PDF/X-1:2003",
                      "header": "1.4", "xmp": True}
    # a letter's own file names the registered condition without the 120 KB profile
    assert letter == {**bundle, "profile": False}


def test_the_embedded_profile_is_the_shipped_fogra39_profile(run: Path) -> None:
    with pikepdf.open(pdfs(run, "bundles")[0]) as pdf:
        profile = pdf.Root.OutputIntents[0].DestOutputProfile.read_bytes()
    assert profile == default_profile_path().read_bytes()


def test_same_inputs_give_byte_identical_files(tmp_path: Path) -> None:
    campaign = build(tmp_path / "one", n=8)
    shutil.copytree(campaign, tmp_path / "two")  # the same files, not regenerated
    first = letters(campaign, tmp_path / "run-1")
    second = letters(tmp_path / "two", tmp_path / "run-2")
    files = pdfs(first, "bundles") + pdfs(first, "letters")
    assert len(files) == 7
    for path in files:
        assert (second / path.relative_to(first)).read_bytes() == path.read_bytes(), path.name


def test_pdfx_4_embeds_the_profile_in_every_file(tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=8, edits=(('sort = "postcode"', 'sort = "postcode"\n'
                                                  'pdfx = "4"'),))
    out = letters(campaign, tmp_path / "run")
    for path in pdfs(out, "bundles") + pdfs(out, "letters"):
        assert check_pdfx(path, X4) == [], path.name
        assert intent(path) == {"id": "FOGRA39", "profile": True, "version": "PDF/X-4",
                                "header": "1.6", "xmp": True}
        assert path.read_bytes().startswith(b"%PDF-1.6\n")
    assert "PDF:            PDF/X-4, output intent FOGRA39" in \
        (out / "job-ticket.txt").read_text()


def test_an_uncoated_condition_by_its_common_name(tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=8, edits=(
        ('sort = "postcode"', 'sort = "postcode"\noutput_condition = "PSO Uncoated v3"'),
        ('code = "BF"\n', 'code = "BF"\ncolour = "#7A2E5B"\n')))
    out = letters(campaign, tmp_path / "run")
    for path in pdfs(out, "bundles") + pdfs(out, "letters"):
        assert check_pdfx(path, X1A) == [], path.name
        assert intent(path)["id"] == "FOGRA52"
        assert intent(path)["profile"] is False  # we ship no FOGRA52 profile; X-1a may name it
    (warned,) = [p for p in read_problems(campaign / "problems.csv")
                 if p["code"] == "brand_colour_rgb"]
    assert "through the FOGRA39 profile (no profile for FOGRA52 was given)" in warned["message"]
    assert "output intent FOGRA52 (PSO Uncoated v3 (FOGRA52)), named only" in \
        (out / "job-ticket.txt").read_text()


def test_check_refuses_pdfx_4_without_a_profile_for_the_condition(tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=4, edits=(
        ('sort = "postcode"', 'sort = "postcode"\noutput_condition = "FOGRA52"\npdfx = "4"'),))
    result = run_cli("check", str(campaign))
    assert result.exit_code == 1, result.output
    (problem,) = [p for p in read_problems(campaign / "problems.csv")
                  if p["code"] == "print_profile"]
    assert "PDF/X-4 needs the output condition's ICC profile embedded" in problem["message"]
    assert problem["column"] == "print"


def test_a_profile_for_another_condition_is_refused(tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=4, edits=(
        ('sort = "postcode"', 'sort = "postcode"\noutput_condition = "FOGRA52"\n'
                              'icc_profile = "press.icc"'),))
    shutil.copy(default_profile_path(), campaign / "press.icc")  # a FOGRA39 profile
    result = run_cli("check", str(campaign))
    assert result.exit_code == 1, result.output
    (problem,) = [p for p in read_problems(campaign / "problems.csv")
                  if p["code"] == "print_profile"]
    assert "built from FOGRA39 data but the output condition is FOGRA52" in problem["message"]


def test_a_missing_profile_file_is_named(tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=4, edits=(
        ('sort = "postcode"', 'sort = "postcode"\nicc_profile = "brand/press.icc"'),))
    result = run_cli("check", str(campaign))
    assert result.exit_code == 1, result.output
    (problem,) = read_problems(campaign / "problems.csv")
    assert (problem["code"], problem["column"]) == ("print_profile", "print.icc_profile")
    assert problem["message"].startswith("print.icc_profile: brand/press.icc cannot be read")


def test_an_unknown_condition_is_a_campaign_error(tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=4, edits=(
        ('sort = "postcode"', 'sort = "postcode"\noutput_condition = "FOGRA99"'),))
    result = run_cli("check", str(campaign))
    assert result.exit_code == 1, result.output
    assert "unknown output condition 'FOGRA99'" in result.output
    assert "FOGRA39, FOGRA47, FOGRA51, FOGRA52" in result.output


def test_verify_reports_conformance_and_catches_a_stripped_intent(run: Path,
                                                                   tmp_path: Path) -> None:
    result = run_cli("verify", str(run))
    assert result.exit_code == 0, result.output
    assert "every PDF is PDF/X-1a:2003 for FOGRA39" in result.output
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    bundle = pdfs(broken, "bundles")[0]
    with pikepdf.open(bundle, allow_overwriting_input=True) as pdf:
        del pdf.Root["/OutputIntents"]
        pdf.save(bundle)
    result = run_cli("verify", str(broken))
    assert result.exit_code == 1
    assert "0 PDF/X output intents; there must be exactly one" in result.output


# --- colour -----------------------------------------------------------------------------------

def fill_colours(path: Path) -> Iterator[tuple[str, tuple[float, ...]]]:
    """(what is painted, fill colour) for each text show, rectangle fill and image, page and
    letterhead form alike."""
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0]
        owners: list[pikepdf.Object | pikepdf.Page] = [
            page, *[x for _, x in page.Resources.XObject.items() if x.get("/Subtype") == "/Form"]]
        for owner in owners:
            colour: tuple[float, ...] = (0, 0, 0, 1)
            for op in pikepdf.parse_content_stream(owner):
                name = str(op.operator)
                if name in ("k", "g", "rg", "sc", "scn"):
                    colour = tuple(float(Decimal(str(v))) for v in op.operands)
                    if name != "k":
                        yield f"colour operator {name}", colour
                elif name in ("Tj", "TJ"):
                    yield "text", colour
                elif name == "f":
                    yield "fill", colour


def test_a_cmyk_brand_colour_is_printed_exactly_as_given(tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=4, edits=(
        ('code = "BF"\n', 'code = "BF"\ncolour = { cmyk = [0, 62, 25, 52] }\n'),))
    out = letters(campaign, tmp_path / "run")
    painted = set(fill_colours(pdfs(out, "letters")[0]))
    assert ("fill", (0.0, 0.62, 0.25, 0.52)) in painted  # the rules beside the feedback
    assert {c for what, c in painted if what == "text"} == {(0.0, 0.0, 0.0, 1.0)}  # K only
    assert not [p for p in read_problems(campaign / "problems.csv")
                if p["code"] == "brand_colour_rgb"]


def test_an_rgb_brand_colour_goes_through_the_icc_profile_and_check_says_so(
        tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=4, edits=(
        ('code = "BF"\n', 'code = "BF"\ncolour = "#7A2E5B"\n'),))
    out = letters(campaign, tmp_path / "run")
    # What LittleCMS makes of the colour through the shipped profile, relative colorimetric
    # with black point compensation, as a colour-managed design tool would convert it.
    srgb = ImageCms.createProfile("sRGB")
    press = ImageCms.getOpenProfile(str(default_profile_path()))
    transform = ImageCms.buildTransform(
        srgb, press, "RGB", "CMYK", ImageCms.Intent.RELATIVE_COLORIMETRIC,
        ImageCms.Flags.BLACKPOINTCOMPENSATION | ImageCms.Flags.NOOPTIMIZE)
    pixel = ImageCms.applyTransform(Image.new("RGB", (1, 1), (0x7A, 0x2E, 0x5B)), transform)
    assert pixel is not None
    expected = tuple(round(v / 2.55) / 100 for v in pixel.getpixel((0, 0)))  # type: ignore[union-attr]
    fills = {c for what, c in fill_colours(pdfs(out, "letters")[0]) if what == "fill"}
    assert expected in fills
    naive = (0.0, 0.62, 0.25, 0.52)  # the old formula's answer for the same hex
    assert naive not in fills
    (warned,) = [p for p in read_problems(campaign / "problems.csv")
                 if p["code"] == "brand_colour_rgb"]
    assert warned["level"] == "warning" and warned["column"] == "authorities[1].colour"
    c, m, y, k = (round(v * 100) for v in expected)
    assert f"prints as C{c} M{m} Y{y} K{k} through the FOGRA39 profile, ΔE" in warned["message"]
    assert re.search(r"ΔE \d+\.\d", warned["message"])


# --- the mail-integrity code ------------------------------------------------------------------

def manifest(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def job_id(run: Path) -> str:
    (line,) = [ln for ln in (run / "job-ticket.txt").read_text().splitlines()
               if ln.startswith("Job id:")]
    return line.split()[-1]


def test_every_bundle_page_decodes_to_its_manifest_row(run: Path) -> None:
    (bundle,) = pdfs(run, "bundles")
    rows = manifest(bundle.with_suffix(".csv"))
    pages = decoded_pages(bundle)
    assert len(pages) == len(rows) == 18
    for row, (text, _) in zip(rows, pages, strict=True):
        payload = MailPayload.parse(text)
        assert text == row["code"]
        assert (payload.job, payload.bundle, payload.envelope, payload.page, payload.pages) \
            == (job_id(run), "1", int(row["sequence"]), 1, 1)
    assert len({t for t, _ in pages}) == len(pages)


def test_duplex_backs_carry_page_2_of_2(tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=6, edits=(("duplex = false", "duplex = true"),))
    out = letters(campaign, tmp_path / "run")
    (bundle,) = pdfs(out, "bundles")
    rows = manifest(bundle.with_suffix(".csv"))
    texts = [MailPayload.parse(t) for t, _ in decoded_pages(bundle)]
    assert [(p.envelope, p.page, p.pages) for p in texts] == [
        (int(r["sequence"]), i, 2) for r in rows for i in (1, 2)]
    assert [r["code"] for r in rows] == [MailPayload.parse(t).text() for t, _ in
                                         decoded_pages(bundle)[::2]]


def test_the_code_sits_where_the_job_ticket_says_clear_of_window_and_folds(run: Path) -> None:
    ticket = (run / "job-ticket.txt").read_text()
    match = re.search(r"at x ([\d.]+)-([\d.]+) mm, y ([\d.]+)-([\d.]+) mm", ticket)
    assert match is not None, ticket
    x0, x1, y0, y1 = (float(v) for v in match.groups())
    for _, (a, b, c, d) in decoded_pages(pdfs(run, "bundles")[0])[:3]:
        assert (a, b, c, d) == pytest.approx((x0, y0, x1, y1), abs=0.6)
    # DL window band on the sheet (print-spec A8: x 20-100, y 60-84 mm) and folds at 99/198
    assert y0 > 198 + 2 and not (x0 < 100 and x1 > 20 and y0 < 84 and y1 > 60)
    assert "HHP1|<job id>|<bundle number>|<envelope sequence, 6 digits>" in ticket


def test_integrity_code_can_be_turned_off(tmp_path: Path) -> None:
    campaign = build(tmp_path / "c", n=4, edits=(
        ('sort = "postcode"', 'sort = "postcode"\nintegrity_code = false'),))
    out = letters(campaign, tmp_path / "run")
    (bundle,) = pdfs(out, "bundles")
    doc = pdfium.PdfDocument(str(bundle))
    image = doc[0].render(scale=200 / 72, grayscale=True).to_pil()
    doc.close()
    assert zxingcpp.read_barcodes(image, formats=DATAMATRIX) == []
    assert "Mail-integrity code" not in (out / "job-ticket.txt").read_text()
    assert {r["code"] for r in manifest(bundle.with_suffix(".csv"))} == {""}


# --- folds ------------------------------------------------------------------------------------

def test_no_fold_crosses_a_text_line_the_date_or_the_signature(run: Path) -> None:
    folds = (99 * MM, 198 * MM)  # DL: Z-fold in thirds, from the top
    checked = 0
    for path in pdfs(run, "letters"):
        doc = pdfium.PdfDocument(str(path))
        page = doc[0]
        text = page.get_textpage()
        boxes = [text.get_rect(i) for i in range(text.count_rects())]
        images = [obj.get_bounds() for obj in page.get_objects(max_depth=2)
                  if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
        text.close()
        page.close()
        doc.close()
        assert len(images) >= 3  # logo, signature, code
        for left, bottom, _right, top in [*boxes, *images]:
            for fold in folds:
                y = A4_H - fold
                assert not (bottom < y - FOLD_CLEAR < top or bottom < y + FOLD_CLEAR < top), \
                    f"{path.name}: the fold at {fold / MM:.0f} mm crosses {left:.0f},{bottom:.0f}"
                checked += 1
    assert checked > 18 * 20
