"""Read delimited text (.csv, .tsv, .txt) as Excel and other tools export it."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hhp_letters.problems import Origin, Problem, error
from hhp_letters.sources.raw import MergedRange, RawRow, RawSheet

_SNIFF_BYTES = 64 * 1024
_CHUNK = 1 << 20
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class _Utf8Scan:
    """What decoding the whole file as UTF-8 found."""

    invalid_at: tuple[int, ...]  # byte offsets of the first few invalid sequences
    multibyte: bool  # any valid non-ASCII UTF-8 sequence


def _scan_utf8(path: Path, limit: int = 20) -> _Utf8Scan:
    """Decode the whole file as UTF-8 in chunks (never all of it in memory), noting where it
    fails and whether any valid non-ASCII text was seen."""
    bad: list[int] = []
    multibyte = False
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with path.open("rb") as fh:
        pending = b""
        while True:
            chunk = fh.read(_CHUNK)
            final = not chunk
            data = pending + chunk
            base = offset - len(pending)
            pending = b""
            pos = 0
            while pos < len(data):
                try:
                    text = decoder.decode(data[pos:], final=final)
                    multibyte = multibyte or not text.isascii()
                    break
                except UnicodeDecodeError as exc:
                    decoded = data[pos:pos + exc.start].decode("utf-8", "ignore")
                    multibyte = multibyte or not decoded.isascii()
                    if len(bad) < limit:
                        bad.append(base + pos + exc.start)
                    pos += exc.end
                    decoder.reset()
            if final:
                break
            offset += len(chunk)
    return _Utf8Scan(tuple(bad), multibyte)


def _valid(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _line_of(path: Path, offsets: tuple[int, ...]) -> list[int]:
    """1-based physical line numbers of byte offsets."""
    lines: list[int] = []
    wanted = sorted(offsets)
    line, seen, i = 1, 0, 0
    with path.open("rb") as fh:
        while i < len(wanted) and (chunk := fh.read(_CHUNK)):
            while i < len(wanted) and wanted[i] < seen + len(chunk):
                lines.append(line + chunk.count(b"\n", 0, wanted[i] - seen))
                i += 1
            line += chunk.count(b"\n")
            seen += len(chunk)
    return lines


def detect_encoding(path: Path, shown: str) -> str | Problem:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or the Windows-1252 that Excel's plain
    "CSV" export writes; decided from the whole file. A UTF-8 file with a few bytes in another
    encoding (two exports pasted together) is refused naming the rows, never re-decoded."""
    origin = Origin(shown)
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip() and path.stat().st_size <= _SNIFF_BYTES:
        return error("empty_file", origin, "the file is empty",
                     "export the list again; the file on disk has no rows")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if _valid(path, "utf-16"):
            return "utf-16"
        return error("bad_encoding", origin, "the file starts as UTF-16 text but is damaged",
                     "save the list from Excel as 'CSV UTF-8 (Comma delimited)'")
    if head.startswith(b"PK\x03\x04"):
        return error("not_text", origin, "the file is an Excel workbook, not CSV text",
                     "rename it to .xlsx, or save it from Excel as 'CSV UTF-8'")
    if b"\x00" in head:
        return error("not_text", origin, "the file is binary, not CSV text",
                     "save the list from Excel as 'CSV UTF-8 (Comma delimited)'")
    scan = _scan_utf8(path)
    if not scan.invalid_at:
        return "utf-8-sig"
    if scan.multibyte or head.startswith(codecs.BOM_UTF8):
        lines = sorted(set(_line_of(path, scan.invalid_at)))
        shown_lines = ", ".join(str(n) for n in lines[:10]) + (" …" if len(lines) > 10 else "")
        return error("mixed_encoding", origin.at(row=lines[0]),
                     f"the file is UTF-8 text, but line(s) {shown_lines} hold bytes in another "
                     "encoding (e.g. rows pasted in from a Windows-1252 export); names there "
                     "would print wrongly", "open the file in Excel, retype or re-paste those "
                     "rows, and save it as 'CSV UTF-8 (Comma delimited)'")
    if _valid(path, "cp1252"):
        mac = _looks_mac_roman(path)
        if mac is not None:
            line, word = mac
            return error("bad_encoding", origin.at(row=line),
                         "the text looks like a Mac 'Comma Separated Values' export (Mac Roman "
                         "encoding): read as Windows text, its accented letters would print as "
                         "symbols", "save the list from Excel as 'CSV UTF-8 (Comma delimited)'",
                         detail=f"e.g. {word!r} on line {line}")
        return "cp1252"
    first = scan.invalid_at[0]
    with path.open("rb") as fh:
        fh.seek(first)
        byte = fh.read(1)[0]
    return error("bad_encoding", origin,
                 f"the text is neither UTF-8 nor Windows-1252 (byte {byte:#04x} at offset "
                 f"{first})", "save the list from Excel as 'CSV UTF-8 (Comma delimited)'")


# Windows-1252 punctuation that a Mac Roman accented letter turns into when misread: never
# beside a letter in real text (a dagger inside a name), or ‘ straight after a letter ("Zo‘").
_SYMBOLS = frozenset("†‡ˆ‰‹›•˜™ƒ‚„")


def _looks_mac_roman(path: Path) -> tuple[int, str] | None:
    """(line, word) of the first place where Windows-1252 reading gives a symbol inside a
    word that Mac Roman reads as a letter; None when the text reads as ordinary Windows-1252."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh.read().splitlines(), start=1):
            if raw.isascii():
                continue
            text = raw.decode("cp1252")
            for i, char in enumerate(text):
                before = text[i - 1].isalpha() if i else False
                after = text[i + 1].isalpha() if i + 1 < len(text) else False
                odd = (char in _SYMBOLS and (before or after)) or (char == "\u2018" and before) \
                    or (char in "\u201c\u201d" and before and after)
                if odd and char.encode("cp1252").decode("mac_roman").isalpha():
                    start = max(text.rfind(" ", 0, i), text.rfind(",", 0, i)) + 1
                    end = min((j for j in (text.find(" ", i), text.find(",", i)) if j >= 0),
                              default=len(text))
                    return number, text[start:end]
    return None


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


_UNCLOSED = ("a quote (\") opened on row {row} is never closed, so the rows after it would be "
             "read as one cell")
_UNCLOSED_FIX = ("open the file in a text editor, find the stray quote on that row and remove "
                 "it (or double it as \"\" inside a quoted value), then save")


def _swallowed(values: list[str], delimiter: str, width: int) -> bool:
    """A quoted field that holds what looks like further rows: an unclosed quote."""
    if width < 3:
        return False
    for value in values:
        if "\n" in value:
            for line in value.split("\n")[1:]:
                if line.count(delimiter) >= width - 2:
                    return True
    return False


def read_delimited(path: Path, shown: str) -> RawSheet | Problem:
    encoding = detect_encoding(path, shown)
    if isinstance(encoding, Problem):
        return encoding
    with path.open(encoding=encoding, newline="") as fh:
        delimiter = _delimiter(fh.read(_SNIFF_BYTES))

    def items() -> Iterator[RawRow | MergedRange | Problem]:
        with path.open(encoding=encoding, newline="") as fh:
            # Excel's dialect; skipinitialspace also reads hand-written a, "b, c" as two values;
            # strict, so a quote never closed before the end of the file is an error.
            reader = csv.reader(fh, csv.excel, delimiter=delimiter, skipinitialspace=True,
                                strict=True)
            width = 0
            # Row numbers as Excel shows the file: the n-th record is row n (a quoted cell
            # with line breaks is one row).
            number = 0
            while True:
                number += 1
                try:  # the boundary: csv's errors mean a malformed file
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    if "end of data" in str(exc):  # a quote opened and never closed
                        yield error("csv_malformed", Origin(shown, row=number), _UNCLOSED.format(
                            row=number), _UNCLOSED_FIX)
                    else:
                        yield error("csv_malformed", Origin(shown, row=number),
                                    f"the file is not valid CSV at row {number} ({exc})",
                                    "open it in Excel and save it again as CSV UTF-8")
                    return
                if any(v.strip() for v in values):
                    width = max(width, len(values))
                if _swallowed(values, delimiter, width):
                    yield error("csv_malformed", Origin(shown, row=number),
                                _UNCLOSED.format(row=number), _UNCLOSED_FIX)
                    return
                yield RawRow(number, values)

    return RawSheet(shown, None, items)
