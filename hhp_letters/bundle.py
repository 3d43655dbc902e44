"""Write each letter once into its own file and into its print-shop bundle, in postage order;
then the manifests and the job ticket."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, cast

import pypdfium2 as pdfium
from pypdf import PdfReader, PdfWriter

from hhp_letters.campaign import Campaign
from hhp_letters.model import LetterJob
from hhp_letters.problems import Problem, error
from hhp_letters.render.libreoffice import Conversion, Converter
from hhp_letters.render.native import Job, NativeBackend
from hhp_letters.render.pdf import DocumentWriter
from hhp_letters.render.word import WordLetter, make_deterministic
from hhp_letters.store import Store

Progress = Callable[[int], None]
# No names, no arm, no study ids: the print shop needs positions and postage order only.
MANIFEST_COLUMNS = ("sequence", "first_page", "pages", "sheets", "sort_key", "postcode")


@dataclass(frozen=True)
class Bundle:
    name: str
    path: str  # relative to the run folder
    sha256: str
    letters: int
    pages: int


@dataclass(frozen=True)
class Written:
    """What a run wrote. Each letter and file is also recorded in the store (outputs, files)."""

    letters: int
    bundles: tuple[Bundle, ...]

    @property
    def pages(self) -> int:
        return sum(b.pages for b in self.bundles)


@dataclass
class WordSet:
    """The Word templates of a run (by authority code) and its LibreOffice converters (one
    per core, each with its own profile)."""

    letters: Mapping[str, WordLetter]
    converters: Sequence[Converter]
    problems: list[Problem] = field(default_factory=list)


def write_letters(backend: NativeBackend, jobs: Iterable[Job], root: Path, store: Store,
                  *, progress: Progress | None = None, word: WordSet | None = None) -> Written:
    """Render ``jobs`` (grouped by authority, in postage order) into ``root``, the staging run
    folder: each letter once into its own file and once into its bundle, at most
    ``max_letters_per_bundle`` letters a bundle. Outputs and files go into ``store``."""
    opts = backend.campaign.spec.print
    prefix = "proof/" if backend.proof else ""
    bundles: list[Bundle] = []
    count = 0
    for code, group in groupby(jobs, key=lambda j: j.authority.code):
        letter_dir = root / f"{prefix}{backend.kind}" / code
        letter_dir.mkdir(parents=True, exist_ok=True)
        size = opts.max_letters_per_bundle
        for n, chunk in enumerate(_chunks(group, size), start=1):
            if word is not None and code in word.letters:
                made, problems = _write_word_bundle(
                    backend, word, cast(list[LetterJob], chunk), root, store, f"{code}-{n}",
                    prefix, opts.duplex, progress)
                word.problems += problems
                if made is None:
                    continue
                bundle = made
            else:
                bundle = _write_bundle(backend, chunk, root, store, f"{code}-{n}", prefix,
                                       opts.duplex, progress)
            bundles.append(bundle)
            count += bundle.letters
    return Written(count, tuple(bundles))


def _chunks(jobs: Iterable[Job], size: int) -> Iterator[list[Job]]:
    chunk: list[Job] = []
    for job in jobs:
        chunk.append(job)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_bundle(backend: NativeBackend, chunk: Sequence[Job], root: Path, store: Store,
                  name: str, prefix: str, duplex: bool, progress: Progress | None) -> Bundle:
    authority = chunk[0].authority
    shared = backend.shared(authority)
    bundle_rel = f"{prefix}bundles/{name}.pdf"
    bundle_path = root / bundle_rel
    bundle_path.parent.mkdir(parents=True, exist_ok=True)
    manifest: list[tuple[object, ...]] = []
    with bundle_path.open("wb") as fh:
        doc = DocumentWriter(fh, shared, backend.page_size)
        for seq, job in enumerate(chunk, start=1):
            page = backend.page(job)
            single = io.BytesIO()
            one = DocumentWriter(single, shared, backend.page_size)
            one.add_page(page)
            sha = one.finish(backend.info(job.title, authority, f"hhp-letters {backend.kind}"))
            rel = f"{prefix}{backend.kind}/{authority.code}/{job.stem}.pdf"
            data = single.getvalue()
            (root / rel).write_bytes(data)
            store.add_file(rel, sha, len(data), "letter")
            first = doc.page_count + 1
            doc.add_page(page)
            if duplex:
                doc.add_page(None)
            pages = doc.page_count - first + 1
            store.add_output(job.key, rel, sha, name, first, pages)
            manifest.append((seq, first, pages, (pages + 1) // 2 if duplex else pages,
                             job.sort_key.replace("\x00", " "), job.postcode))
            if progress is not None:
                progress(1)
        sha = doc.finish(backend.info(f"Bundle {name}", authority,
                                      f"{len(chunk)} {backend.kind}"))
        total = doc.page_count
    store.add_file(bundle_rel, sha, bundle_path.stat().st_size, "bundle")
    manifest_rel = f"{prefix}bundles/{name}.csv"
    _write_manifest(root, manifest_rel, manifest, store)
    return Bundle(name, bundle_rel, sha, len(chunk), total)


def _write_manifest(root: Path, rel: str, rows: Sequence[tuple[object, ...]],
                    store: Store) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    (root / rel).write_bytes(data)
    store.add_file(rel, hashlib.sha256(data).hexdigest(), len(data), "manifest")


def job_ticket(campaign: Campaign, written: Written) -> str:
    """What the print shop needs to know, in plain text."""
    opts = campaign.spec.print
    env = opts.envelope
    notes = campaign.kind == "notes"
    item = "notes" if notes else "letters"
    pages = written.pages
    sheets = pages // 2 if opts.duplex else pages
    lines = [
        f"JOB TICKET  {campaign.spec.campaign.name}",
        "",
        f"{item.capitalize() + ':':<16}{written.letters}",
        f"Bundles:        {len(written.bundles)}",
        f"Pages:          {pages}",
        f"Sheets:         {sheets}",
    ]
    if notes:
        paper = ("A5 landscape card (210 x 148 mm)" if campaign.spec.notes.page == "A5-landscape"
                 else "A4 (210 x 297 mm)")
        lines += [f"Paper:          {paper}, white, no bleed; trim = media",
                  "Printing:       simplex",
                  "Colour:         text K100; logo in CMYK",
                  "Finishing:      laminate; no envelope (one note per coffee machine)",
                  "Order:          by site, then team (as the manifest lists)"]
    else:
        lines += [
            "Paper:          A4 (210 x 297 mm), white, no bleed; trim = media",
            "Printing:       " + ("duplex (every letter starts on a front page)" if opts.duplex
                                     else "simplex"),
            "Colour:         text K100; logo in CMYK",
            f"Envelope:       {env.name} {env.width:g} x {env.height:g} mm, window "
            f"{env.window_width:g} x {env.window_height:g} mm at {env.window_left:g} mm from "
            f"left, {env.window_bottom:g} mm from bottom",
            "Fold:           " + ("Z-fold in thirds" if env.fold == "thirds" else "in half")
            + ", address panel out",
            "Sheets/envelope: 1",
            f"Order:          {opts.sort} (within each bundle, as the manifest lists)"]
    lines += ["", f"Bundles (name, {item}, pages, SHA-256):"]
    for b in written.bundles:
        lines.append(f"  {b.name}.pdf  {b.letters:>6} {item}  {b.pages:>6} pages  {b.sha256}")
    return "\n".join(lines) + "\n"


def _page_text(pdf: bytes) -> tuple[int, str]:
    """Page count and the first page's text, by PDFium (fast enough for every letter)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        textpage = page.get_textpage()
        text = str(textpage.get_text_range())
        textpage.close()
        page.close()
        return len(doc), text
    finally:
        doc.close()


def _readback_problems(job: LetterJob, pdf: bytes, page: Any, shown: str) -> list[Problem]:
    """A converted Word letter must be one page, with every font embedded, and must say the
    participant's first name and both feedback lines."""
    problems: list[Problem] = []

    def add(code: str, message: str, hint: str) -> None:
        problems.append(error(code, job.origin, f"participant {job.participant_id!r}: {message}",
                              hint, job.participant_id))

    pages, raw = _page_text(pdf)
    if pages != 1:
        add("overflow", f"the Word letter came out as {pages} pages ({shown})",
            "shorten the feedback for this participant, or tighten the Word template")
        return problems
    text = "".join(raw.split())
    wanted = (("first name", job.first_name), ("feedback line 1", job.feedback[0]),
              ("feedback line 2", job.feedback[1]))
    for what, value in wanted:
        if "".join(value.split()) not in text:
            add("readback", f"the converted letter does not show the {what} ({shown})",
                "check the Word template places {{ first_name }}, {{ feedback_1 }} and "
                "{{ feedback_2 }} in the body")
    for font in _fonts(page):
        descriptor = font.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            add("font_not_embedded", f"font {font.get('/BaseFont')} is not embedded ({shown})",
                "use fonts that allow embedding in the Word template (Carlito/Calibri do)")
    return problems


def _fonts(page: Any) -> Iterator[Any]:
    resources = page.get("/Resources")
    fonts = resources.get_object().get("/Font") if resources is not None else None
    if fonts is None:
        return
    for ref in fonts.get_object().values():
        font = ref.get_object()
        yield font
        for child in font.get("/DescendantFonts", []):
            yield child.get_object()


def _single_page_pdf(page: Any, title: str, author: str, day: str) -> bytes:
    writer = PdfWriter()
    writer.add_page(page)
    writer.add_metadata({"/Title": title, "/Author": author, "/Creator": WORD_CREATOR,
                         "/CreationDate": f"D:{day}000000Z", "/ModDate": f"D:{day}000000Z"})
    buf = io.BytesIO()
    writer.write(buf)
    return make_deterministic(buf.getvalue(), day)


WORD_CREATOR = "hhp-letters (Word template, LibreOffice)"
MIN_PART = 20  # letters; smaller bundles are converted by one process


def _convert_parts(word: WordSet, letter: WordLetter, chunk: Sequence[LetterJob], name: str,
                   work: Path) -> list[tuple[list[LetterJob], Conversion]]:
    """Start converting the bundle as one document per converter (in parallel)."""
    n = max(1, min(len(word.converters), len(chunk) // MIN_PART))
    size = -(-len(chunk) // n)
    work.mkdir(parents=True, exist_ok=True)
    started = []
    for i, converter in enumerate(word.converters[:n]):
        part = list(chunk[i * size:(i + 1) * size])
        if not part:
            continue
        docx = work / f"{name}-part{i + 1}.docx"
        docx.write_bytes(letter.render_batch(part, f"Bundle {name}"))
        started.append((part, converter.start([docx], work / f"pdf-{i + 1}")))
    return started


def _write_word_bundle(backend: NativeBackend, word: WordSet, chunk: Sequence[LetterJob],
                       root: Path, store: Store, name: str, prefix: str, duplex: bool,
                       progress: Progress | None) -> tuple[Bundle | None, list[Problem]]:
    """Fill the Word template for the whole bundle (one document per converter, converted in
    parallel), split the result into one PDF per letter, read each back, and bundle them.
    The filled-in .docx of each letter is kept beside its PDF. Letters that fail the read-back
    are left out and returned as problems."""
    authority = chunk[0].authority
    letter = word.letters[authority.code]
    folder = root / f"{prefix}letters" / authority.code
    work = root / ".converting"
    day = f"{backend.campaign.spec.campaign.date:%Y%m%d}"
    started = _convert_parts(word, letter, chunk, name, work) if letter.batchable else []
    documents = {}
    for job in chunk:  # each letter's own .docx, made while LibreOffice works
        path = folder / f"{job.stem}.docx"
        path.write_bytes(letter.render(job))
        documents[job.key] = path
    pages: list[tuple[LetterJob, Any]] = []
    for part, conversion in started:
        reader = PdfReader(conversion.wait()[0])
        if len(reader.pages) == len(part):
            pages += zip(part, reader.pages, strict=True)
        else:  # a letter ran over a page: convert this part letter by letter to find it
            pages += _one_by_one(word, part, documents, work)
    if not started:
        pages = _one_by_one(word, chunk, documents, work)
    problems: list[Problem] = []
    writer = PdfWriter()
    manifest: list[tuple[object, ...]] = []
    for job, page in pages:
        rel = f"{prefix}letters/{authority.code}/{job.stem}.pdf"
        pdf = _single_page_pdf(page, job.title, authority.name, day) if page is not None else b""
        found = (_readback_problems(job, pdf, page, rel) if page is not None else
                 [error("overflow", job.origin, f"participant {job.participant_id!r}: the Word "
                        f"letter came out as more than one page ({rel})",
                        "shorten the feedback for this participant, or tighten the template",
                        job.participant_id)])
        docx = documents[job.key]
        if found:
            problems += found
            docx.unlink()
            continue
        (root / rel).write_bytes(pdf)
        sha = hashlib.sha256(pdf).hexdigest()
        docx_data = docx.read_bytes()
        store.add_file(rel.removesuffix(".pdf") + ".docx", hashlib.sha256(docx_data).hexdigest(),
                       len(docx_data), "docx")
        store.add_file(rel, sha, len(pdf), "letter")
        first = len(writer.pages) + 1
        writer.add_page(page)
        if duplex:
            writer.add_blank_page(float(page.mediabox.width), float(page.mediabox.height))
        count = len(writer.pages) - first + 1
        store.add_output(job.key, rel, sha, name, first, count)
        manifest.append((len(manifest) + 1, first, count, (count + 1) // 2 if duplex else count,
                         job.sort_key.replace("\x00", " "), job.postcode))
        if progress is not None:
            progress(1)
    shutil.rmtree(work, ignore_errors=True)
    if not manifest:
        return None, problems
    writer.add_metadata({"/Title": f"Bundle {name}", "/Author": authority.name,
                         "/Subject": backend.campaign.spec.campaign.name,
                         "/Creator": WORD_CREATOR,
                         "/CreationDate": f"D:{day}000000Z", "/ModDate": f"D:{day}000000Z"})
    buf = io.BytesIO()
    writer.write(buf)
    data = make_deterministic(buf.getvalue(), day)
    bundle_rel = f"{prefix}bundles/{name}.pdf"
    (root / bundle_rel).parent.mkdir(parents=True, exist_ok=True)
    (root / bundle_rel).write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    store.add_file(bundle_rel, sha, len(data), "bundle")
    _write_manifest(root, f"{prefix}bundles/{name}.csv", manifest, store)
    return Bundle(name, bundle_rel, sha, len(manifest), len(writer.pages)), problems


def _one_by_one(word: WordSet, jobs: Sequence[LetterJob], documents: Mapping[str, Path],
                work: Path) -> list[tuple[LetterJob, Any]]:
    """Convert each letter's own .docx (one process for all of them); a letter that is not
    exactly one page gets ``None`` for its page."""
    pdfs = word.converters[0].convert([documents[j.key] for j in jobs], work / "single")
    out: list[tuple[LetterJob, Any]] = []
    for job, pdf in zip(jobs, pdfs, strict=True):
        reader = PdfReader(pdf)
        out.append((job, reader.pages[0] if len(reader.pages) == 1 else None))
    return out
