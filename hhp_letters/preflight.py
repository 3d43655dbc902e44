"""A print house's preflight, as far as it can be read from the file: what ``verify`` reports.

It checks that a PDF identifies as the PDF/X it claims and keeps that standard's rules that
matter to a press: the output intent, the boxes, embedded fonts, CMYK-only colour for X-1a, no
transparency for X-1a, no encryption. The tests hold a stricter, independent checker
(``tests/pdfx_check.py``); this one is small enough to run on every file of a run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, Object, Stream

X1A, X4 = "PDF/X-1a:2003", "PDF/X-4"
_X1A_SPACES = frozenset({"/DeviceCMYK", "/DeviceGray", "/Separation", "/DeviceN", "/Pattern",
                         "/Indexed"})
_RGB_OPERATORS = frozenset({"rg"})


@dataclass(frozen=True)
class Preflight:
    """What one file says it is, and where it is not."""

    standard: str | None  # "PDF/X-1a:2003", "PDF/X-4" or None (no identification)
    condition: str | None  # the OutputIntent's OutputConditionIdentifier
    failures: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.standard is not None and not self.failures


def preflight(path: Path, *, pages: bool = True) -> Preflight:
    """Read ``path`` and judge it against the PDF/X it claims; ``pages=False`` reads the
    document's identification only (a letter's own file, whose page the bundle holds too).
    Raises OSError when the file cannot be read; a file pikepdf cannot parse is a failure."""
    with path.open("rb") as fh:
        head = fh.read(16)
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PdfError as exc:
        return Preflight(None, None, (f"not a readable PDF ({exc})",))
    with pdf:
        return _judge(pdf, head, pages)


def _judge(pdf: pikepdf.Pdf, head: bytes, pages: bool) -> Preflight:
    failures: list[str] = []
    info = pdf.trailer.get("/Info")
    version = _string(info, "/GTS_PDFXVersion")
    conformance = _string(info, "/GTS_PDFXConformance")
    standard = (X1A if version == "PDF/X-1:2003" and conformance == X1A
                else X4 if version == "PDF/X-4" else None)
    if standard is None:
        failures.append(f"no PDF/X identification (GTS_PDFXVersion {version!r})")
    limit = "1.6" if standard == X4 else "1.4"
    declared = head[5:8].decode("latin-1", "replace")
    if not head.startswith(b"%PDF-") or declared > limit:
        failures.append(f"header says PDF {declared}; {standard or 'PDF/X'} allows {limit}")
    if pdf.is_encrypted:
        failures.append("the file is encrypted")
    if "/ID" not in pdf.trailer:
        failures.append("the trailer has no /ID")
    trapped = info.get("/Trapped") if isinstance(info, Dictionary) else None
    if trapped not in (Name("/True"), Name("/False")):
        failures.append("Info /Trapped is not /True or /False")
    for key in ("/Title", "/CreationDate", "/ModDate"):
        if _string(info, key) is None:
            failures.append(f"Info has no {key[1:]}")
    condition = _intent(pdf, standard, failures)
    if standard == X4 and "/Metadata" not in pdf.Root:
        failures.append("PDF/X-4 needs XMP metadata")
    seen: set[tuple[int, int]] = set()  # shared resources and forms are judged once
    for number, page in enumerate(pdf.pages if pages else (), start=1):
        _page(number, page.obj, standard, failures, seen)
    return Preflight(standard, condition, tuple(dict.fromkeys(failures)))


def _string(info: Object | None, key: str) -> str | None:
    if not isinstance(info, Dictionary) or key not in info:
        return None
    return str(info[key])


def _intent(pdf: pikepdf.Pdf, standard: str | None, failures: list[str]) -> str | None:
    intents = pdf.Root.get("/OutputIntents")
    pdfx = [i for i in intents if i.get("/S") == Name("/GTS_PDFX")] \
        if isinstance(intents, Array) else []
    if len(pdfx) != 1:
        failures.append(f"{len(pdfx)} PDF/X output intents; there must be exactly one")
        return None
    intent = pdfx[0]
    ident = _string(intent, "/OutputConditionIdentifier")
    if not ident:
        failures.append("the output intent names no OutputConditionIdentifier")
    profile = intent.get("/DestOutputProfile")
    if profile is None and (standard == X4 or "/RegistryName" not in intent):
        failures.append("the output intent embeds no ICC profile, which "
                        + ("PDF/X-4" if standard == X4 else "an unregistered condition")
                        + " needs")
    if isinstance(profile, Stream) and int(profile.get("/N", 0)) != 4:
        failures.append("the output intent's ICC profile is not a CMYK profile")
    return ident


def _page(number: int, page: Dictionary, standard: str | None, failures: list[str],
          seen: set[tuple[int, int]]) -> None:
    where = f"page {number}"
    media = _box(page, "/MediaBox")
    trim = _box(page, "/TrimBox") or _box(page, "/ArtBox")
    if media is None:
        failures.append(f"{where}: no MediaBox")
    if trim is None:
        failures.append(f"{where}: no TrimBox or ArtBox")
    elif media is not None and not all(
            (trim[i] >= media[i] - 0.01) if i < 2 else (trim[i] <= media[i] + 0.01)
            for i in range(4)):
        failures.append(f"{where}: the TrimBox reaches outside the MediaBox")
    if "/Annots" in page and any(a.get("/Subtype") not in (Name("/Link"), Name("/PrinterMark"))
                                 for a in page.Annots):
        failures.append(f"{where}: has annotations that would print")
    for resources in _resources(page, seen):
        _fonts(resources, where, failures)
        if standard == X1A:
            _x1a_colour(resources, where, failures)
    if standard == X1A:
        for op in _operators(page, seen):
            if op in _RGB_OPERATORS:
                failures.append(f"{where}: paints in RGB ({op}), which PDF/X-1a does not allow")
                break
            if op == "":
                failures.append(f"{where}: a content stream cannot be read")
                break


def _box(page: Dictionary, key: str) -> list[float] | None:
    node: Object | None = page
    while isinstance(node, Dictionary):
        if key in node:
            return [float(v) for v in node[key]]
        node = node.get("/Parent")
    return None


def _resources(page: Dictionary, seen: set[tuple[int, int]]) -> Iterator[Dictionary]:
    """The page's resources and those of every form it draws, each once."""
    stack = [page.get("/Resources")]
    while stack:
        res = stack.pop()
        if not isinstance(res, Dictionary):
            continue
        if res.is_indirect:
            if res.objgen in seen:
                continue
            seen.add(res.objgen)
        yield res
        xobjects = res.get("/XObject")
        if isinstance(xobjects, Dictionary):
            for _, xobject in xobjects.items():
                if xobject.get("/Subtype") == Name("/Form"):
                    stack.append(xobject.get("/Resources"))


def _fonts(resources: Dictionary, where: str, failures: list[str]) -> None:
    fonts = resources.get("/Font")
    if not isinstance(fonts, Dictionary):
        return
    for name, font in fonts.items():
        target = font
        if font.get("/Subtype") == Name("/Type0"):
            target = font.DescendantFonts[0]
        if font.get("/Subtype") == Name("/Type3"):
            continue
        descriptor = target.get("/FontDescriptor")
        if not isinstance(descriptor, Dictionary) or not any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            failures.append(f"{where}: font {name} is not embedded")


def _space_name(space: Object) -> str:
    return str(space[0]) if isinstance(space, Array) else str(space)


def _x1a_colour(resources: Dictionary, where: str, failures: list[str]) -> None:
    spaces = resources.get("/ColorSpace")
    if isinstance(spaces, Dictionary):
        for name, named in spaces.items():
            if _space_name(named) not in _X1A_SPACES:
                failures.append(f"{where}: colour space {name} is {_space_name(named)}; "
                                "PDF/X-1a allows CMYK, grey and spot colours only")
    xobjects = resources.get("/XObject")
    if isinstance(xobjects, Dictionary):
        for name, xobject in xobjects.items():
            if xobject.get("/Subtype") != Name("/Image"):
                continue
            if "/SMask" in xobject:
                failures.append(f"{where}: image {name} has a soft mask (transparency)")
            space: Object | None = xobject.get("/ColorSpace")
            if space is not None and _space_name(space) not in _X1A_SPACES:
                failures.append(f"{where}: image {name} is {_space_name(space)}")
            elif isinstance(space, Array) and _space_name(space) == "/Indexed" \
                    and _space_name(space[1]) not in _X1A_SPACES:
                failures.append(f"{where}: image {name} is indexed over "
                                f"{_space_name(space[1])}")
    states = resources.get("/ExtGState")
    if isinstance(states, Dictionary):
        for name, state in states.items():
            soft = state.get("/SMask")
            if (soft is not None and soft != Name("/None")) or any(
                    float(state.get(k, 1)) < 1 for k in ("/CA", "/ca")):
                failures.append(f"{where}: graphics state {name} is transparent")


# Content is scanned as text, not parsed: strings, hex strings, inline image data and comments
# are cut out, then an RGB operator is a bare rg/RG token (parsing costs 4 ms a page).
_NOT_OPERATORS = re.compile(
    rb"\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>|\bID\s.*?\sEI\b|%[^\r\n]*", re.DOTALL)
_RGB = re.compile(rb"(?<![^\s\]\)>])(?:rg|RG)(?![^\s\[\(<\/%])")


def _operators(page: Dictionary, seen: set[tuple[int, int]]) -> Iterator[str]:
    """"rg" for each content stream of the page and its forms that paints in RGB, "" for one
    that cannot be read."""
    owners: list[Object] = [*_contents(page)]
    forms: set[tuple[int, int]] = set()
    for resources in _resources(page, forms):
        xobjects = resources.get("/XObject")
        if isinstance(xobjects, Dictionary):
            for _, x in xobjects.items():
                if x.get("/Subtype") == Name("/Form") and x.objgen not in seen:
                    seen.add(x.objgen)
                    owners.append(x)
    for owner in owners:
        try:
            data = owner.read_bytes() if isinstance(owner, Stream) else b""
        except pikepdf.PdfError:
            yield ""
            continue
        if _RGB.search(_NOT_OPERATORS.sub(b" ", data)):
            yield "rg"


def _contents(page: Dictionary) -> list[Object]:
    contents = page.get("/Contents")
    if isinstance(contents, Array):
        return list(contents)
    return [] if contents is None else [contents]
