"""The one Jinja2 environment: sandboxed, StrictUndefined. Spreadsheet text is data, never code.

Letter and note bodies are plain text templates: blank lines separate paragraphs, and a line
holding only ``[[feedback]]`` or ``[[signature]]`` marks where those blocks go. The markers are
found in the template *before* Jinja runs, so no value from a spreadsheet can become one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from hhp_letters.errors import RenderError

BLOCKS = ("feedback", "signature")
_MARKER = re.compile(r"^[ \t]*\[\[\s*(\w+)\s*\]\][ \t]*$", re.MULTILINE)


def environment(*, autoescape: bool = False) -> SandboxedEnvironment:
    """Our Jinja2 environment. ``autoescape`` is for markup outputs (docx XML)."""
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape,
                                keep_trailing_newline=True, trim_blocks=True,
                                lstrip_blocks=True)


@dataclass(frozen=True)
class Part:
    """A paragraph of text, or a block marker (``feedback`` / ``signature``)."""

    text: str = ""
    block: str | None = None


class BodyTemplate:
    def __init__(self, source: str, name: str) -> None:
        self.name = name
        env = environment()
        self._segments: list[Any] = []
        pos = 0
        for match in _MARKER.finditer(source):
            block = match.group(1)
            if block not in BLOCKS:
                raise RenderError(f"{name}: unknown block [[{block}]]",
                                  hint="use [[feedback]] or [[signature]] on a line of their own")
            self._segments.append(self._compile(env, source[pos:match.start()]))
            self._segments.append(block)
            pos = match.end()
        self._segments.append(self._compile(env, source[pos:]))

    def _compile(self, env: SandboxedEnvironment, text: str) -> Any:
        try:
            return env.from_string(text)
        except TemplateError as exc:
            raise RenderError(f"{self.name}: template error: {exc}",
                              hint="fix the Jinja2 syntax in the template") from exc

    @classmethod
    def load(cls, path: Path) -> BodyTemplate:
        return cls(path.read_text(encoding="utf-8"), path.name)

    def render(self, values: Mapping[str, object]) -> list[Part]:
        parts: list[Part] = []
        for segment in self._segments:
            if isinstance(segment, str):
                parts.append(Part(block=segment))
                continue
            try:
                text = segment.render(values)
            except UndefinedError as exc:
                raise RenderError(f"{self.name}: {exc.message}",
                                  hint="use only the placeholders listed at the top of the "
                                       "template") from exc
            except TemplateError as exc:
                raise RenderError(f"{self.name}: {exc}") from exc
            for para in re.split(r"\n[ \t]*\n", text):
                folded = " ".join(para.split())
                if folded:
                    parts.append(Part(text=folded))
        return parts
