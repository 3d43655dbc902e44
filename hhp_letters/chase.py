"""Who still has no complete feedback: the coordinator's chase list, by team and manager.

Feedback counts when the check stage matched it to a participant's id (by id, by padded id or
by a unique name). A person is complete when both lines are written and neither is longer
than :func:`~hhp_letters.forms.feedback_limit`; a person put on hold (in the list or on a form)
is never chased.

With blind forms (the default) EVERY member without complete feedback is chased, whatever
their arm: reminding a manager only about some people would tell them who is in the
treatment arm. The column "Needed for a letter" (yes for treatment) is for the coordinator
alone; ``chase.xlsx`` puts it last and says so in its header.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from hhp_letters.atomic import atomic_write_bytes
from hhp_letters.campaign import Campaign
from hhp_letters.forms import TeamForm, feedback_limit, plan_forms, text_cell, workbook_bytes
from hhp_letters.model import Arm, Feedback
from hhp_letters.problems import spreadsheet_safe

REMINDERS_SHEET = "Reminders"
MANAGERS_SHEET = "By manager"
COORDINATOR_ONLY = "Needed for a letter (coordinator only: never send)"
REMINDER_COLUMNS = ("Authority", "Team", "Manager", "Form file", "Participant ID",
                    "First name", "Last name", "Missing", "Detail", COORDINATOR_ONLY)
MANAGER_COLUMNS = ("Manager", "Authority", "Teams", "Form files", "Members", "Complete",
                   "To chase", "Forms not returned")
NO_MANAGER = "(no manager in the list)"


@dataclass(frozen=True)
class ChaseEntry:
    participant_id: str
    first_name: str
    last_name: str
    authority: str  # code
    team: str  # as the list spells it ("" for a whole authority's form)
    manager: str  # the team's manager(s) as the list names them, "" when it does not
    form_file: str  # the form this person's feedback should come back in
    missing: str  # "both", "line 1", "line 2", "over the limit", "conflicting versions", ...
    detail: str  # e.g. "line 1 has 612 characters; the limit is 510"
    needed_for_letter: bool  # treatment: coordinator only
    list_row: int | None


@dataclass(frozen=True)
class ChaseTeam:
    authority: str
    team: str
    manager: str
    form_file: str
    members: int  # on the form
    complete: int
    held: int
    returned: bool  # any row of the team came back in some feedback file
    entries: tuple[ChaseEntry, ...]  # who to chase, ordered as on the form


@dataclass(frozen=True)
class ChaseList:
    campaign: str
    limit: int
    treatment_only: bool
    teams: tuple[ChaseTeam, ...]

    @property
    def entries(self) -> tuple[ChaseEntry, ...]:
        return tuple(e for t in self.teams for e in t.entries)

    @property
    def needed_for_letters(self) -> int:
        return sum(1 for e in self.entries if e.needed_for_letter)

    def managers(self) -> list[tuple[str, str, tuple[ChaseTeam, ...]]]:
        """(manager, authority, their teams): a manager named in the list is one row; a team
        with no manager named is a row of its own."""
        groups: dict[tuple[str, str], list[ChaseTeam]] = {}
        for t in self.teams:
            groups.setdefault((t.authority, t.manager or f"\x00{t.form_file}"), []).append(t)
        return [(teams[0].manager or NO_MANAGER, authority, tuple(teams))
                for (authority, _), teams in groups.items()]


def _state(entries: Sequence[Feedback], limit: int) -> tuple[str, str] | None:
    """(missing, detail) for a person's matched feedback entries, or None when complete."""
    written = [f for f in entries if f.line_1.strip() or f.line_2.strip()]
    if not written:
        return "both", "no feedback yet"
    if len({(f.line_1, f.line_2) for f in written}) > 1:
        places = " and ".join(f.origin.describe() for f in written)
        return "conflicting versions", f"different feedback in {places}: which one is meant?"
    chosen = written[0]
    lines = (chosen.line_1.strip(), chosen.line_2.strip())
    blank = [n for n, text in enumerate(lines, start=1) if not text]
    over = [(n, len(text)) for n, text in enumerate(lines, start=1) if len(text) > limit]
    overs = "; ".join(f"line {n} has {k:,} characters" for n, k in over)
    if blank:
        missing = f"line {blank[0]}"
        if over:
            return (f"{missing}, and line {over[0][0]} is over the limit",
                    f"line {blank[0]} is blank; {overs}; the limit is {limit}")
        return missing, f"line {blank[0]} is blank"
    if over:
        return "over the limit", f"{overs}; the limit is {limit}"
    return None


def chase_list(campaign: Campaign, *, treatment_only: bool = False) -> ChaseList:
    """Read and check the campaign (in a scratch store) and list, per team, who has no
    complete feedback. ``treatment_only`` matches forms made with ``treatment_only``."""
    from hhp_letters.checks import check
    from hhp_letters.workspace import scratch_store

    limit = feedback_limit(campaign)
    with scratch_store() as store:
        checked = check(campaign, store)
        people = list(checked.participants())
        found: dict[str, list[Feedback]] = {}
        for pid, entries, _arm, n in store.feedback_by_id():
            if n == 1:  # an id on one list row (an id on two is an error of the list)
                found[pid] = entries
    held = {p.participant_id for p in checked.problems if p.code == "held" and p.participant_id}
    held |= {p.participant_id for p in people if p.hold}
    plan = plan_forms(people, campaign.spec.authorities)
    teams = [_team(t, found, held, limit, treatment_only) for t in plan.teams]
    return ChaseList(campaign.spec.campaign.name, limit, treatment_only,
                     tuple(t for t in teams if t.members))


def _team(team: TeamForm, found: dict[str, list[Feedback]], held: set[str], limit: int,
          treatment_only: bool) -> ChaseTeam:
    members = team.chosen(treatment_only=treatment_only)
    manager = " / ".join(team.managers)
    returned = any(m.participant_id in found for m in members)
    entries: list[ChaseEntry] = []
    complete = n_held = 0
    for m in members:
        if m.participant_id in held:
            n_held += 1
            continue
        state = _state(found.get(m.participant_id, ()), limit)
        if state is None:
            complete += 1
            continue
        missing, detail = state
        if not returned:
            detail = "the team's form has not come back"
        entries.append(ChaseEntry(m.participant_id, m.first_name, m.last_name,
                                  team.key.authority, team.team, manager, team.file_name,
                                  missing, detail, m.arm is Arm.TREATMENT, m.row))
    return ChaseTeam(team.key.authority, team.team, manager, team.file_name, len(members),
                     complete, n_held, returned, tuple(entries))


# -- chase.xlsx -----------------------------------------------------------------------------------

def _reminder_rows(chase: ChaseList) -> Iterable[tuple[str, ...]]:
    for e in chase.entries:
        yield (e.authority, e.team, e.manager, e.form_file, e.participant_id, e.first_name,
               e.last_name, e.missing, e.detail, "yes" if e.needed_for_letter else "no")


def _manager_rows(chase: ChaseList) -> Iterable[tuple[str | int, ...]]:
    for manager, authority, teams in chase.managers():
        yield (manager, authority, "; ".join(t.team or "(no team)" for t in teams),
               "; ".join(t.form_file for t in teams), sum(t.members for t in teams),
               sum(t.complete for t in teams), sum(len(t.entries) for t in teams),
               sum(1 for t in teams if not t.returned))


def _sheet(ws: Worksheet, columns: Sequence[str], rows: Iterable[Sequence[str | int]],
           widths: Sequence[int]) -> None:
    for c, (header, width) in enumerate(zip(columns, widths, strict=True), start=1):
        cell = text_cell(ws, 1, c, header)
        cell.font = Font(bold=True)
        cell.fill = PatternFill(fill_type="solid", start_color="FFD9D9D9",
                                end_color="FFD9D9D9")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[cell.column_letter].width = width
    for r, values in enumerate(rows, start=2):
        for c, value in enumerate(values, start=1):
            if isinstance(value, int):
                ws.cell(row=r, column=c, value=value)
            else:
                text_cell(ws, r, c, value)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def chase_workbook(chase: ChaseList) -> Workbook:
    wb = Workbook()
    ws = wb.active
    if not isinstance(ws, Worksheet):
        raise TypeError("openpyxl gave no worksheet")
    ws.title = REMINDERS_SHEET
    _sheet(ws, REMINDER_COLUMNS, _reminder_rows(chase), (10, 26, 22, 30, 14, 14, 16, 22, 40, 22))
    # the coordinator-only column stands out, so nobody merges it into a reminder by mistake
    ws.cell(row=1, column=len(REMINDER_COLUMNS)).fill = PatternFill(
        fill_type="solid", start_color="FFFFC7CE", end_color="FFFFC7CE")
    _sheet(wb.create_sheet(MANAGERS_SHEET), MANAGER_COLUMNS, _manager_rows(chase),
           (24, 10, 40, 40, 10, 10, 10, 12))
    wb.properties.title = f"Chase list: {chase.campaign}"
    return wb


def write_chase(chase: ChaseList, path: Path) -> Path:
    """``chase.xlsx`` (sheets "Reminders", one row per person to chase, for a mail merge, and
    "By manager"); a path ending in ``.csv`` gets the reminder rows alone (UTF-8 with BOM, cells
    a spreadsheet would run as formulas neutralised). Written atomically."""
    if path.suffix.lower() == ".csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(REMINDER_COLUMNS)
        for row in _reminder_rows(chase):
            writer.writerow([spreadsheet_safe(v) for v in row])
        atomic_write_bytes(path, buf.getvalue().encode("utf-8-sig"))
        return path
    # a fixed date: the file depends on its content alone (the file's own time says when)
    atomic_write_bytes(path, workbook_bytes(chase_workbook(chase), dt.date(2000, 1, 1)))
    return path


__all__ = ["COORDINATOR_ONLY", "MANAGERS_SHEET", "REMINDERS_SHEET", "ChaseEntry", "ChaseList",
           "ChaseTeam", "chase_list", "chase_workbook", "write_chase"]
