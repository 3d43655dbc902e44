"""UK postcodes: the gov.uk Bulk Data Transfer pattern (print-spec §4.3) and postage order.

The only place that knows the grammar: validation and the sort key both read it from here.
"""

from __future__ import annotations

import re

_OUTWARD = r"(?:[A-Z][0-9]{1,2}|[A-Z][A-HJ-Y][0-9]{1,2}|[A-Z][0-9][A-Z]|[A-Z][A-HJ-Y][0-9]?[A-Z])"
_PATTERN = re.compile(rf"GIR 0AA|{_OUTWARD} [0-9][A-Z]{{2}}")
# area letters, district number, district letter, sector digit, unit letters
_PARTS = re.compile(r"([A-Z]{1,2})([0-9]{1,2})([A-Z]?) ([0-9])([A-Z]{2})")


def normalise_postcode(text: str) -> str | None:
    """Upper case, one space before the inward code; ``None`` when it is not a valid postcode."""
    compact = "".join(text.split()).upper()
    if len(compact) < 5:
        return None
    candidate = f"{compact[:-3]} {compact[-3:]}"
    return candidate if _PATTERN.fullmatch(candidate) else None


def postcode_key(postcode: str) -> str:
    """Postage order: area, district (numerically), sector, unit. Invalid ones sort last."""
    m = _PARTS.fullmatch(postcode)
    if m is None:
        return f"~{postcode}"
    area, district, suffix, sector, unit = m.groups()
    return f"{area:<2}{int(district):03d}{suffix or ' '}{sector}{unit}"
