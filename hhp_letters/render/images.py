"""Logo and signature images, prepared once per run for print: CMYK, no transparency."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageMath

from hhp_letters.render.pdf import stream

MM_PER_INCH = 25.4
TARGET_PPI = 300  # print wants ≥ 300 ppi as placed; more only makes every file bigger


@dataclass(frozen=True)
class PreparedImage:
    width_px: int
    height_px: int
    aspect: float  # height / width
    body: bytes  # the image XObject (dictionary + stream)


def to_cmyk(img: Image.Image) -> Image.Image:
    """Flatten any transparency onto white, then RGB → CMYK with full black generation,
    so black ink prints as K only (Pillow's own conversion makes 300 % rich black)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    rgb = img.convert("RGB")
    r, g, b = rgb.split()
    lightest = ImageChops.lighter(ImageChops.lighter(r, g), b)  # max(R, G, B)
    k = ImageChops.invert(lightest)

    def channel(c: Image.Image) -> Image.Image:
        # (max - c) * 255 / max, and 0 where max is 0 (black: all K)
        out = ImageMath.lambda_eval(
            lambda e: e["convert"]((e["m"] - e["v"]) * 255 / (e["m"] + (e["m"] == 0)), "L"),
            m=lightest, v=c)
        assert isinstance(out, Image.Image)
        return out

    return Image.merge("CMYK", (channel(r), channel(g), channel(b), k))


def prepare_image(path: Path, placed_width_mm: float) -> PreparedImage:
    with Image.open(path) as src:
        src.load()
        img: Image.Image = src
        target_w = max(1, round(placed_width_mm / MM_PER_INCH * TARGET_PPI))
        if img.width > target_w:
            target_h = max(1, round(img.height * target_w / img.width))
            img = img.resize((target_w, target_h), Image.Resampling.LANCZOS)
        cmyk = to_cmyk(img)
    body = stream(cmyk.tobytes(), {
        "Type": "/XObject", "Subtype": "/Image", "Width": str(cmyk.width),
        "Height": str(cmyk.height), "ColorSpace": "/DeviceCMYK", "BitsPerComponent": "8"})
    return PreparedImage(cmyk.width, cmyk.height, cmyk.height / cmyk.width, body)


def effective_ppi(path: Path, placed_width_mm: float) -> float:
    with Image.open(path) as img:
        return img.width / (placed_width_mm / MM_PER_INCH)


def flatten_onto_white(source: Path, target: Path) -> None:
    """An RGB PNG copy of ``source`` with any transparency composited onto white (for Word
    templates: LibreOffice would otherwise export the alpha channel as a soft mask)."""
    with Image.open(source) as img:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        Image.alpha_composite(white, rgba).convert("RGB").save(target, format="PNG")
