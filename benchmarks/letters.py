"""Letters benchmark: end-to-end speed, CPU, peak memory and bundle size, each as a ratio to a
floor measured in the same run.

The floor is reportlab drawing the same text (already laid out, not timed) with the same
embedded font and images, no checks, straight to one N-page file.

    python benchmarks/letters.py                  # N = 10,000 and the memory check at 100,000
    python benchmarks/letters.py --n 2000 --no-memory --repeat 5
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "letters"

FIRST = ["Zoë", "Siobhán", "Anne-Marie", "Seán", "Niamh", "José", "Dafydd", "Oluwaseun",
         "Mary-Kate", "Aoife", "Tom", "Priya", "Grace", "Mohammed", "Chloé", "Bartłomiej"]
LAST = ["O'Neill", "D'Souza", "Smith-Jones", "Okafor", "MacLeod", "Müller", "Kowalczyk", "Ahmed",
        "Evans", "Nguyen", "Byrne", "Taylor"]
STREETS = ["Hawthorn Close", "Rowan Court", "Mill Lane", "Station Road", "Church Street",
           "Orchard Way", "Victoria Terrace", "Kingfisher Drive"]
PRAISE = ["Your calm, patient work with the family turned a crisis into a plan everyone could "
          "follow.", "You always make time to support newly qualified colleagues, and the team "
          "is stronger for it.", "Your court report was clear, fair and rooted in the child's "
          "voice; the judge said so.", "You kept going with a young person others had given "
          "up on, and she is now back at school.", "Thank you for covering duty so many times "
          "this winter without a word of complaint."]


def make_campaign(folder: Path, n: int, authorities: tuple[str, ...] = ("FB", "HC", "KB"),
                  word: bool = False) -> None:
    """A letters campaign of ``n`` treatment participants (CSV), branded like the samples;
    with ``word``, Harrowmere (HC) uses the sample Word letterhead."""
    rng = random.Random(n)
    shutil.copytree(SAMPLE / "brand", folder / "brand")
    shutil.copytree(ROOT / "signatures", folder / "signatures")
    toml = (SAMPLE / "campaign.toml").read_text(encoding="utf-8")
    toml = toml.replace('participants = "data/randomised.xlsx"', 'participants = "list.csv"')
    toml = toml.replace('sheet = "Allocation"\n', "").replace("../../signatures/", "signatures/")
    toml = toml.replace('feedback = ["data/feedback/*.xlsx"]', 'feedback = ["feedback.csv"]')
    if word:
        shutil.copytree(SAMPLE / "templates", folder / "templates")
        toml = toml.replace('signature = "signatures/hc-signature.png" }',
                            'signature = "signatures/hc-signature.png" }\n'
                            'template = "templates/hc-letter.docx"')
    (folder / "campaign.toml").write_text(toml, encoding="utf-8")
    codes = {"FB": "FL", "HC": "HW", "KB": "KY"}
    with (folder / "list.csv").open("w", newline="", encoding="utf-8") as lf, \
            (folder / "feedback.csv").open("w", newline="", encoding="utf-8") as ff:
        lw, fw = csv.writer(lf), csv.writer(ff)
        lw.writerow(["Participant ID", "First name", "Surname", "LA", "Allocation",
                     "Address line 1", "Post town", "Postcode"])
        fw.writerow(["Participant ID", "Feedback 1", "Feedback 2"])
        for i in range(n):
            code = authorities[i % len(authorities)]
            pid = f"P{i:07d}"
            lw.writerow([pid, rng.choice(FIRST), rng.choice(LAST), code, "Treatment",
                         f"{rng.randint(1, 240)} {rng.choice(STREETS)}", "FERNLEIGH",
                         f"{codes[code]}{rng.randint(1, 19)} {rng.randint(1, 9)}"
                         f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"])
            fw.writerow([pid, rng.choice(PRAISE), rng.choice(PRAISE)])


# Each workload runs in its own process and prints its own rusage as JSON.
OURS = textwrap.dedent("""
    import json, resource, sys, time
    from pathlib import Path
    from hhp_letters.campaign import load_campaign
    from hhp_letters.pipeline import produce
    t0 = time.perf_counter()
    result = produce(load_campaign(Path(sys.argv[1])), Path(sys.argv[2]))
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    # the worker processes' CPU counts too; their memory is reported beside the main one's
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    size = sum((result.out / b.path).stat().st_size for b in result.written.bundles)
    print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime + kids.ru_utime
                      + kids.ru_stime, "rss_kb": ru.ru_maxrss, "worker_rss_kb": kids.ru_maxrss,
                      "letters": result.written.letters, "bundle_bytes": size}))
""")

FLOOR = textwrap.dedent("""
    import json, resource, sys, time
    from pathlib import Path
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from hhp_letters.campaign import load_campaign
    from hhp_letters.pipeline import prepare
    from hhp_letters.render.letter import PAGE_H, PAGE_W
    from hhp_letters.render.native import load_assets, make_designs
    from hhp_letters.resources import resource_dir
    from hhp_letters.workspace import scratch_store
    camp = load_campaign(Path(sys.argv[1]))
    designs, _ = make_designs(camp, load_assets(camp))
    with scratch_store() as store:  # not timed: the floor draws text already laid out
        prepared = prepare(camp, store)
        jobs = list(prepared.layout.jobs())
    plans = [(j, designs[j.authority.code].plan(j)) for j in jobs]
    fonts = resource_dir("templates") / "fonts"
    for key, fname in (("regular", "Carlito-Regular"), ("bold", "Carlito-Bold"),
                       ("italic", "Carlito-Italic")):
        pdfmetrics.registerFont(TTFont("floor-" + key, str(fonts / (fname + ".ttf"))))
    t0 = time.perf_counter()
    c = Canvas(sys.argv[2], pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1,
               initialFontName="floor-regular")
    for job, plan in plans:
        a = job.authority
        d = designs[a.code]
        lb = d.logo_box
        c.drawImage(str(camp.resolve(a.logo)), lb.x0, PAGE_H - lb.y1, lb.width, lb.height)
        for line in (*d.header_lines, *plan.lines):
            c.setFont("floor-" + line.face, line.size)
            c.drawString(line.x, PAGE_H - line.baseline, line.text)
        s = plan.signature
        c.drawImage(str(camp.resolve(a.signatory.signature)), s.x0, PAGE_H - s.y1, s.width,
                    s.height, mask="auto")
        c.showPage()
    c.save()
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_kb": ru.ru_maxrss,
                      "letters": len(plans), "bundle_bytes": Path(sys.argv[2]).stat().st_size}))
""")


def run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(n: int, work: Path, run_no: int = 0) -> tuple[dict[str, float], dict[str, float]]:
    """One run of ours and of the floor, on a campaign of its own (a second run on the same
    campaign would be a top-up with nothing to make: the ledger knows the letters were sent)."""
    camp = work / f"campaign-{n}-{run_no}"
    camp.mkdir()
    make_campaign(camp, n)
    floor = run(FLOOR, str(camp), str(work / f"floor-{n}.pdf"))
    ours = run(OURS, str(camp), str(camp / "run"))
    shutil.rmtree(camp)
    return ours, floor


def spread(values: list[float]) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:,.1f} / {mid:,.1f} / {high:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of ours and the floor, reported as min / median / max")
    parser.add_argument("--memory-n", type=int, default=100_000)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hhp-bench-") as tmp:
        work = Path(tmp)
        runs = []
        for i in range(args.repeat):
            runs.append(measure(args.n, work, i))
            print(f"  run {i + 1}: load {os.getloadavg()[0]:.2f}", file=sys.stderr)
        n = runs[0][0]["letters"]

        def rows(ours: dict[str, float], floor: dict[str, float]
                 ) -> list[tuple[str, float, float]]:
            return [
                ("letters/s (end to end)", n / ours["wall"], n / floor["wall"]),
                ("CPU ms/letter", 1000 * ours["cpu"] / n, 1000 * floor["cpu"] / n),
                ("peak RSS MB", ours["rss_kb"] / 1024, floor["rss_kb"] / 1024),
                ("bundle bytes/letter", ours["bundle_bytes"] / n, floor["bundle_bytes"] / n),
                ("time vs floor (s)", ours["wall"], floor["wall"]),
            ]

        table = [rows(ours, floor) for ours, floor in runs]
        print(f"N = {n:,} letters ({os.cpu_count()} cores), {len(runs)} runs: "
              "min / median / max")
        print(f"{'measure':<24}  {'hhp-letters':>30}  {'floor':>30}  {'ratio':>20}")
        for k, (name, _, _) in enumerate(table[0]):
            ours_v = [r[k][1] for r in table]
            floor_v = [r[k][2] for r in table]
            ratio = [r[k][1] / r[k][2] for r in table]
            print(f"{name:<24}  {spread(ours_v):>30}  {spread(floor_v):>30}  "
                  f"{' / '.join(f'{x:.2f}' for x in sorted(ratio)):>20}")
        workers = [ours["worker_rss_kb"] / 1024 for ours, _ in runs]
        print(f"peak RSS of the largest worker process (forked: most pages shared with the "
              f"main one) MB: {spread(workers)}")
        if not args.no_memory:
            camp = work / f"campaign-{args.memory_n}"
            camp.mkdir()
            make_campaign(camp, args.memory_n)
            big = run(OURS, str(camp), str(work / f"run-{args.memory_n}"))
            growth = big["rss_kb"] / statistics.median(r[0]["rss_kb"] for r in runs)
            print(f"peak RSS at N = {args.memory_n:,}: {big['rss_kb'] / 1024:,.1f} MB "
                  f"= {growth:.2f} x that at N = {args.n:,} "
                  f"({big['letters'] / big['wall']:,.0f} letters/s)")


if __name__ == "__main__":
    main()
