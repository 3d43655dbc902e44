"""Returned mail: `hhp-letters returns CAMPAIGN --file returned.csv` records letters that came
back undelivered, by participant id or by the letter reference printed on the letter (and
carried in the mail-integrity code). Every line must name a letter the campaign sent; a file
with any line that does not is refused whole, naming the line, and nothing is recorded.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from hhp_letters.audit import Clock, utc_now
from hhp_letters.campaign import Campaign
from hhp_letters.errors import ProblemsFound, UsageError
from hhp_letters.ledger import Entry, Letter, append, envelope_key, lock, read_ledger, standing
from hhp_letters.problems import Origin, Problem, error, warning
from hhp_letters.render.datamatrix import MailPayload

_REFERENCE = re.compile(r"HHP-[A-Z2-9]{4}-[A-Z2-9]{4}")
_ID_HEADERS = {"participantid", "participant", "id", "studyid"}
_REF_HEADERS = {"reference", "letterreference", "ref", "code"}


@dataclass(frozen=True)
class Returned:
    line: int
    letter: Letter
    reason: str
    date: str


@dataclass(frozen=True)
class ReturnsResult:
    recorded: tuple[Entry, ...]
    skipped: tuple[Problem, ...]  # lines naming a letter already recorded as returned


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line, {id|reference, reason, date}) from a CSV with a header, or one value a line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="cp1252")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}",
                         hint="give the returned-mail file") from exc
    lines = text.splitlines()
    first = [c.strip().casefold().replace(" ", "").replace("_", "") for c in
             next(csv.reader([lines[0]])) ] if lines else []
    rows: list[tuple[int, dict[str, str]]] = []
    if first and (set(first) & (_ID_HEADERS | _REF_HEADERS)):
        for number, values in enumerate(csv.reader(io.StringIO(text)), start=1):
            if number == 1 or not any(v.strip() for v in values):
                continue
            cells = dict(zip(first, (v.strip() for v in values), strict=False))
            rows.append((number, {
                "id": next((cells[h] for h in first if h in _ID_HEADERS and cells.get(h)), ""),
                "reference": next((cells[h] for h in first if h in _REF_HEADERS
                                   and cells.get(h)), ""),
                "reason": cells.get("reason", ""), "date": cells.get("date", "")}))
        return rows
    for number, line in enumerate(lines, start=1):
        if line.strip():
            value = line.strip()
            key = "reference" if _REFERENCE.fullmatch(value) or value.startswith("HHP1|") \
                else "id"
            rows.append((number, {key: value, "reason": "", "date": ""}))
    return rows


def _find(row: dict[str, str], by_reference: dict[str, Letter], by_envelope: dict[str, Letter],
          effective: dict[str, Letter]) -> Letter | str:
    reference = row.get("reference", "")
    if reference.startswith("HHP1|"):  # a decoded mail-integrity code
        try:
            MailPayload.parse(reference)
        except ValueError:
            return f"{row['reference']!r} is not a code hhp-letters prints (it does not decode)"
        letter = by_envelope.get(envelope_key(reference))
        return letter if letter is not None else (
            "the code is not of a letter this campaign sent (or that letter was replaced)")
    if reference:
        letter = by_reference.get(reference)
        return letter if letter is not None else (
            f"no letter of this campaign has the reference {reference!r}")
    pid = row.get("id", "")
    if not pid:
        return "the line names no participant id or letter reference"
    letter = effective.get(pid)
    return letter if letter is not None else (
        f"participant {pid!r} was never sent a letter (not in the randomised list, in the "
        "control arm, or not yet sent)")


def record_returns(campaign: Campaign, path: Path, *, clock: Clock = utc_now) -> ReturnsResult:
    shown = path.name
    with lock(campaign.root):
        state = standing(read_ledger(campaign.root))
        effective = dict(state.effective)
        by_reference = {ref: letter for ref, letter in state.by_reference.items()
                        if effective.get(letter.participant_id) == letter}
        by_envelope = {key: letter for key, letter in state.by_envelope.items()
                       if effective.get(letter.participant_id) == letter}
        problems: list[Problem] = []
        found: list[Returned] = []
        seen: set[str] = set()
        for line, row in _rows(path):
            letter = _find(row, by_reference, by_envelope, effective)
            if isinstance(letter, str):
                problems.append(error("unknown_return", Origin(shown, row=line), letter,
                                      "check the id or reference against the letters sent"))
                continue
            if letter.output_sha256 in seen or letter.participant_id in state.returned:
                problems.append(warning("duplicate_return", Origin(shown, row=line),
                                        f"the letter of {letter.participant_id!r} is already "
                                        "recorded as returned", "nothing to do",
                                        letter.participant_id))
                continue
            seen.add(letter.output_sha256)
            found.append(Returned(line, letter, row.get("reason", ""), row.get("date", "")))
        errors = [p for p in problems if p.is_error]
        if errors:
            raise ProblemsFound(f"{len(errors)} line(s) of {shown} name no letter this "
                                "campaign sent; nothing was recorded", problems)
        entries = tuple(append(campaign.root, "returned", {
            "participant_id": r.letter.participant_id, "output_sha256": r.letter.output_sha256,
            "reference": r.letter.reference, "run": r.letter.run, "reason": r.reason,
            "date": r.date, "file": shown, "line": r.line}, clock=clock) for r in found)
    return ReturnsResult(entries, tuple(p for p in problems if not p.is_error))
