"""Typed values passed between the stages (read → check → merge → render → bundle → audit)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hhp_letters.campaign import Authority
from hhp_letters.problems import Origin

ARM_VALUES = {
    "treatment": "treatment", "intervention": "treatment", "t": "treatment", "1": "treatment",
    "yes": "treatment", "true": "treatment",
    "control": "control", "c": "control", "0": "control", "no": "control", "false": "control",
}


class Arm(StrEnum):
    TREATMENT = "treatment"
    CONTROL = "control"

    @classmethod
    def parse(cls, text: str) -> Arm | None:
        value = ARM_VALUES.get(" ".join(text.split()).casefold())
        return None if value is None else cls(value)


@dataclass(frozen=True, slots=True)
class Participant:
    """One row of the randomised list, as read. Invalid rows are kept, with their error codes,
    so every row can be accounted for."""

    participant_id: str
    arm: Arm | None
    authority: Authority | None
    first_name: str
    last_name: str
    address: tuple[str, ...]  # address lines 1-3, blanks dropped
    town: str
    postcode: str  # normalised when valid, else as written
    team: str
    site: str
    manager_first_name: str
    origin: Origin
    errors: tuple[str, ...] = ()  # codes of error-level problems on this row


@dataclass(frozen=True, slots=True)
class Feedback:
    participant_id: str
    line_1: str
    line_2: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class LetterJob:
    """Everything one letter needs, merged from the list, the feedback and campaign.toml."""

    participant_id: str
    authority: Authority
    first_name: str
    last_name: str
    address_lines: tuple[str, ...]  # after the name: street lines, POST TOWN, POSTCODE
    feedback: tuple[str, str]
    sort_key: str  # postage order within the authority's bundles
    origin: Origin

    @property
    def name_line(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    # what the bundle writer needs of any job
    @property
    def key(self) -> str:
        return self.participant_id

    @property
    def stem(self) -> str:
        return self.participant_id.replace("/", "_").replace("\\", "_")

    @property
    def postcode(self) -> str:
        return self.address_lines[-1]

    @property
    def title(self) -> str:
        return f"Letter {self.participant_id}"


@dataclass(frozen=True, slots=True)
class NoteJob:
    """One coffee-machine note: a treatment team, its site (the cluster) and its manager."""

    key: str  # authority and team, as the store groups rows
    stem: str  # file name, unique within the authority
    authority: Authority
    team: str
    site: str
    manager_first_name: str
    people: int
    sort_key: str
    origin: Origin  # the team's first row

    @property
    def postcode(self) -> str:
        return ""

    @property
    def title(self) -> str:
        return f"Note for {self.team}"
