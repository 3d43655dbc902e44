"""The letters run on the bundled samples and on hostile text: open the PDFs and look."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import openpyxl
import pdfplumber
import pikepdf
import pytest
from conftest import prepared_campaign, sample_feedback, sample_people
from pypdf import PageObject, PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, PdfObject
from typer.testing import CliRunner

from hhp_letters.campaign import ENVELOPES, load_campaign
from hhp_letters.cli import app
from hhp_letters.pipeline import allocations
from hhp_letters.postcode import normalise_postcode
from hhp_letters.render.geometry import MM, Window
from hhp_letters.resources import resource_dir
from hhp_letters.scaffold import init_campaign

A4_PT = (595.276, 841.89)
runner = CliRunner()


SAMPLE = resource_dir("samples") / "letters"


def sample_list() -> dict[str, dict[str, str]]:
    return sample_people(SAMPLE)


def folded(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def sample_campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # a copy: a run keeps the campaign's keys and problems.csv in the campaign folder
    return init_campaign(tmp_path_factory.mktemp("campaign") / "letters", sample=True).parent


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory, sample_campaign: Path) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    result = runner.invoke(app, ["letters", str(sample_campaign), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert re.search(
        r"Done: 196 letters, 3 bundles, 196 pages, 0 treatment rows without one", result.output
    )
    return out


def letters_in(run: Path) -> dict[str, Path]:
    return {p.stem: p for p in (run / "letters").glob("*/*.pdf")}


def test_one_letter_per_treatment_participant_and_none_for_control(sample_run: Path) -> None:
    people = sample_list()
    treatment = {pid for pid, r in people.items() if r["Allocation"] == "Treatment"}
    control = set(people) - treatment
    produced = letters_in(sample_run)
    assert set(produced) == treatment
    assert not control & set(produced)


def test_each_letter_says_what_the_participant_should_read(sample_run: Path) -> None:
    people, feedback = sample_list(), sample_feedback(SAMPLE)
    signatories = {a.code: a.signatory.name for a in
                   load_campaign(resource_dir("samples") / "letters").spec.authorities}
    for pid, path in letters_in(sample_run).items():
        reader = PdfReader(path)
        assert len(reader.pages) == 1
        text = folded(reader.pages[0].extract_text())
        person = people[pid]
        assert f"Dear {person['Forename']}," in text
        for line in feedback[pid]:
            assert f"\u201c{folded(line)}\u201d" in text or folded(line) in text, (pid, line)
        assert signatories[path.parent.name] in text
        postcode = normalise_postcode(person["Post Code"])
        assert postcode is not None and postcode in text


def _pdf_dict(obj: PdfObject, *keys: str) -> DictionaryObject:
    """``obj[key]...``, each step followed if indirect: a dictionary in these PDFs, which pypdf
    can only type as its PdfObject base class."""
    for key in keys:
        obj = cast(DictionaryObject, obj.get_object())[key]
    return cast(DictionaryObject, obj.get_object())


def _name(obj: DictionaryObject, key: str) -> NameObject:
    """``obj[key]`` where the PDF spec says it is a name (/Subtype, /BaseFont ...)."""
    return cast(NameObject, obj[key])


def _font_dicts(page: PageObject) -> Iterator[DictionaryObject]:
    """The fonts of the page and of the forms (the letterhead) it draws."""
    resources = _pdf_dict(page, "/Resources")
    yield from (_pdf_dict(f) for f in _pdf_dict(resources, "/Font").values())
    for xobj in _pdf_dict(resources, "/XObject").values():
        form = _pdf_dict(xobj)
        if _name(form, "/Subtype") == "/Form":
            yield from (_pdf_dict(f) for f in _pdf_dict(form, "/Resources", "/Font").values())


def test_print_ready_page_boxes_fonts_colour_and_images(sample_run: Path) -> None:
    for path in [*sorted(letters_in(sample_run).values())[:20],
                 *sorted((sample_run / "bundles").glob("*.pdf"))]:
        reader = PdfReader(path)
        assert not reader.is_encrypted
        assert reader.metadata is not None and reader.metadata.title
        creator = reader.metadata.creator
        assert reader.metadata.author and creator is not None and creator.startswith("hhp-letters")
        for page in reader.pages:
            assert [float(v) for v in page.mediabox] == pytest.approx([0, 0, *A4_PT], abs=0.01)
            assert [float(v) for v in page.trimbox] == [float(v) for v in page.mediabox]
            assert page.get("/Rotate", 0) == 0
            for font in _font_dicts(page):
                # Type0 (Identity-H) over a CIDFontType2 that embeds a TrueType subset
                assert _name(font, "/Subtype") == "/Type0"
                assert _name(font, "/Encoding") == "/Identity-H"
                cid = _pdf_dict(cast(ArrayObject, font["/DescendantFonts"])[0])
                assert _name(cid, "/Subtype") == "/CIDFontType2"
                descriptor = _pdf_dict(cid, "/FontDescriptor")
                assert "/FontFile2" in descriptor, font["/BaseFont"]
                assert "/ToUnicode" in font
                assert _name(font, "/BaseFont").split("+")[1].startswith(("Carlito", "NotoSans"))
            for xobj in _pdf_dict(page, "/Resources", "/XObject").values():
                xobj = xobj.get_object()
                if xobj["/Subtype"] == "/Image":  # CMYK, or a palette of CMYK colours
                    space = xobj["/ColorSpace"]
                    assert space == "/DeviceCMYK" or (space[0] == "/Indexed"
                                                      and space[1] == "/DeviceCMYK")
                    assert "/SMask" not in xobj and "/Mask" not in xobj
            contents = page.get_contents()
            assert contents is not None
            content = contents.get_data()
            assert not re.search(rb"\b(rg|RG|sc|scn|gs)\b", content)
            assert b"0 0 0 1 k" in content  # text in K100


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")
def test_qpdf_check_is_clean(sample_run: Path) -> None:
    for path in [next(iter(letters_in(sample_run).values())),
                 *(sample_run / "bundles").glob("*.pdf")]:
        done = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_address_lies_inside_the_window_and_nothing_else_does(sample_run: Path) -> None:
    window = Window.for_envelope(ENVELOPES["DL"])
    people = sample_list()
    for pid, path in sorted(letters_in(sample_run).items())[:40]:
        person = people[pid]
        with pdfplumber.open(path) as pdf:
            words = pdf.pages[0].extract_words()
        postcode = normalise_postcode(person["Post Code"])
        address_words = set(f"{person['Forename']} {person['Surname']} {person['Post Town']} "
                            f"{postcode} {person['Address line 1']} {person['Address line 2']} "
                            f"{person['Address line 3']}".replace(",", " ").split())
        inside = [w for w in words if w["x0"] < window.reach.x1 * MM
                  and w["top"] < window.reach.y1 * MM and w["bottom"] > window.reach.y0 * MM]
        assert inside, pid
        for w in inside:
            assert w["text"] in address_words, (pid, w["text"])
            assert w["x0"] >= window.address.x0 * MM - 0.5
            assert w["x1"] <= window.address.x1 * MM + 0.5
            assert w["top"] >= window.address.y0 * MM - 0.5
            assert w["bottom"] <= window.address.y1 * MM + 0.5
        lines = sorted({round(w["top"], 1) for w in inside})
        last_line = " ".join(w["text"] for w in inside if round(w["top"], 1) == lines[-1])
        assert last_line == postcode  # postcode alone on the last line
        starts = {round(min(w["x0"] for w in inside if round(w["top"], 1) == top), 1)
                  for top in lines}
        assert len(starts) == 1  # every line starts at the same x: left-aligned


def test_bundles_manifests_and_ticket_agree(sample_run: Path) -> None:
    sums = dict(line.split("  ")[::-1] for line in
                (sample_run / "SHA256SUMS").read_text().splitlines())
    total = 0
    for bundle in sorted((sample_run / "bundles").glob("*.pdf")):
        pages = len(PdfReader(bundle).pages)
        rows = list(csv.DictReader(bundle.with_suffix(".csv").read_text().splitlines()))
        assert [int(r["first_page"]) for r in rows] == list(range(1, pages + 1))
        keys = [r["sort_key"] for r in rows]
        assert keys == sorted(keys)  # postage order
        assert set(rows[0]) == {"sequence", "first_page", "pages", "sheets", "sort_key",
                                "postcode", "reference", "code"}
        assert sums[f"bundles/{bundle.name}"] in (sample_run / "job-ticket.txt").read_text()
        total += pages
        fonts = {f["/BaseFont"] for p in PdfReader(bundle).pages for f in _font_dicts(p)}
        assert len(fonts) <= 6  # one subset per face, not one per letter
    assert total == 196
    assert "Letters:        196" in (sample_run / "job-ticket.txt").read_text()


def test_two_runs_are_byte_identical(sample_campaign: Path, sample_run: Path,
                                     tmp_path: Path) -> None:
    # the same inputs in a campaign without a ledger (in this one every letter is now sent)
    twin = init_campaign(tmp_path / "twin", sample=True).parent
    again = tmp_path / "again"
    result = runner.invoke(app, ["letters", str(twin), "--out", str(again)])
    assert result.exit_code == 0, result.output

    def outputs(run: Path) -> list[str]:  # the audit and summary carry the time of the run
        return [line for line in (run / "SHA256SUMS").read_text().splitlines()
                if not line.endswith(("audit.jsonl", "audit.head", "audit.sig", "summary.md",
                                      "summary.html"))]

    assert outputs(again) == outputs(sample_run)
    assert len(outputs(again)) == 196 + 3 + 3 + 1  # letters, bundles, manifests, ticket


# -- a campaign of our own, changed one thing at a time ----------------------------------------

@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    return init_campaign(tmp_path / "camp", sample=True).parent


def first_feedback(folder: Path) -> tuple[Path, str]:
    path = sorted((folder / "data" / "feedback").glob("*.xlsx"))[0]
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    return path, str(ws.cell(row=2, column=1).value)


def set_feedback(folder: Path, line_1: str, line_2: str | None = None) -> str:
    path, pid = first_feedback(folder)
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws is not None
    ws.cell(row=2, column=3).value = line_1
    if line_2 is not None:
        ws.cell(row=2, column=4).value = line_2
    wb.save(path)
    return pid


def set_list_cell(folder: Path, pid: str, header: str, value: str) -> None:
    path = folder / "data" / "randomised.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Allocation"]
    rows = list(ws.iter_rows())
    head = next(r for r in rows if r[0].value == "Participant ID")
    col = next(c.column for c in head if c.value == header)
    row = next(r for r in rows if r[0].value == pid)
    assert row[0].row is not None
    ws.cell(row=row[0].row, column=col).value = value
    wb.save(path)


def problem_rows(folder: Path) -> list[dict[str, str]]:
    text = (folder / "problems.csv").read_text(encoding="utf-8-sig")
    return list(csv.DictReader(text.splitlines()))


def run_letters(folder: Path, out: Path, *extra: str) -> object:
    return runner.invoke(app, ["letters", str(folder), "--out", str(out), *extra])


@pytest.mark.parametrize("line", [
    "<b>Great</b> & {{ work }} {% if x %}",
    "Tom & Jerry's \"court\" report — 100% <i>spot on</i>",
    "Zoë, Siobhán & Seán — naïve façades, crème brûlée; ‘quotes’ “double” …",
    "A <para>paragraph</para> tag and a </font> end and &amp; entity",
])
def test_hostile_feedback_prints_exactly(campaign: Path, tmp_path: Path, line: str) -> None:
    pid = set_feedback(campaign, line)
    result = run_letters(campaign, tmp_path / "run")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    pdf = next((tmp_path / "run" / "letters").glob(f"*/{pid}.pdf"))
    text = folded(PdfReader(pdf).pages[0].extract_text())
    assert f"\u201c{folded(line)}\u201d" in text


def test_emoji_is_an_error_naming_participant_and_character(campaign: Path,
                                                           tmp_path: Path) -> None:
    pid = set_feedback(campaign, "Brilliant work 🎉 this year")
    result = run_letters(campaign, tmp_path / "run")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert not (tmp_path / "run").exists()
    rows = problem_rows(campaign)
    hit = [r for r in rows if r["code"] == "unprintable_character"]
    assert len(hit) == 1 and hit[0]["participant_id"] == pid
    assert "U+1F389" in hit[0]["message"] and "feedback line 1" in hit[0]["message"]


def test_300_word_feedback_is_an_overflow_error(campaign: Path, tmp_path: Path) -> None:
    pid = set_feedback(campaign, " ".join(["wonderful"] * 300))
    result = run_letters(campaign, tmp_path / "run")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    rows = problem_rows(campaign)
    hit = [r for r in rows if r["code"] == "overflow"]
    assert [r["participant_id"] for r in hit] == [pid]
    assert "feedback line 1" in hit[0]["message"] and "one page" in hit[0]["message"]


def test_100_character_street_is_an_address_error(campaign: Path, tmp_path: Path) -> None:
    _, pid = first_feedback(campaign)
    set_list_cell(campaign, pid, "Address line 1", "1 " + "Long" * 24 + " Road")
    result = run_letters(campaign, tmp_path / "run")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    rows = problem_rows(campaign)
    hit = [r for r in rows if r["code"] == "address_too_wide"]
    assert [r["participant_id"] for r in hit] == [pid]
    assert "envelope window" in hit[0]["message"]


def test_skip_invalid_produces_the_rest(campaign: Path, tmp_path: Path) -> None:
    pid = set_feedback(campaign, "Brilliant work 🎉 this year")
    result = run_letters(campaign, tmp_path / "run", "--skip-invalid")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    produced = {p.stem for p in (tmp_path / "run" / "letters").glob("*/*.pdf")}
    assert len(produced) == 195 and pid not in produced


def test_existing_run_folder_is_refused_unless_forced(campaign: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run_letters(campaign, out, "--proof").exit_code == 0  # type: ignore[attr-defined]
    first = (out / "audit.head").read_text()
    refused = run_letters(campaign, out, "--proof")
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    assert "--force" in refused.output  # type: ignore[attr-defined]
    forced = run_letters(campaign, out, "--proof", "--force")
    assert forced.exit_code == 0, forced.output  # type: ignore[attr-defined]
    assert (out / "audit.head").read_text() != first
    assert len(list((out / "proof" / "letters").glob("*/*.pdf"))) == 196
    # a live run, once recorded in the ledger, is never replaced, even with --force
    live = tmp_path / "live"
    assert run_letters(campaign, live).exit_code == 0  # type: ignore[attr-defined]
    kept = (live / "audit.head").read_text()
    again = run_letters(campaign, live, "--force")
    assert again.exit_code == 2  # type: ignore[attr-defined]
    assert "never replaced" in " ".join(again.output.split())  # type: ignore[attr-defined]
    assert (live / "audit.head").read_text() == kept


def test_force_never_replaces_what_is_not_a_run(campaign: Path, tmp_path: Path) -> None:
    unrelated = tmp_path / "documents"
    unrelated.mkdir()
    (unrelated / "thesis.docx").write_text("years of work")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for target, words in ((unrelated, "is not a run folder of hhp-letters"),
                          (campaign, "campaign folder"), (tmp_path, "campaign folder"),
                          (a_file, "is a file")):
        result = run_letters(campaign, target, "--force")
        assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
        assert words in " ".join(result.output.split())  # type: ignore[attr-defined]
    assert (unrelated / "thesis.docx").read_text() == "years of work"
    assert a_file.read_text() == "mine" and (campaign / "campaign.toml").is_file()


def test_a_failed_run_leaves_nothing_that_looks_complete(campaign: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from hhp_letters import runfolder
    original = runfolder.write_file

    def flaky(root: Path, rel: str, data: bytes, kind: str, sha256: str | None = None
              ) -> object:
        # the 50th letter of its bundle: written by a worker process (the bundles here are
        # large enough to be split among the cores), the error reaches the run all the same
        if rel.endswith(".pdf") and not rel.startswith("bundles/") and \
                sorted((root / rel).parent.glob("*.pdf")).__len__() == 49:
            raise OSError(errno.ENOSPC, "No space left on device", f"{root / rel}@{os.getpid()}")
        return original(root, rel, data, kind, sha256)

    monkeypatch.setattr(runfolder, "write_file", flaky)
    result = run_letters(campaign, tmp_path / "run")
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    assert "No space left on device" in result.output  # type: ignore[attr-defined]
    assert "free some disk space" in result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    pid = re.search(r"@(\d+)", result.output)  # type: ignore[attr-defined]
    assert pid is not None and int(pid.group(1)) != os.getpid()  # it failed in a worker
    assert list(tmp_path.iterdir()) == [campaign]  # no run folder, no staging folder


def test_duplex_pads_every_letter_to_a_front_page_and_bundles_split(campaign: Path,
                                                                   tmp_path: Path) -> None:
    toml = campaign / "campaign.toml"
    toml.write_text(toml.read_text().replace("duplex = false", "duplex = true")
                    .replace("max_letters_per_bundle = 500", "max_letters_per_bundle = 25"))
    result = run_letters(campaign, tmp_path / "run")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    bundles = sorted((tmp_path / "run" / "bundles").glob("*.pdf"))
    assert len(bundles) == 3 + 3 + 3  # 68, 62 and 66 letters in bundles of 25
    for bundle in bundles:
        rows = list(csv.DictReader(bundle.with_suffix(".csv").read_text().splitlines()))
        assert len(rows) <= 25
        assert all(int(r["first_page"]) % 2 == 1 and r["pages"] == "2" and r["sheets"] == "1"
                   for r in rows)
        reader = PdfReader(bundle)
        assert len(reader.pages) == 2 * len(rows)
        assert reader.pages[1].extract_text().strip() == ""


def test_proof_run_is_watermarked_with_a_contact_sheet(campaign: Path, tmp_path: Path) -> None:
    result = run_letters(campaign, tmp_path / "run", "--proof")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    run = tmp_path / "run"
    assert not (run / "letters").exists() and not (run / "job-ticket.txt").exists()
    proofs = list((run / "proof" / "letters").glob("*/*.pdf"))
    assert len(proofs) == 196
    for path in proofs[:10]:
        page = PdfReader(path).pages[0]
        # outlines, not text: the watermark never enters the text layer the read-back uses
        assert "PROOF" not in page.extract_text()
        data = page.get_contents().get_data()  # type: ignore[union-attr]
        assert b"0 0 0 0.22 k" in data and data.count(b" c ") > 20
    from PIL import Image
    with Image.open(run / "proof" / "contact-sheet.png") as img:
        assert img.width > 1000 and img.height > 1000


def test_check_reports_layout_problems_before_anything_is_printed(campaign: Path) -> None:
    pid = set_feedback(campaign, " ".join(["wonderful"] * 300))
    with prepared_campaign(campaign) as prepared:
        assert [p.participant_id for p in prepared.errors] == [pid]
        assert prepared.layout is not None
        assert pid not in {j.key for j in prepared.layout.jobs()}
        assert [a.reason for a in allocations(prepared, bytes(32))
                if a.participant_id == pid] == ["overflow"]


def test_each_page_is_laid_out_once_and_its_stream_reused(sample_run: Path) -> None:
    # the layout stage keeps each page's operators; they are compressed once (on a worker)
    # and the same stream goes into the letter's own file and its bundle
    folder = resource_dir("samples") / "letters"
    with prepared_campaign(folder) as prepared:
        assert prepared.layout is not None
        job = next(prepared.layout.jobs())
        laid_out = prepared.checked.store.page(job.key)
        assert laid_out is not None
        body, spans = laid_out
        assert set(spans) == {"first_name", "feedback_1", "feedback_2"}
        assert body.startswith(b"q /Head Do Q\n") and b"/Sig Do" in body
    letters = sorted((sample_run / "letters").glob("*/*.pdf"))
    bundles = {p.stem: p.read_bytes() for p in (sample_run / "bundles").glob("*.pdf")}
    for letter in letters[:: max(1, len(letters) // 20)]:
        with pikepdf.open(letter) as pdf:
            contents = pdf.pages[0].obj.Contents
            page = bytes(contents[0].read_raw_bytes())  # [page, its mail-integrity code]
            assert b"/Head Do" in zlib.decompress(page)
        # the very bytes, compressed once: in exactly one bundle, the letter's authority's
        found = [name for name, data in bundles.items() if page in data]
        assert len(found) == 1 and found[0].startswith(letter.parent.name), (letter, found)
def test_skip_invalid_cannot_skip_an_unreadable_list(campaign: Path, tmp_path: Path) -> None:
    path = campaign / "data" / "randomised.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Allocation"]
    header = next(r for r in ws.iter_rows() if r[0].value == "Participant ID")
    next(c for c in header if c.value == "Allocation").value = "Something else"
    wb.save(path)
    result = run_letters(campaign, tmp_path / "run", "--skip-invalid")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "could not be read completely" in result.output  # type: ignore[attr-defined]
    assert not (tmp_path / "run").exists()


def test_a_feedback_glob_never_reads_our_own_problems_csv(campaign: Path) -> None:
    toml = campaign / "campaign.toml"
    toml.write_text(toml.read_text().replace('feedback = ["data/feedback/*.xlsx"]',
                                             'feedback = ["data/feedback/*.xlsx", "*.csv"]'))
    (campaign / "problems.csv").write_text("level,code\nerror,x\n")
    result = runner.invoke(app, ["check", str(campaign)], env={"COLUMNS": "200"})
    assert "problems.csv" not in result.output.replace(str(campaign / "problems.csv"), "")
    assert "inputs.feedback[2]" in result.output  # "*.csv" matches nothing else: reported
