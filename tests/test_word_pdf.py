"""LibreOffice's PDFs of Word letters made print-ready: open the produced files and look.

Two kinds of test: synthetic PDFs built with pikepdf for each colour / transparency case (fast,
exact), and real .docx letters built with python-docx the way a council comms team would
(RGB heading, black body, PNG logo with alpha in the header, a JPEG photo, a grey table border,
Calibri and Arial) and converted by a real headless LibreOffice.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import statistics
import subprocess
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pdfplumber
import pikepdf
import pytest
from docx import Document
from docx.enum.text import WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from hypothesis import given, settings
from hypothesis import strategies as st
from pikepdf import Array, Dictionary, Name, Pdf, Stream
from PIL import Image, ImageDraw

from hhp_letters.render.word_pdf import (
    ImageCache,
    PdfInfo,
    colour_report,
    gcr_image_to_cmyk,
    gcr_rgb_to_cmyk,
    merge_bundle,
    pdf_date,
    print_ready,
    split_pages,
    text_boxes,
)

FONTS = Path(__file__).resolve().parent.parent / "templates" / "fonts"
INFO = PdfInfo(title="Recognition letter", author="Hertfordshire County Council",
               subject="Thank you", creator="hhp-letters", keywords="trial, wave 1",
               date=pdf_date(2019, 10, 1))
HEADING_RGB = (0x00, 0x5E, 0xB8)
NAMES = ["Alice Smith", "Ben Jones", "Chloe Brown"]
RGB_WORDS = (b"/DeviceRGB", b"/CalRGB", b"/ICCBased", b"/Indexed", b"/Lab")
needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None and not os.environ.get("CI"),
                                   reason="LibreOffice (soffice) is not installed")
needs_poppler = pytest.mark.skipif(shutil.which("pdffonts") is None, reason="needs poppler-utils")
needs_qpdf = pytest.mark.skipif(shutil.which("qpdf") is None, reason="needs qpdf")


# ---------------------------------------------------------------------------------------------
# Looking at a PDF independently of the module under test


@dataclass(frozen=True)
class Paint:
    """A text show or path paint, with the fill colour operator in force."""

    operator: str
    fill: tuple[str, tuple[float, ...]]
    stroke: tuple[str, tuple[float, ...]]
    font: str | None


def content_streams(pdf: Pdf) -> Iterator[tuple[Any, Any]]:
    """(stream-or-page, resources) for pages and every form XObject, recursively."""
    todo: list[tuple[Any, Any]] = [(page.obj, page.obj.get("/Resources")) for page in pdf.pages]
    seen: set[tuple[int, int]] = set()
    while todo:
        obj, resources = todo.pop()
        if obj.is_indirect and obj.objgen in seen:
            continue
        if obj.is_indirect:
            seen.add(obj.objgen)
        yield obj, resources
        for xobject in (resources or Dictionary()).get("/XObject", Dictionary()).values():
            if xobject.get("/Subtype") == Name.Form:
                todo.append((xobject, xobject.get("/Resources", resources)))


def paints(pdf: Pdf) -> list[Paint]:
    out = []
    for stream, resources in content_streams(pdf):
        Colour = tuple[str, tuple[float, ...]]
        fill: Colour = ("g", (0.0,))
        stroke: Colour = ("G", (0.0,))
        font: str | None = None
        stack: list[tuple[Colour, Colour, str | None]] = []
        for inst in pikepdf.parse_content_stream(stream):
            op = str(inst.operator)
            numbers = tuple(float(v) for v in inst.operands if isinstance(v, int | float | Decimal))
            if op == "q":
                stack.append((fill, stroke, font))
            elif op == "Q":
                fill, stroke, font = stack.pop()
            elif op in ("g", "rg", "k", "sc", "scn"):
                fill = (op, numbers)
            elif op in ("G", "RG", "K", "SC", "SCN"):
                stroke = (op, numbers)
            elif op == "Tf":
                font = str(resources.Font[inst.operands[0]].BaseFont)
            elif op in ("Tj", "TJ", "'", '"', "f", "f*", "F", "B", "b", "B*", "b*", "S", "s"):
                out.append(Paint(op, fill, stroke, font if op in ("Tj", "TJ", "'", '"') else None))
    return out


def operators(pdf: Pdf) -> set[str]:
    return {str(inst.operator) for stream, _ in content_streams(pdf)
            for inst in pikepdf.parse_content_stream(stream)
            if isinstance(inst, pikepdf.ContentStreamInstruction)}


def assert_print_ready(data: bytes) -> None:
    """What a print house's preflight would check, read straight from the file."""
    assert data.startswith(b"%PDF-1.4\n")
    assert re.search(rb"/Type\s*/ObjStm", data) is None
    start = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[start:start + 4] == b"xref"  # a classic table, not an xref stream
    with Pdf.open(io.BytesIO(data)) as pdf:
        ops = operators(pdf)
        assert not ops & {"rg", "RG", "sc", "SC", "BI"}, ops
        for obj in pdf.objects:
            if isinstance(obj, Dictionary | Stream | Array):
                text = obj.unparse() if not isinstance(obj, Stream) else \
                    Dictionary({k: v for k, v in obj.items()}).unparse()
                for word in RGB_WORDS:
                    assert word not in text, (word, text[:200])
                assert b"/SMask" not in text and b"/Transparency" not in text
            if isinstance(obj, Stream) and obj.get("/Subtype") == Name.Image:
                assert obj.get("/ImageMask", False) or obj.ColorSpace in (
                    Name.DeviceCMYK, Name.DeviceGray)
            if isinstance(obj, Dictionary) and ("/ca" in obj or "/CA" in obj):
                assert float(obj.get("/ca", 1)) == 1 and float(obj.get("/CA", 1)) == 1
        for page in pdf.pages:
            assert list(page.obj.TrimBox) == list(page.obj.MediaBox)
            assert int(page.obj.get("/Rotate", 0)) == 0
            assert "/Group" not in page.obj and "/Annots" not in page.obj
        assert set(pdf.Root.keys()) <= {"/Type", "/Pages", "/Lang"}  # no XMP, links, outline
        info = pdf.trailer.Info
        assert info.Trapped == Name("/False") and "/DocChecksum" not in pdf.trailer


def qpdf_check(data: bytes, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"check-{hashlib.sha256(data).hexdigest()[:12]}.pdf"
    path.write_bytes(data)
    return subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)


def image_hashes(data: bytes) -> list[str]:
    """The decoded content hash of every image XObject stored in the file."""
    with Pdf.open(io.BytesIO(data)) as pdf:
        return [hashlib.sha256(obj.read_bytes()).hexdigest() for obj in pdf.objects
                if isinstance(obj, Stream) and obj.get("/Subtype") == Name.Image]


# ---------------------------------------------------------------------------------------------
# Synthetic PDFs (no LibreOffice needed)


def one_page(content: bytes, resources: Dictionary | None = None, pdf: Pdf | None = None,
             **page: Any) -> Pdf:
    pdf = pdf or Pdf.new()
    page_dict = Dictionary(Type=Name.Page, MediaBox=Array([0, 0, 595.276, 841.89]),
                           Resources=resources or Dictionary(),
                           Contents=pdf.make_indirect(Stream(pdf, content)), **page)
    pdf.pages.append(pikepdf.Page(page_dict))
    return pdf


def to_bytes(pdf: Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def k_of(data: bytes) -> list[tuple[float, ...]]:
    with Pdf.open(io.BytesIO(data)) as pdf:
        return [tuple(float(v) for v in inst.operands) for stream, _ in content_streams(pdf)
                for inst in pikepdf.parse_content_stream(stream)
                if str(inst.operator) in ("k", "K")]


def rgb_image(pdf: Pdf, image: Image.Image, **extra: Any) -> Stream:
    stream = Stream(pdf, zlib.compress(image.tobytes()))
    stream.Filter = Name.FlateDecode
    stream.Type, stream.Subtype = Name.XObject, Name.Image
    stream.Width, stream.Height, stream.BitsPerComponent = image.width, image.height, 8
    stream.ColorSpace = extra.pop("ColorSpace", Name.DeviceRGB)
    for key, value in extra.items():
        stream[f"/{key}"] = value
    return pdf.make_indirect(stream)


def test_formula_neutrals_are_k_only_and_ink_is_limited() -> None:
    assert gcr_rgb_to_cmyk(0, 0, 0) == (0, 0, 0, 1)
    assert gcr_rgb_to_cmyk(1, 1, 1) == (0, 0, 0, 0)
    c, m, y, k = gcr_rgb_to_cmyk(0.5, 0.5, 0.5)
    assert (c, m, y) == (0, 0, 0) and k == pytest.approx(0.5)
    assert gcr_rgb_to_cmyk(1, 0, 0) == (0, 1, 1, 0)
    c, m, y, k = gcr_rgb_to_cmyk(0, 0x5E / 255, 0xB8 / 255)  # the council blue
    assert (round(c, 3), round(m, 3), y, round(k, 3)) == (1, 0.489, 0, 0.278)
    for rgb in [(0.1, 0, 0), (0.2, 0.9, 0.4), (0.05, 0.04, 0.03)]:
        cmyk = gcr_rgb_to_cmyk(*rgb)
        assert min(cmyk[:3]) == 0 and sum(cmyk) <= 3.0  # full GCR: total ink ≤ 300 %


def test_fast_image_conversion_matches_the_formula() -> None:
    image = Image.new("RGB", (64, 64))
    image.putdata([((x * 37) % 256, (y * 53) % 256, (x * y) % 256)
                   for y in range(64) for x in range(64)])
    fast = gcr_image_to_cmyk(image)
    assert fast.mode == "CMYK"
    for (x, y) in [(0, 0), (5, 9), (63, 63), (17, 40), (33, 2)]:
        rgb = [v / 255 for v in image.getpixel((x, y))]  # type: ignore[union-attr]
        want = [round(v * 255) for v in gcr_rgb_to_cmyk(*rgb)]
        got = cast(tuple[int, ...], fast.getpixel((x, y)))
        assert all(abs(a - b) <= 1 for a, b in zip(want, got, strict=True)), (x, y, want, got)


_unit = st.sampled_from(["0", "1", "0.5", "0.25", ".3", "0.0039", "1.0"])
_tricky_text = st.sampled_from(["(0 0 0 rg)", "(a\\(b)", "((x) 1 g)", "(\\) k)", "<0102>",
                                "(%\\) 0 0 0 k)", "(Do Tf)", "(((deep)))", "((((deeper))))"])
_colour_op = st.one_of(
    st.tuples(_unit).map(lambda v: f"{v[0]} g"), st.tuples(_unit).map(lambda v: f"{v[0]} G"),
    st.tuples(_unit, _unit, _unit).map(lambda v: " ".join(v) + " rg"),
    st.tuples(_unit, _unit, _unit).map(lambda v: " ".join(v) + " RG"),
    st.tuples(_unit, _unit, _unit, _unit).map(lambda v: " ".join(v) + " k"),
    st.tuples(_unit, _unit, _unit, _unit).map(lambda v: " ".join(v) + " K"))
_paint_op = st.one_of(
    st.just("0 0 10 10 re f"), st.just("0 0 m 5 5 l S"), st.just("q"), st.just("Q"),
    _tricky_text.map(lambda t: f"BT /F1 9 Tf 10 10 Td {t} Tj ET"),
    _tricky_text.map(lambda t: f"BT /F1 9 Tf [{t} -20 {t}] TJ ET"),
    st.just("% a comment 0 0 0 rg"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(_colour_op, _paint_op), min_size=1, max_size=25))
def test_fast_path_equals_the_parser_on_generated_streams(ops: list[str]) -> None:
    """The regex fast path and the full parser paint the same colours, whatever the strings
    and comments hold (a stream that sets a colour space takes the parser)."""
    depth, balanced = 0, []
    for op in ops:  # keep q/Q balanced, as real streams are
        if op == "Q" and depth == 0:
            continue
        depth += {"q": 1, "Q": -1}.get(op, 0)
        balanced.append(op)
    content = (" ".join(balanced) + " Q" * depth + "\n").encode()
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    resources = Dictionary(Font=Dictionary(F1=font))
    fast = print_ready(to_bytes(one_page(content, resources)), INFO)
    slow = print_ready(to_bytes(one_page(content + b"/DeviceGray cs\n", resources)), INFO)
    with Pdf.open(io.BytesIO(fast)) as a, Pdf.open(io.BytesIO(slow)) as b:
        assert paints(a) == paints(b)
        assert not operators(a) & {"rg", "RG", "g", "G"}


def test_rgb_text_and_paths_become_cmyk_black_k100() -> None:
    content = (b"0 0 0 rg BT /F1 11 Tf 72 700 Td (body) Tj ET "
               b"0 0.3686 0.7216 rg BT /F1 18 Tf 72 750 Td (head) Tj ET "
               b"0.6 0.6 0.6 RG 0.5 w 72 600 m 500 600 l S 0.25 g 10 10 5 5 re f")
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    data = print_ready(to_bytes(one_page(content, Dictionary(Font=Dictionary(F1=font)))), INFO)
    assert_print_ready(data)
    assert k_of(data) == [(0, 0, 0, 1), (1, 0.4892, 0, 0.2784), (0, 0, 0, 0.4), (0, 0, 0, 0.75)]


def test_icc_and_indexed_rgb_colour_spaces_are_converted() -> None:
    pdf = Pdf.new()
    icc = pdf.make_indirect(Stream(pdf, b"not really a profile"))
    icc.N = 3
    spaces = Dictionary(CS0=Array([Name.ICCBased, icc]),
                        CS1=Array([Name.Indexed, Name.DeviceRGB, 1, pikepdf.String(
                            b"\xff\x00\x00\x80\x80\x80")]))
    content = b"/CS0 cs 1 0 0 sc 1 1 5 5 re f /CS1 CS 1 SC 0 0 m 9 9 l S /CS1 cs 0 scn 2 2 3 3 re f"
    page = one_page(content, Dictionary(ColorSpace=spaces), pdf)
    data = print_ready(to_bytes(page), INFO)
    assert_print_ready(data)
    # cs/CS set the space's initial colour (black; index 0 = red), then sc/SC/scn set colours
    assert k_of(data) == [(0, 0, 0, 1), (0, 1, 1, 0), (0, 1, 1, 0), (0, 0, 0, 0.498),
                          (0, 1, 1, 0), (0, 1, 1, 0)]


def test_custom_converter_is_used_but_neutrals_stay_k_only() -> None:
    def fake(r: float, g: float, b: float) -> tuple[float, float, float, float]:
        return (0.1, 0.2, 0.3, 0.4)

    pdf = Pdf.new()
    picture = Image.new("RGB", (4, 1))
    picture.putdata([(255, 0, 0), (0, 0, 0), (128, 128, 128), (10, 200, 30)])
    image = rgb_image(pdf, picture)
    pdf.pages.append(pikepdf.Page(Dictionary(
        Type=Name.Page, MediaBox=Array([0, 0, 100, 100]),
        Resources=Dictionary(XObject=Dictionary(Im0=image)),
        Contents=pdf.make_indirect(Stream(pdf, b"1 0 0 rg 0 0 1 1 re f 0.5 0.5 0.5 rg "
                                               b"q 4 0 0 1 0 0 cm /Im0 Do Q")))))
    data = print_ready(to_bytes(pdf), INFO, rgb_to_cmyk=fake)
    assert_print_ready(data)
    assert k_of(data) == [(0.1, 0.2, 0.3, 0.4), (0, 0, 0, 0.5)]
    with Pdf.open(io.BytesIO(data)) as out:
        im: Any = next(o for o in out.objects if isinstance(o, Stream) and "/Width" in o)
        pixels = list(pikepdf.PdfImage(im).as_pil_image().get_flattened_data())
    assert pixels == [(26, 51, 76, 102), (0, 0, 0, 255), (0, 0, 0, 127), (26, 51, 76, 102)]


def test_alpha_logo_is_flattened_on_white_and_grey_images_stay_grey() -> None:
    pdf = Pdf.new()
    logo = Image.new("RGBA", (2, 1))
    logo.putdata([(255, 0, 0, 255), (255, 0, 0, 0)])  # opaque red, fully transparent red
    r, g, b, a = logo.split()
    smask = rgb_image(pdf, a, ColorSpace=Name.DeviceGray)
    image = rgb_image(pdf, Image.merge("RGB", (r, g, b)), SMask=smask)
    grey = Image.new("L", (2, 1), 100)
    grey_image = rgb_image(pdf, grey, ColorSpace=Name.DeviceGray)
    pdf.pages.append(pikepdf.Page(Dictionary(
        Type=Name.Page, MediaBox=Array([0, 0, 100, 100]),
        Resources=Dictionary(XObject=Dictionary(Im0=image, Im1=grey_image)),
        Contents=pdf.make_indirect(Stream(pdf, b"q 20 0 0 10 0 0 cm /Im0 Do Q "
                                               b"q 20 0 0 10 0 50 cm /Im1 Do Q")))))
    data = print_ready(to_bytes(pdf), INFO)
    assert_print_ready(data)
    with Pdf.open(io.BytesIO(data)) as out:
        images: dict[str, Any] = {
            str(k): v for k, v in out.pages[0].Resources.XObject.items()}
        logo_out = pikepdf.PdfImage(images["/Im0"]).as_pil_image()
        assert images["/Im0"].ColorSpace == Name.DeviceCMYK and "/SMask" not in images["/Im0"]
        # opaque red stays red; the transparent pixel becomes white paper (no ink)
        assert list(logo_out.get_flattened_data()) == [(0, 255, 255, 0), (0, 0, 0, 0)]
        assert images["/Im1"].ColorSpace == Name.DeviceGray
        assert images["/Im1"].read_bytes() == grey.tobytes()


def test_constant_alpha_group_is_flattened_as_ink_on_white() -> None:
    pdf = Pdf.new()
    gs = pdf.make_indirect(Dictionary(CA=0.5, ca=0.5, BM=Name.Multiply))
    form = pdf.make_indirect(Stream(pdf, b"0 0 10 10 re f 0 0 1 rg 0 0 5 5 re f"))
    form.Type, form.Subtype, form.BBox = Name.XObject, Name.Form, Array([0, 0, 10, 10])
    form.Group = Dictionary(S=Name.Transparency, CS=Name.DeviceRGB, K=True)
    resources = Dictionary(ExtGState=Dictionary(GS0=gs), XObject=Dictionary(Tr0=form))
    page = one_page(b"0 0.6666 0 rg q /GS0 gs /Tr0 Do Q 1 0 0 rg 0 0 3 3 re f", resources, pdf,
                    Group=Dictionary(S=Name.Transparency, CS=Name.DeviceRGB))
    data = print_ready(to_bytes(page), INFO)
    assert_print_ready(data)
    # the page: green; at the gs its ink halves (fill and stroke); red after Q. The group form:
    # its own blue at the group's alpha.
    assert k_of(data) == [(1, 0, 1, 0.3334), (0.5, 0, 0.5, 0.1667), (0, 0, 0, 0.5),
                          (0, 1, 1, 0), (0.5, 0.5, 0, 0)]


def test_rgb_shading_is_resampled_in_cmyk() -> None:
    pdf = Pdf.new()
    function = Dictionary(FunctionType=2, Domain=Array([0, 1]), C0=Array([1, 0, 0]),
                          C1=Array([0, 0, 1]), N=1)
    shading = pdf.make_indirect(Dictionary(ShadingType=2, ColorSpace=Name.DeviceRGB,
                                           Coords=Array([0, 0, 100, 0]), Function=function))
    data = print_ready(to_bytes(one_page(b"/Sh0 sh", Dictionary(
        Shading=Dictionary(Sh0=shading)), pdf)), INFO)
    assert_print_ready(data)
    with Pdf.open(io.BytesIO(data)) as out:
        sh = out.pages[0].Resources.Shading["/Sh0"]
        assert sh.ColorSpace == Name.DeviceCMYK
        samples = sh.Function.read_bytes()
        assert samples[:4] == bytes([0, 255, 255, 0]) and samples[-4:] == bytes([255, 255, 0, 0])
    assert colour_report(data).shading_spaces == {"DeviceCMYK"}


def test_inline_rgb_image_becomes_a_cmyk_xobject() -> None:
    content = b"q 10 0 0 10 0 0 cm BI /W 1 /H 1 /CS /RGB /BPC 8 ID \xff\x00\x00 EI Q"
    data = print_ready(to_bytes(one_page(content)), INFO)
    assert_print_ready(data)
    with Pdf.open(io.BytesIO(data)) as out:
        image: Any
        (image,) = out.pages[0].Resources.XObject.values()
        assert image.ColorSpace == Name.DeviceCMYK
        pixels = pikepdf.PdfImage(image).as_pil_image().get_flattened_data()
        assert list(pixels) == [(0, 255, 255, 0)]


def test_rotated_page_is_drawn_upright_with_rotate_0() -> None:
    page = one_page(b"0 0 0 rg 0 0 10 20 re f", Rotate=90)
    data = print_ready(to_bytes(page), INFO)
    assert_print_ready(data)
    with Pdf.open(io.BytesIO(data)) as out:
        assert [float(v) for v in out.pages[0].MediaBox] == [0, 0, 841.89, 595.276]


def test_printable_annotations_become_content_and_links_go() -> None:
    pdf = Pdf.new()
    appearance = Stream(pdf, b"1 0 0 rg 0 0 20 10 re f")
    appearance.Type, appearance.Subtype = Name.XObject, Name.Form
    appearance.BBox = Array([0, 0, 20, 10])
    stamp = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Square, F=4,
                                         Rect=Array([100, 100, 120, 110]),
                                         AP=Dictionary(N=pdf.make_indirect(appearance))))
    link = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link,
                                        Rect=Array([0, 0, 50, 50]), Border=Array([0, 0, 0])))
    page = one_page(b"0 g 0 0 1 1 re f", None, pdf, Annots=Array([stamp, link]))
    data = print_ready(to_bytes(page), INFO)
    assert_print_ready(data)
    assert (0, 1, 1, 0) in k_of(data)  # the square's red, now drawn by the page, in CMYK


def test_metadata_is_the_callers_and_output_is_deterministic() -> None:
    page = one_page(b"0 0 0 rg 0 0 10 20 re f")
    with page.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:title"] = "LibreOffice's title"
    page.docinfo["/CreationDate"] = "D:20261201213804Z"
    raw = to_bytes(page)
    first, second = print_ready(raw, INFO), print_ready(raw, INFO)
    assert first == second
    with Pdf.open(io.BytesIO(first)) as out:
        info = out.trailer.Info
        assert str(info.Title) == "Recognition letter" and str(info.Keywords) == "trial, wave 1"
        assert str(info.CreationDate) == "D:20191001000000Z" == str(info.ModDate)
        assert "/Metadata" not in out.Root
    other = print_ready(raw, PdfInfo(**{**INFO.__dict__, "title": "Another"}))
    assert other != first  # the /ID follows the content
    with pytest.raises(ValueError, match="D:YYYYMMDD"):
        PdfInfo("t", "a", "s", "c", "k", "2019-10-01")


def test_colour_report_measures_rgb_where_it_is() -> None:
    raw = to_bytes(one_page(b"0 0 0 rg 0 0 10 20 re f"))
    before = colour_report(raw)
    assert before.rgb_remaining and before.content_spaces == {"DeviceRGB"}
    assert not before.all_pages_trimmed and before.pages[0].width_mm == pytest.approx(210, 0.01)
    after = colour_report(print_ready(raw, INFO))
    assert not before.device_cmyk_gray_only and after.device_cmyk_gray_only
    assert not after.rgb_remaining and after.colour_spaces == {"DeviceCMYK"}
    assert after.all_pages_trimmed and after.version == "1.4" and not after.xref_stream
    assert any("no RGB" in line for line in after.lines())


# ---------------------------------------------------------------------------------------------
# Real Word letters through a real LibreOffice


def logo_png() -> bytes:
    """A council logo: a blue disc and a half-transparent orange bar on transparency."""
    image = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((5, 5, 115, 115), fill=(*HEADING_RGB, 255))
    draw.rectangle((130, 30, 290, 90), fill=(230, 60, 30, 180))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def photo_jpeg() -> bytes:
    image = Image.new("RGB", (200, 150))
    image.putdata([(x, y, 128) for y in range(150) for x in range(200)])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def grey_table(doc: Any) -> None:
    table = doc.add_table(rows=2, cols=2)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), "4")
        element.set(qn("w:color"), "999999")
        borders.append(element)
    table._tbl.tblPr.append(borders)
    for (row, col), text in {(0, 0): "Team", (0, 1): "Area", (1, 0): "Children's services",
                             (1, 1): "East Herts"}.items():
        run(table.cell(row, col).paragraphs[0], text)


def run(paragraph: Any, text: str, font: str = "Calibri", size: float = 11,
        colour: tuple[int, int, int] | None = None, bold: bool = False) -> None:
    r = paragraph.add_run(text)
    r.font.name, r.font.size, r.font.bold = font, Pt(size), bold
    if colour is not None:
        r.font.color.rgb = RGBColor(*colour)


def hyperlink(paragraph: Any, text: str, url: str) -> None:
    """A Word hyperlink in Word's blue (python-docx has no API for one)."""
    r_id = paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    r = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    colour = OxmlElement("w:color")
    colour.set(qn("w:val"), "0563C1")
    properties.append(colour)
    r.append(properties)
    t = OxmlElement("w:t")
    t.text = text
    r.append(t)
    link.append(r)
    paragraph._p.append(link)


def letter_docx(path: Path, names: list[str], *, photo_every: int = 1) -> Path:
    """One Word document holding one letter per name, a page each."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.header.paragraphs[0].add_run().add_picture(io.BytesIO(logo_png()), width=Mm(40))
    photo = photo_jpeg()
    for i, name in enumerate(names):
        run(doc.add_paragraph(), "Thank you from the council", size=18, colour=HEADING_RGB,
            bold=True)
        run(doc.add_paragraph(), f"Dear {name},")
        run(doc.add_paragraph(), "Thank you for all your hard work with families this year. "
            "Your manager wrote that you turned a difficult case around.")
        run(doc.add_paragraph(), "Printed in Arial, grey.", font="Arial",
            colour=(0x80, 0x80, 0x80))
        hyperlink(doc.add_paragraph(), "www.hertfordshire.gov.uk",
                  "https://www.hertfordshire.gov.uk/")
        if i % photo_every == 0:
            doc.add_picture(io.BytesIO(photo), width=Mm(30))
        grey_table(doc)
        if i < len(names) - 1:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.save(str(path))
    return path


class Soffice:
    """A headless LibreOffice with its own profile (Carlito installed in it)."""

    def __init__(self, base: Path) -> None:
        self.profile = base / "profile"
        fonts = self.profile / "user" / "fonts"
        fonts.mkdir(parents=True)
        for font in FONTS.glob("Carlito-*.ttf"):
            shutil.copy2(font, fonts / font.name)
        self.base = base

    def convert(self, documents: list[Path], out: str) -> list[bytes]:
        out_dir = self.base / out
        subprocess.run(["soffice", f"-env:UserInstallation={self.profile.as_uri()}",
                        "--headless", "--norestore", "--convert-to", "pdf:writer_pdf_Export",
                        "--outdir", str(out_dir), *map(str, documents)],
                       check=True, capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
        return [(out_dir / f"{d.stem}.pdf").read_bytes() for d in documents]


@dataclass(frozen=True)
class Converted:
    letters: list[bytes]  # three letters, converted separately (one document each)
    alice_again: bytes  # Alice's .docx converted by a second LibreOffice process
    hundred: bytes  # one document of 100 letters


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Converted:
    if shutil.which("soffice") is None and not os.environ.get("CI"):
        pytest.skip("LibreOffice (soffice) is not installed")
    base = tmp_path_factory.mktemp("word-pdf")
    soffice = Soffice(base)
    docs = [letter_docx(base / f"letter-{i}.docx", [name]) for i, name in enumerate(NAMES)]
    hundred = letter_docx(base / "hundred.docx", [f"Person {i:03d}" for i in range(100)],
                          photo_every=2)
    letters = soffice.convert([*docs, hundred], "first")
    time.sleep(1.1)  # LibreOffice's clock stamp (and /ID) differs on the second run
    (again,) = soffice.convert(docs[:1], "second")
    return Converted(letters[:3], again, letters[3])


@pytest.mark.libreoffice
@needs_soffice
def test_what_libreoffice_writes(converted: Converted) -> None:
    """The premise: LibreOffice's PDF is RGB, 1.6, has no TrimBox and stamps the clock."""
    raw = converted.letters[0]
    assert raw.startswith(b"%PDF-1.6")
    report = colour_report(raw)
    assert "DeviceRGB" in report.content_spaces and "DeviceRGB" in report.image_spaces
    assert report.rgb_remaining and not report.all_pages_trimmed
    assert "image with a soft mask or mask" in report.transparency
    assert raw != converted.alice_again  # /CreationDate, /ID, /DocChecksum


@pytest.mark.libreoffice
@needs_soffice
@needs_qpdf
def test_letter_is_print_ready(converted: Converted, tmp_path: Path) -> None:
    data = print_ready(converted.letters[0], INFO)
    assert_print_ready(data)
    check = qpdf_check(data, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    with Pdf.open(io.BytesIO(data)) as pdf:
        shown = paints(pdf)
        body = [p for p in shown if p.font and p.font.endswith("+Carlito")]
        heading = [p for p in shown if p.font and p.font.endswith("+Carlito-Bold")]
    assert body and all(p.fill == ("k", (0, 0, 0, 1)) for p in body)  # K100, not rich black
    assert heading and all(p.fill == ("k", (1, 0.4891, 0, 0.2784)) for p in heading)
    text_fills = {p.fill for p in shown if p.font}
    link = ("k", (0.9741, 0.487, 0, 0.2431))  # Word's hyperlink blue #0563C1
    assert text_fills == {("k", (0, 0, 0, 1)), heading[0].fill, ("k", (0, 0, 0, 0.498)), link}
    rules = [p for p in shown if p.operator == "S"]  # the table's #999999 borders
    assert len(rules) >= 6 and all(p.stroke == ("K", (0, 0, 0, 0.4)) for p in rules)
    report = colour_report(data)
    assert report.device_cmyk_gray_only and not report.rgb_remaining
    assert report.transparency == () and report.all_pages_trimmed
    assert all(f.embedded for f in report.fonts)


@pytest.mark.libreoffice
@needs_soffice
def test_output_is_identical_across_libreoffice_runs(converted: Converted) -> None:
    first = print_ready(converted.letters[0], INFO)
    assert first == print_ready(converted.letters[0], INFO)
    assert first == print_ready(converted.alice_again, INFO)


@pytest.mark.libreoffice
@needs_soffice
@needs_qpdf
@needs_poppler
def test_bundle_of_separately_converted_letters(converted: Converted, tmp_path: Path) -> None:
    singles = [print_ready(raw, INFO) for raw in converted.letters]
    bundle = merge_bundle(singles, INFO, blank_after_each=True)
    assert_print_ready(bundle)
    assert qpdf_check(bundle, tmp_path).returncode == 0
    path = tmp_path / "bundle.pdf"
    path.write_bytes(bundle)
    rows = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                          check=True).stdout.splitlines()[2:]
    names = [row.split()[0] for row in rows]
    assert all(row.split()[-5] == "yes" for row in rows)  # emb column
    assert len(names) == len(set(names)), names  # every subset name is unique
    # LibreOffice named them all BAAAAA+…, CAAAAA+…: the same names for different subsets.
    raw_names = [n for raw in converted.letters for n in pdffonts_names(raw, tmp_path)]
    assert len(set(raw_names)) < len(raw_names)
    hashes = image_hashes(bundle)
    assert len(hashes) == len(set(hashes)) == 2  # the logo and the photo, stored once each
    with Pdf.new() as naive:  # what appending the pages would store
        for single in singles:
            with Pdf.open(io.BytesIO(single)) as src:
                naive.pages.extend(src.pages)
                naive_bytes = to_bytes(naive)
    assert len(image_hashes(naive_bytes)) == 6
    with Pdf.open(io.BytesIO(bundle)) as pdf:
        assert len(pdf.pages) == 6
        assert [len(pikepdf.parse_content_stream(p)) == 0 for p in pdf.pages] == [
            False, True] * 3
    texts = [" ".join(b.text for b in text_boxes(bundle, i)) for i in (0, 2, 4)]
    assert [name in text for name, text in zip(NAMES, texts, strict=True)] == [True] * 3
    plain = merge_bundle(singles, INFO, blank_after_each=False)
    with Pdf.open(io.BytesIO(plain)) as pdf:
        assert len(pdf.pages) == 3
    assert len(bundle) < sum(map(len, singles)) * 0.6


@pytest.mark.libreoffice
@needs_soffice
@needs_poppler
def test_bundle_of_raw_libreoffice_pdfs_gets_unique_font_names(converted: Converted,
                                                               tmp_path: Path) -> None:
    """merge_bundle expects print-ready input, but never lets two programs share a name."""
    bundle = merge_bundle(converted.letters, INFO, blank_after_each=False)
    names = pdffonts_names(bundle, tmp_path)
    assert len(names) == len(set(names)) and len(names) > 4, names


@pytest.mark.libreoffice
@needs_soffice
def test_fast_path_paints_like_the_full_parser(converted: Converted) -> None:
    """LibreOffice's pages take a regex fast path; a page that also sets a colour space goes
    through the full content-stream parser. Both must paint the same colours."""
    with Pdf.open(io.BytesIO(converted.letters[0])) as pdf:
        page = pdf.pages[0]
        page.contents_add(b"/DeviceGray cs", prepend=False)  # no visible effect; forces a parse
        slow = print_ready(to_bytes(pdf), INFO)
    fast = print_ready(converted.letters[0], INFO)
    with Pdf.open(io.BytesIO(fast)) as a, Pdf.open(io.BytesIO(slow)) as b:
        assert paints(a) == paints(b) and len(paints(a)) > 12
        # the fast path keeps LibreOffice's layout ("q 0 0 0 rg"); the parser writes its own
        assert b"q 0 0 0 1 k" in a.pages[0].Contents.read_bytes()
        assert b"q 0 0 0 1 k" not in b.pages[0].Contents.read_bytes()


def pdffonts_names(data: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / f"fonts-{hashlib.sha256(data).hexdigest()[:12]}.pdf"
    path.write_bytes(data)
    rows = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                          check=True).stdout.splitlines()[2:]
    return [row.split()[0] for row in rows]


@pytest.mark.libreoffice
@needs_soffice
@needs_qpdf
def test_split_pages_carry_only_what_they_use(converted: Converted, tmp_path: Path) -> None:
    whole = print_ready(converted.hundred, INFO)
    assert_print_ready(whole)
    with Pdf.open(io.BytesIO(whole)) as pdf:
        assert len(pdf.pages) == 100
    infos = [PdfInfo(**{**INFO.__dict__, "title": f"Letter {i}"}) for i in range(100)]
    pages = split_pages(converted.hundred, infos)
    assert len(pages) == 100
    for i in (0, 1, 50, 99):
        assert_print_ready(pages[i])
        assert qpdf_check(pages[i], tmp_path).returncode == 0
        with Pdf.open(io.BytesIO(pages[i])) as pdf:
            assert len(pdf.pages) == 1 and str(pdf.trailer.Info.Title) == f"Letter {i}"
        assert len(image_hashes(pages[i])) == (2 if i % 2 == 0 else 1)  # photo on even ones
        words = [b.text for b in text_boxes(pages[i])]
        assert f"{i:03d}," in words
    bundle = merge_bundle(pages, INFO, blank_after_each=False)
    assert len(image_hashes(bundle)) == 2
    assert qpdf_check(bundle, tmp_path).returncode == 0


@pytest.mark.libreoffice
@needs_soffice
def test_text_boxes_match_pdfplumber(converted: Converted) -> None:
    data = print_ready(converted.letters[0], INFO)
    ours = text_boxes(data)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        height = float(pdf.pages[0].height)
        theirs = pdf.pages[0].extract_words(return_chars=True)
    assert [b.text for b in ours] == [w["text"] for w in theirs]
    mm = 25.4 / 72
    body = [(b, w) for b, w in zip(ours, theirs, strict=True) if b.size == 11]
    assert len(body) > 20
    for box, word in body:
        baseline = (height - float(word["chars"][0]["matrix"][5])) * mm
        for mine, other in [(box.x0, word["x0"] * mm), (box.x1, word["x1"] * mm),
                            (box.baseline, baseline)]:
            assert abs(mine - other) < 0.5, (box, word["text"], mine, other)
        em = box.size * mm
        assert box.baseline - em < box.y0 < box.y1 < box.baseline + 0.3 * em  # ink near it
    lines = text_boxes(data, lines=True)
    texts = [line.text for line in lines]
    assert "Dear Alice Smith," in texts and "Team" in texts and "Area" in texts  # two cells
    dear = lines[texts.index("Dear Alice Smith,")]
    assert 20 < dear.x0 < 40 and 30 < dear.y0 < 80  # left margin; below the logo


# ---------------------------------------------------------------------------------------------
# Speed (numbers are printed; run with -s to see them)


def per_item_ms(work: Callable[[], object], items: int, repeats: int = 3) -> float:
    """CPU milliseconds per item (CPU time: the machine's other work does not count)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000 / items


@pytest.mark.libreoffice
@needs_soffice
def test_speed(converted: Converted) -> None:
    cache = ImageCache()
    raw = converted.letters[0]
    print_ready(raw, INFO, cache=cache)
    single = per_item_ms(lambda: [print_ready(raw, INFO, cache=cache) for _ in range(20)], 20)
    uncached = per_item_ms(lambda: [print_ready(raw, INFO) for _ in range(5)], 5)
    split = per_item_ms(lambda: split_pages(converted.hundred, INFO), 100)
    pages = split_pages(converted.hundred, INFO) * 5
    merge = per_item_ms(lambda: merge_bundle(pages, INFO, blank_after_each=True), 500, 1)
    boxes = per_item_ms(lambda: [text_boxes(pages[0]) for _ in range(20)], 20)
    report = per_item_ms(lambda: [colour_report(pages[0]) for _ in range(20)], 20)
    print(f"\nCPU: print_ready {single:.1f} ms/letter with an ImageCache, {uncached:.1f} without; "
          f"split_pages {split:.1f} ms/page (100 pages); merge_bundle {merge:.1f} ms/letter "
          f"(500); text_boxes {boxes:.1f} ms/page; colour_report {report:.1f} ms/page")
    # Loose bounds (a shared 2-core machine): a regression by a factor, not noise, fails.
    assert single < 40 and split < 40 and merge < 40


def test_the_quick_ticket_scan_finds_what_the_full_scan_finds(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """Hex-string pages (ours) are scanned by splitting into tokens; the result must be the
    regex scan's, including an inline image mask, and a stream it cannot be sure of (a
    literal string) falls back."""
    from hhp_letters.render import word_pdf

    def facts(content: bytes) -> word_pdf.BundleFacts:
        pdf = pikepdf.new()
        page = pdf.add_blank_page(page_size=(595.276, 841.89))
        page.obj.Resources = pikepdf.Dictionary(ColorSpace=pikepdf.Dictionary(
            CS0=pikepdf.Array([pikepdf.Name.ICCBased, pdf.make_stream(b"", N=4)])))
        page.obj.Contents = pdf.make_stream(content)
        path = tmp_path / "x.pdf"
        pdf.save(path)
        return word_pdf.bundle_facts(path)

    ours = (b"q 0 0 0 1 k BT /F1 10 Tf [<000A> -4.5 <001E>] TJ ET Q\n1 0 0 rg 0.5 G "
            b"/CS0 cs 0 0 0 1 scn q 0 0 0 1 k 9 0 0 9 500 12 cm BI /W 2 /H 2 /IM true "
            b"/BPC 1 /F /AHx ID C0> EI Q")
    quick = facts(ours)
    assert word_pdf._quick_facts(ours) is not None
    assert {c for c in quick.colours} == {("k", (0.0, 0.0, 0.0, 1.0)), ("rg", (1.0, 0.0, 0.0)),
                                          ("g", (0.5,))}
    assert "DeviceRGB" in quick.colour_spaces and "DeviceCMYK" in quick.colour_spaces
    monkeypatch.setattr(word_pdf, "_quick_facts", lambda raw: None)
    assert facts(ours) == quick
    monkeypatch.undo()
    assert word_pdf._quick_facts(b"(k) Tj 0 0 0 1 k") is None  # a literal string: not sure
    assert word_pdf._quick_facts(b"12 0 0 0 1 k") is None  # more numbers than k takes
