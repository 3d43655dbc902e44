"""Where the bundled templates, fonts, samples and signatures live."""

from __future__ import annotations

from pathlib import Path


def resource_dir(name: str) -> Path:
    """``templates``, ``samples`` or ``signatures``: inside the wheel, else beside the package."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_resources" / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled folder {name!r} is missing from the installation")
