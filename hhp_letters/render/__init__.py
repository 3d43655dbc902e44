"""The render stage: lay out every letter or note once (:func:`lay_out`), then hand the bundle
stage one backend per authority (:func:`open_backends`): native, or the council's Word
letterhead through LibreOffice."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from hhp_letters.merge import CHECKED, Merged
from hhp_letters.model import Job, LetterJob
from hhp_letters.problems import Problem
from hhp_letters.render.backend import Backend, Rendered
from hhp_letters.render.native import (
    STAGE,
    Assets,
    NativeBackend,
    NativeLayout,
    lay_out_native,
    load_assets,
)
from hhp_letters.render.word_backend import WordLayout, lay_out_word, open_word_backends

__all__ = ["STAGE", "Backend", "Layout", "Rendered", "lay_out", "open_backends"]


@dataclass(frozen=True)
class Layout:
    """The render stage's result: what was laid out, and what cannot be printed."""

    merged: Merged
    assets: Assets
    native: NativeLayout
    word: WordLayout
    proof: bool

    @property
    def problems(self) -> tuple[Problem, ...]:
        return (*self.word.problems, *self.native.problems)

    @property
    def stages(self) -> tuple[str, ...]:
        return (*CHECKED, STAGE)

    def jobs(self) -> Iterator[Job]:
        """The jobs that will be printed: no error at check or layout."""
        return self.merged.jobs(self.stages)

    def count(self) -> int:
        return self.merged.count(self.stages)


def lay_out(merged: Merged, *, proof: bool) -> Layout:
    campaign = merged.checked.campaign
    store = merged.checked.store
    assets = load_assets(campaign)

    def withhold(job: Job, code: str) -> None:
        if isinstance(job, LetterJob):
            store.add_error(STAGE, code, pid=job.participant_id)

    word = lay_out_word(campaign, merged.jobs(CHECKED), assets.fonts, withhold)
    native = lay_out_native(campaign, merged, assets, proof=proof, skip=word.codes)
    return Layout(merged, assets, native, word, proof)


@contextlib.contextmanager
def open_backends(layout: Layout) -> Iterator[Mapping[str, Backend]]:
    """A backend for each authority, for as long as the bundles are being written."""
    campaign = layout.merged.checked.campaign
    native = NativeBackend(layout.native, campaign.kind)
    fonts = list(layout.assets.fonts.files)
    with open_word_backends(campaign, fonts, proof=layout.proof) as word:
        yield {a.code: word.get(a.code) or native for a in campaign.spec.authorities}
