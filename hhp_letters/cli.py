"""The `hhp-letters` command: parse arguments, call the library, show results, set exit codes.

No logic lives here; everything is in the library modules.
"""

from __future__ import annotations

import shutil
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
from hhp_letters.campaign import Kind, load_campaign
from hhp_letters.errors import (
    CampaignError,
    HhpError,
    ProblemsFound,
    RunFolderError,
    UsageError,
)
from hhp_letters.pipeline import Prepared, prepare, run
from hhp_letters.problems import Problem, write_problems_csv
from hhp_letters.render.libreoffice import find_soffice
from hhp_letters.scaffold import init_campaign
from hhp_letters.verify import MAX_DETAILS, verify_run

EXIT_BUG = 3
T = TypeVar("T")

app = typer.Typer(
    name="hhp-letters",
    help="Recognition letters and coffee-machine notes for randomised trials, with an audit "
         "trail.\n\nExit codes: 0 success; 1 inputs or run failed a check; 2 usage error.",
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
    except KeyboardInterrupt:
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


def show_problems(console: Console, problems: Sequence[Problem]) -> None:
    """A table of problems per file, errors first within a file."""
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
        for p in sorted(items, key=lambda p: (not p.is_error, p.origin.row or 0)):
            style = "red" if p.is_error else "yellow"
            text = p.message + (f"\nfix: {p.hint}" if p.hint else "")
            table.add_row(f"[{style}]{p.level.value}[/]", str(p.origin.row or ""),
                          escape(p.origin.column or ""), escape(text), p.code)
        console.print(table)


def _report(console: Console, prepared: Prepared, csv_path: Path) -> int:
    if prepared.problems:
        show_problems(console, prepared.problems)
    write_problems_csv(csv_path, prepared.problems)
    verdict = prepared.verdict()
    ok = not prepared.errors
    console.print(("[green]OK[/]: " if ok else "[red]FAILED[/]: ") + escape(verdict))
    if prepared.problems:
        console.print(f"problems written to {csv_path}", markup=False)
    return 0 if ok else 1


CampaignArg = Annotated[Path, typer.Argument(
    help="Campaign folder (holding campaign.toml) or the campaign.toml file itself.",
    show_default=False)]


def run_check(target: Path, console: Console) -> int:
    try:
        campaign = load_campaign(target)
    except CampaignError as exc:
        show_problems(console, exc.problems)
        folder = target if target.is_dir() else target.parent
        write_problems_csv(folder / "problems.csv", exc.problems)
        console.print(f"[red]FAILED[/]: {escape(exc.message)}; problems written to "
                      f"{escape(str(folder / 'problems.csv'))}")
        return 1
    prepared = prepare(campaign)
    return _report(console, prepared, campaign.root / "problems.csv")


@app.command("check")
def check_command(ctx: typer.Context, campaign: CampaignArg) -> None:
    """Read and check every input; print problems; write problems.csv next to the campaign.

    Exits 0 when there are no errors (warnings are allowed), 1 when there are.
    """
    code = _guard(lambda: run_check(campaign, _out()), ctx.obj)
    raise typer.Exit(code)


@app.command("init")
def init_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="New folder for the campaign.",
                                              show_default=False)],
    kind: Annotated[str, typer.Option(help="letters or notes")] = "letters",
) -> None:
    """Scaffold a working campaign folder (campaign.toml, data, brand assets) from the samples."""
    if kind not in ("letters", "notes"):
        _err().print(f"Error: --kind must be letters or notes, not {kind!r}")
        raise typer.Exit(2)
    chosen: Kind = "letters" if kind == "letters" else "notes"
    path = _guard(lambda: init_campaign(directory, chosen), ctx.obj)
    _out().print(f"Created {path}\nNext: edit it, then run `hhp-letters check {directory}`.",
                 markup=False)


ProofOpt = Annotated[bool, typer.Option(help="Watermarked proofs and a contact sheet; "
                                            "nothing marked for print.")]
SkipOpt = Annotated[bool, typer.Option(help="Produce what is valid; record every skipped row "
                                            "with its reason.")]
ForceOpt = Annotated[bool, typer.Option(help="Replace RUN_DIR if it exists.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Run folder to create.",
                                      show_default=False)]


def _produce(ctx: typer.Context, kind: Kind, campaign: Path, out: Path, proof: bool,
             skip_invalid: bool, force: bool) -> None:
    console = _out()
    item = "letters" if kind == "letters" else "notes"

    def work() -> int:
        loaded = load_campaign(campaign)
        if loaded.kind != kind:
            raise UsageError(f"{loaded.path} is a {loaded.kind} campaign",
                             hint=f"run `hhp-letters {loaded.kind} {campaign} --out ...`")
        prepared = prepare(loaded, proof=proof)
        if prepared.problems:
            show_problems(console, prepared.problems)
        if prepared.errors and not skip_invalid:
            write_problems_csv(loaded.root / "problems.csv", prepared.problems)
            console.print(f"[red]FAILED[/]: {len(prepared.errors)} error(s); nothing was "
                          f"produced. Fix them, or use --skip-invalid to produce the valid "
                          f"{item} and record the rest.")
            return 1
        total = prepared.merged.count()
        with Progress(TextColumn(item), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True,
                      disable=total < 200) as bar:
            task = bar.add_task(item, total=total)
            try:
                result = run(prepared, out, force=force, skip_invalid=skip_invalid,
                             progress=lambda n: bar.advance(task, n))
            except ProblemsFound as exc:  # found while rendering (a Word letter ran over)
                show_problems(console, exc.problems)
                write_problems_csv(loaded.root / "problems.csv", exc.problems)
                console.print(f"[red]FAILED[/]: {escape(exc.message)}. Fix them, or use "
                              f"--skip-invalid to produce the valid {item} and record the rest.")
                return 1
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
) -> None:
    """Re-check a finished run: hash chain, checksums, every row accounted for, no control
    output, each letter read back. Exits 0 only if every check passes."""
    console = _out()

    def work() -> int:
        results = verify_run(run_dir, participants=participants, rerender=rerender)
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
                more = len(r.failures) - len(shown)
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
    force: Annotated[bool, typer.Option(help="Replace the folder if it exists.")] = False,
) -> None:
    """The whole flow on the bundled samples: check, letters (and proofs), notes, the Word
    letterhead (when LibreOffice is installed), and verify each run."""
    console = _out()

    def step(title: str, campaign: Path, run_dir: Path, list_file: Path, *,
             proof: bool = False) -> bool:
        prepared = prepare(load_campaign(campaign), proof=proof)
        result = run(prepared, run_dir)
        prepared.close()
        results = verify_run(run_dir, participants=list_file)
        failed = [r.name for r in results if not r.ok]
        item = "notes" if prepared.checked.campaign.kind == "notes" else "letters"
        console.print(f"{title}: {result.written.letters} {item}, "
                      f"{len(result.written.bundles)} bundle(s), {result.written.pages} pages in "
                      f"{result.seconds:.1f} s → {escape(str(run_dir))}; verify: "
                      + ("all checks passed" if not failed else f"FAILED {', '.join(failed)}"))
        return not failed

    def work() -> int:
        if out.exists() and not force:
            raise RunFolderError(f"{out} already exists",
                                 hint="choose another --out, or add --force to replace it")
        if out.exists():
            shutil.rmtree(out)
        letters = init_campaign(out / "letters-campaign", "letters").parent
        notes = init_campaign(out / "notes-campaign", "notes").parent
        console.print(f"Sample campaigns copied to {escape(str(out))}. Checking the letters:")
        if run_check(letters, console) != 0:
            return 1
        listing = letters / "data" / "randomised.xlsx"
        ok = step("letters", letters, out / "letters-run", listing)
        ok &= step("proofs", letters, out / "letters-proof", listing, proof=True)
        ok &= step("notes", notes, out / "notes-run",
                   notes / "data" / "randomised-workers.xlsx")
        if find_soffice() is None:
            console.print("Word letterhead: skipped, LibreOffice is not installed "
                          "(apt-get install libreoffice-writer-nogui)")
        else:
            ok &= step("Word letterhead", letters / "campaign-word.toml", out / "word-run",
                       listing)
        console.print(f"Open {escape(str(out / 'letters-run' / 'summary.html'))} for the "
                      "delivery summary, and "
                      f"{escape(str(out / 'letters-proof' / 'proof' / 'contact-sheet.png'))} "
                      "for the proofs.")
        return 0 if ok else 1

    raise typer.Exit(_guard(work, ctx.obj))


def main() -> None:
    """Entry point for the `hhp-letters` script."""
    app(prog_name="hhp-letters")


if __name__ == "__main__":  # pragma: no cover
    main()
