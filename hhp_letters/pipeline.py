"""The flow, end to end: read → check → merge → plan (fit) → render → bundle → audit.

The CLI calls :func:`prepare_letters` (what `check` shows) and :func:`run_letters`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from hhp_letters.bundle import WordSet, Written, job_ticket, write_letters
from hhp_letters.campaign import Campaign
from hhp_letters.checks import CheckedInputs, check
from hhp_letters.errors import ProblemsFound, RunFolderError
from hhp_letters.merge import Merged, NotesMerged, withheld_reason
from hhp_letters.problems import Problem
from hhp_letters.proof import contact_sheet
from hhp_letters.render.images import flatten_onto_white
from hhp_letters.render.letter import format_date
from hhp_letters.render.libreoffice import Converter
from hhp_letters.render.native import Assets, NativeBackend, load_assets
from hhp_letters.render.word import WordLetter
from hhp_letters.store import Store
from hhp_letters.summary import Tally, to_html, to_markdown

Progress = Callable[[int], None]


# Problems that mean rows of the list may not have been read at all.
UNREADABLE = frozenset({
    "file_not_found", "file_unreadable", "empty_file", "unsupported_format", "not_xlsx",
    "not_text", "xlsx_encrypted", "xlsx_corrupt", "bad_encoding", "csv_malformed",
    "unknown_sheet", "not_a_worksheet", "empty_sheet", "no_header", "missing_column",
    "duplicate_column", "mapped_column_missing", "merged_header"})


@dataclass(frozen=True)
class Prepared:
    """A checked campaign, merged into jobs and measured: what would be printed, and why not."""

    checked: CheckedInputs
    merged: Merged | NotesMerged
    problems: tuple[Problem, ...]  # input problems + layout (fit) problems
    backend: NativeBackend | None
    assets: Assets | None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    def close(self) -> None:
        self.checked.close()

    def verdict(self) -> str:
        """The check's one-line verdict, counting layout problems too."""
        n_err = len(self.errors)
        n_warn = len(self.problems) - n_err
        head = self.checked.verdict().rsplit(";", 1)[0]
        return f"{head}; {n_err} error{'s' * (n_err != 1)}, {n_warn} warning{'s' * (n_warn != 1)}"


def prepare(campaign: Campaign, *, proof: bool = False) -> Prepared:
    """Check the campaign and lay out every letter or note (without drawing it)."""
    checked = check(campaign)
    merged: Merged | NotesMerged = (Merged(checked) if campaign.kind == "letters"
                                     else NotesMerged(checked))
    if any(p.is_error and p.origin.file == campaign.path.name for p in checked.problems):
        return Prepared(checked, merged, checked.problems, None, None)
    assets = load_assets(campaign)
    backend = NativeBackend(campaign, assets, proof=proof)
    fit = [*backend.design_problems(), *backend.check(merged.iter_jobs())]
    for problem in fit:
        if problem.participant_id and campaign.kind == "letters":
            checked.store.add_error(problem.code, pid=problem.participant_id)
        elif problem.participant_id:  # a note's problem withholds the whole team
            checked.store.add_error(problem.code, team=problem.participant_id)
    problems = tuple(sorted([*checked.problems, *fit],
                            key=lambda p: (p.origin.file != campaign.path.name, p.origin.file,
                                           p.origin.row or 0)))
    return Prepared(checked, merged, problems, backend, assets)


@dataclass(frozen=True)
class RunResult:
    out: Path
    written: Written
    withheld: int
    head: str
    seconds: float


def _staging(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial-{os.getpid()}")


def run(prepared: Prepared, out: Path, *, force: bool = False, skip_invalid: bool = False,
        progress: Progress | None = None, clock: Clock = utc_now) -> RunResult:
    """Render every job into ``out``. The folder appears only when the run is complete."""
    start = time.perf_counter()
    if prepared.errors and not skip_invalid:
        raise ProblemsFound(f"{len(prepared.errors)} error(s) in the inputs; nothing was "
                            "produced", prepared.problems)
    if prepared.backend is None:
        raise ProblemsFound("campaign.toml has errors; nothing was produced", prepared.problems)
    shown = prepared.checked.campaign.display(prepared.checked.campaign.participants_file)
    unread = [p for p in prepared.errors if p.origin.file == shown and p.code in UNREADABLE]
    if unread:  # --skip-invalid skips rows; it cannot account for rows it could not read
        raise ProblemsFound("the randomised list could not be read completely, so not every "
                            "row can be accounted for; nothing was produced", unread)
    out = out.resolve()
    if out.exists() and not force:
        raise RunFolderError(f"{out} already exists",
                             hint="choose a new --out folder, or add --force to replace it")
    options = {"force": force, "skip_invalid": skip_invalid, "proof": prepared.backend.proof}
    store = prepared.checked.store
    store.reset_outputs()
    staging = _staging(out)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        backend = prepared.backend
        backend.prepare()
        with _word_set(prepared) as word:
            written = write_letters(backend, prepared.merged.iter_jobs(), staging, store,
                                    progress=progress, word=word)
            if word is not None and word.problems:
                if not skip_invalid:
                    raise ProblemsFound(f"{len(word.problems)} Word letter(s) failed their "
                                        "read-back; nothing was produced", word.problems)
                for problem in word.problems:
                    store.add_error(problem.code, pid=problem.participant_id)
        if backend.proof:
            letters = ((path.split("/")[2], pid, path) for pid, path in store.rows(
                "SELECT pid, path FROM outputs ORDER BY bundle, first_page"))
            sheet = contact_sheet(staging, letters, "proof/contact-sheet.png")
            if sheet is not None:
                store.add_file("proof/contact-sheet.png", sheet[0], sheet[1], "contact_sheet")
        else:
            _write_text(staging, "job-ticket.txt", job_ticket(backend.campaign, written),
                        "job_ticket", store)
        rows = prepared.checked.counts.participants
        tally = Tally()  # the summary is counted from the records as the audit writes them
        head = write_audit(staging, run=_run_record(prepared, options),
                           inputs=_inputs(prepared),
                           allocations=tally.watch(_allocations(prepared)),
                           files=store.files(), rows=rows, clock=clock)
        summary = tally.summary(head=head, title=backend.campaign.spec.campaign.name,
                                kind=backend.kind)
        atomic_write_text(staging / "summary.md", to_markdown(summary))
        atomic_write_text(staging / "summary.html", to_html(summary))
        write_sums(staging, ((path, sha) for path, sha, _, _ in store.files()))
        _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RunResult(out, written, store.count_withheld(), head, time.perf_counter() - start)


@contextlib.contextmanager
def _word_set(prepared: Prepared) -> Iterator[WordSet | None]:
    """The run's Word templates and its LibreOffice converters, if any authority has a
    template."""
    campaign = prepared.checked.campaign
    authorities = [a for a in campaign.spec.authorities if a.template]
    if not authorities or campaign.kind != "letters" or prepared.assets is None:
        yield None
        return
    fonts = [f.path for f in prepared.assets.fonts.faces()]
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hhp-word-"))
        # one LibreOffice per core, each with its own profile: a bundle converts in parallel
        converters = [stack.enter_context(Converter(fonts))
                      for _ in range(max(1, min(4, os.cpu_count() or 1)))]
        letters = {}
        for a in authorities:
            assert a.template is not None
            signature = Path(tmp) / f"{a.code}-signature.png"
            flatten_onto_white(campaign.resolve(a.signatory.signature), signature)
            letters[a.code] = WordLetter(campaign.resolve(a.template), a, signature,
                                         format_date(a.date or campaign.spec.campaign.date),
                                         a.template)
        yield WordSet(letters, converters)


def _write_text(root: Path, rel: str, text: str, kind: str, store: Store) -> None:
    data = text.encode("utf-8")
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
    store.add_file(rel, hashlib.sha256(data).hexdigest(), len(data), kind)


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
    files = [InputFile("campaign", campaign.path, campaign.path.name)]
    files += [InputFile("participants" if i == 0 else "feedback", p, campaign.display(p))
              for i, p in enumerate(prepared.checked.input_files)]
    for a in campaign.spec.authorities:
        for role, rel in (("logo", a.logo), ("signature", a.signatory.signature),
                          ("word_template", a.template)):
            if rel:
                files.append(InputFile(role, campaign.resolve(rel), rel))
    if prepared.assets is not None:
        for path in prepared.assets.files:
            role = "font" if path.suffix == ".ttf" else "template"
            files.append(InputFile(role, path, f"{role}:{path.name}"))
    return files


def _allocations(prepared: Prepared) -> Iterator[Allocation]:
    """One record per row of the randomised list, in list order, streamed from the store."""
    store = prepared.checked.store
    notes = prepared.checked.campaign.kind == "notes"
    for p in prepared.checked.iter_participants():
        arm = p.arm.value if p.arm else None
        code = p.authority.code if p.authority else None
        reason = withheld_reason(p)
        output = None
        if reason is None:
            output = (store.team_output_for(code or "", p.team) if notes
                      else store.output_for(p.participant_id))
        cluster = dict(cluster=p.site, team=p.team) if notes else {}
        if output is None:
            yield Allocation(p.origin.row, p.participant_id, arm, code, "withheld",
                             reason or "not_produced", **cluster)  # type: ignore[arg-type]
            continue
        path, sha, bundle, first, pages = output
        assert p.authority is not None
        common = dict(row=p.origin.row, participant_id=p.participant_id, arm=arm,
                      authority=code, status="produced", reason=None, output=path,
                      output_sha256=sha, bundle=bundle, pages=(first, first + pages - 1),
                      signatory=p.authority.signatory.name)
        if notes:
            yield Allocation(**common, **cluster,  # type: ignore[arg-type]
                             manager_first_name_sha256=text_digest(p.participant_id,
                                                                   p.manager_first_name))
            continue
        feedback = store.feedback_for(p.participant_id)
        assert feedback is not None
        yield Allocation(**common,  # type: ignore[arg-type]
                         first_name_sha256=text_digest(p.participant_id, p.first_name),
                         feedback_sha256=(text_digest(p.participant_id, feedback.line_1),
                                          text_digest(p.participant_id, feedback.line_2)))


# the names the CLI, tests and benchmark use for the letters flow
prepare_letters = prepare
run_letters = run


def _swap_into_place(staging: Path, out: Path) -> None:
    """Rename the finished staging folder to ``out``; an old ``out`` (--force) goes last."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    if old.exists():
        shutil.rmtree(old)
