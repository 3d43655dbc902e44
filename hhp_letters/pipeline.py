"""The flow, end to end: read → check → merge → render (lay out) → bundle → audit.

:func:`prepare` is what `check` shows (every input read, every letter laid out); :func:`run`
writes a prepared campaign into a staging folder; :func:`produce` does both for the `letters`
and `notes` commands, so the store with the participants' rows lives inside the staging folder
and goes with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hhp_letters import __version__
from hhp_letters.atomic import atomic_write_text
from hhp_letters.audit import (
    GENESIS,
    Allocation,
    Clock,
    InputFile,
    canonical,
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
from hhp_letters.ledger import (
    LEDGER_FILE,
    Entry,
    Ledger,
    Letter,
    append,
    pending_marker,
    read_ledger,
    recover,
    standing,
)
from hhp_letters.ledger import lock as ledger_lock
from hhp_letters.merge import Merged, address_lines, letter_reference, merge, withheld_reason
from hhp_letters.model import LetterJob
from hhp_letters.problems import Origin, Problem, error, ordered
from hhp_letters.proof import Candidate, contact_sheet
from hhp_letters.render import Layout, lay_out
from hhp_letters.render.integrity import job_id
from hhp_letters.runfolder import RunFolder
from hhp_letters.signoff import digests_of, refuse_unless_approved
from hhp_letters.store import Store
from hhp_letters.summary import Tally, to_html, to_markdown
from hhp_letters.workspace import Staging, commit, remove_stale, staging

Progress = Callable[[int], None]
RENDER_STAGE = "render"


@dataclass(frozen=True)
class History:
    """What earlier runs of the campaign sent, as this run must take it into account:
    ``sent`` maps a job key (participant id; a team's key for notes) to its effective
    letter; ``reissue`` is the participants a re-issue run replaces letters for, and why."""

    sent: Mapping[str, Letter] = field(default_factory=dict)
    reissue: frozenset[str] | None = None
    reason: str | None = None
    ledger_head: str = GENESIS  # the ledger this run started from


@dataclass(frozen=True)
class Prepared:
    """A checked campaign, merged into jobs and laid out: what would be printed, and why not."""

    checked: Checked
    merged: Merged | None  # None when campaign.toml itself has errors
    layout: Layout | None
    problems: tuple[Problem, ...]  # check + layout, in the one display order
    history: History = field(default_factory=History)

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


def prepare(campaign: Campaign, store: Store, *, proof: bool = False,
            history: History | None = None) -> Prepared:
    """Check the campaign and lay out every letter or note (without writing anything).
    ``history``: what earlier live runs sent (their letters are not made again)."""
    history = history or History()
    checked = check(campaign, store)
    if any(p.is_error and p.origin.file == campaign.path.name for p in checked.problems):
        return Prepared(checked, None, None, checked.problems, history)
    sent = set(history.sent) - set(history.reissue or ())
    merged = merge(checked, sent=sent, only=history.reissue)
    layout = lay_out(merged, proof=proof)
    problems = ordered([*checked.problems, *layout.problems], campaign.path.name)
    return Prepared(checked, merged, layout, problems, history)


def history_of(campaign: Campaign, *, before: int | None = None,
               reissue: frozenset[str] | None = None, reason: str | None = None) -> History:
    """What the campaign's ledger says was sent (up to ledger entry ``before``, for a
    re-render of an earlier run)."""
    book = read_ledger(campaign.root)
    if before is not None:
        book = Ledger(book.path, tuple(e for e in book.entries if e.seq < before))
    return History(dict(standing(book).effective), reissue, reason, book.head)


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
    withheld: int  # treatment rows without an output in this run (reasons in the summary)
    head: str
    seconds: float
    problems: tuple[Problem, ...]  # warnings (and, with --skip-invalid, the errors skipped)
    removed_stale: tuple[Path, ...] = ()
    registered: Entry | None = None  # the run's ledger entry (live runs)
    recovered: tuple[Entry, ...] = ()  # runs an earlier, killed command finished


@dataclass(frozen=True)
class Events:
    """What the caller wants to hear about while a run works."""

    problems: Callable[[tuple[Problem, ...]], None] = lambda problems: None
    start: Callable[[int], None] = lambda total: None
    progress: Progress = lambda n: None
    plan: Callable[[int, int], None] = lambda new, before: None  # letters to make, sent before


def produce(campaign: Campaign, out: Path, *, proof: bool = False, skip_invalid: bool = False,
            force: bool = False, events: Events | None = None, clock: Clock = utc_now,
            reissue: frozenset[str] | None = None, reason: str | None = None,
            replay: History | None = None) -> RunResult:
    """`letters` / `notes` (and `reissue`): check, lay out, and write a complete run folder at
    ``out`` — or raise :class:`ProblemsFound` having written nothing. A live run makes only
    the letters no earlier live run made (a top-up), and is registered in the campaign ledger
    once complete. ``replay``: the history an earlier run was made with (`verify --rerender`),
    and nothing is registered."""
    if reissue is not None and not (reason or "").strip():
        raise UsageError("a re-issue needs a reason", hint="say why, e.g. --reason "
                         "\"director's correction\"; it is recorded in the audit and ledger")
    events = events or Events()
    start = time.perf_counter()
    removed = tuple(remove_stale(out.absolute().parent))
    with ledger_lock(campaign.root):
        recovered = recover(campaign.root, clock=clock)
        book = read_ledger(campaign.root)
        if replay is not None:
            history = replay
        else:
            history = History(dict(standing(book).effective), reissue, reason, book.head)
            if reissue is not None:
                refuse_reissue(campaign, history)
        registered = frozenset(str(e.get("audit_head")) for e in book.of("run", "reissue"))
        with staging(out, force=force, protected=(campaign.root,),
                     registered=registered) as stage:
            prepared = prepare(campaign, stage.store, proof=proof, history=history)
            events.problems(prepared.problems)
            refuse_if_not_runnable(prepared, skip_invalid=skip_invalid)
            if campaign.spec.campaign.require_approval and not proof and replay is None:
                refuse_unless_approved(prepared, book)
            events.start(prepared.count())
            events.plan(prepared.count(), len(history.sent))
            written, withheld, head = run(prepared, stage, skip_invalid=skip_invalid,
                                          force=force, progress=events.progress, clock=clock)
            entry = None
            live = not proof and replay is None
            fields = registration(prepared, stage, head, written.job) if live else {}
            marker = pending_marker(campaign.root, {**fields, "run_path": str(stage.out)}) \
                if live else None
            commit(stage)
        if live:
            entry = append(campaign.root, str(fields.pop("event")), fields, clock=clock)
            if marker is not None:
                marker.unlink(missing_ok=True)
    return RunResult(stage.out, written, withheld, head, time.perf_counter() - start,
                     ordered([*prepared.problems, *written.problems], campaign.path.name),
                     removed, entry, tuple(recovered))


def refuse_reissue(campaign: Campaign, history: History) -> None:
    """A re-issue replaces a letter that was sent: never one for someone never sent one."""
    problems = []
    for pid in sorted(history.reissue or ()):
        if pid not in history.sent:
            problems.append(error("reissue_not_sent", Origin(LEDGER_FILE),
                                  f"participant {pid!r} was never sent a letter, so there is "
                                  "nothing to re-issue (a control participant never is)",
                                  "check the id; a treatment participant without a letter gets "
                                  "one from an ordinary `letters` run", pid))
    if problems:
        raise ProblemsFound(f"{len(problems)} participant(s) cannot be re-issued; nothing was "
                            "produced", problems)


def print_job(prepared: Prepared, *, force: bool, skip_invalid: bool) -> str:
    """The run's job id: from everything that decides what it prints (inputs, options, what
    was sent before), so re-rendering it gives the same codes."""
    seed = canonical({
        "inputs": sorted([f.role, f.shown, file_sha256(f.path)] for f in input_files(prepared)),
        "proof": prepared.layout.proof if prepared.layout else False,
        "skip_invalid": skip_invalid, "ledger": prepared.history.ledger_head,
        "reissue": sorted(prepared.history.reissue or ()), "force": force})
    return job_id(seed)


def registration(prepared: Prepared, stage: Staging, head: str, job: str) -> dict[str, Any]:
    """The ledger entry of a finished live run: where it is and what it made."""
    campaign = prepared.campaign
    store = stage.store
    letters = []
    for key, output in store.outputs_in_bundle_order():
        reference = letter_reference(campaign.spec.campaign.name, key) \
            if campaign.kind == "letters" else key
        letters.append([key, output.sha256, reference, output.code])
    letters.sort()
    try:
        folder = stage.out.relative_to(campaign.root).as_posix()
    except ValueError:
        folder = str(stage.out)
    history = prepared.history
    fields: dict[str, Any] = {"event": "reissue" if history.reissue is not None else "run",
                              "kind": campaign.kind, "run_folder": folder, "audit_head": head,
                              "job": job, "letters": letters}
    if history.reissue is not None:
        fields["reason"] = history.reason or ""
        fields["supersedes"] = sorted([pid, history.sent[pid].output_sha256]
                                      for pid in history.reissue if pid in history.sent)
    return fields


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


def _candidates(prepared: Prepared, store: Store) -> Iterator[Candidate]:
    """Each produced output, with what makes it worth a look on the contact sheet."""
    layout = prepared.layout
    facts: dict[str, tuple[int, int, bool]] = {}
    if layout is not None:
        for job in layout.jobs():
            if isinstance(job, LetterJob):
                name = f"{job.first_name} {job.last_name}"
                facts[job.key] = (sum(map(len, job.feedback)),
                                  max((len(line) for line in job.address_lines), default=0),
                                  not name.isascii())
    reissued = prepared.history.reissue or frozenset()
    for key, out in store.outputs_in_bundle_order():
        feedback, address, other = facts.get(key, (0, 0, False))
        yield Candidate(out.path.split("/")[2], key, out.path, feedback, address, other,
                        key in reissued)


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
    written = write_bundles(layout, folder, job=print_job(prepared, force=force,
                                                          skip_invalid=skip_invalid),
                            progress=progress)
    if written.problems:
        if not skip_invalid:
            raise ProblemsFound(f"{len(written.problems)} letter(s) failed when they were "
                                "made; nothing was produced", written.problems)
        for problem in written.problems:
            if problem.participant_id:
                store.add_error(RENDER_STAGE, problem.code, pid=problem.participant_id)
    if layout.proof:
        sheet = contact_sheet(stage.folder, _candidates(prepared, store))
        if sheet is not None:
            folder.write("proof/contact-sheet.png", sheet, "contact_sheet")
    else:
        folder.write("job-ticket.txt", job_ticket(campaign, written, stage.folder)
                     .encode("utf-8"), "job_ticket")
    options = {"force": force, "skip_invalid": skip_invalid, "proof": layout.proof}
    keys = campaign_keys(campaign.root)
    tally = Tally()  # the summary is counted from the records as the audit writes them
    head = write_audit(stage.folder, run=_run_record(prepared, options, keys),
                       inputs=input_files(prepared),
                       allocations=tally.watch(allocations(prepared, keys.digest_key)),
                       files=store.files(), rows=prepared.checked.counts.participants,
                       sign=keys.sign, clock=clock)
    summary = tally.summary(head=head, title=campaign.spec.campaign.name, kind=campaign.kind)
    atomic_write_text(stage.folder / "summary.md", to_markdown(summary))
    atomic_write_text(stage.folder / "summary.html", to_html(summary))
    write_sums(stage.folder, ((f.path, f.sha256) for f in store.files()))
    return written, summary.treatment_withheld, head


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


def input_files(prepared: Prepared) -> list[InputFile]:
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
            role = {".ttf": "font", ".icc": "icc_profile"}.get(path.suffix, "template")
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
        job_key = team.text if notes and team is not None else p.participant_id
        earlier = prepared.history.sent.get(job_key)
        if output is None:
            yield Allocation(p.origin.row, p.participant_id, arm, code, "withheld",
                             reason or "not_produced", cause_rows=tuple(store.causes(p.seq)),
                             earlier=_letter_ref(earlier) if reason == "already_sent" else None,
                             **cluster)
            continue
        if p.authority is None:
            raise InternalError(f"row {p.origin.row} has an output but no authority")
        common: dict[str, Any] = dict(
            row=p.origin.row, participant_id=p.participant_id, arm=arm, authority=code,
            status="produced", reason=None, output=output.path, output_sha256=output.sha256,
            bundle=output.bundle, pages=(output.first_page, output.first_page + output.pages - 1),
            signatory=p.authority.signatory.name)
        signed: dict[str, str] = {}
        if notes:
            texts = {"manager_first_name": p.manager_first_name}
        else:
            feedback = store.feedback_for(p.participant_id)
            if feedback is None:
                raise InternalError(f"participant {p.participant_id!r} has a letter but no "
                                    "feedback")
            texts = {"first_name": p.greeting_name, "feedback_1": feedback.line_1,
                     "feedback_2": feedback.line_2}
            name_line = f"{p.first_name} {p.last_name}".strip()
            signed = digests_of(key, p.participant_id, {
                **texts, "address": "\n".join((name_line, *address_lines(p)))})
        if set(texts) != set(output.spans):
            raise InternalError(f"the output of {p.participant_id!r} records where "
                                f"{sorted(output.spans)} lie, not {sorted(texts)}")
        supersedes = None
        if prepared.history.reissue is not None and earlier is not None:
            supersedes = {**(_letter_ref(earlier) or {}), "reason": prepared.history.reason or ""}
        yield Allocation(**common, **cluster,
                         digests={k: keyed_digest(key, p.participant_id, v)
                                  for k, v in texts.items()},
                         text_at=output.spans, supersedes=supersedes,
                         signed=None if notes else signed)


def _letter_ref(letter: Letter | None) -> dict[str, str] | None:
    if letter is None:
        return None
    return {"run": letter.run, "output_sha256": letter.output_sha256,
            "run_folder": letter.run_folder}
