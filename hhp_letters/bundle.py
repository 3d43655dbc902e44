"""Write each letter once into its own file and into its print-shop bundle, in postage order;
then the manifests and the job ticket."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from hhp_letters.campaign import Campaign
from hhp_letters.render.native import Job, NativeBackend
from hhp_letters.render.pdf import DocumentWriter
from hhp_letters.store import Store

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
    """What a run wrote. Each letter and file is also recorded in the store (outputs, files)."""

    letters: int
    bundles: tuple[Bundle, ...]

    @property
    def pages(self) -> int:
        return sum(b.pages for b in self.bundles)


def write_letters(backend: NativeBackend, jobs: Iterable[Job], root: Path, store: Store,
                  *, progress: Progress | None = None) -> Written:
    """Render ``jobs`` (grouped by authority, in postage order) into ``root``, the staging run
    folder: each letter once into its own file and once into its bundle, at most
    ``max_letters_per_bundle`` letters a bundle. Outputs and files go into ``store``."""
    opts = backend.campaign.spec.print
    prefix = "proof/" if backend.proof else ""
    bundles: list[Bundle] = []
    count = 0
    for code, group in groupby(jobs, key=lambda j: j.authority.code):
        letter_dir = root / f"{prefix}{backend.kind}" / code
        letter_dir.mkdir(parents=True, exist_ok=True)
        size = opts.max_letters_per_bundle
        for n, chunk in enumerate(_chunks(group, size), start=1):
            bundle = _write_bundle(backend, chunk, root, store, f"{code}-{n}", prefix,
                                   opts.duplex, progress)
            bundles.append(bundle)
            count += bundle.letters
    return Written(count, tuple(bundles))


def _chunks(jobs: Iterable[Job], size: int) -> Iterator[list[Job]]:
    chunk: list[Job] = []
    for job in jobs:
        chunk.append(job)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_bundle(backend: NativeBackend, chunk: Sequence[Job], root: Path, store: Store,
                  name: str, prefix: str, duplex: bool, progress: Progress | None) -> Bundle:
    authority = chunk[0].authority
    shared = backend.shared(authority)
    bundle_rel = f"{prefix}bundles/{name}.pdf"
    bundle_path = root / bundle_rel
    bundle_path.parent.mkdir(parents=True, exist_ok=True)
    manifest: list[tuple[object, ...]] = []
    with bundle_path.open("wb") as fh:
        doc = DocumentWriter(fh, shared, backend.page_size)
        for seq, job in enumerate(chunk, start=1):
            page = backend.page(job)
            single = io.BytesIO()
            one = DocumentWriter(single, shared, backend.page_size)
            one.add_page(page)
            sha = one.finish(backend.info(job.title, authority, f"hhp-letters {backend.kind}"))
            rel = f"{prefix}{backend.kind}/{authority.code}/{job.stem}.pdf"
            data = single.getvalue()
            (root / rel).write_bytes(data)
            store.add_file(rel, sha, len(data), "letter")
            first = doc.page_count + 1
            doc.add_page(page)
            if duplex:
                doc.add_page(None)
            pages = doc.page_count - first + 1
            store.add_output(job.key, rel, sha, name, first, pages)
            manifest.append((seq, first, pages, (pages + 1) // 2 if duplex else pages,
                             job.sort_key.replace("\x00", " "), job.postcode))
            if progress is not None:
                progress(1)
        sha = doc.finish(backend.info(f"Bundle {name}", authority,
                                      f"{len(chunk)} {backend.kind}"))
        total = doc.page_count
    store.add_file(bundle_rel, sha, bundle_path.stat().st_size, "bundle")
    manifest_rel = f"{prefix}bundles/{name}.csv"
    _write_manifest(root, manifest_rel, manifest, store)
    return Bundle(name, bundle_rel, sha, len(chunk), total)


def _write_manifest(root: Path, rel: str, rows: Sequence[tuple[object, ...]],
                    store: Store) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    (root / rel).write_bytes(data)
    store.add_file(rel, hashlib.sha256(data).hexdigest(), len(data), "manifest")


def job_ticket(campaign: Campaign, written: Written) -> str:
    """What the print shop needs to know, in plain text."""
    opts = campaign.spec.print
    env = opts.envelope
    notes = campaign.kind == "notes"
    item = "notes" if notes else "letters"
    pages = written.pages
    sheets = pages // 2 if opts.duplex else pages
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
                  "Printing:       simplex",
                  "Colour:         text K100; logo in CMYK",
                  "Finishing:      laminate; no envelope (one note per coffee machine)",
                  "Order:          by site, then team (as the manifest lists)"]
    else:
        lines += [
            "Paper:          A4 (210 x 297 mm), white, no bleed; trim = media",
            "Printing:       " + ("duplex (every letter starts on a front page)" if opts.duplex
                                     else "simplex"),
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
