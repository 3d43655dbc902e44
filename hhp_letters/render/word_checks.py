"""Template checks for Word letterheads that need the page itself: what `check` runs for each
authority with a ``template``.

The page setup is read from the .docx (size, margins, header and footer distances); the rest
is measured on ONE synthetic worst-case letter per template, filled as the run would fill it
and converted by the real LibreOffice: where the address block lands against the envelope
window band of ``[print] envelope`` (:class:`~hhp_letters.render.geometry.Window`, the same
geometry the native letters are laid out in), whether anything else falls within the window's
reach, and whether a fold runs through a line of text. Positions are PDFium's ink boxes of the
converted PDF's text (what a window shows and a fold cuts).

The worst case is built from the campaign's own list: the address with the most lines, with
the longest name, street line and POST TOWN found for the authority put into it (taller and
wider than any real letter). When the list cannot be read, a six-line synthetic address
stands in (:data:`SYNTHETIC_ADDRESS`).
"""

from __future__ import annotations

import ctypes
import math
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from lxml import etree  # type: ignore[import-untyped]  # no stubs installed

from hhp_letters.campaign import Authority, Campaign, Envelope
from hhp_letters.errors import ConverterUnavailable, RenderError
from hhp_letters.model import LetterJob
from hhp_letters.problems import Origin, Problem, error, warning
from hhp_letters.render.geometry import A4, MM, Rect, Window
from hhp_letters.render.word_pdf import TextBox, text_boxes

A4_TOLERANCE_MM = 0.5
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TWIPS_PER_MM = 1440 / 25.4
_PUNCT = re.compile(r"[,.]")  # as the letters' address lines (Royal Mail style)
KNOWN_SIZES = {(215.9, 279.4): "US Letter", (215.9, 355.6): "US Legal",
               (148.0, 210.0): "A5", (297.0, 420.0): "A3", (176.0, 250.0): "B5",
               (297.0, 210.0): "A4 landscape", (279.4, 215.9): "US Letter landscape"}
# Stands in for the campaign's addresses when its list cannot be read: six lines, each long.
SYNTHETIC_ADDRESS = ("Alexandra Montgomery-Whitfield", "Flat 12 Wellington Court",
                     "147 Chesterfield Gardens", "Little Hadham", "BISHOPS STORTFORD",
                     "SG11 2AB")
# One line each at a letter's measure: the body as long as a typical letter's, not shorter.
SAMPLE_FEEDBACK = ("Your steady work with families this year has made a real difference.",
                   "Colleagues say your case notes are clear, thorough and a model to all.")


@dataclass(frozen=True)
class PageSetup:
    """One section's page, in mm (Word stores twips)."""

    section: int  # 1-based
    width: float | None
    height: float | None
    landscape: bool
    top: float
    right: float
    bottom: float
    left: float
    header: float
    footer: float
    gutter: float


@dataclass(frozen=True)
class Measured:
    """What the converted sample letter shows: page sizes (mm), each page's lines (ink boxes,
    mm from the top-left), page 1's images, and its address lines' boxes (or the first
    address line not found)."""

    sizes: tuple[tuple[float, float], ...]
    lines: tuple[tuple[TextBox, ...], ...]
    images: tuple[Rect, ...]
    address: tuple[Rect, ...] | str


@dataclass(frozen=True)
class WorstCase:
    """The address the sample letter carries, and whether it came from the campaign's list."""

    first_name: str
    last_name: str
    lines: tuple[str, ...]  # after the name: street lines, POST TOWN, postcode
    from_list: bool

    @property
    def address(self) -> tuple[str, ...]:
        """Every line the envelope shows: the name, then :attr:`lines`."""
        return (f"{self.first_name} {self.last_name}", *self.lines)

    @property
    def described(self) -> str:
        n = len(self.lines) + 1
        return (f"the longest address in the participant list ({n} lines)" if self.from_list
                else f"a {n}-line synthetic address (the participant list could not be read)")


def folds(envelope: Envelope, height: float = A4[1]) -> tuple[float, ...]:
    """Where the sheet is folded for this envelope, in mm from the top (as letter.py)."""
    return (height / 3, 2 * height / 3) if envelope.fold == "thirds" else (height / 2,)


# --- the page setup, from the .docx -----------------------------------------------------------

def _mm(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return int(float(value)) / _TWIPS_PER_MM
    except ValueError:
        return None


def page_setups(path: Path) -> tuple[PageSetup, ...]:
    """Every section's page size and margins (``()`` when the document cannot be read: the
    lint says why)."""
    try:
        with zipfile.ZipFile(path) as zf:
            root = etree.fromstring(zf.read("word/document.xml"))
    except (zipfile.BadZipFile, KeyError, OSError, etree.XMLSyntaxError):
        return ()
    out = []
    for i, sect in enumerate(root.iter(f"{_W}sectPr"), start=1):
        size = sect.find(f"{_W}pgSz")
        margin = sect.find(f"{_W}pgMar")

        def get(element: etree._Element | None, name: str) -> float | None:
            return None if element is None else _mm(element.get(f"{_W}{name}"))

        out.append(PageSetup(
            i, get(size, "w"), get(size, "h"),
            size is not None and size.get(f"{_W}orient") == "landscape",
            *(get(margin, name) or 0.0 for name in ("top", "right", "bottom", "left", "header",
                                                   "footer", "gutter"))))
    return tuple(out)


def _size_label(width: float, height: float) -> str:
    for (w, h), name in KNOWN_SIZES.items():
        if abs(width - w) <= 1 and abs(height - h) <= 1:
            return f" ({name})"
    return ""


def _is_a4(width: float, height: float) -> bool:
    return abs(width - A4[0]) <= A4_TOLERANCE_MM and abs(height - A4[1]) <= A4_TOLERANCE_MM


def _size_problem(width: float, height: float, where: str, shown: str, origin: Origin
                  ) -> Problem:
    landscape = width > height
    return error("template_page_size", origin,
                 f"{shown}: {where} is {width:.1f} × {height:.1f} mm"
                 f"{_size_label(width, height)}, not A4 (210 × 297 mm portrait): the letters "
                 "would not print as the A4 job the print house is sent",
                 "in Word: Layout → Size → A4" + (" and Layout → Orientation → Portrait"
                                                  if landscape else "")
                 + ", then check the letter still fits its page")


def setup_problems(setups: Sequence[PageSetup], shown: str, origin: Origin) -> list[Problem]:
    """A4 (± 0.5 mm) portrait; margins, header and footer inside the page."""
    problems: list[Problem] = []
    margins_hint = ("in Word: Layout → Margins → Custom Margins; the header and footer "
                    "distances are on its Layout tab ('From edge')")
    for s in setups:
        where = "the page" if len(setups) == 1 else f"section {s.section}'s page"
        if s.width is None or s.height is None:
            continue  # no size given: the converted page is measured instead
        if not _is_a4(s.width, s.height):
            problems.append(_size_problem(s.width, s.height, where, shown, origin))
        bad: list[str] = []
        for name, value in (("left", s.left), ("right", s.right), ("gutter", s.gutter),
                            ("header distance", s.header), ("footer distance", s.footer)):
            if value < 0:
                bad.append(f"the {name} is {value:.1f} mm (negative)")
        if s.left + s.right + s.gutter >= s.width:
            bad.append(f"the left and right margins ({s.left + s.right + s.gutter:.1f} mm) "
                       f"leave no room on a {s.width:.1f} mm page")
        if abs(s.top) + abs(s.bottom) >= s.height:
            bad.append(f"the top and bottom margins ({abs(s.top) + abs(s.bottom):.1f} mm) "
                       f"leave no room on a {s.height:.1f} mm page")
        for name, value in (("header", s.header), ("footer", s.footer)):
            if value >= s.height:
                bad.append(f"the {name} is {value:.1f} mm from the edge, off the "
                           f"{s.height:.1f} mm page")
        for what in bad:
            problems.append(error("template_margins", origin,
                                  f"{shown}: {where}: {what}", margins_hint))
    return problems


# --- the worst-case letter --------------------------------------------------------------------

def _clean(line: str) -> str:
    return " ".join(_PUNCT.sub(" ", line).split())


def worst_case(campaign: Campaign, authority: Authority) -> WorstCase:
    """The tallest and widest address the authority's letters can carry (see the module
    docstring); the synthetic six-line one when the list cannot be read."""
    from hhp_letters.fields import LIST_FIELDS
    from hhp_letters.sources import read_table

    path = campaign.participants_file
    table = read_table(path, shown=campaign.display(path), sheet=campaign.spec.inputs.sheet,
                       fields=LIST_FIELDS, required=(),
                       explicit_columns=campaign.spec.inputs.columns)
    only = len(campaign.spec.authorities) == 1 and "authority" not in table.columns
    tallest: tuple[str, ...] = ()
    name, street, town, postcode = ("", ""), "", "", ""
    for row in table.read():
        if isinstance(row, Problem):
            continue
        if not only:
            found = campaign.authority(row.get("authority"))
            if found is None or found.code != authority.code:
                continue
        lines = tuple(x for x in (_clean(row.get(f)) for f in ("address_1", "address_2",
                                                                 "address_3")) if x)
        first = " ".join((row.get("first_name") or row.get("preferred_name")).split())
        last = " ".join(row.get("last_name").split())
        if not (lines and first and last and row.get("town") and row.get("postcode")):
            continue  # an incomplete row is an error of its own; it makes no letter
        if len(first) + len(last) > len(name[0]) + len(name[1]):
            name = (first, last)
        street = max((street, *lines), key=len)
        town = max(town, " ".join(row.get("town").upper().split()), key=len)
        if len(lines) > len(tallest):
            tallest, postcode = lines, " ".join(row.get("postcode").upper().split())
    if not tallest:
        first, last = SYNTHETIC_ADDRESS[0].split(" ", 1)
        return WorstCase(first, last, SYNTHETIC_ADDRESS[1:], False)
    longest = max(range(len(tallest)), key=lambda i: len(tallest[i]))
    lines = (*tallest[:longest], street, *tallest[longest + 1:])
    return WorstCase(name[0], name[1], (*lines, town, postcode), True)


def _convert(campaign: Campaign, authority: Authority, path: Path, job: LetterJob) -> bytes:
    """The sample letter, filled as the run fills it and converted by LibreOffice."""
    from hhp_letters.render.images import flatten_onto_white
    from hhp_letters.render.letter import format_date
    from hhp_letters.render.libreoffice import Converter
    from hhp_letters.render.text import Fonts
    from hhp_letters.render.word import WordLetter
    from hhp_letters.resources import resource_dir

    fonts = Fonts.load(resource_dir("templates") / "fonts").files
    with tempfile.TemporaryDirectory(prefix="hhp-template-check-") as tmp, \
            Converter(fonts) as converter:
        signature = Path(tmp) / "signature.png"
        flatten_onto_white(campaign.resolve(authority.signatory.signature), signature)
        letter = WordLetter(path, authority, signature,
                            format_date(authority.date or campaign.spec.campaign.date),
                            authority.template or path.name)
        document = Path(tmp) / "sample.docx"
        document.write_bytes(letter.render(job))
        (pdf,) = converter.convert([document], Path(tmp) / "pdf")
        return pdf.read_bytes()


def measure(pdf: bytes, address: Sequence[str]) -> Measured:
    """Page sizes, lines of every page, page 1's images and ``address`` lines (mm, top-left
    origin)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        sizes = []
        images: list[Rect] = []
        found: list[Rect] | str = "(no page)"
        for i in range(len(doc)):
            page = doc[i]
            width, height = page.get_size()
            sizes.append((width / MM, height / MM))
            if i == 0:
                for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
                    left, bottom, right, top = obj.get_bounds()
                    images.append(Rect(left / MM, (height - top) / MM, right / MM,
                                       (height - bottom) / MM))
                textpage = page.get_textpage()
                found = address_rects(textpage, height, address)
                textpage.close()
            page.close()
    finally:
        doc.close()
    lines = tuple(tuple(text_boxes(pdf, i, lines=True)) for i in range(len(sizes)))
    return Measured(tuple(sizes), lines, tuple(images),
                    found if isinstance(found, str) else tuple(found))


# --- measuring ---------------------------------------------------------------------------------

def _norm(text: str) -> str:
    """What PDF text layers do to text, undone: ligatures, soft and non-breaking hyphens,
    LibreOffice's U+FFFE for a hyphen."""
    text = text.replace("\u00ad", "").replace("\ufffe", "-").replace("\u2011", "-")
    return unicodedata.normalize("NFKC", text)


def _box(boxes: Sequence[TextBox | Rect]) -> Rect:
    return Rect(min(b.x0 for b in boxes), min(b.y0 for b in boxes),
                max(b.x1 for b in boxes), max(b.y1 for b in boxes))


_HYPHENS = "-\u2010\u2011\ufffe"


def _line_pattern(line: str) -> re.Pattern[str]:
    """An address line as it may come out of a text layer: its words apart by any white
    space (a line break, NBSP), any hyphen for a hyphen, as whole words."""
    words = []
    for word in _norm(line).split():
        words.append("".join(f"[{re.escape(_HYPHENS)}]" if ch in _HYPHENS else re.escape(ch)
                             for ch in word))
    return re.compile(r"(?<!\S)" + r"\s+".join(words) + r"(?!\S)")


def address_rects(textpage: pdfium.PdfTextPage, height: float, lines: Sequence[str]
                  ) -> list[Rect] | str:
    """The ink box of each address line on the page (``height`` in points): each line found
    in the page's text (whatever else shares its line), its box from PDFium's rectangles for
    those characters only (a letter's check costs a few calls, not a box per character).
    Bottom-up, so each line is the one just above the next (a name that also appears in a
    header or the greeting is not taken). Returns the first line not found instead."""
    count = textpage.count_chars()
    raw = textpage.get_text_range(0, count) if count else ""
    if len(raw) != count:  # characters outside the BMP: read them one by one
        raw = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i)) for i in range(count))
    text: list[str] = []
    index: list[int] = []  # the page's character index of each normalised character
    for i, char in enumerate(raw):
        for out in _norm(char):
            text.append(out)
            index.append(i)
    joined = "".join(text)
    left, top, right, bottom = (ctypes.c_double() for _ in range(4))
    candidates: list[list[Rect]] = []
    for line in lines:
        hits = []
        for m in _line_pattern(line).finditer(joined):
            first, last = index[m.start()], index[m.end() - 1]
            rects = []
            for k in range(pdfium_c.FPDFText_CountRects(textpage, first, last - first + 1)):
                pdfium_c.FPDFText_GetRect(textpage, k, ctypes.byref(left), ctypes.byref(top),
                                          ctypes.byref(right), ctypes.byref(bottom))
                rects.append(Rect(left.value / MM, (height - top.value) / MM,
                                  right.value / MM, (height - bottom.value) / MM))
            if rects:
                hits.append(_box(rects))
        candidates.append(hits)
    found: list[Rect] = []
    below = math.inf
    for line, boxes in zip(reversed(lines), reversed(candidates), strict=True):
        above = [box for box in boxes if box.y1 < below + 0.5]  # each line above the next
        if not above:
            return line
        box = max(above, key=lambda b: b.y1)
        found.append(box)
        below = box.y0
    return found[::-1]


def _contains(outer: Rect, inner: Rect) -> bool:
    return (inner.x0 >= outer.x0 and inner.y0 >= outer.y0 and inner.x1 <= outer.x1
            and inner.y1 <= outer.y1)


def _span(lo: float, hi: float) -> str:
    return f"{lo:.1f}–{hi:.1f}"


def _at(box: Rect) -> str:
    return f"x {_span(box.x0, box.x1)}, y {_span(box.y0, box.y1)} mm"


def address_problems(box: Rect, n_lines: int, envelope: Envelope, shown: str, origin: Origin,
                     what: str, participant_id: str | None = None) -> list[Problem]:
    """The address block's ink box against the window band (less its clear margin).
    ``what`` names the address, e.g. "the longest address in the participant list"."""
    window = Window.for_envelope(envelope)
    band = window.address
    where = (f"the {envelope.name} envelope's window shows x {_span(band.x0, band.x1)}, "
             f"y {_span(band.y0, band.y1)} mm from the sheet's top-left, inside its "
             f"{envelope.margin:g} mm clear margin")
    if box.height > band.height or box.width > band.width:
        too = []
        if box.height > band.height:
            too.append(f"{box.height:.1f} mm tall (the band is {band.height:.1f} mm)")
        if box.width > band.width:
            too.append(f"{box.width:.1f} mm wide (the band is {band.width:.1f} mm)")
        return [error("template_address_overflow", origin,
                      f"{shown}: with {what}, the address block is {' and '.join(too)}: it "
                      f"cannot fit the envelope window ({where})",
                      f"in Word: make the address text smaller or its line spacing tighter "
                      f"(Paragraph → Line spacing → Exactly) so that {n_lines} lines fit in "
                      f"{band.height:.0f} mm, starting {band.y0:g} mm from the top and "
                      f"{band.x0:g} mm from the left", participant_id)]
    if _contains(band, box):
        return []
    moves = []
    if box.y0 < band.y0 or box.y1 > band.y1:
        moves.append(f"starts {_span(band.y0, band.y1 - box.height)} mm from the top of the "
                     f"page (now {box.y0:.1f} mm)")
    if box.x0 < band.x0 or box.x1 > band.x1:
        moves.append(f"starts {_span(band.x0, band.x1 - box.width)} mm from the left edge "
                     f"(now {box.x0:.1f} mm)")
    return [error("template_address_window", origin,
                  f"{shown}: with {what}, the address block lies at {_at(box)}, outside the "
                  f"envelope window: {where}",
                  "in Word: move the address block so it " + " and ".join(moves)
                  + " (its paragraphs' indent and space before, or Layout → Position for a "
                  "table, frame or text box)", participant_id)]


def letter_address_problem(textpage: pdfium.PdfTextPage, height: float, job: LetterJob,
                           envelope: Envelope, shown: str) -> Problem | None:
    """A produced letter's own address (its first page, ``height`` in points) against the
    window band: the same measurement as the template check, on the letter itself."""
    address = (job.name_line, *job.address_lines)
    boxes = address_rects(textpage, height, address)
    pid = job.participant_id
    if isinstance(boxes, str):
        return error("address_window", job.origin,
                     f"participant {pid!r}: the address line {boxes!r} is not on page 1 of "
                     f"the letter ({shown}), so it cannot show in the envelope window",
                     "check the Word template places {{ name_line }} and {{ address }} on "
                     "page 1 (`hhp-letters check` measures it)", pid)
    block = _box(boxes)
    found = address_problems(block, len(address), envelope, shown, job.origin,
                             "this letter's address", pid)
    if not found:
        return None
    band = Window.for_envelope(envelope).address
    return error("address_window", job.origin,
                 f"participant {pid!r}: the address block lies at {_at(block)}, outside the "
                 f"envelope window band (x {_span(band.x0, band.x1)}, y "
                 f"{_span(band.y0, band.y1)} mm) ({shown})",
                 "shorten this participant's address lines, or make the template's address "
                 "block fit (`hhp-letters check` says how)", pid)


def measured_problems(measured: Measured, worst: WorstCase, envelope: Envelope, shown: str,
                      origin: Origin, *, size_known: bool) -> list[Problem]:
    """The converted sample letter against the page, the window and the folds."""
    problems: list[Problem] = []
    if not size_known:
        for width, height in measured.sizes[:1]:
            if not _is_a4(width, height):
                problems.append(_size_problem(width, height, "the converted page", shown,
                                              origin))
    for page, (lines, (width, height)) in enumerate(
            zip(measured.lines, measured.sizes, strict=True), start=1):
        for ln in lines:
            if ln.x0 < 0 or ln.y0 < 0 or ln.x1 > width or ln.y1 > height:
                problems.append(error(
                    "template_margins", origin,
                    f"{shown}: {ln.text[:60]!r} lies partly off the page (page {page}, "
                    f"{_at(Rect(ln.x0, ln.y0, ln.x1, ln.y1))})",
                    "in Word: bring it inside the page (Layout → Margins, or the header and "
                    "footer's 'From edge' distances)"))
    if not measured.sizes:
        return problems
    address = worst.address
    boxes = measured.address
    if isinstance(boxes, str):
        problems.append(error(
            "template_address_missing", origin,
            f"{shown}: the address is not on page 1 of the converted sample letter (its line "
            f"{boxes!r} was not found), so it cannot show in the envelope window",
            "in Word: put {{ name_line }} and {{ address }} (or {{ address_1 }} … "
            "{{ postcode }}) on page 1, where the envelope window is"))
        return problems
    block = _box(boxes)
    problems += address_problems(block, len(address), envelope, shown, origin,
                                 worst.described)
    reach = Window.for_envelope(envelope).reach
    own = set(boxes)
    for ln in measured.lines[0]:
        box = Rect(ln.x0, ln.y0, ln.x1, ln.y1)
        if box.intersects(reach) and not any(_contains(_grow(b), box) for b in own) \
                and not _is_address_text(ln.text, address):
            problems.append(_intruder(f"{ln.text[:60]!r}", box, reach, envelope, shown, origin))
    for image in measured.images:
        if image.intersects(reach):
            problems.append(_intruder("an image", image, reach, envelope, shown, origin))
    for page, lines in enumerate(measured.lines, start=1):
        for ln in lines:
            for fold in folds(envelope, measured.sizes[page - 1][1]):
                if ln.y0 < fold < ln.y1:
                    problems.append(warning(
                        "template_fold", origin,
                        f"{shown}: the fold {fold:.0f} mm from the top runs through the line "
                        f"{ln.text[:60]!r} (page {page}, y {_span(ln.y0, ln.y1)} mm)",
                        "in Word: add or remove space before that paragraph so that no line "
                        "sits on a fold (" + " and ".join(
                            f"{f:.0f}" for f in folds(envelope)) + " mm from the top)"))
    return problems


def _grow(box: Rect, by: float = 0.2) -> Rect:
    return Rect(box.x0 - by, box.y0 - by, box.x1 + by, box.y1 + by)


def _is_address_text(text: str, address: Sequence[str]) -> bool:
    return " ".join(_norm(text).split()) in {" ".join(_norm(a).split()) for a in address}


def _intruder(what: str, box: Rect, reach: Rect, envelope: Envelope, shown: str,
              origin: Origin) -> Problem:
    return error("template_window_reach", origin,
                 f"{shown}: {what} at {_at(box)} is within reach of the {envelope.name} "
                 f"envelope window ({_at(reach)} as the letter moves in the envelope): it "
                 "could show through the window beside the address",
                 f"in Word: move it out of that area (above {reach.y0:g} mm or below "
                 f"{reach.y1:g} mm from the top, or right of {reach.x1:g} mm); only the "
                 "address may be there")


def template_problems(campaign: Campaign, authority: Authority, path: Path, origin: Origin
                      ) -> list[Problem]:
    """Every page check of one Word template (see the module docstring). Without LibreOffice
    the template cannot be measured: :class:`ConverterUnavailable` is raised, and the CLI says
    so with the install hint as `letters` does."""
    shown = authority.template or path.name
    setups = page_setups(path)
    problems = setup_problems(setups, shown, origin)
    worst = worst_case(campaign, authority)
    job = LetterJob("SAMPLE-1", authority, worst.first_name, worst.last_name, worst.lines,
                    SAMPLE_FEEDBACK, "", origin, team="Example team", manager_first_name="Sam",
                    reference="HHP-SAMP-LE01")
    try:
        pdf = _convert(campaign, authority, path, job)
    except ConverterUnavailable:
        raise  # stops `check` with the install hint, exactly as `letters` stops
    except RenderError as exc:
        return [*problems, error("template_unmeasured", origin,
                                 f"{shown}: the sample letter could not be converted: "
                                 f"{exc.message}", exc.hint or "open it in Word and save it "
                                 "again as .docx")]
    size_known = any(s.width is not None for s in setups)
    return problems + measured_problems(measure(pdf, worst.address), worst,
                                        campaign.spec.print.envelope,
                                        shown, origin, size_known=size_known)
