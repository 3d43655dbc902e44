"""campaign.toml → a typed, validated :class:`Campaign`.

Paths in the file are relative to the file. Structural mistakes (wrong type, unknown key,
missing key) stop loading with a :class:`~hhp_letters.errors.CampaignError` listing every one
by key path; whether named files exist and are images is checked by :mod:`hhp_letters.checks`
so those problems are reported together with the spreadsheet problems.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hhp_letters.errors import CampaignError, UsageError
from hhp_letters.problems import Origin, Problem, error

CAMPAIGN_FILE = "campaign.toml"
Kind = Literal["letters", "notes"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


NonEmpty = Annotated[str, Field(min_length=1)]


class CampaignInfo(_Model):
    name: NonEmpty
    kind: Kind
    date: dt.date
    # a live run needs a signed-off proof of the same inputs (`hhp-letters approve`)
    require_approval: bool = False


class FormsOptions(_Model):
    due: dt.date | None = None  # printed on the feedback forms
    return_to: str | None = None  # whom managers return their form to (name, email)


class FeedbackSource(_Model):
    """One entry of ``inputs.feedback`` written as a table: a file (or glob) with its own sheet
    and column mapping, for a manager's workbook whose headers are their own."""

    path: NonEmpty
    sheet: str | None = None
    columns: dict[str, NonEmpty] = Field(default_factory=dict)


class Inputs(_Model):
    participants: NonEmpty
    sheet: str | None = None
    feedback: list[NonEmpty | FeedbackSource] = Field(default_factory=list)
    feedback_sheet: str | None = None
    columns: dict[str, NonEmpty] = Field(default_factory=dict)


@dataclass(frozen=True)
class FeedbackFile:
    """A feedback file to read, with the sheet and column mapping that apply to it."""

    path: Path
    sheet: str | None
    columns: Mapping[str, str]  # this file's own mapping: its headers, as written
    soft: Mapping[str, str]  # [inputs.columns]: used where this file has that header


# Names that are never feedback, whatever a glob matches: our own reports, Excel's lock files
# (~$name.xlsx), hidden files and macOS AppleDouble files (._name.xlsx).
OWN_OUTPUTS = frozenset({"problems.csv", "chase.xlsx", "chase.csv"})


def is_never_feedback(path: Path) -> bool:
    """Our own outputs, lock and hidden files, and folders (a pipe or device named by a
    glob is kept, and refused by the reader as not a regular file)."""
    name = path.name
    return (name in OWN_OUTPUTS or name.startswith(("~$", ".")) or path.is_dir()
            or (path.parent / "audit.jsonl").is_file())


class Signatory(_Model):
    name: NonEmpty
    title: NonEmpty
    signature: NonEmpty


_HEX = re.compile(r"#[0-9A-Fa-f]{6}")


class CmykColour(_Model):
    cmyk: tuple[Annotated[float, Field(ge=0, le=100)], Annotated[float, Field(ge=0, le=100)],
                Annotated[float, Field(ge=0, le=100)], Annotated[float, Field(ge=0, le=100)]]


class Authority(_Model):
    code: NonEmpty
    name: NonEmpty
    area: str | None = None
    logo: NonEmpty
    # the brand colour: "#1F4E79" (RGB, converted through an ICC profile) or
    # { cmyk = [100, 60, 0, 20] } as the brand guide gives it (used as is)
    colour: str | CmykColour = "#000000"
    return_address: list[NonEmpty] = Field(min_length=1, max_length=7)
    signatory: Signatory
    template: str | None = None
    date: dt.date | None = None
    # signature image width on the letter, in mm
    signature_width: float = Field(default=45.0, gt=10, le=90)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        # the code names the authority's folders in the run
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,19}", value):
            raise ValueError(f"code {value!r} must be 1-20 letters, digits, '-' or '_' "
                             "(it names folders), e.g. \"BF\"")
        return value

    @field_validator("colour")
    @classmethod
    def _hex_colour(cls, value: str | CmykColour) -> str | CmykColour:
        if isinstance(value, CmykColour):
            return value
        if not _HEX.fullmatch(value):
            raise ValueError(f"expected a colour like \"#1F4E79\" or {{ cmyk = [0, 62, 25, 52] "
                             f"}}, got {value!r}")
        return value.upper()

    @property
    def display_area(self) -> str:
        return self.area or self.name


class Envelope(_Model):
    """Window envelope geometry in mm, measured flap up: window from left and from bottom."""

    name: str = "custom"
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    window_width: float = Field(gt=0)
    window_height: float = Field(gt=0)
    window_left: float = Field(ge=0)
    window_bottom: float = Field(ge=0)
    fold: Literal["thirds", "half"] = "thirds"
    margin: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _window_inside(self) -> Envelope:
        if self.window_left + self.window_width > self.width:
            raise ValueError("the window reaches past the right edge of the envelope")
        if self.window_bottom + self.window_height > self.height:
            raise ValueError("the window reaches past the top edge of the envelope")
        return self


# Typical UK windows; no UK standard exists, so confirm with the mailing house (print-spec §3.2).
ENVELOPES: dict[str, Envelope] = {
    "DL": Envelope(name="DL", width=220, height=110, window_width=90, window_height=45,
                   window_left=20, window_bottom=15, fold="thirds"),
    "C5": Envelope(name="C5", width=229, height=162, window_width=90, window_height=45,
                   window_left=20, window_bottom=65, fold="half"),
}


class PrintOptions(_Model):
    envelope: Envelope
    duplex: bool = False
    sort: Literal["postcode", "none", "team"] = "postcode"
    max_letters_per_bundle: int = Field(default=500, ge=1, le=20_000)
    fold_marks: bool = False
    # PDF/X: the registered output condition, and which PDF/X ("1a" = PDF/X-1a:2003, "4")
    output_condition: NonEmpty = "FOGRA39"
    pdfx: Literal["1a", "4"] = "1a"
    # the print house's ICC profile for that condition; default: the bundled FOGRA39 profile
    icc_profile: str | None = None
    # a DataMatrix on every page: job, bundle, envelope sequence, page i of n
    integrity_code: bool = True

    @field_validator("output_condition")
    @classmethod
    def _condition(cls, value: str) -> str:
        from hhp_letters.render.pdfx import PdfxError, output_condition

        try:
            return output_condition(value).identifier
        except PdfxError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("envelope", mode="before")
    @classmethod
    def _preset(cls, value: Any) -> Any:
        if isinstance(value, str):
            preset = ENVELOPES.get(value.strip().upper())
            if preset is None:
                raise ValueError(f"unknown envelope {value!r}; use one of "
                                 f"{', '.join(ENVELOPES)} or a table with the window geometry")
            return preset
        return value


class LettersOptions(_Model):
    # a Jinja2 text template for the letter body; default: the built-in templates/letter.j2
    body: str | None = None


class NotesOptions(_Model):
    page: Literal["A5-landscape", "A4"] = "A5-landscape"
    # a Jinja2 text template for the note; default: the built-in templates/note.j2
    body: str | None = None


class CampaignFile(_Model):
    campaign: CampaignInfo
    inputs: Inputs
    authorities: list[Authority] = Field(min_length=1)
    print: PrintOptions = Field(default_factory=lambda: PrintOptions(envelope=ENVELOPES["DL"]))
    letters: LettersOptions = Field(default_factory=LettersOptions)
    notes: NotesOptions = Field(default_factory=NotesOptions)
    forms: FormsOptions = Field(default_factory=FormsOptions)

    @field_validator("authorities")
    @classmethod
    def _unique_codes(cls, authorities: list[Authority]) -> list[Authority]:
        # a field validator, so the problem is reported at the key path "authorities"
        seen: set[str] = set()
        for a in authorities:
            for key in {a.code.casefold(), a.name.casefold()}:
                if key in seen:
                    raise ValueError(f"authority code or name {key!r} is used twice")
                seen.add(key)
        return authorities


class Campaign(BaseModel):
    """A loaded campaign: the validated file plus where it lives."""

    model_config = ConfigDict(frozen=True)

    path: Path
    spec: CampaignFile

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def kind(self) -> Kind:
        return self.spec.campaign.kind

    def resolve(self, relative: str) -> Path:
        """A path named in campaign.toml (a symbolic-link loop stays unresolved: reading it
        then fails with a clear message)."""
        return _resolved(self.root / relative)

    def display(self, path: Path) -> str:
        """A path as the user should see it: relative to the campaign folder when inside it."""
        try:
            return str(_resolved(path).relative_to(_resolved(self.root)))
        except ValueError:
            return str(path)

    @property
    def participants_file(self) -> Path:
        return self.resolve(self.spec.inputs.participants)

    def feedback_files(self) -> tuple[list[FeedbackFile], list[Problem]]:
        """Expand the feedback entries, in order; a file named by a table entry takes that
        entry's sheet and columns (the most specific wins). An entry that matches no file is a
        problem. Linear in the number of files (a national campaign has thousands)."""
        inputs = self.spec.inputs
        chosen: dict[Path, FeedbackFile] = {}
        specific: set[Path] = set()
        problems: list[Problem] = []
        folders: dict[str, tuple[Path, bool]] = {}
        for i, entry in enumerate(inputs.feedback, start=1):
            pattern = entry if isinstance(entry, str) else entry.path
            full = str(self.root / pattern)
            found = sorted(glob.glob(full)) if glob.has_magic(full) else (
                [full] if Path(full).exists() else [])
            matches = _feedback_matches(found, folders)
            if not matches:
                problems.append(error(
                    "feedback_not_found", Origin(self.path.name,
                                                 column=f"inputs.feedback[{i}]"),
                    f"{pattern!r} matches no feedback file",
                    "check the path (it is relative to campaign.toml) or remove the entry"))
            for path in matches:
                if isinstance(entry, str):
                    if path not in chosen:
                        chosen[path] = FeedbackFile(path, inputs.feedback_sheet, {},
                                                    dict(inputs.columns))
                elif path not in specific:
                    specific.add(path)
                    chosen[path] = FeedbackFile(
                        path, entry.sheet if entry.sheet is not None else inputs.feedback_sheet,
                        dict(entry.columns), dict(inputs.columns))
        return list(chosen.values()), problems

    def authority(self, value: str) -> Authority | None:
        """The authority a list cell names, by code or name, ignoring case and spacing."""
        key = " ".join(value.split()).casefold()
        for a in self.spec.authorities:
            if key in (a.code.casefold(), " ".join(a.name.split()).casefold()):
                return a
        return None


def _feedback_matches(found: list[str], folders: dict[str, tuple[Path, bool]]) -> list[Path]:
    """What :func:`is_never_feedback` keeps, resolved, with one ``lstat`` per file: a folder
    is resolved once (and looked at once for a run's audit), not once per file in it. Paths
    stay strings until kept (10,000 manager returns must take well under a second)."""
    out: list[Path] = []
    for text in found:
        parent, name = os.path.split(text)
        if name in OWN_OUTPUTS or name.startswith(("~$", ".")):
            continue
        if parent not in folders:
            folders[parent] = (_resolved(Path(parent)),
                               os.path.isfile(os.path.join(parent, "audit.jsonl")))
        folder, in_run = folders[parent]
        if in_run:
            continue
        try:
            mode = os.lstat(text).st_mode
        except OSError:
            out.append(Path(text))  # vanished or unreadable: the reader says which
            continue
        if stat.S_ISLNK(mode):
            target = _resolved(Path(text))
            if not target.is_dir():
                out.append(target)
        elif not stat.S_ISDIR(mode):
            out.append(folder / name)
    return out


def _resolved(path: Path) -> Path:
    """``path`` resolved; a symbolic-link loop or a path too long stays as given (reading it
    then fails with a clear message)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # pathlib's "Symlink loop", ENAMETOOLONG
        return path


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"  # users count [[authorities]] tables from 1
        else:
            out += f".{part}" if out else str(part)
    return out


def _explain(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the README for the keys campaign.toml takes)"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def find_campaign_file(target: Path) -> Path:
    path = target / CAMPAIGN_FILE if target.is_dir() else target
    if not path.is_file():
        raise UsageError(f"no campaign file at {path}",
                         hint="give a campaign folder holding campaign.toml, or the path of that "
                              "file; `hhp-letters init DIR` makes one")
    return path.resolve()


def load_campaign(target: Path) -> Campaign:
    """Read and validate ``campaign.toml`` (``target`` is the file or its folder)."""
    path = find_campaign_file(target)
    origin = Origin(path.name)
    try:
        # utf-8-sig: Windows Notepad may save UTF-8 with a byte-order mark, which TOML rejects
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise CampaignError("campaign.toml is not UTF-8 text", [error(
            "campaign_encoding", origin, f"not UTF-8 text ({exc.reason})",
            "save campaign.toml as UTF-8")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError("campaign.toml is not valid TOML", [error(
            "campaign_syntax", origin, f"not valid TOML: {exc}",
            "fix the line named; strings need quotes, dates are written 2019-10-01")]) from exc
    try:
        spec = CampaignFile.model_validate(data)
    except ValidationError as exc:
        problems = [error("campaign_invalid", Origin(path.name, column=_key_path(e["loc"])),
                          f"{_key_path(e['loc']) or 'file'}: {_explain(dict(e))}",
                          "see the campaign.toml section of the README")
                    for e in exc.errors()]
        raise CampaignError(f"campaign.toml has {len(problems)} mistake(s)", problems) from exc
    return Campaign(path=path, spec=spec)
