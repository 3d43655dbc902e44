"""Sign-off material for a proof run: a PNG contact sheet, per authority, of the letters most
likely to look wrong — a re-issue, the longest feedback, the longest address, a name with
accents or another script — then the first in postage order."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Candidate:
    """A produced letter, with what makes it worth a look."""

    authority: str
    key: str  # participant id (or team, for notes)
    path: str  # relative to the run folder
    feedback: int = 0  # characters of feedback
    address: int = 0  # characters of the longest address line
    other_script: bool = False  # the name is not plain ASCII
    reissue: bool = False


def pick(letters: Iterable[Candidate]) -> dict[str, list[tuple[Candidate, str]]]:
    """Up to PER_AUTHORITY letters per authority, each with why it was chosen, in one pass."""
    best: dict[str, dict[str, Candidate]] = {}
    first: dict[str, list[Candidate]] = {}
    for c in letters:
        top = best.setdefault(c.authority, {})
        if c.reissue and "re-issue" not in top:
            top["re-issue"] = c
        if c.feedback and c.feedback > getattr(top.get("longest feedback"), "feedback", 0):
            top["longest feedback"] = c
        if c.address and c.address > getattr(top.get("longest address"), "address", 0):
            top["longest address"] = c
        if c.other_script and "accents" not in top:
            top["accents"] = c
        head = first.setdefault(c.authority, [])
        if len(head) < PER_AUTHORITY:
            head.append(c)
    rows: dict[str, list[tuple[Candidate, str]]] = {}
    for code, top in best.items():
        chosen: list[tuple[Candidate, str]] = []
        for why in ("re-issue", "longest feedback", "longest address", "accents"):
            found = top.get(why)
            if found is not None and all(found.key != k.key for k, _ in chosen):
                chosen.append((found, why))
        for c in first[code]:
            if len(chosen) < PER_AUTHORITY and all(c.key != k.key for k, _ in chosen):
                chosen.append((c, "first"))
        rows[code] = chosen[:PER_AUTHORITY]
    return rows


def contact_sheet(root: Path, letters: Iterable[Candidate]) -> bytes | None:
    """The contact sheet as PNG, one row per authority (see :func:`pick`); each thumbnail is
    labelled with the authority, the id and why it is there. ``letters`` in bundle order."""
    rows = pick(letters)
    if not rows:
        return None
    thumbs = {code: [_thumbnail(root / item.path) for item, _ in items]
              for code, items in rows.items()}
    height = max(t.height for ts in thumbs.values() for t in ts)
    label = 22
    sheet = Image.new("RGB", (GAP + PER_AUTHORITY * (THUMB_WIDTH + GAP),
                              GAP + len(thumbs) * (height + label + GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    y = GAP
    for code, images in thumbs.items():
        for i, (thumb, (item, why)) in enumerate(zip(images, rows[code], strict=True)):
            x = GAP + i * (THUMB_WIDTH + GAP)
            draw.text((x, y), f"{code}  {item.key}  ({why})", fill="black")
            sheet.paste(thumb, (x, y + label))
            draw.rectangle((x - 1, y + label - 1, x + thumb.width, y + label + thumb.height),
                           outline="#999999")
        y += height + label + GAP
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
