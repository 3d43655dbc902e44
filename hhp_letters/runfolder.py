"""The one way a run writes a file: into the staging folder, hashed as it is written, and
recorded in the store's ``files`` table (which the audit and SHA256SUMS are made from)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hhp_letters.errors import InternalError
from hhp_letters.filenames import is_safe_relative
from hhp_letters.store import FileRecord, Store


class _Hashing:
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.sha = hashlib.sha256()
        self.size = 0
        self.discarded = False
        self.record: FileRecord | None = None  # set when the file is closed and recorded

    def discard(self) -> None:
        """The file is not to be kept (e.g. a bundle none of whose letters could be made)."""
        self.discarded = True

    def write(self, data: bytes) -> int:
        self._fh.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)


def write_file(root: Path, rel: str, data: bytes, kind: str, sha256: str | None = None
               ) -> FileRecord:
    """Write ``data`` to ``rel`` under the staging folder ``root`` and say what was written
    (``sha256``: the digest when the writer already has it). It is recorded only when the
    record reaches :meth:`RunFolder.record` — a worker process writes, the run records."""
    _path(root, rel).write_bytes(data)
    digest = sha256 if sha256 is not None else hashlib.sha256(data).hexdigest()
    return FileRecord(rel, digest, len(data), kind)


def _path(root: Path, rel: str) -> Path:
    if not is_safe_relative(rel):
        raise InternalError(f"refusing to write outside the run folder: {rel!r}")
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class RunFolder:
    root: Path  # the staging folder
    store: Store

    def write(self, rel: str, data: bytes, kind: str) -> FileRecord:
        record = write_file(self.root, rel, data, kind)
        self.store.add_file(record)
        return record

    def record(self, record: FileRecord) -> FileRecord:
        """Record a file :func:`write_file` wrote into this folder."""
        if not (self.root / record.path).is_file():
            raise InternalError(f"{record.path} was recorded but never written")
        self.store.add_file(record)
        return record

    @contextlib.contextmanager
    def open(self, rel: str, kind: str) -> Iterator[_Hashing]:
        """Stream a large file (a bundle); it is recorded when the block ends, unless
        discarded."""
        path = _path(self.root, rel)
        with path.open("wb") as fh:
            hashing = _Hashing(fh)
            yield hashing
        if hashing.discarded:
            path.unlink()
        else:
            hashing.record = FileRecord(rel, hashing.sha.hexdigest(), hashing.size, kind)
            self.store.add_file(hashing.record)
