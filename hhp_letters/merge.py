"""Checked inputs → one job per letter, and a reason for every row that gets none."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hhp_letters.checks import CheckedInputs
from hhp_letters.model import Arm, LetterJob, Participant

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


@dataclass(frozen=True)
class Merged:
    jobs: tuple[LetterJob, ...]
    withheld: tuple[Withheld, ...]


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


def merge_letters(checked: CheckedInputs) -> Merged:
    sort = checked.campaign.spec.print.sort
    jobs: list[LetterJob] = []
    withheld: list[Withheld] = []
    for p in checked.participants:
        if p.arm is Arm.CONTROL:
            withheld.append(Withheld(p, "control_arm"))
            continue
        if p.errors or p.authority is None or p.participant_id not in checked.feedback:
            withheld.append(Withheld(p, reason_for(p.errors) if p.errors else "missing_feedback"))
            continue
        fb = checked.feedback[p.participant_id]
        key = {"postcode": postcode_key(p.postcode),
               "team": f"{p.team}\x00{postcode_key(p.postcode)}",
               "none": f"{p.origin.row or 0:09d}"}[sort]
        jobs.append(LetterJob(p.participant_id, p.authority, p.first_name, p.last_name,
                              address_lines(p), (fb.line_1, fb.line_2), key, p.origin))
    return Merged(tuple(jobs), tuple(withheld))
