"""Rebuild ``HHP-FOGRA39.icc`` from Fogra's FOGRA39L characterisation data, byte for byte.

Usage (Debian: ``apt-get install argyll icc-profiles-free``)::

    python templates/icc/build_profile.py [--ti3 /usr/share/color/icc/FOGRA39L.ti3] [--out FILE]

ArgyllCMS ``colprof`` is deterministic apart from the creation time it writes into the ICC
header, so this script fixes that date and adds the tags the ICC registry asks of profiles made
from registered data (``targ`` = ``ICCHDAT FOGRA39``; the description names the data set).
See ``PROVENANCE.md`` beside this file for the licences and the measured cost.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_TI3 = Path("/usr/share/color/icc/FOGRA39L.ti3")
TI3_SHA256 = "e44e6dfa81633588db98b5613a821d4a936d3d9438d2eb983083c3232df393fa"
DESCRIPTION = "HHP FOGRA39 CMYK (based on FOGRA39, built with ArgyllCMS)"
COPYRIGHT = ("Derived from FOGRA39L data (Fogra; ti3 by Kai-Uwe Behrmann, zlib licence). "
             "Altered: profile built by hhp-letters; zlib licence.")
CHAR_TARGET = "ICCHDAT FOGRA39"
# Fixed header date (year, month, day, hour, minute, second): the profile's identity must not
# depend on when it was rebuilt.
HEADER_DATE = (2026, 12, 1, 0, 0, 0)
# Medium quality, ramp black generation, FOGRA39's 330 % total area coverage; -nc leaves the
# 127 KB measurement table out of the profile.
COLPROF_ARGS = ("-qm", "-kr", "-l330", "-nc")


def _text_tag(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def restamp(profile: bytes, extra_tags: dict[bytes, bytes]) -> bytes:
    """Rewrite an ICC v2 profile with a fixed date and extra tags, keeping shared tag data.

    Argyll points A2B0/A2B1/A2B2 (and the B2A tables) at one copy of the data; that sharing is
    kept, so the rewritten profile is no bigger than the original plus the new tags.
    """
    (count,) = struct.unpack(">I", profile[128:132])
    entries = [struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i]) for i in range(count)]
    tags = [(sig, profile[off:off + size]) for sig, off, size in entries if sig not in extra_tags]
    tags += list(extra_tags.items())
    data_start = 128 + 4 + 12 * len(tags)
    body = b""
    placed: dict[bytes, int] = {}  # tag data -> its offset, so shared data is written once
    table = struct.pack(">I", len(tags))
    for sig, data in tags:
        if data not in placed:
            body = _pad4(body)
            placed[data] = data_start + len(body)
            body += data
        table += struct.pack(">4sII", sig, placed[data], len(data))
    header = bytearray(profile[:128])
    header[24:36] = struct.pack(">6H", *HEADER_DATE)
    out = _pad4(bytes(header) + table + body)
    return struct.pack(">I", len(out)) + out[4:]


def build(ti3: Path) -> bytes:
    """Run colprof on a copy of ``ti3`` and return the finished profile bytes."""
    if shutil.which("colprof") is None:
        raise SystemExit("colprof not found: apt-get install argyll")
    digest = hashlib.sha256(ti3.read_bytes()).hexdigest()
    if digest != TI3_SHA256:
        raise SystemExit(f"{ti3}: sha256 {digest} is not the FOGRA39L.ti3 this recipe was made for")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "FOGRA39L"
        shutil.copyfile(ti3, base.with_suffix(".ti3"))
        subprocess.run(["colprof", *COLPROF_ARGS, "-D", DESCRIPTION, "-C", COPYRIGHT,
                        "-O", str(base.with_suffix(".icc")), str(base)],
                       check=True, capture_output=True)
        raw = base.with_suffix(".icc").read_bytes()
    return restamp(raw, {b"targ": _text_tag(CHAR_TARGET)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ti3", type=Path, default=DEFAULT_TI3)
    parser.add_argument("--out", type=Path, default=HERE / "HHP-FOGRA39.icc")
    args = parser.parse_args(argv)
    data = build(args.ti3)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
