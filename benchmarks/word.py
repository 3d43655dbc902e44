"""Word-template benchmark: letters/s through hhp-letters' Word path (docxtpl, one LibreOffice
per core with a private profile, then our print-ready post-processing: ICC CMYK, PDF/X,
mail-integrity codes), with the time per stage and how busy both cores are while LibreOffice
converts. ``--naive`` also times the naive pipeline (docxtpl per letter, one `soffice` call per
letter; about 1 letter/s, so it is off by default).

    python benchmarks/word.py                 # N = 200
    python benchmarks/word.py --n 1000
    python benchmarks/word.py --n 50 --naive

The machine may be shared: CPU seconds are reported beside wall seconds, and the idle share
of each core during conversion shows how much of it other work took.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from letters import make_campaign

from hhp_letters.campaign import Authority, Campaign, load_campaign
from hhp_letters.model import LetterJob
from hhp_letters.pipeline import prepare, produce
from hhp_letters.render.images import flatten_onto_white
from hhp_letters.render.integrity import IntegrityCodes, letter_placement
from hhp_letters.render.letter import format_date
from hhp_letters.render.libreoffice import Converter, find_soffice
from hhp_letters.render.word import WordLetter
from hhp_letters.render.word_backend import WordPress, _page_texts, _shows, _spans
from hhp_letters.render.word_pdf import BundleBuilder, ConvertedDocument, ImageCache, PdfInfo
from hhp_letters.resources import resource_dir
from hhp_letters.workspace import scratch_store

INFO = PdfInfo(title="Letter", author="Harrowmere County Council", subject="benchmark",
               creator="hhp-letters", keywords="hhp-letters letters", date="D:20261001000000Z")


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _core_ticks() -> list[tuple[int, int]]:
    """(busy, total) jiffies of each core, from /proc/stat."""
    out = []
    with open("/proc/stat", encoding="ascii") as fh:
        for line in fh:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                ticks = [int(v) for v in values]
                idle = ticks[3] + ticks[4]  # idle + iowait
                out.append((sum(ticks) - idle, sum(ticks)))
    return out


@dataclass
class CoreMeter:
    """Each core's busy share between start() and stop() (all processes, ours or not)."""

    before: list[tuple[int, int]] = field(default_factory=list)
    share: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.before = _core_ticks()

    def stop(self) -> None:
        after = _core_ticks()
        self.share = [(b1 - b0) / max(1, t1 - t0)
                      for (b0, t0), (b1, t1) in zip(self.before, after, strict=True)]


@dataclass
class Stages:
    rows: list[tuple[str, float, float, int]] = field(default_factory=list)

    @contextmanager
    def time(self, name: str, n: int) -> Iterator[None]:
        wall, cpu = time.perf_counter(), _cpu()
        yield
        self.rows.append((name, time.perf_counter() - wall, _cpu() - cpu, n))

    def show(self) -> None:
        print(f"{'stage':<46}{'wall s':>8}{'CPU s':>8}{'ms/letter':>11}")
        for name, wall, cpu, n in self.rows:
            print(f"{name:<46}{wall:>8.2f}{cpu:>8.2f}{1000 * wall / max(1, n):>11.2f}")


def end_to_end(campaign: Path, out: Path) -> tuple[float, float, int, list[float]]:
    """A real `letters` run (check, layout, bundles, audit); each core's busy share while it
    runs."""
    meter = CoreMeter()
    meter.start()
    t0, c0 = time.perf_counter(), _cpu()
    result = produce(load_campaign(campaign), out)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    meter.stop()
    return wall, cpu, result.written.letters, meter.share


def _word_jobs(campaign: Path) -> tuple[Campaign, list[LetterJob], Authority, str]:
    """The campaign, its letter jobs, the (one) authority with a Word template, and that
    template's path as campaign.toml gives it."""
    loaded = load_campaign(campaign)
    with scratch_store() as store:
        prepared = prepare(loaded, store)
        assert prepared.layout is not None
        jobs = [j for j in prepared.layout.jobs() if isinstance(j, LetterJob)]
    authority = jobs[0].authority
    assert authority.template is not None
    return loaded, jobs, authority, authority.template


def stages(campaign: Path, work: Path) -> None:
    """The Word path's stages, one at a time, on the campaign's letters (one bundle)."""
    loaded, jobs, authority, template = _word_jobs(campaign)
    signature = work / "signature.png"
    flatten_onto_white(loaded.resolve(authority.signatory.signature), signature)
    letter = WordLetter(loaded.resolve(template), authority, signature,
                        format_date(loaded.spec.campaign.date), template)
    n = len(jobs)
    s = Stages()
    with s.time("fill each letter's own .docx (docxtpl, prepared)", n):
        for job in jobs:
            letter.render(job)
    half = -(-n // 2)
    parts = [jobs[:half], jobs[half:]]
    with s.time("fill the bundle as 2 documents", n):
        paths = []
        for i, part in enumerate(parts):
            path = work / f"part{i}.docx"
            path.write_bytes(letter.render_batch(part, "Bundle"))
            paths.append(path)
    fonts = sorted((resource_dir("templates") / "fonts").glob("*.ttf"))
    with Converter(fonts) as one, Converter(fonts) as two:
        meter = CoreMeter()
        meter.start()
        with s.time("LibreOffice: 2 processes in parallel", n):
            running = [c.start([p], work / f"pdf{i}") for i, (c, p) in
                       enumerate(zip((one, two), paths, strict=True))]
            pdfs = [r.wait()[0].read_bytes() for r in running]
        meter.stop()
    press = WordPress.for_campaign(loaded)
    cache = ImageCache()
    codes = IntegrityCodes("BENCHMRK", letter_placement(210, 297))
    with s.time("read the converted text (PDFium)", n):
        texts = [_page_texts(pdf) for pdf in pdfs]
    with s.time("print-ready: ICC CMYK, TrimBox, subsets (pikepdf)", n):
        docs = [ConvertedDocument(pdf, rgb_to_cmyk=press.rgb_to_cmyk,
                                  image_to_cmyk=press.image_to_cmyk, cache=cache)
                for pdf in pdfs]
    singles: list[bytes] = []
    with s.time("each letter's file: code, PDF/X, save", n):
        seq = 0
        for doc, part in zip(docs, parts, strict=True):
            for i in range(len(part)):
                seq += 1
                doc.overlay(i, over=codes.operators(codes.payload(1, seq, 1, 1)))
                singles.append(doc.single(i, INFO, pdfx=press.pdfx))
    with s.time("read-back of each file (PDFium)", n):
        jobs_in_order = [j for part in parts for j in part]
        for job, pdf, text in zip(jobs_in_order, singles,
                                  [t for ts, *_ in texts for t in ts], strict=True):
            assert not _shows(job, text, [], "")
            _spans(job, _page_texts(pdf)[0][0], "")  # the file as written, read back
    with s.time("bundle: copy pages once, PDF/X, save", n), BundleBuilder() as bundle:
        for doc, part in zip(docs, parts, strict=True):
            for i in range(len(part)):
                bundle.add(doc, i)
        data = bundle.finish(INFO, pdfx=press.pdfx)
    for doc in docs:
        doc.close()
    print(f"\nStages, N = {n} (one bundle in 2 parts)")
    s.show()
    print(f"bundle {len(data) / 1e6:.2f} MB; letter files {sum(map(len, singles)) / n / 1e3:.0f} "
          f"kB each; cores busy during conversion: "
          + ", ".join(f"{100 * v:.0f} %" for v in meter.share))


def naive(campaign: Path, work: Path, soffice: str) -> tuple[float, int]:
    """docxtpl per letter, then a separate soffice process per letter (one shared profile)."""
    loaded, jobs, authority, template = _word_jobs(campaign)
    letter = WordLetter(loaded.resolve(template), authority,
                        loaded.resolve(authority.signatory.signature),
                        format_date(loaded.spec.campaign.date), template)
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
    parser.add_argument("--naive", action="store_true", help="also time the naive pipeline")
    parser.add_argument("--no-stages", action="store_true", help="end-to-end only")
    args = parser.parse_args()
    soffice = find_soffice()
    if soffice is None:
        sys.exit("LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")
    with tempfile.TemporaryDirectory(prefix="hhp-word-bench-") as tmp:
        work = Path(tmp)
        camp = work / "campaign"
        camp.mkdir()
        make_campaign(camp, args.n, authorities=("HC",), word=True)
        load = os.getloadavg()[0]
        wall, cpu, n, share = end_to_end(camp / "campaign.toml", work / "run")
        assert n == args.n
        print(f"N = {n} Word letters (load average {load:.1f} on {os.cpu_count()} cores "
              "before the run)")
        print(f"{'pipeline':<50}{'wall s':>8}{'CPU s':>8}{'letters/s':>11}")
        print(f"{'hhp-letters `letters` (print-ready, PDF/X, codes)':<50}{wall:>8.1f}"
              f"{cpu:>8.1f}{n / wall:>11.1f}")
        print("cores busy during the run: " + ", ".join(f"{100 * v:.0f} %" for v in share))
        if args.naive:
            naive_dir = work / "naive"
            naive_dir.mkdir()
            naive_s, n2 = naive(camp / "campaign.toml", naive_dir, soffice)
            print(f"{'naive: docxtpl + one soffice per letter':<50}{naive_s:>8.1f}{'':>8}"
                  f"{n2 / naive_s:>11.2f}")
        if not args.no_stages:
            stage_dir = work / "stages"
            stage_dir.mkdir()
            stages(camp / "campaign.toml", stage_dir)


if __name__ == "__main__":
    main()
