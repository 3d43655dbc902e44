"""What every backend (native, Word) hands the bundle stage: one rendered letter at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hhp_letters.keys import readback_form
from hhp_letters.model import Job
from hhp_letters.problems import Problem
from hhp_letters.render.integrity import IntegrityCodes
from hhp_letters.render.pdf import Sink
from hhp_letters.store import FileRecord


@dataclass(frozen=True)
class Extra:
    """A file kept beside a letter's PDF (the filled-in .docx of a Word letter)."""

    suffix: str
    data: bytes
    kind: str


Spans = dict[str, list[int]]  # field -> [start, end) in the page's read-back text


def find_spans(page_text: str, fields: dict[str, str]) -> Spans | str:
    """Where each field's text lies in a page's text (both in read-back form), or the name of
    the first field the page does not show."""
    form = readback_form(page_text)
    spans: Spans = {}
    for name, value in fields.items():
        wanted = readback_form(value)
        at = form.find(wanted) if wanted else -1
        if at < 0:
            return name
        spans[name] = [at, at + len(wanted)]
    return spans


@dataclass(frozen=True)
class Rendered:
    job: Job
    pdf: bytes  # the letter's own file
    first_page: int  # in the bundle, from 1
    pages: int  # in the bundle, padding included
    spans: Spans  # where the job's fields lie in the page's read-back text
    extras: tuple[Extra, ...] = ()
    code: str = ""  # the mail-integrity payload of the envelope's first page
    file: FileRecord | None = None  # the letter's own file, already written (``pdf`` is b"")


@dataclass(frozen=True)
class BundleSpec:
    """What a backend needs to know about the bundle it writes."""

    name: str  # e.g. "FB-1"
    number: int  # the bundle's place in the run, from 1 (what its codes carry)
    duplex: bool
    codes: IntegrityCodes | None  # None: no mail-integrity code on the pages
    # where a backend may write each letter's own file itself (the staging folder, and
    # ``letter_path``'s folder in it); None: hand the bytes back in ``Rendered.pdf``
    folder: Path | None = None
    letter_dir: str = ""

    def letter_path(self, job: Job) -> str:
        """The letter's own file, relative to the run folder."""
        return f"{self.letter_dir}/{job.stem}.pdf"


class Backend(Protocol):
    def render_bundle(self, jobs: Sequence[Job], out: Sink, spec: BundleSpec
                      ) -> Iterator[Rendered | Problem]:
        """Write the bundle of ``jobs`` (in order) to ``out`` and yield each letter as it is
        made, or a problem for a letter that could not be made (it is left out)."""
        ...
