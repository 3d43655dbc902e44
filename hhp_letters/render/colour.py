"""Brand colours and logos in CMYK, through one CMYK output profile (LittleCMS via Pillow).

A brand colour given in CMYK is used as it is. One given as sRGB hex goes through the profile
with relative colorimetric intent and black point compensation, and :meth:`CmykConverter.delta_e`
says how far the print will be from the screen colour (CIEDE2000, both relative to their white).

Neutral colours are kept on the black plate alone: an ICC separation builds greys from all four
inks (FOGRA39 50 % grey is about C17 M14 Y14 K54), which registers badly in small text and
rules. Exact neutrals (R = G = B) in brand colours and logos, and every pixel of a logo that is
neutral as a whole, become K-only, with K chosen so the lightness matches what the profile would
have printed (white → K0, black → K100).

Build one :class:`CmykConverter` per run and pass it down: building its transforms is the slow
part.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PIL import Image, ImageChops, ImageCms

from hhp_letters.render.pdfx import IccInfo

DEFAULT_PROFILE = "HHP-FOGRA39.icc"
# A logo whose pixels all have R, G, B within this of each other is a grey logo (allows JPEG
# chroma noise); in a colour logo only exact neutrals go K-only, so colour edges stay smooth.
GREY_IMAGE_TOLERANCE = 6
# sRGB → XYZ (D50, Bradford-adapted), the matrix LittleCMS's built-in sRGB profile uses.
_SRGB_D50 = ((0.4360747, 0.3850649, 0.1430804),
             (0.2225045, 0.7168786, 0.0606169),
             (0.0139322, 0.0971045, 0.7141733))
_D50 = (0.9642, 1.0, 0.8249)


class ColourError(ValueError):
    """A colour or profile we cannot use; the message says how to fix it."""


@dataclass(frozen=True)
class Cmyk:
    """Ink percentages, 0–100 each."""

    c: float
    m: float
    y: float
    k: float

    def __post_init__(self) -> None:
        for name in "cmyk":
            value = getattr(self, name)
            if not 0 <= value <= 100:
                raise ColourError(f"CMYK {name.upper()} = {value} is outside 0–100 %")

    @property
    def total(self) -> float:
        """Total area coverage (TAC), in percent."""
        return self.c + self.m + self.y + self.k

    def operator(self, *, stroke: bool = False) -> str:
        """The PDF colour operator, e.g. ``0.82 0.46 0 0.46 k``."""
        values = " ".join(_number(v / 100) for v in (self.c, self.m, self.y, self.k))
        return f"{values} {'K' if stroke else 'k'}"

    def __str__(self) -> str:
        return f"C{self.c:g} M{self.m:g} Y{self.y:g} K{self.k:g}"


@dataclass(frozen=True)
class Rgb:
    """An sRGB colour, 0–255 per channel."""

    r: int
    g: int
    b: int

    @property
    def hex(self) -> str:
        return f"#{self.r:02X}{self.g:02X}{self.b:02X}"

    @property
    def neutral(self) -> bool:
        return self.r == self.g == self.b


@dataclass(frozen=True)
class Lab:
    """CIELAB, D50 (the ICC connection space)."""

    l: float  # noqa: E741 - the colour science name
    a: float
    b: float


Colour = Rgb | Cmyk

_HEX = re.compile(r"#?([0-9A-Fa-f]{6})")
_CMYK = re.compile(r"(?:cmyk)?\s*\(?\s*([\d.]+)%?\s*[, ]\s*([\d.]+)%?\s*[, ]\s*([\d.]+)%?"
                   r"\s*[, ]\s*([\d.]+)%?\s*\)?", re.IGNORECASE)


def parse_colour(text: str) -> Colour:
    """``#1F4E79`` (sRGB) or ``cmyk(100, 60, 0, 20)`` (percent, used as is)."""
    value = text.strip()
    if m := _HEX.fullmatch(value):
        n = int(m.group(1), 16)
        return Rgb(n >> 16, (n >> 8) & 0xFF, n & 0xFF)
    if m := _CMYK.fullmatch(value):
        return Cmyk(*(float(g) for g in m.groups()))
    raise ColourError(f"colour {text!r} is neither sRGB hex like \"#1F4E79\" nor CMYK percent "
                      f"like \"cmyk(100, 60, 0, 20)\"")


def _number(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _srgb_linear(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _lab_f(t: float) -> float:
    return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29


def srgb_to_lab(colour: Rgb) -> Lab:
    """Exact sRGB → CIELAB (D50), computed in floating point rather than through 8-bit Lab."""
    lin = [_srgb_linear(v / 255) for v in (colour.r, colour.g, colour.b)]
    x, y, z = (sum(row[i] * lin[i] for i in range(3)) / w for row, w in zip(_SRGB_D50, _D50,
                                                                             strict=True))
    fx, fy, fz = _lab_f(x), _lab_f(y), _lab_f(z)
    return Lab(116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))


def ciede2000(lab1: Lab, lab2: Lab) -> float:
    """CIEDE2000 colour difference (kL = kC = kH = 1)."""
    c1, c2 = math.hypot(lab1.a, lab1.b), math.hypot(lab2.a, lab2.b)
    c_mean7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - math.sqrt(c_mean7 / (c_mean7 + 25 ** 7)))
    a1, a2 = lab1.a * (1 + g), lab2.a * (1 + g)
    cp1, cp2 = math.hypot(a1, lab1.b), math.hypot(a2, lab2.b)
    hp1 = math.degrees(math.atan2(lab1.b, a1)) % 360 if cp1 else 0.0
    hp2 = math.degrees(math.atan2(lab2.b, a2)) % 360 if cp2 else 0.0
    dl, dc = lab2.l - lab1.l, cp2 - cp1
    dh = 0.0
    if cp1 * cp2:
        dh = hp2 - hp1
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    d_big_h = 2 * math.sqrt(cp1 * cp2) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (lab1.l + lab2.l) / 2, (cp1 + cp2) / 2
    h_mean = hp1 + hp2
    if cp1 * cp2:
        h_mean = (hp1 + hp2) / 2 if abs(hp1 - hp2) <= 180 else (
            (hp1 + hp2 + 360) / 2 if hp1 + hp2 < 360 else (hp1 + hp2 - 360) / 2)
    t = (1 - 0.17 * math.cos(math.radians(h_mean - 30)) + 0.24 * math.cos(math.radians(2 * h_mean))
         + 0.32 * math.cos(math.radians(3 * h_mean + 6))
         - 0.20 * math.cos(math.radians(4 * h_mean - 63)))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    cp_mean7 = cp_mean ** 7
    r_t = (-2 * math.sqrt(cp_mean7 / (cp_mean7 + 25 ** 7))
           * math.sin(math.radians(60 * math.exp(-(((h_mean - 275) / 25) ** 2)))))
    return math.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (d_big_h / s_h) ** 2
                     + r_t * (dc / s_c) * (d_big_h / s_h))


def default_profile_path() -> Path:
    """The bundled profile: inside the wheel, else in the source tree's ``templates/icc``."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package / "_resources" / "templates", package.parent / "templates"):
        candidate = folder / "icc" / DEFAULT_PROFILE
        if candidate.is_file():
            return candidate
    raise ColourError(f"the bundled ICC profile {DEFAULT_PROFILE} is missing from the "
                      f"installation: reinstall hhp-letters")


@dataclass(frozen=True)
class BrandConversion:
    """A brand colour and what will be printed for it."""

    source: Colour
    cmyk: Cmyk
    delta_e: float | None  # CIEDE2000 screen → proofed print; None for a colour given in CMYK


class CmykConverter:
    """sRGB → CMYK and CMYK → Lab proofs through one CMYK output profile."""

    def __init__(self, profile: bytes | None = None) -> None:
        data = default_profile_path().read_bytes() if profile is None else profile
        info = IccInfo.parse(data)
        if info.device_class != "prtr" or info.colour_space != "CMYK":
            raise ColourError(f"ICC profile is a {info.device_class!r} profile for "
                              f"{info.colour_space.strip()!r}: give a CMYK output profile")
        self.profile_bytes = data
        self.characterisation = info.characterisation
        self._cmyk = ImageCms.ImageCmsProfile(io.BytesIO(data))
        self.description = ImageCms.getProfileDescription(self._cmyk).strip()
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
        relative = ImageCms.Intent.RELATIVE_COLORIMETRIC
        bpc = ImageCms.Flags.BLACKPOINTCOMPENSATION
        # Brand colours go through an unoptimised transform (no precalculated 8-bit grid) for
        # accuracy; images use the optimised one for speed.
        self._colour = ImageCms.buildTransform(srgb, self._cmyk, "RGB", "CMYK", relative,
                                               bpc | ImageCms.Flags.NOOPTIMIZE)
        self._image = ImageCms.buildTransform(srgb, self._cmyk, "RGB", "CMYK", relative, bpc)
        self._proof = ImageCms.buildTransform(self._cmyk, lab, "CMYK", "LAB", relative,
                                              ImageCms.Flags.NOOPTIMIZE)
        self._grey_k = self._grey_to_k()

    def _grey_to_k(self) -> bytes:
        """For each sRGB grey level 0–255, the K (0–255) that prints the same lightness.

        The target follows black point compensation: sRGB black maps to the K100 black of the
        press, white to paper, luminance linearly in between (as LittleCMS's BPC does).
        """
        ramp = Image.new("CMYK", (256, 1))
        ramp.putdata([(0, 0, 0, k) for k in range(256)])
        proof = _apply(ramp, self._proof)
        lightness = [_lab8(proof.getpixel((k, 0))).l for k in range(256)]
        y_black = _y_from_l(lightness[255])
        table = bytearray()
        for grey in range(256):
            y = y_black + _srgb_linear(grey / 255) * (1 - y_black)
            target = 116 * _lab_f(y) - 16
            table.append(min(range(256), key=lambda k: (abs(lightness[k] - target), k)))
        return bytes(table)

    def proof_lab(self, cmyk: Cmyk) -> Lab:
        """What ``cmyk`` prints as, relative to paper white (8-bit Lab: ±0.2 L*, ±0.5 a*b*)."""
        pixel = Image.new("CMYK", (1, 1), tuple(round(v * 2.55) for v in
                                                (cmyk.c, cmyk.m, cmyk.y, cmyk.k)))
        return _lab8(_apply(pixel, self._proof).getpixel((0, 0)))

    def brand_cmyk(self, colour: Colour | str) -> Cmyk:
        """CMYK for a brand colour, in whole percent (how print specs state brand colours)."""
        return self.convert(colour).cmyk

    def convert(self, colour: Colour | str) -> BrandConversion:
        value = parse_colour(colour) if isinstance(colour, str) else colour
        if isinstance(value, Cmyk):
            return BrandConversion(value, value, None)
        if value.neutral:
            cmyk = Cmyk(0, 0, 0, round(self._grey_k[value.r] / 2.55))
        else:
            pixel = Image.new("RGB", (1, 1), (value.r, value.g, value.b))
            cmyk = Cmyk(*(round(v / 2.55) for v in _pixel(_apply(pixel, self._colour))))
        return BrandConversion(value, cmyk, self.delta_e(value, cmyk))

    def delta_e(self, colour: Rgb, cmyk: Cmyk) -> float:
        """CIEDE2000 between the sRGB colour and ``cmyk`` proofed back through the profile."""
        return ciede2000(srgb_to_lab(colour), self.proof_lab(cmyk))

    def image_to_cmyk(self, image: Image.Image) -> Image.Image:
        """A CMYK copy of ``image`` for the press; CMYK images come back unchanged.

        Transparency is flattened onto white (PDF/X-1a has none). An RGB image's embedded ICC
        profile is honoured; untagged RGB is taken as sRGB. Grey images (L, 1, or RGB within
        :data:`GREY_IMAGE_TOLERANCE`) print on K alone; in colour images, exact neutral pixels do.
        """
        if image.mode == "CMYK":
            return image
        if image.mode not in ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "La"):
            raise ColourError(f"cannot print a {image.mode} image: save the logo as RGB, "
                              f"greyscale or CMYK")
        flat = _flatten(image)
        if flat.mode == "L":
            out = self._k_only(flat)
        else:
            r, g, b = flat.split()
            spread = ImageChops.subtract(ImageChops.lighter(ImageChops.lighter(r, g), b),
                                         ImageChops.darker(ImageChops.darker(r, g), b))
            lo, hi = cast("tuple[int, int]", spread.getextrema())  # one band: (min, max)
            if hi <= GREY_IMAGE_TOLERANCE:
                out = self._k_only(flat.convert("L"))
            else:
                out = self._transform(flat, image.info.get("icc_profile"))
                if lo == 0:
                    neutral = spread.point(lambda v: 255 if v == 0 else 0)
                    out = Image.composite(self._k_only(r), out, neutral)
        if "dpi" in image.info:  # keep the placed resolution the layout computed with
            out.info["dpi"] = image.info["dpi"]
        return out

    def _k_only(self, grey: Image.Image) -> Image.Image:
        zero = Image.new("L", grey.size, 0)
        return Image.merge("CMYK", (zero, zero, zero, grey.point(list(self._grey_k))))

    def _transform(self, rgb: Image.Image, embedded: object) -> Image.Image:
        transform = self._image
        if isinstance(embedded, bytes):
            source = ImageCms.ImageCmsProfile(io.BytesIO(embedded))
            transform = ImageCms.buildTransform(
                source, self._cmyk, "RGB", "CMYK", ImageCms.Intent.RELATIVE_COLORIMETRIC,
                ImageCms.Flags.BLACKPOINTCOMPENSATION)
        return _apply(rgb, transform)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB or L, with any transparency composited onto white."""
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La", "PA"):
        image = image.convert("LA") if image.mode != "PA" else image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        base = "RGB" if image.mode == "RGBA" else "L"
        white = Image.new(base, image.size, 255 if base == "L" else (255, 255, 255))
        white.paste(image.convert(base), mask=image.getchannel("A"))
        return white
    if image.mode == "RGBX":
        return image.convert("RGB")
    return image


def _apply(image: Image.Image, transform: ImageCms.ImageCmsTransform) -> Image.Image:
    out = ImageCms.applyTransform(image, transform)
    if out is None:  # only with inPlace=True, which we never ask for
        raise ColourError("colour transform returned no image")
    return out


def _pixel(image: Image.Image) -> tuple[int, ...]:
    value = image.getpixel((0, 0))
    if not isinstance(value, tuple):
        raise ColourError("colour transform returned a single channel")
    return tuple(int(v) for v in value)


def _lab8(value: object) -> Lab:
    """Pillow's 8-bit LAB pixel (L 0–255 for 0–100, a and b offset by 128) as Lab."""
    if not isinstance(value, tuple) or len(value) != 3:
        raise ColourError("Lab transform returned an unexpected pixel")
    lv, av, bv = (int(v) for v in value)
    return Lab(lv * 100 / 255, av - 128, bv - 128)


def _y_from_l(lightness: float) -> float:
    f = (lightness + 16) / 116
    return f ** 3 if f > 6 / 29 else 3 * (6 / 29) ** 2 * (f - 4 / 29)


def brand_cmyk(colour: Colour | str, converter: CmykConverter | None = None) -> Cmyk:
    """CMYK for a brand colour (see :meth:`CmykConverter.brand_cmyk`)."""
    return (converter or CmykConverter()).brand_cmyk(colour)


def delta_e(colour: Rgb | str, converter: CmykConverter | None = None) -> float:
    """CIEDE2000 between an sRGB brand colour and its CMYK conversion, proofed."""
    value = parse_colour(colour) if isinstance(colour, str) else colour
    if not isinstance(value, Rgb):
        raise ColourError("ΔE needs an sRGB colour: a colour given in CMYK is printed as is")
    conv = converter or CmykConverter()
    return conv.delta_e(value, conv.brand_cmyk(value))


def image_to_cmyk(image: Image.Image, converter: CmykConverter | None = None) -> Image.Image:
    """A CMYK copy of a logo (see :meth:`CmykConverter.image_to_cmyk`)."""
    return (converter or CmykConverter()).image_to_cmyk(image)
