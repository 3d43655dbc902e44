"""The letter as the print house and the postman see it: open the PDFs and measure.

The address block lies in the envelope window's clear area, every line of it present and in
order (POST TOWN in capitals, the postcode alone on the last line, no commas or full stops),
and nothing else is within the window's reach. The body keeps to its margins, prints every
word of the feedback, and stops above the bottom margin. Geometry comes from
:class:`~hhp_letters.render.geometry.Window`, never from the layout code under test.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from conftest import CampaignBuilder, read_problems, run_cli
from PIL import Image

from hhp_letters.campaign import ENVELOPES, Envelope
from hhp_letters.render.geometry import Rect, Window

MM = 72 / 25.4
TOL = 0.5  # points
# The letter's design (print-spec): 25 mm side margins, nothing below 279 mm.
LEFT_MM, RIGHT_MM, BOTTOM_MM = 25.0, 185.0, 279.0
LOGO_TOP_MM, LOGO_MAX_W_MM, LOGO_MAX_H_MM = 12.0, 65.0, 22.0

HEADER = ["Participant ID", "First name", "Known as", "Last name", "Arm", "Local authority",
          "Address line 1", "Address line 2", "Address line 3", "Town", "Post Code"]
URL = "https://example.org/" + "recognition-of-outstanding-practice-" * 3 + "in-social-work"
LONG = ("You led the review of every open case in the team this spring, and you did it with "
        "care, patience and a clear eye for what each child needed next. Colleagues still "
        "use the checklist you wrote, which is here: " + URL + " and which the whole service "
        "now follows when a case changes hands.")
# id -> list row (after the id), feedback (line 1, line 2)
PEOPLE: dict[str, tuple[list[Any], tuple[str, str]]] = {
    "L01": (["Alice", "", "Smith", "treatment", "BF", "Flat 2, Rowan Court.", "12 High St.", "",
             "bracknell", "rg12 1jd"],
            ("You turned a difficult case around.", "Your notes are a model for the team.")),
    "L02": (["Robert", "Bob", "Jones", "treatment", "HC", "3 Fore Street", "", "Bengeo",
             "Hertford", "SG14 3AA"],
            ("Families trust you, and so do we.", "You always make time for new colleagues.")),
    "L03": (["Dev", "", "Patel", "control", "HC", "4 Mill Lane", "", "", "Ware", "SG12 9AA"],
            ("", "")),
    "L04": (["Chloe", "", "Brown", "treatment", "BF", "5 Station Road", "", "", "Bracknell",
             "RG42 1AB"],
            (LONG, "Thank you for covering the duty desk, week after week, without a word.")),
}
BRAND = (82, 45, 0, 46)  # as a brand guide gives it: printed exactly so
RETURN_BF = ["Time Square", "Market Street", "BRACKNELL", "RG12 1JD"]


def folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def squeezed(text: str) -> str:
    """Text with no white space at all: wrapping (and breaking a long word) cannot change it."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def expected_address(row: list[Any]) -> list[str]:
    """Royal Mail style, worked out from the list row: name, street lines without commas or
    full stops, POST TOWN in capitals, postcode last."""
    first, _, last = row[0], row[1], row[2]
    streets = [" ".join(re.sub(r"[,.]", " ", s).split()) for s in row[5:8] if s]
    postcode = "".join(row[9].split()).upper()
    return [f"{first} {last}", *streets, row[8].upper(), f"{postcode[:-3]} {postcode[-3:]}"]


# --- reading a page -------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    fonts: frozenset[str]


def _box(obj: dict[str, Any]) -> Rect:
    return Rect(float(obj["x0"]), float(obj["top"]), float(obj["x1"]), float(obj["bottom"]))


def _pt(r: Rect) -> Rect:
    return Rect(r.x0 * MM, r.y0 * MM, r.x1 * MM, r.y1 * MM)


def touches(obj: dict[str, Any], area: Rect) -> bool:
    return _box(obj).intersects(area)


@dataclass(frozen=True)
class PageView:
    lines: tuple[Line, ...]
    text: str
    chars: tuple[dict[str, Any], ...]
    images: tuple[dict[str, Any], ...]
    rects: tuple[dict[str, Any], ...]
    rules: tuple[dict[str, Any], ...]
    pages: int
    every_char: tuple[dict[str, Any], ...]  # spaces too, as the text layer has them

    def lines_in(self, area: Rect) -> list[Line]:
        """Text lines made of the characters that reach into ``area`` (in points)."""
        return _lines([c for c in self.chars if touches(c, area)])

    def exact_lines_in(self, area: Rect) -> list[str]:
        """The same lines, spelled exactly as the text layer has them (spaces and all)."""
        return [_exact(line, [c for c in self.every_char if touches(c, area)])
                for line in self.lines_in(area)]


def _exact(line: Line, chars: list[dict[str, Any]]) -> str:
    mine = sorted((c for c in chars if abs(float(c["top"]) - line.top) < 2
                   and line.x0 - 1 <= float(c["x0"]) <= line.x1 + 1),
                  key=lambda c: float(c["x0"]))
    text = ""
    for prev, c in pairwise(mine):
        text += prev["text"]
        if float(c["x0"]) - float(prev["x1"]) > 1.0 and " " not in (prev["text"], c["text"]):
            text += " "  # a gap drawn by positioning, not by a space
    return text + (mine[-1]["text"] if mine else "")


def _lines(chars: list[dict[str, Any]]) -> list[Line]:
    """Characters → lines: the same top, and no gap wider than a few spaces (the date shares
    the addressee's line height but is a line of its own)."""
    rows: dict[float, list[dict[str, Any]]] = {}
    for c in chars:
        rows.setdefault(round(float(c["top"]), 0), []).append(c)
    segments: list[list[dict[str, Any]]] = []
    for _, group in sorted(rows.items()):
        group.sort(key=lambda c: float(c["x0"]))
        segments.append([group[0]])
        for c in group[1:]:
            if float(c["x0"]) - float(segments[-1][-1]["x1"]) > 10 * MM:
                segments.append([c])
            else:
                segments[-1].append(c)
    return [_line(s) for s in segments]


def _line(chars: list[dict[str, Any]]) -> Line:
    text = chars[0]["text"]
    for prev, c in pairwise(chars):
        if float(c["x0"]) - float(prev["x1"]) > 1.0:
            text += " "
        text += c["text"]
    return Line(" ".join(text.split()), min(float(c["x0"]) for c in chars),
                min(float(c["top"]) for c in chars), max(float(c["x1"]) for c in chars),
                max(float(c["bottom"]) for c in chars),
                frozenset(str(c["fontname"]) for c in chars))


def read_page(path: Path) -> PageView:
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        chars = tuple(c for c in page.chars if c["text"].strip())
        return PageView(tuple(_lines(list(chars))), page.extract_text() or "", chars,
                        tuple(page.images), tuple(page.rects), tuple(page.lines),
                        len(pdf.pages), tuple(page.chars))


def letters(run: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted((run / "letters").glob("*/*.pdf"))}


def allocations(run: Path) -> dict[str, dict[str, Any]]:
    records = [json.loads(line) for line in (run / "audit.jsonl").read_text().splitlines()]
    return {str(r["participant_id"]): r for r in records if r["event"] == "allocation"}


# --- campaigns -------------------------------------------------------------------------------

def builder(root: Path, people: dict[str, tuple[list[Any], tuple[str, str]]]) -> CampaignBuilder:
    b = CampaignBuilder(root, fmt="xlsx")
    b.header = list(HEADER)
    b.rows = [[pid, *row] for pid, (row, _) in people.items()]
    b.feedback = {"team.csv": [[pid, *fb] for pid, (row, fb) in people.items()
                               if row[3] == "treatment"]}
    b.toml_edits.append(('"data/feedback/*.csv", "data/feedback/*.xlsx"', '"data/feedback/*.csv"'))
    return b


def envelope_toml(env: Envelope) -> str:
    return (f'envelope = {{ name = "{env.name}", width = {env.width:g}, '
            f"height = {env.height:g}, window_width = {env.window_width:g}, "
            f"window_height = {env.window_height:g}, window_left = {env.window_left:g}, "
            f'window_bottom = {env.window_bottom:g}, fold = "{env.fold}" }}')


def make_run(b: CampaignBuilder, out: Path, *extra: str) -> Path:
    b.build()
    result = run_cli("letters", str(b.root), "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def main_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four rows: two street lines, or lines 1 and 3 only, a 'Known as' name, a control, a
    long feedback with a URL; BF in its brand colour, HC with a square logo; fold marks."""
    base = tmp_path_factory.mktemp("layout")
    b = builder(base / "camp", PEOPLE)
    b.toml_edits += [('logo = "brand/bf-logo.png"\n',
                      'logo = "brand/bf-logo.png"\ncolour = { cmyk = [82, 45, 0, 46] }\n'),
                     ('sort = "postcode"\n', 'sort = "postcode"\nfold_marks = true\n')]
    b.build()
    Image.new("RGB", (100, 100), (120, 30, 40)).save(b.root / "brand" / "hc-logo.png")
    result = run_cli("letters", str(b.root), "--out", str(base / "run"))
    assert result.exit_code == 0, result.output
    return base / "run"


@pytest.fixture(scope="module")
def pages(main_run: Path) -> dict[str, PageView]:
    return {pid: read_page(path) for pid, path in letters(main_run).items()}


DL = Window.for_envelope(ENVELOPES["DL"])


# --- the address ------------------------------------------------------------------------------

def test_one_letter_per_treatment_row(pages: dict[str, PageView]) -> None:
    assert sorted(pages) == ["L01", "L02", "L04"]
    assert all(p.pages == 1 for p in pages.values())


def test_the_window_shows_every_address_line_in_order_and_nothing_else(
        pages: dict[str, PageView]) -> None:
    for pid, page in pages.items():
        shown = page.lines_in(_pt(DL.reach))
        assert [line.text for line in shown] == expected_address(PEOPLE[pid][0]), pid


def test_the_address_block_lies_in_the_clear_area_left_aligned(
        pages: dict[str, PageView]) -> None:
    area = _pt(DL.address)
    for pid, page in pages.items():
        shown = page.lines_in(_pt(DL.reach))
        assert shown, pid
        for line in shown:
            assert line.x0 >= area.x0 - TOL and line.x1 <= area.x1 + TOL, (pid, line)
            assert line.top >= area.y0 - TOL and line.bottom <= area.y1 + TOL, (pid, line)
            assert abs(line.x0 - area.x0) <= TOL, (pid, line)  # every line at the window's edge
        assert shown[-1].text == expected_address(PEOPLE[pid][0])[-1]  # postcode alone, last
        assert all(not re.search(r"[,.]", line.text) for line in shown)


def test_nothing_but_text_of_the_address_is_in_the_windows_reach(
        pages: dict[str, PageView]) -> None:
    reach = _pt(DL.reach)
    for pid, page in pages.items():
        for kind, objects in (("image", page.images), ("rect", page.rects),
                              ("line", page.rules)):
            inside = [o for o in objects if touches(o, reach)]
            assert not inside, (pid, kind, inside)


def test_address_lines_have_no_doubled_or_trailing_spaces(pages: dict[str, PageView]) -> None:
    for pid, page in pages.items():
        assert page.exact_lines_in(_pt(DL.reach)) == expected_address(PEOPLE[pid][0]), pid


def test_post_town_in_capitals_and_postcode_normalised(pages: dict[str, PageView]) -> None:
    shown = [line.text for line in pages["L01"].lines_in(_pt(DL.reach))]
    assert shown[-2:] == ["BRACKNELL", "RG12 1JD"]
    assert shown[1:3] == ["Flat 2 Rowan Court", "12 High St"]


def test_a_post_town_is_printed_without_full_stops(tmp_path: Path) -> None:
    row, fb = PEOPLE["L01"]
    b = builder(tmp_path / "camp", {"L01": ([*row[:8], "St. Albans", "AL1 1AA"], fb)})
    run = make_run(b, tmp_path / "run")
    shown = [line.text for line in read_page(letters(run)["L01"]).lines_in(_pt(DL.reach))]
    assert shown[-2:] == ["ST ALBANS", "AL1 1AA"]
    verified = run_cli("verify", str(run), "--rerender")  # the read-back agrees
    assert verified.exit_code == 0, verified.output


def test_greeting_uses_the_known_as_name_and_the_address_the_legal_one(
        pages: dict[str, PageView]) -> None:
    page = pages["L02"]
    assert "Dear Bob," in folded(page.text)
    assert "Dear Robert" not in folded(page.text)
    assert page.lines_in(_pt(DL.reach))[0].text == "Robert Jones"


# --- the body ---------------------------------------------------------------------------------

def quotes(text: str) -> list[str]:
    return [squeezed(q) for q in re.findall("\u201c(.*?)\u201d", text, flags=re.DOTALL)]


def test_every_word_of_both_feedback_lines_is_printed(pages: dict[str, PageView]) -> None:
    for pid, page in pages.items():
        assert quotes(page.text) == [squeezed(f) for f in PEOPLE[pid][1]], pid


def test_the_long_paragraphs_are_wrapped_into_several_lines(pages: dict[str, PageView]) -> None:
    page = pages["L04"]
    quoted = [line for line in page.lines if "italic" in " ".join(line.fonts).lower()]
    assert len(quoted) >= 4  # the long feedback, URL and all, is more than one line
    assert squeezed(URL) in squeezed(page.text)


def test_all_text_stays_within_the_margins(pages: dict[str, PageView]) -> None:
    for pid, page in pages.items():
        for c in page.chars:
            assert float(c["x0"]) >= LEFT_MM * MM - TOL, (pid, c["text"], c["x0"])
            assert float(c["x1"]) <= RIGHT_MM * MM + TOL, (pid, c["text"], c["x1"])
            assert float(c["bottom"]) <= BOTTOM_MM * MM + TOL, (pid, c["text"], c["bottom"])


def test_return_address_is_right_aligned_at_the_top(pages: dict[str, PageView]) -> None:
    page = pages["L01"]
    top = [line for line in page.lines if line.top < DL.reach.y0 * MM]
    ours = [line for line in top if line.text in RETURN_BF]
    assert [line.text for line in ours] == RETURN_BF
    for line in ours:
        assert abs(line.x1 - RIGHT_MM * MM) <= TOL, line


def test_the_date_is_written_without_a_leading_zero(pages: dict[str, PageView]) -> None:
    for page in pages.values():
        dated = [line for line in page.lines if "October 2019" in line.text]
        assert [line.text for line in dated] == ["1 October 2019"]
        assert abs(dated[0].x1 - RIGHT_MM * MM) <= TOL


def test_signature_sits_just_above_the_signatorys_bold_name(pages: dict[str, PageView]) -> None:
    for pid, page in pages.items():
        name = "A. Person" if PEOPLE[pid][0][4] == "BF" else "B. Person"
        line = next(line for line in page.lines if line.text == name)
        assert all("bold" in f.lower() for f in line.fonts), (pid, line.fonts)
        # the mail-integrity code sits in the right margin; the signature is at the left
        below_letterhead = [i for i in page.images if float(i["top"]) > 100 * MM
                            and float(i["x0"]) < 100 * MM]
        assert len(below_letterhead) == 1, pid
        sig = below_letterhead[0]
        assert abs(float(sig["x0"]) - LEFT_MM * MM) <= TOL
        gap = line.top - float(sig["bottom"])  # the name's ascent may touch the image
        assert -2 <= gap <= 10 * MM, (pid, gap)


def test_a_brand_coloured_bar_runs_beside_each_quote(pages: dict[str, PageView]) -> None:
    def beside(line: Line, bar: dict[str, Any]) -> bool:
        middle = (line.top + line.bottom) / 2
        return float(bar["top"]) <= middle <= float(bar["bottom"]) and float(bar["x1"]) < line.x0

    for pid, page in pages.items():
        colour = (tuple(v / 100 for v in BRAND) if PEOPLE[pid][0][4] == "BF"
                  else (0.0, 0.0, 0.0, 1.0))
        italic = [line for line in page.lines if "italic" in " ".join(line.fonts).lower()]
        bars = sorted(page.rects, key=lambda r: float(r["top"]))
        assert len(bars) == 2, pid  # one per feedback line
        for bar in bars:
            assert tuple(bar["non_stroking_color"]) == pytest.approx(colour, abs=0.002), pid
            assert any(beside(line, bar) for line in italic), (pid, bar["top"])
        assert all(any(beside(line, bar) for bar in bars) for line in italic), pid


def test_a_square_logo_is_fitted_into_the_logo_box(pages: dict[str, PageView]) -> None:
    for pid in ("L01", "L02"):
        logo = min(pages[pid].images, key=lambda i: float(i["top"]))
        assert abs(float(logo["top"]) - LOGO_TOP_MM * MM) <= TOL
        assert float(logo["bottom"]) - float(logo["top"]) <= LOGO_MAX_H_MM * MM + TOL
        assert float(logo["x1"]) - float(logo["x0"]) <= LOGO_MAX_W_MM * MM + TOL
    square = min(pages["L02"].images, key=lambda i: float(i["top"]))
    w, h = float(square["x1"]) - float(square["x0"]), float(square["bottom"]) - float(
        square["top"])
    assert w == pytest.approx(h, abs=TOL)  # not stretched


def test_fold_marks_at_both_thirds_in_the_margin(pages: dict[str, PageView]) -> None:
    for pid, page in pages.items():
        marks = sorted(page.rules, key=lambda r: float(r["top"]))
        assert [round(float(r["top"]) / MM, 1) for r in marks] == [99.0, 198.0], pid
        for r in marks:
            assert float(r["x0"]) == pytest.approx(0, abs=TOL)
            assert float(r["x1"]) == pytest.approx(6 * MM, abs=TOL)


# --- what check refuses --------------------------------------------------------------------------

def test_characters_the_font_cannot_print_are_errors_wherever_they_are(tmp_path: Path) -> None:
    people = dict(PEOPLE)
    row, fb = people["L01"]
    people["L01"] = ([*row[:2], "Smith\U0001F642", *row[3:]], fb)
    row, fb = people["L02"]
    people["L02"] = ([*row[:5], "3 Fore Street \u2603\U0001F600", *row[6:]], fb)
    b = builder(tmp_path / "camp", people)
    b.build()
    result = b.run_check()
    assert result.exit_code == 1, result.output
    found = {(p["participant_id"], p["code"], p["message"].split(":")[1].split(" contains")[0]
              .strip()) for p in b.problems() if p["code"] == "unprintable_character"}
    assert ("L01", "unprintable_character", "last name") in found
    assert ("L02", "unprintable_character", "address line 1") in found


def test_the_longest_letter_check_accepts_still_ends_above_the_bottom_margin(
        tmp_path: Path) -> None:
    """Feedback a line longer each row: the rows that do not fit are withheld as overflow,
    and every letter made, however long, ends above the bottom margin."""
    sentence = "Your care for the families you work with shows in everything you write. "
    people: dict[str, tuple[list[Any], tuple[str, str]]] = {}
    for n in range(16):
        people[f"F{n:02d}"] = (["Ann", "", f"Long{n}", "treatment", "BF", f"{n + 1} Oak Road", "",
                                "", "Bracknell", "RG12 1JD"],
                               (sentence * (6 + n), "Thank you."))
    b = builder(tmp_path / "camp", people)
    run = make_run(b, tmp_path / "run", "--skip-invalid")
    records = allocations(run)
    made = letters(run)
    overflow = [pid for pid, r in records.items() if r["reason"] == "overflow"]
    assert overflow and made
    lowest = {}
    for pid, path in made.items():
        page = read_page(path)
        assert page.pages == 1
        lowest[pid] = max(float(c["bottom"]) for c in page.chars) / MM
        assert lowest[pid] <= BOTTOM_MM + TOL / MM, (pid, lowest[pid])
    # the probe reached the limit: the longest letter made is within two lines of it
    assert max(lowest.values()) >= BOTTOM_MM - 11, lowest
    # and a row is withheld only because it is longer than one that was made
    assert min(int(p[1:]) for p in overflow) > max(int(p[1:]) for p in made)


# --- other envelopes -----------------------------------------------------------------------------

RIGHT_WINDOW = Envelope(name="DL-right", width=220, height=110, window_width=80,
                        window_height=45, window_left=105, window_bottom=20, fold="thirds")


def test_a_right_hand_window_gets_the_address_and_keeps_the_date_out(tmp_path: Path) -> None:
    window = Window.for_envelope(RIGHT_WINDOW)
    people = {k: v for k, v in PEOPLE.items() if k in ("L01", "L03")}
    b = builder(tmp_path / "camp", people)
    b.toml_edits.append(('envelope = "DL"', envelope_toml(RIGHT_WINDOW)))
    run = make_run(b, tmp_path / "run")
    page = read_page(letters(run)["L01"])
    shown = page.lines_in(_pt(window.reach))
    assert [line.text for line in shown] == expected_address(PEOPLE["L01"][0])
    area = _pt(window.address)
    for line in shown:
        assert abs(line.x0 - area.x0) <= TOL and line.x1 <= area.x1 + TOL, line
        assert line.top >= area.y0 - TOL and line.bottom <= area.y1 + TOL, line
    dated = [line for line in page.lines if line.text == "1 October 2019"]
    assert len(dated) == 1 and dated[0].top >= window.reach.y1 * MM - TOL


def test_addresses_that_do_not_fit_a_small_window_are_withheld(tmp_path: Path) -> None:
    """A window 40 mm high: an address block either lies inside its clear area, or the row is
    withheld as an invalid address. Rows of 4-6 lines and of widening street lines probe
    both limits."""
    small = Envelope(name="DL-small", width=220, height=110, window_width=90, window_height=40,
                     window_left=20, window_bottom=15, fold="thirds")
    window = Window.for_envelope(small)
    people: dict[str, tuple[list[Any], tuple[str, str]]] = {}
    streets = ["1 Oak Road", "Old Town", "Bengeo"]
    for n in range(1, 4):  # 1, 2 and 3 street lines
        people[f"H{n}"] = (["Ann", "", "Tall", "treatment", "BF", *streets[:n],
                            *[""] * (3 - n), "Bracknell", "RG12 1JD"], ("Good.", "Thanks."))
    for n in range(8):  # one street line, 30 to 72 characters
        street = f"{n + 1} " + "Longacre Meadow Avenue West " * 3
        people[f"W{n}"] = (["Ann", "", "Wide", "treatment", "BF", street[:30 + 6 * n].strip(), "",
                            "", "Bracknell", "RG12 1JD"], ("Good.", "Thanks."))
    b = builder(tmp_path / "camp", people)
    b.toml_edits.append(('envelope = "DL"', envelope_toml(small)))
    run = make_run(b, tmp_path / "run", "--skip-invalid")
    records = allocations(run)
    made = letters(run)
    area = _pt(window.address)
    for pid, path in made.items():
        for line in read_page(path).lines_in(_pt(window.reach)):
            assert line.x1 <= area.x1 + TOL and line.bottom <= area.y1 + TOL, (pid, line)
    withheld = {pid: r["reason"] for pid, r in records.items() if r["status"] == "withheld"}
    assert set(withheld.values()) == {"invalid_address"}
    assert "H1" in made and "H3" in withheld  # both limits were reached
    assert "W0" in made and "W7" in withheld


def test_a_logo_within_the_windows_reach_is_refused(tmp_path: Path) -> None:
    high = Envelope(name="DL-high", width=220, height=110, window_width=90, window_height=45,
                    window_left=20, window_bottom=45, fold="thirds")
    assert Window.for_envelope(high).reach.y0 < LOGO_TOP_MM + 10  # the logo's place
    b = builder(tmp_path / "camp", {"L01": PEOPLE["L01"]})
    b.toml_edits.append(('envelope = "DL"', envelope_toml(high)))
    b.build()
    assert b.run_check().exit_code == 1
    design = [p for p in b.problems() if p["code"] == "letter_design"]
    assert design and all("logo" in p["message"] for p in design)
    assert {p["column"].split(".")[0] for p in design} == {"authorities[1]", "authorities[2]"}


def test_a_return_address_past_the_left_margin_is_refused(tmp_path: Path) -> None:
    long_line = "The Directorate of Children, Young People and Families, " * 3
    b = builder(tmp_path / "camp", {"L01": PEOPLE["L01"]})
    b.toml_edits.append(('"Time Square", "Market', f'"{long_line.strip()}", "Market'))
    b.build()
    assert b.run_check().exit_code == 1
    design = [p for p in b.problems() if p["code"] == "letter_design"]
    assert [p["column"].split(".")[0] for p in design] == ["authorities[1]"]
    assert "The Directorate" in design[0]["message"]


def test_a_return_address_line_reaching_across_the_windows_edge_is_refused(
        tmp_path: Path) -> None:
    """A right-hand window: the return address's seventh line starts left of the window's
    reach and runs into it. It is reported, though most of it lies outside the window."""
    assert Window.for_envelope(RIGHT_WINDOW).reach.y0 < 40  # the seventh line's height
    long_line = "Children, Young People and Learning Directorate, Bracknell Forest Council HQ"
    lines = ["Time Square", "Market Street", "BRACKNELL", "RG12 1JD", "Tel 01344 352000",
             "Room 101", long_line]
    b = builder(tmp_path / "camp", {"L01": PEOPLE["L01"]})
    b.toml_edits += [('envelope = "DL"', envelope_toml(RIGHT_WINDOW)),
                     ('return_address = ["Time Square", "Market Street", "BRACKNELL", '
                      '"RG12 1JD"]', "return_address = " + json.dumps(lines))]
    b.build()
    assert b.run_check().exit_code == 1
    design = [p["message"] for p in b.problems() if p["code"] == "letter_design"]
    assert any(long_line in m and "window" in m for m in design), design


def test_problems_csv_names_the_address_that_is_too_wide(tmp_path: Path) -> None:
    people = {"L01": PEOPLE["L01"]}
    row, fb = people["L01"]
    people["L01"] = ([*row[:5], "Flat 2 " + "Longacre Meadow Avenue " * 3, *row[6:]], fb)
    b = builder(tmp_path / "camp", people)
    b.build()
    assert b.run_check().exit_code == 1
    codes = [(p["participant_id"], p["code"]) for p in b.problems() if p["level"] == "error"]
    assert codes == [("L01", "address_too_wide")]


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def test_the_manifest_lists_each_letters_postcode_as_printed(main_run: Path) -> None:
    printed = {pid: read_page(p).lines_in(_pt(DL.reach))[-1].text
               for pid, p in letters(main_run).items()}
    listed = [r["postcode"] for m in sorted((main_run / "bundles").glob("*.csv"))
              for r in _csv_rows(m)]
    assert sorted(listed) == sorted(printed.values())


def test_the_layout_campaign_checks_without_errors(tmp_path: Path) -> None:
    b = builder(tmp_path / "camp", PEOPLE)
    b.build()
    assert b.run_check().exit_code == 0
    assert [p for p in read_problems(b.root / "problems.csv") if p["level"] == "error"] == []
