"""Checked inputs → one job per letter, and a reason for every row that gets none."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hhp_letters.checks import CheckedInputs
from hhp_letters.model import Arm, LetterJob, NoteJob, Participant

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
    "font_not_embedded": "readback_failed",
}


def reason_for(codes: Iterable[str]) -> str:
    """The audit reason for a row's error codes (the first that has one)."""
    for code in codes:
        if code in REASONS:
            return REASONS[code]
    return "invalid_row"


@dataclass(frozen=True, slots=True)
class Withheld:
    participant: Participant
    reason: str


def withheld_reason(p: Participant) -> str | None:
    """Why this row gets no letter, or None when it gets one."""
    if p.arm is Arm.CONTROL:
        return "control_arm"
    if p.errors:
        return reason_for(p.errors)
    return None


class _Outcomes:
    """What both kinds share: the rows that get nothing, and why."""

    def __init__(self, checked: CheckedInputs) -> None:
        self.checked = checked

    def iter_withheld(self) -> Iterator[Withheld]:
        for p in self.checked.iter_participants():
            reason = withheld_reason(p)
            if reason is not None:
                yield Withheld(p, reason)

    @property
    def withheld(self) -> tuple[Withheld, ...]:
        return tuple(self.iter_withheld())


class Merged(_Outcomes):
    """The letters of a checked campaign, streamed from its store in postage order."""

    def __init__(self, checked: CheckedInputs) -> None:
        super().__init__(checked)
        self._assign_sort_keys()

    def _assign_sort_keys(self) -> None:
        """Postage order, computed inside SQLite (no per-row Python list)."""
        sort = self.checked.campaign.spec.print.sort
        conn = self.checked.store.conn
        conn.create_function("postcode_key", 1, postcode_key, deterministic=True)
        expression = {"postcode": "postcode_key(postcode)",
                      "team": "team || char(0) || postcode_key(postcode)",
                      "none": "printf('%09d', coalesce(row, 0))"}[sort]
        conn.execute(f"UPDATE participants SET sort_key = {expression} "  # noqa: S608
                     "WHERE arm = 'treatment'")

    def iter_jobs(self) -> Iterator[LetterJob]:
        return self.checked.store.letter_jobs()

    def count(self) -> int:
        return self.checked.store.count_letter_jobs()

    @property
    def jobs(self) -> tuple[LetterJob, ...]:
        return tuple(self.iter_jobs())


_PUNCT = re.compile(r"[,.]")
_POSTCODE = re.compile(r"([A-Z]{1,2})(\d{1,2})([A-Z]?) (\d)([A-Z]{2})")


def postcode_key(postcode: str) -> str:
    """Postage order: area, district (numerically), sector, unit."""
    m = _POSTCODE.fullmatch(postcode)
    if m is None:
        return f"~{postcode}"
    area, district, suffix, sector, unit = m.groups()
    return f"{area:<2}{int(district):03d}{suffix or ' '}{sector}{unit}"


def address_lines(p: Participant) -> tuple[str, ...]:
    """Royal Mail style: no commas or full stops, POST TOWN in capitals, postcode last."""
    lines = [" ".join(_PUNCT.sub(" ", line).split()) for line in p.address]
    return (*[line for line in lines if line], " ".join(p.town.upper().split()), p.postcode)


_UNSAFE = re.compile(r"[^\w-]+")


class NotesMerged(_Outcomes):
    """The notes of a checked campaign: one per treatment team, streamed from the store."""

    def iter_jobs(self) -> Iterator[NoteJob]:
        campaign = self.checked.campaign
        used: set[tuple[str, str]] = set()
        for key, code, team, site, manager, people, row in self.checked.store.note_teams():
            authority = campaign.authority(code)
            assert authority is not None
            stem = _UNSAFE.sub("-", team).strip("-") or "team"
            base, n = stem, 1
            while (code, stem.lower()) in used:
                n += 1
                stem = f"{base}-{n}"
            used.add((code, stem.lower()))
            yield NoteJob(key, stem, authority, team, site, manager, people,
                          f"{site.lower()}\x00{team.lower()}",
                          self.checked.store.list_origin.at(row=row))

    def count(self) -> int:
        return self.checked.store.count_note_teams()

    @property
    def jobs(self) -> tuple[NoteJob, ...]:
        return tuple(self.iter_jobs())
