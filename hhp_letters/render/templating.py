"""The one Jinja2 environment: sandboxed, bounded, StrictUndefined. Spreadsheet text is data,
never code, and a template written by LA staff can neither reach Python nor run away.

Letter and note bodies are plain text templates: blank lines separate paragraphs, and a line
holding only ``[[feedback]]`` or ``[[signature]]`` marks where those blocks go. The markers are
found in the template *before* Jinja runs, so no value from a spreadsheet can become one.

Bounds: ``**`` with a large exponent, repeating a string or list to a huge size, and ranges
(the sandbox's own limit) are refused; a render that takes longer than
:data:`RENDER_SECONDS` or produces more than :data:`MAX_OUTPUT` characters is stopped. A
template may not include, import or extend other files.
"""

from __future__ import annotations

import contextlib
import operator
import re
import signal
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from hhp_letters.errors import RenderError

BLOCKS = ("feedback", "signature")
_MARKER = re.compile(r"^[ \t]*\[\[\s*(\w+)\s*\]\][ \t]*$", re.MULTILINE)
RENDER_SECONDS = 2.0
MAX_OUTPUT = 200_000
MAX_POWER = 64
MAX_REPEAT = 10_000
# Filters and statements that would let text skip escaping (Word XML) or reach other files.
UNSAFE_FILTERS = frozenset({"safe"})


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with arithmetic that cannot exhaust the machine."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(right, int | float) and abs(right) > MAX_POWER:
                raise SecurityError(f"the power {right} is too large for a letter template")
            return operator.pow(left, right)
        if op == "*":
            for count, other in ((left, right), (right, left)):
                if isinstance(count, int) and isinstance(other, str | list | tuple) and \
                        count * max(1, len(other)) > MAX_REPEAT:
                    raise SecurityError("a text repeated that many times does not belong in a "
                                        "letter")
            return operator.mul(left, right)
        return super().call_binop(context, op, left, right)


def environment(*, autoescape: bool = False) -> BoundedEnvironment:
    """Our Jinja2 environment. ``autoescape`` is for markup outputs (docx XML)."""
    return BoundedEnvironment(undefined=StrictUndefined, autoescape=autoescape,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


class _TooSlow(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise _TooSlow


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Stop the block after ``seconds`` (on the main thread; elsewhere, no limit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def unsafe_constructs(source: str, env: SandboxedEnvironment) -> list[str]:
    """What in a template could reach other files or skip escaping."""
    found: list[str] = []
    ast = env.parse(source)
    for other in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        found.append(f"{{% {type(other).__name__.lower()} %}} (templates may not use other "
                     "files)")
    for used in ast.find_all(nodes.Filter):
        if used.name in UNSAFE_FILTERS:
            found.append(f"the |{used.name} filter (it would let spreadsheet text change the "
                         "letter's markup)")
    for scope in ast.find_all(nodes.ScopedEvalContextModifier):
        for option in scope.options:
            if option.key == "autoescape":
                found.append("{% autoescape %} (escaping must stay on)")
    return found


def placeholders(source: str, env: SandboxedEnvironment) -> set[str]:
    return set(meta.find_undeclared_variables(env.parse(source)))


@dataclass(frozen=True)
class Part:
    """A paragraph of text, or a block marker (``feedback`` / ``signature``)."""

    text: str = ""
    block: str | None = None


class BodyTemplate:
    def __init__(self, source: str, name: str) -> None:
        self.name = name
        self.source = source
        env = environment()
        self._segments: list[Any] = []
        self.blocks: list[str] = []
        pos = 0
        for match in _MARKER.finditer(source):
            block = match.group(1)
            if block not in BLOCKS:
                raise RenderError(f"{name}: unknown block [[{block}]]",
                                  hint="use [[feedback]] or [[signature]] on a line of their own")
            self._segments.append(self._compile(env, source[pos:match.start()]))
            self._segments.append(block)
            self.blocks.append(block)
            pos = match.end()
        self._segments.append(self._compile(env, source[pos:]))
        try:
            self.unsafe = unsafe_constructs(source, env)
            self.names = placeholders(_MARKER.sub("", source), env)
        except TemplateError as exc:
            raise RenderError(f"{name}: template error: {exc}",
                              hint="fix the Jinja2 syntax in the template") from exc
        if self.unsafe:
            raise RenderError(f"{name}: the template uses " + "; ".join(self.unsafe),
                              hint="remove it: a letter template is plain text with "
                                   "{{ placeholders }}")

    def _compile(self, env: SandboxedEnvironment, text: str) -> Any:
        try:
            return env.from_string(text)
        except TemplateError as exc:
            raise RenderError(f"{self.name}: template error: {exc}",
                              hint="fix the Jinja2 syntax in the template") from exc

    @classmethod
    def load(cls, path: Path) -> BodyTemplate:
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise RenderError(f"{path.name} is not UTF-8 text",
                              hint="save the template as UTF-8") from exc
        return cls(source, path.name)

    def render(self, values: Mapping[str, object], *, timed: bool = False) -> list[Part]:
        """The template's paragraphs and blocks for ``values``. ``timed`` puts a clock on it
        (the check of a template does; each letter's render is bounded by size alone, so a
        template that passed the check is not interrupted per letter)."""
        parts: list[Part] = []
        size = 0
        for segment in self._segments:
            if isinstance(segment, str):
                parts.append(Part(block=segment))
                continue
            try:
                with time_limit(RENDER_SECONDS) if timed else contextlib.nullcontext():
                    chunks: list[str] = []
                    for chunk in segment.generate(values):
                        size += len(chunk)
                        if size > MAX_OUTPUT:
                            raise RenderError(f"{self.name}: the template makes more than "
                                              f"{MAX_OUTPUT:,} characters of text",
                                              hint="a letter is one page; check for a loop")
                        chunks.append(chunk)
                    text = "".join(chunks)
            except _TooSlow as exc:
                raise RenderError(f"{self.name}: the template takes longer than "
                                  f"{RENDER_SECONDS:g} s to fill",
                                  hint="check for a loop or a large calculation") from exc
            except UndefinedError as exc:
                raise RenderError(f"{self.name}: {exc.message}",
                                  hint="use only the placeholders listed at the top of the "
                                       "template") from exc
            except SecurityError as exc:
                raise RenderError(f"{self.name}: not allowed in a template: {exc}",
                                  hint="a letter template is plain text with "
                                       "{{ placeholders }}") from exc
            except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
                # what a template's own expressions raise (1/0, "a" + 1): the template's fault
                raise RenderError(f"{self.name}: {type(exc).__name__}: {exc}",
                                  hint="fix the expression in the template") from exc
            for para in re.split(r"\n[ \t]*\n", text):
                folded = " ".join(para.split())
                if folded:
                    parts.append(Part(text=folded))
        return parts
