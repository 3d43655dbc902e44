"""The Word backend: a council's .docx letterhead filled by docxtpl, converted by a real
headless LibreOffice, split into one PDF per letter and read back.

Each bundle is filled as one document per converter (one LibreOffice per core, each with its
own profile) and converted in parallel, while each letter's own .docx is filled; a part that
does not come out one page per letter is converted letter by letter to find the one that ran
over.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter

from hhp_letters.campaign import Campaign
from hhp_letters.errors import InternalError
from hhp_letters.model import Job, LetterJob
from hhp_letters.pdftext import page_count_and_text
from hhp_letters.problems import Problem, error
from hhp_letters.render.backend import Extra, Rendered, Spans, find_spans
from hhp_letters.render.images import flatten_onto_white
from hhp_letters.render.layout import Metrics
from hhp_letters.render.letter import format_date
from hhp_letters.render.libreoffice import Conversion, Converter
from hhp_letters.render.pdf import Sink
from hhp_letters.render.word import WordLetter, make_deterministic

WORD_CREATOR = "hhp-letters (Word template, LibreOffice)"
MIN_PART = 20  # letters; smaller bundles are converted by one process
STAGE = "layout"


@dataclass(frozen=True)
class WordLayout:
    """What can be known about the Word letters before converting: the authorities with a
    template, and the letters that cannot be printed (a character the font lacks)."""

    codes: frozenset[str]
    problems: tuple[Problem, ...]


def lay_out_word(campaign: Campaign, jobs: Iterator[Job], fonts: Metrics,
                 withhold: Any) -> WordLayout:
    codes = frozenset(a.code for a in campaign.spec.authorities if a.template)
    problems: list[Problem] = []
    for job in jobs:
        if not isinstance(job, LetterJob) or job.authority.code not in codes:
            continue
        found = []
        for what, text, style in (("first name", job.first_name, "regular"),
                                  ("feedback line 1", job.feedback[0], "italic"),
                                  ("feedback line 2", job.feedback[1], "italic")):
            for char in fonts.unprintable(text, style):
                found.append(error(
                    "unprintable_character", job.origin,
                    f"participant {job.participant_id!r}: {what} contains {char!r} "
                    f"(U+{ord(char):04X}), which the font cannot print",
                    "remove or replace the character", job.participant_id))
        if found:
            problems += found
            withhold(job, found[0].code)
    return WordLayout(codes, tuple(problems))


class WordBackend:
    """One authority's Word letters for one run."""

    def __init__(self, campaign: Campaign, letter: WordLetter,
                 converters: Sequence[Converter], work: Path) -> None:
        self.campaign = campaign
        self.letter = letter
        self.converters = converters
        self.work = work
        self.day = f"{campaign.spec.campaign.date:%Y%m%d}"

    def render_bundle(self, jobs: Sequence[Job], out: Sink, *, name: str,
                      duplex: bool) -> Iterator[Rendered | Problem]:
        letters = [j for j in jobs if isinstance(j, LetterJob)]
        if len(letters) != len(jobs):
            raise InternalError("the Word backend makes letters only")
        work = self.work / name
        started = self._convert_parts(letters, name, work) if self.letter.batchable else []
        documents: dict[str, bytes] = {}
        for job in letters:  # each letter's own .docx, made while LibreOffice works
            documents[job.key] = self.letter.render(job)
        pages: list[tuple[LetterJob, Any]] = []
        for part, conversion in started:
            reader = PdfReader(conversion.wait()[0])
            if len(reader.pages) == len(part):
                pages += zip(part, reader.pages, strict=True)
            else:  # a letter ran over a page: convert this part letter by letter to find it
                pages += self._one_by_one(part, documents, work)
        if not started:
            pages = self._one_by_one(letters, documents, work)
        writer = PdfWriter()
        authority = letters[0].authority
        for job, page in pages:
            shown = f"letters/{authority.code}/{job.stem}.pdf"
            if page is None:
                yield error("overflow", job.origin, f"participant {job.participant_id!r}: the "
                            f"Word letter came out as more than one page ({shown})",
                            "shorten the feedback for this participant, or tighten the template",
                            job.participant_id)
                continue
            pdf = self._single_page_pdf(page, job.title, authority.name)
            found = readback_problems(job, pdf, page, shown)
            if isinstance(found, list):
                yield from found
                continue
            first = len(writer.pages) + 1
            writer.add_page(page)
            if duplex:
                writer.add_blank_page(float(page.mediabox.width), float(page.mediabox.height))
            yield Rendered(job, pdf, first, len(writer.pages) - first + 1, found,
                           (Extra(".docx", documents[job.key], "docx"),))
        shutil.rmtree(work, ignore_errors=True)
        writer.add_metadata({"/Title": f"Bundle {name}", "/Author": authority.name,
                             "/Subject": self.campaign.spec.campaign.name,
                             "/Creator": WORD_CREATOR,
                             "/CreationDate": f"D:{self.day}000000Z",
                             "/ModDate": f"D:{self.day}000000Z"})
        buf = io.BytesIO()
        writer.write(buf)
        out.write(make_deterministic(buf.getvalue(), self.day))

    def _convert_parts(self, chunk: Sequence[LetterJob], name: str, work: Path
                       ) -> list[tuple[list[LetterJob], Conversion]]:
        """Start converting the bundle as one document per converter (in parallel)."""
        n = max(1, min(len(self.converters), len(chunk) // MIN_PART))
        size = -(-len(chunk) // n)
        work.mkdir(parents=True, exist_ok=True)
        started = []
        for i, converter in enumerate(self.converters[:n]):
            part = list(chunk[i * size:(i + 1) * size])
            if not part:
                continue
            docx = work / f"{name}-part{i + 1}.docx"
            docx.write_bytes(self.letter.render_batch(part, f"Bundle {name}"))
            started.append((part, converter.start([docx], work / f"pdf-{i + 1}")))
        return started

    def _one_by_one(self, jobs: Sequence[LetterJob], documents: Mapping[str, bytes],
                    work: Path) -> list[tuple[LetterJob, Any]]:
        """Convert each letter's own .docx (one process for all of them); a letter that is not
        exactly one page gets ``None`` for its page."""
        folder = work / "single-docx"
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for job in jobs:
            path = folder / f"{job.stem}.docx"
            path.write_bytes(documents[job.key])
            paths.append(path)
        pdfs = self.converters[0].convert(paths, work / "single")
        out: list[tuple[LetterJob, Any]] = []
        for job, pdf in zip(jobs, pdfs, strict=True):
            reader = PdfReader(pdf)
            out.append((job, reader.pages[0] if len(reader.pages) == 1 else None))
        return out

    def _single_page_pdf(self, page: Any, title: str, author: str) -> bytes:
        writer = PdfWriter()
        writer.add_page(page)
        writer.add_metadata({"/Title": title, "/Author": author, "/Creator": WORD_CREATOR,
                             "/CreationDate": f"D:{self.day}000000Z",
                             "/ModDate": f"D:{self.day}000000Z"})
        buf = io.BytesIO()
        writer.write(buf)
        return make_deterministic(buf.getvalue(), self.day)


def readback_problems(job: LetterJob, pdf: bytes, page: Any, shown: str
                      ) -> list[Problem] | Spans:
    """A converted Word letter must be one page, with every font embedded, and must show the
    participant's first name and both feedback lines — found in its text layer whatever the
    template's typography; their places there are what the audit records."""
    problems: list[Problem] = []

    def add(code: str, message: str, hint: str) -> None:
        problems.append(error(code, job.origin, f"participant {job.participant_id!r}: {message}",
                              hint, job.participant_id))

    pages, raw = page_count_and_text(pdf)
    if pages != 1:
        add("overflow", f"the Word letter came out as {pages} pages ({shown})",
            "shorten the feedback for this participant, or tighten the Word template")
        return problems
    spans = find_spans(raw, job.fields())
    if isinstance(spans, str):
        add("readback", f"the converted letter does not show the {spans.replace('_', ' ')} "
            f"({shown})", "check the Word template places {{ first_name }}, {{ feedback_1 }} "
            "and {{ feedback_2 }} in the body")
    for font in _fonts(page):
        descriptor = font.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            add("font_not_embedded", f"font {font.get('/BaseFont')} is not embedded ({shown})",
                "use fonts that allow embedding in the Word template (Carlito/Calibri do)")
    if problems or isinstance(spans, str):
        return problems
    return spans


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


@contextlib.contextmanager
def open_word_backends(campaign: Campaign, fonts: Sequence[Path]
                       ) -> Iterator[dict[str, WordBackend]]:
    """The run's Word backends (by authority code) and their LibreOffice converters, for as
    long as the bundles are being written."""
    authorities = [a for a in campaign.spec.authorities if a.template]
    if not authorities:
        yield {}
        return
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hhp-word-")))
        # one LibreOffice per core, each with its own profile: a bundle converts in parallel
        converters = [stack.enter_context(Converter(fonts))
                      for _ in range(max(1, min(4, os.cpu_count() or 1)))]
        backends = {}
        for a in authorities:
            if a.template is None:
                raise InternalError("an authority without a template reached the Word backend")
            signature = tmp / f"{a.code}-signature.png"
            flatten_onto_white(campaign.resolve(a.signatory.signature), signature)
            letter = WordLetter(campaign.resolve(a.template), a, signature,
                                format_date(a.date or campaign.spec.campaign.date), a.template)
            backends[a.code] = WordBackend(campaign, letter, converters, tmp / a.code)
        yield backends
