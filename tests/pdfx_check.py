"""A PDF/X-1a:2003 / PDF/X-4 checker for tests, built on pikepdf.

No free PDF/X validator can be installed here (veraPDF and PDFBox Preflight check PDF/A only;
Acrobat, callas pdfToolbox and PitStop are commercial), so this checks every requirement of
ISO 15930-4 (X-1a:2003) that can be read from the file, and the X-4 (ISO 15930-7) differences.
It cannot judge what needs the standard's full text or a RIP: overprint behaviour, halftone
details, whether the embedded profile really describes the named condition.

``check_pdfx(path)`` returns :class:`Failure` values; an empty list means nothing was found.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, Object, Pdf, Stream

X1A = "PDF/X-1a:2003"
X4 = "PDF/X-4"
_DEVICE = {"/DeviceCMYK", "/DeviceGray"}
_BAD_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/ResetForm", "/SubmitForm", "/Sound",
                "/Movie", "/Rendition", "/GoToE"}


@dataclass(frozen=True)
class Failure:
    rule: str  # short stable name, e.g. "colour-space"
    where: str  # "document", "page 2", "object 14 0"
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} ({self.where}): {self.detail}"


class _Checker:
    def __init__(self, pdf: Pdf, header: str, standard: str) -> None:
        self.pdf = pdf
        self.header = header
        self.x4 = standard == X4
        self.failures: list[Failure] = []
        self._seen: set[tuple[int, int]] = set()

    def fail(self, rule: str, where: str, detail: str) -> None:
        item = Failure(rule, where, detail)
        if item not in self.failures:
            self.failures.append(item)

    # --- document level -------------------------------------------------------------------

    def document(self) -> None:
        pdf, root = self.pdf, self.pdf.Root
        limit = "1.6" if self.x4 else "1.4"
        if not self.header or self.header > limit:
            self.fail("header-version", "document", f"header says PDF {self.header or '?'}, "
                      f"{'X-4' if self.x4 else 'X-1a:2003'} allows at most {limit}")
        if "/Version" in root and str(root.Version).lstrip("/") > limit:
            self.fail("catalog-version", "document", f"catalog /Version {root.Version}")
        if pdf.is_encrypted:
            self.fail("encrypted", "document", "the file is encrypted")
        ids = pdf.trailer.get("/ID")
        if not isinstance(ids, Array) or len(ids) != 2:
            self.fail("trailer-id", "document", "trailer has no /ID pair")
        self.info()
        self.output_intent()
        if "/OCProperties" in root and not self.x4:
            self.fail("optional-content", "document", "optional content (layers) is PDF 1.5")
        if "/AcroForm" in root and len(root.AcroForm.get("/Fields", Array())) > 0:
            self.fail("acroform", "document", "interactive form fields")
        names = root.get("/Names", Dictionary())
        if "/JavaScript" in names:
            self.fail("javascript", "document", "document-level JavaScript")
        if "/EmbeddedFiles" in names:
            self.fail("embedded-file", "document", "embedded files (print-spec P12)")
        if "/AA" in root:
            self.fail("action", "document", "document additional-actions (/AA)")
        if "/OpenAction" in root:
            self.action(root.OpenAction, "document")
        self.xmp()
        for obj in pdf.objects:
            self.any_object(obj)

    def info(self) -> None:
        info = self.pdf.trailer.get("/Info")
        if not isinstance(info, Dictionary):
            self.fail("info", "document", "no Info dictionary")
            return
        if not str(info.get("/Title", "")).strip():
            self.fail("info-title", "document", "Info /Title is missing or empty")
        for key in ("/CreationDate", "/ModDate"):
            if key not in info:
                self.fail("info-dates", "document", f"Info {key} is missing")
        version = str(info.get("/GTS_PDFXVersion", ""))
        want = "PDF/X-4" if self.x4 else "PDF/X-1:2003"
        if not (version.startswith("PDF/X-4") if self.x4 else version == want):
            self.fail("info-version", "document", f"GTS_PDFXVersion is {version!r}, not {want!r}")
        if not self.x4 and str(info.get("/GTS_PDFXConformance", "")) != "PDF/X-1a:2003":
            self.fail("info-conformance", "document",
                      f"GTS_PDFXConformance is {str(info.get('/GTS_PDFXConformance', ''))!r}")
        if str(info.get("/Trapped", "")) not in ("/True", "/False"):
            self.fail("info-trapped", "document",
                      f"Trapped is {info.get('/Trapped')!s}, must be /True or /False")

    def output_intent(self) -> None:
        intents = self.pdf.Root.get("/OutputIntents", Array())
        pdfx = [oi for oi in intents if str(oi.get("/S", "")) == "/GTS_PDFX"]
        if len(pdfx) != 1:
            self.fail("output-intent", "document",
                      f"{len(pdfx)} GTS_PDFX output intents (exactly one is required)")
            return
        oi = pdfx[0]
        ident = str(oi.get("/OutputConditionIdentifier", "")).strip()
        if not ident:
            self.fail("output-intent", "document", "OutputConditionIdentifier is missing")
        profile = oi.get("/DestOutputProfile")
        if profile is None:
            if self.x4:
                self.fail("output-intent-profile", "document",
                          "PDF/X-4 needs an embedded DestOutputProfile")
            elif not str(oi.get("/RegistryName", "")).strip():
                self.fail("output-intent-profile", "document",
                          f"{ident!r} is not a registered condition (no RegistryName), so a "
                          "DestOutputProfile is required")
            return
        if not isinstance(profile, Stream):
            self.fail("output-intent-profile", "document", "DestOutputProfile is not a stream")
            return
        data = profile.read_bytes()
        if len(data) < 132 or data[36:40] != b"acsp":
            self.fail("output-intent-profile", "document", "DestOutputProfile is not ICC data")
            return
        dev_class, space = data[12:16].decode("latin-1"), data[16:20].decode("latin-1")
        if dev_class != "prtr" or space not in ("CMYK", "GRAY"):
            self.fail("output-intent-profile", "document",
                      f"profile is class {dev_class!r}, space {space!r}: need a CMYK or gray "
                      "output profile")
        n = {"CMYK": 4, "GRAY": 1}.get(space)
        if n is not None and int(profile.get("/N", 0)) != n:
            self.fail("output-intent-profile", "document",
                      f"/N {profile.get('/N')} does not match the profile's {space}")
        if struct.unpack(">I", data[:4])[0] != len(data):
            self.fail("output-intent-profile", "document", "ICC profile size field is wrong")

    def xmp(self) -> None:
        if "/Metadata" not in self.pdf.Root:
            if self.x4:
                self.fail("xmp", "document", "PDF/X-4 needs an XMP metadata stream")
            return
        meta = self.pdf.Root.Metadata
        xml = meta.read_bytes().decode("utf-8", "replace")
        info = self.pdf.trailer.get("/Info", Dictionary())

        def field(tag: str) -> str | None:
            m = re.search(rf"<{tag}>([^<]*)</{tag}>", xml) or re.search(rf'{tag}="([^"]*)"', xml)
            return m.group(1) if m else None

        version = field("pdfxid:GTS_PDFXVersion") if self.x4 else (
            field("pdfx:GTS_PDFXVersion") or field("pdfxid:GTS_PDFXVersion"))
        if self.x4 and version != str(info.get("/GTS_PDFXVersion", "")):
            self.fail("xmp", "document", f"pdfxid:GTS_PDFXVersion is {version!r}, Info says "
                      f"{str(info.get('/GTS_PDFXVersion', ''))!r}")
        trapped = field("pdf:Trapped")
        info_trapped = str(info.get("/Trapped", "")).lstrip("/")
        if trapped is not None and trapped != info_trapped:
            self.fail("xmp", "document", f"pdf:Trapped {trapped!r} but Info /Trapped "
                      f"{info_trapped!r}")
        if self.x4:
            for tag in ("xmpMM:DocumentID", "xmpMM:VersionID", "xmpMM:RenditionClass",
                        "pdf:Trapped", "xmp:CreateDate", "xmp:ModifyDate"):
                if field(tag) is None:
                    self.fail("xmp", "document", f"{tag} is missing")
        for tag, key in (("xmp:CreateDate", "/CreationDate"), ("xmp:ModifyDate", "/ModDate")):
            value = field(tag)
            if value is not None and key in info and value != _xmp_date(str(info[key])):
                self.fail("xmp", "document", f"{tag} {value} differs from Info {key} "
                          f"{info[key]!s}")
        title = re.search(r"<dc:title>.*?<rdf:li[^>]*>([^<]*)</rdf:li>", xml, re.S)
        if title and "/Title" in info and _unescape(title.group(1)) != str(info.Title):
            self.fail("xmp", "document", "dc:title differs from Info /Title")

    def action(self, action: Object, where: str) -> None:
        if isinstance(action, Dictionary) and str(action.get("/S", "")) in _BAD_ACTIONS:
            self.fail("action", where, f"{action.S} action")

    def any_object(self, obj: Object) -> None:
        """Rules that hold for every object in the file, reachable or not."""
        if isinstance(obj, Stream):
            where = _where(obj)
            for key in ("/F", "/FFilter", "/FDecodeParms"):
                if key in obj:
                    self.fail("external-stream", where, f"stream refers to an external file "
                              f"({key})")
            filters = obj.get("/Filter")
            names = [str(f) for f in (filters if isinstance(filters, Array) else [filters])
                     if f is not None]
            for bad in ("/JPXDecode", "/Crypt") if not self.x4 else ("/Crypt",):
                if bad in names:
                    self.fail("filter", where, f"{bad} is not allowed")
        if isinstance(obj, (Dictionary, Stream)):
            if "/JS" in obj or str(obj.get("/S", "")) == "/JavaScript":
                self.fail("javascript", _where(obj), "JavaScript")
            if "/OPI" in obj:
                self.fail("opi", _where(obj), "OPI proxy")
            subtype = str(obj.get("/Subtype", ""))
            if str(obj.get("/Type", "")) == "/XObject" or isinstance(obj, Stream):
                if subtype == "/PS" or str(obj.get("/Subtype2", "")) == "/PS":
                    self.fail("postscript", _where(obj), "PostScript XObject")
                if subtype == "/Image" and "/Alternates" in obj:
                    self.fail("alternate-image", _where(obj), "image has /Alternates")

    # --- pages ----------------------------------------------------------------------------

    def pages(self) -> None:
        for number, page in enumerate(self.pdf.pages, start=1):
            where = f"page {number}"
            self.boxes(page.obj, where)
            if "/AA" in page.obj:
                self.fail("action", where, "page additional-actions (/AA)")
            group = page.obj.get("/Group")
            if not self.x4 and isinstance(group, Dictionary) and str(group.get("/S")) == \
                    "/Transparency":
                self.fail("transparency", where, "page transparency group")
            self.annotations(page.obj, where)
            self.content(page.obj, _inherited(page.obj, "/Resources") or Dictionary(), where)

    def boxes(self, page: Dictionary, where: str) -> None:
        media = _box(page, "/MediaBox")
        trim, art = _box(page, "/TrimBox"), _box(page, "/ArtBox")
        bleed, crop = _box(page, "/BleedBox"), _box(page, "/CropBox")
        if media is None:
            self.fail("box", where, "no MediaBox")
            return
        if trim is None and art is None:
            self.fail("trim-box", where, "neither TrimBox nor ArtBox")
        if trim is not None and art is not None:
            self.fail("trim-box", where, "both TrimBox and ArtBox (PDF/X allows one)")
        for name, box in (("TrimBox", trim), ("ArtBox", art), ("BleedBox", bleed),
                          ("CropBox", crop)):
            if box is not None and not _inside(box, media):
                self.fail("box-nesting", where, f"{name} {box} is not inside MediaBox {media}")
        for name, box in (("TrimBox", trim), ("ArtBox", art)):
            for outer_name, outer in (("BleedBox", bleed), ("CropBox", crop)):
                if box is not None and outer is not None and not _inside(box, outer):
                    self.fail("box-nesting", where, f"{name} is not inside {outer_name}")

    def annotations(self, page: Dictionary, where: str) -> None:
        area = _box(page, "/BleedBox") or _box(page, "/TrimBox") or _box(page, "/ArtBox") or \
            _box(page, "/MediaBox")
        for annot in page.get("/Annots", Array()):
            subtype = str(annot.get("/Subtype", ""))
            rect = [float(v) for v in annot.get("/Rect", Array([0, 0, 0, 0]))]
            if "/A" in annot:
                self.action(annot.A, where)
            if "/AA" in annot:
                self.fail("action", where, f"{subtype} annotation with /AA")
            if subtype == "/TrapNet":
                continue
            if area is not None and _overlaps(rect, area):
                self.fail("annotation-in-trim", where, f"{subtype} annotation at {rect} is "
                          "inside the trim/bleed area")
            ap = annot.get("/AP", Dictionary())
            for appearance in (ap.get("/N"), ap.get("/R"), ap.get("/D")):
                if isinstance(appearance, Stream):
                    self.content(appearance, appearance.get("/Resources", Dictionary()),
                                 f"{where} annotation")

    # --- content and resources ------------------------------------------------------------

    def content(self, holder: Object, resources: Object, where: str) -> None:
        """Walk one content stream (page, form, pattern, glyph) and the resources it uses."""
        key = holder.objgen
        if key != (0, 0):
            if key in self._seen:
                return
            self._seen.add(key)
        res = resources if isinstance(resources, Dictionary) else Dictionary()
        self.resources(res, where)
        try:
            instructions = pikepdf.parse_content_stream(holder)
        except pikepdf.PdfError as exc:
            self.fail("content", where, f"content stream does not parse: {exc}")
            return
        for inst in instructions:
            op = str(inst.operator)
            if isinstance(inst, pikepdf.ContentStreamInlineImage):
                self.image_dict(inst.iimage.obj, res, f"{where} inline image")
            elif op in ("rg", "RG"):
                self.fail("colour-space", where, f"DeviceRGB colour ({op})")
            elif op in ("cs", "CS"):
                self.colour_space(inst.operands[0], res, where)
            elif op == "PS":
                self.fail("postscript", where, "PS operator")

    def resources(self, res: Dictionary, where: str) -> None:
        for cs in res.get("/ColorSpace", Dictionary()).values():
            self.colour_space(cs, res, where)
        for gs in res.get("/ExtGState", Dictionary()).values():
            self.ext_gstate(gs, where)
        for shading in res.get("/Shading", Dictionary()).values():
            self.colour_space(shading.get("/ColorSpace", Name.DeviceGray), res, where)
        for pattern in res.get("/Pattern", Dictionary()).values():
            if "/Shading" in pattern:
                self.colour_space(pattern.Shading.get("/ColorSpace", Name.DeviceGray), res,
                                  where)
            if "/ExtGState" in pattern:
                self.ext_gstate(pattern.ExtGState, where)
            if isinstance(pattern, Stream):
                self.content(pattern, pattern.get("/Resources", Dictionary()),
                             f"{where} pattern")
        for xobj in res.get("/XObject", Dictionary()).values():
            subtype = str(xobj.get("/Subtype", ""))
            if subtype == "/Image":
                self.image_dict(xobj, res, f"{where} image {_where(xobj)}")
            elif subtype == "/Form":
                group = xobj.get("/Group")
                if not self.x4 and isinstance(group, Dictionary) and \
                        str(group.get("/S")) == "/Transparency":
                    self.fail("transparency", where, "form XObject transparency group")
                if isinstance(group, Dictionary) and "/CS" in group:
                    self.colour_space(group.CS, res, where)
                self.content(xobj, xobj.get("/Resources", res), f"{where} form {_where(xobj)}")
        for font in res.get("/Font", Dictionary()).values():
            self.font(font, where)

    def image_dict(self, image: Object, res: Dictionary, where: str) -> None:
        if not isinstance(image, (Dictionary, Stream)):
            return
        if not self.x4:
            if "/SMask" in image:
                self.fail("transparency", where, "image soft mask (/SMask)")
            if int(image.get("/SMaskInData", 0)) != 0:
                self.fail("transparency", where, "/SMaskInData")
        if bool(image.get("/ImageMask", False)):
            return
        cs = image.get("/ColorSpace")
        if cs is None:
            if "/JPXDecode" not in str(image.get("/Filter", "")):
                self.fail("colour-space", where, "image without /ColorSpace")
            return
        self.colour_space(cs, res, where)

    def colour_space(self, cs: Object, res: Dictionary, where: str) -> None:
        for problem in self._colour_space_problems(cs, res, depth=0):
            self.fail("colour-space", where, problem)

    def _colour_space_problems(self, cs: Object, res: Dictionary, depth: int) -> Iterator[str]:
        if depth > 8:
            return
        if isinstance(cs, Name):
            name = str(cs)
            if name in ("/DeviceRGB", "/RGB"):
                yield "DeviceRGB"
            elif name in _DEVICE | {"/CMYK", "/G", "/Pattern", "/I", "/Indexed"}:
                return
            else:
                named = res.get("/ColorSpace", Dictionary()).get(name)
                if named is None:
                    yield f"colour space {name} is not defined"
                else:
                    yield from self._colour_space_problems(named, res, depth + 1)
            return
        if not isinstance(cs, Array) or len(cs) == 0:
            yield f"malformed colour space {cs!r}"
            return
        family = str(cs[0])
        if family in ("/ICCBased", "/CalRGB", "/CalGray", "/Lab", "/CalCMYK"):
            if not self.x4:
                yield f"{family.lstrip('/')} colour space (X-1a allows CMYK, gray and spot only)"
        elif family in ("/Separation", "/DeviceN"):
            alternate = cs[2]
            if not self.x4 and not (isinstance(alternate, Name) and str(alternate) in _DEVICE):
                yield f"{family.lstrip('/')} with alternate space {_short(alternate)}"
            else:
                yield from self._colour_space_problems(alternate, res, depth + 1)
        elif family in ("/Indexed", "/I") or (family == "/Pattern" and len(cs) > 1):
            yield from self._colour_space_problems(cs[1], res, depth + 1)
        elif family in _DEVICE:
            return
        elif family == "/DeviceRGB":
            yield "DeviceRGB"
        else:
            yield f"unknown colour space family {family}"

    def ext_gstate(self, gs: Object, where: str) -> None:
        if not isinstance(gs, Dictionary):
            self.fail("ext-gstate", where, "ExtGState is not a dictionary")
            return
        if not self.x4:
            smask = gs.get("/SMask")
            if smask is not None and str(smask) != "/None":
                self.fail("transparency", where, "soft mask in ExtGState")
            for key in ("/CA", "/ca"):
                if key in gs and Decimal(str(gs[key])) != 1:
                    self.fail("transparency", where, f"{key} {gs[key]} (constant alpha < 1)")
            bm = gs.get("/BM")
            modes = [str(b) for b in (bm if isinstance(bm, Array) else [bm]) if b is not None]
            if modes and modes[0] not in ("/Normal", "/Compatible"):
                self.fail("transparency", where, f"blend mode {modes[0]}")
        if "/TR" in gs:
            self.fail("transfer-function", where, "ExtGState /TR (transfer function)")
        if "/TR2" in gs and str(gs.TR2) != "/Default":
            self.fail("transfer-function", where, "ExtGState /TR2 other than /Default")

    def font(self, font: Object, where: str) -> None:
        if not isinstance(font, Dictionary):
            self.fail("font-not-embedded", where, "font resource is not a dictionary")
            return
        key = font.objgen
        if key != (0, 0) and key in self._seen:
            return
        if key != (0, 0):
            self._seen.add(key)
        subtype = str(font.get("/Subtype", ""))
        name = str(font.get("/BaseFont", subtype))
        if subtype == "/Type3":
            res = font.get("/Resources", Dictionary())
            for proc in font.get("/CharProcs", Dictionary()).values():
                self.content(proc, res, f"{where} Type 3 font {name}")
            return
        target = font.DescendantFonts[0] if subtype == "/Type0" else font
        descriptor = target.get("/FontDescriptor")
        if not isinstance(descriptor, Dictionary) or not any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            self.fail("font-not-embedded", where, f"font {name} is not embedded")


def _where(obj: Object) -> str:
    num, gen = obj.objgen
    return f"object {num} {gen}" if num else "direct object"


def _short(obj: Object) -> str:
    if isinstance(obj, Array) and len(obj) > 0:
        return str(obj[0])
    return str(obj)


def _inherited(page: Dictionary, key: str) -> Object | None:
    """A page attribute, looked up the page tree as PDF's inheritance rules say."""
    node: Object | None = page
    for _ in range(64):  # a page tree deeper than this is broken anyway
        if not isinstance(node, Dictionary):
            return None
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _box(page: Dictionary, key: str) -> list[float] | None:
    value = _inherited(page, key) if key in ("/MediaBox", "/CropBox") else page.get(key)
    if not isinstance(value, Array) or len(value) != 4:
        return None
    x0, y0, x1, y1 = (float(v) for v in value)
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]


def _inside(inner: list[float], outer: list[float], tol: float = 0.01) -> bool:
    return (inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol
            and inner[2] <= outer[2] + tol and inner[3] <= outer[3] + tol)


def _overlaps(rect: list[float], area: list[float]) -> bool:
    x0, x1 = sorted(rect[0::2])
    y0, y1 = sorted(rect[1::2])
    return x0 < area[2] and x1 > area[0] and y0 < area[3] and y1 > area[1]


def _xmp_date(pdf_date: str) -> str:
    m = re.fullmatch(r"D:(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(Z|[+-]\d{2}'\d{2}'?)?",
                     pdf_date)
    if m is None:
        return pdf_date
    y, mo, d, h, mi, s, tz = m.groups()
    zone = "Z" if tz in (None, "Z") else tz[:3] + ":" + tz[4:6]
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}{zone}"


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace(
        "&apos;", "'").replace("&amp;", "&")


def check_pdfx(source: Path | bytes, standard: str = X1A) -> list[Failure]:
    """Every PDF/X problem found in ``source`` (a path or the file's bytes)."""
    data = source.read_bytes() if isinstance(source, Path) else source
    m = re.match(rb"%PDF-(\d\.\d)", data)
    header = m.group(1).decode("ascii") if m else ""
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        return [Failure("encrypted", "document", "the file needs a password")]
    with pdf:
        checker = _Checker(pdf, header, standard)
        checker.document()
        checker.pages()
        return checker.failures
