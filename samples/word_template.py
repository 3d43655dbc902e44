"""Make the sample Word letterhead, samples/letters/templates/hc-letter.docx (python-docx).

A comms team would make this in Word; it is generated here so the sample is reproducible.
Placeholders are Jinja2 ({{ first_name }} ...), filled by hhp-letters with its own sandboxed,
escaping environment. Run: python samples/word_template.py
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
OUT = HERE / "letters" / "templates" / "hc-letter.docx"
LOGO = HERE / "letters" / "brand" / "hc-logo.png"
BRAND = RGBColor(0x7A, 0x2E, 0x5B)
FIXED_TIME = (2026, 10, 1, 0, 0, 0)


def build() -> None:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin, section.bottom_margin = Mm(45), Mm(20)
    section.header_distance = Mm(12)
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)

    # Letterhead in the header: logo left, return address right.
    header = section.header
    table = header.add_table(rows=1, cols=2, width=Mm(160))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.rows[0].cells
    left.paragraphs[0].add_run().add_picture(str(LOGO), width=Mm(60))
    for i, line in enumerate(("County Hall", "Mere Road", "HARROWMERE", "HW1 2BQ")):
        p = right.paragraphs[0] if i == 0 else right.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        p.paragraph_format.space_after = Pt(0)
        run = p.add_run(line)
        run.font.size = Pt(9)

    # Address block (in the DL window: 20 mm from the left edge, 55 mm from the top).
    addr = doc.add_paragraph()
    addr.paragraph_format.space_before = Mm(10)
    addr.paragraph_format.left_indent = Mm(0)
    # exactly 11 pt lines, as the native letters: six lines fit the window's 24 mm band
    addr.paragraph_format.line_spacing = Pt(11)
    addr.add_run("{{ name_line }}\n{{ address }}").font.size = Pt(10)
    date = doc.add_paragraph("{{ date }}")
    date.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    date.paragraph_format.space_before = Mm(8)  # above the first fold (99 mm), whatever follows

    # the letter starts below the window's reach (95 mm) and the first fold (99 mm)
    doc.add_paragraph("Dear {{ first_name }},").paragraph_format.space_before = Mm(12)
    doc.add_paragraph("On behalf of everyone at Harrowmere County Council, thank you for the "
                      "work you do for children and families in {{ area }}.")
    doc.add_paragraph("Your team manager told me about your work this year. In their words:")
    for name in ("feedback_1", "feedback_2"):
        p = doc.add_paragraph()
        p.paragraph_format.left_indent = Mm(10)
        run = p.add_run("\u201c{{ " + name + " }}\u201d")
        run.italic = True
        run.font.color.rgb = BRAND
    doc.add_paragraph("Work like yours changes children's lives, and I wanted you to know that "
                      "it is seen and valued. Thank you.")
    doc.add_paragraph("With best wishes,")
    doc.add_paragraph("{{ signature }}")
    signatory = doc.add_paragraph()
    signatory.paragraph_format.space_after = Pt(0)
    signatory.add_run("{{ signatory.name }}").bold = True
    doc.add_paragraph("{{ signatory.title }}")

    core = doc.core_properties
    core.author = "Harrowmere County Council (fictional)"
    core.title = "Recognition letter template"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(OUT))  # python-docx is typed for str paths only
    _fix_zip_times(OUT)


def _fix_zip_times(path: Path) -> None:
    """python-docx stamps the time into the zip; fix it so the file is reproducible."""
    with zipfile.ZipFile(path) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(fixed, data)


if __name__ == "__main__":
    build()
    print(f"wrote {OUT}")
