"""`hhp-letters init`: a working campaign folder copied from the bundled samples."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from hhp_letters.campaign import CAMPAIGN_FILE, Kind
from hhp_letters.errors import UsageError
from hhp_letters.resources import resource_dir

_SHARED_SIGNATURE = re.compile(r'"\.\./\.\./signatures/([^"]+)"')


def init_campaign(target: Path, kind: Kind = "letters", *, sample: bool = True) -> Path:
    """Copy the sample ``kind`` campaign into ``target`` (which must be new or empty)."""
    del sample  # a clean single-council scaffold is made when False (see the forms issue)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not empty",
                         hint="choose a new folder name")
    source = resource_dir("samples") / kind
    signatures = resource_dir("signatures")
    tmp = target.with_name(f".{target.name}.init")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (tmp / "signatures").mkdir(exist_ok=True)
    for toml_path in sorted(tmp.glob("*.toml")):  # campaign.toml and its variants
        toml = toml_path.read_text(encoding="utf-8")
        for name in sorted(set(_SHARED_SIGNATURE.findall(toml))):
            shutil.copy2(signatures / name, tmp / "signatures" / name)
        toml_path.write_text(_SHARED_SIGNATURE.sub(r'"signatures/\1"', toml), encoding="utf-8")
    if target.exists():
        target.rmdir()
    tmp.rename(target)
    return target / CAMPAIGN_FILE
