"""The print-shop package: what the zip holds (opened, not assumed), what it refuses, the job
ticket PDF, AES encryption and the passphrase file.

:func:`make_run` writes a small finished live run folder by hand, shaped as README.md "A run
folder" describes (plus the DataMatrix codes: manifests' ``code`` column, the ticket's
``Job id:``), with personal files beside the print files so a leak would show.
test_reconcile.py builds its runs with it too.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
import pyzipper
from pypdf import PdfReader

import hhp_letters.package as package
from hhp_letters.errors import RunFolderError, UsageError
from hhp_letters.package import (
    PRINT_SHOP_COLUMNS,
    package_run,
    read_passphrase_file,
    ticket_pdf,
)
from hhp_letters.render.datamatrix import DataMatrix, MailPayload
from hhp_letters.render.pdf import DocInfo, DocumentWriter, SharedBlock, stream

JOB = "AB12CD34"
# bundle file name → (bundle field of its codes, pages of each envelope in order)
BUNDLES: Mapping[str, tuple[str, Sequence[int]]] = {
    "BF-1": ("BF1", (2, 2, 1)),
    "HC-1": ("HC1", (1, 3)),
}
MANIFEST = ("sequence", "first_page", "pages", "sheets", "sort_key", "postcode", "reference",
            "code")
# what must never reach the print house: names, ids, arms (all written into the run below)
SECRETS = ("Alice", "Smith", "P001", "treatment", "control")
PASSPHRASE = "correct horse battery staple"
MODULE_MM = 0.5


@dataclass(frozen=True)
class Envelope:
    bundle: str  # file name, e.g. "BF-1"
    code: str  # bundle field of its codes
    sequence: int
    first_page: int
    pages: int
    reference: str

    def texts(self, job: str = JOB) -> list[str]:
        return [MailPayload(job, self.code, self.sequence, i, self.pages).text()
                for i in range(1, self.pages + 1)]


def envelopes(bundles: Mapping[str, tuple[str, Sequence[int]]] = BUNDLES) -> list[Envelope]:
    out: list[Envelope] = []
    for name, (code, pages) in bundles.items():
        first = 1
        for seq, n in enumerate(pages, start=1):
            out.append(Envelope(name, code, seq, first, n, f"R{name[:2]}{seq:04d}"))
            first += n
    return out


def bundle_pdf(pages: Sequence[str]) -> bytes:
    """A bundle whose every page carries its DataMatrix (K100 vector modules, 0.5 mm)."""
    shared = SharedBlock.build([(1, b"<< /ProcSet [/PDF] >>")], resources=1)
    buf = io.BytesIO()
    doc = DocumentWriter(buf, shared, (595.276, 841.89))
    for text in pages:
        ops = DataMatrix.encode(text).pdf_operators(12.0, 140.0, MODULE_MM)
        doc.add_page(stream(ops, {}))
    doc.finish(DocInfo("Bundle", "Test Council", "Test wave", "tests", "bundle",
                       "D:20191001000000Z"))
    return buf.getvalue()


def manifest_csv(items: Sequence[Envelope], *, job: str = JOB,
                 columns: Sequence[str] = MANIFEST) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for e in items:
        row = {"sequence": e.sequence, "first_page": e.first_page, "pages": e.pages,
               "sheets": e.pages, "sort_key": f"RG12 {e.sequence}", "postcode": "RG12 1JD",
               "reference": e.reference, "code": e.texts(job)[0], "arm": "treatment"}
        writer.writerow([row[c] for c in columns])
    return buf.getvalue()


def ticket_text(bundles: Mapping[str, tuple[str, Sequence[int]]], shas: Mapping[str, str],
                job: str | None = JOB) -> str:
    lines = ["JOB TICKET  Recognition letters, test wave", ""]
    if job:
        lines.append(f"Job id:         {job}")
    lines += [f"Letters:        {sum(len(p) for _, p in bundles.values())}",
              f"Bundles:        {len(bundles)}",
              f"Pages:          {sum(sum(p) for _, p in bundles.values())}",
              "Paper:          A4 (210 x 297 mm), white, no bleed; trim = media",
              "Printing:       simplex",
              "Colour:         text K100; logo in CMYK",
              "Envelope:       DL 220 x 110 mm, window 90 x 45 mm at 20 mm from left, 15 mm "
              "from bottom",
              "Fold:           Z-fold in thirds, address panel out",
              "Sheets/envelope: 1",
              "Order:          postcode (within each bundle, as the manifest lists)",
              "", "Bundles (name, letters, pages, SHA-256):"]
    for name, (_, pages) in bundles.items():
        lines.append(f"  {name}.pdf  {len(pages):>6} letters  {sum(pages):>6} pages  "
                     f"{shas[name]}")
    return "\n".join(lines) + "\n"


def write_sums(run: Path) -> None:
    """SHA256SUMS over every other file, as the run writes it."""
    rows = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(run).as_posix()}\n"
            for p in sorted(run.rglob("*")) if p.is_file() and p.name != "SHA256SUMS"]
    (run / "SHA256SUMS").write_text("".join(rows), encoding="utf-8")


def make_run(root: Path, *, bundles: Mapping[str, tuple[str, Sequence[int]]] = BUNDLES,
             job: str | None = JOB, columns: Sequence[str] = MANIFEST) -> Path:
    """A finished live run folder at ``root``: letters, bundles with their DataMatrix codes,
    manifests, job ticket, audit, summaries and SHA256SUMS."""
    items = envelopes(bundles)
    shas: dict[str, str] = {}
    for name in bundles:
        mine = [e for e in items if e.bundle == name]
        pdf = bundle_pdf([t for e in mine for t in e.texts(job or JOB)])
        (root / "bundles").mkdir(parents=True, exist_ok=True)
        (root / "bundles" / f"{name}.pdf").write_bytes(pdf)
        (root / "bundles" / f"{name}.csv").write_text(
            manifest_csv(mine, job=job or JOB, columns=columns), encoding="utf-8")
        shas[name] = hashlib.sha256(pdf).hexdigest()
        for e in mine:
            letter = root / "letters" / name[:2] / f"P{e.sequence:03d}.pdf"
            letter.parent.mkdir(parents=True, exist_ok=True)
            letter.write_bytes(b"%PDF-1.4 Dear Alice Smith (P001), treatment\n")
    (root / "job-ticket.txt").write_text(ticket_text(bundles, shas, job), encoding="utf-8")
    (root / "audit.jsonl").write_text('{"participant_id":"P001","arm":"treatment"}\n'
                                      '{"participant_id":"P002","arm":"control"}\n')
    (root / "audit.head").write_text("0" * 64 + "\n")
    (root / "audit.sig").write_bytes(b"signature")
    (root / "summary.md").write_text("treatment: 1 produced; control: 1 withheld\n")
    (root / "summary.html").write_text("<p>treatment control</p>\n")
    write_sums(root)
    return root


def make_proof_run(root: Path) -> Path:
    run = make_run(root)
    (run / "proof").mkdir()
    for rel in ("bundles", "letters"):
        (run / rel).rename(run / "proof" / rel)
    (run / "job-ticket.txt").unlink()
    (run / "proof" / "contact-sheet.png").write_bytes(b"\x89PNG")
    write_sums(run)
    return run


# --- What the package holds ------------------------------------------------------------

EXPECTED_NAMES = ["SHA256SUMS", "bundles/BF-1.csv", "bundles/BF-1.pdf", "bundles/HC-1.csv",
                  "bundles/HC-1.pdf", "job-ticket.pdf", "job-ticket.txt"]


def test_package_holds_exactly_the_print_files_and_their_checksums(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    result = package_run(run, tmp_path / "out" / "print.zip")
    data = result.path.read_bytes()
    assert result.path == tmp_path / "out" / "print.zip"
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.bytes == len(data)
    assert not result.encrypted
    assert result.job_id == JOB
    with zipfile.ZipFile(result.path) as zf:
        assert zf.namelist() == EXPECTED_NAMES
        assert zf.testzip() is None
        members = {name: zf.read(name) for name in zf.namelist()}
    assert list(result.names) == EXPECTED_NAMES
    for name in EXPECTED_NAMES:
        if name not in ("SHA256SUMS", "job-ticket.pdf"):
            assert members[name] == (run / name).read_bytes(), name
    # SHA256SUMS covers every other member, in `sha256sum -c` form
    sums = {name: digest for digest, name in
            (line.split("  ", 1) for line in members["SHA256SUMS"].decode("ascii").splitlines())}
    assert sorted(sums) == [n for n in EXPECTED_NAMES if n != "SHA256SUMS"]
    for name, digest in sums.items():
        assert hashlib.sha256(members[name]).hexdigest() == digest, name
    assert {f.name: f.sha256 for f in result.files if f.name != "SHA256SUMS"} == sums
    for name, body in members.items():
        for secret in SECRETS:
            assert secret.encode() not in body, (name, secret)


def test_the_package_checks_out_with_sha256sum(tmp_path: Path) -> None:
    result = package_run(make_run(tmp_path / "run"), tmp_path / "print.zip")
    with zipfile.ZipFile(result.path) as zf:
        zf.extractall(tmp_path / "unpacked")
    done = subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"],
                          cwd=tmp_path / "unpacked", capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(EXPECTED_NAMES) - 1


def test_unencrypted_packages_are_deterministic(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    first = package_run(run, tmp_path / "a.zip")
    os.utime(run / "bundles" / "BF-1.pdf", (1_000_000, 1_000_000))  # mtimes are not read
    second = package_run(run, tmp_path / "b.zip")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256
    with zipfile.ZipFile(first.path) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o644}


def test_an_existing_package_is_replaced_atomically(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    out = tmp_path / "print.zip"
    out.write_bytes(b"an older package")
    result = package_run(run, out)
    assert zipfile.ZipFile(out).namelist() == EXPECTED_NAMES
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["print.zip", "run"]


def test_a_file_changed_while_packaging_leaves_the_old_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path / "run")
    out = tmp_path / "print.zip"
    out.write_bytes(b"an older package")
    real = package.live_run

    def then_tamper(path: Path, *, hash_all: bool = True) -> package.LiveRun:
        checked = real(path, hash_all=hash_all)
        with (run / "bundles" / "HC-1.pdf").open("ab") as fh:
            fh.write(b"%extra")
        return checked

    monkeypatch.setattr(package, "live_run", then_tamper)
    with pytest.raises(RunFolderError, match=r"HC-1\.pdf: changed while it was being packaged"):
        package_run(run, out)
    assert out.read_bytes() == b"an older package"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["print.zip", "run"]  # no temp file


# --- The job ticket PDF ----------------------------------------------------------------

def _words(text: str) -> str:
    return " ".join(text.split())


def test_job_ticket_pdf_is_one_a4_page_of_the_ticket_text(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    result = package_run(run, tmp_path / "print.zip")
    pdf = zipfile.ZipFile(result.path).read("job-ticket.pdf")
    path = tmp_path / "job-ticket.pdf"
    path.write_bytes(pdf)
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert [round(float(v), 2) for v in page.mediabox] == [0, 0, 595.28, 841.89]
    assert [round(float(v), 2) for v in page.trimbox] == [0, 0, 595.28, 841.89]
    assert not reader.is_encrypted
    assert reader.metadata is not None
    assert reader.metadata.title == f"Job ticket {JOB}"
    assert reader.metadata.creation_date_raw == "D:20191001000000Z"  # the bundle's date
    extracted = _words(page.extract_text())
    ticket = (run / "job-ticket.txt").read_text()
    for line in ticket.splitlines():
        if line.strip():
            assert _words(line) in extracted, line
    assert hashlib.sha256(ticket.encode()).hexdigest() in extracted
    done = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_job_ticket_pdf_embeds_every_font_and_prints_text_in_k_only(tmp_path: Path) -> None:
    ticket = ticket_text(BUNDLES, {name: "0" * 64 for name in BUNDLES})
    path = tmp_path / "ticket.pdf"
    path.write_bytes(ticket_pdf(ticket))
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts, "the ticket draws text"
    for row in fonts:
        assert "Helvetica" not in row and "Carlito" in row, row
        assert re.search(r"\byes yes yes\b", row), row  # embedded, subset, ToUnicode
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0]
        ops = [(str(i.operator), [float(v) for v in i.operands])
               for i in pikepdf.parse_content_stream(page)
               if str(i.operator) in ("k", "K", "g", "G", "rg", "RG", "sc", "scn", "SC", "SCN",
                                      "cs", "CS")]
        assert ops == [("k", [0.0, 0.0, 0.0, 1.0])]
        for font in page.Resources.Font.values():
            descriptor = font.DescendantFonts[0].FontDescriptor
            assert "/FontFile2" in descriptor


def test_job_ticket_pdf_is_deterministic_and_long_tables_shrink_to_fit() -> None:
    many = {f"B{n:02d}-1": (f"B{n:02d}", (1,) * 40) for n in range(40)}
    ticket = ticket_text(many, {name: hashlib.sha256(name.encode()).hexdigest()
                                for name in many})
    first = ticket_pdf(ticket)
    assert first == ticket_pdf(ticket)
    with pikepdf.open(io.BytesIO(first)) as pdf:
        assert len(pdf.pages) == 1
    reader = PdfReader(io.BytesIO(first))
    text = _words(reader.pages[0].extract_text())
    assert _words(f"B39-1.pdf 40 letters 40 pages {hashlib.sha256(b'B39-1').hexdigest()}"
                  ) in text


# --- Encryption ------------------------------------------------------------------------

def test_passphrase_gives_an_aes_256_zip_that_opens_only_with_it(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    result = package_run(run, tmp_path / "print.zip", passphrase=PASSPHRASE)
    assert result.encrypted
    raw = result.path.read_bytes()
    assert PASSPHRASE.encode() not in raw
    assert PASSPHRASE not in repr(result)
    with pyzipper.AESZipFile(result.path) as zf:
        assert zf.namelist() == EXPECTED_NAMES
        for info in zf.infolist():
            assert info.flag_bits & 0x1, info.filename  # encrypted
            assert info.wz_aes_strength == 3, info.filename  # 256-bit
        zf.setpassword(PASSPHRASE.encode())
        assert zf.read("bundles/BF-1.pdf") == (run / "bundles" / "BF-1.pdf").read_bytes()
        assert zf.read("job-ticket.txt") == (run / "job-ticket.txt").read_bytes()
    with pyzipper.AESZipFile(result.path) as zf:
        zf.setpassword(b"wrong passphrase")
        with pytest.raises(RuntimeError, match="Bad password"):
            zf.read("job-ticket.txt")
    with pyzipper.AESZipFile(result.path) as zf, pytest.raises(RuntimeError,
                                                               match="requires a password"):
        zf.read("job-ticket.txt")
    # the bundles' bytes are not readable without it
    bundle = (run / "bundles" / "BF-1.pdf").read_bytes()
    assert bundle[:200] not in raw


def test_the_passphrase_never_appears_in_an_error(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    (run / "bundles" / "BF-1.csv").write_text("tampered\n")
    with pytest.raises(RunFolderError) as caught:
        package_run(run, tmp_path / "print.zip", passphrase=PASSPHRASE)
    assert PASSPHRASE not in str(caught.value)
    assert PASSPHRASE not in repr(caught.value.__context__)
    with pytest.raises(UsageError, match="the passphrase is empty"):
        package_run(make_run(tmp_path / "run2"), tmp_path / "print.zip", passphrase="  ")
    assert not (tmp_path / "print.zip").exists()


# --- Refusals --------------------------------------------------------------------------

def _tamper(run: Path) -> None:
    with (run / "bundles" / "BF-1.pdf").open("r+b") as fh:
        fh.seek(20)
        fh.write(b"X")


def _half_copied(run: Path) -> None:
    (run / "letters" / "HC" / "P002.pdf").unlink()


def _stray(run: Path) -> None:
    (run / "bundles" / "BF-9.pdf").write_bytes(b"%PDF-1.4 someone else's")


def _no_sums(run: Path) -> None:
    (run / "SHA256SUMS").unlink()


def _no_bundles(run: Path) -> None:
    for p in (run / "bundles").iterdir():
        p.unlink()
    (run / "bundles").rmdir()
    write_sums(run)


def _no_ticket(run: Path) -> None:
    (run / "job-ticket.txt").unlink()
    write_sums(run)


def _ticket_disagrees(run: Path) -> None:
    text = (run / "job-ticket.txt").read_text().replace("  HC-1.pdf", "  HC-2.pdf")
    (run / "job-ticket.txt").write_text(text)
    write_sums(run)


@pytest.mark.parametrize(("break_it", "message"), [
    (_tamper, r"bundles/BF-1\.pdf differs from SHA256SUMS: the file changed after the run"),
    (_half_copied, r"is incomplete: letters/HC/P002\.pdf listed in SHA256SUMS but missing "
                   r"\(a half-copied run folder\?\)"),
    (_stray, r"bundles/BF-9\.pdf in bundles/ but not in SHA256SUMS"),
    (_no_sums, r"is not a finished run: it has no SHA256SUMS"),
    (_no_bundles, r"has no bundles: nothing to print"),
    (_no_ticket, r"has no job-ticket\.txt: it is not a live run"),
    (_ticket_disagrees, r"job-ticket\.txt does not match bundles/: HC-1, HC-2"),
])
def test_refuses_a_run_that_is_not_finished_and_intact(tmp_path: Path, break_it: object,
                                                       message: str) -> None:
    run = make_run(tmp_path / "run")
    assert callable(break_it)
    break_it(run)
    out = tmp_path / "print.zip"
    with pytest.raises(RunFolderError, match=message) as caught:
        package_run(run, out)
    assert caught.value.hint  # says how to fix it
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_refuses_a_proof_run(tmp_path: Path) -> None:
    run = make_proof_run(tmp_path / "run")
    with pytest.raises(RunFolderError, match=r"is a proof run \(it has a proof/ folder\): "
                       r"proofs are for sign-off, never for printing") as caught:
        package_run(run, tmp_path / "print.zip")
    assert caught.value.hint == "make the live run without --proof and package that"


def test_refuses_a_manifest_with_columns_the_print_house_must_not_get(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", columns=(*MANIFEST, "arm"))
    with pytest.raises(RunFolderError, match=r"BF-1\.csv has column\(s\) 'arm' the print house "
                       r"must not get"):
        package_run(run, tmp_path / "print.zip")
    assert "arm" not in PRINT_SHOP_COLUMNS


def test_refuses_to_write_into_the_run_or_a_non_zip(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    with pytest.raises(UsageError, match=r"is inside the run folder"):
        package_run(run, run / "print.zip")
    with pytest.raises(UsageError, match=r"its name must end in \.zip"):
        package_run(run, tmp_path / "print.tar")
    assert not (run / "print.zip").exists()


def test_a_run_without_job_id_is_still_packaged(tmp_path: Path) -> None:
    """Runs made before the DataMatrix codes have no Job id; the print house still prints."""
    run = make_run(tmp_path / "run", job=None, columns=MANIFEST[:-2])
    result = package_run(run, tmp_path / "print.zip")
    assert result.job_id is None
    assert zipfile.ZipFile(result.path).namelist() == EXPECTED_NAMES


# --- The passphrase file ---------------------------------------------------------------

def test_read_passphrase_file_takes_the_first_line_stripped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "pass.txt"
    path.write_text(f"  {PASSPHRASE} \r\nsecond line\n", encoding="utf-8")
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING):
        assert read_passphrase_file(path) == PASSPHRASE
    assert caplog.records == []


def test_read_passphrase_file_warns_when_others_can_read_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "pass.txt"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="hhp_letters.package"):
        assert read_passphrase_file(path) == PASSPHRASE
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert caplog.records[0].getMessage() == (
        f"{path} can be read by other users (mode -rw-r--r--): run `chmod 600 {path}`")
    assert PASSPHRASE not in caplog.text


@pytest.mark.parametrize(("content", "message"), [
    (b"", r"the passphrase file .* is empty \(its first line holds no passphrase\)"),
    (b"   \nsecret on line two\n", r"the passphrase file .* is empty"),
    (b"\xffsecret\n", r"the passphrase file .* is not UTF-8 text"),
])
def test_read_passphrase_file_refuses_an_empty_or_garbled_file(
        tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "pass.txt"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(UsageError, match=message) as caught:
        read_passphrase_file(path)
    assert "secret" not in str(caught.value)


def test_read_passphrase_file_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read the passphrase file .*nope\.txt: No such "
                       r"file or directory"):
        read_passphrase_file(tmp_path / "nope.txt")
