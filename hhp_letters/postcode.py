"""UK postcode syntax: the gov.uk Bulk Data Transfer pattern (print-spec §4.3)."""

from __future__ import annotations

import re

_PATTERN = re.compile(
    r"(GIR 0AA)|((([A-Z][0-9]{1,2})|(([A-Z][A-HJ-Y][0-9]{1,2})|(([A-Z][0-9][A-Z])|"
    r"([A-Z][A-HJ-Y][0-9]?[A-Z])))) [0-9][A-Z]{2})")


def normalise_postcode(text: str) -> str | None:
    """Upper case, one space before the inward code; ``None`` when it is not a valid postcode."""
    compact = "".join(text.split()).upper()
    if len(compact) < 5:
        return None
    candidate = f"{compact[:-3]} {compact[-3:]}"
    return candidate if _PATTERN.fullmatch(candidate) else None
