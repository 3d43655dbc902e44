"""The Word letterhead corpus (tests/word_corpus.py) end to end, as a user and a print house see
it: `check` refuses each letterhead that cannot be printed, naming the template, the problem
and the fix in Word; every other letterhead makes letters that pass `verify` (with
`--participants` and `--rerender`), hold no RGB colour anywhere, carry one subset name per font
program in each bundle (pdffonts), and put the address inside the envelope window band
(measured on every letter with word_corpus.measure).

Runs are shared to keep LibreOffice starts down: each refused letterhead is `check`ed in a
campaign of its own (the exit code is its verdict alone); all accepted letterheads are
authorities of ONE campaign (one `check`, one `letters`, one `verify --rerender`).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import openpyxl
import pikepdf
import pytest
import word_corpus as wc
from typer.testing import CliRunner, Result

from hhp_letters.campaign import Envelope
from hhp_letters.cli import app
from hhp_letters.model import LetterJob
from hhp_letters.problems import Origin
from hhp_letters.render import libreoffice
from hhp_letters.scaffold import init_campaign

runner = CliRunner()
ENV = {"COLUMNS": "250"}
# CI installs LibreOffice and must run these; elsewhere they are skipped when it is missing.
needs_soffice = pytest.mark.skipif(libreoffice.find_soffice() is None and not os.environ.get("CI"),
                                   reason="LibreOffice (soffice) is not installed")
pytestmark = [pytest.mark.libreoffice, needs_soffice]

ACCEPTED = tuple(c for c in wc.CASES if c.expect in ("ok", "fold_warning"))
REFUSED = tuple(c for c in wc.CASES if c.expect not in ("ok", "fold_warning"))
# what `check` must say for each refusal: the problem code and (part of) the Word fix
REFUSAL = {"page_size": ("template_page_size", "Layout → Size → A4"),
           "address_outside_window": ("template_address_window",
                                      "move the address block so it starts"),
           "address_overflow": ("template_address_overflow", "Line spacing → Exactly")}
HC_NAMES = ("HC", "Harrowmere County Council")
LIST_COLUMNS = {"id": 0, "first": 1, "last": 2, "authority": 3, "street": 6, "town": 9,
                "postcode": 10}


# --- building campaigns -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return wc.build_all(tmp_path_factory.mktemp("corpus"))


def _campaign(folder: Path) -> Path:
    toml = init_campaign(folder, sample=True).parent / "campaign-word.toml"
    (toml.parent / "templates" / "hc-letter.docx").unlink()
    return toml


def _hc_block(text: str) -> str:
    match = re.search(r"\[\[authorities\]\]\ncode = \"HC\"\n.*?\n\n", text, re.DOTALL)
    assert match is not None
    return match.group(0)


def _rows(toml: Path) -> Iterator[tuple[object, ...]]:
    ws = openpyxl.load_workbook(toml.parent / "data" / "randomised.xlsx")["Allocation"]
    yield from ws.iter_rows(min_row=4, values_only=True)


def _set_addresses(toml: Path, assign: dict[int, tuple[str, wc.Sample]]) -> None:
    """HC's rows (by their order among HC rows, modulo ``len(assign)``): authority code and
    the sample's address (names stay the participants' own)."""
    path = toml.parent / "data" / "randomised.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Allocation"]
    k = 0
    for row in ws.iter_rows(min_row=4):
        if row[LIST_COLUMNS["authority"]].value not in HC_NAMES:
            continue
        code, sample = assign[k % len(assign)]
        k += 1
        row[LIST_COLUMNS["authority"]].value = code
        street = (*sample.street, None, None, None)
        for i in range(3):
            row[LIST_COLUMNS["street"] + i].value = street[i]
        row[LIST_COLUMNS["town"]].value = sample.town
        row[LIST_COLUMNS["postcode"]].value = sample.postcode
    wb.save(path)


def _problems(toml: Path) -> list[dict[str, str]]:
    path = toml.parent / "problems.csv"
    return list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))


@dataclass(frozen=True)
class Refused:
    toml: Path
    result: Result
    rows: list[dict[str, str]]


@pytest.fixture(scope="module")
def refused(corpus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, Refused]:
    """Each refused letterhead as HC's template in a campaign of its own, `check`ed."""
    out = {}
    for case in REFUSED:
        toml = _campaign(tmp_path_factory.mktemp(case.name) / "camp")
        shutil.copy(corpus[case.name], toml.parent / "templates" / f"{case.name}.docx")
        toml.write_text(toml.read_text().replace("templates/hc-letter.docx",
                                                 f"templates/{case.name}.docx"))
        _set_addresses(toml, {0: ("HC", case.sample)})
        result = runner.invoke(app, ["check", str(toml)], env=ENV)
        out[case.name] = Refused(toml, result, _problems(toml))
    return out


@dataclass(frozen=True)
class Accepted:
    toml: Path
    codes: dict[str, str]  # case name -> authority code
    check: Result
    check_rows: list[dict[str, str]]
    letters: Result
    run: Path

    def samples(self) -> dict[str, tuple[str, wc.Sample]]:
        """participant id -> (case, the address their letter must show)."""
        cases = {c.name: c for c in ACCEPTED}
        by_code = {code: cases[name] for name, code in self.codes.items()}
        out = {}
        for row in _rows(self.toml):
            code = str(row[LIST_COLUMNS["authority"]])
            if code in by_code:
                case = by_code[code]
                out[str(row[0])] = (case.name, replace(
                    case.sample, first_name=str(row[LIST_COLUMNS["first"]]),
                    last_name=str(row[LIST_COLUMNS["last"]])))
        return out


@pytest.fixture(scope="module")
def accepted(corpus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Accepted:
    """Every accepted letterhead as the template of an authority of one campaign (HC's
    participants shared among them, each with its case's address), `check`ed and made."""
    base = tmp_path_factory.mktemp("accepted")
    toml = _campaign(base / "camp")
    text = toml.read_text()
    block = _hc_block(text)
    codes = {case.name: f"W{i:02d}" for i, case in enumerate(ACCEPTED, start=1)}
    blocks = []
    for case in ACCEPTED:
        shutil.copy(corpus[case.name], toml.parent / "templates" / f"{case.name}.docx")
        code = codes[case.name]
        blocks.append(block.replace('code = "HC"', f'code = "{code}"')
                      .replace('name = "Harrowmere County Council"',
                               f'name = "Harrowmere Council {code}"')
                      .replace("templates/hc-letter.docx", f"templates/{case.name}.docx"))
    toml.write_text(text.replace(block, "".join(blocks)))
    _set_addresses(toml, {i: (codes[c.name], c.sample) for i, c in enumerate(ACCEPTED)})
    check = runner.invoke(app, ["check", str(toml)], env=ENV)
    rows = _problems(toml)
    run = base / "run"
    letters = runner.invoke(app, ["letters", str(toml), "--out", str(run)], env=ENV)
    return Accepted(toml, codes, check, rows, letters, run)


# --- refused letterheads ------------------------------------------------------------------------

@pytest.mark.parametrize("name", [c.name for c in REFUSED])
def test_check_refuses_the_letterhead_naming_template_problem_and_fix(
        refused: dict[str, Refused], name: str) -> None:
    case = next(c for c in REFUSED if c.name == name)
    found = refused[name]
    assert found.result.exit_code == 1, found.result.output
    code, fix = REFUSAL[case.expect]
    template_errors = [r for r in found.rows if r["level"] == "error"
                       and r["code"].startswith("template_")]
    assert {r["code"] for r in template_errors} == {code}, template_errors
    for row in template_errors:
        assert f"templates/{name}.docx" in row["message"]
        assert row["file"] == "campaign-word.toml"
        assert row["column"] == "authorities[2].template"
        assert row["hint"].startswith("in Word:") and fix in row["hint"], row["hint"]
    assert code in found.result.output and f"templates/{name}.docx" in found.result.output
    # nothing but the template is wrong with these campaigns
    assert [r for r in found.rows if r["level"] == "error"] == template_errors


def test_each_refusal_says_what_was_measured(refused: dict[str, Refused]) -> None:
    def message(name: str) -> str:
        (row,) = [r for r in refused[name].rows if r["level"] == "error"]
        return row["message"] + " | " + row["hint"]

    assert "215.9 × 279.4 mm (US Letter), not A4" in message("us_letter")
    top_right = message("address_top_right")
    assert "(4 lines)" in top_right and "from the top of the page" in top_right
    assert "from the left edge" in top_right  # wrong in both directions
    at_margin = message("address_at_2cm_margin")
    assert "from the left edge (now 20.0 mm)" in at_margin
    assert "from the top" not in at_margin  # only the left edge is wrong
    overflow = message("six_line_overflows")
    assert "(6 lines)" in overflow and "the band is 24.0 mm" in overflow
    assert "so that 6 lines fit in 24 mm" in overflow


# --- accepted letterheads -----------------------------------------------------------------------

def test_check_accepts_every_other_letterhead(accepted: Accepted) -> None:
    assert accepted.check.exit_code == 0, accepted.check.output
    template = [r for r in accepted.check_rows if r["code"].startswith("template_")]
    assert not [r for r in template if r["level"] == "error"], template
    folds = [r for r in template if r["code"] == "template_fold"]
    fold_case = next(c.name for c in ACCEPTED if c.expect == "fold_warning")
    assert len(folds) == 1, folds
    (fold,) = folds
    assert f"templates/{fold_case}.docx" in fold["message"]
    assert "'Yours sincerely,'" in fold["message"] and "198 mm" in fold["message"]
    assert fold["hint"].startswith("in Word:")
    # the only other template warning is the lint's, for the placeholder Word split
    others = {(r["code"], r["message"].split(":")[0]) for r in template if r is not fold}
    assert others == {("template_split_placeholder",
                       "templates/split_placeholder.docx (word/document.xml)")}


def test_accepted_letterheads_make_every_letter(accepted: Accepted) -> None:
    assert accepted.letters.exit_code == 0, accepted.letters.output
    made = {code: sorted(p.stem for p in (accepted.run / "letters" / code).glob("*.pdf"))
            for code in accepted.codes.values()}
    assert all(made.values()), made  # every letterhead made letters
    samples = accepted.samples()
    for code, stems in made.items():
        assert {samples[s][0] for s in stems} == {k for k, v in accepted.codes.items()
                                                  if v == code}
        for stem in stems:
            assert (accepted.run / "letters" / code / f"{stem}.docx").is_file()
    records = [json.loads(line) for line in
               (accepted.run / "audit.jsonl").read_text().splitlines()]
    treated = [r for r in records if r.get("participant_id") in samples
               and r.get("arm") == "treatment"]
    assert treated and {r["status"] for r in treated} == {"produced"}, [
        r for r in treated if r["status"] != "produced"]
    assert len(treated) == sum(len(stems) for stems in made.values())


def test_accepted_letters_verify_with_participants_and_rerender(accepted: Accepted) -> None:
    plain = runner.invoke(app, ["verify", str(accepted.run)], env=ENV)
    assert plain.exit_code == 0, plain.output
    full = runner.invoke(app, ["verify", str(accepted.run), "--participants",
                               str(accepted.toml.parent / "data" / "randomised.xlsx"),
                               "--rerender"], env=ENV)
    assert full.exit_code == 0, full.output


def test_the_address_lies_in_the_window_band_on_every_letter(accepted: Accepted) -> None:
    samples = accepted.samples()
    pdfs = [p for code in accepted.codes.values()
            for p in sorted((accepted.run / "letters" / code).glob("*.pdf"))]
    assert len(pdfs) >= len(ACCEPTED)
    for pdf in pdfs:
        name, sample = samples[pdf.stem]
        m = wc.measure(pdf)
        assert m.pages[0] == pytest.approx(wc.A4_MM, abs=0.2)
        for loose in (False, True):
            box = m.address_box(sample, loose=loose)
            assert wc.ADDRESS_BAND.contains(box), f"{name} {pdf.name}: address at {box}"
        others = [ln.text for ln in m.others(sample)
                  if ln.page == 0 and ln.loose.intersects(wc.REACH)]
        assert not others, f"{name} {pdf.name}: {others} within the window's reach"


# --- what the print house opens ------------------------------------------------------------------

_RGB_OPERATORS = {"rg", "RG"}


def _rgb_space(space: object, resources: pikepdf.Object | None) -> bool:
    """Whether a colour space (a name, or an array) is RGB in any form."""
    if isinstance(space, pikepdf.Name):
        if space in (pikepdf.Name.DeviceRGB, pikepdf.Name.CalRGB):
            return True
        named = resources.get("/ColorSpace") if resources is not None else None
        return isinstance(named, pikepdf.Dictionary) and space in named and \
            _rgb_space(named[space], None)
    if isinstance(space, pikepdf.Array) and len(space):
        family = space[0]
        if family == pikepdf.Name.ICCBased:
            return int(space[1].get("/N", 0)) == 3
        if family in (pikepdf.Name.Indexed, pikepdf.Name.Separation, pikepdf.Name.DeviceN):
            base = space[1] if family == pikepdf.Name.Indexed else space[2]
            return _rgb_space(base, resources)
        return family in (pikepdf.Name.DeviceRGB, pikepdf.Name.CalRGB)
    return False


def rgb_uses(path: Path) -> list[str]:
    """Every use of RGB in a PDF: colour operators, spaces set with cs/CS, images, forms,
    shadings, inline images (walked through every page and form XObject)."""
    found: list[str] = []
    with pikepdf.open(path) as pdf:
        seen: set[tuple[int, int]] = set()

        def walk(stream: pikepdf.Object, resources: pikepdf.Object | None,
                 where: str) -> None:
            for inst in pikepdf.parse_content_stream(stream):
                if isinstance(inst, pikepdf.ContentStreamInlineImage):
                    cs = inst.iimage.obj.get("/ColorSpace")
                    if cs is not None and (cs in (pikepdf.Name("/RGB"),) or
                                           _rgb_space(cs, resources)):
                        found.append(f"{where}: inline RGB image")
                    continue
                op = str(inst.operator)
                if op in _RGB_OPERATORS:
                    found.append(f"{where}: {op} {list(inst.operands)}")
                elif op in ("cs", "CS") and _rgb_space(inst.operands[0], resources):
                    found.append(f"{where}: {op} {inst.operands[0]}")
            if resources is None:
                return
            for key, xobject in resources.get("/XObject", {}).items():
                if xobject.objgen in seen:
                    continue
                seen.add(xobject.objgen)
                if xobject.get("/Subtype") == pikepdf.Name.Image:
                    if _rgb_space(xobject.get("/ColorSpace", pikepdf.Name.DeviceGray), None):
                        found.append(f"{where}: image {key} {xobject.get('/ColorSpace')}")
                elif xobject.get("/Subtype") == pikepdf.Name.Form:
                    walk(xobject, xobject.get("/Resources", resources), f"{where} form {key}")
            for key, shading in resources.get("/Shading", {}).items():
                if _rgb_space(shading.get("/ColorSpace"), resources):
                    found.append(f"{where}: shading {key}")

        for i, page in enumerate(pdf.pages, start=1):
            walk(page.obj, page.obj.get("/Resources"), f"{path.name} page {i}")
    return found


def test_no_rgb_anywhere_in_letters_or_bundles(accepted: Accepted) -> None:
    files = sorted((accepted.run / "bundles").glob("*.pdf"))
    files += [p for code in accepted.codes.values()
              for p in sorted((accepted.run / "letters" / code).glob("*.pdf"))]
    assert len(files) > len(ACCEPTED)
    for path in files:
        assert rgb_uses(path) == [], path


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_bundles_have_unique_subset_names_all_embedded(accepted: Accepted) -> None:
    bundles = [accepted.run / "bundles" / f"{code}-1.pdf" for code in accepted.codes.values()]
    for bundle in bundles:
        out = subprocess.run(["pdffonts", str(bundle)], check=True, capture_output=True,
                             text=True).stdout.splitlines()
        rows = [line.split() for line in out[2:] if line.strip()]
        names = [row[0] for row in rows]
        assert names and len(names) == len(set(names)), (bundle.name, names)
        assert all(re.fullmatch(r"[A-Z]{6}\+\S+", n) for n in names), names
        # emb, sub, uni columns: yes yes yes on every row
        assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in rows), (bundle.name, out)


# --- the job ticket states what the files are ---------------------------------------------

def test_the_job_ticket_states_what_the_bundles_contain(accepted: Accepted) -> None:
    ticket = (accepted.run / "job-ticket.txt").read_text().splitlines()

    def line(key: str) -> str:
        (found,) = [ln for ln in ticket if ln.startswith(key)]
        return found

    assert line("Paper:") == ("Paper:          A4 (210 x 297 mm), every page (measured), "
                              "white, no bleed; trim = media")
    colour = line("Colour:")
    assert "no RGB" in colour and "RGB FOUND" not in colour
    assert colour.startswith("Colour:         DeviceCMYK")
    assert "solid colours K100, " in colour  # black first, then the brand colours
    assert "C82 M45 Y0 K46" in colour  # FB's brand CMYK from campaign.toml (native letters)
    named = colour.split("solid colours ")[1].split(", ")
    assert all(re.fullmatch(r"K100|C[\d.]+ M[\d.]+ Y[\d.]+ K[\d.]+", c) for c in named), named
    fonts = line("Fonts:")
    assert "all embedded" in fonts and "each subset name unique within its bundle" in fonts
    # the subset count is what pdffonts lists, bundle by bundle
    total = 0
    for bundle in sorted((accepted.run / "bundles").glob("*.pdf")):
        out = subprocess.run(["pdffonts", str(bundle)], check=True, capture_output=True,
                             text=True).stdout.splitlines()
        total += len({row.split()[0] for row in out[2:] if row.strip()})
    assert f"; {total} subset(s) in " in fonts


def test_the_job_ticket_says_rgb_letter_size_and_unembedded_fonts_when_files_have_them(
        accepted: Accepted, tmp_path: Path) -> None:
    from hhp_letters.bundle import Bundle, Written, job_ticket
    from hhp_letters.campaign import load_campaign

    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(612, 792))  # US Letter
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font,
                                                Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(b"1 0 0 rg BT /F1 12 Tf 72 700 Td (Hello) Tj ET")
    (tmp_path / "bundles").mkdir()
    pdf.save(tmp_path / "bundles" / "X-1.pdf")
    written = Written(1, (Bundle("X-1", "bundles/X-1.pdf", "0" * 64, 1, 1, 1),))
    ticket = job_ticket(load_campaign(accepted.toml), written, tmp_path)
    assert "Paper:          NOT A4 (215.9 x 279.4 mm)" in ticket
    assert "TrimBox = MediaBox on 0 of 1" in ticket
    assert "RGB FOUND (DeviceRGB)" in ticket and "RGB 1 0 0" in ticket
    assert "NOT EMBEDDED: Helvetica" in ticket


# --- every produced letter is measured too -----------------------------------------------

def test_a_letter_whose_address_misses_the_window_is_named(accepted: Accepted) -> None:
    import pypdfium2 as pdfium

    from hhp_letters.render.word_checks import letter_address_problem

    samples = accepted.samples()
    code = accepted.codes["header_logo_footer"]
    pdf = sorted((accepted.run / "letters" / code).glob("*.pdf"))[0]
    _, sample = samples[pdf.stem]
    job, env = letter_job(accepted.toml, code, pdf.stem, sample)
    # the window 20 mm further right than the letters were made for
    moved = env.model_copy(update={"window_left": env.window_left + 20})
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        textpage = page.get_textpage()
        height = page.get_size()[1]
        assert letter_address_problem(textpage, height, job, env, pdf.name) is None
        problem = letter_address_problem(textpage, height, job, moved, pdf.name)
        other = letter_address_problem(textpage, height, replace(job, last_name="Else"), env,
                                       pdf.name)
        textpage.close()
        page.close()
    finally:
        doc.close()
    assert problem is not None and problem.code == "address_window" and problem.is_error
    assert problem.participant_id == pdf.stem and pdf.name in problem.message
    assert "outside the envelope window band (x 45.0–115.0, y 55.0–79.0 mm)" in problem.message
    assert other is not None and "is not on page 1" in other.message


def letter_job(toml: Path, code: str, pid: str, sample: wc.Sample
               ) -> tuple[LetterJob, Envelope]:
    from hhp_letters.campaign import load_campaign

    campaign = load_campaign(toml)
    (authority,) = [a for a in campaign.spec.authorities if a.code == code]
    return LetterJob(pid, authority, sample.first_name, sample.last_name,
                     (*sample.street, sample.town, sample.postcode), ("a", "b"), "",
                     Origin("list.xlsx")), campaign.spec.print.envelope


def test_check_without_libreoffice_says_so_as_letters_does(
        corpus: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = _campaign(tmp_path / "camp")
    shutil.copy(corpus["header_logo_footer"], toml.parent / "templates" / "hc-letter.docx")
    monkeypatch.setattr("hhp_letters.render.libreoffice.shutil.which", lambda name: None)
    result = runner.invoke(app, ["check", str(toml)], env=ENV)
    assert result.exit_code == 1
    assert "LibreOffice (soffice) is not installed" in result.output
    assert "libreoffice-writer-nogui" in result.output
    assert "Traceback" not in result.output
