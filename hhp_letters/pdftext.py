"""The one way hhp-letters reads text back from a PDF: PDFium's text layer (fast, and what a
viewer shows). Used by the Word read-back and by `verify`."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium


class UnreadablePdf(Exception):
    """The bytes are not a PDF PDFium can open (for `verify`, a failed check)."""


def page_count_and_text(pdf: bytes | Path) -> tuple[int, str]:
    """Page count and the text of every page (pages separated by form feeds)."""
    try:
        doc = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    except pdfium.PdfiumError as exc:  # the boundary: PDFium's way of saying "not a PDF"
        raise UnreadablePdf(str(exc)) from exc
    try:
        texts = []
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            texts.append(str(textpage.get_text_range()))
            textpage.close()
            page.close()
        return len(doc), "\f".join(texts)
    finally:
        doc.close()
