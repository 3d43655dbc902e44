"""`hhp-letters demo`: the whole flow on the bundled (fictional) samples — check, letters,
proofs, notes, the Word letterhead when LibreOffice is installed — verifying each run."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hhp_letters.campaign import load_campaign
from hhp_letters.errors import RunFolderError
from hhp_letters.pipeline import RunResult, produce
from hhp_letters.render.libreoffice import find_soffice
from hhp_letters.report import CheckReport, check_campaign
from hhp_letters.scaffold import init_campaign
from hhp_letters.verify import verify_run


@dataclass(frozen=True)
class DemoStep:
    title: str
    kind: str  # letters | notes
    run: RunResult
    failed_checks: tuple[str, ...]


@dataclass(frozen=True)
class Demo:
    out: Path
    check: CheckReport
    steps: tuple[DemoStep, ...]
    word_skipped: bool

    @property
    def ok(self) -> bool:
        return self.check.ok and all(not s.failed_checks for s in self.steps)


def _is_demo_folder(path: Path) -> bool:
    return (path / "letters-campaign" / "campaign.toml").is_file() and \
        (path / "notes-campaign" / "campaign.toml").is_file()


def run_demo(out: Path, *, force: bool = False,
             on_step: Callable[[DemoStep], None] = lambda step: None,
             on_check: Callable[[CheckReport], None] = lambda report: None) -> Demo:
    if out.exists():
        if not force:
            raise RunFolderError(f"{out} already exists",
                                 hint="choose another --out, or add --force to replace it")
        if not _is_demo_folder(out):
            raise RunFolderError(f"{out} is not a folder `hhp-letters demo` made, so --force "
                                 "will not replace it", hint="choose another --out")
        shutil.rmtree(out)
    letters = init_campaign(out / "letters-campaign", "letters", sample=True).parent
    notes = init_campaign(out / "notes-campaign", "notes", sample=True).parent
    report = check_campaign(letters)
    on_check(report)
    steps: list[DemoStep] = []
    if not report.ok:
        return Demo(out, report, (), False)

    def step(title: str, campaign: Path, run_dir: Path, list_file: Path, *,
             proof: bool = False) -> None:
        loaded = load_campaign(campaign)
        result = produce(loaded, run_dir, proof=proof)
        failed = tuple(r.name for r in verify_run(run_dir, participants=list_file)
                       if not r.ok)
        made = DemoStep(title, loaded.kind, result, failed)
        steps.append(made)
        on_step(made)

    listing = letters / "data" / "randomised.xlsx"
    # proofs before the live run, as a coordinator does (after it, every letter is sent)
    step("proofs", letters, out / "letters-proof", listing, proof=True)
    step("letters", letters, out / "letters-run", listing)
    step("notes", notes, out / "notes-run", notes / "data" / "randomised-workers.xlsx")
    skipped = find_soffice() is None
    if not skipped:  # its own copy: its ledger is not the native run's
        word = init_campaign(out / "word-campaign", "letters", sample=True).parent
        step("Word letterhead", word / "campaign-word.toml", out / "word-run",
             word / "data" / "randomised.xlsx")
    return Demo(out, report, tuple(steps), skipped)
