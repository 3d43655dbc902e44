"""Feedback discovery stays linear in the number of files: a national campaign has thousands of
manager returns. (Throughput is measured by benchmarks/, not here; this pins the complexity.)"""

from __future__ import annotations

import time
from pathlib import Path

from conftest import CampaignBuilder

from hhp_letters.campaign import load_campaign


def _discover(root: Path, n: int) -> float:
    folder = root / "data" / "feedback"
    for i in range(n):
        (folder / f"team-{i:05d}.csv").write_text("Participant ID,Feedback 1,Feedback 2\n",
                                                  encoding="utf-8")
    campaign = load_campaign(root)
    times = []
    for _ in range(3):  # the best of three: the machine may be busy with something else
        start = time.perf_counter()
        files, problems = campaign.feedback_files()
        times.append(time.perf_counter() - start)
    elapsed = min(times)
    assert problems == []
    assert len(files) == n + 2  # the builder's own two files (one csv, one xlsx) besides
    assert len({f.path for f in files}) == len(files)
    return elapsed


def test_ten_thousand_feedback_files_are_found_in_under_a_second(tmp_path: Path) -> None:
    small = _discover(CampaignBuilder(tmp_path / "small").build(), 1_000)
    large = _discover(CampaignBuilder(tmp_path / "large").build(), 10_000)
    assert large < 1.0, f"{large:.2f} s for 10,000 files"
    # ten times the files, at most ~20 times the time (a quadratic step would take ~100 times)
    assert large < 20 * max(small, 0.005), f"1,000 files {small:.3f} s, 10,000 {large:.3f} s"
