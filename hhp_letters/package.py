"""The print-shop package: one zip with exactly what the print house needs, and nothing else.

What goes in (every name sorted, paths as in the run folder)::

    bundles/<AUTHORITY>-<n>.pdf   the print files, unchanged
    bundles/<AUTHORITY>-<n>.csv   their manifests, unchanged
    job-ticket.txt                the job ticket, unchanged
    job-ticket.pdf                the same ticket as a one-page A4 PDF (Carlito embedded, K100)
    SHA256SUMS                    the package's own files (``sha256sum -c`` format)

Never the audit, the summaries, the per-person letters, problems or anything else the run folder
holds: the package is built from an allow-list, not by leaving things out. A manifest with a
column the print house must not see (an arm, a participant id) is refused, not filtered.

Only a finished live run is packaged, and only after every file its SHA256SUMS lists has been
hashed again: a tampered or half-copied run folder is refused and the file named. The packed
files are hashed once more as they are copied, so what is in the zip is what was checked.

Unencrypted packages are byte-for-byte deterministic (fixed timestamps and permissions, sorted
names). With a passphrase the zip is AES-256 (WinZip AE-x, which 7-Zip, WinZip and macOS
Archive Utility ≥ 12 open); its file *names* stay visible, as in every zip, so they carry
nothing personal. The passphrase goes into pyzipper and nowhere else: no file, log line,
result or exception text holds it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import stat
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyzipper
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from hhp_letters import __version__
from hhp_letters.atomic import atomic_open
from hhp_letters.audit import AUDIT_FILE, Clock, utc_now
from hhp_letters.errors import EnvironmentProblem, RenderError, RunFolderError, UsageError
from hhp_letters.ledger import Entry, append, lock
from hhp_letters.render.pdf import DocInfo, DocumentWriter, SharedBlock, stream
from hhp_letters.render.text import Fonts, TextEncoder
from hhp_letters.resources import resource_dir

log = logging.getLogger(__name__)

SUMS = "SHA256SUMS"
TICKET = "job-ticket.txt"
TICKET_PDF = "job-ticket.pdf"
# What a manifest may tell the print house: positions, postage order, its own reference and
# the DataMatrix text. Anything else (an arm, a name, a study id) stops the package.
PRINT_SHOP_COLUMNS = frozenset({"sequence", "first_page", "pages", "sheets", "sort_key",
                                "postcode", "reference", "code"})
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no clock is read
_FILE_MODE = 0o644 << 16
_UNIX = 3  # "made by" Unix, whatever the machine, so the bytes do not depend on it
_CHUNK = 1 << 20
_BUNDLE = re.compile(r"bundles/([^/]+)\.pdf")
_JOB_ID = re.compile(r"^Job id:[ \t]+([0-9A-Z]{8})[ \t]*$", re.MULTILINE)
_TICKET_BUNDLE = re.compile(r"^\s+(\S+)\.pdf\s.*?\b([0-9a-f]{64})\s*$", re.MULTILINE)
_SHOWN_MAX = 5  # files named in one error message; the rest are counted


@dataclass(frozen=True)
class LiveRun:
    """A finished live run folder, checked: what its SHA256SUMS lists, its bundles, its job."""

    root: Path
    sums: tuple[tuple[str, str], ...]  # (relative path, sha256) as SHA256SUMS lists them
    bundles: tuple[str, ...]  # bundle names, e.g. "BF-1", sorted
    ticket: str  # job-ticket.txt as text
    job_id: str | None  # from the job ticket's "Job id:" line (runs with DataMatrix codes)


@dataclass(frozen=True)
class PackedFile:
    name: str  # path inside the zip
    sha256: str
    bytes: int


@dataclass(frozen=True)
class PackageResult:
    """What was written; the campaign ledger records it."""

    path: Path
    sha256: str  # of the zip file
    bytes: int  # size of the zip file
    files: tuple[PackedFile, ...]  # in zip order: sorted by name
    encrypted: bool
    job_id: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files)


# --- Checking the run folder -------------------------------------------------------------

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _safe_rel(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and "\\" not in rel and all(
        p not in ("", ".", "..") for p in parts)


def _read_sums(run: Path) -> tuple[tuple[str, str], ...]:
    path = run / SUMS
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RunFolderError(f"{run}: cannot read {SUMS}: {exc.strerror}") from exc
    out: list[tuple[str, str]] = []
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        digest, sep, rel = line.partition("  ")
        if not sep:  # sha256sum's binary marker
            digest, sep, rel = line.partition(" *")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest) or not _safe_rel(rel):
            raise RunFolderError(f"{run / SUMS} line {number} is not '<sha256>  <path inside "
                                 "the run>'", hint="copy the run folder again from where it "
                                 "was made; never edit SHA256SUMS")
        out.append((rel, digest))
    return tuple(out)


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN_MAX])
    more = len(items) - _SHOWN_MAX
    return shown + (f" and {more} more" if more > 0 else "")


def live_run(run: Path, *, hash_all: bool = True) -> LiveRun:
    """Check that ``run`` is a finished live run and return what it holds.

    ``hash_all``: hash every file SHA256SUMS lists (the package needs this); otherwise only the
    job ticket and the manifests (enough for reconciling a scan). Raises
    :class:`~hhp_letters.errors.RunFolderError` saying what is wrong and how to fix it.
    """
    if not run.is_dir():
        raise RunFolderError(f"{run} is not a folder", hint="give the folder a `letters` or "
                             "`notes` run wrote (the one holding SHA256SUMS)")
    if (run / "proof").exists():
        raise RunFolderError(f"{run} is a proof run (it has a proof/ folder): proofs are for "
                             "sign-off, never for printing",
                             hint="make the live run without --proof and package that")
    if not (run / SUMS).is_file():
        raise RunFolderError(f"{run} is not a finished run: it has no {SUMS}",
                             hint="give the run folder itself; if the run was interrupted, "
                             "make it again")
    sums = _read_sums(run)
    listed = {rel for rel, _ in sums}
    if TICKET not in listed:
        raise RunFolderError(f"{run} has no {TICKET}: it is not a live run (proof runs have "
                             "no job ticket)", hint="make the live run without --proof")
    bundles = sorted(m.group(1) for rel in listed if (m := _BUNDLE.fullmatch(rel)))
    if not bundles:
        raise RunFolderError(f"{run} has no bundles: nothing to print",
                             hint="check the run's summary.md: every letter was withheld?")
    no_manifest = [f"bundles/{b}.csv" for b in bundles if f"bundles/{b}.csv" not in listed]
    if no_manifest:
        raise RunFolderError(f"{run}: {_names(no_manifest)} missing from {SUMS}: every bundle "
                             "needs its manifest", hint="copy the run folder again")
    folder = run / "bundles"
    stray = sorted(f"bundles/{p.name}" for p in folder.iterdir()
                   if f"bundles/{p.name}" not in listed) if folder.is_dir() else []
    if stray:
        raise RunFolderError(f"{run}: {_names(stray)} in bundles/ but not in {SUMS}: the "
                             "folder holds files the run did not make",
                             hint="remove them, or copy the run folder again from where it "
                             "was made")
    wanted = {TICKET, *(f"bundles/{b}.{ext}" for b in bundles for ext in ("pdf", "csv"))}
    _check_hashes(run, [(rel, sha) for rel, sha in sums if hash_all or rel in wanted])
    try:
        ticket = (run / TICKET).read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise RunFolderError(f"{run / TICKET} is not UTF-8 text") from exc
    _check_ticket(run, ticket, bundles, dict(sums))
    for b in bundles:
        _check_manifest_columns(run / "bundles" / f"{b}.csv")
    job = _JOB_ID.search(ticket)
    return LiveRun(run, sums, tuple(bundles), ticket, job.group(1) if job else None)


def _check_hashes(run: Path, sums: Sequence[tuple[str, str]]) -> None:
    missing: list[str] = []
    changed: list[str] = []
    for rel, sha in sums:
        path = run / rel
        if path.is_symlink():
            changed.append(f"{rel} (a symbolic link)")
        elif not path.is_file():
            missing.append(rel)
        elif _sha256(path) != sha:
            changed.append(rel)
    if missing:
        raise RunFolderError(f"{run} is incomplete: {_names(missing)} listed in {SUMS} but "
                             "missing (a half-copied run folder?)",
                             hint="copy the whole run folder again from where it was made")
    if changed:
        raise RunFolderError(f"{run}: {_names(changed)} differs from {SUMS}: the file changed "
                             "after the run", hint="copy the run folder again from where it "
                             "was made, or make the run again; never edit a run folder")


def _check_ticket(run: Path, ticket: str, bundles: Sequence[str], sums: dict[str, str]
                  ) -> None:
    """The ticket lists the bundles the print house is to print: the same ones, same bytes."""
    listed = {m.group(1): m.group(2) for m in _TICKET_BUNDLE.finditer(ticket)}
    if not listed:
        return  # a ticket without a bundle table says nothing to compare
    odd = sorted(set(listed) ^ set(bundles))
    odd += sorted(b for b in bundles if b in listed and listed[b] != sums[f"bundles/{b}.pdf"])
    if odd:
        raise RunFolderError(f"{run / TICKET} does not match bundles/: {_names(odd)}",
                             hint="copy the run folder again from where it was made")


def _check_manifest_columns(path: Path) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), [])
    extra = sorted(set(header) - PRINT_SHOP_COLUMNS)
    if extra:
        raise RunFolderError(f"{path} has column(s) {', '.join(map(repr, extra))} the print "
                             "house must not get", hint="make the run again with this version "
                             "of hhp-letters; manifests hold positions and postage order only")


# --- The job ticket as a PDF -------------------------------------------------------------

MM = 72 / 25.4
A4 = (595.276, 841.89)
_MARGIN = 20 * MM
_SIZE = 10.0  # body text; the whole ticket is set smaller (down to _MIN_SIZE) to fit a page
_MIN_SIZE = 6.0
_GAP = 4 * MM  # between table columns
_LABELLED = re.compile(r"(\S[^:]{0,24}:)\s+(\S.*)")


@dataclass(frozen=True)
class _Line:
    """One drawn line: (text, style, size, x) pieces on a baseline ``lead`` below the last."""

    lead: float
    pieces: tuple[tuple[str, str, float, float], ...]


def _wrap(fonts: Fonts, text: str, style: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if current and fonts.width(trial, style, size) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return [*lines, current] if current else lines


def _ticket_lines(fonts: Fonts, ticket: str, text_sha: str, size: float) -> list[_Line]:
    """The ticket's lines at body size ``size``: a bold title, "Label:  value" lines as two
    columns (the text file aligns them with spaces, which a proportional font would not),
    indented rows as a table, everything else wrapped."""
    width = A4[0] - 2 * _MARGIN
    label_w = 3.8 * MM * size  # "Sheets/envelope:" in bold, with room to spare
    title_size = 1.5 * size
    lead = size * 1.35
    rows = ticket.splitlines()
    out: list[_Line] = []
    title = rows[0].strip() if rows else "JOB TICKET"
    for n, part in enumerate(_wrap(fonts, title, "bold", title_size, width)):
        out.append(_Line(title_size * (1.0 if n == 0 else 1.25),
                         ((part, "bold", title_size, _MARGIN),)))
    i = 1
    while i < len(rows):
        row = rows[i]
        if not row.strip():
            out.append(_Line(lead * 0.6, ()))
            i += 1
            continue
        if row.startswith((" ", "\t")):  # a table: consecutive indented rows
            table: list[list[str]] = []
            while i < len(rows) and rows[i].startswith((" ", "\t")) and rows[i].strip():
                table.append(re.split(r"\s{2,}", rows[i].strip()))
                i += 1
            out += _table(fonts, table, width, size)
            continue
        labelled = _LABELLED.fullmatch(row.strip())
        if labelled:
            label, value = labelled.groups()
            parts = _wrap(fonts, value, "regular", size, width - label_w)
            for n, part in enumerate(parts):
                pieces = ((label, "bold", size, _MARGIN),) if n == 0 else ()
                out.append(_Line(lead, (*pieces, (part, "regular", size, _MARGIN + label_w))))
        else:
            style = "bold" if row.rstrip().endswith(":") else "regular"
            out += [_Line(lead, ((part, style, size, _MARGIN),))
                    for part in _wrap(fonts, row, style, size, width)]
        i += 1
    note = (f"This is {TICKET} as a PDF; the text file is the reference "
            f"(SHA-256 {text_sha}). Made by hhp-letters {__version__}.")
    small = 0.8 * size
    out.append(_Line(lead, ()))
    out += [_Line(small * 1.3, ((part, "italic", small, _MARGIN),))
            for part in _wrap(fonts, note, "italic", small, width)]
    return out


def _table(fonts: Fonts, table: list[list[str]], width: float, size: float) -> list[_Line]:
    """Columns as wide as their widest cell, the font shrunk until the table fits."""
    columns = max(len(r) for r in table)
    while True:
        widths = [max((fonts.width(r[c], "regular", size) for r in table if c < len(r)),
                      default=0.0) for c in range(columns)]
        if sum(widths) + _GAP * (columns - 1) <= width or size <= _MIN_SIZE:
            break
        size -= 0.5
    xs = [_MARGIN + sum(widths[:c]) + _GAP * c for c in range(columns)]
    return [_Line(size * 1.35, tuple((cell, "regular", size, xs[c])
                                     for c, cell in enumerate(r))) for r in table]


def ticket_pdf(ticket: str, *, title: str = "Job ticket", date: str = "D:20000101000000Z",
               fonts: Fonts | None = None) -> bytes:
    """The job ticket as an A4 PDF: Carlito (Noto Sans for what Carlito lacks) embedded as
    subsets with ToUnicode, text in K100 only, deterministic. One page: a long ticket is set
    smaller, down to 6 pt; only beyond that does it continue on a second page."""
    fonts = fonts or Fonts.load(resource_dir("templates") / "fonts")
    for style in ("regular", "bold"):
        missing = fonts.unprintable(ticket, style)
        if missing:
            raise RenderError(f"the job ticket holds {', '.join(map(repr, missing))}, which no "
                              "shipped font draws", hint="use plain characters in the "
                              "campaign name")
    text_sha = hashlib.sha256(ticket.encode("utf-8")).hexdigest()
    room = A4[1] - 2 * _MARGIN
    size = _SIZE
    lines = _ticket_lines(fonts, ticket, text_sha, size)
    while sum(line.lead for line in lines) > room and size > _MIN_SIZE:
        size -= 0.5
        lines = _ticket_lines(fonts, ticket, text_sha, size)
    encoder = TextEncoder(fonts)
    pages: list[list[bytes]] = [[]]
    y = A4[1] - _MARGIN
    for line in lines:
        y -= line.lead
        if y < _MARGIN:
            pages.append([])
            y = A4[1] - _MARGIN - line.lead
        for text, style, pt, x in line.pieces:
            pages[-1].append(encoder.show(text, style, pt, x, y))
    font_objects, names = encoder.pdf_objects(2)  # 1 is the resources dictionary
    refs = " ".join(f"/{name} {num} 0 R" for name, num in names.items())
    resources = f"<< /ProcSet [/PDF /Text] /Font << {refs} >> >>".encode("ascii")
    shared = SharedBlock.build([(1, resources), *font_objects], resources=1)
    buf = io.BytesIO()
    doc = DocumentWriter(buf, shared, A4)
    for ops in pages:
        # K100 text: the fill colour is set once per page, in DeviceCMYK
        doc.add_page(stream(b"0 0 0 1 k\nBT\n" + b"".join(ops) + b"ET\n", {}))
    doc.finish(DocInfo(title=title, author="hhp-letters", subject="Job ticket",
                       creator=f"hhp-letters {__version__}", keywords="job ticket",
                       date=date))
    return buf.getvalue()


def _bundle_date(path: Path) -> str:
    """The first bundle's CreationDate (the campaign date): the ticket PDF matches the run and
    stays deterministic. A bundle that does not say gives a fixed date."""
    try:
        info: Any = PdfReader(path).metadata
        value = info.get("/CreationDate") if info is not None else None
    except (PyPdfError, OSError, ValueError):
        value = None
    return value if isinstance(value, str) and re.fullmatch(r"D:\d{8,14}Z?", value) else (
        "D:20000101000000Z")


# --- Writing the zip ---------------------------------------------------------------------

def _info(cls: type[zipfile.ZipInfo], name: str, size: int) -> zipfile.ZipInfo:
    info = cls(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = _FILE_MODE
    info.create_system = _UNIX
    info.file_size = size  # known in advance, so zip64 is chosen only when needed
    return info


@dataclass(frozen=True)
class _Source:
    """One member: copied from the run folder (and hashed again as it is), or made here."""

    name: str
    path: Path | None
    data: bytes
    sha256: str  # what it must hash to
    size: int

    @classmethod
    def made(cls, name: str, data: bytes) -> _Source:
        return cls(name, None, data, hashlib.sha256(data).hexdigest(), len(data))

    def chunks(self) -> Iterator[bytes]:
        if self.path is None:
            yield self.data
            return
        with self.path.open("rb") as src:
            yield from iter(lambda: src.read(_CHUNK), b"")


def _open_zip(fh: IO[bytes], passphrase: str | None) -> tuple[Any, type[zipfile.ZipInfo]]:
    """The archive and the ZipInfo class it takes (pyzipper brings its own for AES)."""
    if passphrase is None:
        return zipfile.ZipFile(fh, "w", allowZip64=True), zipfile.ZipInfo
    archive = pyzipper.AESZipFile(fh, "w", compression=pyzipper.ZIP_DEFLATED,
                                  encryption=pyzipper.WZ_AES, encryption_kwargs={"nbits": 256})
    archive.setpassword(passphrase.encode("utf-8"))
    return archive, archive.zipinfo_cls


def _write_zip(fh: IO[bytes], sources: Sequence[_Source], passphrase: str | None) -> None:
    archive, info_cls = _open_zip(fh, passphrase)
    with archive:
        for source in sources:
            digest = hashlib.sha256()
            with archive.open(_info(info_cls, source.name, source.size), "w") as dst:
                for chunk in source.chunks():
                    dst.write(chunk)
                    digest.update(chunk)
            if digest.hexdigest() != source.sha256:
                raise RunFolderError(f"{source.path}: changed while it was being packaged",
                                     hint="wait until nothing is writing to the run folder, "
                                     "then package it again")


def _check_out(run: Path, out: Path) -> None:
    if out.suffix.lower() != ".zip":
        raise UsageError(f"{out}: the package is a zip file; its name must end in .zip")
    if out.is_dir():
        raise UsageError(f"{out} is a folder", hint="give a file name ending in .zip")
    try:
        inside = out.resolve().is_relative_to(run.resolve())
    except OSError:
        inside = False
    if inside:
        raise UsageError(f"{out} is inside the run folder {run}",
                         hint="write the package elsewhere: a run folder holds only its own "
                         "files, and anything added makes `verify` fail")


def package_run(run: Path, out: Path, *, passphrase: str | None = None) -> PackageResult:
    """Check ``run`` (a finished live run) and write the print-shop package to ``out`` (a .zip,
    written atomically; an existing file is replaced). ``passphrase``: AES-256 encrypt it."""
    _check_out(run, out)
    if passphrase is not None and not passphrase.strip():
        raise UsageError("the passphrase is empty", hint="give a passphrase, or none for an "
                         "unencrypted package")
    checked = live_run(run, hash_all=True)
    sources = [_Source(rel, run / rel, b"", sha, (run / rel).stat().st_size)
               for rel, sha in checked.sums
               if rel == TICKET or any(rel == f"bundles/{b}.{ext}" for b in checked.bundles
                                       for ext in ("pdf", "csv"))]
    title = f"Job ticket {checked.job_id}" if checked.job_id else "Job ticket"
    date = _bundle_date(run / "bundles" / f"{checked.bundles[0]}.pdf")
    sources.append(_Source.made(TICKET_PDF, ticket_pdf(checked.ticket, title=title,
                                                       date=date)))
    sources.sort(key=lambda s: s.name)
    sums = "".join(f"{s.sha256}  {s.name}\n" for s in sources).encode("ascii")
    sources = sorted([*sources, _Source.made(SUMS, sums)], key=lambda s: s.name)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(out) as fh:
            _write_zip(fh, sources, passphrase)
        digest = _sha256(out)
        size = out.stat().st_size
    except OSError as exc:
        # the message names the file and the OS's reason; never the passphrase
        where = exc.filename or out
        raise EnvironmentProblem(f"cannot write {out}: {where}: "
                                 f"{exc.strerror or type(exc).__name__}",
                                 hint="check the disk has room and the folder is writable"
                                 ) from exc
    return PackageResult(out, digest, size,
                         tuple(PackedFile(s.name, s.sha256, s.size) for s in sources),
                         passphrase is not None, checked.job_id)


# --- The passphrase file -----------------------------------------------------------------

def passphrase_file_advice(path: Path) -> str | None:
    """Advice when other users could read the passphrase file (POSIX permissions), else None."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return (f"{path} can be read by other users (mode {stat.filemode(mode)}): "
                f"run `chmod 600 {path}`")
    return None


def read_passphrase_file(path: Path) -> str:
    """The passphrase on the first line of ``path``, stripped of surrounding white space.

    Refuses an unreadable file or an empty first line (:class:`UsageError`); logs a warning
    when other users can read the file. Errors name the file, never its content."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the passphrase file {path}: "
                         f"{exc.strerror or type(exc).__name__}",
                         hint="give a readable file whose first line is the passphrase"
                         ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"the passphrase file {path} is not UTF-8 text",
                         hint="save it as UTF-8 (plain text)") from None
    lines = text.splitlines()
    passphrase = lines[0].strip() if lines else ""
    if not passphrase:
        raise UsageError(f"the passphrase file {path} is empty (its first line holds no "
                         "passphrase)", hint="put the passphrase on the first line")
    advice = passphrase_file_advice(path)
    if advice is not None:
        log.warning(advice)
    return passphrase


def record_package(run: Path, result: PackageResult, *, clock: Clock = utc_now
                   ) -> Entry | None:
    """Record the package in the ledger of the campaign that made ``run`` (named in the run's
    audit); None when that campaign folder is not on this machine (the run was copied)."""
    with (run / AUDIT_FILE).open(encoding="utf-8") as fh:
        first = json.loads(fh.readline() or "{}")
    toml = Path(str(first.get("campaign") or ""))
    if not toml.name or not toml.is_file():
        return None
    root = toml.parent
    head = (run / "audit.head").read_text(encoding="utf-8").strip()
    fields = {"run_folder": str(run.resolve()), "run_audit_head": head,
              "package": result.path.name, "sha256": result.sha256, "bytes": result.bytes,
              "encrypted": result.encrypted, "files": list(result.names)}
    with lock(root):
        return append(root, "package", fields, clock=clock)
