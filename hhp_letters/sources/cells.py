"""The one rule for turning a cell's text into a value: Unicode NFC, line breaks, white space,
and characters that must never reach a letter silently.

* Text is normalised to NFC (Mac-made files store ``é`` as ``e`` + U+0301).
* Control characters (C0 other than line breaks and TAB, DEL, C1) are an error naming the
  cell: they are invisible, invalid in Word XML, and some would print as escape codes.
* TAB is an error in one-line fields (a name, an id, an address) and becomes a space, with a
  warning, in feedback (pasted from Word).
* Zero-width characters (U+200B, U+200C, U+200D, U+2060, U+FEFF) are removed with a warning.
* Non-breaking spaces become spaces; runs of white space are folded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# C0 (but line breaks and TAB), DEL, C1, and the bidirectional overrides and isolates that
# make a name display reversed or reordered (U+202A-U+202E, U+2066-U+2069).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " "})


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # control_character | zero_width
    is_error: bool
    message: str
    hint: str


def _names(chars: set[str]) -> str:
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'control character')}"
                     for c in sorted(chars))


def clean(text: str, multiline: bool) -> tuple[str, tuple[Finding, ...]]:
    """The value of a cell, and what was wrong with its text."""
    if text.isascii() and text.isprintable():  # the common case, fast
        return " ".join(text.split()), ()
    findings: list[Finding] = []
    text = unicodedata.normalize("NFC", text.translate(_SPACES))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = set(_CONTROL.findall(text))
    if controls:
        findings.append(Finding(
            "control_character", True, f"the cell holds invisible control characters "
            f"({_names(controls)})", "retype the cell; the text was probably pasted from "
            "another program"))
        text = _CONTROL.sub("", text)
    if "\t" in text:
        if multiline:
            findings.append(Finding("control_character", False,
                                    "the cell holds a TAB character; it is printed as a space",
                                    "nothing to do, unless the text was pasted by mistake"))
            text = text.replace("\t", " ")
        else:
            findings.append(Finding("control_character", True, "the cell holds a TAB "
                                    "character (U+0009)", "retype the cell without the TAB"))
            text = text.replace("\t", " ")
    zero = set(_ZERO_WIDTH.findall(text))
    if zero:
        findings.append(Finding("zero_width", False, f"invisible zero-width characters "
                                f"({_names(zero)}) were removed",
                                "nothing to do; check the cell reads as intended"))
        text = _ZERO_WIDTH.sub("", text)
    if multiline:
        lines = [" ".join(line.split()) for line in text.split("\n")]
        return "\n".join(line for line in lines if line), tuple(findings)
    return " ".join(text.split()), tuple(findings)
