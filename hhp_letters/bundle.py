"""The bundle stage: each letter once into its own file and into its print-shop bundle, in
postage order; then the manifests and the job ticket. Backends make the PDFs; this module only
decides where they go and what the print shop is told."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from hhp_letters.campaign import Campaign
from hhp_letters.model import Job
from hhp_letters.problems import Problem, spreadsheet_safe
from hhp_letters.render import Layout, Rendered, open_backends
from hhp_letters.runfolder import RunFolder
from hhp_letters.store import Output

Progress = Callable[[int], None]
# No names, no arm, no study ids: the print shop needs positions and postage order only.
MANIFEST_COLUMNS = ("sequence", "first_page", "pages", "sheets", "sort_key", "postcode")


@dataclass(frozen=True)
class Bundle:
    name: str
    path: str  # relative to the run folder
    sha256: str
    letters: int
    pages: int


@dataclass(frozen=True)
class Written:
    """What the bundle stage wrote. Each letter and file is also in the store (outputs, files);
    ``problems`` are the letters a backend could not make (left out)."""

    letters: int
    bundles: tuple[Bundle, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def pages(self) -> int:
        return sum(b.pages for b in self.bundles)


def _chunks(jobs: Iterable[Job], size: int) -> Iterator[list[Job]]:
    chunk: list[Job] = []
    for job in jobs:
        chunk.append(job)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_bundles(layout: Layout, folder: RunFolder, *, progress: Progress | None = None
                  ) -> Written:
    """Write every job of ``layout`` (grouped by authority, in postage order) into ``folder``:
    at most ``max_letters_per_bundle`` letters a bundle."""
    campaign = layout.merged.checked.campaign
    opts = campaign.spec.print
    kind = campaign.kind
    prefix = "proof/" if layout.proof else ""
    bundles: list[Bundle] = []
    problems: list[Problem] = []
    with open_backends(layout) as backends:
        for code, group in groupby(layout.jobs(), key=lambda j: j.authority.code):
            for n, chunk in enumerate(_chunks(group, opts.max_letters_per_bundle), start=1):
                name = f"{code}-{n}"
                rel = f"{prefix}bundles/{name}.pdf"
                manifest: list[tuple[object, ...]] = []
                pages = 0
                with folder.open(rel, "bundle") as out:
                    for item in backends[code].render_bundle(chunk, out, name=name,
                                                             duplex=opts.duplex):
                        if isinstance(item, Problem):
                            problems.append(item)
                            continue
                        _keep(folder, item, prefix, kind, name, opts.duplex, manifest)
                        pages = item.first_page + item.pages - 1
                        if progress is not None:
                            progress(1)
                    if not manifest:
                        out.discard()
                if out.record is None:
                    continue
                _write_manifest(folder, f"{prefix}bundles/{name}.csv", manifest)
                bundles.append(Bundle(name, rel, out.record.sha256, len(manifest), pages))
    return Written(sum(b.letters for b in bundles), tuple(bundles), tuple(problems))


def _keep(folder: RunFolder, item: Rendered, prefix: str, kind: str, bundle: str,
          duplex: bool, manifest: list[tuple[object, ...]]) -> None:
    job = item.job
    rel = f"{prefix}{kind}/{job.authority.code}/{job.stem}.pdf"
    for extra in item.extras:
        folder.write(rel.removesuffix(".pdf") + extra.suffix, extra.data, extra.kind)
    record = folder.write(rel, item.pdf, "letter" if kind == "letters" else "note")
    folder.store.add_output(job.key, Output(rel, record.sha256, bundle, item.first_page,
                                            item.pages, item.spans))
    sheets = (item.pages + 1) // 2 if duplex else item.pages
    manifest.append((len(manifest) + 1, item.first_page, item.pages, sheets,
                     job.sort_key.replace("\x00", " "), job.postcode))


def _write_manifest(folder: RunFolder, rel: str, rows: Sequence[tuple[object, ...]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    # every cell neutralised: team names and sort keys come from spreadsheets
    writer.writerows([spreadsheet_safe(str(v)) for v in row] for row in rows)
    folder.write(rel, buf.getvalue().encode("utf-8"), "manifest")


def job_ticket(campaign: Campaign, written: Written) -> str:
    """What the print shop needs to know, in plain text."""
    opts = campaign.spec.print
    env = opts.envelope
    notes = campaign.kind == "notes"
    item = "notes" if notes else "letters"
    pages = written.pages
    sheets = pages // 2 if opts.duplex else pages
    printing = ("duplex (every " + ("note" if notes else "letter") + " starts on a front page; "
                "backs are blank)" if opts.duplex else "simplex")
    lines = [
        f"JOB TICKET  {campaign.spec.campaign.name}",
        "",
        f"{item.capitalize() + ':':<16}{written.letters}",
        f"Bundles:        {len(written.bundles)}",
        f"Pages:          {pages}",
        f"Sheets:         {sheets}",
    ]
    if notes:
        paper = ("A5 landscape card (210 x 148 mm)" if campaign.spec.notes.page == "A5-landscape"
                 else "A4 (210 x 297 mm)")
        lines += [f"Paper:          {paper}, white, no bleed; trim = media",
                  f"Printing:       {printing}",
                  "Colour:         text K100; logo in CMYK",
                  "Finishing:      laminate; no envelope (one note per coffee machine)",
                  "Order:          by site, then team (as the manifest lists)"]
    else:
        lines += [
            "Paper:          A4 (210 x 297 mm), white, no bleed; trim = media",
            f"Printing:       {printing}",
            "Colour:         text K100; logo in CMYK",
            f"Envelope:       {env.name} {env.width:g} x {env.height:g} mm, window "
            f"{env.window_width:g} x {env.window_height:g} mm at {env.window_left:g} mm from "
            f"left, {env.window_bottom:g} mm from bottom",
            "Fold:           " + ("Z-fold in thirds" if env.fold == "thirds" else "in half")
            + ", address panel out",
            "Sheets/envelope: 1",
            f"Order:          {opts.sort} (within each bundle, as the manifest lists)"]
    lines += ["", f"Bundles (name, {item}, pages, SHA-256):"]
    for b in written.bundles:
        lines.append(f"  {b.name}.pdf  {b.letters:>6} {item}  {b.pages:>6} pages  {b.sha256}")
    return "\n".join(lines) + "\n"
