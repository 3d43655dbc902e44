"""Typed values passed between the stages (read → check → merge → render → bundle → audit)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

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


def fold(text: str) -> str:
    """How two spellings of a team or site are judged the same: case and spacing ignored."""
    return " ".join(text.split()).casefold()


class TeamKey(NamedTuple):
    """A team is known by its authority *and* its name: two councils may both have
    "Fostering"."""

    authority: str
    team: str  # folded

    @property
    def text(self) -> str:
        return f"{self.authority}\x1f{self.team}"


@dataclass(frozen=True, slots=True)
class Participant:
    """One row of the randomised list, as read. Invalid rows are kept, with their error codes,
    so every row can be accounted for."""

    seq: int  # the row's place among the list's data rows (1, 2, ...): its identity in a run
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
    preferred_name: str = ""  # "Known as"; the greeting uses it when given
    hold: str = ""  # a coordinator's or manager's reason not to send (never printed or logged)
    errors: tuple[str, ...] = ()  # why this row gets nothing, from every stage, in stage order

    @property
    def greeting_name(self) -> str:
        return self.preferred_name or self.first_name

    @property
    def team_key(self) -> TeamKey | None:
        if self.authority is None or not self.team:
            return None
        return TeamKey(self.authority.code, fold(self.team))


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
    first_name: str  # the name the letter greets (the preferred name when given)
    last_name: str
    address_lines: tuple[str, ...]  # after the name: street lines, POST TOWN, POSTCODE
    feedback: tuple[str, str]
    sort_key: str  # postage order within the authority's bundles
    origin: Origin
    legal_first_name: str = ""  # for the address; the greeting's name when not given
    team: str = ""
    manager_first_name: str = ""
    reference: str = ""  # printed on the letter and in the manifest; identifies nobody alone
    # where each printed field came from: (field, file/sheet/row/column), for problems
    origins: tuple[tuple[str, Origin], ...] = ()

    def __reduce__(self) -> tuple[type[LetterJob], tuple[Any, ...]]:
        # jobs go to worker processes to be planned: positional fields pickle fastest
        return LetterJob, tuple(getattr(self, f) for f in self.__slots__)

    def where(self, field: str) -> Origin:
        return next((o for f, o in self.origins if f == field), self.origin)

    @property
    def name_line(self) -> str:
        """The addressee, as the envelope shows it: legal first name and last name."""
        return f"{self.legal_first_name or self.first_name} {self.last_name}".strip()

    # what the bundle writer needs of any job
    @property
    def key(self) -> str:
        return self.participant_id

    @property
    def stem(self) -> str:
        return self.participant_id  # ids are checked to be safe file names

    @property
    def postcode(self) -> str:
        return self.address_lines[-1]

    @property
    def title(self) -> str:
        return f"Letter {self.participant_id}"

    def fields(self) -> dict[str, str]:
        """The personal texts a letter must show, as read back and digested in the audit."""
        return {"first_name": self.first_name, "feedback_1": self.feedback[0],
                "feedback_2": self.feedback[1]}


@dataclass(frozen=True, slots=True)
class NoteJob:
    """One coffee-machine note: a treatment team, its site (the cluster) and its manager."""

    team_key: TeamKey
    stem: str  # file name, unique within the authority
    authority: Authority
    team: str
    site: str
    manager_first_name: str
    people: int
    sort_key: str
    origin: Origin  # the team's first row

    @property
    def key(self) -> str:
        return self.team_key.text

    @property
    def postcode(self) -> str:
        return ""

    @property
    def title(self) -> str:
        return f"Note for {self.team}"

    def fields(self) -> dict[str, str]:
        return {"manager_first_name": self.manager_first_name}


Job = LetterJob | NoteJob
