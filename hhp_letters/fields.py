"""Canonical fields and the header aliases that map onto them (contract: canonical fields)."""

from __future__ import annotations

import re
from collections.abc import Mapping

ALIASES: Mapping[str, tuple[str, ...]] = {
    "participant_id": ("participant id", "id", "participant", "study id", "staff id", "staff no",
                       "staff number", "participant number", "participant no", "team id"),
    "first_name": ("first name", "forename", "given name", "preferred name", "firstname"),
    "last_name": ("last name", "surname", "family name", "lastname"),
    "arm": ("arm", "allocation", "group", "treatment", "condition", "trial arm"),
    "authority": ("authority", "la", "local authority", "council"),
    "address_1": ("address line 1", "address 1", "street", "address", "address1"),
    "address_2": ("address line 2", "address 2", "address2"),
    "address_3": ("address line 3", "address 3", "address3", "locality"),
    "town": ("town", "post town", "town/city", "city"),
    "postcode": ("postcode", "post code", "postal code"),
    "team": ("team", "team name"),
    "site": ("site", "building", "office", "location", "cluster"),
    "manager_first_name": ("manager first name", "manager", "team manager", "manager name"),
    "feedback_1": ("feedback 1", "line 1", "feedback line 1", "feedback1"),
    "feedback_2": ("feedback 2", "line 2", "feedback line 2", "feedback2"),
}

FEEDBACK_FIELDS = ("participant_id", "feedback_1", "feedback_2")
LIST_FIELDS = tuple(f for f in ALIASES if f not in ("feedback_1", "feedback_2"))

REQUIRED: Mapping[str, tuple[str, ...]] = {
    "letters": ("participant_id", "first_name", "last_name", "arm", "authority", "address_1",
                "town", "postcode"),
    "notes": ("participant_id", "arm", "authority", "team", "site", "manager_first_name"),
    "feedback": ("participant_id", "feedback_1", "feedback_2"),
}

# Fields whose text keeps its line breaks; every other field has its white space folded.
MULTILINE = frozenset({"feedback_1", "feedback_2"})

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


def display_name(field: str) -> str:
    """The header we suggest for a field in messages."""
    return ALIASES[field][0].capitalize() if field != "participant_id" else "Participant ID"
