"""The Word backend: a council's .docx letterhead filled by docxtpl, converted by a real
headless LibreOffice, made print-ready by our own post-processing, split into one PDF per
letter and read back.

Each bundle is filled as one document per converter (one LibreOffice per core, each with its
own profile) and converted in parallel, while each letter's own .docx is filled; a part that
does not come out one page per letter is converted letter by letter to find the one that ran
over. LibreOffice's PDF is then made what the print house is promised (word_pdf): CMYK only
through the run's ICC profile (text K100), TrimBox = MediaBox, unique subset names, PDF/X
identified as the native letters are, each page's mail-integrity code drawn on it (and the
PROOF watermark on proofs), byte-identical on a re-render. Each letter's address is found in
its converted page and measured against the envelope window band, as `check` measures the
template (word_checks); a letter whose address misses it is withheld with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

from hhp_letters import __version__
from hhp_letters.campaign import Campaign, Envelope
from hhp_letters.errors import InternalError, RenderError
from hhp_letters.model import Job, LetterJob
from hhp_letters.problems import Problem, error
from hhp_letters.render import press
from hhp_letters.render.backend import BundleSpec, Extra, Rendered, Spans, find_spans
from hhp_letters.render.colour import CmykConverter, Rgb
from hhp_letters.render.images import flatten_onto_white
from hhp_letters.render.layout import Metrics
from hhp_letters.render.letter import format_date
from hhp_letters.render.libreoffice import Converter
from hhp_letters.render.pdf import Pdfx, Sink
from hhp_letters.render.pdfx import PdfxError
from hhp_letters.render.word import WordLetter
from hhp_letters.render.word_checks import letter_address_problem
from hhp_letters.render.word_pdf import (
    BundleBuilder,
    ConvertedDocument,
    ImageCache,
    ImageToCmyk,
    PdfInfo,
    RgbToCmyk,
    pdf_date,
)

WORD_CREATOR = f"hhp-letters {__version__} (Word template, LibreOffice)"
MIN_PART = 20  # letters; smaller bundles are converted by one process
PIECE = 25  # letters per document LibreOffice converts: post-processing follows close behind
STAGE = "layout"
MM = 72 / 25.4


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


class IccColours:
    """RGB vector colours (0..1) through the run's ICC profile, in whole percent as the native
    letters' brand colours are; each distinct colour is converted once."""

    def __init__(self, converter: CmykConverter) -> None:
        self._converter = converter
        self._seen: dict[tuple[int, int, int], tuple[float, float, float, float]] = {}

    def __call__(self, r: float, g: float, b: float) -> tuple[float, float, float, float]:
        key = (round(r * 255), round(g * 255), round(b * 255))
        found = self._seen.get(key)
        if found is None:
            c = self._converter.brand_cmyk(Rgb(*key))
            found = self._seen[key] = (c.c / 100, c.m / 100, c.y / 100, c.k / 100)
        return found


@dataclass(frozen=True)
class WordPress:
    """What every Word PDF of a run needs from the press side: its PDF/X identification, the
    RGB → CMYK conversions (ICC), and the proof watermark (``b""`` for a live run)."""

    pdfx: Pdfx
    rgb_to_cmyk: RgbToCmyk
    image_to_cmyk: ImageToCmyk
    watermark: Callable[[float, float], bytes]  # page width, height (pt) → operators

    @classmethod
    def for_campaign(cls, campaign: Campaign, *, proof: bool = False) -> WordPress:
        try:
            pdfx = press.identification(campaign)
        except (PdfxError, OSError) as exc:  # check reports these; a run never gets here
            raise InternalError(f"[print] settings reached the renderer unchecked: {exc}"
                                ) from exc
        converter = press.converter(campaign)
        marks: dict[tuple[float, float], bytes] = {}

        def watermark(width: float, height: float) -> bytes:
            if not proof:
                return b""
            key = (round(width, 1), round(height, 1))
            if key not in marks:
                marks[key] = _watermark(width, height)
            return marks[key]

        return cls(pdfx, IccColours(converter), converter.image_to_cmyk, watermark)


def _watermark(width: float, height: float) -> bytes:
    """The native proofs' PROOF watermark (outlines, never text)."""
    from hhp_letters.render.native import watermark
    from hhp_letters.render.text import Fonts, TextEncoder
    from hhp_letters.resources import resource_dir

    fonts = Fonts.load(resource_dir("templates") / "fonts")
    return watermark(TextEncoder(fonts), fonts, width, height)


@dataclass(frozen=True)
class _Unit:
    """Letters converted together: ``pdf`` has one page per job, in order (None: the one job
    did not come out as one page); ``documents`` are their own filled-in .docx files."""

    jobs: tuple[LetterJob, ...]
    pdf: bytes | None
    documents: tuple[bytes, ...]


class WordBackend:
    """One authority's Word letters for one run."""

    def __init__(self, campaign: Campaign, letter: WordLetter,
                 converters: Sequence[Converter], work: Path, word_press: WordPress,
                 images: ImageCache | None = None) -> None:
        self.campaign = campaign
        self.letter = letter
        self.converters = converters
        self.work = work
        self.press = word_press
        self.images = images if images is not None else ImageCache()
        date = campaign.spec.campaign.date
        self.date = pdf_date(date.year, date.month, date.day)

    def info(self, title: str, keywords: str) -> PdfInfo:
        """The same /Info (and XMP) as a native letter's: Author the council, Subject the
        campaign, dated the campaign's date."""
        return PdfInfo(title=title, author=self.letter.authority.name,
                       subject=self.campaign.spec.campaign.name, creator=WORD_CREATOR,
                       keywords=keywords, date=self.date, producer=WORD_CREATOR)

    def render_bundle(self, jobs: Sequence[Job], out: Sink, spec: BundleSpec
                      ) -> Iterator[Rendered | Problem]:
        letters = [j for j in jobs if isinstance(j, LetterJob)]
        if len(letters) != len(jobs):
            raise InternalError("the Word backend makes letters only")
        work = self.work / spec.name
        try:
            yield from self._print(self._converted(letters, spec.name, work), out, spec)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _converted(self, letters: Sequence[LetterJob], name: str, work: Path
                   ) -> Iterator[_Unit]:
        """The letters converted, in order, as each piece is ready.

        A batchable template's bundle is filled as pieces of about :data:`PIECE` letters,
        dealt to the converters in turn (piece 1 to the first, 2 to the second, …); each
        LibreOffice converts its pieces in order in one process, and each piece is handed on
        as soon as it is written, so the post-processing of one overlaps the conversion of
        the next. A piece that does not come out one page per letter is converted letter by
        letter (once the converters are free) to find the one that ran over."""
        work.mkdir(parents=True, exist_ok=True)
        if not self.letter.batchable:  # each letter's own .docx, converted as it is
            documents = {job.key: self.letter.render(job) for job in letters}
            yield from self._one_by_one(letters, documents, work)
            return
        n = max(1, min(len(self.converters), len(letters) // MIN_PART))
        count = max(n, -(-len(letters) // PIECE))
        size = -(-len(letters) // count)
        pieces = [list(letters[i:i + size]) for i in range(0, len(letters), size)]
        paths = []
        for i, piece in enumerate(pieces):
            path = work / f"{name}-{i + 1:03d}.docx"
            path.write_bytes(self.letter.render_batch(piece, f"Bundle {name}"))
            paths.append(path)
        running = [converter.start(paths[k::n], work / f"pdf-{k + 1}")
                   for k, converter in enumerate(self.converters[:n])]
        try:
            documents = {job.key: self.letter.render(job) for job in letters}  # meanwhile
            for i, piece in enumerate(pieces):
                pdf = running[i % n].ready(i // n).read_bytes()
                if _page_count(pdf) == len(piece):
                    yield _Unit(tuple(piece), pdf, tuple(documents[j.key] for j in piece))
                    continue
                for conversion in running:  # the converters must be free for one by one
                    conversion.wait()
                yield from self._one_by_one(piece, documents, work / f"piece-{i + 1}")
        finally:
            for conversion in running:
                conversion.stop()

    def _print(self, units: Iterator[_Unit], out: Sink, spec: BundleSpec
               ) -> Iterator[Rendered | Problem]:
        """Make the converted letters print-ready: each letter's own file, and the bundle."""
        codes, duplex = spec.codes, spec.duplex
        pages = 2 if duplex else 1
        code_name = self.letter.authority.code
        pdfx = self.press.pdfx
        envelope = self.campaign.spec.print.envelope
        made = 0
        with contextlib.ExitStack() as stack:
            bundle = stack.enter_context(BundleBuilder())
            for unit in units:
                if unit.pdf is None:
                    job = unit.jobs[0]
                    yield error("overflow", job.origin, f"participant {job.participant_id!r}: "
                                "the Word letter came out as more than one page "
                                f"(letters/{code_name}/{job.stem}.pdf)",
                                "shorten the feedback for this participant, or tighten the "
                                "template", job.participant_id)
                    continue
                texts, sizes, misplaced = _page_texts(unit.pdf, unit.jobs, envelope)
                doc = stack.enter_context(ConvertedDocument(
                    unit.pdf, rgb_to_cmyk=self.press.rgb_to_cmyk,
                    image_to_cmyk=self.press.image_to_cmyk, cache=self.images))
                for i, job in enumerate(unit.jobs):
                    shown = f"letters/{code_name}/{job.stem}.pdf"
                    found = _shows(job, texts[i], doc.unembedded_fonts(i), shown)
                    window = misplaced[i]
                    if window is not None:  # measured on the letter itself, as `check` does
                        found.append(window)
                    if found:
                        yield from found
                        continue
                    made += 1  # this letter's envelope, in the bundle's order
                    code = codes.payload(spec.number, made, 1, pages) if codes else ""
                    doc.overlay(i, under=self.press.watermark(*sizes[i]),
                                over=codes.operators(code) if codes else b"")
                    pdf = doc.single(i, self.info(job.title, "hhp-letters letters"), pdfx=pdfx)
                    spans = _spans(job, texts[i], shown)
                    first = bundle.page_count + 1
                    bundle.add(doc, i)
                    if duplex:
                        bundle.add_blank(codes.operators(codes.payload(spec.number, made, 2, 2))
                                         if codes else b"")
                    yield Rendered(job, pdf, first, bundle.page_count - first + 1, spans,
                                   (Extra(".docx", unit.documents[i], "docx"),), code)
            out.write(bundle.finish(self.info(f"Bundle {spec.name}", f"{made} letters"),
                                    pdfx=pdfx))

    def _one_by_one(self, jobs: Sequence[LetterJob], documents: dict[str, bytes],
                    work: Path) -> Iterator[_Unit]:
        """Convert each letter's own .docx (the letters shared among the converters); a
        letter that is not exactly one page gets ``None`` for its PDF."""
        folder = work / "single-docx"
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for job in jobs:
            path = folder / f"{job.stem}.docx"
            path.write_bytes(documents[job.key])
            paths.append(path)
        n = max(1, min(len(self.converters), len(paths)))
        running = [converter.start(paths[k::n], work / f"single-{k + 1}")
                   for k, converter in enumerate(self.converters[:n])]
        try:
            for i, job in enumerate(jobs):
                pdf = running[i % n].ready(i // n).read_bytes()
                yield _Unit((job,), pdf if _page_count(pdf) == 1 else None,
                            (documents[job.key],))
            for conversion in running:
                conversion.wait()
        finally:
            for conversion in running:
                conversion.stop()


def _page_count(pdf: bytes) -> int:
    try:
        doc = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise RenderError(f"LibreOffice's output is not a readable PDF ({exc})",
                          hint="convert the document again") from exc
    try:
        return len(doc)
    finally:
        doc.close()


def _page_texts(pdf: bytes, jobs: Sequence[LetterJob] = (), envelope: Envelope | None = None
                ) -> tuple[list[str], list[tuple[float, float]], list[Problem | None]]:
    """Each page's text (PDFium, as `verify` reads it) and size in points; with ``jobs``
    (one a page) and ``envelope``, whether each letter's address misses the window band."""
    doc = pdfium.PdfDocument(pdf)
    try:
        texts, sizes, misplaced = [], [], []
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            texts.append(str(textpage.get_text_range()))
            sizes.append(page.get_size())
            if envelope is not None and i < len(jobs):
                job = jobs[i]
                misplaced.append(letter_address_problem(
                    textpage, sizes[-1][1], job, envelope,
                    f"letters/{job.authority.code}/{job.stem}.pdf"))
            textpage.close()
            page.close()
        return texts, sizes, misplaced
    finally:
        doc.close()


def _shows(job: LetterJob, text: str, unembedded: Sequence[str], shown: str
           ) -> list[Problem]:
    """A converted Word letter must show the participant's first name and both feedback
    lines — found in its text layer whatever the template's typography — with every font
    embedded."""
    problems: list[Problem] = []

    def add(code: str, message: str, hint: str) -> None:
        problems.append(error(code, job.origin, f"participant {job.participant_id!r}: {message}",
                              hint, job.participant_id))

    missing = find_spans(text, job.fields())
    if isinstance(missing, str):
        add("readback", f"the converted letter does not show the {missing.replace('_', ' ')} "
            f"({shown})", "check the Word template places {{ first_name }}, {{ feedback_1 }} "
            "and {{ feedback_2 }} in the body")
    for font in unembedded:
        add("font_not_embedded", f"font {font} is not embedded ({shown})",
            "use fonts that allow embedding in the Word template (Carlito/Calibri do)")
    return problems


def _spans(job: LetterJob, text: str, shown: str) -> Spans:
    """Where the fields lie in the page's text: the converted page's, which the print-ready
    file keeps (the post-processing rewrites colours, images and font names, never text or
    ToUnicode; the code and watermark are images and outlines). `verify` reads the file."""
    spans = find_spans(text, job.fields())
    if isinstance(spans, str):
        raise InternalError(f"{shown}: the letter's {spans} was found, then not")
    return spans


@contextlib.contextmanager
def open_word_backends(campaign: Campaign, fonts: Sequence[Path], *, proof: bool = False
                       ) -> Iterator[dict[str, WordBackend]]:
    """The run's Word backends (by authority code) and their LibreOffice converters, for as
    long as the bundles are being written. ``proof``: every page carries the PROOF
    watermark."""
    authorities = [a for a in campaign.spec.authorities if a.template]
    if not authorities:
        yield {}
        return
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix=f"hhp-word-{os.getpid()}-")))
        # one LibreOffice per core, each with its own profile: a bundle converts in parallel
        converters = [stack.enter_context(Converter(fonts))
                      for _ in range(max(1, min(4, os.cpu_count() or 1)))]
        word_press = WordPress.for_campaign(campaign, proof=proof)
        images = ImageCache()  # a logo in every bundle is converted to CMYK once per run
        backends = {}
        for a in authorities:
            if a.template is None:
                raise InternalError("an authority without a template reached the Word backend")
            signature = tmp / f"{a.code}-signature.png"
            flatten_onto_white(campaign.resolve(a.signatory.signature), signature)
            letter = WordLetter(campaign.resolve(a.template), a, signature,
                                format_date(a.date or campaign.spec.campaign.date), a.template)
            backends[a.code] = WordBackend(campaign, letter, converters, tmp / a.code,
                                           word_press, images)
        yield backends
