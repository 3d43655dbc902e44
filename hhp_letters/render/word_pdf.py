"""LibreOffice's PDFs of Word letters, made print-ready by our own post-processing (pikepdf).

What headless LibreOffice 7.4 writes for a .docx letter, and what a print house needs instead:

=============================  =============================  ==================================
LibreOffice writes             print house needs              done here
=============================  =============================  ==================================
``0 0 0 rg`` (RGB) text        K100 black, CMYK or Gray only  every colour operator → ``k``/``K``
RGB JPEG/PNG, PNG alpha SMask  CMYK/Gray, no transparency     decode, flatten on white, Flate
``/ca 0.5`` + transparency     no transparency                colours scaled onto white paper
group forms, RGB shadings                                     shading functions resampled CMYK
no TrimBox, PDF 1.6            TrimBox, PDF 1.4 (PDF/X-1a)    TrimBox = MediaBox, 1.4 header
/CreationDate = clock, /ID     byte-identical reruns          /Info from the caller, ID from bytes
``BAAAAA+Carlito`` per letter  unique subset names, shared    tags from a hash of the program,
                               fonts and logos in a bundle    identical objects stored once
=============================  =============================  ==================================

Colour: RGB becomes CMYK by :func:`gcr_rgb_to_cmyk` (full grey-component replacement) unless
the caller passes another ``rgb_to_cmyk`` (an ICC transform later). Whatever the converter,
neutral colours (r == g == b) are K only, so black text is ``0 0 0 1 k``, never rich black.

Transparency is flattened as if over white paper: an object drawn at alpha *a* gets its ink
scaled by *a* (``c m y k`` → ``a·c a·m a·y a·k``), images are composited onto white. That is
exact for a transparency group or a single object on blank paper (how Word shapes and logos sit
on a letter) and approximate where translucent objects overlap other marks.
"""

from __future__ import annotations

import copy
import ctypes
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, cast

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pikepdf import (
    Array,
    ContentStreamInlineImage,
    ContentStreamInstruction,
    Dictionary,
    Name,
    Operator,
    Pdf,
    PdfImage,
    Stream,
)
from PIL import Image, ImageChops, ImageMath

from hhp_letters.errors import RenderError
from hhp_letters.render import pdfx as pdfx_ids
from hhp_letters.render.pdf import Pdfx

# What decoding a damaged or exotic image can raise: bad input, never our bug.
_UNDECODABLE: tuple[type[Exception], ...] = (
    pikepdf.PdfError, pikepdf.UnsupportedImageTypeError, pikepdf.InvalidPdfImageError,
    pikepdf.models.image.ImageDecompressionError, pikepdf.DataDecodingError,
    NotImplementedError, ValueError, OSError)

RgbToCmyk = Callable[[float, float, float], tuple[float, float, float, float]]
"""An RGB → CMYK converter on 0..1 values (a formula now, an ICC transform later)."""
ImageToCmyk = Callable[[Image.Image], Image.Image]
"""An ``RGB`` Pillow image → a ``CMYK`` image of the same size."""

MM_PER_PT: Final = 25.4 / 72
_DATE = re.compile(r"D:\d{14}Z")
_SUBSET_TAG = re.compile(r"[A-Z]{6}\+")
_TREE_TYPES = frozenset({"/Page", "/Pages", "/Catalog"})
_NUMBER = rb"[+-]?(?:\d+\.?\d*|\.\d+)"
_REGULAR = rb"[^\x00\t\n\x0c\r \[\]()<>{}/%]"  # a character that is not space or delimiter
# A content-stream scan: strings, hex strings and comments are skipped; device colour
# operators, and the names of Do/Tf, are found; anything needing the full parser bails out.
_STRING = rb"\((?:[^()\\]|\\.|\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\))*\)"
_FAST = re.compile(
    rb"(?P<skip>\[(?:[^\[\]()]|" + _STRING + rb")*\]|" + _STRING
    + rb"|<[0-9A-Fa-f\x00\t\n\x0c\r ]*>|%[^\r\n]*)"
    rb"|(?P<paren>[()])"
    rb"|(?<!" + _REGULAR + rb")(?P<colour>(?:" + _NUMBER + rb"[\x00\t\n\x0c\r ]+){1,4})"
    rb"(?P<cop>rg|RG|g|G|k|K)(?!" + _REGULAR + rb")"
    rb"|(?P<name>/" + _REGULAR + rb"+)[\x00\t\n\x0c\r ]+(?:" + _NUMBER
    + rb"[\x00\t\n\x0c\r ]+)?(?P<rop>Do|Tf)(?!" + _REGULAR + rb")"
    rb"|(?<!" + _REGULAR + rb")(?P<bail>cs|CS|scn?|SCN?|gs|sh|BI|ID|EI|d0|d1|BDC|BMC|DP|MP)"
    rb"(?!" + _REGULAR + rb")",
    re.S)
_FIX_TEMPLATE = "change the Word template (see the message) and convert it again"
_SHADING_SAMPLES: Final = 256
_KEEP_PAGE_KEYS = frozenset({"/Type", "/Parent", "/MediaBox", "/Contents", "/Resources"})
_INHERITABLE = ("/MediaBox", "/CropBox", "/Resources", "/Rotate")
# ExtGState entries that PDF/X forbids or that we replace by flattening.
_DROP_EGS_KEYS = frozenset({"/CA", "/ca", "/BM", "/SMask", "/AIS", "/TK", "/TR", "/TR2",
                            "/HT", "/HTP", "/Type"})
_PRINT_SPACES = frozenset({"DeviceCMYK", "DeviceGray"})


@dataclass(frozen=True)
class PdfInfo:
    """The document information dictionary of a print file. ``date`` is a PDF date in UTC,
    e.g. ``D:20191001000000Z`` (the campaign's letter date, never the clock)."""

    title: str
    author: str
    subject: str
    creator: str
    keywords: str
    date: str
    producer: str = "hhp-letters"

    def __post_init__(self) -> None:
        if not _DATE.fullmatch(self.date):
            raise ValueError(f"PdfInfo.date must look like D:YYYYMMDDhhmmssZ, not {self.date!r}")


@dataclass(frozen=True)
class TextBox:
    """A word or line of text: the box of its ink and its baseline, in millimetres from the
    sheet's top-left corner (y grows downwards); ``size`` is the font size in points."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    baseline: float
    size: float


@dataclass(frozen=True)
class FontFact:
    name: str
    type: str  # e.g. "TrueType", "Type0/CIDFontType2", "Type1C"
    embedded: bool
    subset: bool


@dataclass(frozen=True)
class PageFact:
    number: int  # 1-based
    width_mm: float
    height_mm: float
    has_trimbox: bool
    trim_equals_media: bool
    rotate: int


@dataclass(frozen=True)
class ColourReport:
    """Measured facts about a PDF for the job ticket (nothing here is assumed)."""

    version: str
    object_streams: bool
    xref_stream: bool
    content_spaces: frozenset[str]  # colour spaces set by content streams
    image_spaces: frozenset[str]  # colour spaces of image XObjects and inline images
    shading_spaces: frozenset[str]
    transparency: tuple[str, ...]  # what transparency was found, where
    fonts: tuple[FontFact, ...]
    pages: tuple[PageFact, ...]

    @property
    def colour_spaces(self) -> frozenset[str]:
        return self.content_spaces | self.image_spaces | self.shading_spaces

    @property
    def rgb_remaining(self) -> bool:
        """Any RGB space: DeviceRGB, CalRGB, ICCBased(RGB), Indexed(…RGB…), Pattern(…RGB…)."""
        return any("RGB" in s for s in self.colour_spaces)

    @property
    def device_cmyk_gray_only(self) -> bool:
        return self.colour_spaces <= _PRINT_SPACES

    @property
    def all_pages_trimmed(self) -> bool:
        return all(p.has_trimbox for p in self.pages)

    def lines(self) -> list[str]:
        """The facts as job-ticket lines."""
        sizes = sorted({f"{p.width_mm:.1f} × {p.height_mm:.1f} mm" for p in self.pages})
        fonts = ", ".join(f"{f.name} ({f.type}, {'embedded' if f.embedded else 'NOT embedded'})"
                          for f in self.fonts) or "none"
        return [
            f"PDF version {self.version}; object streams: {'yes' if self.object_streams else 'no'}"
            f"; xref stream: {'yes' if self.xref_stream else 'no'}",
            f"pages: {len(self.pages)}; sizes: {'; '.join(sizes) or 'none'}; TrimBox on "
            f"{sum(p.has_trimbox for p in self.pages)} of {len(self.pages)}",
            "colour spaces: " + (", ".join(sorted(self.colour_spaces)) or "none")
            + ("; RGB REMAINS" if self.rgb_remaining else "; no RGB"),
            "transparency: " + ("; ".join(self.transparency) or "none"),
            f"fonts ({len(self.fonts)}): {fonts}",
        ]


# --------------------------------------------------------------------------------------------
# Colour conversion


def gcr_rgb_to_cmyk(r: float, g: float, b: float) -> tuple[float, float, float, float]:
    """Device RGB → CMYK with full black generation (maximum grey-component replacement):
    ``K = 1 − max(R, G, B)`` and ``C = (1 − R − K) / (1 − K)`` (M, Y likewise).

    At least one of C, M, Y is 0, so total ink ≤ 300 %; neutrals (R = G = B) are K only.
    Not colour-managed: a later ICC-based converter can replace it."""
    m = max(r, g, b)
    if m <= 0.0:
        return (0.0, 0.0, 0.0, 1.0)
    return ((m - r) / m, (m - g) / m, (m - b) / m, 1.0 - m)


def gcr_image_to_cmyk(image: Image.Image) -> Image.Image:
    """:func:`gcr_rgb_to_cmyk` on every pixel of an ``RGB`` image, in Pillow's C code
    (integer arithmetic, rounded; within 1/255 of the float formula)."""
    r, g, b = image.split()
    m = ImageChops.lighter(ImageChops.lighter(r, g), b)

    def ink(channel: Image.Image) -> Image.Image:
        # ImageMath divides integers with truncation and gives 0 for x/0 (m = 0 is black).
        out = ImageMath.lambda_eval(
            lambda e: ((e["m"] - e["x"]) * 255 + e["m"] / 2) / e["m"], m=m, x=channel)
        return cast(Image.Image, out).convert("L")  # image operands give an image

    return Image.merge("CMYK", (ink(r), ink(g), ink(b), ImageChops.invert(m)))


def _image_by_colours(rgb_to_cmyk: RgbToCmyk) -> ImageToCmyk:
    """An image converter that calls ``rgb_to_cmyk`` once per distinct colour (exact, slower:
    for converters without an image path of their own)."""

    def convert(image: Image.Image) -> Image.Image:
        raw = image.tobytes()
        table: dict[bytes, bytes] = {}
        for _count, colour in image.getcolors(image.width * image.height) or []:
            rgb = cast(tuple[int, int, int], colour)  # an RGB image's colours are triples
            cmyk = _device_cmyk(rgb_to_cmyk, rgb[0] / 255, rgb[1] / 255, rgb[2] / 255)
            table[bytes(rgb)] = bytes(round(v * 255) for v in cmyk)
        out = b"".join(table[raw[i:i + 3]] for i in range(0, len(raw), 3))
        return Image.frombytes("CMYK", image.size, out)

    return convert


def _clamp(v: float) -> float:
    return 0.0 if v < 0.0 else 1.0 if v > 1.0 else v


def _device_cmyk(rgb_to_cmyk: RgbToCmyk, r: float, g: float,
                 b: float) -> tuple[float, float, float, float]:
    r, g, b = _clamp(r), _clamp(g), _clamp(b)
    if abs(r - g) < 1e-6 and abs(g - b) < 1e-6:  # neutral: K only, whatever the converter says
        return (0.0, 0.0, 0.0, 1.0 - r)
    c, m, y, k = rgb_to_cmyk(r, g, b)
    return (_clamp(c), _clamp(m), _clamp(y), _clamp(k))


def _num(v: float) -> int | Decimal:
    """A colour component as a short, deterministic PDF number."""
    v = round(v, 4)
    if v == int(v):
        return int(v)
    return Decimal(f"{v:.4f}".rstrip("0"))


# --------------------------------------------------------------------------------------------
# Colour spaces


@dataclass(frozen=True)
class _Space:
    kind: str  # gray rgb cmyk indexed pattern spot
    label: str  # for the report
    n: int  # number of colour components taken by sc/scn (pattern: of the base)
    base: _Space | None = None
    lookup: tuple[tuple[float, ...], ...] = ()
    obj: Any = None  # spot: the original (allowed) colour space object


_GRAY = _Space("gray", "DeviceGray", 1)
_RGB = _Space("rgb", "DeviceRGB", 3)
_CMYK = _Space("cmyk", "DeviceCMYK", 4)
_DEVICE = {"/DeviceGray": _GRAY, "/G": _GRAY, "/DeviceRGB": _RGB, "/RGB": _RGB,
           "/DeviceCMYK": _CMYK, "/CMYK": _CMYK}
_BY_COUNT = {1: _GRAY, 3: _RGB, 4: _CMYK}


def _unsupported(what: str) -> RenderError:
    return RenderError(f"the PDF from LibreOffice uses {what}, which hhp-letters cannot make "
                       "print-ready (CMYK) yet", hint=_FIX_TEMPLATE)


def _classify(cs: Any, resources: Any, *, strict: bool = True) -> _Space:
    """What a colour space is, from its name or array (resolving resource names)."""
    if isinstance(cs, Name):
        key = str(cs)
        if key in _DEVICE:
            return _DEVICE[key]
        if key == "/Pattern":
            return _Space("pattern", "Pattern", 0)
        named = resources.get("/ColorSpace", Dictionary()).get(key) if resources is not None \
            else None
        if named is None:
            if strict:
                raise _unsupported(f"an undefined colour space {key}")
            return _Space("unknown", f"undefined {key}", 0)
        return _classify(named, resources, strict=strict)
    if not isinstance(cs, Array) or len(cs) == 0:
        if strict:
            raise _unsupported(f"a malformed colour space {cs!r}")
        return _Space("unknown", "malformed", 0)
    family = str(cs[0])
    if len(cs) == 1:
        return _classify(cs[0], resources, strict=strict)
    if family == "/ICCBased":
        n = int(cs[1].get("/N", 3))
        icc = {1: _Space("gray", "ICCBased(Gray)", 1), 3: _Space("rgb", "ICCBased(RGB)", 3),
               4: _Space("cmyk", "ICCBased(CMYK)", 4)}.get(n)
        if icc is None:
            if strict:
                raise _unsupported(f"an ICC colour space with {n} components")
            return _Space("unknown", f"ICCBased(N={n})", n)
        return icc
    if family == "/CalRGB":
        return _Space("rgb", "CalRGB", 3)
    if family == "/CalGray":
        return _Space("gray", "CalGray", 1)
    if family in ("/Indexed", "/I"):
        base = _classify(cs[1], resources, strict=strict)
        hival = int(cs[2])
        table = cs[3]
        data = table.read_bytes() if isinstance(table, Stream) else bytes(table)
        lookup = tuple(tuple(data[i * base.n + j] / 255 for j in range(base.n))
                       for i in range(hival + 1) if (i + 1) * base.n <= len(data))
        return _Space("indexed", f"Indexed({base.label})", 1, base, lookup)
    if family == "/Pattern":
        base = _classify(cs[1], resources, strict=strict)
        return _Space("pattern", f"Pattern({base.label})", base.n, base)
    if family in ("/Separation", "/DeviceN"):
        alternate = _classify(cs[2], resources, strict=strict)
        n = 1 if family == "/Separation" else len(cs[1])
        label = f"{family[1:]}({alternate.label})"
        if alternate.kind in ("gray", "cmyk") or not strict:
            return _Space("spot", label, n, alternate, obj=cs)
        raise _unsupported(f"a spot colour with an {alternate.label} alternate ({label})")
    if strict:
        raise _unsupported(f"the colour space {family[1:]}")
    return _Space("unknown", family[1:], 0)


# --------------------------------------------------------------------------------------------
# PDF functions (for shadings)


def _eval_function(fn: Any, x: float) -> list[float]:
    """Evaluate a one-input PDF function (types 0, 2, 3, or an array of them)."""
    if isinstance(fn, Array):
        return [v for f in fn for v in _eval_function(f, x)]
    ftype = int(fn.FunctionType)
    domain = [float(v) for v in fn.Domain]
    x = min(max(x, domain[0]), domain[1])
    if ftype == 2:
        c0 = [float(v) for v in fn.get("/C0", [0])]
        c1 = [float(v) for v in fn.get("/C1", [1])]
        exponent = float(fn.N)
        t = x ** exponent if x > 0 or exponent == int(exponent) else 0.0
        return [a + t * (b - a) for a, b in zip(c0, c1, strict=True)]
    if ftype == 3:
        bounds = [float(v) for v in fn.Bounds]
        encode = [float(v) for v in fn.Encode]
        edges = [domain[0], *bounds, domain[1]]
        i = len(bounds)
        for j, bound in enumerate(bounds):
            if x < bound:
                i = j
                break
        lo, hi = edges[i], edges[i + 1]
        e0, e1 = encode[2 * i], encode[2 * i + 1]
        t = e0 if hi == lo else e0 + (x - lo) * (e1 - e0) / (hi - lo)
        return _eval_function(fn.Functions[i], t)
    if ftype == 0:
        if len(fn.Size) != 1:
            raise _unsupported("a sampled shading function with several inputs")
        size = int(fn.Size[0])
        bps = int(fn.BitsPerSample)
        rng = [float(v) for v in fn.Range]
        n_out = len(rng) // 2
        encode = [float(v) for v in fn.get("/Encode", [0, size - 1])]
        decode = [float(v) for v in fn.get("/Decode", rng)]
        e = encode[0] + (x - domain[0]) * (encode[1] - encode[0]) / (domain[1] - domain[0])
        e = min(max(e, 0.0), size - 1.0)
        i0 = int(e)
        i1 = min(i0 + 1, size - 1)
        frac = e - i0
        data = fn.read_bytes()
        top = (1 << bps) - 1

        def sample(i: int, j: int) -> float:
            bit = (i * n_out + j) * bps
            if bps == 8:
                return float(data[bit // 8]) / top
            if bps == 16:
                return int.from_bytes(data[bit // 8:bit // 8 + 2], "big") / top
            word = int.from_bytes(data[bit // 8:bit // 8 + 4].ljust(4, b"\0"), "big")
            return ((word >> (32 - bps - bit % 8)) & top) / top

        out = []
        for j in range(n_out):
            v = sample(i0, j) + frac * (sample(i1, j) - sample(i0, j))  # linear, also Order 3
            v = decode[2 * j] + v * (decode[2 * j + 1] - decode[2 * j])
            out.append(min(max(v, rng[2 * j]), rng[2 * j + 1]))
        return out
    raise _unsupported(f"a type {ftype} (PostScript) shading function")


# --------------------------------------------------------------------------------------------
# The converter: one per call, holding what was already converted (shared objects convert once)


_Colour = tuple[Any, ...]  # ("cmyk", c, m, y, k) | ("pattern", name, obj, under) | ("spot", …)
_BLACK: _Colour = ("cmyk", 0.0, 0.0, 0.0, 1.0)


@dataclass
class _GState:
    fill_space: _Space | None = _GRAY
    stroke_space: _Space | None = _GRAY
    fill: _Colour = _BLACK
    stroke: _Colour = _BLACK
    fill_alpha: float = 1.0  # the current /ca
    stroke_alpha: float = 1.0
    outer_fill: float = 1.0  # alpha of enclosing transparency groups, multiplied
    outer_stroke: float = 1.0

    @property
    def eff_fill(self) -> float:
        return round(self.outer_fill * self.fill_alpha, 4)

    @property
    def eff_stroke(self) -> float:
        return round(self.outer_stroke * self.stroke_alpha, 4)

    def key(self) -> tuple[Any, ...]:
        def colour_key(c: _Colour) -> tuple[Any, ...]:
            return tuple(v.objgen if isinstance(v, pikepdf.Object) and v.is_indirect else
                         repr(v) if isinstance(v, pikepdf.Object) else
                         v.label if isinstance(v, _Space) else v for v in c)
        return (colour_key(self.fill), colour_key(self.stroke), self.fill_alpha,
                self.stroke_alpha, self.outer_fill, self.outer_stroke,
                self.fill_space.label if self.fill_space else None,
                self.stroke_space.label if self.stroke_space else None)


@dataclass
class _Resources:
    """The resources one converted content stream uses, and nothing else."""

    categories: dict[str, dict[str, pikepdf.Object]] = field(default_factory=dict)

    def add(self, category: str, name: str, obj: pikepdf.Object) -> Name:
        names = self.categories.setdefault(category, {})
        candidate, i = name, 0
        while candidate in names and not _same(names[candidate], obj):
            i += 1
            candidate = f"{name}_{i}"
        names[candidate] = obj
        return Name("/" + candidate)

    def dictionary(self) -> Dictionary:
        return Dictionary({cat: Dictionary({"/" + k: v for k, v in sorted(names.items())})
                           for cat, names in sorted(self.categories.items())})


def _same(a: pikepdf.Object, b: pikepdf.Object) -> bool:
    if a.is_indirect and b.is_indirect:
        return a.objgen == b.objgen
    return bool(a.unparse() == b.unparse())


def _op(operator: str, *operands: Any) -> ContentStreamInstruction:
    return ContentStreamInstruction(list(operands), Operator(operator))


@dataclass(frozen=True)
class _ConvertedImage:
    width: int
    height: int
    colours: int  # 1 Gray, 4 CMYK
    data: bytes  # Flate with TIFF predictor 2


class ImageCache:
    """Converted images of one run, by content: the same logo in every letter's PDF is decoded,
    flattened and converted once. Create one per run (or worker) and pass it to
    :func:`print_ready` / :func:`split_pages`; it is tied to the first image converter used."""

    def __init__(self) -> None:
        self._images: dict[bytes, _ConvertedImage] = {}
        self._converter: ImageToCmyk | None = None

    def __len__(self) -> int:
        return len(self._images)

    def _check(self, converter: ImageToCmyk) -> None:
        if self._converter is None:
            self._converter = converter
        elif self._converter is not converter:
            raise ValueError("an ImageCache holds images of one RGB → CMYK converter; "
                             "use another cache for another converter")

    def get(self, key: bytes, converter: ImageToCmyk) -> _ConvertedImage | None:
        self._check(converter)
        return self._images.get(key)

    def put(self, key: bytes, converter: ImageToCmyk, image: _ConvertedImage) -> None:
        self._check(converter)
        self._images[key] = image


def _flate_predicted(picture: Image.Image) -> bytes:
    """Image samples, each minus its left neighbour (TIFF predictor 2), Flate-compressed:
    about half the size of plain Flate for photographs, still lossless and deterministic."""
    left = Image.new(picture.mode, picture.size, 0)
    left.paste(picture.crop((0, 0, picture.width - 1, picture.height)), (1, 0))
    return zlib.compress(ImageChops.subtract_modulo(picture, left).tobytes(), 6)


class _Converter:
    def __init__(self, pdf: Pdf, rgb_to_cmyk: RgbToCmyk, image_to_cmyk: ImageToCmyk,
                 cache: ImageCache | None) -> None:
        self.pdf = pdf
        self.cache = cache
        self.hasher = _Hasher()
        self.rgb_to_cmyk = rgb_to_cmyk
        self.image_to_cmyk = image_to_cmyk
        self.images: dict[tuple[Any, ...], pikepdf.Object] = {}
        self.forms: dict[tuple[Any, ...], pikepdf.Object] = {}
        self.shadings: dict[tuple[Any, ...], pikepdf.Object] = {}
        self.patterns: dict[tuple[Any, ...], pikepdf.Object] = {}
        self.gstates: dict[tuple[Any, ...], tuple[pikepdf.Object | None, dict[str, Any]]] = {}
        self.type3: set[tuple[int, int]] = set()
        self.fonts: dict[tuple[int, int], Any] = {}

    # ---- colours

    def to_cmyk(self, space: _Space, comps: Sequence[float]) -> tuple[float, ...]:
        if space.kind == "gray":
            return (0.0, 0.0, 0.0, 1.0 - _clamp(comps[0]))
        if space.kind == "rgb":
            return _device_cmyk(self.rgb_to_cmyk, comps[0], comps[1], comps[2])
        if space.kind == "cmyk":
            return tuple(_clamp(v) for v in comps[:4])
        if space.kind == "indexed" and space.base is not None and space.lookup:
            index = min(max(round(comps[0]), 0), len(space.lookup) - 1)
            return self.to_cmyk(space.base, space.lookup[index])
        raise _unsupported(f"colour values in {space.label}")

    def colour(self, space: _Space, operands: Sequence[Any], resources: Any) -> _Colour:
        if space.kind == "pattern":
            name = operands[-1]
            pattern = resources.get("/Pattern", Dictionary()).get(str(name))
            if pattern is None:
                raise _unsupported(f"an undefined pattern {name}")
            under: tuple[float, ...] | None = None
            if space.base is not None:
                under = self.to_cmyk(space.base, [float(v) for v in operands[:-1]])
            return ("pattern", str(name), pattern, under)
        try:
            comps = [float(v) for v in operands]
        except TypeError as exc:
            raise _unsupported(f"a colour operator with operands {list(operands)!r}") from exc
        if space.kind == "spot":
            return ("spot", space, tuple(comps))
        return ("cmyk", *self.to_cmyk(space, comps))

    def initial(self, space: _Space) -> _Colour | None:
        if space.kind == "pattern":
            return None
        if space.kind == "spot":
            return ("spot", space, (1.0,) * space.n)
        if space.kind == "indexed":
            return ("cmyk", *self.to_cmyk(space, [0]))
        return _BLACK

    def emit(self, colour: _Colour | None, alpha: float, stroke: bool,
             res: _Resources) -> list[ContentStreamInstruction]:
        if colour is None:
            return []
        if colour[0] == "cmyk":
            return [_op("K" if stroke else "k", *(_num(v * alpha) for v in colour[1:]))]
        if colour[0] == "spot":
            space: _Space = colour[1]
            name = res.add("/ColorSpace", "CS0", space.obj)
            return [_op("CS" if stroke else "cs", name),
                    _op("SC" if stroke else "sc", *(_num(v * alpha) for v in colour[2]))]
        _, pname, pattern, under = colour
        converted = self.pattern(pattern, alpha)
        name = res.add("/Pattern", pname.lstrip("/") + _alpha_suffix(alpha), converted)
        if under is None:
            return [_op("CS" if stroke else "cs", Name.Pattern),
                    _op("SCN" if stroke else "scn", name)]
        space_name = res.add("/ColorSpace", "CSPatternCMYK",
                             Array([Name.Pattern, Name.DeviceCMYK]))
        return [_op("CS" if stroke else "cs", space_name),
                _op("SCN" if stroke else "scn", *(_num(v * alpha) for v in under), name)]

    # ---- content streams

    def fast_content(self, raw: bytes, resources: Any, res: _Resources) -> bytes | None:
        """Convert a stream that sets only device colours (g rg k, no cs/sc, no gs) and draws
        only text and images — what LibreOffice writes for a letter — with one regex pass
        over its bytes, instead of a parse (about 5x faster). None: use :meth:`content`."""
        if resources is None:
            resources = Dictionary()
        pieces: list[bytes] = []
        last = 0
        for m in _FAST.finditer(raw):
            if m.start("skip") >= 0:
                continue
            if m.start("bail") >= 0 or m.start("paren") >= 0:
                return None
            if m.start("cop") >= 0:
                op = m.group("cop").decode()
                numbers = m.group("colour").split()
                n = {"g": 1, "rg": 3, "k": 4}[op.lower()]
                if len(numbers) != n:
                    return None
                space = {"g": _GRAY, "rg": _RGB, "k": _CMYK}[op.lower()]
                cmyk = self.to_cmyk(space, [float(v) for v in numbers])
                pieces += [raw[last:m.start()], " ".join(str(_num(v)) for v in cmyk).encode(),
                           b" K" if op.isupper() else b" k"]
                last = m.end()
                continue
            name = m.group("name")
            if b"#" in name:
                return None  # an escaped name: let pikepdf decode it
            key = name.decode("latin-1")
            if m.group("rop") == b"Do":
                xobject = resources.get("/XObject", Dictionary()).get(key)
                if xobject is None or xobject.get("/Subtype") != Name.Image:
                    return None
                new = res.add("/XObject", key[1:], self.image(xobject, 1.0))
            else:
                font = resources.get("/Font", Dictionary()).get(key)
                if font is None or font.get("/Subtype") == Name.Type3:
                    return None
                self.font(font)
                new = res.add("/Font", key[1:], font)
            pieces += [raw[last:m.start("name")], str(new).encode("latin-1")]
            last = m.end("name")
        pieces.append(raw[last:])
        return b"".join(pieces)


    def content(self, instructions: Sequence[Any], resources: Any, state: _GState,
                res: _Resources) -> list[Any]:
        if resources is None:
            resources = Dictionary()
        out: list[Any] = []
        stack: list[_GState] = []
        for inst in instructions:
            if isinstance(inst, ContentStreamInlineImage):
                # Pages and forms had theirs made XObjects by qpdf; patterns, glyphs did not.
                raise _unsupported("an inline image inside a pattern or Type 3 glyph")
            op = str(inst.operator)
            args = inst.operands
            if op == "q":
                stack.append(copy.copy(state))
                out.append(inst)
            elif op == "Q":
                if stack:
                    state = stack.pop()
                out.append(inst)
            elif op in ("g", "G", "rg", "RG", "k", "K"):
                stroke = op.isupper()
                space = {"g": _GRAY, "rg": _RGB, "k": _CMYK}[op.lower()]
                colour = self.colour(space, args, resources)
                if stroke:
                    state.stroke_space, state.stroke = space, colour
                else:
                    state.fill_space, state.fill = space, colour
                out.extend(self.emit(colour, state.eff_stroke if stroke else state.eff_fill,
                                     stroke, res))
            elif op in ("cs", "CS"):
                stroke = op == "CS"
                space = _classify(args[0], resources)
                initial = self.initial(space)
                if stroke:
                    state.stroke_space = space
                    state.stroke = initial or state.stroke
                else:
                    state.fill_space = space
                    state.fill = initial or state.fill
                if initial is not None:
                    out.extend(self.emit(initial, state.eff_stroke if stroke else
                                         state.eff_fill, stroke, res))
            elif op in ("sc", "scn", "SC", "SCN"):
                stroke = op.startswith("S")
                current = state.stroke_space if stroke else state.fill_space
                if current is None or (current.kind not in ("pattern", "spot")
                                       and current.n != len(args)):
                    current = _BY_COUNT.get(len(args))  # state inherited from an unknown caller
                    if current is None:
                        raise _unsupported(f"a colour operator {op} with {len(args)} operands")
                colour = self.colour(current, args, resources)
                if stroke:
                    state.stroke = colour
                else:
                    state.fill = colour
                out.extend(self.emit(colour, state.eff_stroke if stroke else state.eff_fill,
                                     stroke, res))
            elif op == "gs":
                out.extend(self.graphics_state(args[0], resources, state, res))
            elif op == "Do":
                out.extend(self.do(args[0], resources, state, res))
            elif op == "sh":
                shading = resources.get("/Shading", Dictionary()).get(str(args[0]))
                if shading is None:
                    raise _unsupported(f"an undefined shading {args[0]}")
                alpha = state.eff_fill
                name = res.add("/Shading", str(args[0]).lstrip("/") + _alpha_suffix(alpha),
                               self.shading(shading, alpha))
                out.append(_op("sh", name))
            elif op == "Tf":
                font = resources.get("/Font", Dictionary()).get(str(args[0]))
                if font is None:
                    raise _unsupported(f"an undefined font {args[0]}")
                self.font(font)
                out.append(_op("Tf", res.add("/Font", str(args[0]).lstrip("/"), font), args[1]))
            elif op in ("BDC", "DP") and len(args) == 2 and isinstance(args[1], Name):
                props = resources.get("/Properties", Dictionary()).get(str(args[1]))
                if props is not None:
                    name = res.add("/Properties", str(args[1]).lstrip("/"), props)
                    out.append(_op(op, args[0], name))
                else:
                    out.append(_op(op, args[0], Dictionary()))
            else:
                out.append(inst)
        return out

    def graphics_state(self, name: Any, resources: Any, state: _GState,
                       res: _Resources) -> list[Any]:
        gs = resources.get("/ExtGState", Dictionary()).get(str(name))
        if gs is None:
            raise _unsupported(f"an undefined graphics state {name}")
        key = (gs.objgen,) if gs.is_indirect else (gs.unparse(),)
        if key not in self.gstates:
            smask = gs.get("/SMask")
            if smask is not None and not (isinstance(smask, Name) and smask == Name("/None")):
                raise _unsupported("a soft mask (gradient transparency on a shape or text)")
            facts: dict[str, Any] = {k: float(gs[k]) for k in ("/ca", "/CA") if k in gs}
            kept = Dictionary({k: v for k, v in gs.items() if k not in _DROP_EGS_KEYS})
            self.gstates[key] = (self.pdf.make_indirect(kept) if len(kept) else None, facts)
        converted, facts = self.gstates[key]
        out: list[Any] = []
        if converted is not None:
            out.append(_op("gs", res.add("/ExtGState", str(name).lstrip("/"), converted)))
        fill_before, stroke_before = state.eff_fill, state.eff_stroke
        state.fill_alpha = facts.get("/ca", state.fill_alpha)
        state.stroke_alpha = facts.get("/CA", state.stroke_alpha)
        # The alpha now changes how much ink the current colours put down: set them again.
        if state.eff_fill != fill_before:
            out.extend(self.emit(state.fill, state.eff_fill, False, res))
        if state.eff_stroke != stroke_before:
            out.extend(self.emit(state.stroke, state.eff_stroke, True, res))
        return out

    def do(self, name: Any, resources: Any, state: _GState, res: _Resources) -> list[Any]:
        xobject = resources.get("/XObject", Dictionary()).get(str(name))
        if xobject is None:
            raise _unsupported(f"an undefined XObject {name}")
        subtype = xobject.get("/Subtype")
        base = str(name).lstrip("/")
        if subtype == Name.Image:
            alpha = state.eff_fill
            converted = self.image(xobject, alpha)
            return [_op("Do", res.add("/XObject", base + _alpha_suffix(alpha), converted))]
        if subtype == Name.Form:
            inner = copy.copy(state)
            group = xobject.get("/Group")
            if group is not None and group.get("/S") == Name.Transparency:
                # A group is composited as a whole at the caller's alpha; inside, alpha is 1.
                inner.outer_fill, inner.outer_stroke = state.eff_fill, state.eff_stroke
                inner.fill_alpha = inner.stroke_alpha = 1.0
            form = self.form(xobject, inner, resources)
            return [_op("Do", res.add("/XObject", base, form))]
        return []  # PostScript XObjects are not printed by PDF consumers; drop them

    def form(self, xobject: Any, state: _GState, parent_resources: Any) -> pikepdf.Object:
        key = (xobject.objgen, state.key())
        if key not in self.forms:
            res = _Resources()
            resources = xobject.get("/Resources", parent_resources)
            body = self.content(pikepdf.parse_content_stream(xobject), resources, state, res)
            entries: dict[str, Any] = {"/Type": Name.XObject, "/Subtype": Name.Form,
                                       "/BBox": xobject.BBox, "/Resources": res.dictionary()}
            if "/Matrix" in xobject:
                entries["/Matrix"] = xobject.Matrix
            new = Stream(self.pdf, pikepdf.unparse_content_stream(body))
            for k, v in entries.items():
                new[k] = v
            self.forms[key] = self.pdf.make_indirect(new)
        return self.forms[key]

    def font(self, font: Any) -> None:
        """Note the font; Type 3 glyph procedures are content streams to convert too
        (LibreOffice does not write Type 3 fonts)."""
        if font.is_indirect:
            self.fonts.setdefault(font.objgen, font)
        if font.get("/Subtype") != Name.Type3 or not font.is_indirect \
                or font.objgen in self.type3:
            return
        self.type3.add(font.objgen)
        res = _Resources()
        resources = font.get("/Resources")
        procs = Dictionary()
        for glyph, proc in font.CharProcs.items():
            body = self.content(pikepdf.parse_content_stream(proc), resources, _GState(), res)
            procs[glyph] = self.pdf.make_indirect(
                Stream(self.pdf, pikepdf.unparse_content_stream(body)))
        font.CharProcs = procs
        font.Resources = res.dictionary()

    # ---- images

    def image(self, xobject: Any, alpha: float) -> pikepdf.Object:
        key = (xobject.objgen if xobject.is_indirect else id(xobject), alpha)
        if key not in self.images:
            self.images[key] = self.pdf.make_indirect(self._image(xobject, alpha))
        return self.images[key]

    def _image(self, xobject: Any, alpha: float) -> Stream:
        if xobject.get("/ImageMask", False):
            return self._copy_stream(xobject)  # a stencil: painted in the (converted) fill
        masked = "/SMask" in xobject or "/Mask" in xobject
        space = _classify(xobject.get("/ColorSpace", Name.DeviceGray), None)
        if space.kind in ("gray", "cmyk") and not masked and alpha == 1.0 \
                and space.label.startswith("Device") and "/Decode" not in xobject:
            return self._copy_stream(xobject)  # already fine: keep its bytes (JPEG stays JPEG)
        converted: _ConvertedImage | None = None
        cache_key = b""
        if self.cache is not None:
            cache_key = self.hasher.digest(xobject) + repr(alpha).encode()
            converted = self.cache.get(cache_key, self.image_to_cmyk)
        if converted is None:
            converted = self._convert_image(xobject, alpha)
            if self.cache is not None:
                self.cache.put(cache_key, self.image_to_cmyk, converted)
        new = Stream(self.pdf, b"")
        new.write(converted.data, filter=Name.FlateDecode, decode_parms=Dictionary(
            Predictor=2, Colors=converted.colours, BitsPerComponent=8, Columns=converted.width))
        new.Type, new.Subtype = Name.XObject, Name.Image
        new.Width, new.Height = converted.width, converted.height
        new.ColorSpace = Name.DeviceGray if converted.colours == 1 else Name.DeviceCMYK
        new.BitsPerComponent = 8
        for k in ("/Interpolate", "/Intent"):
            if k in xobject:
                new[k] = xobject[k]
        return new

    def _convert_image(self, xobject: Any, alpha: float) -> _ConvertedImage:
        try:
            picture = PdfImage(xobject).as_pil_image(apply_mask=False)
        except _UNDECODABLE as exc:  # the boundary: pikepdf's and Pillow's "cannot decode"
            raise _unsupported(f"an image pikepdf cannot decode ({exc})") from exc
        if picture.mode == "1":
            picture = picture.convert("L")
        elif picture.mode == "P":
            picture = picture.convert("RGB")
        if picture.mode not in ("L", "RGB", "CMYK"):
            raise _unsupported(f"an image in Pillow mode {picture.mode}")
        cover = self._coverage(xobject, picture, alpha)
        if cover is not None:  # print has no transparency: composite onto white paper
            paper = (255 if picture.mode == "L" else (255, 255, 255) if picture.mode == "RGB"
                     else (0, 0, 0, 0))
            picture = Image.composite(picture, Image.new(picture.mode, picture.size, paper),
                                      cover)
        if picture.mode == "RGB":
            r, g, b = picture.split()
            neutral = (ImageChops.difference(r, g).getbbox() is None
                       and ImageChops.difference(g, b).getbbox() is None)
            picture = r if neutral else self.image_to_cmyk(picture)
            if picture.mode != ("L" if neutral else "CMYK") or picture.size != r.size:
                raise RenderError("the RGB → CMYK image converter returned a "
                                  f"{picture.mode} image of size {picture.size}")
        return _ConvertedImage(picture.width, picture.height, len(picture.getbands()),
                               _flate_predicted(picture))

    def _coverage(self, xobject: Any, picture: Image.Image, alpha: float) -> Image.Image | None:
        """Where and how much the image covers the paper (its mask × the drawing alpha)."""
        cover: Image.Image | None = None
        smask, mask = xobject.get("/SMask"), xobject.get("/Mask")
        if isinstance(smask, Stream):
            cover = PdfImage(smask).as_pil_image(apply_mask=False).convert("L")
        elif isinstance(mask, Stream):  # a stencil: sample 1 = masked out
            cover = ImageChops.invert(PdfImage(mask).as_pil_image(apply_mask=False)
                                      .convert("L"))
        elif isinstance(mask, Array):  # colour key: samples inside all ranges are masked out
            ranges = [int(v) for v in mask]
            samples = picture
            if xobject.get("/ColorSpace") is not None and \
                    _classify(xobject.ColorSpace, None).kind == "indexed":
                samples = Image.frombytes("L", picture.size, PdfImage(xobject).read_bytes())
            bands = samples.split()
            if len(ranges) != 2 * len(bands):
                raise _unsupported("a colour-key image mask that does not match the image")
            inside = None
            for band, lo, hi in zip(bands, ranges[::2], ranges[1::2], strict=True):
                hit = band.point([255 if lo <= v <= hi else 0 for v in range(256)])
                inside = hit if inside is None else ImageChops.darker(inside, hit)
            cover = ImageChops.invert(inside) if inside is not None else None
        if cover is not None and cover.size != picture.size:
            cover = cover.resize(picture.size, Image.Resampling.BILINEAR)
        if alpha < 1.0:
            level = round(alpha * 255)
            cover = (Image.new("L", picture.size, level) if cover is None
                     else cover.point([v * level // 255 for v in range(256)]))
        return cover

    def _copy_stream(self, obj: Any) -> Stream:
        new = Stream(self.pdf, b"")
        new.write(obj.read_raw_bytes(), filter=obj.get("/Filter"),
                  decode_parms=obj.get("/DecodeParms"))
        for k, v in obj.items():
            if k not in ("/Length", "/Filter", "/DecodeParms", "/Metadata", "/Alternates",
                         "/OPI", "/SMask", "/Mask"):
                new[k] = v
        space = obj.get("/ColorSpace")
        if isinstance(space, Array) and space and space[0] == Name.ICCBased:
            new.ColorSpace = {1: Name.DeviceGray, 4: Name.DeviceCMYK}[int(space[1].N)]
        return new

    # ---- shadings and patterns

    def shading(self, shading: Any, alpha: float) -> pikepdf.Object:
        key = (shading.objgen if shading.is_indirect else shading.unparse(), alpha)
        if key not in self.shadings:
            self.shadings[key] = self.pdf.make_indirect(self._shading(shading, alpha))
        return self.shadings[key]

    def _shading(self, shading: Any, alpha: float) -> Any:
        space = _classify(shading.ColorSpace, None)
        stype = int(shading.ShadingType)
        device = space.kind in ("gray", "cmyk") and space.label.startswith("Device")
        if device and alpha == 1.0:
            return shading
        if stype not in (2, 3):
            raise _unsupported(f"a type {stype} shading in {space.label}")
        domain = [float(v) for v in shading.get("/Domain", [0, 1])]
        samples = bytearray()
        for i in range(_SHADING_SAMPLES):
            t = domain[0] + (domain[1] - domain[0]) * i / (_SHADING_SAMPLES - 1)
            comps = _eval_function(shading.Function, t)
            samples.extend(round(v * alpha * 255) for v in self.to_cmyk(space, comps))
        function = Stream(self.pdf, bytes(samples))
        function.FunctionType = 0
        function.Domain = Array(domain)
        function.Range = Array([0, 1] * 4)
        function.Size = Array([_SHADING_SAMPLES])
        function.BitsPerSample = 8
        new = Dictionary({k: v for k, v in shading.items() if k not in ("/Function",
                                                                        "/Background")})
        new.ColorSpace = Name.DeviceCMYK
        new.Function = self.pdf.make_indirect(function)
        if "/Background" in shading:
            new.Background = Array([_num(v * alpha) for v in self.to_cmyk(
                space, [float(v) for v in shading.Background])])
        return new

    def pattern(self, pattern: Any, alpha: float) -> pikepdf.Object:
        key = (pattern.objgen if pattern.is_indirect else pattern.unparse(), alpha)
        if key not in self.patterns:
            self.patterns[key] = self.pdf.make_indirect(self._pattern(pattern, alpha))
        return self.patterns[key]

    def _pattern(self, pattern: Any, alpha: float) -> Any:
        if int(pattern.PatternType) == 2:
            if "/ExtGState" in pattern:
                gs = pattern.ExtGState
                if gs.get("/SMask", Name("/None")) != Name("/None"):
                    raise _unsupported("a soft mask on a shading pattern")
                alpha *= float(gs.get("/ca", 1))
            new = Dictionary({k: v for k, v in pattern.items() if k != "/ExtGState"})
            new.Shading = self.shading(pattern.Shading, round(alpha, 4))
            return new
        # A tiling pattern: its cell is a content stream of its own.
        state = _GState(outer_fill=alpha, outer_stroke=alpha)
        res = _Resources()
        body = self.content(pikepdf.parse_content_stream(pattern), pattern.get("/Resources"),
                            state, res)
        cell = Stream(self.pdf, pikepdf.unparse_content_stream(body))
        for k, v in pattern.items():
            if k not in ("/Length", "/Filter", "/DecodeParms", "/Resources"):
                cell[k] = v
        cell.Resources = res.dictionary()
        return cell


def _alpha_suffix(alpha: float) -> str:
    return "" if alpha == 1.0 else f"a{round(alpha * 1000)}"


def _inline_space(cs: Any) -> Any:
    abbreviations = {"/G": Name.DeviceGray, "/RGB": Name.DeviceRGB, "/CMYK": Name.DeviceCMYK,
                     "/I": Name.Indexed}
    if isinstance(cs, Name):
        return abbreviations.get(str(cs), cs)
    if isinstance(cs, Array):
        return Array([_inline_space(v) if isinstance(v, Name) else v for v in cs])
    return cs


# --------------------------------------------------------------------------------------------
# Pages and documents


def _inherited(page: Any, key: str) -> Any:
    node = page
    for _ in range(64):  # a page tree deeper than this is broken
        if key in node:
            return node[key]
        if "/Parent" not in node:
            return None
        node = node.Parent
    return None


def _rotation_matrix(rotate: int, box: list[float]) -> tuple[list[float], list[float]]:
    """The cm that draws a /Rotate'd page upright, and the upright MediaBox."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if rotate == 90:
        return [0, -1, 1, 0, -y0, w + x0], [0, 0, h, w]
    if rotate == 180:
        return [-1, 0, 0, -1, w + x0, h + y0], [0, 0, w, h]
    return [0, 1, -1, 0, h + y0, -x0], [0, 0, h, w]


def _may_have_inline_images(page: Any, resources: Any) -> bool:
    """Whether the page or a form it draws has ``BI`` in its content (a cheap pre-check)."""
    contents = page.get("/Contents")
    streams = list(contents) if isinstance(contents, Array) else [contents] if contents else []
    todo, seen = [resources], set()
    while todo:
        res = todo.pop()
        if not isinstance(res, Dictionary):
            continue
        for xobject in res.get("/XObject", Dictionary()).values():
            if xobject.get("/Subtype") == Name.Form and xobject.objgen not in seen:
                seen.add(xobject.objgen)
                streams.append(xobject)
                todo.append(xobject.get("/Resources"))
    return any(b"BI" in s.read_bytes() for s in streams)


def _page_bytes(page: Any) -> bytes:
    contents = page.get("/Contents")
    if contents is None:
        return b""
    if isinstance(contents, Array):
        return b"\n".join(part.read_bytes() for part in contents)
    return bytes(contents.read_bytes())


def _prepare_page(conv: _Converter, page: pikepdf.Page) -> None:
    obj = page.obj
    box = [float(v) for v in _inherited(obj, "/MediaBox") or [0, 0, 595.276, 841.89]]
    resources = _inherited(obj, "/Resources")
    rotate = int(_inherited(obj, "/Rotate") or 0) % 360
    if float(obj.get("/UserUnit", 1)) != 1.0:
        raise _unsupported("a page with a /UserUnit")
    res = _Resources()
    body = conv.fast_content(_page_bytes(obj), resources, res)
    if body is None:  # not only device colours, fonts and images: the full state machine
        res = _Resources()
        if _may_have_inline_images(obj, resources):
            page.externalize_inline_images()  # (qpdf, also in forms) then converted as images
        instructions = list(pikepdf.parse_content_stream(obj)) if "/Contents" in obj else []
        body = pikepdf.unparse_content_stream(
            conv.content(instructions, resources, _GState(), res))
    if rotate:
        if "/Pattern" in res.categories:
            raise _unsupported("a rotated page with patterns")
        matrix, box = _rotation_matrix(rotate, box)
        body = b"q " + " ".join(str(_num(v)) for v in matrix).encode() + b" cm\n" + body \
            + b"\nQ"
    for key in list(obj.keys()):
        if key not in _KEEP_PAGE_KEYS:
            del obj[key]
    obj.MediaBox = Array(box)
    obj.TrimBox = Array(box)  # letters have no bleed: trim = media (print-spec P2/P4)
    obj.Rotate = 0
    obj.Resources = res.dictionary()
    obj.Contents = conv.pdf.make_indirect(Stream(conv.pdf, body))


def _open(pdf: bytes) -> Pdf:
    try:
        # We resolve inherited page attributes ourselves; pikepdf's pass costs ~2 ms a file.
        return Pdf.open(io.BytesIO(pdf), inherit_page_attributes=False)
    except pikepdf.PdfError as exc:
        raise RenderError(f"LibreOffice's output is not a readable PDF ({exc})",
                          hint="convert the document again") from exc


def _make_print_ready(doc: Pdf, rgb_to_cmyk: RgbToCmyk, image_to_cmyk: ImageToCmyk | None,
                      cache: ImageCache | None) -> list[Any]:
    """Convert ``doc`` in place; returns the fonts its pages use."""
    if image_to_cmyk is None:
        image_to_cmyk = (gcr_image_to_cmyk if rgb_to_cmyk is gcr_rgb_to_cmyk
                         else _image_by_colours(rgb_to_cmyk))
    if any("/Annots" in p.obj for p in doc.pages):
        doc.flatten_annotations(mode="print")  # printable annotations become page content
    conv = _Converter(doc, rgb_to_cmyk, image_to_cmyk, cache)
    for page in doc.pages:
        _prepare_page(conv, page)
    node_stack = [doc.Root.Pages]
    while node_stack:  # inherited attributes now live on each page
        node = node_stack.pop()
        for key in _INHERITABLE:
            if key in node:
                del node[key]
        node_stack.extend(kid for kid in node.Kids if kid.get("/Type") == Name.Pages)
    for key in list(doc.Root.keys()):
        if key not in ("/Type", "/Pages", "/Lang"):  # no XMP, outline, forms, actions, names
            del doc.Root[key]
    fonts = list(conv.fonts.values())
    _rename_subsets(fonts)
    return fonts


def _set_info(doc: Pdf, info: PdfInfo) -> None:
    values = {"/Title": info.title, "/Author": info.author, "/Subject": info.subject,
              "/Keywords": info.keywords, "/Creator": info.creator, "/Producer": info.producer}
    entries: dict[str, Any] = {k: pikepdf.String(v) for k, v in values.items()}
    entries["/CreationDate"] = entries["/ModDate"] = pikepdf.String(info.date)
    entries["/Trapped"] = Name("/False")
    doc.trailer.Info = doc.make_indirect(Dictionary(entries))


def _save(doc: Pdf, info: PdfInfo, pdfx: Pdfx | None = None, *,
          embed_profile: bool = True) -> bytes:
    _set_info(doc, info)
    if pdfx is not None:
        _identify(doc, info, pdfx, embed_profile=embed_profile)
    for key in ("/ID", "/DocChecksum"):
        if key in doc.trailer:
            del doc.trailer[key]
    out = io.BytesIO()
    # deterministic_id: /ID is an MD5 of the written bytes, so reruns are byte-identical.
    version = pdfx.standard.pdf_version if pdfx is not None else "1.4"
    doc.save(out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.disable,
             compress_streams=True, force_version=version, fix_metadata_version=False,
             preserve_pdfa=False, linearize=False)
    return out.getvalue()


_PROFILE_BODY = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*)\r?\nendstream\s*$", re.S)


def _identify(doc: Pdf, info: PdfInfo, pdfx: Pdfx, *, embed_profile: bool) -> None:
    """PDF/X identification as the native writer gives it (render/pdfx.py): the Info keys,
    one GTS_PDFX OutputIntent (with the ICC profile in bundles, and in every file for X-4),
    and an XMP packet whose strings and dates are Info's."""
    standard, condition = pdfx.standard, pdfx.condition
    doc_info = doc.trailer.Info
    doc_info.GTS_PDFXVersion = pikepdf.String(standard.version_key)
    if standard.conformance_key is not None:
        doc_info.GTS_PDFXConformance = pikepdf.String(standard.conformance_key)
    intent = Dictionary(Type=Name.OutputIntent, S=Name("/GTS_PDFX"),
                        OutputConditionIdentifier=pikepdf.String(condition.identifier),
                        OutputCondition=pikepdf.String(condition.condition),
                        Info=pikepdf.String(condition.info))
    if condition.registry:
        intent.RegistryName = pikepdf.String(condition.registry)
    if pdfx.profile is not None and (embed_profile or standard.requires_profile):
        found = _PROFILE_BODY.match(pdfx.profile)
        if found is None:
            raise RenderError("internal: the prepared DestOutputProfile is not a stream body")
        n = re.search(rb"/N\s+(\d+)", found.group(1))
        profile = Stream(doc, b"")
        profile.write(found.group(2), filter=Name.FlateDecode)  # compressed once, per run
        profile.N = int(n.group(1)) if n else 4
        intent.DestOutputProfile = doc.make_indirect(profile)
    doc.Root.OutputIntents = Array([doc.make_indirect(intent)])
    content = hashlib.sha256()
    for page in doc.pages:  # what the pages show: changes when any page changes
        contents = page.obj.get("/Contents")
        for part in (contents if isinstance(contents, Array) else [contents]
                     if contents is not None else []):
            content.update(part.read_raw_bytes())
    fields = pdfx_ids.XmpFields(
        title=info.title, author=info.author, subject=info.subject, keywords=info.keywords,
        creator=info.creator, producer=info.producer, date=info.date,
        document_key=f"{info.subject}\n{info.title}", content_digest=content.digest())
    metadata = Stream(doc, pdfx_ids.xmp_packet(standard, fields))
    metadata.Type, metadata.Subtype = Name.Metadata, Name.XML
    doc.Root.Metadata = doc.make_indirect(metadata)


def print_ready(pdf: bytes, info: PdfInfo, *, rgb_to_cmyk: RgbToCmyk = gcr_rgb_to_cmyk,
                image_to_cmyk: ImageToCmyk | None = None,
                cache: ImageCache | None = None) -> bytes:
    """One PDF from LibreOffice (any number of pages) → print-ready bytes: DeviceCMYK/Gray only
    (black K100), no transparency, TrimBox = MediaBox, /Rotate 0, PDF 1.4 without object or xref
    streams, the given /Info with /Trapped /False, no XMP, deterministic bytes and /ID.

    ``image_to_cmyk`` converts RGB images; by default the fast Pillow form of
    :func:`gcr_rgb_to_cmyk`, or ``rgb_to_cmyk`` called once per distinct colour when another
    vector converter is given. ``cache`` (one per run) converts each distinct image once
    across calls."""
    with _open(pdf) as doc:
        _make_print_ready(doc, rgb_to_cmyk, image_to_cmyk, cache)
        return _save(doc, info)


def split_pages(pdf: bytes, info: PdfInfo | Sequence[PdfInfo], *,
                rgb_to_cmyk: RgbToCmyk = gcr_rgb_to_cmyk,
                image_to_cmyk: ImageToCmyk | None = None,
                cache: ImageCache | None = None) -> list[bytes]:
    """A converted document of one page per letter → one print-ready single-page PDF per page,
    each carrying only the fonts and images its page uses. ``info`` is one for all pages or
    one per page. Images are converted once for the whole document."""
    with _open(pdf) as doc:
        count = len(doc.pages)
        infos = [info] * count if isinstance(info, PdfInfo) else list(info)
        if len(infos) != count:
            raise ValueError(f"{len(infos)} PdfInfo for a document of {count} pages")
        _make_print_ready(doc, rgb_to_cmyk, image_to_cmyk, cache)
        singles = []
        for page, page_info in zip(doc.pages, infos, strict=True):
            with Pdf.new() as single:
                single.pages.append(page)
                singles.append(_save(single, page_info))
        return singles


def merge_bundle(pages: Sequence[bytes], info: PdfInfo, *, blank_after_each: bool) -> bytes:
    """Print-ready PDFs (from :func:`print_ready` or :func:`split_pages`) → one bundle in that
    order. ``blank_after_each`` pads each document to an even page count (one blank page after
    a one-page letter) so every letter starts on a front side in duplex.

    Identical resources (images, fonts, graphics states, …: equal by content) are stored once.
    Subset fonts keep their hash-derived names from :func:`print_ready`; a name that arrives
    with a different font program (e.g. LibreOffice's ``BAAAAA+…`` from another file) is
    renamed after a hash of that program, so different programs never share a name."""
    sources: list[Pdf] = []
    try:
        with Pdf.new() as bundle:
            merger = _Merger(bundle)
            for data in pages:
                src = _open(data)
                sources.append(src)  # qpdf copies stream data when the bundle is written
                merger.add(src, blank_after=blank_after_each)
            return _save(bundle, info)
    finally:
        for src in sources:
            src.close()


class _Merger:
    """Copies pages into a bundle, each distinct resource once (by Merkle hash)."""

    def __init__(self, bundle: Pdf) -> None:
        self.bundle = bundle
        self.copied: dict[bytes, pikepdf.Object] = {}
        self.font_names: dict[str, bytes] = {}  # BaseFont → hash of its program's stream
        self.blank_contents = bundle.make_indirect(Stream(bundle, b""))

    def add(self, src: Pdf, *, blank_after: bool) -> None:
        hasher = _Hasher()
        box = Array([0, 0, 595.276, 841.89])
        for page in src.pages:
            box = self.add_page(page.obj, hasher)
        if blank_after and len(src.pages) % 2:
            self.add_blank(box, None)

    def add_page(self, obj: Any, hasher: _Hasher) -> Array:
        """Copy one page (its resources once per content); returns its MediaBox."""
        box = Array([float(v) for v in _inherited(obj, "/MediaBox")])
        resources = Dictionary()
        for category, entries in (_inherited(obj, "/Resources") or Dictionary()).items():
            if isinstance(entries, Dictionary):
                resources[category] = Dictionary({
                    name: self.resource(value, hasher) for name, value in entries.items()})
            elif category != "/ProcSet":  # (obsolete) — anything else is kept as is
                resources[category] = self.resource(entries, hasher)
        contents = obj.get("/Contents")
        new = Dictionary(Type=Name.Page, MediaBox=box, TrimBox=Array(
            [float(v) for v in obj.get("/TrimBox", box)]), Rotate=0, Resources=resources)
        if contents is not None:
            new.Contents = self.copy(contents)
        self.bundle.pages.append(pikepdf.Page(new))
        return box

    def copy(self, value: Any) -> Any:
        """A foreign object in the bundle; qpdf copies only indirect objects, so a direct
        array or dictionary is rebuilt around copies of what it holds."""
        if not isinstance(value, pikepdf.Object) or value.is_indirect:
            return self.bundle.copy_foreign(value) if isinstance(value, pikepdf.Object) \
                else value
        if isinstance(value, Array):
            return Array([self.copy(v) for v in value])
        if isinstance(value, Dictionary):
            return Dictionary({k: self.copy(v) for k, v in value.items()})
        return value

    def add_blank(self, box: Array, content: bytes | None) -> None:
        """A blank page (a duplex back), drawing only ``content`` if given."""
        contents = self.blank_contents if not content else \
            self.bundle.make_indirect(Stream(self.bundle, content))
        self.bundle.pages.append(pikepdf.Page(Dictionary(
            Type=Name.Page, MediaBox=box, TrimBox=box, Rotate=0, Resources=Dictionary(),
            Contents=contents)))

    def resource(self, value: Any, hasher: _Hasher) -> Any:
        if not isinstance(value, pikepdf.Object) or not value.is_indirect:
            return self.copy(value)
        digest = hasher.maybe(value)
        if digest is not None and digest in self.copied:
            return self.copied[digest]
        copied = self.bundle.copy_foreign(value)
        if digest is not None:
            self.copied[digest] = copied
        if isinstance(value, Dictionary) and value.get("/Type") == Name.Font:
            self.check_font_name(copied, value, hasher)
        return copied

    def check_font_name(self, copied: Any, original: Any, hasher: _Hasher) -> None:
        found = _font_program(original)
        base = str(copied.get("/BaseFont", "/"))[1:]
        if found is None or not _SUBSET_TAG.match(base):
            return
        descriptor = found[0]
        program = next(descriptor[k] for k in ("/FontFile2", "/FontFile3", "/FontFile")
                       if k in descriptor)
        identity = hasher.digest(program)
        if self.font_names.setdefault(base, identity) == identity:
            return
        digest = hashlib.sha256(found[1]).digest()
        for offset in range(len(digest) - 8):
            name = _tag(digest, offset) + base[6:]
            if self.font_names.setdefault(name, identity) == identity:
                _set_font_tag(copied, name[:6])
                return
        raise RenderError(f"could not give the font {base} a unique subset name")


class ConvertedDocument:
    """LibreOffice's PDF of one or more letters, made print-ready once, in memory: each
    page's own file comes from :meth:`single`, and :class:`BundleBuilder` copies pages into a
    bundle. Keep it open until the bundles using its pages are finished (their streams are
    copied when the bundle is written)."""

    def __init__(self, pdf: bytes, *, rgb_to_cmyk: RgbToCmyk = gcr_rgb_to_cmyk,
                 image_to_cmyk: ImageToCmyk | None = None,
                 cache: ImageCache | None = None) -> None:
        self._doc = _open(pdf)
        try:
            self._fonts = _make_print_ready(self._doc, rgb_to_cmyk, image_to_cmyk, cache)
        except BaseException:
            self._doc.close()
            raise
        self._hasher = _Hasher()  # a bundle's copies of this document's resources, by content

    def __enter__(self) -> ConvertedDocument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._doc.close()

    def __len__(self) -> int:
        return len(self._doc.pages)

    def unembedded_fonts(self, index: int) -> list[str]:
        """The names of the fonts page ``index`` uses without an embedded program."""
        used: set[tuple[int, int]] = set()
        todo = [self._doc.pages[index].obj.get("/Resources")]
        seen: set[tuple[int, int]] = set()
        while todo:
            res = todo.pop()
            if not isinstance(res, Dictionary):
                continue
            used.update(f.objgen for f in res.get("/Font", Dictionary()).values()
                        if f.is_indirect)
            for xobject in res.get("/XObject", Dictionary()).values():
                if xobject.get("/Subtype") == Name.Form and xobject.objgen not in seen:
                    seen.add(xobject.objgen)
                    todo.append(xobject.get("/Resources"))
        return sorted({str(f.get("/BaseFont", "/(unnamed)"))[1:] for f in self._fonts
                       if f.objgen in used and f.get("/Subtype") != Name.Type3
                       and _font_program(f) is None})

    def overlay(self, index: int, *, under: bytes = b"", over: bytes = b"") -> None:
        """Draw ``under`` before page ``index`` and ``over`` after it (each its own content
        stream; the page is wrapped in q … Q, so neither inherits its graphics state)."""
        if not under and not over:
            return
        doc, obj = self._doc, self._doc.pages[index].obj
        contents = obj.get("/Contents")
        parts = list(contents) if isinstance(contents, Array) else \
            [contents] if contents is not None else []
        obj.Contents = Array([doc.make_indirect(Stream(doc, under + b"q\n")), *parts,
                              doc.make_indirect(Stream(doc, b"\nQ\n" + over))])

    def single(self, index: int, info: PdfInfo, *, pdfx: Pdfx | None = None) -> bytes:
        """Page ``index`` as a file of its own, with only the resources it uses; with
        ``pdfx``, identified as PDF/X (the ICC profile embedded only where X-4 needs it)."""
        with Pdf.new() as single:
            single.pages.append(self._doc.pages[index])
            return _save(single, info, pdfx, embed_profile=False)


class BundleBuilder:
    """Pages of :class:`ConvertedDocument` values (and blank backs) into one bundle, each
    distinct resource stored once and every subset font under a name of its own."""

    def __init__(self) -> None:
        self._pdf = Pdf.new()
        self._merger = _Merger(self._pdf)
        self._box = Array([0, 0, 595.276, 841.89])

    def __enter__(self) -> BundleBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pdf.close()

    @property
    def page_count(self) -> int:
        return len(self._pdf.pages)

    def add(self, doc: ConvertedDocument, index: int) -> None:
        self._box = self._merger.add_page(doc._doc.pages[index].obj, doc._hasher)

    def add_blank(self, content: bytes = b"") -> None:
        """A blank page the size of the last one, drawing only ``content`` (a duplex back's
        mail-integrity code)."""
        self._merger.add_blank(self._box, content or None)

    def finish(self, info: PdfInfo, *, pdfx: Pdfx | None = None) -> bytes:
        """The bundle's bytes; with ``pdfx``, identified as PDF/X with its ICC profile."""
        return _save(self._pdf, info, pdfx, embed_profile=True)


def word_print_facts(pdf: bytes) -> str:
    """What a print file is, measured from it (for the job ticket), on one line: PDF version,
    colour spaces, the fill colours text is drawn in, transparency, fonts, page sizes and
    boxes."""
    report = colour_report(pdf)
    spaces = ", ".join(sorted(report.colour_spaces)) or "none"
    rgb = "RGB REMAINS" if report.rgb_remaining else "no RGB"
    kinds: dict[str, set[str]] = {}
    for font in report.fonts:
        name = font.name[7:] if _SUBSET_TAG.match(font.name) else font.name
        what = f"{font.type}, {'embedded' if font.embedded else 'NOT embedded'}" + (
            " subset" if font.subset else "")
        kinds.setdefault(what, set()).add(name)
    fonts = "; ".join(f"{', '.join(sorted(names))} ({what})"
                      for what, names in sorted(kinds.items())) or "none"
    sizes = sorted({f"{p.width_mm:.1f} x {p.height_mm:.1f} mm" for p in report.pages})
    trimmed = sum(p.trim_equals_media for p in report.pages)
    n = len(report.pages)
    trim = ("TrimBox = MediaBox on every page" if trimmed == n
            else f"TrimBox = MediaBox on {trimmed} of {n} pages")
    return (f"PDF {report.version}; colour: {spaces} ({rgb}); text: "
            f"{_text_colours(pdf)}; transparency: {'; '.join(report.transparency) or 'none'}; "
            f"fonts: {fonts}; {n} pages of {' / '.join(sizes) or 'no size'}, {trim}")


_TEXT_SHOW = frozenset({"Tj", "TJ", "'", '"'})


def _text_colours(pdf: bytes) -> str:
    """The fill colours text is shown in ("K100 only", or a list of what was found)."""
    found: set[str] = set()
    with _open(pdf) as doc:
        for stream, _resources in _walk(doc):
            fill = "g 0"  # the initial fill: DeviceGray black (a form starts from its caller's)
            stack: list[str] = []
            for inst in pikepdf.parse_content_stream(stream):
                if isinstance(inst, ContentStreamInlineImage):
                    continue
                op = str(inst.operator)
                if op == "q":
                    stack.append(fill)
                elif op == "Q" and stack:
                    fill = stack.pop()
                elif op in ("g", "rg", "k", "sc", "scn", "cs"):
                    fill = op + " " + " ".join(str(_num(float(v))) if isinstance(
                        v, int | float | Decimal) else str(v) for v in inst.operands)
                elif op in _TEXT_SHOW:
                    found.add(fill)
    if not found:
        return "none"
    if found <= {"k 0 0 0 1", "g 0"}:
        return "K100 only"
    labels = {"k 0 0 0 1": "K100", "g 0": "K100 (gray 0)"}
    return "fills " + ", ".join(labels.get(f, f) for f in sorted(found))


# --------------------------------------------------------------------------------------------
# Fonts and shared objects


def _font_program(font: Any) -> tuple[Any, bytes] | None:
    """A font's descriptor and the bytes of its embedded program (None if not embedded)."""
    target = font
    if font.get("/Subtype") == Name.Type0 and "/DescendantFonts" in font:
        target = font.DescendantFonts[0]
    descriptor = target.get("/FontDescriptor")
    if descriptor is None:
        return None
    for key in ("/FontFile2", "/FontFile3", "/FontFile"):
        if key in descriptor:
            return descriptor, descriptor[key].read_bytes()
    return None


def _tag(digest: bytes, offset: int) -> str:
    value = int.from_bytes(digest[offset:offset + 8], "big")
    letters = []
    for _ in range(6):
        value, rest = divmod(value, 26)
        letters.append(chr(65 + rest))
    return "".join(letters)


def _rename_subsets(fonts: Sequence[Any]) -> None:
    """Name every subset font ``XXXXXX+Name`` with XXXXXX from a SHA-256 of its program, so
    identical programs get identical names (and merge) and different ones never collide."""
    taken: dict[str, bytes] = {}
    for font in sorted(fonts, key=lambda f: f.objgen):
        if not _SUBSET_TAG.match(str(font.get("/BaseFont", "/"))[1:]):
            continue
        found = _font_program(font)
        if found is None:
            continue
        digest = hashlib.sha256(found[1]).digest()
        for offset in range(len(digest) - 8):
            tag = _tag(digest, offset)
            if taken.setdefault(tag, digest) == digest:  # not another program's tag
                break
        else:
            raise RenderError(f"could not give the font {font.BaseFont} a unique subset name")
        _set_font_tag(font, tag)


def _set_font_tag(font: Any, tag: str) -> None:
    font.BaseFont = _retag(font.BaseFont, tag)
    target = font
    if font.get("/Subtype") == Name.Type0 and "/DescendantFonts" in font:
        target = font.DescendantFonts[0]
        target.BaseFont = _retag(target.BaseFont, tag)
    descriptor = target.get("/FontDescriptor")
    if descriptor is not None:
        descriptor.FontName = _retag(descriptor.get("/FontName", font.BaseFont), tag)


def _retag(name: Any, tag: str) -> Name:
    text = str(name)[1:]
    return Name("/" + tag + (text[6:] if _SUBSET_TAG.match(text) else "+" + text))


class _Hasher:
    """A Merkle hash of PDF objects: an object's digest covers what it references (by content,
    not by object number), so equal resources in different files hash equal. Objects in a
    reference cycle, and pages, have no digest (None)."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, int], bytes | None] = {}

    def digest(self, obj: Any) -> bytes:
        d = self._digest(obj, set())
        if d is None:
            raise RenderError("internal: an image refers back to itself")
        return d

    def maybe(self, obj: Any) -> bytes | None:
        return self._digest(obj, set())

    def _digest(self, obj: Any, visiting: set[tuple[int, int]]) -> bytes | None:
        if not isinstance(obj, pikepdf.Object):  # pikepdf gives numbers and booleans as Python
            return hashlib.sha256(b"V" + repr(obj).encode()).digest()
        if not obj.is_indirect:
            return self._direct(obj, visiting)
        og = obj.objgen
        if og in self._memo:
            return self._memo[og]
        if og in visiting:
            return None
        visiting.add(og)
        inner = self._direct(obj, visiting)
        visiting.discard(og)
        self._memo[og] = None if inner is None else hashlib.sha256(b"R" + inner).digest()
        return self._memo[og]

    def _direct(self, obj: Any, visiting: set[tuple[int, int]]) -> bytes | None:
        h = hashlib.sha256()
        is_dict = isinstance(obj, Dictionary)
        if is_dict and str(obj.get("/Type", "")) in _TREE_TYPES:
            return None
        if is_dict or isinstance(obj, Array):
            text = obj.unparse(resolved=True)
            if b" R" not in text:  # no references inside: hash it as written
                return hashlib.sha256(b"T" + text).digest()
        if is_dict or isinstance(obj, Stream):
            if not is_dict and str(obj.get("/Type", "")) in _TREE_TYPES:
                return None
            h.update(b"S" if isinstance(obj, Stream) else b"D")
            for k in sorted(obj.keys()):
                if k == "/Length":
                    continue
                v = obj[k]
                if not isinstance(v, pikepdf.Object):
                    h.update(k.encode() + b"\0P" + repr(v).encode())
                elif not v.is_indirect and not isinstance(v, Dictionary | Array):
                    h.update(k.encode() + b"\0V" + v.unparse())
                else:
                    d = self._digest(v, visiting)
                    if d is None:
                        return None
                    h.update(k.encode() + b"\0R" + d)
            if isinstance(obj, Stream):
                h.update(b"\0data" + obj.read_raw_bytes())
        elif isinstance(obj, Array):
            h.update(b"A")
            for item in obj:
                d = self._digest(item, visiting)
                if d is None:
                    return None
                h.update(d)
        else:
            h.update(b"V" + obj.unparse())
        return h.digest()


# --------------------------------------------------------------------------------------------
# Measuring: what colour spaces, fonts and boxes a PDF has


def _walk(doc: Pdf) -> Iterator[tuple[Any, Any]]:
    """(content stream or page, resources) for every page, form, tiling pattern, Type 3 glyph
    and annotation appearance, each once."""
    seen: set[tuple[int, int]] = set()
    todo: list[tuple[Any, Any]] = []
    for page in doc.pages:
        todo.append((page.obj, _inherited(page.obj, "/Resources")))
        for annot in page.obj.get("/Annots", Array()):
            ap = annot.get("/AP", Dictionary())
            for appearance in ap.values():
                streams = [appearance] if isinstance(appearance, Stream) else \
                    list(appearance.values()) if isinstance(appearance, Dictionary) else []
                todo.extend((s, s.get("/Resources")) for s in streams)
    while todo:
        obj, resources = todo.pop()
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        yield obj, resources
        if resources is None:
            continue
        for xobject in resources.get("/XObject", Dictionary()).values():
            if xobject.get("/Subtype") == Name.Form:
                todo.append((xobject, xobject.get("/Resources", resources)))
        for pattern in resources.get("/Pattern", Dictionary()).values():
            if int(pattern.get("/PatternType", 0)) == 1:
                todo.append((pattern, pattern.get("/Resources")))
        for font in resources.get("/Font", Dictionary()).values():
            if font.get("/Subtype") == Name.Type3:
                for proc in font.CharProcs.values():
                    todo.append((proc, font.get("/Resources")))


def _label(cs: Any, resources: Any) -> str:
    try:
        return _classify(cs, resources, strict=False).label
    except (KeyError, ValueError, TypeError, AttributeError, IndexError):
        return f"unreadable {cs!r}"


def colour_report(pdf: bytes) -> ColourReport:
    """Measure a PDF: its version and cross-reference form, the colour spaces its content
    streams, images and shadings use, transparency, fonts, page sizes and boxes."""
    content: set[str] = set()
    images: set[str] = set()
    shadings: set[str] = set()
    transparency: list[str] = []
    fonts: dict[tuple[int, int], FontFact] = {}
    device = {"g": "DeviceGray", "rg": "DeviceRGB", "k": "DeviceCMYK"}
    with _open(pdf) as doc:
        pages = []
        for i, page in enumerate(doc.pages, start=1):
            obj = page.obj
            media = [float(v) for v in _inherited(obj, "/MediaBox")]
            trim = obj.get("/TrimBox")
            pages.append(PageFact(
                i, round((media[2] - media[0]) * MM_PER_PT, 2),
                round((media[3] - media[1]) * MM_PER_PT, 2), trim is not None,
                trim is not None and [float(v) for v in trim] == media,
                int(_inherited(obj, "/Rotate") or 0)))
            group = obj.get("/Group")
            if group is not None and group.get("/S") == Name.Transparency:
                transparency.append(f"page {i} transparency group")
        for stream, resources in _walk(doc):
            res = resources if resources is not None else Dictionary()
            for inst in pikepdf.parse_content_stream(stream):
                if isinstance(inst, ContentStreamInlineImage):
                    cs = inst.iimage.obj.get("/ColorSpace")
                    if cs is not None:
                        images.add(_label(_inline_space(cs), res))
                    continue
                op = str(inst.operator)
                if op.lower() in device:
                    content.add(device[op.lower()])
                elif op in ("cs", "CS"):
                    content.add(_label(inst.operands[0], res))
                elif op in ("sc", "SC", "scn", "SCN"):
                    pass  # the space was counted where cs/CS set it (or the default: Gray)
            for xobject in res.get("/XObject", Dictionary()).values():
                if xobject.get("/Subtype") == Name.Image:
                    if not xobject.get("/ImageMask", False):
                        images.add(_label(xobject.get("/ColorSpace", Name.DeviceGray), None))
                    if "/SMask" in xobject or "/Mask" in xobject:
                        transparency.append("image with a soft mask or mask")
                elif xobject.get("/Subtype") == Name.Form:
                    group = xobject.get("/Group")
                    if group is not None and group.get("/S") == Name.Transparency:
                        transparency.append("form XObject transparency group")
            for gs in res.get("/ExtGState", Dictionary()).values():
                for key in ("/CA", "/ca"):
                    if key in gs and float(gs[key]) < 1.0:
                        transparency.append(f"graphics state {key} {float(gs[key])}")
                bm = gs.get("/BM")
                if bm is not None and bm not in (Name.Normal, Name.Compatible):
                    transparency.append(f"blend mode {bm}")
                smask = gs.get("/SMask")
                if smask is not None and smask != Name("/None"):
                    transparency.append("graphics state soft mask")
            for shading in res.get("/Shading", Dictionary()).values():
                shadings.add(_label(shading.ColorSpace, res))
            for pattern in res.get("/Pattern", Dictionary()).values():
                if int(pattern.get("/PatternType", 0)) == 2:
                    shadings.add(_label(pattern.Shading.ColorSpace, res))
            for font in res.get("/Font", Dictionary()).values():
                if font.is_indirect and font.objgen not in fonts:
                    fonts[font.objgen] = _font_fact(font)
        text = pdf[:1024]
        match = re.match(rb"%PDF-(\d\.\d)", text)
        return ColourReport(
            version=match.group(1).decode() if match else "unknown",
            object_streams=re.search(rb"/Type\s*/ObjStm", pdf) is not None,
            xref_stream=re.search(rb"/Type\s*/XRef", pdf) is not None,
            content_spaces=frozenset(content), image_spaces=frozenset(images),
            shading_spaces=frozenset(shadings), transparency=tuple(dict.fromkeys(transparency)),
            fonts=tuple(sorted(fonts.values(), key=lambda f: f.name)), pages=tuple(pages))


@dataclass(frozen=True)
class BundleFacts:
    """What one written PDF contains, measured (for the job ticket): page sizes, colour spaces
    and solid colours set, fonts and their subset names."""

    pages: int
    sizes: frozenset[tuple[float, float]]  # (width, height) in mm, to 0.1 mm
    trimmed: int  # pages whose TrimBox equals their MediaBox
    colour_spaces: frozenset[str]  # set by content streams, images and shadings
    colours: frozenset[tuple[str, tuple[float, ...]]]  # device colours set: ("k", (0,0,0,1))
    fonts: tuple[FontFact, ...]  # one per font object
    shared_subset_names: tuple[str, ...]  # subset names given to two font programs or more


def _stream_bytes(obj: Any) -> bytes:
    contents = obj.get("/Contents") if obj.get("/Type") == Name.Page else obj
    if contents is None:
        return b""
    if isinstance(contents, Array):
        return b"\n".join(part.read_bytes() for part in contents)
    return bytes(contents.read_bytes())


# The job ticket's scan: strings and comments skipped; device colour operators, and the
# colour spaces cs/CS set (sc/scn only pick a colour in the space already counted).
_FACTS = re.compile(
    rb"(?:\[(?:[^\[\]()]|" + _STRING + rb")*\]|" + _STRING
    + rb"|<[0-9A-Fa-f\x00\t\n\x0c\r ]*>|%[^\r\n]*)"
    rb"|(?P<paren>[()])"
    rb"|(?<!" + _REGULAR + rb")(?P<colour>(?:" + _NUMBER + rb"[\x00\t\n\x0c\r ]+){1,4})"
    rb"(?P<cop>rg|RG|g|G|k|K)(?!" + _REGULAR + rb")"
    rb"|(?P<csname>/" + _REGULAR + rb"+)[\x00\t\n\x0c\r ]+(?P<csop>cs|CS)(?!"
    + _REGULAR + rb")", re.S)
# Without literal strings or comments (our own pages: hex strings only), no operator can hide
# inside a string, and every operator is a whitespace-separated token: the colour operators
# are found by splitting the stream, ~20 × faster than the regex scan.
_QUICK_ARITY = {b"g": 1, b"G": 1, b"rg": 3, b"RG": 3, b"k": 4, b"K": 4, b"cs": 0, b"CS": 0}
_QUICK_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")


def _quick_facts(raw: bytes) -> list[tuple[str, tuple[float, ...] | str]] | None:
    """The device colours and colour-space names a stream sets, as (op, operands), or None
    when this token scan cannot be sure (then the regex scan or the parser decides)."""
    if b"(" in raw or b"%" in raw or b"\x00" in raw:
        return None
    tokens = raw.split()
    found: list[tuple[str, tuple[float, ...] | str]] = []
    for i in [i for i, t in enumerate(tokens) if t in _QUICK_ARITY]:
        op = tokens[i]
        n = _QUICK_ARITY[op]
        if n == 0:  # cs/CS: the name before it
            name = tokens[i - 1] if i else b""
            if not name.startswith(b"/") or b"#" in name:
                return None
            found.append(("cs", name.decode("latin-1")))
            continue
        operands = tokens[max(0, i - n):i]
        if len(operands) < n or not all(_QUICK_NUMBER.fullmatch(v) for v in operands) or (
                i > n and _QUICK_NUMBER.fullmatch(tokens[i - n - 1])):
            return None  # too few operands, or more numbers than the operator takes
        found.append((op.decode().lower(), tuple(float(v) for v in operands)))
    return found
_INLINE = re.compile(rb"(?<!" + _REGULAR + rb")BI[\x00\t\n\x0c\r ](?P<dict>.*?)"
                     rb"(?<!" + _REGULAR + rb")ID[\x00\t\n\x0c\r ]", re.S)
_INLINE_END = re.compile(rb"[\x00\t\n\x0c\r ]EI(?!" + _REGULAR + rb")")
_INLINE_CS = re.compile(rb"/(?:CS|ColorSpace)[\x00\t\n\x0c\r ]*(/" + _REGULAR + rb"+|\[[^\]]*\])")
_INLINE_NAMES = {b"/G": "DeviceGray", b"/DeviceGray": "DeviceGray", b"/RGB": "DeviceRGB",
                 b"/DeviceRGB": "DeviceRGB", b"/CMYK": "DeviceCMYK",
                 b"/DeviceCMYK": "DeviceCMYK"}


def _inline_images(raw: bytes) -> Iterator[re.Match[bytes]]:
    """_INLINE's matches, found from each "BI" (the regex's leading look-behind makes
    finditer try every position: 30 × slower on a page of text)."""
    at = raw.find(b"BI")
    while at >= 0:
        m = _INLINE.match(raw, at)
        if m is None:
            at = raw.find(b"BI", at + 2)
            continue
        yield m
        end = _INLINE_END.search(raw, m.end())
        at = raw.find(b"BI", end.end() if end is not None else m.end())


def _without_inline_images(raw: bytes) -> tuple[bytes, set[str] | None]:
    """A content stream with its inline images cut out, and their colour spaces; None when
    an inline image is not one this quick scan can read (the stream is parsed instead)."""
    if b"BI" not in raw:
        return raw, set()
    pieces, spaces, last = [], set(), 0
    for m in _inline_images(raw):
        end = _INLINE_END.search(raw, m.end())
        if end is None:
            return raw, None
        found = _INLINE_CS.search(m.group("dict"))
        if re.search(rb"/(?:IM|ImageMask)[\x00\t\n\x0c\r ]*true", m.group("dict")):
            pass  # a stencil mask paints in the fill colour, counted where it is set
        elif found is None:
            spaces.add("DeviceGray")
        else:
            value = found.group(1)
            items = value.strip(b"[]").split()
            if value in _INLINE_NAMES:
                spaces.add(_INLINE_NAMES[value])
            elif value.startswith(b"[") and items[:1] in ([b"/I"], [b"/Indexed"]) and \
                    len(items) > 1 and items[1] in _INLINE_NAMES:
                spaces.add(f"Indexed({_INLINE_NAMES[items[1]]})")
            else:
                return raw, None  # a named or unusual space: let the parser resolve it
        pieces.append(raw[last:m.start()])
        last = end.end()
    pieces.append(raw[last:])
    return b" ".join(pieces), spaces


def _quick_label(cs: Any) -> str:
    """An image's colour space label; an indexed space without reading its palette (every
    page's DataMatrix has one)."""
    if isinstance(cs, Array) and len(cs) == 4 and str(cs[0]) in ("/Indexed", "/I"):
        return f"Indexed({_quick_label(cs[1])})"
    return _label(cs, None)


def bundle_facts(path: Path) -> BundleFacts:
    """Measure a written PDF for the job ticket. Content streams are scanned with the
    post-processing's one-pass regex (device colour operators); a stream that sets colour
    spaces (cs/CS) is parsed instead. ~0.5 ms a page."""
    spaces: set[str] = set()
    colours: set[tuple[str, tuple[float, ...]]] = set()
    fonts: dict[tuple[int, int], FontFact] = {}
    programs: dict[str, set[bytes]] = {}
    device = {"g": "DeviceGray", "rg": "DeviceRGB", "k": "DeviceCMYK"}
    with Pdf.open(path) as doc:
        sizes: set[tuple[float, float]] = set()
        trimmed = pages = 0
        for page in doc.pages:
            pages += 1
            media = [float(v) for v in _inherited(page.obj, "/MediaBox")]
            sizes.add((round((media[2] - media[0]) * MM_PER_PT, 1),
                       round((media[3] - media[1]) * MM_PER_PT, 1)))
            trim = page.obj.get("/TrimBox")
            trimmed += trim is not None and [float(v) for v in trim] == media
        for obj, resources in _walk(doc):
            res = resources if resources is not None else Dictionary()
            raw, inline = _without_inline_images(_stream_bytes(obj))
            parse = inline is None
            spaces.update(inline or ())
            quick = None if parse else _quick_facts(raw)
            for op, operands in quick or ():
                if isinstance(operands, str):
                    spaces.add(_label(Name(operands), res))
                else:
                    spaces.add(device[op])
                    colours.add((op, operands))
            for m in () if parse or quick is not None else _FACTS.finditer(raw):
                if m.lastgroup == "paren":
                    parse = True
                    break
                if m.lastgroup == "cop":
                    op = m.group("cop").decode().lower()
                    spaces.add(device[op])
                    colours.add((op, tuple(float(v) for v in m.group("colour").split())))
                elif m.lastgroup == "csop":
                    name = m.group("csname").decode("latin-1")
                    spaces.add(_label(Name(name), res) if "#" not in name else name)
            if parse:
                for inst in pikepdf.parse_content_stream(obj):
                    if isinstance(inst, ContentStreamInlineImage):
                        cs = inst.iimage.obj.get("/ColorSpace")
                        if cs is not None:
                            spaces.add(_label(_inline_space(cs), res))
                        continue
                    op = str(inst.operator)
                    if op.lower() in device:
                        spaces.add(device[op.lower()])
                        colours.add((op.lower(), tuple(float(v) for v in inst.operands)))
                    elif op in ("cs", "CS"):
                        spaces.add(_label(inst.operands[0], res))
            for xobject in res.get("/XObject", Dictionary()).values():
                if xobject.get("/Subtype") == Name.Image and not xobject.get("/ImageMask", False):
                    spaces.add(_quick_label(xobject.get("/ColorSpace", Name.DeviceGray)))
            for shading in res.get("/Shading", Dictionary()).values():
                spaces.add(_label(shading.ColorSpace, res))
            for font in res.get("/Font", Dictionary()).values():
                if font.is_indirect and font.objgen not in fonts:
                    fact = fonts[font.objgen] = _font_fact(font)
                    found = _font_program(font)
                    if fact.subset and found is not None:
                        programs.setdefault(fact.name, set()).add(
                            hashlib.sha256(found[1]).digest())
    return BundleFacts(pages, frozenset(sizes), trimmed, frozenset(spaces), frozenset(colours),
                       tuple(sorted(fonts.values(), key=lambda f: f.name)),
                       tuple(sorted(n for n, p in programs.items() if len(p) > 1)))


def _font_fact(font: Any) -> FontFact:
    subtype = str(font.get("/Subtype", "/?"))[1:]
    name = str(font.get("/BaseFont", "/(unnamed)"))[1:]
    if subtype == "Type3":
        return FontFact(name, "Type3", True, False)
    if subtype == "Type0" and "/DescendantFonts" in font:
        subtype += "/" + str(font.DescendantFonts[0].get("/Subtype", "/?"))[1:]
    found = _font_program(font)
    if found is not None and "/FontFile3" in found[0]:
        subtype = str(found[0].FontFile3.get("/Subtype", "/" + subtype))[1:]
    return FontFact(name, subtype, found is not None, _SUBSET_TAG.match(name) is not None)


def text_boxes(pdf: bytes, page: int = 0, *, lines: bool = False) -> list[TextBox]:
    """The words (or, with ``lines=True``, the lines) of one page, read by PDFium, in mm from
    the sheet's top-left corner: the box of the glyphs' ink (what a window shows and a fold
    cuts) and the baseline. (LibreOffice 7.4 writes /Ascent 0 /Descent 0 in its font
    descriptors, so font-metric boxes from other tools are unreliable for its PDFs.)"""
    doc = pdfium.PdfDocument(pdf)
    try:
        sheet = doc[page]
        textpage = sheet.get_textpage()
        words = page_words(sheet, textpage)
        textpage.close()
        sheet.close()
    finally:
        doc.close()
    return _join_lines(words) if lines else words


def page_words(sheet: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> list[TextBox]:
    """:func:`text_boxes` for a page already open (the caller closes both)."""
    left, _bottom, _right, top = sheet.get_mediabox()
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count) if count else ""
    if len(text) != count:  # characters outside the BMP: read them one by one
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i)) for i in range(count))
    words: list[TextBox] = []
    x0, y0, x1, y1 = (ctypes.c_double() for _ in range(4))
    refs = [ctypes.byref(v) for v in (x0, x1, y0, y1)]  # left, right, bottom, top
    ox, oy = ctypes.c_double(), ctypes.c_double()
    word: list[str] = []
    box = [0.0, 0.0, 0.0, 0.0]  # left, bottom, right, top in points
    baseline = size = 0.0

    def flush() -> None:
        if word:
            words.append(TextBox(
                "".join(word), round((box[0] - left) * MM_PER_PT, 3),
                round((top - box[3]) * MM_PER_PT, 3), round((box[2] - left) * MM_PER_PT, 3),
                round((top - box[1]) * MM_PER_PT, 3), round((top - baseline) * MM_PER_PT, 3),
                round(size, 2)))
            word.clear()

    for i, char in enumerate(text):
        if char.isspace() or char == "\x00":  # PDFium marks line ends and gaps with spaces
            flush()
            continue
        pdfium_c.FPDFText_GetCharBox(textpage, i, *refs)
        if not word:
            pdfium_c.FPDFText_GetCharOrigin(textpage, i, ctypes.byref(ox), ctypes.byref(oy))
            baseline, size = oy.value, pdfium_c.FPDFText_GetFontSize(textpage, i)
            box[:] = [x0.value, y0.value, x1.value, y1.value]
        else:
            box[:] = [min(box[0], x0.value), min(box[1], y0.value),
                      max(box[2], x1.value), max(box[3], y1.value)]
        word.append(char)
    flush()
    return words


def _join_lines(words: list[TextBox]) -> list[TextBox]:
    """Consecutive words on one baseline, left to right and less than 1.5 em apart (not the
    next table cell), form a line."""
    out: list[TextBox] = []
    for word in words:
        if out:
            last = out[-1]
            em = max(word.size, last.size) * MM_PER_PT
            if last.x1 <= word.x0 < last.x1 + 1.5 * em and \
                    abs(word.baseline - last.baseline) < 0.3 * em:
                out[-1] = TextBox(f"{last.text} {word.text}", last.x0, min(last.y0, word.y0),
                                  max(last.x1, word.x1), max(last.y1, word.y1), last.baseline,
                                  max(last.size, word.size))
                continue
        out.append(word)
    return out


def pdf_date(year: int, month: int, day: int) -> str:
    """A :class:`PdfInfo` date for a letter date (midnight UTC)."""
    return f"D:{year:04d}{month:02d}{day:02d}000000Z"


__all__ = ["BundleBuilder", "BundleFacts", "ColourReport", "ConvertedDocument", "FontFact",
           "ImageCache", "ImageToCmyk", "PageFact", "PdfInfo", "RgbToCmyk", "TextBox",
           "bundle_facts", "colour_report", "gcr_image_to_cmyk", "gcr_rgb_to_cmyk",
           "merge_bundle", "page_words", "pdf_date", "print_ready", "split_pages",
           "text_boxes", "word_print_facts"]
