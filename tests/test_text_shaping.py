"""Shaped text in real PDFs: what pypdf, PDFium, poppler and qpdf see, and where the ink lands.

Every test builds a small PDF with :class:`TextEncoder` (catalog, pages, content BT … ET, the
encoder's font objects) and opens it the way a print house or a verifier would.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import pypdf
import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from fontTools.ttLib import TTFont
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageFilter
from pypdf.generic import DictionaryObject, PdfObject, StreamObject

from hhp_letters.render.pdf import stream
from hhp_letters.render.text import Fonts, TextEncoder, subset_tag, to_unicode_cmap

FONTS = Path(__file__).resolve().parents[1] / "templates" / "fonts"
CGJ = "\u034f"  # combining grapheme joiner: an invisible mark (keeps a word in Noto Sans)

NAMES = [
    ("Ŵyn ŷr Ní Bhriain Ó Súilleabháin", "regular"),
    ("Łukasz Żółć João Conceição", "bold"),
    ("Ọ́lá Àdìgún Ògúnlẹ̀ Ụ̀chẹ́ Nwáńkwọ́", "regular"),
    ("Nguyễn Thị Ngọc Ánh Trần Văn Đức", "italic"),
    ("Şükrü Çağlar İlkay Gündoğan", "regular"),
    ("Αλέξανδρος Παπαδόπουλος Владимир Щукин Ёлкина", "bold"),
    ("office fluffy affiliation", "regular"),
    ("office fluffy affiliation", "bold"),
    ("office fluffy affiliation", "italic"),
    ("O’Brien (Smith) back\\slash ((x)) 10\u00a0Downing", "regular"),
]


@pytest.fixture(scope="module")
def fonts() -> Fonts:
    return Fonts.load(FONTS)


Line = tuple[str, str, float, float, float]  # text, style, size, x, y


def build_pdf(encoder: TextEncoder, pages: Sequence[Sequence[Line]],
              media: tuple[float, float] = (595.0, 842.0)) -> bytes:
    """A minimal PDF: one page per entry, every line drawn with ``encoder.show``."""
    contents = [b"BT\n" + b"".join(encoder.show(t, s, size, x, y) for t, s, size, x, y in page)
                + b"ET\n" for page in pages]
    first_font = 3 + 2 * len(pages)
    font_objects, names = encoder.pdf_objects(first_font)
    font_dict = " ".join(f"/{name} {num} 0 R" for name, num in names.items())
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
    }
    for i, content in enumerate(contents):
        objects[3 + 2 * i] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {media[0]} {media[1]}] "
            f"/Resources << /Font << {font_dict} >> >> /Contents {4 + 2 * i} 0 R >>").encode()
        objects[4 + 2 * i] = stream(content, {})
    objects.update(font_objects)
    out = bytearray(b"%PDF-1.7\n")
    offsets = {}
    for n in sorted(objects):
        offsets[n] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (n, objects[n])
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def one_page(fonts: Fonts, lines: Sequence[tuple[str, str]], size: float = 11) -> bytes:
    encoder = TextEncoder(fonts)
    return build_pdf(encoder, [[(t, s, size, 40, 800 - 20 * i) for i, (t, s) in
                                enumerate(lines)]])


def folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def pypdf_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def pdfium_text(pdf: bytes) -> list[str]:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def test_names_read_back_with_pypdf_and_pdfium(fonts: Fonts) -> None:
    for text, style in NAMES:
        assert fonts.unprintable(text, style) == []
    pdf = one_page(fonts, NAMES)
    want = folded(" ".join(t for t, _ in NAMES))
    assert folded(pypdf_text(pdf)[0]) == want
    assert folded(pdfium_text(pdf)[0]) == want


def test_word_font_choice(fonts: Fonts) -> None:
    encoder = TextEncoder(fonts)
    # Carlito has Ọ but no mark positioning; the acute makes the whole word Noto Sans
    shown = encoder.show("Smith Ọ́lá Àdìgún", "regular", 11, 0, 0)
    assert re.findall(rb"/(F\w+) 11 Tf", shown) == [b"FR0", b"FR1", b"FR0"]
    assert encoder.resource_names() == {"FR0": "Carlito-Regular", "FR1": "NotoSans-Regular"}
    # the proof watermark's rotated line
    assert encoder.show("PROOF", "bold", 100, 10.5, 20, matrix=(0.8, 0.6, -0.6, 0.8)).startswith(
        b"0.8 0.6 -0.6 0.8 10.5 20 Tm /FB0 100 Tf [<")


def test_unprintable_names_what_no_font_has(fonts: Fonts) -> None:
    assert fonts.unprintable("Zoë 😀 smiles 😀", "regular") == ["😀"]
    assert fonts.unprintable("Ada\u0378", "bold") == ["\u0378"]  # unassigned
    assert fonts.unprintable("𠀀 Li", "italic") == ["𠀀"]  # CJK Extension B
    assert fonts.unprintable("\u0301ab", "regular") == ["\u0301"]  # a mark with no letter
    assert fonts.unprintable("Ọ́lá\nNguyễn", "regular") == []
    encoder = TextEncoder(fonts)
    with pytest.raises(ValueError, match=r"U\+1F600"):
        encoder.show("Zoë 😀", "regular", 11, 0, 0)


LETTERS = [chr(c) for r in ((0x41, 0x24F), (0x1E00, 0x1EFF), (0x370, 0x3FF), (0x400, 0x4FF))
           for c in range(r[0], r[1] + 1) if unicodedata.category(chr(c))[0] == "L"]
MARKS = [chr(c) for r in ((0x300, 0x36F), (0x483, 0x489)) for c in range(r[0], r[1] + 1)]
words = st.lists(st.sampled_from(LETTERS) | st.sampled_from(MARKS), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# the same mark twice at one spot: PDFium drops a repeated character code there
@example(["Ęȉ̭̠҇҇n", "Е̶̶̯̦", "ä̈̈"], "bold")
@given(st.lists(words.map("".join), min_size=1, max_size=10),
       st.sampled_from(["regular", "bold", "italic"]))
def test_any_name_reads_back_or_is_reported(fonts: Fonts, names: list[str], style: str) -> None:
    printable = []
    for word in names:
        missing = fonts.unprintable(word, style)
        if missing:  # reported: the characters really are in the word, and it is never drawn
            assert set(missing) <= set(unicodedata.normalize("NFC", word))
            with pytest.raises(ValueError, match="cannot print"):
                TextEncoder(fonts).show(word, style, 11, 0, 0)
        else:
            printable.append(word)
    if not printable:
        return
    pdf = one_page(fonts, [(" ".join(printable[i:i + 5]), style)
                           for i in range(0, len(printable), 5)])
    want = folded(" ".join(printable))
    assert folded(pypdf_text(pdf)[0]) == want
    assert folded(pdfium_text(pdf)[0]) == want


def render(pdf: bytes, dpi: float = 600) -> list[Image.Image]:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()


def ink(image: Image.Image) -> Image.Image:
    """Pixels that are clearly ink, without the anti-aliased fringe."""
    return image.point(lambda v: 255 if v < 96 else 0)


def extra_ink(with_it: Image.Image, without: Image.Image) -> tuple[int, int, int, int] | None:
    # the fringe of the letters both share differs by a pixel or two: open it away
    diff = ImageChops.subtract(ink(with_it), ink(without).filter(ImageFilter.MaxFilter(5)))
    return diff.filter(ImageFilter.MinFilter(3)).getbbox()


@pytest.mark.parametrize("word", ["Ọ́lá", "Ògúnlẹ̀", "Ụ̀chẹ́", "Nwáńkwọ́", "W̃yn", "Ю́лия"])
def test_marks_sit_over_their_letters(fonts: Fonts, word: str) -> None:
    word = unicodedata.normalize("NFC", word)
    marks = [i for i, c in enumerate(word) if unicodedata.category(c) == "Mn"]
    plain = "".join(CGJ if i in marks else c for i, c in enumerate(word))
    pages: list[list[Line]] = [[(plain, "regular", 24, 10, 20)]]
    for m in marks:
        base = max(i for i in range(m) if i not in marks)
        with_mark = plain[:m] + word[m] + plain[m + 1:]
        pages += [[(with_mark, "regular", 24, 10, 20)],
                  [(plain[:base + 1] + CGJ, "regular", 24, 10, 20)],
                  [(plain[:base] + CGJ, "regular", 24, 10, 20)] if base else []]
    images = render(build_pdf(TextEncoder(fonts), pages, media=(200, 60)))
    for n, m in enumerate(marks):
        mark_box = extra_ink(images[1 + 3 * n], images[0])
        base_box = extra_ink(images[2 + 3 * n], images[3 + 3 * n])
        assert mark_box is not None and base_box is not None
        tolerance = 0.02 * 24 / 72 * 600  # 2% of the em: anti-aliasing, not placement
        assert base_box[0] - tolerance <= mark_box[0] and mark_box[2] <= base_box[2] + tolerance, (
            f"{word[m]!r} over {word[:m]!r}: mark x {mark_box[0]}–{mark_box[2]}, "
            f"letter x {base_box[0]}–{base_box[2]}")
        # centred on it as the font's anchors say (a mark left at the pen is ≥ 0.2 off)
        centre_offset = (mark_box[0] + mark_box[2] - base_box[0] - base_box[2]) / 2
        assert abs(centre_offset) <= 0.18 * (base_box[2] - base_box[0])
        # above or below the letter, not beside it at the baseline
        assert mark_box[3] <= base_box[1] + tolerance or mark_box[1] >= base_box[3] - tolerance


def char_origins(pdf: bytes) -> list[tuple[str, float]]:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        page = doc[0].get_textpage()
        out = []
        x, y = ctypes.c_double(), ctypes.c_double()
        for i in range(page.count_chars()):
            char = chr(pdfium_c.FPDFText_GetUnicode(page.raw, i))
            if pdfium_c.FPDFText_GetCharOrigin(page.raw, i, ctypes.byref(x), ctypes.byref(y)):
                out.append((char, x.value))
        return out
    finally:
        doc.close()


@pytest.mark.parametrize(("text", "style", "size"), [
    ("AVATAR Wolf Tyrone VAWA", "regular", 11),
    ("Ọ́lá Smith office Nguyễn Thị", "bold", 9.5),
    ("Ògúnlẹ̀ affiliation Ŵ ŷ Щукин", "italic", 14),
    ("a  double  space", "regular", 12),
])
def test_width_is_the_drawn_advance(fonts: Fonts, text: str, style: str, size: float) -> None:
    x0 = 50.0
    pdf = build_pdf(TextEncoder(fonts), [[(text + " |", style, size, x0, 400)]])
    origins = char_origins(pdf)
    bar = [x for c, x in origins if c == "|"]
    assert len(bar) == 1
    assert bar[0] - x0 == pytest.approx(fonts.width(text + " ", style, size), abs=0.05)
    assert fonts.width(text + " |", style, size) == pytest.approx(
        fonts.width(text, style, size) + fonts.width(" |", style, size), abs=1e-9)
    # every word starts where the widths before it say
    starts = [x for (c, x), prev in zip(origins, [" ", *[c for c, _ in origins]], strict=False)
              if prev == " " and c != " "]
    expected = [x0 + fonts.width(text[:i], style, size) for i in range(len(text))
                if text[i] != " " and (i == 0 or text[i - 1] == " ")]
    assert starts[:len(expected)] == pytest.approx(expected, abs=0.05)


def all_styles_pdf(fonts: Fonts) -> bytes:
    return one_page(fonts, [("Ọ́lá Smith office", s) for s in ("regular", "bold", "italic")])


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="needs poppler-utils")
def test_pdffonts_sees_every_font_embedded_with_unicode(fonts: Fonts, tmp_path: Path) -> None:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(all_styles_pdf(fonts))
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    rows = [re.fullmatch(r"(\S+)\s+(CID TrueType)\s+(Identity-H)\s+(\w+)\s+(\w+)\s+(\w+)\s+"
                         r"\d+\s+\d+", line) for line in listing]
    assert all(rows) and len(rows) == 6, listing
    names = [r.group(1) for r in rows if r]
    assert all(r.group(4, 5, 6) == ("yes", "yes", "yes") for r in rows if r)
    assert len(set(names)) == 6
    assert all(re.fullmatch(r"[A-Z]{6}\+(Carlito|NotoSans)\S*", n) for n in names)
    assert not any("Helvetica" in line for line in listing)


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="needs qpdf")
def test_qpdf_check_passes(fonts: Fonts, tmp_path: Path) -> None:
    path = tmp_path / "check.pdf"
    path.write_bytes(one_page(fonts, NAMES))
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _pdf_dict(obj: PdfObject, *keys: str) -> DictionaryObject:
    """``obj[key]...``, each step followed if indirect: a dictionary in these PDFs, which pypdf
    can only type as its PdfObject base class."""
    for key in keys:
        obj = cast(DictionaryObject, obj.get_object())[key]
    return cast(DictionaryObject, obj.get_object())


def font_programs(pdf: bytes) -> dict[str, bytes]:
    """BaseFont → FontFile2 bytes of every descendant font."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    out = {}
    for font in _pdf_dict(reader.pages[0], "/Resources", "/Font").values():
        cid_font = font.get_object()["/DescendantFonts"][0].get_object()
        program = cid_font["/FontDescriptor"]["/FontFile2"].get_object().get_data()
        out[str(cid_font["/BaseFont"])[1:]] = program
    return out


def test_same_text_gives_the_same_bytes_and_tags_name_the_program(fonts: Fonts) -> None:
    first = all_styles_pdf(fonts)
    assert all_styles_pdf(Fonts.load(FONTS)) == first  # a new run, fresh caches
    programs = font_programs(first)
    for name, program in programs.items():
        assert name[:6] == subset_tag(program)
    other = font_programs(one_page(fonts, [("Ọ́lá Smith offices", "regular")]))
    carlito = {n[7:]: (n[:6], p) for n, p in programs.items()}["Carlito"]
    changed = {n[7:]: (n[:6], p) for n, p in other.items()}["Carlito"]
    assert changed[1] != carlito[1] and changed[0] != carlito[0]


DIGEST_SCRIPT = """
import hashlib, sys
from pathlib import Path
from hhp_letters.render.text import Fonts, TextEncoder
encoder = TextEncoder(Fonts.load(Path(sys.argv[1])))
lines = b"".join(encoder.show(t, s, 11, 40, 700) for t, s in {lines!r})
objects, names = encoder.pdf_objects(10)
print(hashlib.sha256(lines + b"".join(b for _, b in objects) + repr(names).encode()).hexdigest())
"""


def test_output_does_not_depend_on_the_hash_seed(fonts: Fonts) -> None:
    # this process has a random hash seed (or the one CI set); the child gets another
    seed = "4242" if os.environ.get("PYTHONHASHSEED") != "4242" else "7"
    child = subprocess.run([sys.executable, "-c", DIGEST_SCRIPT.format(lines=NAMES), str(FONTS)],
                           capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
    encoder = TextEncoder(Fonts.load(FONTS))
    lines = b"".join(encoder.show(t, s, 11, 40, 700) for t, s in NAMES)
    objects, names = encoder.pdf_objects(10)
    here = hashlib.sha256(lines + b"".join(b for _, b in objects) + repr(names).encode())
    assert child == here.hexdigest()


def test_widths_agree_with_the_embedded_programs(fonts: Fonts) -> None:
    """/W is what the font program says (PDF/A checks this), and subsets stay small."""
    reader = pypdf.PdfReader(io.BytesIO(one_page(fonts, NAMES)))
    for font in _pdf_dict(reader.pages[0], "/Resources", "/Font").values():
        cid_font = font.get_object()["/DescendantFonts"][0].get_object()
        program = TTFont(io.BytesIO(cid_font["/FontDescriptor"]["/FontFile2"].get_data()))
        cid_to_gid = cid_font["/CIDToGIDMap"].get_data()
        widths = cid_font["/W"]
        assert widths[0] == 1 and len(cid_to_gid) == 2 * (len(widths[1]) + 1)
        order = program.getGlyphOrder()
        upem = program["head"].unitsPerEm
        # a subset: the glyphs used and their accent components, not the 2,800+ of the font
        assert len(order) < 3 * (len(widths[1]) + 1) < 300
        for cid, width in enumerate(widths[1], start=1):
            gid = int.from_bytes(cid_to_gid[2 * cid:2 * cid + 2], "big")
            assert 0 < gid < len(order)
            advance = program["hmtx"][order[gid]][0]
            assert abs(float(width) - advance * 1000 / upem) <= 0.5


def test_to_unicode_writes_astral_text_as_surrogate_pairs(fonts: Fonts) -> None:
    cmap = to_unicode_cmap([(1, "𝐀"), (2, "ffi"), (3, "Ọ́")]).decode("ascii")
    assert "<0001> <D835DC00>" in cmap
    assert "<0002> <006600660069>" in cmap
    # and readers take it: give the glyphs of "Ab" that CMap
    pdf = _replace_tounicode(one_page(fonts, [("Ab", "regular")]),
                             to_unicode_cmap([(1, "𝐀"), (2, "𝐁")]))
    assert folded(pypdf_text(pdf)[0]) == "𝐀𝐁"
    assert folded(pdfium_text(pdf)[0]) == "𝐀𝐁"


def _replace_tounicode(pdf: bytes, cmap: bytes) -> bytes:
    """The PDF with its only font's ToUnicode CMap swapped for ``cmap``."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    writer = pypdf.PdfWriter(clone_from=reader)
    font = _pdf_dict(writer.pages[0], "/Resources", "/Font", "/FR0")
    to_unicode = cast(StreamObject, font["/ToUnicode"].get_object())
    to_unicode.set_data(cmap)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_text_after_the_fonts_are_written_is_refused(fonts: Fonts) -> None:
    encoder = TextEncoder(fonts)
    drawn = encoder.show("Smith", "regular", 11, 0, 0)
    objects, names = encoder.pdf_objects(1)
    # written again for another document: the same bodies, numbered anew
    again, renamed = encoder.pdf_objects(101)
    assert names == {"FR0": 1} and renamed == {"FR0": 101}
    assert [n for n, _ in again] == [n + 100 for n, _ in objects]
    assert b"/DescendantFonts [102 0 R]" in again[0][1]
    assert again[3][1] == objects[3][1] and b"/Length1" in again[3][1]  # the same subset
    assert encoder.show("Smith", "regular", 11, 0, 0) == drawn  # already has its CIDs
    with pytest.raises(RuntimeError, match="after the fonts were written"):
        encoder.show("Jones", "regular", 11, 0, 0)


def test_shaped_word_cache_stays_bounded() -> None:
    fonts = Fonts.load(FONTS, cache_size=100)
    for n in range(1000):
        fonts.width(f"word{n}", "regular", 11)
    lookups, shaped, cached = fonts.cache_info()
    assert (lookups, shaped) == (1000, 1000)
    assert cached <= 100
