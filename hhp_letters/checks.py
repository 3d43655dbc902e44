"""Read every input of a campaign and check it. Problems are collected, never raised per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from hhp_letters.campaign import CAMPAIGN_FILE, Campaign
from hhp_letters.fields import FEEDBACK_FIELDS, LIST_FIELDS, REQUIRED, display_name
from hhp_letters.model import Arm, Feedback, Participant
from hhp_letters.postcode import normalise_postcode
from hhp_letters.problems import Level, Origin, Problem, error, warning
from hhp_letters.sources import Row, Table, read_table

MARKUP_SIGNS = ("<", "{{", "{%", "{#")
IMAGE_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "GIF", "BMP"})


@dataclass(frozen=True)
class CheckedInputs:
    """Everything read from a campaign, and every problem found in it."""

    campaign: Campaign
    participants: tuple[Participant, ...]  # one per data row of the list, in list order
    feedback: Mapping[str, Feedback]  # by participant id; only unambiguous entries
    problems: tuple[Problem, ...]
    input_files: tuple[Path, ...] = field(default=())

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level is Level.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level is Level.WARNING)

    @property
    def treatment(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.arm is Arm.TREATMENT)

    @property
    def control(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.arm is Arm.CONTROL)

    @property
    def feedback_matched(self) -> int:
        return sum(1 for p in self.treatment if p.participant_id in self.feedback)

    def verdict(self) -> str:
        n_err, n_warn = len(self.errors), len(self.warnings)
        text = (f"{len(self.participants)} participants ({len(self.treatment)} treatment, "
                f"{len(self.control)} control)")
        if self.campaign.kind == "letters":
            text += f"; feedback matched for {self.feedback_matched} of {len(self.treatment)}"
        else:
            sites = {p.site for p in self.treatment}
            teams = {p.team for p in self.treatment}
            text += f"; {len(teams)} treatment teams in {len(sites)} sites"
        text += f"; {n_err} error{'s' * (n_err != 1)}, {n_warn} warning{'s' * (n_warn != 1)}"
        return text


def check_assets(campaign: Campaign) -> list[Problem]:
    """Logo, signature and template files named in campaign.toml exist and are what they claim."""
    problems: list[Problem] = []
    for i, authority in enumerate(campaign.spec.authorities, start=1):
        key = f"authorities[{i}]"
        for name, rel in ((f"{key}.logo", authority.logo),
                          (f"{key}.signatory.signature", authority.signatory.signature)):
            problem = _image_problem(campaign.resolve(rel), rel, Origin(CAMPAIGN_FILE, column=name))
            if problem is not None:
                problems.append(problem)
        if authority.template is not None:
            path = campaign.resolve(authority.template)
            origin = Origin(CAMPAIGN_FILE, column=f"{key}.template")
            if not path.is_file():
                problems.append(error("template_not_found", origin,
                                      f"{key}.template: file {authority.template} not found",
                                      "fix the path (relative to campaign.toml) or remove the key "
                                      "to use the built-in letter"))
            elif path.suffix.lower() != ".docx":
                problems.append(error("template_format", origin,
                                      f"{key}.template: {authority.template} is not a .docx file",
                                      "save the letterhead from Word as .docx"))
    return problems


def _image_problem(path: Path, rel: str, origin: Origin) -> Problem | None:
    key = origin.column
    if not path.is_file():
        return error("asset_not_found", origin, f"{key}: file {rel} not found",
                     "fix the path (it is relative to campaign.toml)")
    try:
        with Image.open(path) as img:
            fmt = img.format
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return error("asset_not_image", origin, f"{key}: {rel} is not a readable image ({exc})",
                     "use a PNG or JPEG file")
    if fmt not in IMAGE_FORMATS:
        return error("asset_not_image", origin, f"{key}: {rel} is a {fmt} image",
                     "use a PNG or JPEG file")
    return None


def _read(campaign: Campaign, path: Path, *, sheet: str | None, fields: tuple[str, ...],
          required: tuple[str, ...]) -> Table:
    return read_table(path, shown=campaign.display(path), sheet=sheet, fields=fields,
                      required=required, explicit_columns=campaign.spec.inputs.columns)


def _unknown_mapped_fields(campaign: Campaign) -> list[Problem]:
    valid = set(LIST_FIELDS) | set(FEEDBACK_FIELDS)
    return [error("campaign_invalid", Origin(CAMPAIGN_FILE, column=f"inputs.columns.{name}"),
                  f"inputs.columns.{name}: {name!r} is not a field hhp-letters knows",
                  "use one of: " + ", ".join(sorted(valid)))
            for name in campaign.spec.inputs.columns if name not in valid]


def _participant(row: Row, campaign: Campaign, problems: list[Problem]) -> Participant:
    """Parse one list row; its problems go to ``problems`` and its error codes onto the row."""
    kind = campaign.kind
    pid = row.get("participant_id")
    codes: list[str] = []

    def add(problem: Problem) -> None:
        problems.append(problem)
        if problem.is_error:
            codes.append(problem.code)

    if not pid:
        add(error("missing_id", row.where("participant_id"), "the participant id is blank",
                  "every row of the randomised list needs its participant id"))
    arm_text = row.get("arm")
    arm = Arm.parse(arm_text)
    if arm is None:
        add(error("unknown_arm", row.where("arm"),
                  f"arm {arm_text!r} is neither treatment nor control" if arm_text
                  else "the arm is blank",
                  "use treatment/intervention/t/1/yes or control/c/0/no", pid or None))
    auth_text = row.get("authority")
    authority = campaign.authority(auth_text) if auth_text else None
    if authority is None:
        codes_known = ", ".join(a.code for a in campaign.spec.authorities)
        add(error("unknown_authority", row.where("authority"),
                  f"authority {auth_text!r} is not in campaign.toml" if auth_text
                  else "the authority is blank",
                  f"use one of the codes or names in campaign.toml ({codes_known}), "
                  "or add an [[authorities]] table", pid or None))

    postcode_text = row.get("postcode")
    postcode = normalise_postcode(postcode_text) if postcode_text else None
    needs_output = arm is Arm.TREATMENT
    if needs_output:
        names = (("first_name",) if kind == "letters" else ()) + (
            ("last_name",) if kind == "letters" else ("team", "site", "manager_first_name"))
        for name in names:
            if not row.get(name):
                add(error(f"missing_{name}", row.where(name), f"{display_name(name)} is blank",
                          f"fill in {display_name(name)} for this treatment participant",
                          pid or None))
        if kind == "letters":
            absent = [display_name(f) for f in ("address_1", "town", "postcode")
                      if not row.get(f)]
            if absent:
                add(error("incomplete_address", row.where(
                    "address_1" if not row.get("address_1") else
                    "town" if not row.get("town") else "postcode"),
                    "the address has no " + " or ".join(absent),
                    "a letter needs at least a first address line, a post town and a postcode",
                    pid or None))
            elif postcode is None:
                add(error("invalid_postcode", row.where("postcode"),
                          f"{postcode_text!r} is not a valid UK postcode",
                          "correct it (e.g. 'SW1A 1AA'); a letter with a wrong postcode will "
                          "not arrive", pid or None))
    elif kind == "notes" and arm is Arm.CONTROL and not row.get("site"):
        add(error("missing_site", row.where("site"), "the site is blank",
                  "every row needs its site: sites are the clusters that were randomised",
                  pid or None))
    return Participant(
        participant_id=pid, arm=arm, authority=authority,
        first_name=row.get("first_name"), last_name=row.get("last_name"),
        address=tuple(v for v in (row.get("address_1"), row.get("address_2"),
                                  row.get("address_3")) if v),
        town=row.get("town"), postcode=postcode or postcode_text, team=row.get("team"),
        site=row.get("site"), manager_first_name=row.get("manager_first_name"),
        origin=row.origin, errors=tuple(codes))


def _mark_duplicates(people: list[Participant], problems: list[Problem]) -> list[Participant]:
    rows: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(people):
        if p.participant_id:
            rows[p.participant_id].append(i)
    out = list(people)
    for pid, where in rows.items():
        if len(where) < 2:
            continue
        places = ", ".join(str(people[i].origin.row) for i in where)
        for i in where:
            p = people[i]
            problems.append(error(
                "duplicate_id", p.origin.at(column=None), f"participant id {pid!r} appears on "
                f"rows {places}", "each participant must appear once; remove or correct the "
                "repeated rows", pid))
            out[i] = _with_error(p, "duplicate_id")
    return out


def _with_error(p: Participant, code: str) -> Participant:
    return replace(p, errors=(*p.errors, code))


def _check_clusters(people: list[Participant], problems: list[Problem]) -> list[Participant]:
    """Notes: the site is the cluster that was randomised, so every row of a site has one arm."""
    by_site: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(people):
        if p.site and p.arm is not None:
            by_site[p.site.casefold()].append(i)
    out = list(people)
    for where in by_site.values():
        arms = {arm for i in where if (arm := people[i].arm) is not None}
        if len(arms) < 2:
            continue
        site = people[where[0]].site
        rows_by_arm = {
            arm.value: ", ".join(str(people[i].origin.row) for i in where if people[i].arm is arm)
            for arm in sorted(arms, key=str)}
        detail = "; ".join(f"{arm} on rows {rows}" for arm, rows in rows_by_arm.items())
        problems.append(error(
            "mixed_cluster", people[where[0]].origin.at(row=None),
            f"site {site!r} has mixed arms: {detail}",
            "sites are the randomised clusters: every row of a site must have the arm the site "
            "was allocated; correct the rows that differ"))
        for i in where:
            out[i] = _with_error(people[i], "mixed_cluster")
    return out


def _check_feedback(campaign: Campaign, people: Sequence[Participant],
                    problems: list[Problem], *, list_read: bool = True,
                    ) -> tuple[dict[str, Feedback], list[Path], list[Participant]]:
    """Read the feedback files and match them to ``people``. When the list itself could not be
    read (``list_read`` false), only the feedback files' own problems are reported: every id
    would otherwise be reported as missing from the list."""
    files, glob_problems = campaign.feedback_files()
    problems.extend(glob_problems)
    entries: dict[str, list[Feedback]] = defaultdict(list)
    for path in files:
        table = _read(campaign, path, sheet=campaign.spec.inputs.feedback_sheet,
                      fields=FEEDBACK_FIELDS, required=REQUIRED["feedback"])
        problems.extend(table.problems)
        for row in table.rows:
            pid = row.get("participant_id")
            if not pid:
                problems.append(error("feedback_missing_id", row.where("participant_id"),
                                      "feedback with no participant id",
                                      "add the participant id so the feedback can be matched"))
                continue
            entries[pid].append(Feedback(pid, row.get("feedback_1"), row.get("feedback_2"),
                                         row.origin))
    if not list_read:
        return {}, files, list(people)

    by_id = {p.participant_id: p for p in people if p.participant_id}
    # An id on several rows of the list (already a duplicate_id error on each of them) cannot be
    # matched to one person: its feedback is neither used nor reported against one of the rows.
    duplicated = {p.participant_id for p in people if "duplicate_id" in p.errors}
    matched: dict[str, Feedback] = {}
    extra_errors: dict[str, str] = {}
    for pid, found in entries.items():
        first = found[0]
        if pid in duplicated:
            continue
        person = by_id.get(pid)
        if person is None:
            problems.append(warning("feedback_unknown_id", first.origin,
                                    f"feedback for participant {pid!r}, who is not in the "
                                    "randomised list; it is not used",
                                    "check the id against the randomised list", pid))
            continue
        if person.arm is Arm.CONTROL:
            problems.append(warning("feedback_for_control", first.origin,
                                    f"feedback for {pid!r}, a control participant; it is never "
                                    "used", "nothing to do: control participants get no letter",
                                    pid))
            continue
        texts = {(f.line_1, f.line_2) for f in found}
        if len(texts) > 1:
            places = " and ".join(f.origin.describe() for f in found)
            problems.append(error("conflicting_feedback", first.origin,
                                  f"participant {pid!r} has different feedback in {places}",
                                  "keep one version and delete the other", pid))
            extra_errors[pid] = "conflicting_feedback"
            continue
        if len(found) > 1:
            problems.append(warning("duplicate_feedback", found[1].origin,
                                    f"the same feedback for {pid!r} appears again (first at "
                                    f"{first.origin.describe()}); it is used once",
                                    "delete the repeat", pid))
        if person.arm is not Arm.TREATMENT:
            continue
        blank = [n for n, text in (("Feedback line 1", first.line_1),
                                   ("Feedback line 2", first.line_2)) if not text]
        if blank:
            problems.append(error("blank_feedback", first.origin.at(column=None),
                                  f"{' and '.join(blank)} blank for participant {pid!r}",
                                  "every treatment participant needs two lines of feedback",
                                  pid))
            extra_errors[pid] = "blank_feedback"
            continue
        for text in (first.line_1, first.line_2):
            if any(sign in text for sign in MARKUP_SIGNS):
                problems.append(warning("markup_in_feedback", first.origin,
                                        f"feedback for {pid!r} contains markup-like text "
                                        f"({text[:40]!r}); it is printed literally",
                                        "nothing to do unless it was pasted by mistake", pid))
                break
        matched[pid] = first

    out = list(people)
    for i, p in enumerate(people):
        if p.arm is not Arm.TREATMENT or not p.participant_id or p.participant_id in duplicated:
            continue
        if p.participant_id in extra_errors:
            out[i] = _with_error(p, extra_errors[p.participant_id])
        elif p.participant_id not in matched:
            problems.append(error("missing_feedback", p.origin, f"no feedback for treatment "
                                  f"participant {p.participant_id!r}",
                                  "ask the team manager for two lines of feedback and add them "
                                  "to a feedback file", p.participant_id))
            out[i] = _with_error(p, "missing_feedback")
    return matched, files, out


def check(campaign: Campaign) -> CheckedInputs:
    """Read and check every input of ``campaign``."""
    problems: list[Problem] = [*_unknown_mapped_fields(campaign), *check_assets(campaign)]
    path = campaign.participants_file
    table = _read(campaign, path, sheet=campaign.spec.inputs.sheet, fields=LIST_FIELDS,
                  required=REQUIRED[campaign.kind])
    problems.extend(table.problems)
    people: list[Participant] = []
    if not any(p.is_error and p.code == "missing_column" for p in table.problems):
        people = [_participant(row, campaign, problems) for row in table.rows]
    people = _mark_duplicates(people, problems)
    files: list[Path] = [path]
    feedback: dict[str, Feedback] = {}
    if campaign.kind == "letters":
        list_read = bool(people) or not any(p.is_error for p in table.problems)
        feedback, fb_files, people = _check_feedback(campaign, people, problems,
                                                     list_read=list_read)
        files.extend(fb_files)
    else:
        people = _check_clusters(people, problems)
    ordered = sorted(problems, key=lambda p: (p.origin.file != CAMPAIGN_FILE, p.origin.file,
                                              p.origin.sheet or "", p.origin.row or 0))
    return CheckedInputs(campaign, tuple(people), feedback, tuple(ordered), tuple(files))
