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

from hhp_letters.atomic import atomic_write_text
from hhp_letters.bundle import FileOutput, Written, job_ticket, write_letters
from hhp_letters.campaign import Campaign
from hhp_letters.checks import CheckedInputs, check
from hhp_letters.errors import ProblemsFound, RunFolderError
from hhp_letters.merge import Merged, Withheld, merge_letters, reason_for
from hhp_letters.problems import Problem
from hhp_letters.proof import contact_sheet
from hhp_letters.render.native import Assets, NativeLetters, load_assets

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
                skip_invalid: bool = False, progress: Progress | None = None) -> RunResult:
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
        _write_sums(staging, files)
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


def _write_sums(root: Path, files: list[FileOutput]) -> None:
    lines = [f"{f.sha256}  {f.path}\n" for f in sorted(files, key=lambda f: f.path)]
    atomic_write_text(root / "SHA256SUMS", "".join(lines))


def _swap_into_place(staging: Path, out: Path) -> None:
    """Rename the finished staging folder to ``out``; an old ``out`` (--force) goes last."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    if old.exists():
        shutil.rmtree(old)
