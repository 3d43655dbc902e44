"""Every error hhp-letters raises on purpose, in one tree.

Policy (what is an exception, what is a problem, what is a log line):

* A mistake in the *data* of one row or cell is a :class:`~hhp_letters.problems.Problem`
  (error or warning), collected with all the others and reported together. Problems are data;
  they are never raised one by one.
* A condition that stops the whole command is an exception from this module. The CLI turns each
  into a message and an exit code; no traceback is shown unless ``--debug`` is given.
* Third-party errors are translated at the boundary where they mean bad input or a bad
  environment, and only there: ``raise SourceError(...) from exc``. Anything else is a bug and
  reaches the CLI's exit-3 path unchanged.
* A broken invariant of our own is an :class:`InternalError` (never ``assert``, which
  ``python -O`` removes).
* Logging is for diagnostics only; the audit log is data, written by :mod:`hhp_letters.audit`.

::

    HhpError                      exit 1 unless stated
    ├── UsageError                exit 2: bad arguments, missing campaign file
    │   └── RunFolderError        exit 2: RUN_DIR exists, is not a run, or is locked
    ├── CampaignError             campaign.toml unreadable or invalid (carries problems)
    ├── ProblemsFound             inputs failed their checks (carries problems)
    ├── EnvironmentProblem        the disk, a permission, a limit: the user's machine
    ├── RenderError               a letter could not be drawn or converted
    │   └── ConverterUnavailable  LibreOffice missing or not answering
    └── InternalError             exit 3: an invariant of hhp-letters broke (a bug)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hhp_letters.problems import Problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3


class HhpError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code: int = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  fix: {self.hint}"


class UsageError(HhpError):
    exit_code = EXIT_USAGE


class RunFolderError(UsageError):
    """The --out folder cannot be used (exists, is not a run of ours, is in use)."""


class _WithProblems(HhpError):
    def __init__(self, message: str, problems: Sequence[Problem], *,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = tuple(problems)


class CampaignError(_WithProblems):
    """campaign.toml could not be read or did not validate."""


class ProblemsFound(_WithProblems):
    """The inputs have error-level problems; nothing was produced."""


class EnvironmentProblem(HhpError):
    """The machine refused: disk full, read-only folder, a file-size limit, a permission."""


class RenderError(HhpError):
    pass


class ConverterUnavailable(RenderError):
    pass


class InternalError(HhpError):
    """An invariant of hhp-letters itself broke: a bug, never bad input."""

    exit_code = EXIT_BUG
