"""What `check` (and a refused run) tells the coordinator: the problems, a one-line verdict,
and problems.csv beside campaign.toml — written when there are problems, removed when there
are none (a stale report would mislead)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hhp_letters.campaign import CAMPAIGN_FILE, load_campaign
from hhp_letters.errors import CampaignError
from hhp_letters.pipeline import prepare
from hhp_letters.problems import Level, Problem, write_problems_csv
from hhp_letters.workspace import environment_error, remove_stale, scratch_store

PROBLEMS_FILE = "problems.csv"


def problems_file(campaign_folder: Path) -> Path:
    return campaign_folder / PROBLEMS_FILE


def write_report(campaign_folder: Path, problems: tuple[Problem, ...]) -> Path | None:
    """problems.csv for these problems, or no file at all when there are none."""
    path = problems_file(campaign_folder)
    try:
        if not any(p.level is not Level.INFO for p in problems):  # nothing to fix: no report
            path.unlink(missing_ok=True)
            return None
        write_problems_csv(path, problems)
    except OSError as exc:  # a full or read-only disk: say where, and what to do
        raise environment_error(exc, path) from exc
    return path


@dataclass(frozen=True)
class CheckReport:
    problems: tuple[Problem, ...]
    verdict: str
    csv_path: Path | None
    campaign_unreadable: bool  # campaign.toml itself could not be loaded

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)


def check_campaign(target: Path) -> CheckReport:
    """`hhp-letters check`: read and check every input and lay out every letter."""
    try:
        campaign = load_campaign(target)
    except CampaignError as exc:
        folder = target if target.is_dir() else target.parent
        path = write_report(folder, exc.problems)
        return CheckReport(exc.problems, f"{exc.message}", path, True)
    remove_stale(campaign.root)
    with scratch_store() as store:
        prepared = prepare(campaign, store)
        path = write_report(campaign.root, prepared.problems)
        return CheckReport(prepared.problems, prepared.verdict(), path, False)


__all__ = ["CAMPAIGN_FILE", "CheckReport", "check_campaign", "problems_file", "write_report"]
