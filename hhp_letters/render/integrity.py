"""The mail-integrity code on every page: an ECC200 DataMatrix of the job, bundle, envelope
sequence and page i of n (:class:`~hhp_letters.render.datamatrix.MailPayload`), nothing
personal. An inserter's camera reads it to check every envelope gets exactly its own pages;
a returns desk reads it to say which letter came back.

The symbol is encoded here with tables built once per run (the placement of each codeword's
bits and the Reed-Solomon generator depend only on the symbol size, and a run's payloads all
have one length), so a page costs a fraction of a millisecond; the result is the same symbol
:meth:`DataMatrix.encode` makes (tested).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from hhp_letters.render.datamatrix import (
    _EXP,
    _LOG,
    SIZES,
    MailPayload,
    SymbolSize,
    _generator,
    _pad,
    _placement,
    ascii_codewords,
)
from hhp_letters.render.geometry import MM

MODULE_MM = 0.5  # ≥ 0.5 mm reads reliably on inserter cameras (print-spec B6)
QUIET_MM = 2.0  # white space around the symbol (≥ 1 module; more keeps text away)


def job_id(seed: str) -> str:
    """Eight characters 0-9 A-Z identifying a run's print job, from what made it."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii")[:8].replace("=", "A")


@dataclass(frozen=True)
class Placement:
    """Where the code goes on a page: its top-left corner, in mm from the sheet's top-left."""

    x_mm: float
    y_mm: float
    page_w_mm: float
    page_h_mm: float
    module_mm: float = MODULE_MM

    def footprint(self, side_mm: float) -> tuple[float, float, float, float]:
        """The area that must stay clear (symbol plus quiet zone): x0, y0, x1, y1 in mm."""
        return (self.x_mm - QUIET_MM, self.y_mm - QUIET_MM, self.x_mm + side_mm + QUIET_MM,
                self.y_mm + side_mm + QUIET_MM)


class _Symbol:
    """What every symbol of one size shares, as tables: Reed-Solomon is linear, so each data
    codeword position contributes a fixed error-correction pattern for each of its 256
    values, and each codeword (data or error correction) lights a fixed set of modules. A
    symbol is then a few dozen XORs and ORs of whole-symbol bit masks."""

    def __init__(self, size: SymbolSize) -> None:
        self.size = size
        side, reg = size.modules, size.region
        k, n = size.data_codewords, size.ecc_codewords
        gen = _generator(n)[1:]
        grid = _placement(size.mapping)
        fixed = 0
        bits_of: list[list[int]] = [[] for _ in range(k + n)]  # codeword → module bit per bit
        for r in range(side):
            rr, ri = divmod(r, reg + 2)
            for c in range(side):
                rc, ci = divmod(c, reg + 2)
                bit = 1 << (r * side + (side - 1 - c))
                if ri == reg + 1 or ci == 0:
                    fixed |= bit
                elif ri == 0:
                    fixed |= bit if ci % 2 == 0 else 0
                elif ci == reg + 1:
                    fixed |= bit if ri % 2 == 1 else 0
                else:
                    v = grid[rr * reg + ri - 1][rc * reg + ci - 1]
                    if v >= 0:
                        word, shift = v // 8, 7 - v % 8
                        while len(bits_of[word]) <= shift:
                            bits_of[word].append(0)
                        bits_of[word][shift] |= bit
                    elif v == -1:
                        fixed |= bit
        self.fixed = fixed
        # masks[w][value]: the modules codeword w lights when it holds value
        self.masks = [[sum(m for b, m in enumerate(bits) if value >> b & 1)
                       for value in range(256)] for bits in bits_of]
        # ecc[p][value]: the error-correction codewords (packed) data position p contributes;
        # linear in the value, so one RS run per position and a GF(256) scaling per value
        self.ecc: list[list[int]] = []
        for position in range(k):
            unit_word = [0] * k
            unit_word[position] = 1
            unit = _rs(unit_word, gen, n)
            logs = [_LOG[b] if b else -1 for b in unit]
            row = [0]
            for value in range(1, 256):
                lv = _LOG[value]
                row.append(int.from_bytes(bytes(_EXP[lb + lv] if lb >= 0 else 0
                                                for lb in logs), "big"))
            self.ecc.append(row)

    def bits(self, text: str) -> int:
        """The symbol as one integer: bit r * side + (side - 1 - c) is row r, column c."""
        size = self.size
        k, n = size.data_codewords, size.ecc_codewords
        words = _pad(ascii_codewords(text), k)
        ecc = 0
        dark = self.fixed
        masks, tables = self.masks, self.ecc
        for position, value in enumerate(words):
            ecc ^= tables[position][value]
            dark |= masks[position][value]
        for j, value in enumerate(ecc.to_bytes(n, "big")):
            dark |= masks[k + j][value]
        return dark

    def rows(self, text: str) -> list[str]:
        """The symbol's rows, top first, as strings of 0 and 1."""
        side = self.size.modules
        bits = format(self.bits(text), f"0{side * side}b")[::-1]  # bit 0: row 0, last column
        return [bits[r * side:(r + 1) * side][::-1] for r in range(side)]

    def image_data(self, text: str) -> bytes:
        """Rows top first, each padded to whole bytes, 1 = dark: a 1-bit image of the
        symbol, one pixel a module."""
        side = self.size.modules
        dark = self.bits(text)
        width = (side + 7) // 8
        pad = width * 8 - side
        mask = (1 << side) - 1
        return b"".join(((dark >> (r * side) & mask) << pad).to_bytes(width, "big")
                        for r in range(side))

    def dark(self, text: str) -> list[list[bool]]:
        return [[ch == "1" for ch in row] for row in self.rows(text)]


def _rs(data: list[int], gen: list[int], n: int) -> list[int]:
    ecc = [0] * n
    for word in data:
        factor = word ^ ecc[0]
        ecc = [*ecc[1:], 0]
        if factor:
            lf = _LOG[factor]
            for j in range(n):
                if gen[j]:
                    ecc[j] ^= _EXP[_LOG[gen[j]] + lf]
    return ecc


class IntegrityCodes:
    """One run's codes: the job id, where they go, and the encoder tables."""

    def __init__(self, job: str, placement: Placement) -> None:
        self.job = job
        self.placement = placement
        self._symbols: dict[int, _Symbol] = {}

    def payload(self, bundle: int, envelope: int, page: int, pages: int) -> str:
        return MailPayload(self.job, str(bundle), envelope, page, pages).text()

    def _symbol(self, text: str) -> _Symbol:
        length = len(ascii_codewords(text))
        symbol = self._symbols.get(length)
        if symbol is None:
            size = next(s for s in SIZES if length <= s.data_codewords)
            symbol = self._symbols[length] = _Symbol(size)
        return symbol

    def side_mm(self, text: str) -> float:
        return self._symbol(text).size.modules * self.placement.module_mm

    def operators(self, text: str) -> bytes:
        """Content-stream operators drawing ``text``'s symbol in K100 at the placement: an
        inline 1-bit image mask, one sample a module, painted in the fill colour (ASCIIHex,
        so the content stream stays text)."""
        symbol = self._symbol(text)
        p = self.placement
        side = symbol.size.modules
        size = side * p.module_mm * MM
        x0, y0 = p.x_mm * MM, (p.page_h_mm - p.y_mm) * MM - size
        data = symbol.image_data(text).hex().upper()
        return (f"q 0 0 0 1 k {size:.3f} 0 0 {size:.3f} {x0:.3f} {y0:.3f} cm BI /W {side} "
                f"/H {side} /IM true /BPC 1 /D [1 0] /F /AHx ID {data}> EI Q\n").encode("ascii")


def letter_placement(page_w_mm: float, page_h_mm: float) -> Placement:
    """A4 letters: the bottom-right corner, below the lowest text line (279 mm), right of the
    text column, away from the folds (99 and 198 mm) and the window's reach."""
    return Placement(page_w_mm - 8.0 - 11.0, page_h_mm - 4.5 - 11.0, page_w_mm, page_h_mm)


def note_placement(page_w_mm: float, page_h_mm: float) -> Placement:
    """Cards: the top-right corner, right of the logo and above the greeting."""
    return Placement(page_w_mm - 6.0 - 11.0, 5.0, page_w_mm, page_h_mm)
