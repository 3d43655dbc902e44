"""The flow, end to end: read → check → merge → plan (fit) → render → bundle → audit.

The CLI calls :func:`prepare_letters` (what `check` shows) and :func:`run_letters`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hhp_letters import __version__
from hhp_letters.atomic import atomic_write_text
from hhp_letters.audit import (
    Allocation,
    Clock,
    InputFile,
    file_sha256,
    text_digest,
    utc_now,
    write_audit,
    write_sums,
)
from hhp_letters.bundle import FileOutput, Written, job_ticket, write_letters
from hhp_letters.campaign import Campaign
from hhp_letters.checks import CheckedInputs, check
from hhp_letters.errors import ProblemsFound, RunFolderError
from hhp_letters.merge import Merged, Withheld, merge_letters, reason_for
from hhp_letters.problems import Problem
from hhp_letters.proof import contact_sheet
from hhp_letters.render.native import Assets, NativeLetters, load_assets
from hhp_letters.summary import summarise, to_html, to_markdown

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Prepared:
    """A checked campaign, merged into jobs and measured: what would be printed, and why not."""

    checked: CheckedInputs
    merged: Merged
    problems: tuple[Problem, ...]  # input problems + layout (fit) problems
    backend: NativeLetters | None
    assets: Assets | None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)


def prepare_letters(campaign: Campaign, *, proof: bool = False) -> Prepared:
    checked = check(campaign)
    merged = merge_letters(checked)
    if any(p.is_error and p.origin.file == "campaign.toml" for p in checked.problems):
        return Prepared(checked, merged, checked.problems, None, None)
    assets = load_assets(campaign)
    backend = NativeLetters(campaign, assets, proof=proof)
    fit = backend.check(merged.jobs)
    fit = [*backend.design_problems(), *fit]
    if fit:
        failed = {p.participant_id: p.code for p in fit if p.participant_id}
        jobs = tuple(j for j in merged.jobs if j.participant_id not in failed)
        extra = tuple(
            Withheld(p, reason_for((failed[p.participant_id],)))
            for p in checked.participants
            if p.participant_id in failed and p.participant_id in
            {j.participant_id for j in merged.jobs})
        merged = replace(merged, jobs=jobs, withheld=merged.withheld + extra)
    problems = tuple(sorted([*checked.problems, *fit],
                            key=lambda p: (p.origin.file != "campaign.toml", p.origin.file,
                                           p.origin.row or 0)))
    return Prepared(checked, merged, problems, backend, assets)


@dataclass(frozen=True)
class RunResult:
    out: Path
    prepared: Prepared
    written: Written
    files: tuple[FileOutput, ...]
    seconds: float


def _staging(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial-{os.getpid()}")


def run_letters(prepared: Prepared, out: Path, *, force: bool = False,
                skip_invalid: bool = False, progress: Progress | None = None,
                clock: Clock = utc_now) -> RunResult:
    """Render every job into ``out``. The folder appears only when the run is complete."""
    start = time.perf_counter()
    if prepared.errors and not skip_invalid:
        raise ProblemsFound(f"{len(prepared.errors)} error(s) in the inputs; nothing was "
                            "produced", prepared.problems)
    if prepared.backend is None:
        raise ProblemsFound("campaign.toml has errors; nothing was produced", prepared.problems)
    out = out.resolve()
    if out.exists() and not force:
        raise RunFolderError(f"{out} already exists",
                             hint="choose a new --out folder, or add --force to replace it")
    options = {"force": force, "skip_invalid": skip_invalid, "proof": prepared.backend.proof}
    staging = _staging(out)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        backend = prepared.backend
        backend.prepare()
        written = write_letters(backend, prepared.merged.jobs, staging, progress=progress)
        files = list(written.files)
        if backend.proof:
            sheet = contact_sheet(staging, written.letters, "proof/contact-sheet.png")
            if sheet is not None:
                files.append(sheet)
        else:
            files.append(_write_text(staging, "job-ticket.txt",
                                     job_ticket(backend.campaign, written), "job_ticket"))
        log = write_audit(staging, run=_run_record(prepared, options), inputs=_inputs(prepared),
                          allocations=_allocations(prepared, written),
                          files=[(f.path, f.sha256, f.size, f.kind) for f in files], clock=clock)
        summary = summarise(_allocations(prepared, written), head=log.head,
                            title=backend.campaign.spec.campaign.name, kind="letters")
        atomic_write_text(staging / "summary.md", to_markdown(summary))
        atomic_write_text(staging / "summary.html", to_html(summary))
        write_sums(staging, {f.path: f.sha256 for f in files})
        _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RunResult(out, prepared, written, tuple(files), time.perf_counter() - start)


def _write_text(root: Path, rel: str, text: str, kind: str) -> FileOutput:
    data = text.encode("utf-8")
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
    return FileOutput(rel, hashlib.sha256(data).hexdigest(), kind, len(data))


def _run_record(prepared: Prepared, options: dict[str, bool]) -> dict[str, Any]:
    campaign = prepared.checked.campaign
    spec = campaign.spec
    return {"tool": "hhp-letters", "version": __version__, "command": spec.campaign.kind,
            "options": options, "campaign": str(campaign.path),
            "campaign_name": spec.campaign.name,
            "campaign_sha256": file_sha256(campaign.path),
            "list": {"sheet": spec.inputs.sheet, "columns": dict(spec.inputs.columns)},
            "envelope": spec.print.envelope.name, "duplex": spec.print.duplex}


def _inputs(prepared: Prepared) -> list[InputFile]:
    campaign = prepared.checked.campaign
    files = [InputFile("campaign", campaign.path, "campaign.toml")]
    files += [InputFile("participants" if i == 0 else "feedback", p, campaign.display(p))
              for i, p in enumerate(prepared.checked.input_files)]
    for a in campaign.spec.authorities:
        for role, rel in (("logo", a.logo), ("signature", a.signatory.signature)):
            files.append(InputFile(role, campaign.resolve(rel), rel))
    if prepared.assets is not None:
        for path in prepared.assets.files:
            role = "font" if path.suffix == ".ttf" else "template"
            files.append(InputFile(role, path, f"{role}:{path.name}"))
    return files


def _allocations(prepared: Prepared, written: Written) -> list[Allocation]:
    """One record per row of the randomised list, in list order."""
    produced = {letter.participant_id: letter for letter in written.letters}
    jobs = {job.participant_id: job for job in prepared.merged.jobs}
    reasons = {w.participant.origin.row: w.reason for w in prepared.merged.withheld}
    out = []
    for p in prepared.checked.participants:
        arm = p.arm.value if p.arm else None
        code = p.authority.code if p.authority else None
        letter = produced.get(p.participant_id)
        if letter is not None and p.origin.row not in reasons:
            job = jobs[p.participant_id]
            out.append(Allocation(
                p.origin.row, p.participant_id, arm, code, "produced", None, letter.path,
                letter.sha256, letter.bundle, (letter.first_page,
                                               letter.first_page + letter.pages - 1),
                job.authority.signatory.name, text_digest(p.participant_id, p.first_name),
                (text_digest(p.participant_id, job.feedback[0]),
                 text_digest(p.participant_id, job.feedback[1]))))
        else:
            out.append(Allocation(p.origin.row, p.participant_id, arm, code, "withheld",
                                  reasons.get(p.origin.row, "not_produced")))
    return out


def _swap_into_place(staging: Path, out: Path) -> None:
    """Rename the finished staging folder to ``out``; an old ``out`` (--force) goes last."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    if old.exists():
        shutil.rmtree(old)
