"""Canonical fields and the header aliases that map onto them (contract: canonical fields)."""

from __future__ import annotations

import re
from collections.abc import Mapping

ALIASES: Mapping[str, tuple[str, ...]] = {
    "participant_id": ("participant id", "id", "participant", "study id", "staff id", "staff no",
                       "staff number", "participant number", "participant no", "team id",
                       "employee number", "employee no", "employee id", "person number",
                       "payroll number", "assignment number"),
    "first_name": ("first name", "forename", "given name", "legal first name", "firstname"),
    "preferred_name": ("preferred name", "known as", "preferred first name", "knownas"),
    "last_name": ("last name", "surname", "family name", "lastname"),
    "arm": ("arm", "allocation", "group", "treatment", "condition", "trial arm", "trial group",
            "randomisation", "randomization"),
    "authority": ("authority", "la", "local authority", "council"),
    "address_1": ("address line 1", "address 1", "street", "address", "address1",
                  "home address 1", "home address line 1"),
    "address_2": ("address line 2", "address 2", "address2", "home address 2",
                  "home address line 2"),
    "address_3": ("address line 3", "address 3", "address3", "locality", "home address 3",
                  "home address line 3"),
    "town": ("town", "post town", "town/city", "city"),
    "postcode": ("postcode", "post code", "postal code"),
    "team": ("team", "team name"),
    "site": ("site", "building", "office", "location", "cluster"),
    "manager_first_name": ("manager first name", "manager", "team manager", "manager name"),
    "hold": ("hold", "do not send", "withhold", "hold reason", "hold do not send",
             "hold do not send reason"),
    "feedback_1": ("feedback 1", "line 1", "feedback line 1", "feedback1"),
    "feedback_2": ("feedback 2", "line 2", "feedback line 2", "feedback2"),
    "comment": ("comment", "comments", "notes", "note", "manager comments"),
    # feedback files only: a manager's return that names people instead of giving their id
    "full_name": ("name", "full name", "staff name", "employee name", "worker name",
                  "social worker", "worker"),
}

FEEDBACK_FIELDS = ("participant_id", "feedback_1", "feedback_2", "first_name", "last_name",
                   "full_name", "hold", "comment")
LIST_FIELDS = tuple(f for f in ALIASES if f not in ("feedback_1", "feedback_2", "comment",
                                                    "full_name"))

REQUIRED: Mapping[str, tuple[str, ...]] = {
    "letters": ("participant_id", "first_name", "last_name", "arm", "authority", "address_1",
                "town", "postcode"),
    "notes": ("participant_id", "arm", "authority", "team", "site", "manager_first_name"),
    "feedback": ("participant_id", "feedback_1", "feedback_2"),
}

# Fields whose text keeps its line breaks; every other field has its white space folded.
MULTILINE = frozenset({"feedback_1", "feedback_2", "comment", "hold"})

_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise_header(text: str) -> str:
    """Case-, space- and punctuation-insensitive form of a header."""
    return _NOT_ALNUM.sub("", text.casefold())


def alias_index(fields: tuple[str, ...]) -> dict[str, str]:
    """normalised alias -> canonical field, for the given fields only."""
    index: dict[str, str] = {}
    for name in fields:
        for alias in (name, *ALIASES[name]):
            index.setdefault(normalise_header(alias), name)
    return index


_SHOWN = {"participant_id": "Participant ID", "preferred_name": "Known as",
          "manager_first_name": "Team manager", "hold": "Hold (do not send)"}


def display_name(field: str) -> str:
    """The header we suggest for a field in messages."""
    return _SHOWN.get(field) or ALIASES[field][0].capitalize()


DESCRIPTION = {
    "participant_id": "the participant id", "first_name": "the first name",
    "preferred_name": "the preferred name", "last_name": "the last name", "arm": "the arm",
    "authority": "the local authority", "address_1": "the first address line",
    "address_2": "the second address line", "address_3": "the third address line",
    "town": "the post town", "postcode": "the postcode", "team": "the team",
    "site": "the site (building)", "manager_first_name": "the team manager's first name",
    "hold": "holds", "feedback_1": "feedback line 1", "feedback_2": "feedback line 2",
    "comment": "comments", "full_name": "the name",
}
