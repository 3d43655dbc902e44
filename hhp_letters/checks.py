"""The check stage: read every input of a campaign into the store and check it.

Problems are collected and returned together, never raised per row. :func:`check` returns a
frozen :class:`Checked`; later stages read it and add their own findings beside it, never into
it (see :mod:`hhp_letters.store` for which stage owns which table).
"""

from __future__ import annotations

import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from hhp_letters.campaign import Authority, Campaign, FeedbackFile
from hhp_letters.errors import RenderError
from hhp_letters.fields import DESCRIPTION, FEEDBACK_FIELDS, LIST_FIELDS, REQUIRED, display_name
from hhp_letters.filenames import id_problem
from hhp_letters.forms import return_problems
from hhp_letters.model import Arm, Feedback, Participant
from hhp_letters.postcode import normalise_postcode
from hhp_letters.problems import Level, Origin, Problem, error, note, ordered, warning
from hhp_letters.scaffold import placeholder_problems
from hhp_letters.sources import Row, Table, read_table
from hhp_letters.store import Store

MARKUP_SIGNS = ("<", "{{", "{%", "{#")
IMAGE_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "GIF", "BMP"})
MAX_IMAGE_PIXELS = 40_000_000  # a logo at 300 ppi across a whole A4 page is ~9 megapixels
STAGE = "check"

# Problems that mean rows of the list may not have been read at all.
UNREADABLE = frozenset({
    "file_not_found", "file_unreadable", "not_a_file", "file_too_large", "empty_file",
    "unsupported_format", "not_xlsx", "not_text", "xlsx_encrypted", "xlsx_corrupt",
    "xlsx_too_large", "bad_encoding", "mixed_encoding", "csv_malformed", "unknown_sheet",
    "not_a_worksheet", "empty_sheet", "no_header", "missing_column", "duplicate_column",
    "mapped_column_missing", "merged_header", "empty_list"})


@dataclass(frozen=True)
class Counts:
    participants: int
    treatment: int
    control: int
    feedback_matched: int
    treatment_teams: int
    treatment_sites: int


@dataclass(frozen=True)
class Checked:
    """Everything read from a campaign, and every problem found in it. The rows live in the
    store; :meth:`participants` streams them (with the codes of every stage so far)."""

    campaign: Campaign
    store: Store
    problems: tuple[Problem, ...]
    counts: Counts
    list_file: Path
    feedback_files: tuple[Path, ...]
    footer_rows: tuple[int, ...]  # list rows recognised as a report's footer, not participants

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level is Level.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level is Level.WARNING)

    @property
    def list_complete(self) -> bool:
        """Every row of the randomised list was read (so every row can be accounted for)."""
        shown = self.campaign.display(self.list_file)
        return not any(p.is_error and p.code in UNREADABLE and p.origin.file == shown
                       for p in self.problems)

    def participants(self, arm: Arm | None = None) -> Iterator[Participant]:
        return self.store.participants(self.campaign.authority, arm=arm)

    def head(self) -> str:
        """The verdict's first part: what was read."""
        c = self.counts
        text = f"{c.participants} participants ({c.treatment} treatment, {c.control} control)"
        if self.campaign.kind == "letters":
            return text + f"; feedback matched for {c.feedback_matched} of {c.treatment}"
        return text + f"; {c.treatment_teams} treatment teams in {c.treatment_sites} sites"


def verdict(head: str, problems: tuple[Problem, ...]) -> str:
    n_err = sum(1 for p in problems if p.level is Level.ERROR)
    n_warn = sum(1 for p in problems if p.level is Level.WARNING)
    return f"{head}; {n_err} error{'s' * (n_err != 1)}, {n_warn} warning{'s' * (n_warn != 1)}"


# -- campaign.toml's files ------------------------------------------------------------------------

def _body_problems(campaign: Campaign) -> list[Problem]:
    """A custom letter or note wording: readable, and free of what templates may not do."""
    from hhp_letters.render.templating import BodyTemplate

    rel = campaign.spec.letters.body if campaign.kind == "letters" else campaign.spec.notes.body
    if rel is None:
        return []
    key = f"{campaign.kind}.body"
    origin = Origin(campaign.path.name, column=key)
    path = campaign.resolve(rel)
    missing = regular_file_problem(path, rel, origin, "template_not_found")
    if missing is not None:
        return [missing]
    try:
        template = BodyTemplate.load(path)
    except RenderError as exc:
        code = "template_unsafe" if "uses" in exc.message else "template_error"
        return [error(code, origin, exc.message, exc.hint or "")]
    del template
    return []


def check_assets(campaign: Campaign) -> list[Problem]:
    """Logo, signature and template files named in campaign.toml exist and are what they claim."""
    from hhp_letters.render.press import press_problems

    problems: list[Problem] = [*_body_problems(campaign), *press_problems(campaign)]
    for i, authority in enumerate(campaign.spec.authorities, start=1):
        key = f"authorities[{i}]"
        for name, rel in ((f"{key}.logo", authority.logo),
                          (f"{key}.signatory.signature", authority.signatory.signature)):
            origin = Origin(campaign.path.name, column=name)
            problem = _image_problem(campaign.resolve(rel), rel, origin)
            if problem is not None:
                problems.append(problem)
        if authority.template is not None:
            path = campaign.resolve(authority.template)
            origin = Origin(campaign.path.name, column=f"{key}.template")
            missing = regular_file_problem(path, authority.template, origin,
                                           "template_not_found")
            if missing is not None:
                problems.append(missing)
            elif path.suffix.lower() != ".docx":
                problems.append(error("template_format", origin,
                                      f"{key}.template: {authority.template} is not a .docx file",
                                      "save the letterhead from Word as .docx"))
            else:
                problems += _lint_word(campaign, authority, path, origin)
    return problems


def _lint_word(campaign: Campaign, authority: Authority, path: Path, origin: Origin
               ) -> list[Problem]:
    """Lint a Word letterhead, and fill it for one synthetic letter (so what the sandbox
    forbids is found by `check`, not by `letters`)."""
    from hhp_letters.model import LetterJob
    from hhp_letters.render.letter import format_date
    from hhp_letters.render.word import WordLetter, lint_template  # docxtpl only when needed

    if authority.template is None:
        return []
    from hhp_letters.render.word import docx_too_large

    big = docx_too_large(path)
    if big is not None:  # before anything reads the parts
        return [error("template_format", origin, f"{authority.template}: its part {big} would "
                      "unpack far larger than a letterhead can need (a damaged or hostile "
                      "file)", "open it in Word and save it again as .docx")]
    signature = campaign.resolve(authority.signatory.signature)
    if _image_problem(signature, authority.signatory.signature, origin) is not None:
        return lint_template(path, authority.template, origin)
    letter = WordLetter(path, authority, signature,
                        format_date(authority.date or campaign.spec.campaign.date),
                        authority.template)
    job = LetterJob("SAMPLE-1", authority, "Alex", "Example",
                    ("1 Example Street", "EXAMPLETOWN", "AB1 2CD"),
                    ("Your work is noticed.", "Thank you."), "", origin, team="Example team",
                    manager_first_name="Sam", reference="HHP-SAMP-LE01")
    problems = lint_template(path, authority.template, origin,
                             sample=lambda template: letter.render(job))
    if any(p.is_error for p in problems):
        return problems  # the sample letter could not be filled: nothing to measure
    from hhp_letters.render.word_checks import template_problems  # LibreOffice, pdfium

    return problems + template_problems(campaign, authority, path, origin)


def regular_file_problem(path: Path, rel: str, origin: Origin, missing: str) -> Problem | None:
    """A file named in campaign.toml must exist and be a regular file (a pipe or a device
    would block, or never end)."""
    key = origin.column or rel
    try:
        info = path.stat()
    except FileNotFoundError:
        return error(missing, origin, f"{key}: file {rel} not found",
                     "fix the path (it is relative to campaign.toml)")
    except OSError as exc:  # a symbolic-link loop, a path too long, a permission
        return error(missing, origin, f"{key}: {rel} cannot be read ({exc.strerror})",
                     "fix the path (it is relative to campaign.toml)")
    if not stat.S_ISREG(info.st_mode):
        return error("not_a_file", origin, f"{key}: {rel} is not a regular file (a folder, "
                     "pipe or device)", "name a file saved on disk")
    return None


def _image_problem(path: Path, rel: str, origin: Origin) -> Problem | None:
    key = origin.column
    missing = regular_file_problem(path, rel, origin, "asset_not_found")
    if missing is not None:
        return missing
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                fmt, size = img.format, img.size
                if size[0] * size[1] > MAX_IMAGE_PIXELS:
                    return error("asset_too_large", origin,
                                 f"{key}: {rel} is {size[0]:,} × {size[1]:,} pixels; a logo or "
                                 f"signature needs far fewer (at most {MAX_IMAGE_PIXELS:,})",
                                 "save it at about 1,000–3,000 pixels wide")
                img.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return error("asset_too_large", origin, f"{key}: {rel} is far too many pixels for a "
                     "logo or signature", "save it at about 1,000–3,000 pixels wide")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # Pillow's ways of saying "not an image"
        return error("asset_not_image", origin,
                     f"{key}: {rel} is not a readable image ({type(exc).__name__})",
                     "use a PNG or JPEG file")
    if fmt not in IMAGE_FORMATS:
        return error("asset_not_image", origin, f"{key}: {rel} is a {fmt} image",
                     "use a PNG or JPEG file")
    return None


def _unknown_mapped_fields(campaign: Campaign) -> list[Problem]:
    valid = set(LIST_FIELDS) | set(FEEDBACK_FIELDS)
    problems = [error("campaign_invalid", Origin(campaign.path.name,
                                                 column=f"inputs.columns.{name}"),
                      f"inputs.columns.{name}: {name!r} is not a field hhp-letters knows",
                      "use one of: " + ", ".join(sorted(valid)))
                for name in campaign.spec.inputs.columns if name not in valid]
    for i, entry in enumerate(campaign.spec.inputs.feedback, start=1):
        if isinstance(entry, str):
            continue
        problems += [error("campaign_invalid", Origin(campaign.path.name,
                                                      column=f"inputs.feedback[{i}].columns."
                                                             f"{name}"),
                           f"inputs.feedback[{i}].columns.{name}: {name!r} is not a feedback "
                           "field", "use one of: " + ", ".join(sorted(FEEDBACK_FIELDS)))
                     for name in entry.columns if name not in FEEDBACK_FIELDS]
    return problems


# -- the randomised list ------------------------------------------------------------------------

def _grouped(stream: Iterator[Row | Problem]) -> Iterator[tuple[Row, list[Problem]] | Problem]:
    """Each row with the problems of its own cells (which the table yields just before it);
    problems of the file or of no row pass through alone."""
    pending: list[Problem] = []
    for item in stream:
        if isinstance(item, Row):
            mine = [p for p in pending if p.origin.row == item.origin.row]
            yield from (p for p in pending if p.origin.row != item.origin.row)
            pending = []
            yield item, mine
        elif item.origin.row is not None and item.code not in UNREADABLE:
            pending.append(item)
        else:
            yield item
    yield from pending


class _ListReader:
    """Parses list rows into participants (a row's problems come back beside it)."""

    def __init__(self, campaign: Campaign, table: Table) -> None:
        self.campaign = campaign
        self.kind = campaign.kind
        authorities = campaign.spec.authorities
        # one council and no authority column: every row is that council's
        self.only: Authority | None = (authorities[0] if len(authorities) == 1
                                       and "authority" not in table.columns else None)
        self.greeting_from_preferred = "preferred_name" in table.columns

    def parse(self, seq: int, row: Row) -> tuple[Participant, list[Problem]]:
        problems: list[Problem] = []
        pid = row.get("participant_id")

        def add(problem: Problem) -> None:
            problems.append(problem)

        if not pid:
            add(error("missing_id", row.where("participant_id"), "the participant id is blank",
                      "every row of the randomised list needs its participant id"))
        elif (why := id_problem(pid)) is not None:
            add(error("unsafe_id", row.where("participant_id"),
                      f"participant id {pid!r} {why}",
                      "use ids of letters, digits, spaces, '.', '-' and '_' (not starting with "
                      "'.'), typed on an ordinary keyboard", pid))
        arm_text = row.get("arm")
        arm = Arm.parse(arm_text)
        if arm is None:
            add(error("unknown_arm", row.where("arm"),
                      f"arm {arm_text!r} is neither treatment nor control" if arm_text
                      else "the arm is blank",
                      "use treatment/intervention/t/1/yes or control/c/0/no", pid or None))
        authority = self.only
        if authority is None:
            auth_text = row.get("authority")
            authority = self.campaign.authority(auth_text) if auth_text else None
            if authority is None:
                known = ", ".join(a.code for a in self.campaign.spec.authorities)
                add(error("unknown_authority", row.where("authority"),
                          f"authority {auth_text!r} is not in campaign.toml" if auth_text
                          else "the authority is blank",
                          f"use one of the codes or names in campaign.toml ({known}), "
                          "or add an [[authorities]] table", pid or None))
        first = row.get("first_name") or row.get("preferred_name")
        preferred = row.get("preferred_name")
        postcode_text = row.get("postcode")
        postcode = normalise_postcode(postcode_text) if postcode_text else None
        if arm is Arm.TREATMENT:
            if self.kind == "letters":
                if not first:
                    add(error("missing_first_name", row.where("first_name"),
                              f"{display_name('first_name')} is blank",
                              "fill in the first name for this treatment participant",
                              pid or None))
                if not row.get("last_name"):
                    add(error("missing_last_name", row.where("last_name"),
                              f"{display_name('last_name')} is blank",
                              "fill in the last name for this treatment participant",
                              pid or None))
                self._address(row, postcode, postcode_text, pid, add)
            else:
                for name in ("team", "site", "manager_first_name"):
                    if not row.get(name):
                        add(error(f"missing_{name}", row.where(name),
                                  f"{display_name(name)} is blank",
                                  f"fill in {DESCRIPTION[name]} for this treatment row",
                                  pid or None))
        elif self.kind == "notes" and arm is Arm.CONTROL and not row.get("site"):
            add(error("missing_site", row.where("site"), "the site is blank",
                      "every row needs its site: sites are the clusters that were randomised",
                      pid or None))
        for name in ("first_name", "preferred_name", "last_name", "manager_first_name"):
            text = row.get(name)
            if "?" in text and any(c.isalpha() for c in text):
                add(error("lost_character", row.where(name),
                          f"{DESCRIPTION[name]} has a '?' where a letter should be: Excel's "
                          "plain CSV export writes ? for letters it cannot save",
                          "export the list again as 'CSV UTF-8 (Comma delimited)' (or as .xlsx), "
                          "or retype the name", pid or None, detail=text))
        hold = row.get("hold")
        if hold:
            add(warning("held", row.where("hold"), "on hold: no letter is made",
                        "clear the hold cell when the letter may be sent", pid or None,
                        detail=f"hold: {hold[:200]}"))
        participant = Participant(
            seq=seq, participant_id=pid, arm=arm, authority=authority, first_name=first,
            last_name=row.get("last_name"),
            address=tuple(v for v in (row.get("address_1"), row.get("address_2"),
                                      row.get("address_3")) if v),
            town=row.get("town"), postcode=postcode or postcode_text, team=row.get("team"),
            site=row.get("site"), manager_first_name=row.get("manager_first_name"),
            origin=row.origin, preferred_name=preferred, hold=hold)
        return participant, problems

    @staticmethod
    def _address(row: Row, postcode: str | None, postcode_text: str, pid: str,
                 add: Callable[[Problem], None]) -> None:
        absent = [display_name(f) for f in ("address_1", "town", "postcode") if not row.get(f)]
        if absent:
            add(error("incomplete_address", row.where(
                "address_1" if not row.get("address_1") else
                "town" if not row.get("town") else "postcode"),
                "the address has no " + " or ".join(absent),
                "a letter needs at least a first address line, a post town and a postcode",
                pid or None))
        elif postcode is None:
            add(error("invalid_postcode", row.where("postcode"),
                      "the postcode is not a valid UK postcode",
                      "correct it (e.g. 'SW1A 1AA'); a letter with a wrong postcode will "
                      "not arrive", pid or None, detail=f"the cell reads {postcode_text!r}"))


def _read_list(campaign: Campaign, store: Store, problems: list[Problem]
               ) -> tuple[Table, tuple[int, ...]]:
    path = campaign.participants_file
    first = len(problems)  # the list's own problems start here (assets were checked before)
    table = read_table(path, shown=campaign.display(path), sheet=campaign.spec.inputs.sheet,
                       fields=LIST_FIELDS, required=_required_list_fields(campaign),
                       explicit_columns=campaign.spec.inputs.columns)
    problems.extend(table.problems)
    footers: list[int] = []
    if not table.readable or any(p.code == "missing_column" for p in table.problems):
        store.add_participants(table.origin, ())
        return table, ()
    reader = _ListReader(campaign, table)
    if reader.greeting_from_preferred and campaign.kind == "letters":
        legal = table.columns.get("first_name", "the first name")
        problems.append(note("preferred_name", table.origin.at(row=table.header_row),
                             f"letters greet people by {table.columns['preferred_name']!r} "
                             f"(falling back to {legal!r} where it is blank); addresses use "
                             "the first name", "nothing to do"))
    marks: list[tuple[int, str]] = []

    def people() -> Iterator[Participant]:
        seq = 0
        for item in _grouped(table.read()):
            if isinstance(item, Problem):
                problems.append(item)
                if item.code == "footer_row" and item.origin.row is not None:
                    footers.append(item.origin.row)
                continue
            row, cell_problems = item
            seq += 1
            participant, found = reader.parse(seq, row)
            pid = participant.participant_id or None
            for p in [*cell_problems, *found]:
                problems.append(replace(p, participant_id=p.participant_id or pid))
                if p.is_error or p.code == "held":
                    marks.append((seq, p.code))
            yield participant

    store.add_participants(table.origin, people(), table.columns)
    for seq, code in marks:
        store.add_error(STAGE, code, seq=seq, cause=seq)
    if store.count_rows() == 0 and not any(p.is_error for p in problems[first:]):
        problems.append(error("empty_list", table.origin.at(row=table.header_row),
                              "the randomised list has a header but no participants",
                              "put the participants' rows under the header (or name the right "
                              "file or sheet in campaign.toml)"))
    return table, tuple(footers)


def _required_list_fields(campaign: Campaign) -> tuple[str, ...]:
    required = REQUIRED[campaign.kind]
    if len(campaign.spec.authorities) == 1:
        required = tuple(f for f in required if f != "authority")
    return required


def _mark_duplicates(store: Store, origin: Origin, problems: list[Problem]) -> None:
    for ids, numbers in list(store.ids_differing_by_case()):
        places = ", ".join(f"{pid!r} on row {n}" for pid, n in zip(ids, numbers, strict=True))
        for pid, number in zip(ids, numbers, strict=True):
            problems.append(error(
                "duplicate_id_case", origin.at(row=number),
                f"ids that differ only in capitals: {places}; their letters' files would "
                "collide on Windows and macOS, and people mistake them",
                "make the ids differ by more than capitals (or correct the one mistyped)",
                pid))
            store.add_error(STAGE, "duplicate_id", pid=pid)
    for pid, numbers in list(store.duplicate_ids()):
        places = ", ".join(str(n) for n in numbers)
        for number in numbers:
            problems.append(error(
                "duplicate_id", origin.at(row=number),
                f"participant id {pid!r} appears on rows {places}",
                "each participant must appear once; remove or correct the repeated rows", pid))
        store.add_error(STAGE, "duplicate_id", pid=pid)


def _lost_zeros_in_list(store: Store, origin: Origin, width: int | None,
                        problems: list[Problem]) -> None:
    """An all-digit id shorter than the others and with no leading zero: Excel probably
    turned it into a number. The list's spelling stays the participant's id (feedback under
    the padded id is matched to it, with a warning there too)."""
    if width is None:
        return
    for _, row, pid in list(store.short_digit_ids(width)):
        padded = pid.zfill(width)
        problems.append(warning(
            "leading_zeros", origin.at(row=row, column=store.list_column("participant_id")),
            f"participant id {pid!r} looks like {padded!r} with its leading zeros lost (the "
            f"other ids have {width} digits, starting 0); feedback under {padded!r} is matched "
            "to it", f"format the id column as Text in Excel and type the id as {padded}",
            pid))


def _check_clusters(store: Store, origin: Origin, problems: list[Problem]) -> None:
    """Notes: the site is the cluster that was randomised, so every row of a site has one arm."""
    for site, rows, seqs in list(store.mixed_sites()):
        detail = "; ".join(
            f"{arm} on rows " + ", ".join(str(r) for a, r in rows if a == arm)
            for arm in sorted({a for a, _ in rows}))
        problems.append(error(
            "mixed_cluster", origin, f"site {site!r} has mixed arms: {detail}",
            "sites are the randomised clusters: every row of a site must have the arm the site "
            "was allocated; correct the rows that differ"))
        for seq in seqs:
            store.add_error(STAGE, "mixed_cluster", seq=seq, cause=seq)


def _check_teams(store: Store, origin: Origin, problems: list[Problem]) -> None:
    """Notes: a team gets one note, so its rows must agree on the site and the manager."""
    for key, rows in list(store.inconsistent_teams()):
        parts = []
        for label, column in (("site", "site"), ("manager", "manager")):
            values = sorted({r[column] for r in rows if r[column]}, key=str.lower)
            if len({v.lower() for v in values}) > 1:
                parts.append(f"{label}s " + "; ".join(
                    f"{v!r} on rows " + ", ".join(str(r["row"]) for r in rows if r[column] == v)
                    for v in values))
        problems.append(error(
            "inconsistent_team", origin,
            f"team {rows[0]['team']!r} ({key.authority}) has different " + " and ".join(parts),
            "a team gets one note: give all its rows the same site and manager, or name the "
            "teams differently"))
        for r in rows:
            store.add_error(STAGE, "inconsistent_team", seq=r["seq"], cause=r["seq"])


# -- feedback -------------------------------------------------------------------------------------

class _FeedbackReader:
    """Feedback rows of one file → entries keyed by the list's ids. A row without an id is
    matched by name only when the name is unique among the teams the file covers; an all-digit
    id that lost its leading zeros is matched to the padded id, with a warning."""

    def __init__(self, store: Store, width: int | None, problems: list[Problem]) -> None:
        self.store = store
        self.width = width
        self.problems = problems
        self.held: set[str] = set()
        self.spoiled: list[tuple[str, str]] = []  # (id, code): a cell that cannot be used

    def entries(self, table: Table) -> Iterator[Feedback]:
        nameless: list[tuple[Row, list[Problem]]] = []
        ids: list[str] = []
        for item in _grouped(table.read()):
            if isinstance(item, Problem):
                self.problems.append(item)
                continue
            row, cell_problems = item
            pid = row.get("participant_id")
            if not pid:
                if row.get("feedback_1") or row.get("feedback_2") or row.get("hold"):
                    nameless.append((row, cell_problems))
                else:
                    self.problems.extend(cell_problems)
                continue
            resolved = self._padded(pid, row)
            if resolved is None:
                self.problems.extend(cell_problems)
                continue
            ids.append(resolved)
            yield self._feedback(resolved, row, cell_problems)
        if nameless:
            within = self.store.teams_of(ids) or None
            for row, cell_problems in nameless:
                matched = self._by_name(row, within)
                if matched is not None:
                    yield self._feedback(matched, row, cell_problems)
                else:
                    self.problems.extend(cell_problems)

    def _feedback(self, pid: str, row: Row, cell_problems: list[Problem]) -> Feedback:
        for p in cell_problems:
            self.problems.append(replace(p, participant_id=pid))
            if p.is_error:
                self.spoiled.append((pid, p.code))
        comment = row.get("comment")
        if comment:
            self.problems.append(note("manager_comment", row.where("comment"),
                                      f"the manager left a comment on {pid!r}",
                                      "for your information; never printed", pid,
                                      detail=comment[:300]))
        hold = row.get("hold")
        if hold:
            self.held.add(pid)
            self.problems.append(warning("held", row.where("hold"),
                                         f"the manager put {pid!r} on hold: no letter is made",
                                         "talk to the manager; clear the hold cell when the "
                                         "letter may be sent", pid, detail=f"hold: {hold[:200]}"))
        return Feedback(pid, row.get("feedback_1"), row.get("feedback_2"), row.origin)

    def _padded(self, pid: str, row: Row) -> str | None:
        """The list's id for ``pid``: itself, or the one id that is ``pid`` but for leading
        zeros Excel dropped (on either side); None when that is ambiguous (an error)."""
        if not pid.isdigit() or self.store.has_id(pid):
            return pid
        like = self.store.ids_like(pid)
        where = row.where("participant_id")
        if len(like) == 1:
            other, list_row = like[0]
            self.problems.append(warning(
                "leading_zeros", where,
                f"id {pid!r} is taken to be participant {other!r} (list row {list_row}): the "
                "same number, with leading zeros lost on one side (Excel stored it as a "
                "number)", "format the id columns as Text in Excel and type ids with their "
                "zeros", other))
            return other
        if len(like) > 1:
            places = "; ".join(f"{other!r} on list row {r}" for other, r in like)
            self.problems.append(error(
                "leading_zeros", where,
                f"id {pid!r} could be any of {places} (the same number with different leading "
                "zeros), so this feedback is matched to nobody",
                "type the id in full, as the randomised list has it, with the column "
                "formatted as Text"))
            return None
        return pid

    def _by_name(self, row: Row, within: set[str] | None) -> str | None:
        """A row with no id: matched by the participant's name, only when exactly one person
        of that name is in the teams the file covers (by first name alone, only there)."""
        first, last, full = row.get("first_name"), row.get("last_name"), row.get("full_name")
        where = row.where("participant_id")
        if first and last:
            name, first_only = f"{first} {last}", False
        elif full and len(full.split()) > 1:
            name, first_only = full, False
        elif (first or full) and within:  # a first name alone: only within the file's teams
            name, first_only = first or full, True
        else:
            self.problems.append(error(
                "feedback_missing_id", where, "feedback with no participant id (and no name "
                "to find them by)", "add the participant id so the feedback can be matched"))
            return None
        found = self.store.ids_named(name, within, first_only=first_only)
        scope = "in the teams this file covers" if within else "in the list"
        if len(found) == 1:
            pid, list_row = found[0]
            self.problems.append(warning(
                "name_matched", where, f"no id: matched by name to participant {pid!r} (list "
                f"row {list_row}), the only one of that name {scope}",
                "add the participant id to be sure", pid, detail=name))
            return pid
        if not found:
            self.problems.append(error(
                "feedback_missing_id", where, f"no id, and nobody of that name {scope}",
                "add the participant id so the feedback can be matched", detail=name))
        else:
            rows = ", ".join(str(r) for _, r in found)
            self.problems.append(error(
                "name_ambiguous", where, f"no id, and {len(found)} people are called {name} "
                f"{scope} (list rows {rows}), so this feedback is matched to nobody",
                "add the participant id so the feedback can be matched"))
        return None


@dataclass(frozen=True)
class _FeedbackRead:
    paths: list[Path]
    held: set[str] = field(default_factory=set)
    spoiled: list[tuple[str, str]] = field(default_factory=list)


def _read_feedback_files(campaign: Campaign, store: Store, problems: list[Problem],
                         width: int | None) -> _FeedbackRead:
    files, glob_problems = campaign.feedback_files()
    problems.extend(glob_problems)
    reader = _FeedbackReader(store, width, problems)
    for source in files:
        table = _read_feedback_table(campaign, source)
        store.add_source(f"feedback:{table.origin.file}", table.origin, table.columns)
        problems.extend(table.problems)
        if table.readable and not any(p.code == "missing_column" for p in table.problems):
            store.add_feedback_rows(reader.entries(table))
    return _FeedbackRead([f.path for f in files], reader.held, reader.spoiled)


def _read_feedback_table(campaign: Campaign, source: FeedbackFile) -> Table:
    return read_table(source.path, shown=campaign.display(source.path), sheet=source.sheet,
                      fields=FEEDBACK_FIELDS, required=REQUIRED["feedback"],
                      explicit_columns=source.columns, soft_columns=source.soft)


def _match_feedback(store: Store, origin: Origin, problems: list[Problem],
                    read: _FeedbackRead) -> None:
    """Match feedback to the list: one entry per treatment participant, nothing else used."""
    control: dict[str, list[Origin]] = {}
    for pid, code in read.spoiled:
        store.add_error(STAGE, code, pid=pid)
    for pid, found, arm, n in list(store.feedback_by_id()):
        first = found[0]
        if n > 1:
            continue  # an id on several list rows (duplicate_id): matched to nobody
        if n == 0:
            problems.append(warning("feedback_unknown_id", first.origin,
                                    f"feedback for participant {pid!r}, who is not in the "
                                    "randomised list; it is not used",
                                    "check the id against the randomised list", pid))
            continue
        if arm == Arm.CONTROL.value:  # normal: forms go to every member so managers write blind
            control.setdefault(first.origin.file, []).append(first.origin)
            continue
        if arm != Arm.TREATMENT.value:
            continue  # an unknown arm is already an error on the list row
        held = pid in read.held
        if held:
            store.add_error(STAGE, "held", pid=pid)
        texts = {(f.line_1, f.line_2) for f in found if f.line_1 or f.line_2}
        if len(texts) > 1:
            places = " and ".join(f.origin.describe() for f in found)
            problems.append(error("conflicting_feedback", first.origin,
                                  f"participant {pid!r} has different feedback in {places}",
                                  "keep one version and delete the other", pid))
            store.add_error(STAGE, "conflicting_feedback", pid=pid)
            continue
        written = [f for f in found if f.line_1 or f.line_2] or found
        chosen = written[0]
        if len(written) > 1:
            problems.append(warning("duplicate_feedback", written[1].origin,
                                    f"the same feedback for {pid!r} appears again (first at "
                                    f"{chosen.origin.describe()}); it is used once",
                                    "delete the repeat", pid))
        if held and not (chosen.line_1 and chosen.line_2):
            continue  # held: the missing lines do not matter now
        blank = [n for n, text in (("Feedback line 1", chosen.line_1),
                                   ("Feedback line 2", chosen.line_2)) if not text]
        if blank:
            # name the (first) blank cell's column as the manager's file heads it
            columns = store.source_columns(f"feedback:{chosen.origin.file}")
            field = "feedback_1" if not chosen.line_1 else "feedback_2"
            problems.append(error("blank_feedback", chosen.origin.at(column=columns.get(field)),
                                  f"{' and '.join(blank)} blank for participant {pid!r}",
                                  "every treatment participant needs two lines of feedback",
                                  pid))
            store.add_error(STAGE, "blank_feedback", pid=pid)
            continue
        for text in (chosen.line_1, chosen.line_2):
            if any(sign in text for sign in MARKUP_SIGNS):
                problems.append(warning("markup_in_feedback", chosen.origin,
                                        f"feedback for {pid!r} contains markup-like text; it "
                                        "is printed literally",
                                        "nothing to do unless it was pasted by mistake", pid,
                                        detail=text[:80]))
                break
        store.accept_feedback(chosen)

    for seq, row, pid in list(store.treatment_without_feedback()):
        problems.append(error("missing_feedback", origin.at(row=row),
                              f"no feedback for treatment participant {pid!r}",
                              "ask the team manager for two lines of feedback and add them "
                              "to a feedback file", pid))
        store.add_error(STAGE, "missing_feedback", seq=seq, cause=seq)
    for origins in control.values():
        rows = origins[0]
        problems.append(note(
            "feedback_for_control", Origin(rows.file, rows.sheet),
            f"{len(origins)} row(s) of feedback are for control participants (e.g. row "
            f"{rows.row}); they are never used",
            "nothing to do: forms go to every member so that managers write without knowing "
            "the arm"))


def check(campaign: Campaign, store: Store) -> Checked:
    """Read and check every input of ``campaign`` into ``store`` (a new, empty store)."""
    problems: list[Problem] = [*_unknown_mapped_fields(campaign), *check_assets(campaign),
                               *placeholder_problems(campaign)]
    table, footers = _read_list(campaign, store, problems)
    origin = table.origin
    _mark_duplicates(store, origin, problems)
    width = store.digit_id_width()
    _lost_zeros_in_list(store, origin, width, problems)
    feedback_paths: list[Path] = []
    list_read = not any(p.is_error and p.code in UNREADABLE and p.origin.file == origin.file
                        for p in problems)
    if campaign.kind == "letters":
        read = _read_feedback_files(campaign, store, problems, width)
        feedback_paths = read.paths
        if list_read:  # feedback is matched to a list that was read completely, or not at all
            _match_feedback(store, origin, problems, read)
            problems += return_problems(campaign, store)
    else:
        _check_clusters(store, origin, problems)
        _check_teams(store, origin, problems)
    teams, sites = store.count_treatment_teams()
    counts = Counts(
        participants=store.count_rows(), treatment=store.count_rows(arm=Arm.TREATMENT),
        control=store.count_rows(arm=Arm.CONTROL),
        feedback_matched=store.count_feedback_matched(), treatment_teams=teams,
        treatment_sites=sites)
    return Checked(campaign, store, ordered(problems, campaign.path.name), counts,
                   campaign.participants_file, tuple(feedback_paths), footers)
