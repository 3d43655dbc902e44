"""The one rule for names that become files: participant ids and team names in a run folder."""

from __future__ import annotations

import re

# A participant id names its letter's file, so it must be a portable file name as written:
# ASCII only (a Cyrillic Р looks like a Latin P), and never a name Windows reserves.
_SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_ .-]{0,99}")
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])\s*(\..*)?", re.IGNORECASE)
_UNSAFE_RUN = re.compile(r"[^\w-]+")


def id_problem(text: str) -> str | None:
    """Why ``text`` cannot be a participant id (it names a file), or None."""
    if not text.isascii():
        odd = sorted({c for c in text if not c.isascii()})
        return ("holds " + ", ".join(f"{c!r} (U+{ord(c):04X})" for c in odd)
                + ", which may look like ordinary letters but are not: ids must be plain "
                "ASCII")
    if _RESERVED.fullmatch(text.strip()):
        return "cannot be used as a file name: Windows reserves it for a device"
    if _SAFE_ID.fullmatch(text) is None or text.endswith((" ", ".")):
        return "cannot be used as a file name"
    return None


def file_stem(text: str, fallback: str = "item") -> str:
    """A file name for free text (a team's name): runs of anything else become '-'."""
    return _UNSAFE_RUN.sub("-", text).strip("-") or fallback


def is_safe_relative(rel: str) -> bool:
    """A path inside a run folder: relative, forward slashes, no '..', no empty parts."""
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and "\\" not in rel and all(
        p not in ("", ".", "..") for p in parts)
