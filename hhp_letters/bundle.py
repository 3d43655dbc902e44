"""The bundle stage: each letter once into its own file and into its print-shop bundle, in
postage order; then the manifests and the job ticket. Backends make the PDFs; this module only
decides where they go and what the print shop is told."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from hhp_letters.campaign import Campaign
from hhp_letters.errors import InternalError
from hhp_letters.model import Job, LetterJob
from hhp_letters.parallel import in_order
from hhp_letters.problems import Problem, spreadsheet_safe
from hhp_letters.render import Layout, Rendered, open_backends, press
from hhp_letters.render.backend import BundleSpec
from hhp_letters.render.geometry import MM
from hhp_letters.render.integrity import (
    IntegrityCodes,
    letter_placement,
    note_placement,
)
from hhp_letters.render.pdfx import PdfxStandard, output_condition
from hhp_letters.render.word_pdf import BundleFacts, bundle_facts
from hhp_letters.runfolder import RunFolder
from hhp_letters.store import Output

Progress = Callable[[int], None]
_SUBSET = re.compile(r"^[A-Z]{6}\+")
# No names, no arm, no study ids: the print shop needs positions and postage order only.
MANIFEST_COLUMNS = ("sequence", "first_page", "pages", "sheets", "sort_key", "postcode",
                    "reference", "code")


@dataclass(frozen=True)
class Bundle:
    name: str
    path: str  # relative to the run folder
    sha256: str
    letters: int
    pages: int
    number: int = 0  # its place in the run, from 1: what its pages' codes carry


@dataclass(frozen=True)
class Written:
    """What the bundle stage wrote. Each letter and file is also in the store (outputs, files);
    ``problems`` are the letters a backend could not make (left out)."""

    letters: int
    bundles: tuple[Bundle, ...]
    problems: tuple[Problem, ...] = ()
    job: str = ""  # the print job's id (what the mail-integrity codes carry)
    codes: IntegrityCodes | None = None

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


def write_bundles(layout: Layout, folder: RunFolder, *, job: str,
                  progress: Progress | None = None) -> Written:
    """Write every job of ``layout`` (grouped by authority, in postage order) into ``folder``:
    at most ``max_letters_per_bundle`` letters a bundle, every page carrying its
    mail-integrity code (unless ``[print] integrity_code = false``)."""
    campaign = layout.merged.checked.campaign
    opts = campaign.spec.print
    kind = campaign.kind
    prefix = "proof/" if layout.proof else ""
    bundles: list[Bundle] = []
    problems: list[Problem] = []
    page_w, page_h = (v / MM for v in layout.native.page_size)
    placement = letter_placement(page_w, page_h) if kind == "letters" else \
        note_placement(page_w, page_h)
    codes = IntegrityCodes(job, placement) if opts.integrity_code else None
    number = 0
    with open_backends(layout) as backends:
        for code, group in groupby(layout.jobs(), key=lambda j: j.authority.code):
            for n, chunk in enumerate(_chunks(group, opts.max_letters_per_bundle), start=1):
                name = f"{code}-{n}"
                number += 1
                spec = BundleSpec(name, number, opts.duplex, codes, folder.root,
                                  f"{prefix}{kind}/{code}")
                rel = f"{prefix}bundles/{name}.pdf"
                manifest: list[tuple[object, ...]] = []
                pages = 0
                with folder.open(rel, "bundle") as out:
                    for item in backends[code].render_bundle(chunk, out, spec):
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
                bundles.append(Bundle(name, rel, out.record.sha256, len(manifest), pages,
                                      number))
    return Written(sum(b.letters for b in bundles), tuple(bundles), tuple(problems), job, codes)


def _keep(folder: RunFolder, item: Rendered, prefix: str, kind: str, bundle: str,
          duplex: bool, manifest: list[tuple[object, ...]]) -> None:
    job = item.job
    rel = f"{prefix}{kind}/{job.authority.code}/{job.stem}.pdf"
    for extra in item.extras:
        folder.write(rel.removesuffix(".pdf") + extra.suffix, extra.data, extra.kind)
    if item.file is not None:  # the backend wrote it (on another core)
        if item.file.path != rel:
            raise InternalError(f"{job.title} was written to {item.file.path}, not {rel}")
        record = folder.record(item.file)
    else:
        record = folder.write(rel, item.pdf, "letter" if kind == "letters" else "note")
    folder.store.add_output(job.key, Output(rel, record.sha256, bundle, item.first_page,
                                            item.pages, item.spans, item.code))
    sheets = (item.pages + 1) // 2 if duplex else item.pages
    reference = job.reference if isinstance(job, LetterJob) else ""
    manifest.append((len(manifest) + 1, item.first_page, item.pages, sheets,
                     job.sort_key.replace("\x00", " "), job.postcode, reference, item.code))


def _write_manifest(folder: RunFolder, rel: str, rows: Sequence[tuple[object, ...]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    # every cell neutralised: team names and sort keys come from spreadsheets
    writer.writerows([spreadsheet_safe(str(v)) for v in row] for row in rows)
    folder.write(rel, buf.getvalue().encode("utf-8"), "manifest")


def _pdfx_line(campaign: Campaign) -> str:
    opts = campaign.spec.print
    standard = PdfxStandard.parse(opts.pdfx)
    condition = output_condition(opts.output_condition)
    embedded = press.print_profile(campaign) is not None
    profile = ("its ICC profile embedded in every bundle" if embedded
               else "named only (a registered condition; no profile embedded)")
    return (f"PDF:            {standard.value}, output intent {condition.identifier} "
            f"({condition.condition}), {profile}")


def _paper(facts: Sequence[BundleFacts], notes: bool) -> str:
    """What size the pages are, measured."""
    sizes = sorted(set().union(*(f.sizes for f in facts)))
    pages = sum(f.pages for f in facts)
    trimmed = sum(f.trimmed for f in facts)
    names = {(210.0, 297.0): "A4", (210.0, 148.0): "A5 landscape card" if notes else "A5 landscape"}
    if not sizes:
        return "Paper:          none (no pages were written)"
    shown = "; ".join(f"{names.get((w, h), 'NOT A4')} ({w:g} x {h:g} mm)" for w, h in sizes)
    every = "every page" if len(sizes) == 1 else "PAGE SIZES DIFFER"
    trim = "trim = media" if trimmed == pages else f"TrimBox = MediaBox on {trimmed} of {pages}"
    return f"Paper:          {shown or 'no pages'}, {every} (measured), white, no bleed; {trim}"


def _colour_name(op: str, values: tuple[float, ...]) -> str:
    pct = [f"{v * 100:g}" for v in values]
    if op == "k":
        return "K100" if values == (0.0, 0.0, 0.0, 1.0) else \
            f"C{pct[0]} M{pct[1]} Y{pct[2]} K{pct[3]}"
    return f"gray {values[0]:g}" if op == "g" else "RGB " + " ".join(f"{v:g}" for v in values)


def _colour(facts: Sequence[BundleFacts]) -> str:
    """The colour spaces and solid colours the files set, measured."""
    spaces = sorted(set().union(*(f.colour_spaces for f in facts)))
    rgb = [s for s in spaces if "RGB" in s]
    colours = sorted(set().union(*(f.colours for f in facts)),
                     key=lambda c: (c != ("k", (0.0, 0.0, 0.0, 1.0)), c))
    named = [_colour_name(op, values) for op, values in colours]
    more = f" and {len(named) - 8} more" if len(named) > 8 else ""
    return (f"Colour:         {', '.join(spaces) or 'none'} (measured); "
            + (f"RGB FOUND ({', '.join(rgb)})" if rgb else "no RGB")
            + (f"; solid colours {', '.join(named[:8])}{more}" if named else ""))


def _fonts(facts: Sequence[BundleFacts], bundles: Sequence[Bundle]) -> str:
    """Which fonts the files carry, embedded or not, and their subset names."""
    fonts = [f for fact in facts for f in fact.fonts]
    families = sorted({_SUBSET.sub("", f.name) for f in fonts})
    missing = sorted({f.name for f in fonts if not f.embedded})
    subsets = sum(len({f.name for f in fact.fonts if f.subset}) for fact in facts)
    shared = [f"{b.name}.pdf: {', '.join(fact.shared_subset_names)}"
              for b, fact in zip(bundles, facts, strict=True) if fact.shared_subset_names]
    return ("Fonts:          " + (", ".join(families) or "none")
            + (f"; NOT EMBEDDED: {', '.join(missing)}" if missing else "; all embedded")
            + f"; {subsets} subset(s) in {len(facts)} bundle(s), "
            + (f"SUBSET NAMES SHARED by different fonts in {'; '.join(shared)}" if shared
               else "each subset name unique within its bundle") + " (measured)")


def job_ticket(campaign: Campaign, written: Written, root: Path) -> str:
    """What the print shop needs to know, in plain text. Paper, colour and fonts are measured
    from the bundles as written under ``root`` (the run folder), never assumed."""
    opts = campaign.spec.print
    env = opts.envelope
    notes = campaign.kind == "notes"
    item = "notes" if notes else "letters"
    pages = written.pages
    sheets = pages // 2 if opts.duplex else pages
    printing = ("duplex (every " + ("note" if notes else "letter") + " starts on a front page; "
                "backs are blank)" if opts.duplex else "simplex")
    facts = list(in_order(bundle_facts, ((root / b.path,) for b in written.bundles), batch=1))
    measured = [_paper(facts, notes), f"Printing:       {printing}", _colour(facts),
                _pdfx_line(campaign), _fonts(facts, written.bundles)]
    lines = [
        f"JOB TICKET  {campaign.spec.campaign.name}",
        "",
        f"{item.capitalize() + ':':<16}{written.letters}",
        f"Bundles:        {len(written.bundles)}",
        f"Pages:          {pages}",
        f"Sheets:         {sheets}",
        *measured,
    ]
    if notes:
        lines += ["Finishing:      laminate; no envelope (one note per coffee machine)",
                  "Order:          by site, then team (as the manifest lists)"]
    else:
        lines += [
            f"Envelope:       {env.name} {env.width:g} x {env.height:g} mm, window "
            f"{env.window_width:g} x {env.window_height:g} mm at {env.window_left:g} mm from "
            f"left, {env.window_bottom:g} mm from bottom",
            "Fold:           " + ("Z-fold in thirds" if env.fold == "thirds" else "in half")
            + ", address panel out",
            "Sheets/envelope: 1",
            f"Order:          {opts.sort} (within each bundle, as the manifest lists)"]
    lines.insert(2, f"Job id:         {written.job}")
    codes = written.codes
    if codes is not None:
        p = codes.placement
        sample = codes.payload(1, 1, 1, 1)
        side = codes.side_mm(sample)
        x1, y1 = p.x_mm + side, p.y_mm + side
        lines += [
            "", "Mail-integrity code (every page, bundle pages and letters alike):",
            f"  ECC200 DataMatrix, {side:g} x {side:g} mm ({p.module_mm:g} mm modules), black "
            f"(K100), at x {p.x_mm:g}-{x1:g} mm, y {p.y_mm:g}-{y1:g} mm from the sheet's "
            "top-left corner; 2 mm clear around it",
            "  Content: HHP1|<job id>|<bundle number>|<envelope sequence, 6 digits>|<page>/"
            "<pages>|<check character, ISO 7064 MOD 37-36>",
            f"  e.g. {sample}",
            "  Bundle numbers: " + ", ".join(f"{b.number} = {b.name}.pdf"
                                             for b in written.bundles),
            "  Nothing personal: the manifest's sequence and code columns tie a code to its "
            "envelope"]
    lines += ["", f"Bundles (name, {item}, pages, SHA-256):"]
    for b in written.bundles:
        lines.append(f"  {b.name}.pdf  {b.letters:>6} {item}  {b.pages:>6} pages  {b.sha256}")
    return "\n".join(lines) + "\n"
