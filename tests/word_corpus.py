"""A corpus of council Word letterheads, built the way comms teams build them in Word.

Each case is a .docx with Jinja2 placeholders (filled by docxtpl) that a council might send us:
a logo in the header, the address in a positioned table, a frame or a text box, bullets,
tables, US Letter inherited from a US Normal.dotm, an address where hand-addressed mail puts
it, and so on. Where python-docx has no API (frames, text boxes, floating tables and images,
numbering, soft hyphens) the OOXML is written the way Word stores it.

Every case says what it is *for* (``expect``): "ok", or the problem hhp-letters must refuse
it for. The expectation holds when the template is filled with the case's ``sample`` (see
:func:`fill`) and converted by LibreOffice 7.4; ``tests/test_word_corpus_shapes.py`` converts
every case and measures the PDF (:func:`measure`) to prove it.

Geometry (mm, from the sheet's top-left) is the DL window of the brief: the always-visible
band x 20–100, y 50–84; less a 5 mm clear margin the address block must lie in
:data:`ADDRESS_BAND` (x 25–95, y 55–79); nothing else may fall in :data:`REACH`
(x 10–110, y 39–95); A4 is folded in thirds at :data:`FOLDS` (y 99 and 198).
"""

from __future__ import annotations

import ctypes
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

import docx
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from docx.document import Document
from docx.oxml.parser import parse_xml
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage, Listing
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from PIL import Image, ImageDraw

# --- geometry ----------------------------------------------------------------------------------

PT_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class Box:
    """A rectangle in mm from the sheet's top-left (y grows downwards)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def contains(self, other: Box) -> bool:
        return (other.x0 >= self.x0 and other.y0 >= self.y0
                and other.x1 <= self.x1 and other.y1 <= self.y1)

    def intersects(self, other: Box) -> bool:
        return not (other.x1 <= self.x0 or other.x0 >= self.x1 or other.y1 <= self.y0
                    or other.y0 >= self.y1)

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0),
                   max(self.x1, other.x1), max(self.y1, other.y1))

    def __str__(self) -> str:
        return (f"x {self.x0:.1f}–{self.x1:.1f}, y {self.y0:.1f}–{self.y1:.1f} "
                f"({self.width:.1f} × {self.height:.1f} mm)")


A4_MM = (210.0, 297.0)
LETTER_MM = (215.9, 279.4)
VISIBLE = Box(20.0, 50.0, 100.0, 84.0)
ADDRESS_BAND = Box(25.0, 55.0, 95.0, 79.0)
REACH = Box(10.0, 39.0, 110.0, 95.0)
FOLDS = (99.0, 198.0)

# --- the values a template is filled with ------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One participant's letter values (what hhp-letters would pass to the template)."""

    first_name: str = "Priya"
    last_name: str = "Okafor"
    street: tuple[str, ...] = ("14 Chestnut Avenue",)
    town: str = "HERTFORD"
    postcode: str = "SG14 1AB"
    feedback_1: str = "You turned a difficult case around and kept the family together."
    feedback_2: str = "Your case notes are clear and thorough, and a model for the team."
    signatory_name: str = "Dr Helen Ashworth"
    signatory_title: str = "Director of Children's Services"
    date: str = "1 October 2019"
    authority: str = "Hertfordshire County Council"
    area: str = "Hertfordshire"
    team: str = "Children in Care & Care Leavers"  # "&" must survive autoescape
    manager_first_name: str = "Dionne"
    reference: str = "CS/HHP/0042"

    @property
    def name_line(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def address_lines(self) -> tuple[str, ...]:
        """The whole address block as printed: name, street lines, POST TOWN, postcode."""
        return (self.name_line, *self.street, self.town, self.postcode)

    def values(self) -> dict[str, Any]:
        """Plain values for every placeholder except ``signature``; ``address`` and the
        feedback are strings with newlines (wrap them in ``docxtpl.Listing``)."""
        street = (*self.street, "", "", "")
        return {
            "first_name": self.first_name, "last_name": self.last_name,
            "name_line": self.name_line,
            "address": "\n".join((*self.street, self.town, self.postcode)),
            "address_1": street[0], "address_2": street[1], "address_3": street[2],
            "town": self.town, "postcode": self.postcode,
            "feedback_1": self.feedback_1, "feedback_2": self.feedback_2,
            "signatory": {"name": self.signatory_name, "title": self.signatory_title},
            "date": self.date, "authority": self.authority, "area": self.area,
            "team": self.team, "manager_first_name": self.manager_first_name,
            "reference": self.reference,
        }


STANDARD = Sample()
SIX_LINES = dataclasses.replace(
    STANDARD, street=("Flat 3 Rosewood Court", "14 Chestnut Avenue", "Bengeo"),
    postcode="SG14 3AB")


# "ok", or the problem a template must be refused for; "fold_warning": letters are still
# produced, with a warning.
Expect = Literal["ok", "page_size", "address_outside_window", "address_overflow",
                 "fold_warning"]


@dataclass(frozen=True)
class TemplateCase:
    name: str
    build: Callable[[Path], Path]  # writes <name>.docx into the folder, returns its path
    expect: Expect
    description: str  # how a comms team made it
    sample: Sample = STANDARD  # the values ``expect`` holds for


# --- images ------------------------------------------------------------------------------------

BRAND_RGB = (0x00, 0x5E, 0xB8)


def write_logo(path: Path, colour: tuple[int, int, int] = BRAND_RGB) -> Path:
    """A small RGBA logo: a coloured roundel and bars on a transparent ground."""
    image = Image.new("RGBA", (600, 168), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 160, 160), fill=(*colour, 255))
    draw.ellipse((44, 44, 120, 120), fill=(255, 255, 255, 0))
    for i, width in enumerate((420, 360, 300)):
        top = 20 + i * 48
        draw.rectangle((180, top, 180 + width, top + 28), fill=(*colour, 255 - 60 * i))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


def write_signature(path: Path) -> Path:
    """A scrawl on a transparent ground, 3:1 (45 × 15 mm as placed)."""
    image = Image.new("RGBA", (900, 300), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    points = [(40 + 20 * i, 160 + (60 if i % 3 == 0 else -50 if i % 3 == 1 else 10))
              for i in range(40)]
    draw.line(points, fill=(10, 20, 90, 255), width=9, joint="curve")
    draw.line([(60, 250), (820, 230)], fill=(10, 20, 90, 255), width=6)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


# --- filling a template -------------------------------------------------------------------------

def fill(template: Path, out: Path, sample: Sample, signature: Path,
         signature_width_mm: float = 45) -> Path:
    """Fill ``template`` with ``sample`` the way hhp-letters does (sandboxed, StrictUndefined,
    autoescaped; address and feedback as Listings; the signature an inline image)."""
    tpl = DocxTemplate(str(template))
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
    context = sample.values()
    for key in ("address", "feedback_1", "feedback_2"):
        context[key] = Listing(context[key])
    context["signature"] = InlineImage(tpl, str(signature), width=Mm(signature_width_mm))
    tpl.render(context, jinja_env=env, autoescape=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tpl.save(str(out))
    return out


# --- measuring a converted PDF ------------------------------------------------------------------


# A text line's slot as a layout engine reserves it, in ems about the baseline: generous
# enough to hold the ink of Latin text in any common font and pdfplumber's em box (baseline
# up one em). LibreOffice writes /Ascent 0 /Descent 0, so the PDF's own metrics are no use.
SLOT_ASCENT, SLOT_DESCENT = 1.0, 0.3


@dataclass(frozen=True)
class TextLine:
    """Text on one baseline with no gap wider than 4 mm (so a tabbed header's two halves are
    two lines). ``tight`` is the glyphs' ink (pdfium char boxes); ``loose`` is the line's
    slot, from :data:`SLOT_ASCENT` above the baseline to :data:`SLOT_DESCENT` below it over
    the characters' advance widths."""

    page: int
    text: str
    tight: Box
    loose: Box
    baseline: float  # mm from the top
    size_pt: float


@dataclass(frozen=True)
class Measured:
    pages: tuple[tuple[float, float], ...]  # (width, height) in mm
    lines: tuple[TextLine, ...]
    images: tuple[tuple[int, Box], ...]  # (page, box)
    paths: tuple[tuple[int, Box], ...]  # drawn lines and fills (borders, rules)

    def address(self, sample: Sample) -> tuple[TextLine, ...]:
        """The page-1 lines that are the address, in order; each must be found exactly once."""
        found = []
        for wanted in sample.address_lines:
            hits = [ln for ln in self.lines if ln.page == 0 and ln.text == wanted]
            if len(hits) != 1:
                raise AssertionError(f"address line {wanted!r} found {len(hits)} times on "
                                     f"page 1: {[ln.text for ln in self.lines if ln.page == 0]}")
            found.append(hits[0])
        return tuple(found)

    def address_box(self, sample: Sample, *, loose: bool) -> Box:
        boxes = [ln.loose if loose else ln.tight for ln in self.address(sample)]
        box = boxes[0]
        for other in boxes[1:]:
            box = box.union(other)
        return box

    def others(self, sample: Sample) -> tuple[TextLine, ...]:
        """Every line that is not part of the address."""
        address = set(self.address(sample))
        return tuple(ln for ln in self.lines if ln not in address)

    def fold_crossings(self, *, loose: bool) -> tuple[tuple[float, TextLine], ...]:
        """(fold, line) for each text line that a fold passes through."""
        out: list[tuple[float, TextLine]] = []
        for ln in self.lines:
            box = ln.loose if loose else ln.tight
            out.extend((fold, ln) for fold in FOLDS if box.y0 < fold < box.y1)
        return tuple(out)


def _box(rect: tuple[float, float, float, float], height_pt: float) -> Box:
    left, bottom, right, top = rect
    return Box(left / PT_PER_MM, (height_pt - top) / PT_PER_MM, right / PT_PER_MM,
               (height_pt - bottom) / PT_PER_MM)


def _page_lines(textpage: pdfium.PdfTextPage, page: int, height: float) -> Iterator[TextLine]:
    raw = textpage.raw
    text: list[str] = []
    ink: list[Box] = []
    spans: list[tuple[float, float]] = []  # advance extents in x
    baseline: float | None = None
    size = 0.0

    def line() -> Iterator[TextLine]:
        joined = " ".join("".join(text).split())
        if not ink or not joined or baseline is None:
            return
        tight = ink[0]
        for box in ink[1:]:
            tight = tight.union(box)
        base = (height - baseline) / PT_PER_MM
        em = size / PT_PER_MM
        loose = Box(min(x for x, _ in spans), base - SLOT_ASCENT * em,
                    max(x for _, x in spans), base + SLOT_DESCENT * em)
        yield TextLine(page, joined, tight, loose, base, size)

    for i in range(textpage.count_chars()):
        char = chr(pdfium_c.FPDFText_GetUnicode(raw, i))
        if char in "\r\n":  # pdfium's generated line ends
            yield from line()
            text, ink, spans, baseline = [], [], [], None
            continue
        if char.isspace() or char in "\u00ad\ufffe":
            text.append(" " if char.isspace() else "")
            continue
        x, y = ctypes.c_double(), ctypes.c_double()
        pdfium_c.FPDFText_GetCharOrigin(raw, i, ctypes.byref(x), ctypes.byref(y))
        left, _, right, _ = textpage.get_charbox(i, loose=True)
        span = (left / PT_PER_MM, right / PT_PER_MM)
        if baseline is not None and (abs(y.value - baseline) > 1.0
                                     or span[0] - max(s for _, s in spans) > 4.0):
            yield from line()
            text, ink, spans = [], [], []
        baseline = y.value
        size = pdfium_c.FPDFText_GetFontSize(raw, i)
        text.append(char)
        ink.append(_box(textpage.get_charbox(i), height))
        spans.append(span)
    yield from line()


def measure(pdf: Path) -> Measured:
    """Page sizes, text lines, images and drawn paths of a PDF, in mm from each page's
    top-left."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        pages: list[tuple[float, float]] = []
        lines: list[TextLine] = []
        images: list[tuple[int, Box]] = []
        paths: list[tuple[int, Box]] = []
        for index in range(len(document)):
            page = document[index]
            width, height = page.get_size()
            pages.append((width / PT_PER_MM, height / PT_PER_MM))
            textpage = page.get_textpage()
            lines.extend(_page_lines(textpage, index, height))
            textpage.close()
            for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,
                                                pdfium_c.FPDF_PAGEOBJ_PATH)):
                box = _box(obj.get_bounds(), height)
                target = images if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE else paths
                target.append((index, box))
            page.close()
        return Measured(tuple(pages), tuple(lines), tuple(images), tuple(paths))
    finally:
        document.close()


# --- writing OOXML the way Word stores it -------------------------------------------------------

NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "wp14": "http://schemas.microsoft.com/office/word/2010/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "v": "urn:schemas-microsoft-com:vml",
    "o": "urn:schemas-microsoft-com:office:office",
    "w10": "urn:schemas-microsoft-com:office:word",
}
_DECLS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())


def tw(mm: float) -> int:
    """Millimetres in twips (twentieths of a point), Word's unit for lengths."""
    return round(mm * 1440 / 25.4)


def emu(mm: float) -> int:
    return round(mm * 36000)


def _el(xml: str) -> Any:
    """One OOXML element from a fragment that uses the prefixes in :data:`NS`."""
    head, _, rest = xml.partition(">")
    closed = head.endswith("/")
    head = head[:-1] if closed else head
    return parse_xml(f"{head} {_DECLS}{'/' if closed else ''}>{rest}")


def rpr(*, bold: bool = False, italic: bool = False, size: float | None = None,
        colour: str | None = None, font: str | None = None) -> str:
    parts = []
    if font:
        parts.append(f'<w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:cs="{font}"/>')
    if bold:
        parts.append("<w:b/><w:bCs/>")
    if italic:
        parts.append("<w:i/><w:iCs/>")
    if colour:
        parts.append(f'<w:color w:val="{colour}"/>')
    if size:
        parts.append(f'<w:sz w:val="{round(size * 2)}"/><w:szCs w:val="{round(size * 2)}"/>')
    return f"<w:rPr>{''.join(parts)}</w:rPr>" if parts else ""


def run(text: str, props: str = "") -> str:
    """A run; ``\\t`` becomes a tab, U+00AD a soft hyphen, the way Word stores them."""
    pieces = []
    for i, chunk in enumerate(text.split("\t")):
        if i:
            pieces.append("<w:tab/>")
        for j, part in enumerate(chunk.split("\u00ad")):
            if j:
                pieces.append("<w:softHyphen/>")
            if part:
                pieces.append(f'<w:t xml:space="preserve">{escape(part)}</w:t>')
    return f"<w:r>{props}{''.join(pieces)}</w:r>"


def ppr(*, style: str | None = None, jc: str | None = None, before: float | None = None,
        after: float | None = None, line: float | None = None, rule: str = "auto",
        left: float | None = None, tabs: tuple[tuple[str, float], ...] = (),
        frame: str = "", num: int | None = None, keep_next: bool = False) -> str:
    """Paragraph properties in schema order. ``before``/``after`` in pt; ``line`` in pt for
    "exact"/"atLeast", or a multiple (1.0 = single) for "auto"; ``left`` indent and tab
    positions in mm."""
    parts = []
    if style:
        parts.append(f'<w:pStyle w:val="{style}"/>')
    if keep_next:
        parts.append("<w:keepNext/>")
    if frame:
        parts.append(frame)
    if num is not None:
        parts.append(f'<w:numPr><w:ilvl w:val="0"/><w:numId w:val="{num}"/></w:numPr>')
    if tabs:
        parts.append("<w:tabs>" + "".join(f'<w:tab w:val="{kind}" w:pos="{tw(pos)}"/>'
                                          for kind, pos in tabs) + "</w:tabs>")
    spacing = []
    if before is not None:
        spacing.append(f'w:before="{round(before * 20)}"')
    if after is not None:
        spacing.append(f'w:after="{round(after * 20)}"')
    if line is not None:
        value = round(line * 240) if rule == "auto" else round(line * 20)
        spacing.append(f'w:line="{value}" w:lineRule="{rule}"')
    if spacing:
        parts.append(f"<w:spacing {' '.join(spacing)}/>")
    if left is not None:
        parts.append(f'<w:ind w:left="{tw(left)}"/>')
    if jc:
        parts.append(f'<w:jc w:val="{jc}"/>')
    return f"<w:pPr>{''.join(parts)}</w:pPr>" if parts else ""


def para(content: str = "", props: str = "") -> str:
    """A paragraph: ``content`` is plain text (one run) or run XML (starting with ``<``)."""
    body = content if content.startswith("<") or not content else run(content)
    return f"<w:p>{props}{body}</w:p>"


@dataclass(frozen=True)
class Margins:
    """Page margins and header/footer distances, mm (Word's default: 2.54 cm, 1.25 cm)."""

    top: float = 25.4
    right: float = 25.4
    bottom: float = 25.4
    left: float = 25.4
    header: float = 12.5
    footer: float = 12.5


def new_document(*, font: str = "Calibri", size: float = 11, page: tuple[float, float] = A4_MM,
                 margins: Margins = Margins(), after: float = 0, line: float = 1.0,
                 lang: str = "en-GB", title: str = "Letterhead") -> Document:
    """A blank document with the page, margins, body font and default paragraph spacing set
    explicitly (python-docx's own template is US Letter in Cambria)."""
    doc = docx.Document()
    sect = doc.sections[0]._sectPr
    w = NS["w"]
    pg = sect.find(f"{{{w}}}pgSz")
    # Word's own twips for A4 (11906 × 16838), not a rounding of 210 × 297 mm
    pg.set(f"{{{w}}}w", "11906" if page == A4_MM else str(tw(page[0])))
    pg.set(f"{{{w}}}h", "16838" if page == A4_MM else str(tw(page[1])))
    mar = sect.find(f"{{{w}}}pgMar")
    for key in ("top", "right", "bottom", "left", "header", "footer"):
        mar.set(f"{{{w}}}{key}", str(tw(getattr(margins, key))))
    defaults = doc.styles.element.find(f"{{{w}}}docDefaults")
    defaults.getparent().replace(defaults, _el(
        "<w:docDefaults><w:rPrDefault><w:rPr>"
        f'<w:rFonts w:ascii="{font}" w:eastAsia="{font}" w:hAnsi="{font}" w:cs="{font}"/>'
        f'<w:sz w:val="{round(size * 2)}"/><w:szCs w:val="{round(size * 2)}"/>'
        f'<w:lang w:val="{lang}" w:eastAsia="en-US" w:bidi="ar-SA"/>'
        "</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr>"
        f'<w:spacing w:after="{round(after * 20)}" w:line="{round(line * 240)}" '
        'w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>'))
    props = doc.core_properties
    props.author, props.title, props.last_modified_by = "Communications Team", title, ""
    props.comments, props.subject, props.keywords = "", "", ""
    return doc


def add_body(doc: Document, *xml: str) -> None:
    """Append paragraphs/tables to the body, before the final section properties."""
    sect = doc.element.body.find(f"{{{NS['w']}}}sectPr")
    for fragment in xml:
        sect.addprevious(_el(fragment))


def set_story(story: Any, *xml: str) -> None:
    """Replace a header's or footer's content with ``xml`` paragraphs/tables."""
    element = story._element
    for child in list(element):
        element.remove(child)
    for fragment in xml:
        element.append(_el(fragment))


def inline_image(part: Any, path: Path, width_mm: float, height_mm: float, pid: int,
                 name: str) -> str:
    """A run holding an inline picture (``part`` is the story part it is related to)."""
    rid, _ = part.get_or_add_image(str(path))
    cx, cy = emu(width_mm), emu(height_mm)
    return (f'<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
            f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
            f'<wp:docPr id="{pid}" name="{name}"/>'
            '<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/>'
            '</wp:cNvGraphicFramePr>'
            f"{_picture(rid, cx, cy, pid, name)}</wp:inline></w:drawing></w:r>")


def anchored_image(part: Any, path: Path, box: Box, pid: int, name: str) -> str:
    """A run holding a picture anchored to the page at ``box`` ("In front of text")."""
    rid, _ = part.get_or_add_image(str(path))
    cx, cy = emu(box.width), emu(box.height)
    return (f'<w:r><w:drawing><wp:anchor distT="0" distB="0" distL="114300" distR="114300" '
            'simplePos="0" relativeHeight="251660288" behindDoc="0" locked="1" '
            'layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>'
            f'<wp:positionH relativeFrom="page"><wp:posOffset>{emu(box.x0)}</wp:posOffset>'
            f'</wp:positionH><wp:positionV relativeFrom="page"><wp:posOffset>{emu(box.y0)}'
            f'</wp:posOffset></wp:positionV><wp:extent cx="{cx}" cy="{cy}"/>'
            '<wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
            f'<wp:docPr id="{pid}" name="{name}"/>'
            '<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/>'
            f"</wp:cNvGraphicFramePr>{_picture(rid, cx, cy, pid, name)}"
            "</wp:anchor></w:drawing></w:r>")


def _picture(rid: str, cx: int, cy: int, pid: int, name: str) -> str:
    return ('<a:graphic><a:graphicData '
            'uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>'
            f'<pic:nvPicPr><pic:cNvPr id="{pid}" name="{name}.png"/><pic:cNvPicPr/>'
            f'</pic:nvPicPr><pic:blipFill><a:blip r:embed="{rid}"/><a:stretch><a:fillRect/>'
            '</a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/>'
            f'<a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
            "</a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>")


def text_box(box: Box, content: str, pid: int, name: str = "Text Box 1") -> str:
    """A run holding a Word 2010 text box anchored to the page, with the VML fallback Word
    writes beside it; no outline or fill and zero insets, as comms teams set them."""
    cx, cy = emu(box.width), emu(box.height)
    pt = PT_PER_MM
    style = (f"position:absolute;margin-left:{box.x0 * pt:.2f}pt;margin-top:{box.y0 * pt:.2f}pt;"
             f"width:{box.width * pt:.2f}pt;height:{box.height * pt:.2f}pt;z-index:251659264;"
             "visibility:visible;mso-wrap-style:square;mso-wrap-distance-left:9pt;"
             "mso-wrap-distance-top:0;mso-wrap-distance-right:9pt;mso-wrap-distance-bottom:0;"
             "mso-position-horizontal:absolute;mso-position-horizontal-relative:page;"
             "mso-position-vertical:absolute;mso-position-vertical-relative:page;"
             "v-text-anchor:top")
    return (
        '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
        '<wp:anchor distT="0" distB="0" distL="114300" distR="114300" simplePos="0" '
        'relativeHeight="251659264" behindDoc="0" locked="1" layoutInCell="1" '
        'allowOverlap="1"><wp:simplePos x="0" y="0"/>'
        f'<wp:positionH relativeFrom="page"><wp:posOffset>{emu(box.x0)}</wp:posOffset>'
        f'</wp:positionH><wp:positionV relativeFrom="page"><wp:posOffset>{emu(box.y0)}'
        f'</wp:posOffset></wp:positionV><wp:extent cx="{cx}" cy="{cy}"/>'
        '<wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
        f'<wp:docPr id="{pid}" name="{name}"/><wp:cNvGraphicFramePr/>'
        '<a:graphic><a:graphicData '
        'uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp>'
        '<wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/>'
        f'<a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
        '</a:prstGeom><a:noFill/><a:ln w="6350"><a:noFill/></a:ln></wps:spPr>'
        f"<wps:txbx><w:txbxContent>{content}</w:txbxContent></wps:txbx>"
        '<wps:bodyPr rot="0" spcFirstLastPara="0" vertOverflow="overflow" '
        'horzOverflow="overflow" vert="horz" wrap="square" lIns="0" tIns="0" rIns="0" '
        'bIns="0" numCol="1" spcCol="0" rtlCol="0" fromWordArt="0" anchor="t" anchorCtr="0" '
        'forceAA="0" compatLnSpc="1"><a:prstTxWarp prst="textNoShape"><a:avLst/>'
        "</a:prstTxWarp><a:noAutofit/></wps:bodyPr></wps:wsp></a:graphicData></a:graphic>"
        '<wp14:sizeRelH relativeFrom="margin"><wp14:pctWidth>0</wp14:pctWidth>'
        '</wp14:sizeRelH><wp14:sizeRelV relativeFrom="margin"><wp14:pctHeight>0'
        "</wp14:pctHeight></wp14:sizeRelV></wp:anchor></w:drawing></mc:Choice>"
        '<mc:Fallback><w:pict><v:shapetype id="_x0000_t202" coordsize="21600,21600" '
        'o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        f'<v:shape id="{name}" o:spid="_x0000_s1026" type="#_x0000_t202" '
        f'style="{style}" filled="f" stroked="f" strokeweight=".5pt">'
        f'<v:textbox inset="0,0,0,0"><w:txbxContent>{content}</w:txbxContent></v:textbox>'
        "<w10:anchorlock/></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>")


def frame(box: Box, rule: str = "exact") -> str:
    """``w:framePr`` for a paragraph in a frame fixed to the page (Word's legacy frames)."""
    return (f'<w:framePr w:w="{tw(box.width)}" w:h="{tw(box.height)}" w:hRule="{rule}" '
            f'w:wrap="around" w:vAnchor="page" w:hAnchor="page" w:x="{tw(box.x0)}" '
            f'w:y="{tw(box.y0)}"/>')


def table(widths_mm: tuple[float, ...], rows: tuple[tuple[str, ...], ...], *,
          float_at: tuple[float, float] | None = None, borders: bool = False,
          row_height: tuple[float, str] | None = None, cell_margin: float | None = None,
          header_fill: str | None = None) -> str:
    """A table; each cell is paragraph XML. ``float_at`` (x, y mm from the page's corner)
    makes it a floating table positioned on the page, as Word's Table Properties do."""
    tblpr = ['<w:tblStyle w:val="TableGrid"/>'] if borders else []
    if float_at is not None:
        tblpr.append('<w:tblpPr w:leftFromText="180" w:rightFromText="180" '
                     f'w:vertAnchor="page" w:horzAnchor="page" w:tblpX="{tw(float_at[0])}" '
                     f'w:tblpY="{tw(float_at[1])}"/><w:tblOverlap w:val="never"/>')
    tblpr.append(f'<w:tblW w:w="{sum(tw(w) for w in widths_mm)}" w:type="dxa"/>')
    edge = ('w:val="single" w:sz="4" w:space="0" w:color="auto"' if borders
            else 'w:val="none" w:sz="0" w:space="0" w:color="auto"')
    tblpr.append("<w:tblBorders>" + "".join(
        f"<w:{side} {edge}/>" for side in ("top", "left", "bottom", "right", "insideH",
                                            "insideV")) + "</w:tblBorders>")
    tblpr.append('<w:tblLayout w:type="fixed"/>')
    if cell_margin is not None:
        m = tw(cell_margin)
        tblpr.append(f'<w:tblCellMar><w:left w:w="{m}" w:type="dxa"/>'
                     f'<w:right w:w="{m}" w:type="dxa"/></w:tblCellMar>')
    tblpr.append('<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
                 'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>')
    grid = "".join(f'<w:gridCol w:w="{tw(w)}"/>' for w in widths_mm)
    out = [f"<w:tbl><w:tblPr>{''.join(tblpr)}</w:tblPr><w:tblGrid>{grid}</w:tblGrid>"]
    for r, cells in enumerate(rows):
        trpr = ""
        if row_height is not None:
            trpr = (f'<w:trPr><w:trHeight w:val="{tw(row_height[0])}" '
                    f'w:hRule="{row_height[1]}"/></w:trPr>')
        out.append(f"<w:tr>{trpr}")
        for width, cell in zip(widths_mm, cells, strict=True):
            shade = (f'<w:shd w:val="clear" w:color="auto" w:fill="{header_fill}"/>'
                     if header_fill and r == 0 else "")
            out.append(f'<w:tc><w:tcPr><w:tcW w:w="{tw(width)}" w:type="dxa"/>{shade}'
                       f"</w:tcPr>{cell}</w:tc>")
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


BULLET_NUM_ID = 10


def add_bullets(doc: Document) -> int:
    """Add a one-level bullet list to the numbering part (as Word's Bullets button does) and
    return its ``w:numId``."""
    numbering = doc.part.numbering_part.element
    w = NS["w"]
    abstract = _el(
        '<w:abstractNum w:abstractNumId="20"><w:nsid w:val="3A5C2E71"/>'
        '<w:multiLevelType w:val="hybridMultilevel"/><w:tmpl w:val="08090001"/>'
        '<w:lvl w:ilvl="0" w:tplc="08090001"><w:start w:val="1"/><w:numFmt w:val="bullet"/>'
        '<w:lvlText w:val="\uf0b7"/><w:lvlJc w:val="left"/>'
        '<w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr>'
        '<w:rPr><w:rFonts w:ascii="Symbol" w:hAnsi="Symbol" w:hint="default"/></w:rPr>'
        "</w:lvl></w:abstractNum>")
    # every abstractNum comes before the first num (schema order)
    numbering.find(f"{{{w}}}num").addprevious(abstract)
    numbering.append(_el(f'<w:num w:numId="{BULLET_NUM_ID}"><w:abstractNumId w:val="20"/>'
                         "</w:num>"))
    return BULLET_NUM_ID


def add_style(doc: Document, style_id: str, name: str, props: str, run_props: str = "") -> None:
    """A custom paragraph style based on Normal (e.g. the team's "Address" style)."""
    doc.styles.element.append(_el(
        f'<w:style w:type="paragraph" w:customStyle="1" w:styleId="{style_id}">'
        f'<w:name w:val="{name}"/><w:basedOn w:val="Normal"/><w:qFormat/>'
        f"{props}{run_props}</w:style>"))


def save(doc: Document, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.docx"
    doc.save(str(path))
    return path


# --- the letter's wording ------------------------------------------------------------------------

SALUTATION = "Dear {{ first_name }},"
HEADING = "Thank you for your work with children and families"
OPENING = ("I am writing to thank you personally for the work you do for children, young people "
           "and families in {{ area }}. {{ manager_first_name }}, who manages the {{ team }} "
           "team, told me about some of what you have done this year, and I wanted you to know "
           "that it has been noticed.")
LEAD = "This is what {{ manager_first_name }} said about your work:"
CLOSING_TEXT = ("Work with children and families is demanding, and the difference you make is "
                "not always visible from the outside. Please accept my thanks, and the thanks of "
                "{{ authority }}, for everything you do.")
SIGN_OFF = "Yours sincerely,"
RETURN_ADDRESS = "Children's Services, County Hall, Pegs Lane, Hertford SG13 8DQ"
CONTACT = "Telephone 0300 123 4043 · www.hertfordshire.gov.uk"


def letter_body(*, after: float = 8, feedback: str = "quoted", gap: float = 0,
                signature: str = "plain", soft: bool = False) -> tuple[str, ...]:
    """The body from the salutation to the signatory's title. ``feedback``: "quoted"
    (indented, in curly quotes), "bullets" (a Word bullet list, no quotes) or "table"
    (two columns). ``gap`` (pt, may be negative down to ``-after``) changes the space
    after the closing paragraph, where a comms team nudges the signature block.
    ``signature``: "plain" (sign-off, image, name and title) or "none" (the caller adds its
    own). ``soft`` types soft hyphens and no-break spaces."""
    opening = OPENING
    closing = CLOSING_TEXT
    if soft:
        opening = opening.replace("children, young", "chil\u00addren, young").replace(
            "this year", "this\u00a0year")
        closing = closing.replace("demanding", "de\u00admand\u00ading").replace(
            "not always", "not\u00a0always")
    body = [para(SALUTATION, ppr(after=after)),
            para(run(HEADING, rpr(bold=True)), ppr(after=after, keep_next=True)),
            para(run(opening), ppr(after=after)),
            para(run(LEAD), ppr(after=after / 2, keep_next=True))]
    if feedback == "quoted":
        body += [para(run("\u201c{{ feedback_1 }}\u201d", rpr(italic=True)),
                      ppr(left=10, after=after / 2)),
                 para(run("\u201c{{ feedback_2 }}\u201d", rpr(italic=True)),
                      ppr(left=10, after=after))]
    elif feedback == "bullets":
        body += [para(run("{{ feedback_1 }}"), ppr(style="ListParagraph", num=BULLET_NUM_ID,
                                                  after=after / 2)),
                 para(run("{{ feedback_2 }}"), ppr(style="ListParagraph", num=BULLET_NUM_ID,
                                                  after=after))]
    elif feedback == "table":
        head = rpr(bold=True, colour="FFFFFF")
        cell = ppr(before=2, after=2)
        body.append(table((80.0, 79.2), (
            (para(run("What they did well", head), cell),
             para(run("Why it mattered", head), cell)),
            (para(run("{{ feedback_1 }}"), cell), para(run("{{ feedback_2 }}"), cell))),
            borders=True, header_fill="005EB8"))
        body.append(para("", ppr(after=0, line=0.5)))  # Word keeps a paragraph after a table
    else:
        raise ValueError(feedback)
    body.append(para(run(closing), ppr(after=after + gap)))
    if signature == "plain":
        body += [para(run(SIGN_OFF), ppr(after=8, keep_next=True)),
                 para(run("{{ signature }}"), ppr(after=8, keep_next=True)),
                 para(run("{{ signatory.name }}", rpr(bold=True)), ppr(after=0, keep_next=True)),
                 para(run("{{ signatory.title }}"), ppr(after=0))]
    return tuple(body)


def footer_return_address(doc: Document, size: float = 8, colour: str = "595959") -> None:
    set_story(doc.sections[0].footer,
              para(run(RETURN_ADDRESS, rpr(size=size, colour=colour)), ppr(jc="center")),
              para(run(CONTACT, rpr(size=size, colour=colour)), ppr(jc="center")))


def header_logo(doc: Document, folder: Path, *, width: float = 50) -> None:
    header = doc.sections[0].header
    logo = write_logo(folder / "logo.png")
    set_story(header, para(inline_image(header.part, logo, width, width * 168 / 600, 101, "Logo"),
                           ppr(style="Header")))


# --- the cases ----------------------------------------------------------------------------------
# Vertical positions are set the way comms teams set them (empty paragraphs, space before,
# frames), and tuned so that, with the case's sample, the address lies where the case says
# and the folds (y 99 and 198) fall between lines and clear of the signature image.

EMPTY = para()
ADDRESS = (para("{{ name_line }}"), para("{{ address }}"))


def header_logo_footer(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    add_body(doc, *[EMPTY] * 7, *ADDRESS, *[EMPTY] * 5,
             para("{{ date }}", ppr(after=8)), *letter_body(after=6, gap=0.9))
    return save(doc, folder, "header_logo_footer")


def table_address(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    info = ppr(left=95, after=0)
    tabbed = ppr(left=95, tabs=(("left", 120),), after=0)
    cell = ppr(after=0)
    add_body(doc,
             table((70.0,), ((para("{{ name_line }}", cell) + para("{{ address }}", cell),),),
                   float_at=(27.0, 57.0), row_height=(22.0, "exact"), cell_margin=0),
             para("Our ref:\t{{ reference }}", tabbed), para("Date:\t{{ date }}", tabbed),
             para("Please ask for: Children's Services", info),
             para("Telephone: 0300 123 4043", info),
             para(SALUTATION, ppr(before=159.4, after=8)), *letter_body(gap=12.3)[1:])
    return save(doc, folder, "table_address")


def frame_address(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    fixed = frame(Box(27.0, 57.0, 97.0, 79.0))
    add_body(doc,
             para("{{ name_line }}", ppr(frame=fixed, after=0)),
             para("{{ address }}", ppr(frame=fixed, after=0)),
             para("{{ date }}", ppr(before=213.2, after=8)), *letter_body(after=6, gap=2.9))
    return save(doc, folder, "frame_address")


def textbox_address(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    content = para("{{ name_line }}", ppr(after=0)) + para("{{ address }}", ppr(after=0))
    box = text_box(Box(27.0, 57.0, 97.0, 79.0), content, 201, "Address")
    add_body(doc,
             para(run("Our ref: {{ reference }}") + box, ppr(after=0)),
             para("{{ date }}", ppr(before=199.7, after=8)), *letter_body(after=6, gap=2.9))
    return save(doc, folder, "textbox_address")


def bullet_feedback(folder: Path) -> Path:
    doc = new_document(after=8, line=1.08)  # Word 2013+ defaults: 8 pt after, 1.08 lines
    add_bullets(doc)
    add_style(doc, "ListParagraph", "List Paragraph",
              '<w:pPr><w:ind w:left="720"/><w:contextualSpacing/></w:pPr>')
    header_logo(doc, folder)
    footer_return_address(doc)
    single = ppr(after=0, line=1.0)
    add_body(doc, para("{{ name_line }}", ppr(before=88, after=0, line=1.0)),
             para("{{ address }}", single), para("{{ date }}", ppr(before=68.2)),
             *letter_body(feedback="bullets", after=5, gap=-2.7))
    return save(doc, folder, "bullet_feedback")


def table_feedback(folder: Path) -> Path:
    doc = new_document(after=8, line=1.08)
    header_logo(doc, folder)
    footer_return_address(doc)
    add_body(doc, para("{{ name_line }}", ppr(before=88, after=0, line=1.0)),
             para("{{ address }}", ppr(after=0, line=1.0)),
             para("{{ date }}", ppr(before=68.2)), *letter_body(feedback="table", gap=5.6))
    return save(doc, folder, "table_feedback")


def arial_2cm(folder: Path) -> Path:
    doc = new_document(font="Arial", margins=Margins(20, 20, 20, 20, 10, 10))
    header_logo(doc, folder)
    footer_return_address(doc)
    add_body(doc, para("{{ name_line }}", ppr(left=7, before=91.6, after=0)),
             para("{{ address }}", ppr(left=7, after=0)),
             para("{{ date }}", ppr(before=64.5, after=8)), *letter_body(gap=7.1))
    return save(doc, folder, "arial_2cm")


def date_right_aligned(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    add_body(doc, para("{{ date }}", ppr(jc="right", before=56, after=0)),
             para("{{ name_line }}", ppr(before=22, after=0)), para("{{ address }}"),
             para(SALUTATION, ppr(before=67.9, after=8)), *letter_body(gap=12.4)[1:])
    return save(doc, folder, "date_right_aligned")


def us_letter(folder: Path) -> Path:
    doc = new_document(page=LETTER_MM, lang="en-US",
                       margins=Margins(25.4, 25.4, 25.4, 25.4, 12.7, 12.7))
    header_logo(doc, folder, width=45)
    footer_return_address(doc)
    add_body(doc, *[EMPTY] * 7, *ADDRESS, *[EMPTY] * 5,
             para("{{ date }}", ppr(after=8)), *letter_body(after=6, gap=0.9))
    return save(doc, folder, "us_letter")


def address_top_right(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    add_body(doc, para("{{ name_line }}", ppr(left=100, before=56, after=0)),
             para("{{ address }}", ppr(left=100, after=0)),
             para("{{ date }}", ppr(left=100, before=12, after=0)),
             para(SALUTATION, ppr(before=77.9, after=8)), *letter_body(gap=12.4)[1:])
    return save(doc, folder, "address_top_right")


def _six_line(folder: Path, name: str, size: float, leading: float, before: float,
              date_before: float, after: float, gap: float) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    add_style(doc, "Address", "Address",
              f'<w:pPr><w:spacing w:before="0" w:after="0" w:line="{round(leading * 20)}" '
              'w:lineRule="exact"/></w:pPr>',
              f'<w:rPr><w:sz w:val="{round(size * 2)}"/><w:szCs w:val="{round(size * 2)}"/>'
              "</w:rPr>")
    header_logo(doc, folder)
    footer_return_address(doc)
    add_body(doc, para("{{ name_line }}", ppr(style="Address", before=before)),
             para("{{ address }}", ppr(style="Address")),
             para("{{ date }}", ppr(before=date_before, after=8)),
             *letter_body(after=after, gap=gap))
    return save(doc, folder, name)


def six_line_fits(folder: Path) -> Path:
    return _six_line(folder, "six_line_fits", 10, 10.8, 85.7, 62.7, 7, -3.1)


def six_line_overflows(folder: Path) -> Path:
    return _six_line(folder, "six_line_overflows", 12, 15, 88, 40, 6, -1.9)


def continuation_header(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    logo = write_logo(folder / "logo.png")
    first = section.first_page_header
    set_story(first, para(inline_image(first.part, logo, 50, 14, 101, "Logo")
                          + run("\tChildren's Services", rpr(bold=True, colour="005EB8")),
                          ppr(style="Header", tabs=(("right", 159.2),))))
    set_story(section.header,
              para(run("{{ name_line }}\tcontinued, page ", rpr(size=9))
                   + '<w:fldSimple w:instr=" PAGE "><w:r><w:rPr><w:sz w:val="18"/></w:rPr>'
                   "<w:t>2</w:t></w:r></w:fldSimple>",
                   ppr(style="Header", tabs=(("right", 159.2),))))
    set_story(section.first_page_footer,
              para(run(RETURN_ADDRESS, rpr(size=8, colour="595959")), ppr(jc="center")))
    add_body(doc, *[EMPTY] * 7, *ADDRESS, *[EMPTY] * 5,
             para("{{ date }}", ppr(after=8)), *letter_body(after=6, gap=0.9))
    return save(doc, folder, "continuation_header")


def soft_hyphens_signature_table(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    body = letter_body(after=6, gap=0.9, soft=True, signature="none")
    keep = ppr(after=8, keep_next=True)
    signature = table((80.0, 79.2), ((
        para(SIGN_OFF, keep) + para("{{ signature }}", keep)
        + para(run("{{ signatory.name }}", rpr(bold=True)), ppr(after=0, keep_next=True))
        + para("{{ signatory.title }}", ppr(after=0)),
        para(run("Contact:", rpr(bold=True)), ppr(after=0))
        + para("Children's\u00a0Services", ppr(after=0))
        + para("0300\u00a0123\u00a04043", ppr(after=0))),), cell_margin=0)
    add_body(doc, *[EMPTY] * 7, *ADDRESS, *[EMPTY] * 5,
             para("{{ date }}", ppr(after=8)), *body, signature, EMPTY)
    return save(doc, folder, "soft_hyphens_signature_table")


def brand_colour_header(folder: Path) -> Path:
    doc = new_document(margins=Margins(top=30, header=10, footer=10))
    header = doc.sections[0].header
    logo = write_logo(folder / "logo.png")
    set_story(header, para(
        run("{{ authority }}", rpr(bold=True, size=16, colour="005EB8"))
        + anchored_image(header.part, logo, Box(140.0, 10.0, 185.0, 22.6), 102, "Logo"),
        ppr(style="Header")),
        para(run("Children's Services", rpr(size=11, colour="005EB8")), ppr(style="Header")))
    footer_return_address(doc, colour="005EB8")
    add_body(doc, para("{{ name_line }}", ppr(before=80, after=0)), para("{{ address }}"),
             para("{{ date }}", ppr(before=66.3, after=8)), *letter_body(after=6, gap=2.9))
    return save(doc, folder, "brand_colour_header")


def split_placeholder(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    body = list(letter_body(after=6, gap=0.9))
    # Word split the tag when someone bolded half of it, then changed their mind on the rest
    body[0] = para(run("Dear ") + '<w:r w:rsidRPr="00A1B2C3"><w:rPr><w:b/><w:bCs/></w:rPr>'
                   "<w:t>{{ first_</w:t></w:r>"
                   '<w:r w:rsidR="00D4E5F6"><w:t>name }},</w:t></w:r>', ppr(after=6))
    add_body(doc, *[EMPTY] * 7, *ADDRESS, *[EMPTY] * 5,
             para("{{ date }}", ppr(after=8)), *body)
    return save(doc, folder, "split_placeholder")


def address_at_2cm_margin(folder: Path) -> Path:
    doc = new_document(font="Arial", margins=Margins(20, 20, 20, 20, 10, 10))
    header_logo(doc, folder)
    footer_return_address(doc)
    add_body(doc, para("{{ name_line }}", ppr(before=91.6, after=0)),
             para("{{ address }}", ppr(after=0)),
             para("{{ date }}", ppr(before=64.5, after=8)), *letter_body(gap=7.1))
    return save(doc, folder, "address_at_2cm_margin")


def fold_crossing(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    body = letter_body(after=12, gap=-2)
    close = body.index(next(p for p in body if SIGN_OFF in p))
    # two empty paragraphs before the sign-off: "room for a handwritten note"
    add_body(doc, *[EMPTY] * 7, *ADDRESS, *[EMPTY] * 5, para("{{ date }}", ppr(after=8)),
             *body[:close], EMPTY, EMPTY, *body[close:])
    return save(doc, folder, "fold_crossing")


def address_fields(folder: Path) -> Path:
    doc = new_document(margins=Margins(header=10, footer=10))
    header_logo(doc, folder)
    footer_return_address(doc)
    add_body(doc, para("{{ name_line }}", ppr(before=92)), para("{{ address_1 }}"),
             para("{%p if address_2 %}"), para("{{ address_2 }}"), para("{%p endif %}"),
             para("{%p if address_3 %}"), para("{{ address_3 }}"), para("{%p endif %}"),
             para("{{ town }}"), para("{{ postcode }}"),
             para("{{ date }}", ppr(before=67.4, after=8)), *letter_body(after=6, gap=2.9))
    return save(doc, folder, "address_fields")


CASES: tuple[TemplateCase, ...] = (
    TemplateCase("header_logo_footer", header_logo_footer, "ok",
                 "Logo in the page header, return address in the footer; Calibri 11 with "
                 "Word's 2.54 cm margins; the address pushed down to the window with empty "
                 "paragraphs, the way most letterheads are typed"),
    TemplateCase("table_address", table_address, "ok",
                 "Address in a borderless one-cell table, floated and positioned on the page "
                 "for the window (Table Properties > Around > Positioning); 'Our ref' and date "
                 "in a column indented to the right"),
    TemplateCase("frame_address", frame_address, "ok",
                 "Address paragraphs in a Word frame (w:framePr) fixed to the page at the "
                 "window position, as in letterheads first made in Word 97"),
    TemplateCase("textbox_address", textbox_address, "ok",
                 "Address in a text box (wps:txbx, with Word's VML fallback) anchored to the "
                 "page at the window position, no outline, zero insets"),
    TemplateCase("bullet_feedback", bullet_feedback, "ok",
                 "Word 2013 defaults (8 pt after, 1.08 lines); the manager's feedback as two "
                 "bullet points (List Paragraph + w:numPr, Symbol bullet), no quote marks"),
    TemplateCase("table_feedback", table_feedback, "ok",
                 "Feedback in a two-column table with a brand-coloured header row: "
                 "'What they did well' | 'Why it mattered'"),
    TemplateCase("arial_2cm", arial_2cm, "ok",
                 "Arial body text with 2 cm margins; the address indented 7 mm so it clears "
                 "the window's edge"),
    TemplateCase("date_right_aligned", date_right_aligned, "ok",
                 "Calibri 11, 2.54 cm margins, the letter date right-aligned above the "
                 "address"),
    TemplateCase("us_letter", us_letter, "page_size",
                 "US Letter page (8.5 × 11 in, 1 in margins, en-US) inherited from a US-locale "
                 "Normal.dotm; otherwise like header_logo_footer"),
    TemplateCase("address_top_right", address_top_right, "address_outside_window",
                 "Address at the top right, as many UK letterheads put it for hand-addressed "
                 "or plain-envelope mail"),
    TemplateCase("six_line_fits", six_line_fits, "ok",
                 "An 'Address' style at 10 pt, exactly 10.8 pt leading, positioned with space "
                 "before: a six-line address just fits the window band",
                 SIX_LINES),
    TemplateCase("six_line_overflows", six_line_overflows, "address_overflow",
                 "The same 'Address' style at 12 pt on exactly 15 pt: a six-line address is "
                 "taller than the window band", SIX_LINES),
    TemplateCase("continuation_header", continuation_header, "ok",
                 "Different first page: full letterhead and return address on page 1, a "
                 "'continued, page N' header (name and PAGE field) for later pages; the "
                 "letter is one page"),
    TemplateCase("soft_hyphens_signature_table", soft_hyphens_signature_table, "ok",
                 "Soft hyphens and no-break spaces typed in the static text; the signature "
                 "block (image, name, title) and a contact column in a borderless table"),
    TemplateCase("brand_colour_header", brand_colour_header, "ok",
                 "Council name in the RGB brand colour (#005EB8) in the header, the logo "
                 "floated to the top right (anchored to the page), brand-coloured footer"),
    TemplateCase("split_placeholder", split_placeholder, "ok",
                 "A placeholder Word split across two runs with different formatting "
                 "('{{ first_' bold, 'name }}' plain), which docxtpl joins"),
    TemplateCase("address_at_2cm_margin", address_at_2cm_margin, "address_outside_window",
                 "Arial with 2 cm margins and the address at the margin: visible through the "
                 "window, but within 5 mm of its left edge"),
    TemplateCase("fold_crossing", fold_crossing, "fold_warning",
                 "Generous 12 pt paragraph spacing and two empty paragraphs before the "
                 "sign-off (room for a handwritten note) put 'Yours sincerely,' on the lower "
                 "fold"),
    TemplateCase("address_fields", address_fields, "ok",
                 "Separate paragraphs per address field ({{ address_1 }} ... {{ postcode }}) "
                 "with docxtpl's {%p if %} to drop empty lines, as after a mail-merge "
                 "conversion"),
)


def build_all(folder: Path) -> dict[str, Path]:
    """Write every case's .docx into ``folder``; case name → path."""
    return {case.name: case.build(folder) for case in CASES}
