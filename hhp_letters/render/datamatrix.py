"""A mail-integrity DataMatrix (ECC200, ISO/IEC 16022) drawn as K100 vector modules.

Why not reportlab's ``ECC200DataMatrix``: it is hard-wired to one 44 × 44 C40 symbol (22 mm
at 0.5 mm modules), far bigger than a margin mark needs. This encoder picks the smallest square
symbol (10 × 10 up to 44 × 44) for the payload, in ASCII mode (two digits per codeword).

The payload (:class:`MailPayload`) identifies the sheet, nothing about the person::

    HHP1|<job: 8 × 0-9A-Z>|<bundle: 1-8 × 0-9A-Z>|<envelope seq: 6 digits>|<ii>/<nn>|<check>

``check`` is an ISO 7064 MOD 37-36 character over the letters and digits before it, so a
reader that mixes up fields (or a hand-keyed code) is caught even though ECC200's own
Reed–Solomon already guards the symbol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MM = 72 / 25.4  # points per millimetre
_DIGITS = "0123456789"
MIN_MODULE_MM = 0.5  # print-spec B6: ≥ 0.4–0.5 mm modules for inserter cameras
QUIET_ZONE_MODULES = 1  # ISO/IEC 16022 minimum on every side


class DataMatrixError(ValueError):
    """A payload or size we cannot encode; the message says how to fix it."""


@dataclass(frozen=True)
class SymbolSize:
    """One square ECC200 symbol size (ISO/IEC 16022 table 7)."""

    modules: int  # symbol side, finder pattern included
    region: int  # data region side
    regions: int  # data regions per side
    data_codewords: int
    ecc_codewords: int

    @property
    def mapping(self) -> int:
        """Side of the mapping matrix (all data regions, no finder patterns)."""
        return self.region * self.regions


SIZES: tuple[SymbolSize, ...] = (
    SymbolSize(10, 8, 1, 3, 5), SymbolSize(12, 10, 1, 5, 7), SymbolSize(14, 12, 1, 8, 10),
    SymbolSize(16, 14, 1, 12, 12), SymbolSize(18, 16, 1, 18, 14),
    SymbolSize(20, 18, 1, 22, 18), SymbolSize(22, 20, 1, 30, 20),
    SymbolSize(24, 22, 1, 36, 24), SymbolSize(26, 24, 1, 44, 28),
    SymbolSize(32, 14, 2, 62, 36), SymbolSize(36, 16, 2, 86, 42),
    SymbolSize(40, 18, 2, 114, 48), SymbolSize(44, 20, 2, 144, 56),
)


# --- GF(256) arithmetic with ECC200's field polynomial x^8 + x^5 + x^3 + x^2 + 1 (301) ---

def _gf_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    exp = [0] * 510
    log = [0] * 256
    value = 1
    for i in range(255):
        exp[i] = value
        log[value] = i
        value <<= 1
        if value & 0x100:
            value ^= 301
    for i in range(255, 510):
        exp[i] = exp[i - 255]
    return tuple(exp), tuple(log)


_EXP, _LOG = _gf_tables()


def _gf_mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


def _generator(n: int) -> list[int]:
    """Coefficients of (x + α)(x + α²)…(x + αⁿ), highest power first."""
    poly = [1]
    for i in range(1, n + 1):
        root = _EXP[i]
        poly = [a ^ _gf_mul(b, root) for a, b in zip([*poly, 0], [0, *poly], strict=True)]
    return poly


def reed_solomon(data: list[int], n: int) -> list[int]:
    """The ``n`` ECC200 error-correction codewords for ``data``."""
    gen = _generator(n)
    ecc = [0] * n
    for word in data:
        factor = word ^ ecc[0]
        ecc = [*ecc[1:], 0]
        for j in range(n):
            ecc[j] ^= _gf_mul(gen[j + 1], factor)
    return ecc


def ascii_codewords(text: str) -> list[int]:
    """ASCII-mode data codewords: digit pairs share one codeword."""
    out: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _DIGITS and i + 1 < len(text) and text[i + 1] in _DIGITS:
            out.append(130 + int(text[i:i + 2]))
            i += 2
            continue
        code = ord(ch)
        if not 32 <= code <= 126:
            raise DataMatrixError(f"payload character {ch!r} is not printable ASCII")
        out.append(code + 1)
        i += 1
    return out


def _pad(codewords: list[int], capacity: int) -> list[int]:
    out = list(codewords)
    if len(out) < capacity:
        out.append(129)
    while len(out) < capacity:
        pseudo = (149 * (len(out) + 1)) % 253 + 1  # the 253-state randomising of pad codewords
        value = 129 + pseudo
        out.append(value - 254 if value > 254 else value)
    return out


def _placement(n: int) -> list[list[int]]:
    """ISO/IEC 16022 annex F: for each mapping-matrix module, 8 * codeword + bit (0 = MSB),
    or -1 for dark / -2 for light fixed modules."""
    grid = [[-3] * n for _ in range(n)]  # -3: not yet placed

    def module(row: int, col: int, word: int, bit: int) -> None:
        if row < 0:
            row += n
            col += 4 - ((n + 4) % 8)
        if col < 0:
            col += n
            row += 4 - ((n + 4) % 8)
        grid[row][col] = 8 * word + bit

    def utah(row: int, col: int, word: int) -> None:
        for bit, (dr, dc) in enumerate(((-2, -2), (-2, -1), (-1, -2), (-1, -1), (-1, 0),
                                        (0, -2), (0, -1), (0, 0))):
            module(row + dr, col + dc, word, bit)

    def corner(word: int, cells: tuple[tuple[int, int], ...]) -> None:
        for bit, (r, c) in enumerate(cells):
            module(r, c, word, bit)

    corners = {
        1: ((n - 1, 0), (n - 1, 1), (n - 1, 2), (0, n - 2), (0, n - 1), (1, n - 1), (2, n - 1),
            (3, n - 1)),
        2: ((n - 3, 0), (n - 2, 0), (n - 1, 0), (0, n - 4), (0, n - 3), (0, n - 2), (0, n - 1),
            (1, n - 1)),
        3: ((n - 3, 0), (n - 2, 0), (n - 1, 0), (0, n - 2), (0, n - 1), (1, n - 1), (2, n - 1),
            (3, n - 1)),
        4: ((n - 1, 0), (n - 1, n - 1), (0, n - 3), (0, n - 2), (0, n - 1), (1, n - 3),
            (1, n - 2), (1, n - 1)),
    }
    word, row, col = 0, 4, 0
    while row < n or col < n:
        for which, hit in ((1, row == n and col == 0),
                           (2, row == n - 2 and col == 0 and n % 4 != 0),
                           (3, row == n - 2 and col == 0 and n % 8 == 4),
                           (4, row == n + 4 and col == 2 and n % 8 == 0)):
            if hit:
                corner(word, corners[which])
                word += 1
        while True:  # sweep up and to the right
            if row < n and col >= 0 and grid[row][col] == -3:
                utah(row, col, word)
                word += 1
            row, col = row - 2, col + 2
            if not (row >= 0 and col < n):
                break
        row, col = row + 1, col + 3
        while True:  # sweep down and to the left
            if row >= 0 and col < n and grid[row][col] == -3:
                utah(row, col, word)
                word += 1
            row, col = row + 2, col - 2
            if not (row < n and col >= 0):
                break
        row, col = row + 3, col + 1
    if grid[n - 1][n - 1] == -3:  # the fixed pattern in the unused bottom-right corner
        grid[n - 1][n - 1] = grid[n - 2][n - 2] = -1
        grid[n - 1][n - 2] = grid[n - 2][n - 1] = -2
    return grid


@dataclass(frozen=True)
class DataMatrix:
    """An encoded symbol: ``dark[row][col]``, row 0 at the top."""

    text: str
    size: SymbolSize
    dark: tuple[tuple[bool, ...], ...]

    @classmethod
    def encode(cls, text: str, *, min_modules: int = 10) -> DataMatrix:
        """The smallest square symbol, at least ``min_modules`` wide, that holds ``text``."""
        data = ascii_codewords(text)
        for size in SIZES:
            if size.modules >= min_modules and len(data) <= size.data_codewords:
                break
        else:
            raise DataMatrixError(f"payload of {len(data)} codewords does not fit the largest "
                                  f"supported symbol (44 × 44, 144 codewords): shorten it")
        words = _pad(data, size.data_codewords)
        words += reed_solomon(words, size.ecc_codewords)
        grid = _placement(size.mapping)
        bits = [[(words[v // 8] >> (7 - v % 8)) & 1 == 1 if v >= 0 else v == -1 for v in row]
                for row in grid]
        side, reg = size.modules, size.region
        out = [[False] * side for _ in range(side)]
        for r in range(side):
            rr, ri = divmod(r, reg + 2)  # region row, row inside the region (with its border)
            for c in range(side):
                rc, ci = divmod(c, reg + 2)
                if ri == reg + 1 or ci == 0:  # solid L: bottom row and left column
                    out[r][c] = True
                elif ri == 0:  # top clock track, dark on even columns
                    out[r][c] = ci % 2 == 0
                elif ci == reg + 1:  # right clock track, dark on odd rows
                    out[r][c] = ri % 2 == 1
                else:
                    out[r][c] = bits[rr * reg + ri - 1][rc * reg + ci - 1]
        return cls(text, size, tuple(tuple(row) for row in out))

    def side_mm(self, module_mm: float) -> float:
        return self.size.modules * module_mm

    def footprint_mm(self, module_mm: float,
                     quiet_modules: int = QUIET_ZONE_MODULES) -> float:
        """Side of the square that must stay white: the symbol plus its quiet zone."""
        return (self.size.modules + 2 * quiet_modules) * module_mm

    def pdf_operators(self, x_mm: float, y_mm: float, module_mm: float, *,
                      page_height_mm: float = 297.0) -> bytes:
        """Content-stream operators that draw the symbol in K100.

        ``x_mm``, ``y_mm`` place the symbol's top-left corner (not its quiet zone), measured
        from the sheet's top-left corner like the rest of the layout. Dark runs along a row
        become one rectangle each, all filled as one path so no seams show between modules.
        """
        if module_mm < MIN_MODULE_MM:
            raise DataMatrixError(f"module size {module_mm} mm is below {MIN_MODULE_MM} mm, "
                                  f"too small for inserter cameras: use at least "
                                  f"{MIN_MODULE_MM} mm")
        m = module_mm * MM
        left = x_mm * MM
        top = (page_height_mm - y_mm) * MM
        ops = ["q", "0 0 0 1 k"]
        for r, row in enumerate(self.dark):
            c = 0
            while c < len(row):
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                ops.append(f"{_num(left + start * m)} {_num(top - (r + 1) * m)} "
                           f"{_num((c - start) * m)} {_num(m)} re")
        ops += ["f", "Q"]
        return ("\n".join(ops) + "\n").encode("ascii")


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


# --- The mail-integrity payload ---

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PAYLOAD = re.compile(r"HHP1\|([0-9A-Z]{8})\|([0-9A-Z]{1,8})\|(\d{6})\|(\d{2})/(\d{2})\|"
                      r"([0-9A-Z])")


def mod37_36(text: str) -> str:
    """ISO/IEC 7064 MOD 37-36 check character over the letters and digits of ``text``."""
    p = 36
    for ch in text:
        if ch in _ALNUM:
            s = (p % 37 + _ALNUM.index(ch)) % 36 or 36  # (p + value) mod 36, with 0 read as 36
            p = (2 * s) % 37
    return _ALNUM[(37 - p) % 36]  # the value that makes (p + check) mod 36 = 1


@dataclass(frozen=True)
class MailPayload:
    """Which sheet of which envelope this is. Nothing personal."""

    job: str  # 8 × [0-9A-Z], e.g. the first 8 characters of the job's base32 digest
    bundle: str  # 1–8 × [0-9A-Z], e.g. the authority's code
    envelope: int  # mailpiece sequence within the bundle, 1–999999
    page: int  # sheet side i ...
    pages: int  # ... of n in this envelope, 1–99

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9A-Z]{8}", self.job):
            raise DataMatrixError(f"job id {self.job!r} must be 8 characters 0-9 / A-Z")
        if not re.fullmatch(r"[0-9A-Z]{1,8}", self.bundle):
            raise DataMatrixError(f"bundle {self.bundle!r} must be 1-8 characters 0-9 / A-Z")
        if not 1 <= self.envelope <= 999_999:
            raise DataMatrixError(f"envelope sequence {self.envelope} is outside 1-999999")
        if not 1 <= self.page <= self.pages <= 99:
            raise DataMatrixError(f"page {self.page} of {self.pages} must satisfy "
                                  f"1 <= page <= pages <= 99")

    def text(self) -> str:
        body = (f"HHP1|{self.job}|{self.bundle}|{self.envelope:06d}|"
                f"{self.page:02d}/{self.pages:02d}|")
        return body + mod37_36(body)

    @classmethod
    def parse(cls, text: str) -> MailPayload:
        """Read a decoded payload back; raises :class:`DataMatrixError` if the check fails."""
        m = _PAYLOAD.fullmatch(text)
        if m is None:
            raise DataMatrixError(f"{text!r} is not an HHP1 mail-integrity payload")
        if mod37_36(text[:-1]) != text[-1]:
            raise DataMatrixError(f"{text!r}: check character does not match")
        job, bundle, env, page, pages, _ = m.groups()
        return cls(job, bundle, int(env), int(page), int(pages))
