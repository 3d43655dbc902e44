"""The merge stage: checked inputs → one job per letter or note, and a reason for every row
that gets none.

:func:`merge` fixes the postage order (in its own table of the store) and returns a frozen
job source; it never changes what the check stage recorded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from hhp_letters.checks import Checked
from hhp_letters.errors import InternalError
from hhp_letters.filenames import file_stem
from hhp_letters.model import Arm, LetterJob, NoteJob, Participant, TeamKey
from hhp_letters.postcode import postcode_key

# Error codes on a row → the stable reason recorded in the audit.
REASONS = {
    "missing_id": "invalid_row", "duplicate_id": "duplicate_id", "unknown_arm": "unknown_arm",
    "unknown_authority": "unknown_authority", "missing_first_name": "missing_name",
    "missing_last_name": "missing_name", "incomplete_address": "invalid_address",
    "invalid_postcode": "invalid_address", "address_too_wide": "invalid_address",
    "address_too_many_lines": "invalid_address", "missing_feedback": "missing_feedback",
    "blank_feedback": "missing_feedback", "conflicting_feedback": "conflicting_feedback",
    "overflow": "overflow", "unprintable_character": "unprintable_character",
    "unsafe_id": "invalid_row", "mixed_cluster": "mixed_cluster", "missing_team": "invalid_team",
    "missing_site": "invalid_team", "missing_manager_first_name": "invalid_team",
    "inconsistent_team": "invalid_team", "readback": "readback_failed",
    "font_not_embedded": "readback_failed", "held": "held", "leading_zeros": "invalid_row",
    "control_character": "invalid_row", "formula_error": "invalid_row",
    "formula_not_cached": "invalid_row", "cell_too_long": "invalid_row",
    "letter_design": "letter_design", "template_check": "letter_design",
    "already_sent": "already_sent", "not_requested": "not_requested",
    "lost_character": "invalid_row", "name_ambiguous": "missing_feedback",
    "unprintable_character_design": "letter_design",
}
STAGE = "merge"
CHECKED = ("check", STAGE)  # what a job must be free of to be laid out


def reason_for(codes: Iterable[str]) -> str:
    """The audit reason for a row's codes: the first, in stage order, that has one."""
    for code in codes:
        if code in REASONS:
            return REASONS[code]
    return "invalid_row"


def withheld_reason(p: Participant) -> str | None:
    """Why this row gets nothing, or None when it gets its letter or note."""
    if p.arm is Arm.CONTROL:
        return "control_arm"
    if p.errors:
        return reason_for(p.errors)
    if p.arm is None:
        return "unknown_arm"
    return None


_PUNCT = re.compile(r"[,.]")
_BASE32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: read aloud over a phone


def letter_reference(campaign_name: str, participant_id: str) -> str:
    """A letter's reference: stable for a participant within a campaign, and telling nobody
    who they are without the campaign's records (a returns desk quotes it)."""
    digest = hashlib.sha256(f"{campaign_name}\x1f{participant_id}".encode()).digest()
    number = int.from_bytes(digest[:6], "big")
    chars = []
    for _ in range(8):
        number, rem = divmod(number, 32)
        chars.append(_BASE32[rem])
    return "HHP-" + "".join(chars[:4]) + "-" + "".join(chars[4:])


def address_lines(p: Participant) -> tuple[str, ...]:
    """Royal Mail style: no commas or full stops, POST TOWN in capitals, postcode last."""
    lines = [" ".join(_PUNCT.sub(" ", line).split()) for line in p.address]
    town = " ".join(_PUNCT.sub(" ", p.town).upper().split())  # "St. Albans" → ST ALBANS
    return (*[line for line in lines if line], town, p.postcode)


@dataclass(frozen=True)
class LetterJobs:
    """The letters of a checked campaign, streamed from the store in postage order."""

    checked: Checked

    def jobs(self, stages: tuple[str, ...] = CHECKED) -> Iterator[LetterJob]:
        """Jobs of rows with no error from ``stages`` (later stages add their own)."""
        lookup = self.checked.campaign.authority
        store = self.checked.store
        columns = store.source_columns("list")
        by_file: dict[str, dict[str, str]] = {}
        for p, sort_key, feedback in store.letter_rows(lookup, stages):
            fb_columns = by_file.get(feedback.origin.file)
            if fb_columns is None:
                fb_columns = by_file[feedback.origin.file] = store.source_columns(
                    f"feedback:{feedback.origin.file}")
            greet = "preferred_name" if p.preferred_name else "first_name"
            origins = (
                ("first_name", p.origin.at(column=columns.get(greet))),
                ("last_name", p.origin.at(column=columns.get("last_name"))),
                *((f, p.origin.at(column=columns.get(f)))
                  for f in ("address_1", "address_2", "address_3", "town", "postcode")),
                *((f, feedback.origin.at(column=fb_columns.get(f)))
                  for f in ("feedback_1", "feedback_2")))
            if p.authority is None:
                raise InternalError(f"row {p.origin.row} reached merge without an authority")
            yield LetterJob(p.participant_id, p.authority, p.greeting_name, p.last_name,
                            address_lines(p), (feedback.line_1, feedback.line_2), sort_key,
                            p.origin, legal_first_name=p.first_name, team=p.team,
                            manager_first_name=p.manager_first_name,
                            reference=letter_reference(self.checked.campaign.spec.campaign.name,
                                                       p.participant_id),
                            origins=origins)

    def count(self, stages: tuple[str, ...] = CHECKED) -> int:
        return self.checked.store.count_letter_rows(stages)


@dataclass(frozen=True)
class NoteJobs:
    """The notes of a checked campaign: one per treatment team, streamed from the store."""

    checked: Checked
    stems: Mapping[TeamKey, str]  # fixed once, so a team's file name never depends on others

    def jobs(self, stages: tuple[str, ...] = CHECKED) -> Iterator[NoteJob]:
        campaign = self.checked.campaign
        origin = self.checked.store.list_origin()
        for team in self.checked.store.team_rows(stages):
            authority = campaign.authority(team.key.authority)
            if authority is None:
                raise InternalError(f"team {team.team!r} has an unknown authority")
            yield NoteJob(team.key, self.stems[team.key], authority, team.team, team.site,
                          team.manager, team.people,
                          f"{team.site.lower()}\x00{team.team.lower()}",
                          origin.at(row=team.first_row))

    def count(self, stages: tuple[str, ...] = CHECKED) -> int:
        return self.checked.store.count_team_rows(stages)


Merged = LetterJobs | NoteJobs


def merge(checked: Checked, *, sent: Iterable[str] = (),
          only: frozenset[str] | None = None) -> Merged:
    """Fix the postage order and return the campaign's job source. ``sent``: the jobs (ids, or
    team keys for notes) an earlier live run already made, withheld as ``already_sent``;
    ``only``: a re-issue's ids — every other treatment row is ``not_requested``."""
    campaign = checked.campaign
    store = checked.store
    for key in sent:
        if campaign.kind == "letters":
            store.add_error(STAGE, "already_sent", pid=key)
        else:
            authority, _, folded = key.partition("\x1f")
            store.add_error(STAGE, "already_sent", team=TeamKey(authority, folded))
    if only is not None:
        store.mark_others(STAGE, "not_requested", only)
    if campaign.kind == "letters":
        store.assign_order(campaign.spec.print.sort, postcode_key)
        return LetterJobs(checked)
    used: set[tuple[str, str]] = set()
    stems: dict[TeamKey, str] = {}
    for team in checked.store.team_rows(("check",)):  # every team, so stems never shift
        base = stem = file_stem(team.team, "team")
        n = 1
        while (team.key.authority, stem.lower()) in used:
            n += 1
            stem = f"{base}-{n}"
        used.add((team.key.authority, stem.lower()))
        stems[team.key] = stem
    return NoteJobs(checked, stems)
