"""Reconcile an inserter's (or a returns desk's) scan of the DataMatrix codes with the run.

The run's manifests say what must exist: every page i/n of every envelope of every bundle (the
``code`` column is the envelope's first page; its other pages differ only in i/n). The scan
says what went past the camera. Each scanned code is, in this order:

* **unreadable**: not an HHP1 payload, or its check character is wrong (a misread, a
  hand-keyed typo, a code from another system);
* **foreign**: a valid code of another job (a sheet from someone else's run in this one);
* **unknown**: this job, but a bundle, envelope or page i/n the run never made;
* otherwise it ticks its page; a page ticked more than once is a **duplicate**.

Then, per bundle, each envelope is complete (every page seen), missing (none seen) or
incomplete (which pages are missing). The scan is accepted in two shapes (see
:func:`read_scan`): one decoded code per line, or a CSV with a ``code`` column whose other
columns (timestamp, station, …) are kept for the report.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hhp_letters.errors import RunFolderError, UsageError
from hhp_letters.package import live_run
from hhp_letters.problems import spreadsheet_safe
from hhp_letters.render.datamatrix import DataMatrixError, MailPayload

_DELIMITERS = (",", ";", "\t")  # never "|": the payload is made of it
_SHOWN = 80  # characters of an unreadable line shown in the report


@dataclass(frozen=True)
class ScanLine:
    """One scanned code: where it is in the scan file, as read, and the row's other columns."""

    line: int  # 1-based line of the scan file
    text: str  # surrounding white space stripped
    fields: tuple[tuple[str, str], ...] = ()  # other CSV columns (name, value), in file order

    def shown(self) -> str:
        text = self.text if len(self.text) <= _SHOWN else self.text[:_SHOWN] + "…"
        return repr(text) if not text.isprintable() or not text else text


@dataclass(frozen=True)
class Scan:
    """A scan file read: its codes in file order, and the names of its extra columns."""

    name: str
    lines: tuple[ScanLine, ...]
    columns: tuple[str, ...] = ()  # extra CSV columns; empty for a plain list of codes


def _csv_header(first: str) -> tuple[str, int] | None:
    """The delimiter and index of the ``code`` column, if ``first`` is a CSV header."""
    for delimiter in _DELIMITERS:
        if delimiter not in first:
            continue
        cells = next(csv.reader([first], delimiter=delimiter))
        names = [c.strip().lower() for c in cells]
        if "code" in names:
            return delimiter, names.index("code")
    if first.strip().lower() == "code":
        return ",", 0
    return None


def read_scan(path: Path) -> Scan:
    """Read a scan file.

    * **A list of codes**: one decoded code per line; surrounding white space is stripped and
      blank lines are ignored.
    * **A CSV**: the first non-blank line is a header with a ``code`` column (any case;
      delimiter ``,``, ``;`` or tab). Rows whose cells are all empty are ignored; a row with
      an empty ``code`` is a no-read, reported as unreadable.

    UTF-8 (a BOM is fine); bytes that are not UTF-8 make that line unreadable, not the file.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the scan {path}: {exc.strerror or type(exc).__name__}",
                         hint="give the file the inserter or returns desk exported") from exc
    text = raw.decode("utf-8-sig", errors="replace")
    physical = text.splitlines()
    first = next((n for n, line in enumerate(physical) if line.strip()), None)
    if first is None:
        return Scan(path.name, ())
    header = _csv_header(physical[first])
    if header is None:
        return Scan(path.name, tuple(ScanLine(n, line.strip())
                                     for n, line in enumerate(physical, start=1)
                                     if line.strip()))
    delimiter, at = header
    reader = csv.reader(io.StringIO("\n".join(physical[first:])), delimiter=delimiter)
    names = [c.strip() for c in next(reader)]
    extra = tuple(n for i, n in enumerate(names) if i != at)
    lines: list[ScanLine] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = first + reader.line_num  # where the row ends, counted in the whole file
        code = row[at].strip() if at < len(row) else ""
        fields = tuple((names[i] if i < len(names) else f"column {i + 1}", cell.strip())
                       for i, cell in enumerate(row) if i != at)
        lines.append(ScanLine(line, code, fields))
    return Scan(path.name, tuple(lines), extra)


# --- What the run made -------------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """One envelope (mailpiece) the run made, and how often the scan saw each of its pages."""

    bundle: str  # bundle file name, e.g. "BF-1"
    sequence: int  # envelope sequence in the bundle (the code's)
    reference: str  # the manifest's reference, if it has one
    first_page: int  # in the bundle PDF
    seen: tuple[int, ...]  # scans of page 1..n

    @property
    def pages(self) -> int:
        return len(self.seen)

    @property
    def missing_pages(self) -> tuple[int, ...]:
        return tuple(i for i, n in enumerate(self.seen, start=1) if n == 0)

    @property
    def status(self) -> str:
        if not any(self.seen):
            return "missing"
        return "incomplete" if self.missing_pages else "complete"

    @property
    def duplicated(self) -> bool:
        """The whole envelope went past more than once (every page scanned twice or more)."""
        return min(self.seen) > 1


@dataclass(frozen=True)
class Duplicate:
    """A page scanned more than once."""

    bundle: str
    sequence: int
    page: int
    pages: int
    code: str
    lines: tuple[ScanLine, ...]

    @property
    def times(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class Unknown:
    """A code of this job that names a bundle, envelope or page the run never made."""

    line: ScanLine
    bundle: str | None  # the bundle file, when the code's bundle is one of the run's
    reason: str


@dataclass(frozen=True)
class Foreign:
    line: ScanLine
    job: str


@dataclass(frozen=True)
class Unreadable:
    line: ScanLine
    reason: str


@dataclass(frozen=True)
class BundleReport:
    name: str  # bundle file name, e.g. "BF-1"
    code: str  # the bundle field of its codes
    pieces: tuple[Piece, ...]
    duplicates: tuple[Duplicate, ...]
    unknown: tuple[Unknown, ...]

    def count(self, status: str) -> int:
        return sum(1 for p in self.pieces if p.status == status)

    @property
    def clean(self) -> bool:
        return (self.count("complete") == len(self.pieces) and not self.duplicates
                and not self.unknown)


_CSV_COLUMNS = ("status", "bundle", "sequence", "reference", "first_page", "pages",
                "missing_pages", "times", "lines", "code", "detail")


@dataclass(frozen=True)
class Reconciliation:
    """What the scan shows against what the run made. ``clean``: nothing missing, nothing
    twice, nothing that does not belong."""

    run: Path
    scan: str  # the scan file's name
    job: str
    bundles: tuple[BundleReport, ...]
    lines: int  # codes read from the scan (blank lines not counted)
    other_unknown: tuple[Unknown, ...]  # this job, not attributable to one bundle
    foreign: tuple[Foreign, ...]
    unreadable: tuple[Unreadable, ...]
    columns: tuple[str, ...] = field(default=())  # the scan's extra columns

    @property
    def pieces(self) -> tuple[Piece, ...]:
        return tuple(p for b in self.bundles for p in b.pieces)

    @property
    def duplicates(self) -> tuple[Duplicate, ...]:
        return tuple(d for b in self.bundles for d in b.duplicates)

    @property
    def unknown(self) -> tuple[Unknown, ...]:
        return (*(u for b in self.bundles for u in b.unknown), *self.other_unknown)

    @property
    def counts(self) -> Mapping[str, int]:
        pieces = self.pieces
        return {
            "bundles": len(self.bundles),
            "pieces": len(pieces),
            "pages": sum(p.pages for p in pieces),
            "scanned": self.lines,
            "complete": sum(1 for p in pieces if p.status == "complete"),
            "missing": sum(1 for p in pieces if p.status == "missing"),
            "incomplete": sum(1 for p in pieces if p.status == "incomplete"),
            "missing_pages": sum(len(p.missing_pages) for p in pieces),
            "duplicated_pages": len(self.duplicates),
            "duplicated_pieces": sum(1 for p in pieces if p.duplicated),
            "unknown": len(self.unknown),
            "foreign": len(self.foreign),
            "unreadable": len(self.unreadable),
        }

    @property
    def clean(self) -> bool:
        c = self.counts
        return c["complete"] == c["pieces"] and not any(
            c[k] for k in ("duplicated_pages", "unknown", "foreign", "unreadable"))

    # --- output for the CLI ---

    def to_csv(self) -> str:
        """One row per envelope (complete too, so the file can be ticked off), then one per
        duplicated page, unknown, foreign and unreadable code; the scan's own columns last.
        Every cell is neutralised for spreadsheets (scanned text is untrusted)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([*_CSV_COLUMNS, *(f"scan_{c}" for c in self.columns)])
        for row in self._rows():
            writer.writerow([spreadsheet_safe(str(v)) for v in row])
        return buf.getvalue()

    def _extra(self, lines: Sequence[ScanLine]) -> list[str]:
        return [" ; ".join(dict(s.fields).get(c, "") for s in lines) for c in self.columns]

    def _rows(self) -> Iterator[list[object]]:
        for b in self.bundles:
            for p in b.pieces:
                times = min(p.seen) if p.duplicated else ""
                yield [p.status, b.name, p.sequence, p.reference, p.first_page, p.pages,
                       " ".join(map(str, p.missing_pages)), times, "", "",
                       "every page scanned more than once" if p.duplicated else "",
                       *(["" for _ in self.columns])]
        for d in self.duplicates:
            yield ["duplicate", d.bundle, d.sequence, "", "", d.pages, "", d.times,
                   " ".join(str(s.line) for s in d.lines), d.code, f"page {d.page}/{d.pages}",
                   *self._extra(d.lines)]
        for u in self.unknown:
            yield ["unknown", u.bundle or "", "", "", "", "", "", "", u.line.line, u.line.text,
                   u.reason, *self._extra([u.line])]
        for f in self.foreign:
            yield ["foreign", "", "", "", "", "", "", "", f.line.line, f.line.text,
                   f"job {f.job}", *self._extra([f.line])]
        for r in self.unreadable:
            yield ["unreadable", "", "", "", "", "", "", "", r.line.line, r.line.text,
                   r.reason, *self._extra([r.line])]

    def to_text(self) -> str:
        c = self.counts
        out = [f"Scan {self.scan} against run {self.run.name} (job {self.job}): "
               f"{c['bundles']} bundle(s), {c['pieces']} envelope(s), {c['pages']} page(s); "
               f"{c['scanned']} code(s) read",
               "CLEAN: every page of every envelope scanned exactly once" if self.clean else
               (f"NOT CLEAN: {c['complete']} of {c['pieces']} envelope(s) complete, "
                f"{c['missing']} missing, {c['incomplete']} with pages missing; "
                f"{c['duplicated_pages']} page(s) scanned more than once; {c['unknown']} "
                f"unknown, {c['foreign']} foreign, {c['unreadable']} unreadable code(s)")]
        for b in self.bundles:
            out.append("")
            out.append(f"Bundle {b.name} (code {b.code}): {len(b.pieces)} envelope(s): "
                       f"{b.count('complete')} complete, {b.count('missing')} missing, "
                       f"{b.count('incomplete')} with pages missing")
            out += _bundle_details(b)
        if self.other_unknown:
            out += ["", "Unknown codes of this job (a bundle or envelope the run never made):"]
            out += [f"  line {u.line.line}{_fields(u.line)}: {u.line.shown()} ({u.reason})"
                    for u in self.other_unknown]
        if self.foreign:
            out += ["", "Foreign codes (another job's sheets):"]
            out += [f"  line {f.line.line}{_fields(f.line)}: {f.line.shown()} (job {f.job})"
                    for f in self.foreign]
        if self.unreadable:
            out += ["", "Unreadable lines:"]
            out += [f"  line {r.line.line}{_fields(r.line)}: {r.line.shown()} ({r.reason})"
                    for r in self.unreadable]
            if len(self.unreadable) == self.lines and not self.columns:
                out.append("  (nothing in the scan could be read: if it is a CSV, its first "
                           "line must be a header with a 'code' column)")
        return "\n".join(out) + "\n"


def _fields(line: ScanLine) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in line.fields if v)
    return f" [{shown}]" if shown else ""


def _lines(lines: Sequence[ScanLine]) -> str:
    return ", ".join(f"{s.line}{_fields(s)}" for s in lines)


def _bundle_details(b: BundleReport) -> list[str]:
    out: list[str] = []
    for p in b.pieces:
        where = f"envelope {p.sequence:06d}" + (f" (ref {p.reference})" if p.reference else "")
        span = f"bundle pages {p.first_page}-{p.first_page + p.pages - 1}"
        if p.status == "missing":
            out.append(f"  MISSING {where}: no page scanned ({span})")
        elif p.status == "incomplete":
            pages = ", ".join(f"{i}/{p.pages}" for i in p.missing_pages)
            out.append(f"  INCOMPLETE {where}: page(s) {pages} not scanned ({span})")
    for d in b.duplicates:
        out.append(f"  DUPLICATE envelope {d.sequence:06d} page {d.page}/{d.pages}: scanned "
                   f"{d.times} times (lines {_lines(d.lines)})")
    for u in b.unknown:
        out.append(f"  UNKNOWN line {u.line.line}{_fields(u.line)}: {u.line.shown()} "
                   f"({u.reason})")
    return out


# --- Reconciling -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Expected:
    code: str  # the bundle field of its codes
    bundle: str  # bundle file name
    sequence: int
    reference: str
    first_page: int
    pages: int


def _manifest(run: Path, bundle: str, job: str) -> Iterator[_Expected]:
    path = run / "bundles" / f"{bundle}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if "code" not in (reader.fieldnames or ()):
            raise RunFolderError(f"{path} has no code column: the run printed no DataMatrix "
                                 "codes, so there is nothing to reconcile",
                                 hint="make the run with a version of hhp-letters that "
                                 "prints them")
        for row in reader:
            code = (row.get("code") or "").strip()
            try:
                first = MailPayload.parse(code)
            except DataMatrixError as exc:
                raise RunFolderError(f"{path} line {reader.line_num}: {exc}") from exc
            if first.job != job or first.page != 1:
                raise RunFolderError(f"{path} line {reader.line_num}: code {code} is not the "
                                     f"first page of an envelope of job {job}")
            try:
                first_page = int(row.get("first_page") or 0)
            except ValueError:
                first_page = 0
            yield _Expected(first.bundle, bundle, first.envelope,
                            (row.get("reference") or "").strip(), first_page, first.pages)


def _classify(code: str) -> MailPayload | str:
    """The payload, or why the code is unreadable."""
    if not code:
        return "no code (a no-read)"
    try:
        return MailPayload.parse(code)
    except DataMatrixError as exc:
        message = str(exc)
    if "check character" in message:
        return "check character does not match: a misread or mistyped code"
    if "not an HHP1" in message:
        return "not an HHP1 mail-integrity code"
    return f"not a valid HHP1 code: {message}"


def _expected(run: Path, bundles: Sequence[str], job: str
              ) -> tuple[dict[tuple[str, int], _Expected], dict[str, list[str]]]:
    """(bundle field, envelope) → what the run made; bundle field → the bundle files using it.
    Two envelopes with one code would make any scan ambiguous: the run is refused."""
    expected: dict[tuple[str, int], _Expected] = {}
    files: dict[str, list[str]] = defaultdict(list)
    for bundle in bundles:
        for piece in _manifest(run, bundle, job):
            key = (piece.code, piece.sequence)
            if key in expected:
                raise RunFolderError(f"{run}/bundles: envelope {piece.sequence:06d} of bundle "
                                     f"code {piece.code} is in both {expected[key].bundle}.csv "
                                     f"and {bundle}.csv: the scan cannot tell them apart")
            expected[key] = piece
            if bundle not in files[piece.code]:
                files[piece.code].append(bundle)
    return expected, files


def reconcile(run: Path, scan: Path) -> Reconciliation:
    """Compare the scan file ``scan`` (see :func:`read_scan`) with what the live run ``run``
    made (see the module docstring). The run must be a finished live run whose manifests and
    job ticket carry its DataMatrix codes; its manifests and ticket are checked against its
    SHA256SUMS first."""
    checked = live_run(run, hash_all=False)
    if checked.job_id is None:
        raise RunFolderError(f"{run}/job-ticket.txt has no 'Job id:' line: the run printed no "
                             "DataMatrix codes, so there is nothing to reconcile",
                             hint="make the run with a version of hhp-letters that prints them")
    job = checked.job_id
    scanned = read_scan(scan)
    expected, files = _expected(run, checked.bundles, job)
    hits: dict[tuple[str, int, int], list[ScanLine]] = defaultdict(list)
    unknown: dict[str, list[Unknown]] = defaultdict(list)
    other_unknown: list[Unknown] = []
    foreign: list[Foreign] = []
    unreadable: list[Unreadable] = []
    for line in scanned.lines:
        payload = _classify(line.text)
        if isinstance(payload, str):
            unreadable.append(Unreadable(line, payload))
            continue
        if payload.job != job:
            foreign.append(Foreign(line, payload.job))
            continue
        piece = expected.get((payload.bundle, payload.envelope))
        users = files.get(payload.bundle, [])
        if piece is not None and payload.pages == piece.pages:
            hits[(payload.bundle, payload.envelope, payload.page)].append(line)
        elif piece is not None:
            unknown[piece.bundle].append(Unknown(
                line, piece.bundle, f"envelope {piece.sequence:06d} of {piece.bundle} has "
                f"{piece.pages} page(s), not {payload.pages}"))
        elif len(users) == 1:
            unknown[users[0]].append(Unknown(line, users[0], f"{users[0]} has no envelope "
                                             f"{payload.envelope:06d}"))
        elif users:
            other_unknown.append(Unknown(line, None, f"bundles {', '.join(users)} (code "
                                         f"{payload.bundle}) have no envelope "
                                         f"{payload.envelope:06d}"))
        else:
            other_unknown.append(Unknown(line, None, f"the run has no bundle with code "
                                         f"{payload.bundle}"))
    by_bundle: dict[str, list[_Expected]] = defaultdict(list)
    for e in expected.values():  # in manifest order
        by_bundle[e.bundle].append(e)
    reports: list[BundleReport] = []
    for bundle in checked.bundles:
        made = by_bundle.get(bundle, [])
        pieces: list[Piece] = []
        duplicates: list[Duplicate] = []
        for e in made:
            seen = [hits.get((e.code, e.sequence, i), []) for i in range(1, e.pages + 1)]
            pieces.append(Piece(bundle, e.sequence, e.reference, e.first_page,
                                tuple(len(s) for s in seen)))
            duplicates += [Duplicate(bundle, e.sequence, i, e.pages,
                                     MailPayload(job, e.code, e.sequence, i, e.pages).text(),
                                     tuple(lines))
                           for i, lines in enumerate(seen, start=1) if len(lines) > 1]
        code = ", ".join(sorted({e.code for e in made}))
        reports.append(BundleReport(bundle, code, tuple(pieces), tuple(duplicates),
                                    tuple(unknown.get(bundle, ()))))
    return Reconciliation(run, scanned.name, job, tuple(reports), len(scanned.lines),
                          tuple(other_unknown), tuple(foreign), tuple(unreadable),
                          scanned.columns)
