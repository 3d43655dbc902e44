"""The `hhp-letters` command: parse arguments, call the library, show results, set exit codes.

No workflow lives here: every decision is the library's; this module only prints.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from itertools import groupby
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hhp_letters import __version__
from hhp_letters.atomic import atomic_write_bytes
from hhp_letters.audit import AUDIT_FILE
from hhp_letters.campaign import CAMPAIGN_FILE, Kind
from hhp_letters.chase import chase_list, write_chase
from hhp_letters.demo import DemoStep, run_demo
from hhp_letters.errors import EXIT_BUG, HhpError, ProblemsFound, UsageError
from hhp_letters.filenames import file_stem
from hhp_letters.forms import write_forms
from hhp_letters.ledger import read_ledger
from hhp_letters.package import package_run, read_passphrase_file, record_package
from hhp_letters.pipeline import Events, load_for, produce
from hhp_letters.preview import page_png, preview_letter
from hhp_letters.problems import Level, Problem, grouped
from hhp_letters.reconcile import reconcile
from hhp_letters.record import verify_campaign, write_campaign_summary
from hhp_letters.report import CheckReport, check_campaign, write_report
from hhp_letters.returns import record_returns
from hhp_letters.scaffold import init_campaign
from hhp_letters.signoff import approve
from hhp_letters.verify import MAX_DETAILS, verify_run
from hhp_letters.workspace import Interrupted, signals_as_interrupts

T = TypeVar("T")

app = typer.Typer(
    name="hhp-letters",
    help="Recognition letters and coffee-machine notes for randomised trials, with an audit "
         "trail.\n\nExit codes: 0 success; 1 inputs or run failed a check; 2 usage error; "
         "3 a bug in hhp-letters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _State:
    debug = False


def _out() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _guard(fn: Callable[[], T], state: _State) -> T:
    """Turn our errors into messages and exit codes; a bug says so instead of a traceback."""
    try:
        return fn()
    except HhpError as exc:
        if state.debug:
            raise
        _err().print(f"[bold red]Error:[/] {escape(exc.message)}")
        if exc.hint:
            _err().print(f"  fix: {exc.hint}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except (KeyboardInterrupt, Interrupted):
        _err().print("Interrupted; nothing half-written was left behind.")
        raise typer.Exit(130) from None
    except Exception as exc:
        if state.debug:
            raise
        _err().print(f"Internal error (a bug in hhp-letters): {type(exc).__name__}: {exc}\n"
                     "Run again with --debug for the traceback and report it.", markup=False)
        raise typer.Exit(EXIT_BUG) from None


def _version(value: bool) -> None:
    if value:
        print(f"hhp-letters {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (for bug reports).")]
    = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    state = _State()
    state.debug = debug
    ctx.obj = state


_STYLE = {Level.ERROR: "red", Level.WARNING: "yellow", Level.INFO: "cyan"}


def _rows_text(rows: tuple[int, ...]) -> str:
    if len(rows) <= 1:
        return str(rows[0]) if rows else ""
    shown = ", ".join(str(r) for r in rows[:6])
    return f"{shown}{' …' if len(rows) > 6 else ''} ({len(rows)} rows)"


def show_problems(console: Console, problems: Sequence[Problem]) -> None:
    """A table of problems per file; the same problem on many rows is one line."""
    for file, group in groupby(problems, key=lambda p: p.origin.file):
        items = list(group)
        sheet = next((p.origin.sheet for p in items if p.origin.sheet), None)
        title = f"{file}" + (f" (sheet {sheet!r})" if sheet else "")
        table = Table(title=escape(title), title_justify="left", show_lines=False, expand=False)
        table.add_column("level")
        table.add_column("row", justify="right")
        table.add_column("column")
        table.add_column("problem", overflow="fold")
        table.add_column("code")
        for g in grouped(items):
            p = g.first
            text = p.message + (f" ({p.detail})" if p.detail and g.count == 1 else "") + (
                f"\nfix: {p.hint}" if p.hint else "")
            table.add_row(f"[{_STYLE[p.level]}]{p.level.value}[/]", _rows_text(g.rows),
                          escape(p.origin.column or ""), escape(text), p.code)
        console.print(table)


def _show_check(console: Console, report: CheckReport) -> int:
    if report.problems:
        show_problems(console, report.problems)
    console.print(("[green]OK[/]: " if report.ok else "[red]FAILED[/]: ")
                  + escape(report.verdict))
    if report.csv_path is not None:
        console.print(f"problems written to {report.csv_path}", markup=False)
    return 0 if report.ok else 1


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


CampaignArg = Annotated[Path, typer.Argument(
    help="Campaign folder (holding campaign.toml) or the campaign.toml file itself.",
    show_default=False)]


@app.command("check")
def check_command(ctx: typer.Context, campaign: CampaignArg) -> None:
    """Read and check every input; print problems; write problems.csv next to the campaign.

    Exits 0 when there are no errors (warnings are allowed), 1 when there are.
    """
    console = _out()
    code = _guard(lambda: _show_check(console, check_campaign(campaign)), ctx.obj)
    raise typer.Exit(code)


class KindChoice(enum.StrEnum):
    letters = "letters"
    notes = "notes"


@app.command("init")
def init_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="New folder for the campaign.",
                                              show_default=False)],
    kind: Annotated[KindChoice, typer.Option(help="What the campaign makes.")] =
    KindChoice.letters,
    sample: Annotated[bool, typer.Option(
        help="Fill it with the fictional sample data instead of blanks to fill in.")] = False,
) -> None:
    """Scaffold a campaign folder: campaign.toml, a randomised-list template, a letter
    template and a README, with CHANGE ME where your details go (`check` lists them)."""
    chosen: Kind = "letters" if kind is KindChoice.letters else "notes"
    path = _guard(lambda: init_campaign(directory, chosen, sample=sample), ctx.obj)
    _out().print(f"Created {path}\nNext: " + (
        f"run `hhp-letters check {directory}`." if sample else
        f"fill in what says CHANGE ME (see README.txt), then run `hhp-letters check "
        f"{directory}`."), markup=False)


ProofOpt = Annotated[bool, typer.Option(help="Watermarked proofs and a contact sheet; "
                                            "nothing marked for print.")]
SkipOpt = Annotated[bool, typer.Option(help="Produce what is valid; record every skipped row "
                                            "with its reason.")]
ForceOpt = Annotated[bool, typer.Option(help="Replace RUN_DIR if it is an earlier run.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Run folder to create.",
                                      show_default=False)]


def _produce(ctx: typer.Context, kind: Kind, campaign: Path, out: Path, proof: bool,
             skip_invalid: bool, force: bool, reissue: frozenset[str] | None = None,
             reason: str | None = None) -> None:
    console = _out()
    item = "letters" if kind == "letters" else "notes"

    def plan(new: int, before: int) -> None:
        if reissue is not None:
            console.print(f"Re-issuing {new} {item} (each replaces the one sent before).")
        elif before:
            console.print(f"{new} new {item} to make; {before} were sent by earlier runs and "
                          "are not made again.", markup=False)

    def work() -> int:
        loaded = load_for(campaign, kind)
        shown: set[int] = set()

        def show(problems: Sequence[Problem]) -> None:
            fresh = [p for p in problems if id(p) not in shown]
            shown.update(id(p) for p in fresh)
            if fresh:
                show_problems(console, fresh)

        with Progress(TextColumn(item), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task(item, total=None, visible=False)

            def start(total: int) -> None:
                bar.update(task, total=total, visible=total >= 200)

            events = Events(problems=show, start=start,
                            progress=lambda n: bar.advance(task, n), plan=plan)
            try:
                result = produce(loaded, out, proof=proof, skip_invalid=skip_invalid,
                                 force=force, events=events, reissue=reissue, reason=reason)
            except ProblemsFound as exc:
                show(exc.problems)
                write_report(loaded.root, exc.problems)
                console.print(f"[red]FAILED[/]: {escape(exc.message)}. Fix them, or use "
                              f"--skip-invalid to produce the valid {item} and record the rest.")
                return 1
        show(result.problems)
        for path in result.removed_stale:
            console.print(f"Removed {path}, left by an interrupted run.", markup=False)
        for entry in result.recovered:
            console.print(f"Registered {entry.get('run_folder', '')} in the ledger: an earlier "
                          "command finished it but was stopped before recording it.",
                          markup=False)
        write_report(loaded.root, result.problems)
        console.print(
            f"[green]Done[/]: {_count(result.written.letters, item[:-1])}, "
            f"{_count(len(result.written.bundles), 'bundle')}, "
            f"{_count(result.written.pages, 'page')}, "
            f"{result.withheld} treatment rows without one, in {result.seconds:.1f} s "
            f"→ {escape(str(result.out))}")
        if result.registered is not None:
            console.print(f"Recorded in the campaign ledger (entry {result.registered.seq}).",
                          markup=False)
        elif proof:
            console.print("Proofs: nothing is recorded as sent. When they are right, sign them "
                          f"off with `hhp-letters approve {out} --by \"Name, role\"`.",
                          markup=False)
        return 0

    raise typer.Exit(_guard(work, ctx.obj))


@app.command("letters")
def letters_command(ctx: typer.Context, campaign: CampaignArg, out: OutOpt,
                    proof: ProofOpt = False, skip_invalid: SkipOpt = False,
                    force: ForceOpt = False) -> None:
    """Recognition letters for the treatment arm: one PDF each, bundles, manifest, job ticket."""
    _produce(ctx, "letters", campaign, out, proof, skip_invalid, force)


@app.command("notes")
def notes_command(ctx: typer.Context, campaign: CampaignArg, out: OutOpt,
                  proof: ProofOpt = False, skip_invalid: SkipOpt = False,
                  force: ForceOpt = False) -> None:
    """Coffee-machine notes: one signed note per treatment team, bundles, job ticket."""
    _produce(ctx, "notes", campaign, out, proof, skip_invalid, force)


@app.command("reissue")
def reissue_command(
    ctx: typer.Context, campaign: CampaignArg, out: OutOpt,
    participant: Annotated[list[str], typer.Option(
        "--participant", "-p", help="Whose letter to replace (repeat for several).",
        show_default=False)],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit and the ledger).",
                                        show_default=False)],
    proof: Annotated[bool, typer.Option(
        help="Proofs of the replacement letters, for sign-off; nothing is replaced.")] = False,
    force: ForceOpt = False,
) -> None:
    """Replacement letters from the current inputs for participants already sent one; the new
    letter supersedes the old in the campaign ledger."""
    if not reason.strip():
        _err().print("Error: --reason is empty", markup=False)
        _err().print("  fix: say why the letter is re-issued, e.g. --reason \"director's "
                     "correction\"", markup=False)
        raise typer.Exit(2)
    _produce(ctx, "letters", campaign, out, proof, False, force,
             reissue=frozenset(p.strip() for p in participant), reason=reason.strip())


@app.command("approve")
def approve_command(
    ctx: typer.Context,
    proof_run: Annotated[Path, typer.Argument(help="The proof run (made with --proof).",
                                              show_default=False)],
    by: Annotated[str, typer.Option(help='Who signs off, e.g. "A. Director, Director of '
                                         'Children\'s Services".', show_default=False)],
) -> None:
    """Sign off a proof run: records who, when, and the hashes of every input and of what each
    letter prints, so a live run can prove it prints what was approved."""
    entry = _guard(lambda: approve(proof_run, by), ctx.obj)
    _out().print(f"Approved {proof_run} by {by.strip()} (ledger entry {entry.seq}). Live runs "
                 "now refuse if an input changes.", markup=False)


@app.command("returns")
def returns_command(
    ctx: typer.Context, campaign: CampaignArg,
    file: Annotated[Path, typer.Option(
        "--file", "-f", help="Returned mail: participant ids, letter references (HHP-XXXX-XXXX) "
                             "or scanned codes, one per line or in a CSV with optional reason "
                             "and date columns.", show_default=False)],
) -> None:
    """Record letters that came back undelivered (e.g. "not known at this address")."""
    console = _out()

    def work() -> int:
        result = record_returns(load_for(campaign, "letters"), file)
        if result.skipped:
            show_problems(console, result.skipped)
        console.print(f"Recorded {len(result.recorded)} returned letter(s) in the campaign "
                      f"ledger; {len(result.skipped)} line(s) were already recorded. A returned "
                      "participant can be re-issued to a corrected address with `reissue`.",
                      markup=False)
        return 0

    raise typer.Exit(_guard(work, ctx.obj))


@app.command("forms")
def forms_command(
    ctx: typer.Context, campaign: CampaignArg, out: OutOpt,
    treatment_only: Annotated[bool, typer.Option(
        help="Forms for treatment participants only (managers then learn the arms: the "
             "default asks about everyone, so feedback is written blind).")] = False,
    hold_column: Annotated[bool, typer.Option(
        help="A column for the manager to hold a letter back.")] = True,
    force: Annotated[bool, typer.Option(help="Replace an earlier forms folder.")] = False,
) -> None:
    """One feedback workbook per team, for the team's manager to fill in and send back."""
    console = _out()

    def work() -> int:
        result = write_forms(load_for(campaign, "letters"), out,
                             treatment_only=treatment_only, hold_column=hold_column,
                             force=force)
        if result.list_problems:
            show_problems(console, result.list_problems)
        if result.left_off:
            show_problems(console, result.left_off)
        for line in result.notes:
            console.print(line, markup=False)
        console.print(f"Wrote {len(result.forms)} forms for {result.members} people to {out} "
                      f"(feedback up to {result.limit:,} characters a line). Send each to its "
                      "manager; put the returned files where campaign.toml reads feedback.",
                      markup=False)
        return 0

    raise typer.Exit(_guard(work, ctx.obj))


@app.command("chase")
def chase_command(
    ctx: typer.Context, campaign: CampaignArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="chase.xlsx (for a mail merge) or "
                                                          ".csv.")] = Path("chase.xlsx"),
    treatment_only: Annotated[bool, typer.Option(
        help="As the forms were made (with --treatment-only).")] = False,
) -> None:
    """Who still has no complete feedback, by team and manager: a list to chase them with."""
    console = _out()

    def work() -> int:
        chase = chase_list(load_for(campaign, "letters"), treatment_only=treatment_only)
        path = write_chase(chase, out)
        teams = len(chase.teams)
        console.print(f"{len(chase.entries)} people in {teams} team(s) still need feedback → "
                      f"{path}" if chase.entries else "Nobody to chase: every form is complete.",
                      markup=False)
        return 0

    raise typer.Exit(_guard(work, ctx.obj))


@app.command("preview")
def preview_command(
    ctx: typer.Context, campaign: CampaignArg,
    participant: Annotated[str, typer.Option("--participant", "-p", help="Whose letter.",
                                             show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Where to write the PDF (default: preview-ID.pdf here).")] = None,
    png: Annotated[Path | None, typer.Option(help="Also write the page as a PNG here.")] = None,
) -> None:
    """One participant's letter from the current inputs, watermarked PROOF; nothing is
    recorded and no run folder is made."""
    console = _out()

    def work() -> int:
        try:
            shown = preview_letter(load_for(campaign, "letters"), participant)
        except ProblemsFound as exc:
            show_problems(console, exc.problems)
            console.print(f"[red]FAILED[/]: {escape(exc.message)}")
            return 1
        target = out or Path(f"preview-{file_stem(shown.participant_id, 'letter')}.pdf")
        atomic_write_bytes(target, shown.pdf)
        if shown.warnings:
            show_problems(console, shown.warnings)
        console.print(f"Wrote {target}", markup=False)
        if png is not None:
            atomic_write_bytes(png, page_png(shown.pdf))
            console.print(f"Wrote {png}", markup=False)
        return 0

    raise typer.Exit(_guard(work, ctx.obj))


@app.command("package")
def package_command(
    ctx: typer.Context,
    run_dir: Annotated[Path, typer.Argument(help="A finished live run.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .zip to write.",
                                      show_default=False)],
    encrypt: Annotated[bool, typer.Option(
        help="AES-256 encrypt the archive; the passphrase is read from --password-file or "
             "asked for (never given on the command line).")] = False,
    password_file: Annotated[Path | None, typer.Option(
        help="A file whose first line is the passphrase.")] = None,
) -> None:
    """What the print house needs and nothing else: bundles, manifests, the job ticket (text
    and PDF) and a checksum list; never the audit, summaries, arms or problems."""
    console = _out()

    def work() -> int:
        passphrase = None
        if password_file is not None and not encrypt:
            raise UsageError("--password-file is given without --encrypt",
                             hint="add --encrypt, or leave out --password-file")
        if encrypt:
            passphrase = (read_passphrase_file(password_file) if password_file is not None
                          else typer.prompt("Passphrase", hide_input=True,
                                            confirmation_prompt=True))
        result = package_run(run_dir, out, passphrase=passphrase)
        entry = record_package(run_dir, result)
        console.print(f"Wrote {result.path} ({len(result.files)} files, {result.bytes:,} bytes"
                      f"{', AES-256 encrypted' if result.encrypted else ''}); SHA-256 "
                      f"{result.sha256}", markup=False)
        console.print(f"Recorded in the campaign ledger (entry {entry.seq})." if entry else
                      "Not recorded: the campaign folder that made this run is not here.",
                      markup=False)
        return 0

    raise typer.Exit(_guard(work, ctx.obj))


@app.command("reconcile")
def reconcile_command(
    ctx: typer.Context,
    run_dir: Annotated[Path, typer.Argument(help="The live run the pieces came from.",
                                            show_default=False)],
    scan: Annotated[Path, typer.Option(help="The inserter's or returns desk's decoded codes: "
                                            "one per line, or a CSV with a code column.",
                                       show_default=False)],
    csv_out: Annotated[Path | None, typer.Option(
        "--csv", help="Also write the per-piece report as CSV here.")] = None,
) -> None:
    """Pieces missing, duplicated or unknown in a scan of the DataMatrix codes, per bundle.
    Exits 0 only when the scan is complete and clean."""
    console = _out()

    def work() -> int:
        result = reconcile(run_dir, scan)
        console.print(result.to_text(), markup=False, end="")
        if csv_out is not None:
            atomic_write_bytes(csv_out, result.to_csv().encode("utf-8-sig"))
            console.print(f"Wrote {csv_out}", markup=False)
        return 0 if result.clean else 1

    raise typer.Exit(_guard(work, ctx.obj))


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(
        metavar="RUN_DIR|CAMPAIGN",
        help="A run folder made by `letters` or `notes`, or a campaign folder: then every "
             "run of the campaign, its ledger, re-issues, returns and approvals together.",
        show_default=False)],
    participants: Annotated[Path | None, typer.Option(
        help="The randomised list: check it is the one the run read, row for row.")] = None,
    rerender: Annotated[bool, typer.Option(
        help="Render every letter again from the recorded inputs and compare bytes.")] = False,
    expect_head: Annotated[str | None, typer.Option(
        help="The audit head kept elsewhere (e.g. sent to the researcher): the run must end "
             "there.")] = None,
    public_key: Annotated[Path | None, typer.Option(
        help="The campaign's public key (.hhp/audit-signing.pub) to check audit.sig with; "
             "default: the campaign folder's.")] = None,
    digest_key: Annotated[Path | None, typer.Option(
        help="The campaign's digest key (.hhp/digest.key) to read letters back with; "
             "default: the campaign folder's.")] = None,
) -> None:
    """Re-check a finished run (hash chain, checksums, signature, every row accounted for, no
    control output, each letter read back), or a whole campaign. Exits 0 only if every check
    passes."""
    console = _out()
    campaign = not (target / AUDIT_FILE).is_file() and (
        (target / CAMPAIGN_FILE).is_file() or target.name == CAMPAIGN_FILE)

    def work() -> int:
        if campaign:
            used = [name for name, value in (
                ("--participants", participants), ("--rerender", rerender),
                ("--expect-head", expect_head), ("--public-key", public_key),
                ("--digest-key", digest_key)) if value]
            if used:
                raise UsageError(f"{used[0]} applies to one run folder, and {target} is a "
                                 "campaign", hint="give one of the campaign's run folders")
            results = verify_campaign(target)
        else:
            results = verify_run(target, participants=participants, rerender=rerender,
                                 expect_head=expect_head, public_key=public_key,
                                 digest_key=digest_key)
        table = Table(title=f"verify {target}", title_justify="left")
        table.add_column("check")
        table.add_column("result")
        table.add_column("details", overflow="fold")
        for r in results:
            if r.ok:
                status, detail = "[green]PASS[/]", f"{r.checked} checked"
            else:
                status = "[red]FAIL[/]"
                shown = r.failures[:MAX_DETAILS]
                more = r.failed - len(shown)
                detail = "\n".join(shown) + (f"\n… and {more} more" if more > 0 else "")
            table.add_row(escape(r.name), status, escape(detail))
        console.print(table)
        failed = [r for r in results if not r.ok]
        console.print("[green]VERIFIED[/]: every check passed" if not failed else
                      f"[red]NOT VERIFIED[/]: {len(failed)} of {len(results)} checks failed")
        return 1 if failed else 0

    raise typer.Exit(_guard(work, ctx.obj))


@app.command("summary")
def summary_command(
    ctx: typer.Context, campaign: CampaignArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for summary.md and "
                                                          "summary.html.", show_default=False)],
) -> None:
    """The campaign's CONSORT flow across every run: allocated → letters produced → re-issued
    → returned undelivered → presumed delivered, per arm and authority (counts only)."""

    def work() -> int:
        md, html = write_campaign_summary(campaign, out)
        head = read_ledger(campaign if campaign.is_dir() else campaign.parent).head
        _out().print(f"Wrote {md} and {html} (the campaign's flow, from ledger.jsonl ending at "
                     f"{head[:12]}…).", markup=False)
        return 0

    raise typer.Exit(_guard(work, ctx.obj))


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo.")] = Path(
        "hhp-demo"),
    force: Annotated[bool, typer.Option(help="Replace an earlier demo folder.")] = False,
) -> None:
    """The whole flow on the bundled samples: check, letters (and proofs), notes, the Word
    letterhead (when LibreOffice is installed), and verify each run."""
    console = _out()

    def on_step(step: DemoStep) -> None:
        item = "notes" if step.kind == "notes" else "letters"
        written = step.run.written
        console.print(f"{step.title}: {written.letters} {item}, {len(written.bundles)} "
                      f"bundle(s), {written.pages} pages in {step.run.seconds:.1f} s → "
                      f"{escape(str(step.run.out))}; verify: "
                      + ("all checks passed" if not step.failed_checks
                         else f"FAILED {', '.join(step.failed_checks)}"))

    def on_check(report: CheckReport) -> None:
        console.print(f"Sample campaigns copied to {escape(str(out))}. Checking the letters:")
        _show_check(console, report)

    def work() -> int:
        demo = run_demo(out, force=force, on_step=on_step, on_check=on_check)
        if demo.word_skipped:
            console.print("Word letterhead: skipped, LibreOffice is not installed "
                          "(apt-get install libreoffice-writer-nogui)")
        if demo.steps:
            console.print(f"Open {escape(str(out / 'letters-run' / 'summary.html'))} for the "
                          "delivery summary, and "
                          f"{escape(str(out / 'letters-proof' / 'proof' / 'contact-sheet.png'))}"
                          " for the proofs.")
        return 0 if demo.ok else 1

    raise typer.Exit(_guard(work, ctx.obj))


def main() -> None:
    """Entry point for the `hhp-letters` script. SIGTERM and SIGHUP unwind a command like
    Ctrl-C for the whole of it, so nothing half-written is left whenever they come."""
    with signals_as_interrupts():
        app(prog_name="hhp-letters")


if __name__ == "__main__":  # pragma: no cover
    main()
