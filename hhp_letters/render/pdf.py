"""A small PDF writer for many near-identical pages.

Fonts, images and the letterhead are serialised once per run into a :class:`SharedBlock`
(objects 1..K, identical bytes in every document of an authority); each letter adds only its
content stream and page object. Documents are written as they go, so a bundle of any size needs
memory for one page at a time. Output is deterministic: no clock, and /ID is a digest of the
document's bytes.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hhp_letters.render import pdfx
from hhp_letters.render.pdfx import OutputCondition, PdfxStandard

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


class Sink(Protocol):
    """Where a document is written: a file, or anything with ``write``."""

    def write(self, data: bytes, /) -> int: ...


def number(value: float) -> str:
    """A PDF number: integers plainly, others with at most 3 decimals."""
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def stream(data: bytes, extra: Mapping[str, str], *, compress: bool = True) -> bytes:
    """A stream object body (dictionary + data), Flate-compressed."""
    packed = zlib.compress(data, 6) if compress else data
    entries = "".join(f" /{k} {v}" for k, v in extra.items())
    filt = " /Filter /FlateDecode" if compress else ""
    return (f"<< /Length {len(packed)}{filt}{entries} >>\nstream\n".encode("ascii")
            + packed + b"\nendstream")


def literal(data: bytes) -> bytes:
    """Bytes as a PDF literal string, with the characters that matter escaped."""
    return (b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
            .replace(b"\r", b"\\r").replace(b"\n", b"\\n") + b")")


def text_string(text: str) -> bytes:
    """A text string for the Info dictionary: ASCII literal, else UTF-16BE with BOM."""
    if text.isascii():
        return literal(text.encode("ascii"))
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


@dataclass(frozen=True)
class SharedBlock:
    """Objects 1..count, serialised once: the same bytes open every document that uses them.
    The digests of the header and block are computed once too, and copied by each document."""

    body: bytes
    offsets: tuple[int, ...]  # of each object, relative to the start of body
    resources: int  # object number of the /Resources dictionary pages use
    header: bytes = HEADER
    _sha: Any = field(default=None, repr=False, compare=False)
    _md5: Any = field(default=None, repr=False, compare=False)

    def digests(self) -> tuple[Any, Any]:
        """Fresh SHA-256 and MD5 states that have already read HEADER + body."""
        return self._sha.copy(), self._md5.copy()

    @property
    def count(self) -> int:
        return len(self.offsets)

    @classmethod
    def build(cls, objects: Sequence[tuple[int, bytes]], resources: int,
              header: bytes = HEADER) -> SharedBlock:
        ordered = sorted(objects)
        if [n for n, _ in ordered] != list(range(1, len(ordered) + 1)):
            raise ValueError("shared objects must be numbered 1..K without gaps")
        parts: list[bytes] = []
        offsets: list[int] = []
        pos = 0
        for n, body in ordered:
            chunk = b"%d 0 obj\n%s\nendobj\n" % (n, body)
            offsets.append(pos)
            parts.append(chunk)
            pos += len(chunk)
        body = b"".join(parts)
        sha = hashlib.sha256(header)
        sha.update(body)
        md5 = hashlib.md5(header, usedforsecurity=False)
        md5.update(body)
        return cls(body, tuple(offsets), resources, header, sha, md5)


@dataclass(frozen=True)
class Pdfx:
    """The PDF/X identification every document of a run carries, prepared once per run.

    ``profile`` is the DestOutputProfile stream body (compressed once). Bundles, which go to the
    print house, always embed it; a letter's own file embeds it only when the standard requires
    it (X-4): X-1a names a registered condition, which ISO 15930-4 allows, and saves 60 KB a
    letter.
    """

    standard: PdfxStandard
    condition: OutputCondition
    profile: bytes | None

    @classmethod
    def prepare(cls, standard: PdfxStandard, condition: OutputCondition,
                icc: bytes | None) -> Pdfx:
        chosen = pdfx.profile_for_intent(standard, condition, icc)
        return cls(standard, condition,
                   None if chosen is None else pdfx.dest_output_profile(chosen))

    @property
    def header(self) -> bytes:
        return self.standard.header


@dataclass(frozen=True)
class DocInfo:
    title: str
    author: str
    subject: str
    creator: str
    keywords: str
    date: str  # PDF date, e.g. D:20261001000000Z

    def dictionary(self, extra: bytes = b"") -> bytes:
        fields = (("Title", self.title), ("Author", self.author), ("Subject", self.subject),
                  ("Creator", self.creator), ("Producer", self.creator),
                  ("Keywords", self.keywords))
        body = b" ".join(b"/%s %s" % (k.encode(), text_string(v)) for k, v in fields)
        date = literal(self.date.encode("ascii"))
        tail = b" " + extra if extra else b""
        return b"<< " + body + b" /CreationDate " + date + b" /ModDate " + date + \
            b" /Trapped /False" + tail + b" >>"

    def xmp(self, content_digest: bytes) -> pdfx.XmpFields:
        """The same strings for the XMP packet (PDF/X wants Info and XMP to agree)."""
        return pdfx.XmpFields(title=self.title, author=self.author, subject=self.subject,
                              keywords=self.keywords, creator=self.creator,
                              producer=self.creator, date=self.date,
                              document_key=f"{self.subject}\n{self.title}",
                              content_digest=content_digest)


class DocumentWriter:
    """Write one PDF to ``out`` page by page. ``finish()`` returns the SHA-256 of the file."""

    def __init__(self, out: Sink, shared: SharedBlock, media_box: tuple[float, float],
                 pdfx: Pdfx | None = None, *, embed_profile: bool = True) -> None:
        if pdfx is not None and shared.header != pdfx.header:
            raise ValueError(f"the shared objects were built for another PDF version than "
                             f"{pdfx.standard.value}")
        self._out = out
        self._shared = shared
        self._pdfx = pdfx
        self._embed = embed_profile or (pdfx is not None and pdfx.standard.requires_profile)
        self._sha, self._md5 = shared.digests()
        out.write(shared.header)
        out.write(shared.body)
        base = len(shared.header)
        self._pos = base + len(shared.body)
        self._offsets: dict[int, int] = {}
        for i, off in enumerate(shared.offsets, start=1):
            self._offsets[i] = base + off
        self._pages_number = shared.count + 1
        self._catalog_number = shared.count + 2
        self._info_number = shared.count + 3
        self._next = shared.count + 4
        self._kids: list[int] = []
        w, h = (number(media_box[0]), number(media_box[1]))
        box = f"[0 0 {w} {h}]".encode("ascii")
        self._page_prefix = (b"<< /Type /Page /Parent %d 0 R /MediaBox %s /TrimBox %s "
                             b"/Resources %d 0 R" % (self._pages_number, box, box,
                                                     shared.resources))

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._sha.update(data)
        self._md5.update(data)
        self._pos += len(data)

    def _object(self, body: bytes) -> int:
        n = self._next
        self._next += 1
        self._offsets[n] = self._pos
        self._write(b"%d 0 obj\n%s\nendobj\n" % (n, body))
        return n

    def add_page(self, content: bytes | None, extra: bytes | None = None) -> None:
        """Add a page; ``content`` is an already-encoded stream object body, or None for blank;
        ``extra`` a second stream drawn after it (the page's mail-integrity code)."""
        streams = [self._object(body) for body in (content, extra) if body is not None]
        if not streams:
            self._kids.append(self._object(self._page_prefix + b" >>"))
            return
        refs = b" ".join(b"%d 0 R" % n for n in streams)
        contents = refs if len(streams) == 1 else b"[" + refs + b"]"
        self._kids.append(self._object(self._page_prefix + b" /Contents " + contents + b" >>"))

    @property
    def page_count(self) -> int:
        return len(self._kids)

    def _identification(self, info: DocInfo) -> tuple[bytes, bytes]:
        """Write the OutputIntent (and profile) and XMP; return catalog and Info entries."""
        x = self._pdfx
        if x is None:
            return b"", b""
        profile = None
        if x.profile is not None and self._embed:
            profile = self._object(x.profile)
        intent = self._object(pdfx.output_intent(x.condition, profile))
        # the XMP's InstanceID: a digest of every page written so far
        metadata = self._object(pdfx.metadata_stream(x.standard,
                                                     info.xmp(self._sha.copy().digest())))
        return (b" " + pdfx.catalog_entries(intent, metadata), pdfx.info_entries(x.standard))

    def finish(self, info: DocInfo) -> str:
        catalog, extra = self._identification(info)
        kids = b" ".join(b"%d 0 R" % k for k in self._kids)
        for n, body in ((self._pages_number,
                         b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self._kids))),
                        (self._catalog_number,
                         b"<< /Type /Catalog /Pages %d 0 R%s >>" % (self._pages_number,
                                                                   catalog)),
                        (self._info_number, info.dictionary(extra))):
            self._offsets[n] = self._pos
            self._write(b"%d 0 obj\n%s\nendobj\n" % (n, body))
        xref_at = self._pos
        size = self._next
        rows = [b"0000000000 65535 f \n"]
        rows += [b"%010d 00000 n \n" % self._offsets[n] for n in range(1, size)]
        doc_id = self._md5.hexdigest().upper().encode("ascii")
        self._write(b"xref\n0 %d\n" % size + b"".join(rows))
        self._write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\n"
                    b"startxref\n%d\n%%%%EOF\n" % (size, self._catalog_number, self._info_number,
                                                  doc_id, doc_id, xref_at))
        return str(self._sha.hexdigest())
