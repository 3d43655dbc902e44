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


def decode(data: bytes, shown: str) -> tuple[str, str] | Problem:
    """Bytes → (text, encoding name). UTF-8 (with or without BOM), UTF-16 with BOM, or the
    Windows-1252 that Excel's plain "CSV" export writes."""
    origin = Origin(shown)
    if not data.strip():
        return error("empty_file", origin, "the file is empty",
                     "export the list again; the file on disk has no rows")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if data.startswith(b"PK\x03\x04"):
        return error("not_text", origin, "the file is an Excel workbook, not CSV text",
                     "rename it to .xlsx, or save it from Excel as 'CSV UTF-8'")
    if b"\x00" in data[:_SNIFF_BYTES]:
        return error("not_text", origin, "the file is binary, not CSV text",
                     "save the list from Excel as 'CSV UTF-8 (Comma delimited)'")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError as exc:
        return error("bad_encoding", origin,
                     "the text is neither UTF-8 nor Windows-1252 "
                     f"(byte {exc.object[exc.start]:#04x} at offset {exc.start})",
                     "save the list from Excel as 'CSV UTF-8 (Comma delimited)'")


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
    decoded = decode(path.read_bytes(), shown)
    if isinstance(decoded, Problem):
        return decoded
    text, _ = decoded
    delimiter = _delimiter(text[:_SNIFF_BYTES])

    def rows() -> Iterator[tuple[int, list[str]]]:
        # Excel's dialect; skipinitialspace also reads hand-written a, "b, c" as two values.
        reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter,
                            skipinitialspace=True)
        # Spreadsheet row numbers: the n-th record is row n, as Excel shows the file.
        yield from enumerate(reader, start=1)

    return RawSheet(shown, None, rows)
