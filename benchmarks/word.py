"""Word-template benchmark: letters/s through hhp-letters' Word path (docxtpl, then one
LibreOffice process per bundle with a private profile) against the naive pipeline measured in
the same run (docxtpl per letter, then one `soffice` call per letter).

    python benchmarks/word.py            # N = 200
    python benchmarks/word.py --n 50
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from letters import make_campaign

from hhp_letters.campaign import load_campaign
from hhp_letters.model import LetterJob
from hhp_letters.pipeline import prepare, produce
from hhp_letters.render.letter import format_date
from hhp_letters.render.libreoffice import find_soffice
from hhp_letters.render.word import WordLetter
from hhp_letters.workspace import scratch_store


def ours(campaign: Path, out: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    result = produce(load_campaign(campaign), out)
    return time.perf_counter() - t0, result.written.letters


def naive(campaign: Path, work: Path, soffice: str) -> tuple[float, int]:
    """docxtpl per letter, then a separate soffice process per letter (one shared profile)."""
    loaded = load_campaign(campaign)
    with scratch_store() as store:
        prepared = prepare(loaded, store)
        assert prepared.layout is not None
        jobs = [j for j in prepared.layout.jobs() if isinstance(j, LetterJob)]
    authority = jobs[0].authority
    assert authority.template is not None
    letter = WordLetter(loaded.resolve(authority.template), authority,
                        loaded.resolve(authority.signatory.signature),
                        format_date(loaded.spec.campaign.date), authority.template)
    profile = (work / "naive-profile").as_uri()
    t0 = time.perf_counter()
    for job in jobs:
        docx = work / f"{job.stem}.docx"
        docx.write_bytes(letter.render(job))
        subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(work / "pdf"), str(docx)],
                       check=True, capture_output=True, timeout=120)
    return time.perf_counter() - t0, len(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    soffice = find_soffice()
    if soffice is None:
        sys.exit("LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")
    with tempfile.TemporaryDirectory(prefix="hhp-word-bench-") as tmp:
        work = Path(tmp)
        camp = work / "campaign"
        camp.mkdir()
        make_campaign(camp, args.n, authorities=("HC",), word=True)
        ours_s, n = ours(camp, work / "run")
        naive_dir = work / "naive"
        naive_dir.mkdir()
        naive_s, n2 = naive(camp, naive_dir, soffice)
        shutil.rmtree(work / "run")
    assert n == n2 == args.n
    print(f"N = {n} Word letters")
    print(f"{'pipeline':<44}{'seconds':>9}{'letters/s':>11}")
    print(f"{'naive: docxtpl + one soffice per letter':<44}{naive_s:>9.1f}{n / naive_s:>11.2f}")
    print(f"{'hhp-letters: a bundle per document, in parallel':<44}{ours_s:>9.1f}"
          f"{n / ours_s:>11.2f}")
    print(f"speed-up: {naive_s / ours_s:.1f} x")


if __name__ == "__main__":
    main()
