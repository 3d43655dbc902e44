"""Feedback forms: one workbook per team for its manager to fill in, and what a returned form
says about itself.

A form lists **every** member of the team, whatever their arm (a manager asked about only some
of their people could infer the allocation); ``treatment_only=True`` overrides that. Its sheets:

``Feedback``
    (first, so the feedback reader reads it unnamed) the team and its manager above the header
    row, then one row per member ordered by last name. Id and names are locked (sheet protection
    with no password: it prevents accidents, not a determined user); the feedback, hold and
    comment cells are unlocked. Both feedback columns carry Excel data validation (text length
    at most :func:`feedback_limit`, with an input message and an error message) and conditional
    formatting that turns a cell red past the limit (a paste bypasses validation). The headers
    are ones the reader maps with no ``[inputs.columns]`` entry.
``Instructions``
    plain English: what to write, an example, the limit, the deadline and whom to return it to.
``hhp-form`` (very hidden)
    campaign, authority, team, the roster (its ids and their SHA-256), form version and limit, so
    a returned form is recognised when renamed or re-sorted. A form saved as CSV loses it but
    still reads with the same columns.

The workbooks are written with openpyxl (already a dependency, and it reads them back);
XlsxWriter writes validation and protection as well and is faster, but is write-only and one
more dependency for no gain here. Bytes are deterministic: document dates and zip timestamps are
the campaign's date, the creator is hhp-letters.

``forms.jsonl`` beside the forms is a hash-chained log (the audit's format): a ``run`` record,
one ``form`` record per workbook (file, SHA-256, authority, team, roster hash, members, limit)
and ``close``. No names and no arms are in it.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import io
import os
import re
import shutil
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter
from PIL import Image

from hhp_letters import __version__
from hhp_letters.atomic import atomic_write_bytes
from hhp_letters.audit import AuditLog, Clock, file_sha256, utc_now
from hhp_letters.campaign import Authority, Campaign
from hhp_letters.errors import ProblemsFound, RenderError, UsageError
from hhp_letters.model import Arm, LetterJob, Participant, TeamKey, fold
from hhp_letters.problems import Origin, Problem, error, warning
from hhp_letters.sources.xlsx import OWN_SHEET
from hhp_letters.store import Store

FORM_VERSION = 1
FEEDBACK_SHEET = "Feedback"
INSTRUCTIONS_SHEET = "Instructions"
META_SHEET = OWN_SHEET
FORMS_LOG = "forms.jsonl"
CREATOR = f"hhp-letters {__version__}"

# The form's columns: every header is an alias the feedback reader knows (fields.ALIASES).
ID_HEADER, FIRST_HEADER, LAST_HEADER = "Participant ID", "First name", "Last name"
LINE_HEADERS = ("Feedback 1", "Feedback 2")
HOLD_HEADER, COMMENT_HEADER = "Hold (do not send)", "Comments"
HEADER_ROW = 5  # rows 1-3 name the team, its manager and the limit; the reader finds row 5
_WIDTHS = {ID_HEADER: 16, FIRST_HEADER: 16, LAST_HEADER: 18, LINE_HEADERS[0]: 60,
           LINE_HEADERS[1]: 60, HOLD_HEADER: 22, COMMENT_HEADER: 32}
_LOCKED_FILL = PatternFill(fill_type="solid", start_color="FFEDEDED", end_color="FFEDEDED")
_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFD9D9D9", end_color="FFD9D9D9")
_OVER_FILL = PatternFill(fill_type="solid", start_color="FFFFC7CE", end_color="FFFFC7CE")

# -- the limit ------------------------------------------------------------------------------------

# Typical feedback in wide letters (capitals, m and w, few i and l): 435/1000 em per character
# in Carlito Italic, against 402 pooled and 425 for the widest of the 392 lines in the fictional
# samples, so real feedback of this length takes no more room than this does.
WIDE_FEEDBACK = ("When Mum was at her lowest, you made the whole Whitmore family feel heard; "
                 "your Monday review meetings with Wayne and Maxine were warm, well run and well "
                 "written. ")
# A form line longer than this is not a line (and a wording without [[feedback]] has no limit).
FEEDBACK_CEILING = 1000
_GREETED = "Alexandra"  # a longish first name for the greeting


@dataclass(frozen=True)
class LimitDerivation:
    """How :func:`feedback_limit` was found, for the report and the tests."""

    limit: int  # characters per feedback line, as the forms state it
    fits: int  # the longest pair of WIDE_FEEDBACK (both lines this long) that fits one page
    per_row: int  # characters of WIDE_FEEDBACK on one printed line of the feedback box
    box_width_pt: float  # the feedback box's width: the body less the quote indent
    glyph_em: float  # WIDE_FEEDBACK's mean advance per character, 1/1000 em, italic
    authority: str  # the authority whose letter has the least room
    template: str  # the wording the letters use


def derive_limit(campaign: Campaign) -> LimitDerivation:
    """The longest feedback line a form may ask for, from the campaign's own letter.

    For each authority, the campaign's letter design (its wording, envelope, signatory and
    signature) plans a letter whose two feedback lines are both ``n`` characters of
    :data:`WIDE_FEEDBACK`; ``fits`` is the largest ``n`` that stays on one page (found by
    bisection: a longer prefix never wraps to fewer lines). The limit then gives back one
    printed line per feedback line, for a manager's line break (Alt+Enter starts a new line of
    the quote) or an unlucky wrap, and is rounded down to a multiple of 10. Letters are still
    laid out and checked one by one; the limit is what a manager can be told in advance.
    """
    from hhp_letters.render.geometry import MM
    from hhp_letters.render.letter import BODY_SIZE, LEFT, QUOTE_INDENT, RIGHT
    from hhp_letters.render.text import Fonts
    from hhp_letters.resources import resource_dir

    if campaign.kind != "letters":
        raise UsageError(f"{campaign.path.name} is a notes campaign; feedback forms are for "
                         "letters", hint="use a letters campaign")
    folder = resource_dir("templates")
    fonts = Fonts.load(folder / "fonts")
    template, name = _letter_template(campaign, folder / "letter.j2")
    sample = WIDE_FEEDBACK.strip()
    glyph_em = fonts.width(sample, "italic", 1000.0) / len(sample)
    box = (RIGHT - LEFT) * MM - QUOTE_INDENT
    per_row = int(box / (glyph_em / 1000.0 * BODY_SIZE))
    tightest: tuple[int, str] | None = None
    for authority in campaign.spec.authorities:
        design = _design(campaign, authority, fonts, template)
        fits = _longest_fit(design, authority)
        if tightest is None or fits < tightest[0]:
            tightest = (fits, authority.code)
    if tightest is None:  # the model requires one authority; kept for the type checker
        raise UsageError("campaign.toml names no authority")
    fits, code = tightest
    limit = min(FEEDBACK_CEILING, (fits - per_row) // 10 * 10)
    if limit < 100:
        raise RenderError(f"the letter has room for only {max(fits, 0)} characters of "
                          "feedback per line, too little to ask a manager for",
                          hint="shorten the letter's wording or the signatory's title")
    return LimitDerivation(limit, fits, per_row, box, glyph_em, code, name)


def feedback_limit(campaign: Campaign) -> int:
    """Characters per feedback line that the campaign's letter takes (see :func:`derive_limit`)."""
    return derive_limit(campaign).limit


def _letter_template(campaign: Campaign, default: Path) -> tuple[Any, str]:
    from hhp_letters.render.templating import BodyTemplate

    body = campaign.spec.letters.body
    if body:
        try:
            return BodyTemplate.load(campaign.resolve(body)), body
        except (RenderError, OSError):
            pass  # `check` reports the wording's own problem; the built-in gives the number
    return BodyTemplate.load(default), "letter.j2 (built in)"


def _aspect(path: Path, fallback: float) -> float:
    """Height / width of an image, or ``fallback`` when it cannot be read (`check` says so)."""
    try:
        with Image.open(path) as img:
            w, h = img.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return fallback
    return h / w if w else fallback


def _design(campaign: Campaign, authority: Authority, fonts: Any, template: Any) -> Any:
    from hhp_letters.render.letter import LetterDesign

    return LetterDesign(
        authority=authority, fonts=fonts, template=template,
        envelope=campaign.spec.print.envelope,
        date=authority.date or campaign.spec.campaign.date,
        # a signature that cannot be read is taken as tall (less room), never as absent
        signature_aspect=_aspect(campaign.resolve(authority.signatory.signature), 0.6),
        logo_aspect=_aspect(campaign.resolve(authority.logo), 0.34),
        fold_marks=campaign.spec.print.fold_marks,
        brand=(0.0, 0.0, 0.0, 1.0))  # only measured for the limit, never drawn


def _longest_fit(design: Any, authority: Authority) -> int:
    from hhp_letters.render.layout import Plan

    filler = WIDE_FEEDBACK * (FEEDBACK_CEILING * 2 // len(WIDE_FEEDBACK) + 2)

    def fits(n: int) -> bool:
        text = filler[:n].rstrip()
        job = LetterJob("FORM-LIMIT", authority, _GREETED, "Example",
                        ("1 Example Street", "EXAMPLETOWN", "AB1 2CD"), (text, text), "",
                        Origin("form limit"))
        try:
            return isinstance(design.plan(job), Plan)
        except RenderError:
            return False

    lo, hi = 0, FEEDBACK_CEILING * 2
    if fits(hi):
        return hi
    while lo < hi:  # invariant: fits(lo) (an empty pair always fits), not fits(hi + 1)
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


# -- teams and their rosters ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Member:
    participant_id: str
    first_name: str
    last_name: str
    arm: Arm | None
    row: int | None  # the list row


@dataclass(frozen=True)
class TeamForm:
    """One team's form, planned: who is on it and the file it is written to."""

    key: TeamKey  # (authority code, folded team name; "" for a whole authority)
    authority: Authority
    team: str  # as the list first spells it; "" when the form is a whole authority's
    managers: tuple[str, ...]  # as the list spells them, in list order
    members: tuple[Member, ...]  # every arm, ordered by last name, first name, id
    file_name: str
    whole_authority: bool = False  # the list has no teams: the form is the authority's

    @property
    def title(self) -> str:
        if self.team:
            return self.team
        return (f"everyone at {self.authority.name}" if self.whole_authority
                else "people with no team in the list")

    def chosen(self, *, treatment_only: bool) -> tuple[Member, ...]:
        if not treatment_only:
            return self.members
        return tuple(m for m in self.members if m.arm is Arm.TREATMENT)


@dataclass(frozen=True)
class FormsPlan:
    teams: tuple[TeamForm, ...]
    by_authority: bool  # the list has no team column: one form per authority
    left_off: tuple[Problem, ...]  # list rows on no form, and why


def roster_hash(ids: Iterable[str]) -> str:
    """SHA-256 of the sorted ids, one per line (``LC_ALL=C sort ids.txt | sha256sum``)."""
    return hashlib.sha256("".join(f"{i}\n" for i in sorted(ids)).encode("utf-8")).hexdigest()


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


def plan_forms(participants: Iterable[Participant], authorities: Sequence[Authority]
               ) -> FormsPlan:
    """Group the list's rows into teams (within their authority). A row with no id, no known
    authority or an id used twice is on no form (``left_off`` says why)."""
    rows = list(participants)
    by_authority = not any(p.team.strip() for p in rows)
    counts: dict[str, int] = {}
    for p in rows:
        counts[p.participant_id] = counts.get(p.participant_id, 0) + 1
    groups: dict[TeamKey, tuple[Authority, list[str], list[str], list[Member]]] = {}
    left: list[Problem] = []
    for p in rows:
        authority = p.authority
        reason = ("it has no participant id" if not p.participant_id else
                  "its authority is not one campaign.toml names" if authority is None else
                  f"its id {p.participant_id!r} is on more than one row"
                  if counts[p.participant_id] > 1 else "")
        if authority is None or reason:
            left.append(warning("not_on_form", p.origin, f"this row is on no form: {reason}",
                                "correct the list and make the forms again",
                                p.participant_id or None))
            continue
        key = TeamKey(authority.code, fold(p.team))
        if key not in groups:
            groups[key] = (authority, [p.team.strip()], [], [])
        _, _, managers, members = groups[key]
        manager = " ".join(p.manager_first_name.split())
        if manager and fold(manager) not in {fold(m) for m in managers}:
            managers.append(manager)
        members.append(Member(p.participant_id, p.first_name, p.last_name, p.arm,
                              p.origin.row))
    order = {a.code: i for i, a in enumerate(authorities)}
    keys = sorted(groups, key=lambda k: (order.get(k.authority, len(order)), k.team))
    used: set[str] = set()
    teams: list[TeamForm] = []
    for key in keys:
        authority, spelled, managers, members = groups[key]
        team = spelled[0] if key.team else ""
        stem = f"{authority.code}-{_slug(team) or 'team'}" if team else (
            authority.code if by_authority else f"{authority.code}-no-team")
        name, n = f"{stem}.xlsx", 1
        while name.casefold() in used:  # two spellings that slug alike ("A&E" and "A/E")
            n += 1
            name = f"{stem}-{n}.xlsx"
        used.add(name.casefold())
        ordered_members = tuple(sorted(members, key=lambda m: (
            fold(m.last_name), fold(m.first_name), m.participant_id)))
        teams.append(TeamForm(key, authority, team, tuple(managers), ordered_members, name,
                              whole_authority=by_authority))
    return FormsPlan(tuple(teams), by_authority, tuple(left))


@dataclass(frozen=True)
class Roster:
    """The teams of the current list, for recognising returned forms: every member of each
    team (sorted ids) and, for forms made with ``treatment_only``, the treatment members."""

    campaign: str
    teams: Mapping[TeamKey, tuple[str, ...]]
    treatment: Mapping[TeamKey, tuple[str, ...]]
    names: Mapping[TeamKey, str]  # the team as the list spells it ("" for a whole authority)
    team_by_id: Mapping[str, TeamKey]

    def ids(self, key: TeamKey, *, treatment_only: bool) -> tuple[str, ...] | None:
        """The ids a form of team ``key`` lists now; None when the list has no such team."""
        if key not in self.teams:
            return None
        return (self.treatment if treatment_only else self.teams)[key]

    def team_of(self, pid: str) -> TeamKey | None:
        return self.team_by_id.get(pid)

    def describe(self, key: TeamKey) -> str:
        name = self.names.get(key) or key.team
        return f"team {name!r} ({key.authority})" if name else f"authority {key.authority}"


def build_roster(campaign: Campaign, participants: Iterable[Participant]) -> Roster:
    plan = plan_forms(participants, campaign.spec.authorities)
    return Roster(
        campaign.spec.campaign.name,
        {t.key: tuple(sorted(m.participant_id for m in t.members)) for t in plan.teams},
        {t.key: tuple(sorted(m.participant_id for m in t.chosen(treatment_only=True)))
         for t in plan.teams},
        {t.key: t.team for t in plan.teams},
        {m.participant_id: t.key for t in plan.teams for m in t.members})


# -- writing the workbooks ------------------------------------------------------------------------

def text_cell(ws: Worksheet, row: int, column: int, value: str) -> Cell:
    """A cell holding ``value`` as text: never a formula (a name like "=1+1" stays text) and
    without the control characters a workbook may not hold."""
    cell = ws.cell(row=row, column=column)
    if not isinstance(cell, Cell):  # the forms have no merged cells
        raise TypeError(f"cell {row}/{column} is merged")
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.data_type = "s"
    return cell


def workbook_bytes(wb: Workbook, when: dt.date) -> bytes:
    """The workbook as .xlsx bytes that depend on its content alone: document dates and every
    zip entry's timestamp are ``when``."""
    stamp = dt.datetime(max(when.year, 1980), when.month, when.day)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = CREATOR
    wb.properties.lastModifiedBy = CREATOR
    raw = io.BytesIO()
    archive = zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)
    ExcelWriter(wb, archive).save()  # save_workbook() would stamp the clock's time
    fixed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 0
            entry.external_attr = 0
            out.writestr(entry, src.read(info.filename))
    return fixed.getvalue()


def _due_text(due: dt.date | None) -> str:
    return f"{due:%A} {due.day} {due:%B %Y}" if due else "the date your coordinator gave you"


def _forms_settings(campaign: Campaign) -> tuple[dt.date | None, str | None]:
    forms = campaign.spec.forms
    return forms.due, (forms.return_to or "").strip() or None


def instructions(campaign: Campaign, team: TeamForm, limit: int) -> list[str]:
    """The Instructions sheet, a paragraph per line ("" is a blank line)."""
    due, return_to = _forms_settings(campaign)
    words = limit // 6
    return [
        f"Feedback for {team.title}, {team.authority.name}",
        "",
        "What we ask",
        "On the Feedback sheet, please write two specific lines about the work of each person "
        "listed: one in the Feedback 1 column and one in the Feedback 2 column.",
        "Write to the person directly (\"you ...\"). Say what they did and why it mattered: a "
        "particular piece of work, a family, a colleague they helped, the way they handle "
        "something difficult. Specific is better than general praise.",
        "Feedback may be shared with the person, so please leave out anything confidential: "
        "no surnames, addresses or details that would identify a child or family.",
        "",
        "An example",
        "Feedback 1: Your patience with the Fenwick family during those long contact sessions "
        "helped the children rebuild their relationship with their mum.",
        "Feedback 2: You bring the same care to a Friday-afternoon visit as to a Monday "
        "morning, and the whole team has noticed.",
        "",
        "How long",
        f"Each line may be at most {limit} characters (about {words} words); a sentence or two "
        "is ideal. A cell turns red when its line is too long.",
        "",
        "Everyone, please",
        "Everyone in the team is listed on purpose, and we would like feedback for every "
        "person on the list. Please do not leave anyone out, and do not add, delete or copy "
        "rows.",
        "If a person should not be contacted at all (for example, they are on long-term leave "
        "or have left), write a short reason in the \"Hold (do not send)\" column and leave "
        "their feedback blank. Anything else for the coordinator goes in \"Comments\" (never "
        "shared).",
        "",
        "When and where",
        f"Please return this workbook by {_due_text(due)}"
        + (f", to {return_to}." if return_to else ", to the person who sent it to you."),
        "Send the file back as it is (an Excel .xlsx file). Renaming it, re-sorting the rows or "
        "saving it as CSV is fine: every row is recognised by its Participant ID.",
        "The ID and name columns are locked so that they stay correct. You can widen columns "
        "and rows; no password is needed for anything you have to do.",
    ]


def _meta_rows(campaign: Campaign, team: TeamForm, ids: Sequence[str], limit: int,
               treatment_only: bool) -> list[tuple[str, str]]:
    return [("hhp-form", str(FORM_VERSION)), ("campaign", campaign.spec.campaign.name),
            ("authority", team.key.authority), ("team", team.team), ("team_key", team.key.team),
            ("roster_sha256", roster_hash(ids)), ("members", str(len(ids))),
            ("limit", str(limit)), ("treatment_only", "yes" if treatment_only else "no"),
            ("note", "Written by hhp-letters to recognise this form when it comes back; "
                     "please do not change it.")]


def form_workbook(campaign: Campaign, team: TeamForm, limit: int, *, treatment_only: bool,
                  hold_column: bool = True) -> Workbook:
    """One team's form as an openpyxl workbook (see the module's docstring)."""
    members = team.chosen(treatment_only=treatment_only)
    due, return_to = _forms_settings(campaign)
    wb = Workbook()
    ws = wb.active
    if not isinstance(ws, Worksheet):  # a new Workbook's active sheet is a worksheet
        raise TypeError("openpyxl gave no worksheet")
    ws.title = FEEDBACK_SHEET
    wb.properties.title = f"Feedback form: {team.title} ({team.authority.code})"
    wb.properties.subject = campaign.spec.campaign.name

    # Above the header: the team, its manager, the limit. One cell each, no merged cells (the
    # reader refuses merged cells near the header).
    text_cell(ws, 1, 1, f"Feedback for {team.title}, {team.authority.name}").font = Font(
        bold=True, size=14)
    if team.managers:
        text_cell(ws, 2, 1, "Team manager: " + " / ".join(team.managers)).font = Font(bold=True)
    text_cell(ws, 3, 1, f"Two specific lines for every person listed, at most {limit} characters "
                    f"each. Please return by {_due_text(due)}"
                    + (f" to {return_to}" if return_to else "")
                    + ". See the Instructions sheet.")
    headers = [ID_HEADER, FIRST_HEADER, LAST_HEADER, *LINE_HEADERS,
               *([HOLD_HEADER] if hold_column else []), COMMENT_HEADER]
    editable = range(4, len(headers) + 1)  # feedback, hold and comments: the manager's
    for c, header in enumerate(headers, start=1):
        cell = text_cell(ws, HEADER_ROW, c, header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        letter = cell.column_letter
        ws.column_dimensions[letter].width = _WIDTHS[header]
    top = Alignment(vertical="top", wrap_text=True)
    for r, m in enumerate(members, start=HEADER_ROW + 1):
        for c, value in enumerate((m.participant_id, m.first_name, m.last_name), start=1):
            cell = text_cell(ws, r, c, value)
            cell.number_format = "@"  # an id typed again stays text: 00123, not 123
            cell.fill = _LOCKED_FILL
            cell.alignment = top
        for c in editable:
            free = ws.cell(row=r, column=c)
            free.protection = Protection(locked=False)
            free.number_format = "@"
            free.alignment = top
    last = HEADER_ROW + max(1, len(members))
    lines = f"D{HEADER_ROW + 1}:E{last}"
    rule = DataValidation(
        type="textLength", operator="lessThanOrEqual", formula1=str(limit), allow_blank=True,
        showInputMessage=True, promptTitle=f"At most {limit} characters"[:32],
        prompt=(f"One or two specific sentences about this person's work, at most {limit} "
                "characters. See the Instructions sheet.")[:255],
        showErrorMessage=True, errorStyle="stop", errorTitle="Too long",
        error=(f"This line is longer than {limit} characters. Please shorten it to one or two "
               "sentences.")[:255])
    rule.add(lines)
    ws.add_data_validation(rule)
    ws.conditional_formatting.add(lines, Rule(
        type="expression", formula=[f"LEN(D{HEADER_ROW + 1})>{limit}"],
        dxf=DifferentialStyle(fill=_OVER_FILL, font=Font(color="FF9C0006"))))
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    _protect(ws)

    guide = wb.create_sheet(INSTRUCTIONS_SHEET)
    guide.column_dimensions["A"].width = 100
    headings = {"What we ask", "An example", "How long", "Everyone, please", "When and where"}
    for r, text in enumerate(instructions(campaign, team, limit), start=1):
        if not text:
            continue
        cell = text_cell(guide, r, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if r == 1:
            cell.font = Font(bold=True, size=14)
        elif text in headings:
            cell.font = Font(bold=True)
    _protect(guide)

    ids = [m.participant_id for m in members]
    meta = wb.create_sheet(META_SHEET)
    for r, (key, value) in enumerate(_meta_rows(campaign, team, ids, limit, treatment_only),
                                     start=1):
        text_cell(meta, r, 1, key)
        text_cell(meta, r, 2, value)
    text_cell(meta, 1, 4, "roster")
    for r, pid in enumerate(sorted(ids), start=2):
        text_cell(meta, r, 4, pid)
    meta.sheet_state = "veryHidden"  # not listed by Excel's Unhide: only a macro reaches it
    _protect(meta)
    wb.active = 0
    # No password: the structure lock keeps the hidden sheet and the sheet names in place
    wb.security = WorkbookProtection(lockStructure=True)
    return wb


def _protect(ws: Worksheet) -> None:
    """Sheet protection with no password: locked cells cannot be typed over by accident, and
    columns and rows can still be resized."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False
    p.formatRows = False
    p.autoFilter = False
    p.sort = False


# -- writing a forms folder -----------------------------------------------------------------------

@dataclass(frozen=True)
class FormInfo:
    path: Path
    authority: str  # code
    team: str  # as the list spells it; "" for a whole authority
    managers: tuple[str, ...]
    members: int
    roster_sha256: str
    sha256: str


@dataclass(frozen=True)
class FormsResult:
    out: Path
    forms: tuple[FormInfo, ...]
    log: Path  # forms.jsonl
    limit: int
    treatment_only: bool
    by_authority: bool  # the list has no team column: one form per authority
    left_off: tuple[Problem, ...]  # list rows on no form (warnings, located)
    list_problems: tuple[Problem, ...]  # what `check` says about the list itself
    notes: tuple[str, ...] = field(default=())  # plain sentences for the screen

    @property
    def members(self) -> int:
        return sum(f.members for f in self.forms)


def _feedback_would_read(campaign: Campaign, folder: Path) -> str | None:
    """The feedback entry that would read blank forms written to ``folder``, if any (each
    blank row would then be a treatment participant's blank feedback)."""
    target = folder.absolute()
    for entry in campaign.spec.inputs.feedback:
        pattern = entry if isinstance(entry, str) else entry.path
        full = str((campaign.root / pattern).absolute())
        probe = str(target / "FORM-PROBE.xlsx")
        if fnmatch.fnmatch(probe, full) or fnmatch.fnmatch(probe.replace(".xlsx", ".csv"), full):
            return pattern
    return None


def write_forms(campaign: Campaign, out: Path, *, treatment_only: bool = False,
                hold_column: bool = True, force: bool = False,
                clock: Clock = utc_now) -> FormsResult:
    """Write one feedback workbook per team (within its authority) into ``out``, and
    ``forms.jsonl``. ``out`` must be new or empty; with ``force``, an earlier forms folder
    (one holding forms.jsonl) is replaced. Raises :class:`ProblemsFound` when the randomised
    list cannot be read completely (a form would miss people)."""
    from hhp_letters.checks import check
    from hhp_letters.workspace import environment_error, scratch_store

    if campaign.kind != "letters":
        raise UsageError(f"{campaign.path.name} is a notes campaign; feedback forms are for "
                         "letters", hint="use a letters campaign")
    pattern = _feedback_would_read(campaign, out)
    if pattern is not None:
        raise UsageError(f"{out} is where campaign.toml reads feedback ({pattern!r}), so the "
                         "blank forms would be read as feedback",
                         hint="write the forms to a folder of their own, e.g. --out forms")
    _check_out(out, force=force)
    limit = feedback_limit(campaign)
    with scratch_store() as store:
        checked = check(campaign, store)
        shown = campaign.display(checked.list_file)
        list_problems = tuple(p for p in checked.problems if p.origin.file == shown)
        if not checked.list_complete:
            raise ProblemsFound("the randomised list could not be read completely, so forms "
                                "would miss people; no forms were written",
                                [p for p in list_problems if p.is_error])
        plan = plan_forms(checked.participants(), campaign.spec.authorities)
    teams = [t for t in plan.teams if t.chosen(treatment_only=treatment_only)]
    staging = out.absolute().with_name(f".{out.name}.forms-{os.getpid()}")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        infos = _write_all(campaign, teams, staging, out, limit, treatment_only=treatment_only,
                           hold_column=hold_column)
        _write_log(staging / FORMS_LOG, campaign, checked.list_file, infos, limit=limit,
                   treatment_only=treatment_only, by_authority=plan.by_authority, clock=clock)
        _replace(staging, out.absolute())
    except OSError as exc:  # a full or read-only disk: say where, and what to do
        raise environment_error(exc, Path(exc.filename or staging)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    notes = []
    no_team = [t for t in teams if not t.team and not t.whole_authority]
    for t in no_team:
        notes.append(f"{len(t.chosen(treatment_only=treatment_only))} people of "
                     f"{t.authority.code} have no team in the list: they are on "
                     f"{t.file_name}.")
    if plan.by_authority:
        notes.append("The list has no team column (or it is empty): one form per authority.")
    if plan.left_off:
        notes.append(f"{len(plan.left_off)} row(s) of the list are on no form (see the "
                     "warnings).")
    if treatment_only:
        notes.append("The forms list treatment participants only, so a manager can see who "
                     "is in the treatment arm.")
    return FormsResult(out, tuple(infos), out / FORMS_LOG, limit, treatment_only,
                       plan.by_authority, plan.left_off, list_problems, tuple(notes))


def _write_all(campaign: Campaign, teams: Sequence[TeamForm], staging: Path, out: Path,
               limit: int, *, treatment_only: bool, hold_column: bool) -> list[FormInfo]:
    infos: list[FormInfo] = []
    for team in teams:
        ids = [m.participant_id for m in team.chosen(treatment_only=treatment_only)]
        data = workbook_bytes(form_workbook(campaign, team, limit, treatment_only=treatment_only,
                                            hold_column=hold_column),
                              campaign.spec.campaign.date)
        atomic_write_bytes(staging / team.file_name, data)
        infos.append(FormInfo(out / team.file_name, team.key.authority, team.team,
                              team.managers, len(ids), roster_hash(ids),
                              hashlib.sha256(data).hexdigest()))
    return infos


def _check_out(out: Path, *, force: bool) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(f"{out} exists and is not a folder", hint="choose a new --out folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise UsageError(f"{out} already exists and is not empty",
                             hint="choose a new --out folder, or add --force to replace "
                                  "forms made earlier")
        if not (out / FORMS_LOG).is_file():
            raise UsageError(f"{out} is not a forms folder of hhp-letters (no {FORMS_LOG}), so "
                             "--force will not replace it", hint="choose a new --out folder")


def _replace(staging: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _write_log(path: Path, campaign: Campaign, list_file: Path, infos: Sequence[FormInfo], *,
               limit: int, treatment_only: bool, by_authority: bool, clock: Clock) -> None:
    with path.open("wb") as fh:
        log = AuditLog(fh, clock)
        log.add("run", tool="hhp-letters", version=__version__, command="forms",
                campaign=campaign.spec.campaign.name,
                campaign_sha256=file_sha256(campaign.path),
                participants_sha256=file_sha256(list_file), treatment_only=treatment_only,
                by_authority=by_authority, limit=limit, form_version=FORM_VERSION)
        for info in infos:
            log.add("form", file=info.path.name, sha256=info.sha256, authority=info.authority,
                    team=info.team, roster_sha256=info.roster_sha256, members=info.members,
                    treatment_only=treatment_only, limit=limit)
        log.add("close", forms=len(infos), members=sum(i.members for i in infos))


# -- returned forms -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FormMeta:
    """What a returned workbook's hidden sheet says about it."""

    campaign: str
    authority: str
    team: str  # as written on the form ("" for a whole authority)
    team_key: str  # folded
    roster_sha256: str
    roster: tuple[str, ...]  # the ids the form was made for (sorted)
    version: int
    limit: int
    treatment_only: bool
    members: int

    @property
    def key(self) -> TeamKey:
        return TeamKey(self.authority, self.team_key)

    @property
    def roster_intact(self) -> bool:
        return roster_hash(self.roster) == self.roster_sha256


def read_form_meta(path: Path) -> FormMeta | None:
    """The hidden sheet of a returned .xlsx (whatever the file is called now), or None when
    the file is no form of ours (a CSV, another workbook, a damaged file). Read with the
    package's own hardened reader: size-checked zip members, defused XML."""
    from hhp_letters.sources.raw import RawRow
    from hhp_letters.sources.xlsx import read_xlsx

    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return None
    try:
        sheet = read_xlsx(path, META_SHEET, path.name)
        if isinstance(sheet, Problem):
            return None
        rows = [item for item in sheet.items() if isinstance(item, RawRow)]
    except OSError:
        return None
    values: dict[str, str] = {}
    roster: list[str] = []
    for raw in rows:
        cells = [*raw.values, "", "", "", ""]
        if cells[0].strip():
            values.setdefault(cells[0].strip(), cells[1].strip())
        if raw.number > 1 and cells[3].strip():
            roster.append(cells[3].strip())
    try:
        return FormMeta(
            campaign=values["campaign"], authority=values["authority"],
            team=values.get("team", ""), team_key=values.get("team_key", ""),
            roster_sha256=values["roster_sha256"], roster=tuple(sorted(roster)),
            version=int(values["hhp-form"]), limit=int(values.get("limit", "0") or 0),
            treatment_only=values.get("treatment_only", "no") == "yes",
            members=int(values.get("members", "0") or 0))
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class FormReturn:
    """One feedback file as the check stage read it."""

    file: str  # as the user knows it (campaign.display)
    meta: FormMeta | None  # None: not a form (or saved as CSV)
    ids: tuple[str, ...]  # the list's ids of its rows, in file order


def form_returns(campaign: Campaign, store: Store) -> list[FormReturn]:
    """Every feedback file of the campaign, with its form metadata and the ids of its rows
    (after the check stage has read the feedback into ``store``)."""
    files, _ = campaign.feedback_files()
    ids: dict[str, list[str]] = {}
    for pid, entries, _arm, _n in store.feedback_by_id():
        for entry in entries:
            ids.setdefault(entry.origin.file, []).append(pid)
    out = []
    for f in files:
        shown = campaign.display(f.path)
        out.append(FormReturn(shown, read_form_meta(f.path), tuple(ids.get(shown, ()))))
    return out


def _ids_text(ids: Iterable[str], limit: int = 12) -> str:
    items = sorted(ids)
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def form_problems(returns: Sequence[FormReturn], roster: Roster) -> list[Problem]:
    """Located problems of returned forms:

    * ``form_other_campaign`` (error): the form was made for another campaign (an earlier wave);
    * ``form_wrong_team`` (error): rows on the form belong to another team's form (feedback
      must come from each person's own manager);
    * ``form_old_roster`` (warning): the team changed since the form was made; names the ids
      added (not on the form) and removed;
    * ``form_duplicate`` (warning): a second file returns the same team's form (a form saved as
      CSV is recognised by its ids).
    """
    problems: list[Problem] = []
    teams_seen: dict[TeamKey, tuple[str, frozenset[str], bool]] = {}  # file, ids, ours
    for ret in returns:
        origin = Origin(ret.file)
        meta = ret.meta
        key: TeamKey | None
        if meta is not None:
            if meta.campaign != roster.campaign:
                problems.append(error(
                    "form_other_campaign", origin,
                    f"this is a form of the campaign {meta.campaign!r}, not of "
                    f"{roster.campaign!r}", "ask the manager for this campaign's form (an "
                    "earlier wave's feedback is not this wave's), or remove the file from the "
                    "feedback folder"))
                continue
            problems += _team_problems(ret, meta, roster)
            key = meta.key
        else:
            key = _inferred_team(ret.ids, roster)
        if key is None or not ret.ids:
            continue
        ids = frozenset(ret.ids)
        earlier = teams_seen.get(key)
        # a second file is the same form again when both are our forms, or when they share
        # rows; a manager's own files that split the team between them are not
        if earlier is not None and ((meta is not None and earlier[2]) or ids & earlier[1]):
            problems.append(warning(
                "form_duplicate", origin,
                f"{roster.describe(key)}'s form comes back a second time (first in "
                f"{earlier[0]})", "keep the latest return and remove the other file "
                "from the feedback folder"))
        elif earlier is None:
            teams_seen[key] = (ret.file, ids, meta is not None)
        else:
            teams_seen[key] = (earlier[0], earlier[1] | ids, earlier[2])
    return problems


def _inferred_team(ids: Sequence[str], roster: Roster) -> TeamKey | None:
    """The one team every id of a file without metadata belongs to, if there is one."""
    keys = {roster.team_of(pid) for pid in ids}
    if len(keys) == 1:
        return next(iter(keys))
    return None


def _team_problems(ret: FormReturn, meta: FormMeta, roster: Roster) -> list[Problem]:
    origin = Origin(ret.file)
    key = meta.key
    problems: list[Problem] = []
    current = roster.ids(key, treatment_only=meta.treatment_only)
    made_for = set(meta.roster) if meta.roster_intact else set(ret.ids)
    now = set(current or ())
    known = made_for | now
    strangers = [pid for pid in dict.fromkeys(ret.ids) if pid not in known]
    elsewhere: dict[TeamKey, list[str]] = {}
    for pid in strangers:
        other = roster.team_of(pid)
        if other is not None and other != key:
            elsewhere.setdefault(other, []).append(pid)
    form_name = roster.describe(key) if key in roster.teams else (
        f"team {meta.team!r} ({meta.authority})" if meta.team else f"authority {meta.authority}")
    for other, pids in sorted(elsewhere.items()):
        problems.append(error(
            "form_wrong_team", origin,
            f"the form is {form_name}'s, but its rows for {_ids_text(pids)} are people of "
            f"{roster.describe(other)}", "feedback must come from each person's own manager: "
            "ask that team's manager to use their own team's form, and delete these rows "
            "here"))
    if current is None:
        problems.append(warning(
            "form_old_roster", origin, f"the form is {form_name}'s, and the list has no such "
            "team now", "check the team's name in the list, or make the forms again"))
    elif roster_hash(current) != meta.roster_sha256:
        added = now - made_for
        removed = made_for - now
        parts = []
        if added:
            parts.append(f"{len(added)} joined the team since ({_ids_text(added)}): they are "
                         "not on this form")
        if removed:
            parts.append(f"{len(removed)} on the form are no longer in the team "
                         f"({_ids_text(removed)})")
        problems.append(warning(
            "form_old_roster", origin, f"the form of {form_name} was made from an older list: "
            + ("; ".join(parts) or "its roster differs"),
            "ask the manager for feedback on the people added (or make the team's form "
            "again); feedback on this form is matched by id"))
    return problems


def return_problems(campaign: Campaign, store: Store) -> list[Problem]:
    """The check stage's one call: :func:`form_problems` for every feedback file of the
    campaign, against the list read into ``store``."""
    roster = build_roster(campaign, store.participants(campaign.authority))
    return form_problems(form_returns(campaign, store), roster)


__all__ = ["FEEDBACK_SHEET", "FORMS_LOG", "FORM_VERSION", "INSTRUCTIONS_SHEET", "META_SHEET",
           "WIDE_FEEDBACK", "FormInfo", "FormMeta", "FormReturn", "FormsPlan", "FormsResult",
           "LimitDerivation", "Member", "Roster", "TeamForm", "build_roster", "derive_limit",
           "feedback_limit", "form_problems", "form_returns", "form_workbook", "plan_forms",
           "read_form_meta", "return_problems", "roster_hash", "text_cell", "workbook_bytes",
           "write_forms"]
