"""The flow, end to end: read → check → merge → render (lay out) → bundle → audit.

:func:`prepare` is what `check` shows (every input read, every letter laid out); :func:`run`
writes a prepared campaign into a staging folder; :func:`produce` does both for the `letters`
and `notes` commands, so the store with the participants' rows lives inside the staging folder
and goes with it.
"""

from __future__ import annotations

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
    utc_now,
    write_audit,
    write_sums,
)
from hhp_letters.bundle import Written, job_ticket, write_bundles
from hhp_letters.campaign import Campaign, Kind, load_campaign
from hhp_letters.checks import Checked, check, verdict
from hhp_letters.errors import InternalError, ProblemsFound, UsageError
from hhp_letters.keys import CampaignKeys, campaign_keys, keyed_digest
from hhp_letters.merge import Merged, merge, withheld_reason
from hhp_letters.problems import Problem, ordered
from hhp_letters.proof import contact_sheet
from hhp_letters.render import Layout, lay_out
from hhp_letters.runfolder import RunFolder
from hhp_letters.store import Store
from hhp_letters.summary import Tally, to_html, to_markdown
from hhp_letters.workspace import Staging, commit, remove_stale, staging

Progress = Callable[[int], None]
RENDER_STAGE = "render"


@dataclass(frozen=True)
class Prepared:
    """A checked campaign, merged into jobs and laid out: what would be printed, and why not."""

    checked: Checked
    merged: Merged | None  # None when campaign.toml itself has errors
    layout: Layout | None
    problems: tuple[Problem, ...]  # check + layout, in the one display order

    @property
    def campaign(self) -> Campaign:
        return self.checked.campaign

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    def verdict(self) -> str:
        return verdict(self.checked.head(), self.problems)

    def count(self) -> int:
        """How many letters or notes the run will make."""
        return self.layout.count() if self.layout is not None else 0


def prepare(campaign: Campaign, store: Store, *, proof: bool = False) -> Prepared:
    """Check the campaign and lay out every letter or note (without writing anything)."""
    checked = check(campaign, store)
    if any(p.is_error and p.origin.file == campaign.path.name for p in checked.problems):
        return Prepared(checked, None, None, checked.problems)
    merged = merge(checked)
    layout = lay_out(merged, proof=proof)
    problems = ordered([*checked.problems, *layout.problems], campaign.path.name)
    return Prepared(checked, merged, layout, problems)


def load_for(target: Path, kind: Kind) -> Campaign:
    """The campaign at ``target``, which must be of ``kind`` (the command run)."""
    campaign = load_campaign(target)
    if campaign.kind != kind:
        raise UsageError(f"{campaign.path} is a {campaign.kind} campaign",
                         hint=f"run `hhp-letters {campaign.kind} {target} --out ...`")
    return campaign


@dataclass(frozen=True)
class RunResult:
    out: Path
    written: Written
    withheld: int
    head: str
    seconds: float
    problems: tuple[Problem, ...]  # warnings (and, with --skip-invalid, the errors skipped)
    removed_stale: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Events:
    """What the caller wants to hear about while a run works."""

    problems: Callable[[tuple[Problem, ...]], None] = lambda problems: None
    start: Callable[[int], None] = lambda total: None
    progress: Progress = lambda n: None


def produce(campaign: Campaign, out: Path, *, proof: bool = False, skip_invalid: bool = False,
            force: bool = False, events: Events | None = None,
            clock: Clock = utc_now) -> RunResult:
    """`letters` / `notes`: check, lay out, and write a complete run folder at ``out`` — or
    raise :class:`ProblemsFound` having written nothing."""
    events = events or Events()
    start = time.perf_counter()
    removed = tuple(remove_stale(out.absolute().parent))
    protected = (campaign.root,)
    with staging(out, force=force, protected=protected) as stage:
        prepared = prepare(campaign, stage.store, proof=proof)
        events.problems(prepared.problems)
        refuse_if_not_runnable(prepared, skip_invalid=skip_invalid)
        events.start(prepared.count())
        written, withheld, head = run(prepared, stage, skip_invalid=skip_invalid,
                                      force=force, progress=events.progress, clock=clock)
        commit(stage)
    return RunResult(stage.out, written, withheld, head, time.perf_counter() - start,
                     ordered([*prepared.problems, *written.problems], campaign.path.name),
                     removed)


def refuse_if_not_runnable(prepared: Prepared, *, skip_invalid: bool) -> None:
    if prepared.layout is None:
        raise ProblemsFound("campaign.toml has errors; nothing was produced", prepared.problems)
    if prepared.errors and not skip_invalid:
        raise ProblemsFound(f"{len(prepared.errors)} error(s) in the inputs; nothing was "
                            "produced", prepared.problems)
    if not prepared.checked.list_complete:  # --skip-invalid skips rows, never an unread list
        unread = [p for p in prepared.errors
                  if p.origin.file == prepared.campaign.display(prepared.checked.list_file)]
        raise ProblemsFound("the randomised list could not be read completely, so not every "
                            "row can be accounted for; nothing was produced", unread)
    if prepared.checked.counts.participants == 0:
        raise ProblemsFound("the randomised list has no participants; nothing was produced",
                            prepared.problems)


def run(prepared: Prepared, stage: Staging, *, skip_invalid: bool = False, force: bool = False,
        progress: Progress | None = None, clock: Clock = utc_now) -> tuple[Written, int, str]:
    """Render every job into the staging folder, then the audit, summary and checksums.
    Returns what was written, how many rows were withheld, and the audit head."""
    layout = prepared.layout
    if layout is None:
        raise InternalError("run() needs a prepared campaign without campaign.toml errors")
    campaign = prepared.campaign
    store = stage.store
    folder = RunFolder(stage.folder, store)
    written = write_bundles(layout, folder, progress=progress)
    if written.problems:
        if not skip_invalid:
            raise ProblemsFound(f"{len(written.problems)} letter(s) failed when they were "
                                "made; nothing was produced", written.problems)
        for problem in written.problems:
            if problem.participant_id:
                store.add_error(RENDER_STAGE, problem.code, pid=problem.participant_id)
    if layout.proof:
        letters = ((out.path.split("/")[2], job, out.path)
                   for job, out in store.outputs_in_bundle_order())
        sheet = contact_sheet(stage.folder, letters)
        if sheet is not None:
            folder.write("proof/contact-sheet.png", sheet, "contact_sheet")
    else:
        folder.write("job-ticket.txt", job_ticket(campaign, written).encode("utf-8"),
                     "job_ticket")
    options = {"force": force, "skip_invalid": skip_invalid, "proof": layout.proof}
    keys = campaign_keys(campaign.root)
    tally = Tally()  # the summary is counted from the records as the audit writes them
    head = write_audit(stage.folder, run=_run_record(prepared, options, keys),
                       inputs=_inputs(prepared),
                       allocations=tally.watch(allocations(prepared, keys.digest_key)),
                       files=store.files(), rows=prepared.checked.counts.participants,
                       sign=keys.sign, clock=clock)
    summary = tally.summary(head=head, title=campaign.spec.campaign.name, kind=campaign.kind)
    atomic_write_text(stage.folder / "summary.md", to_markdown(summary))
    atomic_write_text(stage.folder / "summary.html", to_html(summary))
    write_sums(stage.folder, ((f.path, f.sha256) for f in store.files()))
    return written, summary.withheld, head


def _run_record(prepared: Prepared, options: dict[str, bool], keys: CampaignKeys
                ) -> dict[str, Any]:
    campaign = prepared.campaign
    spec = campaign.spec
    return {"tool": "hhp-letters", "version": __version__, "command": spec.campaign.kind,
            "digests": "hmac-sha256 with the campaign's .hhp/digest.key, of the read-back form",
            "signing_key": keys.public_pem.decode("ascii"),
            "options": options, "campaign": str(campaign.path),
            "campaign_name": spec.campaign.name,
            "campaign_sha256": file_sha256(campaign.path),
            "list": {"sheet": spec.inputs.sheet, "columns": dict(spec.inputs.columns)},
            "footer_rows": list(prepared.checked.footer_rows),
            "envelope": spec.print.envelope.name, "duplex": spec.print.duplex}


def _inputs(prepared: Prepared) -> list[InputFile]:
    campaign = prepared.campaign
    checked = prepared.checked
    files = [InputFile("campaign", campaign.path, campaign.path.name),
             InputFile("participants", checked.list_file, campaign.display(checked.list_file))]
    files += [InputFile("feedback", p, campaign.display(p)) for p in checked.feedback_files]
    for a in campaign.spec.authorities:
        for role, rel in (("logo", a.logo), ("signature", a.signatory.signature),
                          ("word_template", a.template)):
            if rel:
                files.append(InputFile(role, campaign.resolve(rel), rel))
    if prepared.layout is not None:
        for path in prepared.layout.assets.files:
            role = "font" if path.suffix == ".ttf" else "template"
            files.append(InputFile(role, path, f"{role}:{path.name}"))
    return files


def allocations(prepared: Prepared, key: bytes) -> Iterator[Allocation]:
    """One record per row of the randomised list, in list order, streamed from the store.
    What each output prints for its row is recorded as keyed digests (``key``)."""
    checked = prepared.checked
    store = checked.store
    notes = checked.campaign.kind == "notes"
    for p in checked.participants():
        arm = p.arm.value if p.arm else None
        code = p.authority.code if p.authority else None
        reason = withheld_reason(p)
        output = None
        team = p.team_key
        if reason is None:
            job = team.text if notes and team is not None else p.participant_id
            output = store.output_for(job)
        cluster: dict[str, Any] = {"cluster": p.site, "team": p.team} if notes else {}
        if output is None:
            yield Allocation(p.origin.row, p.participant_id, arm, code, "withheld",
                             reason or "not_produced", cause_rows=tuple(store.causes(p.seq)),
                             **cluster)
            continue
        if p.authority is None:
            raise InternalError(f"row {p.origin.row} has an output but no authority")
        common: dict[str, Any] = dict(
            row=p.origin.row, participant_id=p.participant_id, arm=arm, authority=code,
            status="produced", reason=None, output=output.path, output_sha256=output.sha256,
            bundle=output.bundle, pages=(output.first_page, output.first_page + output.pages - 1),
            signatory=p.authority.signatory.name)
        if notes:
            texts = {"manager_first_name": p.manager_first_name}
        else:
            feedback = store.feedback_for(p.participant_id)
            if feedback is None:
                raise InternalError(f"participant {p.participant_id!r} has a letter but no "
                                    "feedback")
            texts = {"first_name": p.greeting_name, "feedback_1": feedback.line_1,
                     "feedback_2": feedback.line_2}
        if set(texts) != set(output.spans):
            raise InternalError(f"the output of {p.participant_id!r} records where "
                                f"{sorted(output.spans)} lie, not {sorted(texts)}")
        yield Allocation(**common, **cluster,
                         digests={k: keyed_digest(key, p.participant_id, v)
                                  for k, v in texts.items()},
                         text_at=output.spans)
