"""Read delimited text (.csv, .tsv, .txt) as Excel and other tools export it."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from hhp_letters.problems import Origin, Problem, error
from hhp_letters.sources.raw import RawSheet

_SNIFF_BYTES = 64 * 1024


def _valid(path: Path, encoding: str) -> UnicodeDecodeError | None:
    """Decode the whole file in chunks (never all of it in memory); the first error, if any."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return UnicodeDecodeError(exc.encoding, exc.object, offset + exc.start,
                                          offset + exc.end, exc.reason)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return exc
    return None


def detect_encoding(path: Path, shown: str) -> str | Problem:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or the Windows-1252 that Excel's plain
    "CSV" export writes; anything else is a problem."""
    origin = Origin(shown)
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip() and path.stat().st_size <= _SNIFF_BYTES:
        return error("empty_file", origin, "the file is empty",
                     "export the list again; the file on disk has no rows")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and \
            _valid(path, "utf-16") is None:
        return "utf-16"
    if head.startswith(b"PK\x03\x04"):
        return error("not_text", origin, "the file is an Excel workbook, not CSV text",
                     "rename it to .xlsx, or save it from Excel as 'CSV UTF-8'")
    if b"\x00" in head:
        return error("not_text", origin, "the file is binary, not CSV text",
                     "save the list from Excel as 'CSV UTF-8 (Comma delimited)'")
    if _valid(path, "utf-8-sig") is None:
        return "utf-8-sig"
    failure = _valid(path, "cp1252")
    if failure is None:
        return "cp1252"
    return error("bad_encoding", origin,
                 "the text is neither UTF-8 nor Windows-1252 "
                 f"(byte {_byte_at(path, failure.start):#04x} at offset {failure.start})",
                 "save the list from Excel as 'CSV UTF-8 (Comma delimited)'")


def _byte_at(path: Path, offset: int) -> int:
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read(1)[0]


_DELIMITERS = (",", ";", "\t", "|")


def _delimiter(sample: str) -> str:
    """The delimiter that splits the sample's rows most consistently into several columns.

    Each candidate parses the sample the way Excel quotes (with ", doubling quotes inside), and
    scores by how many rows share the most common number of fields, then by that number. The
    standard library's Sniffer is not used: it guesses quoting from patterns in the text, so an
    apostrophe or a doubled quote in an address makes it pick the wrong delimiter or quote char,
    and the values come back silently changed.
    """
    best: tuple[int, int, str] = (0, 0, ",")
    for delimiter in _DELIMITERS:
        try:
            widths = Counter(len(row) for row in csv.reader(
                io.StringIO(sample, newline=""), csv.excel, delimiter=delimiter)
                if any(cell.strip() for cell in row))
        except csv.Error:
            continue
        if not widths:
            continue
        width, rows = widths.most_common(1)[0]
        if width > 1 and (rows, width) > best[:2]:
            best = (rows, width, delimiter)
    return best[2]


def read_delimited(path: Path, shown: str) -> RawSheet | Problem:
    encoding = detect_encoding(path, shown)
    if isinstance(encoding, Problem):
        return encoding
    with path.open(encoding=encoding, newline="") as fh:
        delimiter = _delimiter(fh.read(_SNIFF_BYTES))

    def rows() -> Iterator[tuple[int, list[str]]]:
        with path.open(encoding=encoding, newline="") as fh:
            # Excel's dialect; skipinitialspace also reads hand-written a, "b, c" as two values.
            reader = csv.reader(fh, csv.excel, delimiter=delimiter, skipinitialspace=True)
            # Spreadsheet row numbers: the n-th record is row n, as Excel shows the file.
            yield from enumerate(reader, start=1)

    return RawSheet(shown, None, rows)
