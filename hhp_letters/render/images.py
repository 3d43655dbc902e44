"""Logo and signature images, prepared once per run for print: CMYK, no transparency."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageMath, ImageStat

from hhp_letters.errors import InternalError
from hhp_letters.render.colour import CmykConverter
from hhp_letters.render.pdf import stream

MM_PER_INCH = 25.4
TARGET_PPI = 300  # print wants ≥ 300 ppi as placed; more only makes every file bigger
MAX_INDEX_ERROR = 1.5  # mean difference per channel (of 255) that 256 colours may cause


@dataclass(frozen=True)
class PreparedImage:
    width_px: int
    height_px: int
    aspect: float  # height / width
    body: bytes  # the image XObject (dictionary + stream)


def _on_white(img: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto white (print has no transparency)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return img.convert("RGB")


def to_cmyk(img: Image.Image) -> Image.Image:
    """Flatten any transparency onto white, then RGB → CMYK with full black generation,
    so black ink prints as K only (Pillow's own conversion makes 300 % rich black)."""
    r, g, b = _on_white(img).split()
    lightest = ImageChops.lighter(ImageChops.lighter(r, g), b)  # max(R, G, B)
    k = ImageChops.invert(lightest)

    def channel(c: Image.Image) -> Image.Image:
        # (max - c) * 255 / max, and 0 where max is 0 (black: all K)
        out = ImageMath.lambda_eval(
            lambda e: e["convert"]((e["m"] - e["v"]) * 255 / (e["m"] + (e["m"] == 0)), "L"),
            m=lightest, v=c)
        if not isinstance(out, Image.Image):
            raise InternalError("ImageMath returned a number, not an image")
        return out

    return Image.merge("CMYK", (channel(r), channel(g), channel(b), k))


def prepare_image(path: Path, placed_width_mm: float,
                  converter: CmykConverter | None = None) -> PreparedImage:
    """The image as a PDF XObject at ~300 ppi as placed, in CMYK for the press (through the
    ICC profile when ``converter`` is given; a CMYK JPEG or TIFF is used as it is). Logos and
    signatures have few colours: they are stored as 256 CMYK colours (/Indexed) when that
    changes no pixel by more than a trace, a quarter of the data; anything richer as full CMYK."""
    with Image.open(path) as src:
        src.load()
        cmyk_source = src.mode == "CMYK"
        picture = src.copy() if cmyk_source else _on_white(src)
        icc = src.info.get("icc_profile")
    if icc is not None and not cmyk_source:
        picture.info["icc_profile"] = icc
    target_w = max(1, round(placed_width_mm / MM_PER_INCH * TARGET_PPI))
    if picture.width > target_w:
        target_h = max(1, round(picture.height * target_w / picture.width))
        resized = picture.resize((target_w, target_h), Image.Resampling.LANCZOS)
        resized.info.update(picture.info)
        picture = resized
    size = {"Type": "/XObject", "Subtype": "/Image", "Width": str(picture.width),
            "Height": str(picture.height), "BitsPerComponent": "8"}
    convert = converter.image_to_cmyk if converter is not None else to_cmyk
    if cmyk_source:  # the brand guide's own CMYK: never converted
        body = stream(_adobe_inverted(picture).tobytes(), {**size, "ColorSpace": "/DeviceCMYK"})
        return PreparedImage(picture.width, picture.height, picture.height / picture.width,
                             body)
    indexed = picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                               dither=Image.Dither.NONE)
    error = ImageStat.Stat(ImageChops.difference(picture, indexed.convert("RGB"))).mean
    if max(error) <= MAX_INDEX_ERROR:
        palette = indexed.getpalette() or []
        count = len(palette) // 3
        colours = Image.frombytes("RGB", (count, 1), bytes(palette[:count * 3]))
        if icc is not None:
            colours.info["icc_profile"] = icc
        lookup = convert(colours).tobytes().hex().upper()
        body = stream(indexed.tobytes(), {
            **size, "ColorSpace": f"[/Indexed /DeviceCMYK {count - 1} <{lookup}>]"})
    else:
        body = stream(convert(picture).tobytes(), {**size, "ColorSpace": "/DeviceCMYK"})
    return PreparedImage(picture.width, picture.height, picture.height / picture.width, body)


def _adobe_inverted(image: Image.Image) -> Image.Image:
    """Pillow reads Adobe CMYK JPEGs inverted; PDF wants ink amounts."""
    return ImageChops.invert(image) if image.info.get("adobe_transform") is not None and \
        image.format == "JPEG" else image


def flatten_onto_white(source: Path, target: Path) -> None:
    """An RGB PNG copy of ``source`` with any transparency composited onto white (for Word
    templates: LibreOffice would otherwise export the alpha channel as a soft mask)."""
    with Image.open(source) as img:
        _on_white(img).save(target, format="PNG")
