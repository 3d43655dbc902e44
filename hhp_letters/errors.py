"""Every error hhp-letters raises on purpose, in one tree.

Policy (what is an exception, what is a problem, what is a log line):

* A mistake in the *data* of one row or cell is a :class:`~hhp_letters.problems.Problem`
  (error or warning), collected with all the others and reported together. Problems are data;
  they are never raised one by one.
* A condition that stops the whole command is an exception from this module. The CLI turns each
  into a message and an exit code; no traceback is shown unless ``--debug`` is given.
* Third-party errors are translated at the boundary: ``raise SourceError(...) from exc``.
* Logging is for diagnostics only; the audit log is data, written by :mod:`hhp_letters.audit`.

::

    HhpError                      exit 1 unless stated
    ├── UsageError                exit 2: bad arguments, missing campaign file
    ├── CampaignError             campaign.toml unreadable or invalid (carries problems)
    ├── ProblemsFound             inputs failed their checks (carries problems)
    ├── RunFolderError            exit 2: RUN_DIR exists (use --force)
    ├── RenderError               a letter could not be drawn or converted
    │   └── ConverterUnavailable  LibreOffice missing or not answering
    └── VerifyFailed              `verify` found a failed check
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hhp_letters.problems import Problem


class HhpError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  fix: {self.hint}"


class UsageError(HhpError):
    exit_code = 2


class _WithProblems(HhpError):
    def __init__(self, message: str, problems: Sequence[Problem]) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class CampaignError(_WithProblems):
    """campaign.toml could not be read or did not validate."""


class ProblemsFound(_WithProblems):
    """The inputs have error-level problems; nothing was produced."""


class RunFolderError(HhpError):
    exit_code = 2


class RenderError(HhpError):
    pass


class ConverterUnavailable(RenderError):
    pass


class VerifyFailed(HhpError):
    pass
