"""Sign-off: `hhp-letters approve PROOF_RUN --by "Name, role"` binds a proof run — every input's
SHA-256, and a keyed digest of what each letter prints — into the campaign ledger. With
``[campaign] require_approval = true`` a live run whose inputs differ from the last approved
proof refuses, naming each file that changed and, for the list and the feedback, each row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hhp_letters.audit import AUDIT_FILE, Clock, file_sha256, utc_now
from hhp_letters.campaign import load_campaign
from hhp_letters.errors import ProblemsFound, UsageError
from hhp_letters.keys import campaign_keys, keyed_digest
from hhp_letters.ledger import Entry, Ledger, append, lock
from hhp_letters.model import LetterJob
from hhp_letters.problems import Origin, Problem, error

if TYPE_CHECKING:
    from hhp_letters.pipeline import Prepared

SIGNED_FIELDS = ("first_name", "feedback_1", "feedback_2", "address")


def _records(run: Path) -> Iterator[dict[str, Any]]:
    with (run / AUDIT_FILE).open(encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def approve(proof_run: Path, by: str, *, clock: Clock = utc_now) -> Entry:
    """Record the sign-off of a proof run in its campaign's ledger."""
    from hhp_letters.verify import verify_run

    if not by.strip():
        raise UsageError("say who signs off", hint='give --by "Name, role"')
    if not (proof_run / AUDIT_FILE).is_file():
        raise UsageError(f"{proof_run} is not a run folder",
                         hint="give the folder `letters CAMPAIGN --proof --out ...` made")
    run = next(_records(proof_run))
    if not (run.get("options") or {}).get("proof"):
        raise UsageError(f"{proof_run} is a live run, not a proof",
                         hint="sign off the proof run the letters were checked in")
    failed = [r.name for r in verify_run(proof_run) if not r.ok]
    if failed:
        raise ProblemsFound(f"{proof_run} does not verify ({'; '.join(failed)}), so it cannot "
                            "be signed off", [])
    campaign = load_campaign(Path(str(run["campaign"])))
    letters = []
    for record in _records(proof_run):
        if record.get("event") == "allocation" and record.get("status") == "produced":
            letters.append([record["participant_id"], record.get("signed") or {}])
    head = (proof_run / "audit.head").read_text(encoding="utf-8").strip()
    fields = {"by": by.strip(), "proof_folder": str(proof_run.resolve()),
              "proof_audit_head": head, "campaign_name": campaign.spec.campaign.name,
              "inputs": sorted([i["role"], i["path"], i["sha256"]] for i in run["inputs"]),
              "letters": sorted(letters)}
    with lock(campaign.root):
        return append(campaign.root, "approval", fields, clock=clock)


def signed_digests(key: bytes, job: LetterJob) -> dict[str, str]:
    """What a letter prints from the inputs, as keyed digests, per part (to name what changed)."""
    return digests_of(key, job.participant_id, {
        **job.fields(), "address": "\n".join((job.name_line, *job.address_lines))})


def digests_of(key: bytes, participant_id: str, texts: dict[str, str]) -> dict[str, str]:
    return {name: keyed_digest(key, participant_id, texts[name]) for name in SIGNED_FIELDS}


def refuse_unless_approved(prepared: Prepared, book: Ledger) -> None:
    """A live run of a campaign that requires sign-off: its inputs must be those of the last
    approved proof, letter for letter."""
    from hhp_letters.pipeline import input_files

    campaign = prepared.campaign
    approvals = list(book.of("approval"))
    origin = Origin(campaign.path.name, column="campaign.require_approval")
    if not approvals:
        raise ProblemsFound("this campaign requires a signed-off proof before a live run, and "
                            "none is recorded", [error(
                                "not_approved", origin, "no proof of this campaign has been "
                                "signed off", "make a proof (`hhp-letters letters CAMPAIGN "
                                "--proof --out PROOF`), check it, then `hhp-letters approve "
                                "PROOF --by \"Name, role\"`")])
    approval = approvals[-1]
    problems: list[Problem] = []
    approved = {(role, path): sha for role, path, sha in approval["inputs"]}
    current = {(f.role, f.shown): file_sha256(f.path) for f in input_files(prepared)}
    for (role, path), sha in sorted(current.items()):
        if role in ("font", "template", "icc_profile"):
            continue  # built into the tool: a new version shows in the letters compared below
        if approved.get((role, path)) != sha:
            what = "was added since" if (role, path) not in approved else "changed since"
            problems.append(error("changed_since_approval", Origin(path),
                                  f"{path} ({role}) {what} the proof was signed off by "
                                  f"{approval['by']}", "make a new proof and have it signed off"))
    for (role, path) in sorted(set(approved) - set(current)):
        if role not in ("font", "template", "icc_profile"):
            problems.append(error("changed_since_approval", Origin(path),
                                  f"{path} ({role}) was signed off but is no longer an input",
                                  "make a new proof and have it signed off"))
    if prepared.layout is not None:
        problems += _letter_changes(prepared, dict(approval["letters"]), approval)
    if problems:
        raise ProblemsFound(f"{len(problems)} change(s) since the proof was signed off by "
                            f"{approval['by']}; nothing was produced", problems)


def _letter_changes(prepared: Prepared, signed: dict[str, dict[str, str]],
                    approval: Entry) -> list[Problem]:
    key = campaign_keys(prepared.campaign.root).digest_key
    problems: list[Problem] = []
    layout = prepared.layout
    if layout is None:
        return problems
    for job in layout.jobs():
        if not isinstance(job, LetterJob):
            continue
        before = signed.get(job.participant_id)
        if before is None:
            problems.append(error("changed_since_approval", job.origin,
                                  f"participant {job.participant_id!r} was not in the proof "
                                  f"{approval['by']} signed off", "make a new proof and have "
                                  "it signed off", job.participant_id))
            continue
        now = signed_digests(key, job)
        for name in SIGNED_FIELDS:
            if before.get(name) != now[name]:
                where = job.where("address_1" if name == "address" else name)
                problems.append(error(
                    "changed_since_approval", where,
                    f"participant {job.participant_id!r}: the {name.replace('_', ' ')} changed "
                    "since the proof was signed off", "make a new proof and have it signed off",
                    job.participant_id))
    return problems


def approval_inputs(entry: Entry) -> dict[tuple[str, str], str]:
    return {(role, path): sha for role, path, sha in entry["inputs"]}


__all__ = ["approve", "refuse_unless_approved", "signed_digests"]
