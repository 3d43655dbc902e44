"""What every backend (native, Word) hands the bundle stage: one rendered letter at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from hhp_letters.model import Job
from hhp_letters.problems import Problem
from hhp_letters.render.pdf import Sink


@dataclass(frozen=True)
class Extra:
    """A file kept beside a letter's PDF (the filled-in .docx of a Word letter)."""

    suffix: str
    data: bytes
    kind: str


@dataclass(frozen=True)
class Rendered:
    job: Job
    pdf: bytes  # the letter's own file
    first_page: int  # in the bundle, from 1
    pages: int  # in the bundle, padding included
    extras: tuple[Extra, ...] = ()


class Backend(Protocol):
    def render_bundle(self, jobs: Sequence[Job], out: Sink, *, name: str,
                      duplex: bool) -> Iterator[Rendered | Problem]:
        """Write the bundle of ``jobs`` (in order) to ``out`` and yield each letter as it is
        made, or a problem for a letter that could not be made (it is left out)."""
        ...
