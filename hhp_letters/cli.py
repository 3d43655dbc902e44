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
from hhp_letters.campaign import Kind
from hhp_letters.demo import DemoStep, run_demo
from hhp_letters.errors import EXIT_BUG, HhpError, ProblemsFound
from hhp_letters.pipeline import Events, load_for, produce
from hhp_letters.problems import Level, Problem, grouped
from hhp_letters.report import CheckReport, check_campaign, write_report
from hhp_letters.scaffold import init_campaign
from hhp_letters.verify import MAX_DETAILS, verify_run
from hhp_letters.workspace import Interrupted

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
) -> None:
    """Scaffold a working campaign folder (campaign.toml, data, brand assets) from the samples."""
    chosen: Kind = "letters" if kind is KindChoice.letters else "notes"
    path = _guard(lambda: init_campaign(directory, chosen), ctx.obj)
    _out().print(f"Created {path}\nNext: edit it, then run `hhp-letters check {directory}`.",
                 markup=False)


ProofOpt = Annotated[bool, typer.Option(help="Watermarked proofs and a contact sheet; "
                                            "nothing marked for print.")]
SkipOpt = Annotated[bool, typer.Option(help="Produce what is valid; record every skipped row "
                                            "with its reason.")]
ForceOpt = Annotated[bool, typer.Option(help="Replace RUN_DIR if it is an earlier run.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Run folder to create.",
                                      show_default=False)]


def _produce(ctx: typer.Context, kind: Kind, campaign: Path, out: Path, proof: bool,
             skip_invalid: bool, force: bool) -> None:
    console = _out()
    item = "letters" if kind == "letters" else "notes"

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
                            progress=lambda n: bar.advance(task, n))
            try:
                result = produce(loaded, out, proof=proof, skip_invalid=skip_invalid,
                                 force=force, events=events)
            except ProblemsFound as exc:
                show(exc.problems)
                write_report(loaded.root, exc.problems)
                console.print(f"[red]FAILED[/]: {escape(exc.message)}. Fix them, or use "
                              f"--skip-invalid to produce the valid {item} and record the rest.")
                return 1
        show(result.problems)
        for path in result.removed_stale:
            console.print(f"Removed {path}, left by an interrupted run.", markup=False)
        write_report(loaded.root, result.problems)
        console.print(
            f"[green]Done[/]: {result.written.letters} {item}, "
            f"{len(result.written.bundles)} bundles, {result.written.pages} pages, "
            f"{result.withheld} rows withheld, in {result.seconds:.1f} s "
            f"→ {escape(str(result.out))}")
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


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    run_dir: Annotated[Path, typer.Argument(help="A run folder made by `letters` or `notes`.",
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
    """Re-check a finished run: hash chain, checksums, signature, every row accounted for, no
    control output, each letter read back. Exits 0 only if every check passes."""
    console = _out()

    def work() -> int:
        results = verify_run(run_dir, participants=participants, rerender=rerender,
                             expect_head=expect_head, public_key=public_key,
                             digest_key=digest_key)
        table = Table(title=f"verify {run_dir}", title_justify="left")
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
    """Entry point for the `hhp-letters` script."""
    app(prog_name="hhp-letters")


if __name__ == "__main__":  # pragma: no cover
    main()
