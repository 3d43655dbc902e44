"""Sign-off material for a proof run: a PNG contact sheet of the first letters per authority."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw

PER_AUTHORITY = 4
THUMB_WIDTH = 300  # pixels; an A4 page at ~36 dpi
GAP = 16


def _thumbnail(pdf: Path) -> Image.Image:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        page = doc[0]
        scale = THUMB_WIDTH / page.get_width()
        image: Image.Image = page.render(scale=scale).to_pil().convert("RGB")
        page.close()
    finally:
        doc.close()
    return image


def contact_sheet(root: Path, letters: Iterable[tuple[str, str, str]]) -> bytes | None:
    """Thumbnails of the first few letters of each authority, one row per authority, as PNG.
    ``letters``: (authority, participant id, path relative to ``root``) in bundle order."""
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for letter in letters:
        chosen = rows.setdefault(letter[0], [])
        if len(chosen) < PER_AUTHORITY:
            chosen.append(letter)
    if not rows:
        return None
    thumbs = {code: [_thumbnail(root / item[2]) for item in items]
              for code, items in rows.items()}
    height = max(t.height for ts in thumbs.values() for t in ts)
    label = 22
    sheet = Image.new("RGB", (GAP + PER_AUTHORITY * (THUMB_WIDTH + GAP),
                              GAP + len(thumbs) * (height + label + GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    y = GAP
    for code, images in thumbs.items():
        for i, (thumb, item) in enumerate(zip(images, rows[code], strict=True)):
            x = GAP + i * (THUMB_WIDTH + GAP)
            draw.text((x, y), f"{code}  {item[1]}", fill="black")
            sheet.paste(thumb, (x, y + label))
            draw.rectangle((x - 1, y + label - 1, x + thumb.width, y + label + thumb.height),
                           outline="#999999")
        y += height + label + GAP
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
