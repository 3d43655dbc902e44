"""Write each letter once into its own file and into its print-shop bundle, in postage order;
then the manifests and the job ticket."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from hhp_letters.campaign import Campaign
from hhp_letters.model import LetterJob
from hhp_letters.render.letter import PAGE_H, PAGE_W
from hhp_letters.render.native import NativeLetters
from hhp_letters.render.pdf import DocumentWriter

Progress = Callable[[int], None]
# No names, no arm, no study ids: the print shop needs positions and postage order only.
MANIFEST_COLUMNS = ("sequence", "first_page", "pages", "sheets", "sort_key", "postcode")


@dataclass(frozen=True, slots=True)
class LetterOutput:
    participant_id: str
    authority: str
    path: str  # relative to the run folder
    sha256: str
    bundle: str
    first_page: int
    pages: int  # pages in the bundle (with duplex padding)


@dataclass(frozen=True, slots=True)
class FileOutput:
    path: str  # relative to the run folder
    sha256: str
    kind: str  # letter | bundle | manifest | job_ticket | contact_sheet
    size: int


@dataclass(frozen=True)
class Written:
    letters: tuple[LetterOutput, ...]
    files: tuple[FileOutput, ...]
    bundles: tuple[tuple[str, int, int], ...]  # name, letters, pages


def safe_name(participant_id: str) -> str:
    return participant_id.replace("/", "_").replace("\\", "_")


def write_letters(backend: NativeLetters, jobs: Sequence[LetterJob], root: Path, *,
                  progress: Progress | None = None) -> Written:
    """Render ``jobs`` into ``root`` (the staging run folder). Jobs are grouped by authority
    and sorted by their postage key; each bundle holds at most ``max_letters_per_bundle``."""
    opts = backend.campaign.spec.print
    duplex = opts.duplex
    prefix = "proof/" if backend.proof else ""
    letters: list[LetterOutput] = []
    files: list[FileOutput] = []
    bundles: list[tuple[str, int, int]] = []
    ordered = sorted(jobs, key=lambda j: (j.authority.code, j.sort_key, j.participant_id))
    for code, group in groupby(ordered, key=lambda j: j.authority.code):
        batch = list(group)
        authority = batch[0].authority
        shared = backend.shared(authority)
        letter_dir = root / f"{prefix}letters" / code
        letter_dir.mkdir(parents=True, exist_ok=True)
        size = opts.max_letters_per_bundle
        for n, start in enumerate(range(0, len(batch), size), start=1):
            chunk = batch[start:start + size]
            name = f"{code}-{n}"
            bundle_rel = f"{prefix}bundles/{name}.pdf"
            bundle_path = root / bundle_rel
            bundle_path.parent.mkdir(parents=True, exist_ok=True)
            manifest: list[tuple[object, ...]] = []
            with bundle_path.open("wb") as fh:
                doc = DocumentWriter(fh, shared, (PAGE_W, PAGE_H))
                for seq, job in enumerate(chunk, start=1):
                    page = backend.page(job)
                    single = io.BytesIO()
                    one = DocumentWriter(single, shared, (PAGE_W, PAGE_H))
                    one.add_page(page)
                    sha = one.finish(backend.info(f"Letter {job.participant_id}", authority,
                                                  f"participant {job.participant_id}"))
                    rel = f"{prefix}letters/{code}/{safe_name(job.participant_id)}.pdf"
                    data = single.getvalue()
                    (root / rel).write_bytes(data)
                    files.append(FileOutput(rel, sha, "letter", len(data)))
                    first = doc.page_count + 1
                    doc.add_page(page)
                    if duplex:
                        doc.add_page(None)
                    pages = doc.page_count - first + 1
                    letters.append(LetterOutput(job.participant_id, code, rel, sha, name, first,
                                                pages))
                    manifest.append((seq, first, pages, (pages + 1) // 2 if duplex else pages,
                                     job.sort_key.replace("\x00", " "),
                                     job.address_lines[-1]))
                    if progress is not None:
                        progress(1)
                sha = doc.finish(backend.info(f"Bundle {name}", authority,
                                              f"{len(chunk)} letters"))
                total = doc.page_count
            files.append(FileOutput(bundle_rel, sha, "bundle", bundle_path.stat().st_size))
            bundles.append((name, len(chunk), total))
            files.append(_write_manifest(root, f"{prefix}bundles/{name}.csv", manifest))
    return Written(tuple(letters), tuple(files), tuple(bundles))


def _write_manifest(root: Path, rel: str, rows: Sequence[tuple[object, ...]]) -> FileOutput:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    (root / rel).write_bytes(data)
    return FileOutput(rel, hashlib.sha256(data).hexdigest(), "manifest", len(data))


def job_ticket(campaign: Campaign, written: Written) -> str:
    """What the print shop needs to know, in plain text."""
    opts = campaign.spec.print
    env = opts.envelope
    pages = sum(p for _, _, p in written.bundles)
    sheets = pages // 2 if opts.duplex else pages
    lines = [
        f"JOB TICKET  {campaign.spec.campaign.name}",
        "",
        f"Letters:        {len(written.letters)}",
        f"Bundles:        {len(written.bundles)}",
        f"Pages:          {pages}",
        f"Sheets:         {sheets}",
        "Paper:          A4 (210 x 297 mm), white, no bleed; trim = media",
        "Printing:       " + ("duplex (every letter starts on a front page)" if opts.duplex
                                 else "simplex"),
        "Colour:         text K100; logo in CMYK",
        f"Envelope:       {env.name} {env.width:g} x {env.height:g} mm, window "
        f"{env.window_width:g} x {env.window_height:g} mm at {env.window_left:g} mm from left, "
        f"{env.window_bottom:g} mm from bottom",
        "Fold:           " + ("Z-fold in thirds" if env.fold == "thirds" else "in half")
        + ", address panel out",
        "Sheets/envelope: 1",
        f"Order:          {opts.sort} (within each bundle, as the manifest lists)",
        "",
        "Bundles (name, letters, pages, SHA-256):",
    ]
    sums = {f.path: f.sha256 for f in written.files}
    for name, count, npages in written.bundles:
        path = next(p for p in sums if p.endswith(f"bundles/{name}.pdf"))
        lines.append(f"  {name}.pdf  {count:>6} letters  {npages:>6} pages  {sums[path]}")
    return "\n".join(lines) + "\n"
