"""PDF/X identification, the bundled ICC profile, brand-colour conversion and the DataMatrix.

Each part is built into small real PDFs (a tiny writer below), which are then opened the way a
print house would: pikepdf for structure, ``tests/pdfx_check.py`` for the PDF/X rules, qpdf for
syntax, pdfium to rasterise and zxing-cpp to read the barcodes.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import random
import shutil
import subprocess
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
import reportlab
import zxingcpp
from pdfx_check import X1A, X4, Failure, check_pdfx
from PIL import Image, ImageCms
from reportlab.graphics.barcode.ecc200datamatrix import FACTORS, ECC200DataMatrix

from hhp_letters.render import pdfx
from hhp_letters.render.colour import (
    Cmyk,
    CmykConverter,
    ColourError,
    Lab,
    Rgb,
    ciede2000,
    default_profile_path,
    parse_colour,
    srgb_to_lab,
)
from hhp_letters.render.datamatrix import (
    SIZES,
    DataMatrix,
    DataMatrixError,
    MailPayload,
    SymbolSize,
    ascii_codewords,
    mod37_36,
    reed_solomon,
)
from hhp_letters.render.pdfx import OutputCondition, PdfxError, PdfxStandard, XmpFields

ROOT = Path(__file__).resolve().parents[1]
ICC_DIR = ROOT / "templates" / "icc"
VERA = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
A4 = (595.276, 841.89)
DATE = "D:20261001000000Z"
DATAMATRIX = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.DataMatrix)


@pytest.fixture(scope="module")
def converter() -> CmykConverter:
    return CmykConverter()


# --- a tiny PDF writer for the tests --------------------------------------------------------

@dataclass
class Doc:
    """One A4 page; every field is a piece a test may replace to break one rule.

    Objects: 1 catalog, 2 pages, 3 page, 4 content, 5 font, 6 descriptor, 7 font file,
    8 output intent, 9 ICC profile, 10 metadata, 11 info, 12.. ``extra`` (in order).
    """

    standard: PdfxStandard = PdfxStandard.X1A_2003
    condition: OutputCondition = field(default_factory=lambda: pdfx.output_condition("FOGRA39"))
    profile: bytes | None = None  # None: the bundled profile; b"": no profile
    content: bytes = (b"0 0 0 1 k BT /F1 12 Tf 72 760 Td (Dear participant) Tj ET\n"
                      b"0.82 0.45 0 0.46 k 72 700 200 20 re f\n")
    resources: bytes = b"/Font << /F1 5 0 R >>"
    boxes: bytes = b"/TrimBox [0 0 595.276 841.89]"
    page_extra: bytes = b""
    catalog_extra: bytes = b""
    info: dict[str, bytes] = field(default_factory=dict)  # overrides, e.g. {"Title": b"()"}
    font: bytes | None = None  # replaces object 5
    extra: list[bytes] = field(default_factory=list)
    header: bytes | None = None
    with_id: bool = True
    with_metadata: bool = True
    with_intent: bool = True
    title: str = "Recognition letters - bundle BF"

    def build(self) -> bytes:
        vera = VERA.read_bytes()
        widths = b" ".join(b"600" for _ in range(32, 127))
        font = self.font or (b"<< /Type /Font /Subtype /TrueType /BaseFont /Vera /FirstChar 32 "
                             b"/LastChar 126 /Widths [" + widths + b"] /Encoding /WinAnsiEncoding"
                             b" /FontDescriptor 6 0 R >>")
        icc = (pdfx.profile_for_intent(self.standard, self.condition,
                                       default_profile_path().read_bytes()
                                       if self.profile is None else self.profile or None))
        info_fields = {
            "Title": pdfx.text_string(self.title), "Author": b"(HHP trial team)",
            "Subject": b"(Recognition letters)", "Keywords": b"(hhp)",
            "Creator": b"(hhp-letters)", "Producer": b"(hhp-letters)",
            "CreationDate": f"({DATE})".encode(), "ModDate": f"({DATE})".encode(),
            "Trapped": b"/False",
        }
        info_fields.update(self.info)
        info = (b"<< " + b" ".join(b"/%s %s" % (k.encode(), v) for k, v in info_fields.items()
                                   if v) + b" " + pdfx.info_entries(self.standard) + b" >>")
        objects: dict[int, bytes] = {
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.276 841.89] " + self.boxes
                + b" /Resources << " + self.resources + b" >> /Contents 4 0 R "
                + self.page_extra + b" >>"),
            4: _stream(self.content),
            5: font,
            6: (b"<< /Type /FontDescriptor /FontName /Vera /Flags 32 /FontBBox [-183 -236 1287"
                b" 928] /ItalicAngle 0 /Ascent 928 /Descent -236 /CapHeight 729 /StemV 80 "
                b"/FontFile2 7 0 R >>"),
            7: _stream(vera, b" /Length1 %d" % len(vera)),
            8: pdfx.output_intent(self.condition, 9 if icc else None),
            9: pdfx.dest_output_profile(icc) if icc else b"null",
            11: info,
        }
        for i, body in enumerate(self.extra):
            objects[12 + i] = body
        head = self.header or self.standard.header
        digest = hashlib.sha256(head + b"".join(objects[k] for k in sorted(objects))).digest()
        fields = XmpFields(self.title, "HHP trial team", "Recognition letters", "hhp",
                           "hhp-letters", "hhp-letters", DATE, "demo/bundle-BF", digest)
        objects[10] = pdfx.metadata_stream(self.standard, fields)
        meta = 10 if self.with_metadata else None
        entries = pdfx.catalog_entries(8, meta) if self.with_intent else (
            b"/Metadata 10 0 R" if meta else b"")
        objects[1] = (b"<< /Type /Catalog /Pages 2 0 R " + entries + b" " + self.catalog_extra
                      + b" >>")
        return _write(head, objects, 11, self.with_id)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data)
    return (b"<< /Length %d /Filter /FlateDecode%s >>\nstream\n" % (len(packed), extra)
            + packed + b"\nendstream")


def _write(header: bytes, objects: dict[int, bytes], info: int, with_id: bool) -> bytes:
    out = bytearray(header)
    offsets = {}
    for n in sorted(objects):
        offsets[n] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (n, objects[n])
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    doc_id = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().encode()
    ids = b" /ID [<%s> <%s>]" % (doc_id, doc_id) if with_id else b""
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R%s >>\nstartxref\n%d\n%%%%EOF\n"
            % (size, info, ids, xref))
    return bytes(out)


def rules(failures: list[Failure]) -> set[str]:
    return {f.rule for f in failures}


def qpdf_check(data: bytes, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "check.pdf"
    path.write_bytes(data)
    return subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)


# --- PDF/X identification -------------------------------------------------------------------

@pytest.mark.parametrize("standard", [PdfxStandard.X1A_2003, PdfxStandard.X4])
def test_good_file_passes_checker_and_qpdf(standard: PdfxStandard, tmp_path: Path) -> None:
    data = Doc(standard=standard).build()
    assert check_pdfx(data, standard.value) == []
    if shutil.which("qpdf"):
        result = qpdf_check(data, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr


def test_x1a_identification_as_a_preflight_reads_it() -> None:
    data = Doc().build()
    assert data.startswith(b"%PDF-1.4\n")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        info = pdf.docinfo
        assert str(info.GTS_PDFXVersion) == "PDF/X-1:2003"
        assert str(info.GTS_PDFXConformance) == "PDF/X-1a:2003"
        assert str(info.Trapped) == "/False"
        (intent,) = pdf.Root.OutputIntents
        assert str(intent.S) == "/GTS_PDFX"
        assert str(intent.OutputConditionIdentifier) == "FOGRA39"
        assert str(intent.RegistryName) == "http://www.color.org"
        profile = intent.DestOutputProfile
        assert int(profile.N) == 4
        assert profile.read_bytes() == default_profile_path().read_bytes()
        with pdf.open_metadata() as meta:
            assert meta["pdfx:GTS_PDFXVersion"] == "PDF/X-1:2003"
            assert meta["pdfx:GTS_PDFXConformance"] == "PDF/X-1a:2003"
            assert meta["pdf:Trapped"] == "False"
            assert meta["dc:title"] == "Recognition letters - bundle BF"
            assert meta["xmp:CreateDate"] == meta["xmp:ModifyDate"] == "2026-10-01T00:00:00Z"


def test_x4_identification_and_xmp() -> None:
    data = Doc(standard=PdfxStandard.X4).build()
    assert data.startswith(b"%PDF-1.6\n")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert str(pdf.docinfo.GTS_PDFXVersion) == "PDF/X-4"
        assert "/GTS_PDFXConformance" not in pdf.docinfo
        with pdf.open_metadata() as meta:
            assert meta["pdfxid:GTS_PDFXVersion"] == "PDF/X-4"
            assert meta["xmpMM:VersionID"] == "1"
            assert meta["xmpMM:RenditionClass"] == "default"
            assert meta["xmpMM:DocumentID"].startswith("uuid:")
            assert meta["xmp:MetadataDate"] == "2026-10-01T00:00:00Z"


def test_output_is_deterministic_and_ids_follow_content() -> None:
    a, b = Doc(standard=PdfxStandard.X4).build(), Doc(standard=PdfxStandard.X4).build()
    assert a == b
    other = Doc(standard=PdfxStandard.X4, content=b"0 0 0 1 k 10 10 50 50 re f\n").build()

    def ids(data: bytes) -> tuple[str, str]:
        with pikepdf.open(io.BytesIO(data)) as pdf, pdf.open_metadata() as meta:
            return meta["xmpMM:DocumentID"], meta["xmpMM:InstanceID"]

    assert ids(a)[0] == ids(other)[0]  # same document (campaign + bundle) ...
    assert ids(a)[1] != ids(other)[1]  # ... another rendition when the pages change


def test_x1a_may_name_a_registered_condition_without_profile() -> None:
    fogra51 = pdfx.output_condition("PSO Coated v3")
    assert fogra51.identifier == "FOGRA51"
    data = Doc(condition=fogra51, profile=b"").build()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/DestOutputProfile" not in pdf.Root.OutputIntents[0]
    assert check_pdfx(data, X1A) == []
    assert "output-intent-profile" in rules(check_pdfx(data, X4))


def test_profile_choice_refuses_what_a_preflight_would() -> None:
    ours = default_profile_path().read_bytes()
    x4, x1a = PdfxStandard.X4, PdfxStandard.X1A_2003
    with pytest.raises(PdfxError, match="needs the output condition's ICC profile"):
        pdfx.profile_for_intent(x4, pdfx.output_condition("FOGRA39"), None)
    with pytest.raises(PdfxError, match="built from FOGRA39 data but the output condition is "
                                        "FOGRA52"):
        pdfx.profile_for_intent(x1a, pdfx.output_condition("FOGRA52"), ours)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    with pytest.raises(PdfxError, match="CMYK output"):
        pdfx.profile_for_intent(x1a, pdfx.output_condition("FOGRA39"), srgb)
    custom = OutputCondition("Press 7 house stock", "Press 7", "our own", registry="")
    with pytest.raises(PdfxError, match="not in the ICC registry"):
        pdfx.profile_for_intent(x1a, custom, None)
    with pytest.raises(PdfxError, match="unknown output condition 'FOGRA99'"):
        pdfx.output_condition("FOGRA99")
    assert pdfx.output_condition("gracol").identifier == "CGATS21_CRPC6"
    assert pdfx.output_condition("fogra 52").condition == "PSO Uncoated v3 (FOGRA52)"
    assert PdfxStandard.parse("pdf/x-4") is x4 and PdfxStandard.parse("X-1a") is x1a


def test_xmp_escapes_and_survives_unicode_title() -> None:
    data = Doc(title="Café <letters> & notes").build()
    assert check_pdfx(data, X1A) == []
    with pikepdf.open(io.BytesIO(data)) as pdf, pdf.open_metadata() as meta:
        assert meta["dc:title"] == "Café <letters> & notes"
        assert str(pdf.docinfo.Title) == "Café <letters> & notes"
    with pytest.raises(PdfxError, match="not a full PDF date"):
        pdfx.xmp_date("2026-10-01")
    assert pdfx.xmp_date("D:20261001093000+01'00'") == "2026-10-01T09:30:00+01:00"


# --- the checker on broken files --------------------------------------------------------------

ICC_RGB = b"[/ICCBased 12 0 R]"
BROKEN: dict[str, tuple[str, Doc]] = {
    "header 1.5": ("header-version", Doc(header=b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")),
    "no trim box": ("trim-box", Doc(boxes=b"")),
    "trim and art box": ("trim-box", Doc(boxes=b"/TrimBox [0 0 595 841] /ArtBox [0 0 595 841]")),
    "trim outside media": ("box-nesting", Doc(boxes=b"/TrimBox [-10 0 595.276 841.89]")),
    "trim outside bleed": ("box-nesting", Doc(boxes=b"/TrimBox [0 0 595 841] "
                                                    b"/BleedBox [10 10 500 800]")),
    "rgb fill": ("colour-space", Doc(content=b"1 0 0 rg 10 10 50 50 re f\n")),
    "rgb stroke": ("colour-space", Doc(content=b"0 0 1 RG 10 10 m 50 50 l S\n")),
    "icc colour space": ("colour-space", Doc(
        resources=b"/ColorSpace << /CS0 " + ICC_RGB + b" >>",
        content=b"/CS0 cs 1 0 0 sc 10 10 50 50 re f\n",
        extra=[_stream(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
                       b" /N 3")])),
    "lab colour space": ("colour-space", Doc(
        resources=b"/ColorSpace << /L [/Lab << /WhitePoint [0.9642 1 0.8249] >>] >>",
        content=b"/L cs 50 0 0 sc 10 10 50 50 re f\n")),
    "spot with rgb alternate": ("colour-space", Doc(
        resources=b"/ColorSpace << /S [/Separation /Brand /DeviceRGB 12 0 R] >>",
        content=b"/S cs 1 sc 10 10 50 50 re f\n",
        extra=[b"<< /FunctionType 2 /Domain [0 1] /C0 [1 1 1] /C1 [1 0 0] /N 1 >>"])),
    "devicen with rgb alternate": ("colour-space", Doc(
        resources=b"/ColorSpace << /S [/DeviceN [/Cyan /Brand] /DeviceRGB 12 0 R] >>",
        content=b"/S cs 1 1 sc 10 10 50 50 re f\n",
        extra=[b"<< /FunctionType 2 /Domain [0 1 0 1] /C0 [1 1 1] /C1 [1 0 0] /N 1 >>"])),
    "rgb image": ("colour-space", Doc(
        resources=b"/XObject << /Im0 12 0 R >>", content=b"q 50 0 0 50 10 10 cm /Im0 Do Q\n",
        extra=[_stream(b"\xff\x00\x00", b" /Type /XObject /Subtype /Image /Width 1 /Height 1 "
                       b"/ColorSpace /DeviceRGB /BitsPerComponent 8")])),
    "rgb inline image": ("colour-space", Doc(
        content=b"q 50 0 0 50 10 10 cm BI /W 1 /H 1 /CS /RGB /BPC 8 ID \xff\x00\x00 EI Q\n")),
    "soft-masked image": ("transparency", Doc(
        resources=b"/XObject << /Im0 12 0 R >>", content=b"q 50 0 0 50 10 10 cm /Im0 Do Q\n",
        extra=[_stream(b"\x00\x00\x00\xff", b" /Type /XObject /Subtype /Image /Width 1 "
                       b"/Height 1 /ColorSpace /DeviceCMYK /BitsPerComponent 8 /SMask 13 0 R"),
               _stream(b"\x80", b" /Type /XObject /Subtype /Image /Width 1 /Height 1 "
                       b"/ColorSpace /DeviceGray /BitsPerComponent 8")])),
    "constant alpha": ("transparency", Doc(
        resources=b"/ExtGState << /G0 << /ca 0.5 >> >>",
        content=b"/G0 gs 0 0 0 1 k 10 10 50 50 re f\n")),
    "blend mode": ("transparency", Doc(
        resources=b"/ExtGState << /G0 << /BM /Multiply >> >>",
        content=b"/G0 gs 0 0 0 1 k 10 10 50 50 re f\n")),
    "page group": ("transparency", Doc(
        page_extra=b"/Group << /S /Transparency /CS /DeviceCMYK >>")),
    "transfer function": ("transfer-function", Doc(
        resources=b"/ExtGState << /G0 << /TR /Identity >> >>",
        content=b"/G0 gs 0 0 0 1 k 10 10 50 50 re f\n")),
    "unembedded font": ("font-not-embedded", Doc(
        font=b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")),
    "no title": ("info-title", Doc(info={"Title": b""})),
    "trapped unknown": ("info-trapped", Doc(info={"Trapped": b"/Unknown"})),
    "no creation date": ("info-dates", Doc(info={"CreationDate": b""})),
    "no output intent": ("output-intent", Doc(with_intent=False)),
    "no id": ("trailer-id", Doc(with_id=False)),
    "javascript open action": ("action", Doc(
        catalog_extra=b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>")),
    "link inside trim": ("annotation-in-trim", Doc(
        page_extra=b"/Annots [<< /Type /Annot /Subtype /Link /Rect [72 700 272 720] "
                   b"/Border [0 0 0] >>]")),
    "form fields": ("acroform", Doc(
        catalog_extra=b"/AcroForm << /Fields [12 0 R] >>",
        extra=[b"<< /FT /Tx /T (name) >>"])),
    "external stream": ("external-stream", Doc(
        extra=[b"<< /Length 0 /F (data.bin) >>\nstream\n\nendstream"])),
    "opi": ("opi", Doc(
        resources=b"/XObject << /Fm0 12 0 R >>", content=b"/Fm0 Do\n",
        extra=[_stream(b"0 0 0 1 k 0 0 10 10 re f", b" /Type /XObject /Subtype /Form "
                       b"/BBox [0 0 10 10] /OPI << /2.0 << /Type /OPI /Version 2.0 "
                       b"/F (hi.tif) /Inks /full_color >> >>")])),
    "postscript xobject": ("postscript", Doc(
        extra=[_stream(b"showpage", b" /Type /XObject /Subtype /PS")])),
    "jpx image": ("filter", Doc(
        extra=[b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceCMYK "
               b"/BitsPerComponent 8 /Filter /JPXDecode /Length 0 >>\nstream\n\nendstream"])),
    "layers": ("optional-content", Doc(
        catalog_extra=b"/OCProperties << /OCGs [12 0 R] /D << /Order [12 0 R] >> >>",
        extra=[b"<< /Type /OCG /Name (Draft) >>"])),
    "x-4 file as x-1a": ("info-version", Doc(standard=PdfxStandard.X4, with_metadata=False)),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_checker_names_each_broken_rule(case: str) -> None:
    rule, doc = BROKEN[case]
    found = check_pdfx(doc.build(), X1A)
    # one defect, one rule (plus the knock-on findings listed here)
    knock_on = {"trapped unknown": {"xmp"},
                "x-4 file as x-1a": {"header-version", "info-conformance"}}
    assert rules(found) == {rule} | knock_on.get(case, set()), f"{case}: {found}"
    assert all(f.detail for f in found)


def test_checker_catches_encryption(tmp_path: Path) -> None:
    with pikepdf.open(io.BytesIO(Doc().build())) as pdf:
        pdf.save(tmp_path / "enc.pdf", encryption=pikepdf.Encryption(owner="o", user=""))
    assert "encrypted" in rules(check_pdfx(tmp_path / "enc.pdf"))


def test_x4_rules_differ_where_the_standard_does() -> None:
    # live transparency and ICC colour are X-4 features; a missing XMP packet is not allowed
    alpha = replace(BROKEN["constant alpha"][1], standard=PdfxStandard.X4)
    assert check_pdfx(alpha.build(), X4) == []
    assert "transparency" in rules(check_pdfx(alpha.build(), X1A))
    no_xmp = Doc(standard=PdfxStandard.X4, with_metadata=False).build()
    assert "xmp" in rules(check_pdfx(no_xmp, X4))
    x1a = Doc().build()
    assert {"info-version", "xmp"} <= rules(check_pdfx(x1a, X4))
    assert rules(check_pdfx(Doc(standard=PdfxStandard.X4).build(), X1A)) >= {"header-version",
                                                                              "info-version"}


# --- the bundled ICC profile ------------------------------------------------------------------

def test_bundled_profile_is_usable_and_labelled() -> None:
    data = default_profile_path().read_bytes()
    info = pdfx.IccInfo.parse(data)
    assert (info.device_class, info.colour_space, info.pcs) == ("prtr", "CMYK", "Lab ")
    assert info.version == (2, 2)  # ICC v2: fine for PDF 1.4 (X-1a) and X-4 alike
    assert info.characterisation == "FOGRA39"
    profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
    assert "FOGRA39" in ImageCms.getProfileDescription(profile)
    provenance = (ICC_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    assert hashlib.sha256(data).hexdigest() in provenance
    assert "zlib" in provenance and "ICCHDAT FOGRA39" in provenance


@pytest.mark.skipif(shutil.which("colprof") is None
                    or not Path("/usr/share/color/icc/FOGRA39L.ti3").is_file(),
                    reason="needs Debian packages argyll and icc-profiles-free")
def test_bundled_profile_rebuilds_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "rebuilt.icc"
    subprocess.run([sys.executable, str(ICC_DIR / "build_profile.py"), "--out", str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == default_profile_path().read_bytes()


# --- colour -----------------------------------------------------------------------------------

def test_parse_colour_forms() -> None:
    assert parse_colour("#1f4e79") == Rgb(0x1F, 0x4E, 0x79)
    assert parse_colour("cmyk(100, 60, 0, 20)") == Cmyk(100, 60, 0, 20)
    assert parse_colour("cmyk(100%, 60%, 0%, 20%)") == Cmyk(100, 60, 0, 20)
    with pytest.raises(ColourError, match="neither sRGB hex"):
        parse_colour("navy")
    with pytest.raises(ColourError, match="outside 0–100"):
        parse_colour("cmyk(120, 0, 0, 0)")


def test_cmyk_brand_colours_are_used_as_given(converter: CmykConverter) -> None:
    result = converter.convert("cmyk(100, 60, 0, 20)")
    assert result.cmyk == Cmyk(100, 60, 0, 20) and result.delta_e is None
    assert result.cmyk.operator() == "1 0.6 0 0.2 k"
    assert result.cmyk.operator(stroke=True) == "1 0.6 0 0.2 K"


# Expected CMYK for the bundled profile and the ΔE the proof prints: in-gamut colours stay
# close; the purple lies outside FOGRA39's gamut and says so.
BRAND = {
    "#1F4E79": (Cmyk(82, 45, 0, 46), 1.5, 3.0),
    "#7A2E5B": (Cmyk(23, 85, 4, 48), 2.0, 3.5),
    "#00707A": (Cmyk(73, 0, 23, 51), 1.0, 2.5),
    "#6A1B9A": (Cmyk(78, 97, 0, 0), 5.0, 7.0),
}


@pytest.mark.parametrize("hex_colour", list(BRAND))
def test_rgb_brand_colours_convert_and_report_delta_e(converter: CmykConverter,
                                                      hex_colour: str) -> None:
    expected, low, high = BRAND[hex_colour]
    result = converter.convert(hex_colour)
    assert result.cmyk == expected
    assert result.delta_e is not None and low <= result.delta_e <= high
    assert result.cmyk.total <= 330  # FOGRA39 total ink limit


def test_neutral_brand_colours_print_on_black_only(converter: CmykConverter) -> None:
    assert converter.brand_cmyk("#000000") == Cmyk(0, 0, 0, 100)
    assert converter.brand_cmyk("#FFFFFF") == Cmyk(0, 0, 0, 0)
    grey = converter.brand_cmyk("#808080")
    assert (grey.c, grey.m, grey.y) == (0, 0, 0) and 55 <= grey.k <= 70
    # the profile itself would have built this grey from four inks
    rich = converter.brand_cmyk("#818080")
    assert rich.c > 5 and rich.m > 5 and rich.y > 5


def test_ciede2000_against_published_pairs() -> None:
    # Sharma, Wu, Dalal (2005) test data, pairs 1, 7, 17, 25
    pairs = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
             ((50, 0, 0), (50, -1, 2), 2.3669),
             ((50, 2.5, 0), (73, 25, -18), 27.1492),
             ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644)]
    for a, b, want in pairs:
        assert ciede2000(Lab(*a), Lab(*b)) == pytest.approx(want, abs=1e-4)


def test_srgb_lab_agrees_with_littlecms() -> None:
    transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"),
                                        ImageCms.createProfile("LAB"), "RGB", "LAB")
    for rgb in (Rgb(255, 0, 0), Rgb(31, 78, 121), Rgb(0, 112, 122), Rgb(128, 128, 128)):
        out = ImageCms.applyTransform(Image.new("RGB", (1, 1), (rgb.r, rgb.g, rgb.b)),
                                      transform)
        assert out is not None
        lv, av, bv = out.getpixel((0, 0))  # type: ignore[misc]
        ours = srgb_to_lab(rgb)
        assert ciede2000(ours, Lab(lv * 100 / 255, av - 128, bv - 128)) < 0.8


def _level(band: Image.Image, x: int, y: int) -> int:
    value = band.getpixel((x, y))
    assert isinstance(value, int)
    return value


def _grey_logo(noise: int = 0) -> Image.Image:
    """A 0–255 grey ramp; ``noise`` puts JPEG-like chroma noise on the green channel."""
    rnd = random.Random(7)
    image = Image.new("RGB", (256, 8))
    image.putdata([(v, min(255, max(0, v + rnd.randint(-noise, noise))), v) for _ in range(8)
                   for v in range(256)])
    return image


@pytest.mark.parametrize("noise", [0, 2])
def test_grey_logo_stays_on_black_plate(converter: CmykConverter, noise: int) -> None:
    cmyk = converter.image_to_cmyk(_grey_logo(noise))
    assert cmyk.mode == "CMYK"
    c, m, y, k = cmyk.split()
    assert c.getextrema() == m.getextrema() == y.getextrema() == (0, 0)
    clean = converter.image_to_cmyk(_grey_logo()).getchannel("K")
    ramp = [_level(clean, x, 0) for x in range(256)]
    assert ramp[0] == 255 and ramp[255] == 0  # black → K100, white → no ink
    assert all(a >= b for a, b in itertools.pairwise(ramp))  # darker grey, more K
    assert all(abs(_level(k, x, 3) - ramp[x]) <= 3 for x in range(256))
    assert converter.image_to_cmyk(Image.new("L", (4, 4), 0)).getpixel((0, 0)) == (0, 0, 0, 255)


def test_colour_logo_keeps_exact_neutrals_k_only(converter: CmykConverter) -> None:
    image = Image.new("RGB", (30, 10), (31, 78, 121))
    image.paste((40, 40, 40), (0, 0, 10, 10))  # a grey word mark beside the blue
    image.paste((255, 255, 255), (20, 0, 30, 10))
    cmyk = converter.image_to_cmyk(image)
    grey, blue, white = (cmyk.getpixel((x, 5)) for x in (5, 15, 25))
    assert grey[:3] == (0, 0, 0) and grey[3] > 200  # type: ignore[index]
    assert min(blue[:2]) > 50  # type: ignore[index]
    assert white == (0, 0, 0, 0)


def test_transparent_logo_is_flattened_on_white(converter: CmykConverter) -> None:
    image = Image.new("RGBA", (2, 1), (31, 78, 121, 255))
    image.putpixel((1, 0), (31, 78, 121, 0))
    cmyk = converter.image_to_cmyk(image)
    assert cmyk.getpixel((1, 0)) == (0, 0, 0, 0)
    assert cmyk.getpixel((0, 0)) != (0, 0, 0, 0)


def test_cmyk_jpeg_passes_through_unchanged(converter: CmykConverter, tmp_path: Path) -> None:
    Image.new("CMYK", (8, 8), (10, 200, 30, 40)).save(tmp_path / "logo.jpg", quality=95)
    with Image.open(tmp_path / "logo.jpg") as logo:
        assert converter.image_to_cmyk(logo).tobytes() == logo.tobytes()
    with pytest.raises(ColourError, match="cannot print a F image"):
        converter.image_to_cmyk(Image.new("F", (1, 1)))


def test_converted_logo_passes_x1a_colour_rules(converter: CmykConverter) -> None:
    logo = converter.image_to_cmyk(_grey_logo(2))
    image = _stream(logo.tobytes(), b" /Type /XObject /Subtype /Image /Width %d /Height %d "
                    b"/ColorSpace /DeviceCMYK /BitsPerComponent 8" % logo.size)
    doc = Doc(resources=b"/Font << /F1 5 0 R >> /XObject << /Im0 12 0 R >>",
              content=b"q 128 0 0 4 72 600 cm /Im0 Do Q\n", extra=[image])
    assert check_pdfx(doc.build(), X1A) == []


# --- DataMatrix -------------------------------------------------------------------------------

def test_reed_solomon_matches_reportlab() -> None:
    rl = ECC200DataMatrix(value="x")
    rnd = random.Random(3)
    for n in (5, 7, 10, 12, 14, 18, 20, 24, 28, 36, 42, 56):
        data = [rnd.randrange(256) for _ in range(rnd.randrange(3, 60))]
        assert n in FACTORS
        assert reed_solomon(data, n) == rl._get_reed_solomon_code(list(data), n)


def test_ascii_mode_packs_digit_pairs() -> None:
    assert ascii_codewords("A12") == [66, 142]
    assert ascii_codewords("123") == [142, 52]
    with pytest.raises(DataMatrixError, match="not printable ASCII"):
        ascii_codewords("é")


def _raster(dm: DataMatrix, px: int = 4, quiet: int = 2) -> Image.Image:
    side = (dm.size.modules + 2 * quiet) * px
    image = Image.new("L", (side, side), 255)
    for r, row in enumerate(dm.dark):
        for c, dark in enumerate(row):
            if dark:
                image.paste(0, ((c + quiet) * px, (r + quiet) * px, (c + quiet + 1) * px,
                                (r + quiet + 1) * px))
    return image


@pytest.mark.parametrize("size", SIZES, ids=[f"{s.modules}x{s.modules}" for s in SIZES])
def test_every_symbol_size_decodes(size: SymbolSize) -> None:
    # exactly full (no pad codeword) and one short (pad codewords present)
    for length in (size.data_codewords, size.data_codewords - 1):
        text = "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ|/"[i % 28] for i in range(length))
        dm = DataMatrix.encode(text)
        assert dm.size == size
        assert len(dm.dark) == len(dm.dark[0]) == size.modules
        found = zxingcpp.read_barcodes(_raster(dm), formats=DATAMATRIX)
        assert [b.text for b in found] == [text]
    too_long = "A" * 145
    with pytest.raises(DataMatrixError, match="does not fit"):
        DataMatrix.encode(too_long)


def test_payload_format_and_check_character() -> None:
    payload = MailPayload("4F2A9C01", "BF", 123, 1, 4)
    text = payload.text()
    assert text.startswith("HHP1|4F2A9C01|BF|000123|01/04|") and len(text) == 31
    assert MailPayload.parse(text) == payload
    body = text[:-1]
    # every single substitution and adjacent transposition of an alphanumeric is caught
    alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for i, ch in enumerate(body):
        if ch not in alnum:
            continue
        for other in alnum:
            if other != ch:
                assert mod37_36(body[:i] + other + body[i + 1:]) != text[-1]
        if i + 1 < len(body) and body[i + 1] in alnum and body[i + 1] != ch:
            swapped = body[:i] + body[i + 1] + ch + body[i + 2:]
            assert mod37_36(swapped) != text[-1]
    with pytest.raises(DataMatrixError, match="check character does not match"):
        MailPayload.parse(body + ("0" if text[-1] != "0" else "1"))
    with pytest.raises(DataMatrixError, match="page 5 of 4"):
        MailPayload("4F2A9C01", "BF", 1, 5, 4)


PAYLOADS = [MailPayload("4F2A9C01", "BF", 1, 1, 2), MailPayload("00000001", "HC", 4321, 2, 2),
            MailPayload("ZZZZZZZZ", "B0000003", 999_999, 12, 12)]


def test_symbol_sizes_for_typical_payloads() -> None:
    sizes = {p.text(): DataMatrix.encode(p.text()).size.modules for p in PAYLOADS}
    assert list(sizes.values()) == [22, 20, 22]
    symbol = DataMatrix.encode(PAYLOADS[0].text())
    assert symbol.side_mm(0.5) == pytest.approx(11.0)
    assert symbol.footprint_mm(0.5) == pytest.approx(12.0)
    with pytest.raises(DataMatrixError, match=r"below 0\.5 mm"):
        symbol.pdf_operators(10, 10, 0.4)


def _page_with_codes(placed: Sequence[tuple[DataMatrix, float, float]],
                     module_mm: float) -> bytes:
    content = b"".join(dm.pdf_operators(x, y, module_mm) for dm, x, y in placed)
    return Doc(content=content, resources=b"").build()


def _render(pdf: bytes, dpi: int = 200) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        image: Image.Image = doc[0].render(scale=dpi / 72, grayscale=True).to_pil()
        return image.convert("L")
    finally:
        doc.close()


def test_codes_decode_from_a_200_dpi_render() -> None:
    placed = [(DataMatrix.encode(p.text()), x, y) for p, (x, y) in
              zip(PAYLOADS, [(15, 15), (170, 140), (20, 270)], strict=True)]
    pdf = _page_with_codes(placed, 0.5)
    assert check_pdfx(pdf, X1A) == []
    found = zxingcpp.read_barcodes(_render(pdf), formats=DATAMATRIX)
    by_text = {r.text: r for r in found}
    assert set(by_text) == {p.text() for p in PAYLOADS}
    px_per_mm = 200 / 25.4
    for dm, x, y in placed:
        where = by_text[dm.text].position
        xs = [where.top_left.x, where.top_right.x, where.bottom_left.x, where.bottom_right.x]
        ys = [where.top_left.y, where.top_right.y, where.bottom_left.y, where.bottom_right.y]
        assert min(xs) / px_per_mm == pytest.approx(x, abs=1.0)
        assert min(ys) / px_per_mm == pytest.approx(y, abs=1.0)
        assert (max(xs) - min(xs)) / px_per_mm == pytest.approx(dm.side_mm(0.5), abs=1.0)
        assert MailPayload.parse(dm.text) in PAYLOADS


@pytest.mark.parametrize("module_mm", [0.5, 0.75])
def test_code_content_is_k100_rectangles_only(module_mm: float) -> None:
    dm = DataMatrix.encode(PAYLOADS[1].text())
    ops = dm.pdf_operators(100, 100, module_mm).decode()
    lines = ops.splitlines()
    assert lines[:2] == ["q", "0 0 0 1 k"] and lines[-2:] == ["f", "Q"]
    assert all(line.endswith(" re") for line in lines[2:-2])
    dark = sum(sum(row) for row in dm.dark)
    area = sum(float(line.split()[2]) * float(line.split()[3]) for line in lines[2:-2])
    assert area == pytest.approx(dark * (module_mm * 72 / 25.4) ** 2, rel=1e-3)


def test_damaged_render_decodes_right_or_not_at_all() -> None:
    payload = PAYLOADS[0].text()
    dm = DataMatrix.encode(payload)
    x_mm = y_mm = 10.0
    clean = _render(_page_with_codes([(dm, x_mm, y_mm)], 0.5))
    px = 200 / 25.4
    module = 0.5 * px
    n = dm.size.modules
    rnd = random.Random(11)
    correct = failed = 0
    for trial in range(40):
        flips = 1 + trial % 20  # from a speck to far beyond what ECC200 can repair
        image = clean.copy()
        for r, c in {(rnd.randrange(1, n - 1), rnd.randrange(1, n - 1)) for _ in range(flips)}:
            x0, y0 = (x_mm * px + c * module), (y_mm * px + r * module)
            box = (round(x0 + 1), round(y0 + 1), round(x0 + module - 1), round(y0 + module - 1))
            value = 255 if dm.dark[r][c] else 0
            image.paste(value, box)
        texts = [b.text for b in zxingcpp.read_barcodes(
            image, formats=DATAMATRIX)]
        assert texts in ([payload], []), f"{flips} flips decoded as {texts}"
        if texts:
            correct += 1
        else:
            failed += 1
        if flips <= 3:
            assert texts == [payload], "ECC200 must repair a few damaged modules"
    assert correct > 0 and failed > 0  # both outcomes were exercised
