"""The one rule for names that become files: participant ids and team names in a run folder."""

from __future__ import annotations

import re

# A participant id names its letter's file, so it must be a portable file name as written.
_SAFE_ID = re.compile(r"[\w-][\w .-]{0,99}")
_UNSAFE_RUN = re.compile(r"[^\w-]+")


def is_safe_id(text: str) -> bool:
    """Letters, digits, spaces, '.', '-' and '_', not starting with '.' or a space, ≤ 100."""
    return _SAFE_ID.fullmatch(text) is not None and not text.endswith((" ", "."))


def file_stem(text: str, fallback: str = "item") -> str:
    """A file name for free text (a team's name): runs of anything else become '-'."""
    return _UNSAFE_RUN.sub("-", text).strip("-") or fallback


def is_safe_relative(rel: str) -> bool:
    """A path inside a run folder: relative, forward slashes, no '..', no empty parts."""
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and "\\" not in rel and all(
        p not in ("", ".", "..") for p in parts)
