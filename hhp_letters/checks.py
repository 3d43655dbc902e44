"""Read every input of a campaign and check it. Problems are collected, never raised per row."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from hhp_letters.campaign import Campaign
from hhp_letters.fields import FEEDBACK_FIELDS, LIST_FIELDS, REQUIRED, display_name
from hhp_letters.model import Arm, Feedback, Participant
from hhp_letters.postcode import normalise_postcode
from hhp_letters.problems import Level, Origin, Problem, error, warning
from hhp_letters.sources import Row, Table, read_table
from hhp_letters.store import Store

MARKUP_SIGNS = ("<", "{{", "{%", "{#")
_SAFE_ID = re.compile(r"[\w-][\w .-]{0,99}")
IMAGE_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "GIF", "BMP"})


@dataclass(frozen=True)
class Counts:
    participants: int
    treatment: int
    control: int
    feedback_matched: int
    treatment_teams: int
    treatment_sites: int


@dataclass(frozen=True)
class CheckedInputs:
    """Everything read from a campaign, and every problem found in it. The rows live in a
    :class:`~hhp_letters.store.Store`; ``participants`` and ``feedback`` load them all and are
    for small campaigns and tests; the pipeline streams from the store."""

    campaign: Campaign
    store: Store
    problems: tuple[Problem, ...]
    counts: Counts
    input_files: tuple[Path, ...] = field(default=())

    def close(self) -> None:
        self.store.close()

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level is Level.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level is Level.WARNING)

    def iter_participants(self) -> Iterator[Participant]:
        return self.store.participants()

    @property
    def participants(self) -> tuple[Participant, ...]:
        return tuple(self.store.participants())

    @property
    def feedback(self) -> dict[str, Feedback]:
        return {f.participant_id: f for f in self.store.feedback()}

    @property
    def treatment(self) -> tuple[Participant, ...]:
        return tuple(self.store.participants("WHERE arm = 'treatment'"))

    @property
    def control(self) -> tuple[Participant, ...]:
        return tuple(self.store.participants("WHERE arm = 'control'"))

    @property
    def feedback_matched(self) -> int:
        return self.counts.feedback_matched

    def verdict(self) -> str:
        c = self.counts
        n_err, n_warn = len(self.errors), len(self.warnings)
        text = f"{c.participants} participants ({c.treatment} treatment, {c.control} control)"
        if self.campaign.kind == "letters":
            text += f"; feedback matched for {c.feedback_matched} of {c.treatment}"
        else:
            text += f"; {c.treatment_teams} treatment teams in {c.treatment_sites} sites"
        text += f"; {n_err} error{'s' * (n_err != 1)}, {n_warn} warning{'s' * (n_warn != 1)}"
        return text


def check_assets(campaign: Campaign) -> list[Problem]:
    """Logo, signature and template files named in campaign.toml exist and are what they claim."""
    problems: list[Problem] = []
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
            if not path.is_file():
                problems.append(error("template_not_found", origin,
                                      f"{key}.template: file {authority.template} not found",
                                      "fix the path (relative to campaign.toml) or remove the key "
                                      "to use the built-in letter"))
            elif path.suffix.lower() != ".docx":
                problems.append(error("template_format", origin,
                                      f"{key}.template: {authority.template} is not a .docx file",
                                      "save the letterhead from Word as .docx"))
            else:
                from hhp_letters.render.word import lint_template  # docxtpl only when needed

                problems += lint_template(path, authority.template, origin)
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
    return [error("campaign_invalid", Origin(campaign.path.name,
                                                    column=f"inputs.columns.{name}"),
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
    elif not _SAFE_ID.fullmatch(pid):
        add(error("unsafe_id", row.where("participant_id"),
                  f"participant id {pid!r} cannot be used as a file name",
                  "use ids of letters, digits, spaces, '.', '-' and '_' (not starting with '.')",
                  pid))
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


def _mark_duplicates(store: Store, problems: list[Problem]) -> None:
    rows = store.rows("SELECT pid, row FROM participants WHERE pid IN (SELECT pid FROM "
                      "participants WHERE pid != '' GROUP BY pid HAVING count(*) > 1) "
                      "ORDER BY pid, seq")
    for pid, group in groupby(list(rows), key=lambda r: r[0]):
        numbers = [r[1] for r in group]
        places = ", ".join(str(n) for n in numbers)
        for number in numbers:
            problems.append(error(
                "duplicate_id", store.list_origin.at(row=number),
                f"participant id {pid!r} appears on rows {places}",
                "each participant must appear once; remove or correct the repeated rows", pid))
        store.add_error("duplicate_id", pid=pid)


def _check_clusters(store: Store, problems: list[Problem]) -> None:
    """Notes: the site is the cluster that was randomised, so every row of a site has one arm."""
    mixed = store.rows("SELECT lower(site) FROM participants WHERE site != '' AND arm IS NOT "
                       "NULL GROUP BY lower(site) HAVING count(DISTINCT arm) > 1")
    for (key,) in list(mixed):
        rows = list(store.rows("SELECT site, arm, row FROM participants WHERE lower(site) = ? "
                               "AND arm IS NOT NULL ORDER BY seq", (key,)))
        site = rows[0][0]
        detail = "; ".join(
            f"{arm} on rows " + ", ".join(str(r[2]) for r in rows if r[1] == arm)
            for arm in sorted({r[1] for r in rows}))
        problems.append(error(
            "mixed_cluster", store.list_origin,
            f"site {site!r} has mixed arms: {detail}",
            "sites are the randomised clusters: every row of a site must have the arm the site "
            "was allocated; correct the rows that differ"))
        for r in rows:
            store.add_error("mixed_cluster", row=r[2])


def _check_teams(store: Store, problems: list[Problem]) -> None:
    """Notes: a team gets one note, so its rows must agree on the site and the manager."""
    bad = store.rows(
        "SELECT authority, lower(team) FROM participants WHERE team != '' AND authority IS NOT "
        "NULL GROUP BY authority, lower(team) HAVING count(DISTINCT NULLIF(lower(site), '')) > 1 "
        "OR count(DISTINCT NULLIF(lower(manager), '')) > 1")
    for code, key in list(bad):
        rows = list(store.rows("SELECT team, site, manager, row FROM participants WHERE "
                               "authority = ? AND lower(team) = ? ORDER BY seq", (code, key)))
        parts = []
        for label, index in (("site", 1), ("manager", 2)):
            values = sorted({r[index] for r in rows if r[index]}, key=str.lower)
            if len({v.lower() for v in values}) > 1:
                parts.append(f"{label}s " + "; ".join(
                    f"{v!r} on rows " + ", ".join(str(r[3]) for r in rows if r[index] == v)
                    for v in values))
        problems.append(error(
            "inconsistent_team", store.list_origin,
            f"team {rows[0][0]!r} ({code}) has different " + " and ".join(parts),
            "a team gets one note: give all its rows the same site and manager, or name the "
            "teams differently"))
        for r in rows:
            store.add_error("inconsistent_team", row=r[3])


def _read_feedback_files(campaign: Campaign, store: Store,
                         problems: list[Problem]) -> list[Path]:
    files, glob_problems = campaign.feedback_files()
    problems.extend(glob_problems)
    for path in files:
        table = _read(campaign, path, sheet=campaign.spec.inputs.feedback_sheet,
                      fields=FEEDBACK_FIELDS, required=REQUIRED["feedback"])
        if not any(p.code == "missing_column" for p in table.problems):

            def entries(rows: Iterator[Row]) -> Iterator[Feedback]:
                for row in rows:
                    pid = row.get("participant_id")
                    if not pid:
                        problems.append(error(
                            "feedback_missing_id", row.where("participant_id"),
                            "feedback with no participant id",
                            "add the participant id so the feedback can be matched"))
                        continue
                    yield Feedback(pid, row.get("feedback_1"), row.get("feedback_2"),
                                   row.origin)

            store.add_feedback_rows(entries(table.rows()))
        problems.extend(table.problems)
    return files


def _match_feedback(store: Store, problems: list[Problem]) -> None:
    """Match feedback to the list: one entry per treatment participant, nothing else used."""
    query = store.rows(
        "SELECT f.pid, f.line1, f.line2, f.file, f.sheet, f.row, p.arm, p.n FROM feedback_rows f "
        "LEFT JOIN (SELECT pid, max(arm) AS arm, count(*) AS n FROM participants GROUP BY pid) "
        "p USING (pid) ORDER BY f.pid, f.seq")
    for pid, group in groupby(query, key=lambda r: r[0]):
        rows = list(group)
        found = [Feedback(r[0], r[1], r[2], Origin(r[3], r[4], r[5])) for r in rows]
        first = found[0]
        arm, n = rows[0][6], rows[0][7]
        if n is not None and n > 1:
            continue  # an id on several list rows (duplicate_id): matched to nobody
        if n is None:
            problems.append(warning("feedback_unknown_id", first.origin,
                                    f"feedback for participant {pid!r}, who is not in the "
                                    "randomised list; it is not used",
                                    "check the id against the randomised list", pid))
            continue
        if arm == Arm.CONTROL.value:
            problems.append(warning("feedback_for_control", first.origin,
                                    f"feedback for {pid!r}, a control participant; it is never "
                                    "used", "nothing to do: control participants get no letter",
                                    pid))
            continue
        if len({(f.line_1, f.line_2) for f in found}) > 1:
            places = " and ".join(f.origin.describe() for f in found)
            problems.append(error("conflicting_feedback", first.origin,
                                  f"participant {pid!r} has different feedback in {places}",
                                  "keep one version and delete the other", pid))
            store.add_error("conflicting_feedback", pid=pid)
            continue
        if len(found) > 1:
            problems.append(warning("duplicate_feedback", found[1].origin,
                                    f"the same feedback for {pid!r} appears again (first at "
                                    f"{first.origin.describe()}); it is used once",
                                    "delete the repeat", pid))
        if arm != Arm.TREATMENT.value:
            continue
        blank = [n for n, text in (("Feedback line 1", first.line_1),
                                   ("Feedback line 2", first.line_2)) if not text]
        if blank:
            problems.append(error("blank_feedback", first.origin.at(column=None),
                                  f"{' and '.join(blank)} blank for participant {pid!r}",
                                  "every treatment participant needs two lines of feedback",
                                  pid))
            store.add_error("blank_feedback", pid=pid)
            continue
        for text in (first.line_1, first.line_2):
            if any(sign in text for sign in MARKUP_SIGNS):
                problems.append(warning("markup_in_feedback", first.origin,
                                        f"feedback for {pid!r} contains markup-like text "
                                        f"({text[:40]!r}); it is printed literally",
                                        "nothing to do unless it was pasted by mistake", pid))
                break
        store.accept_feedback(first)

    missing = store.rows(
        "SELECT row, pid FROM participants WHERE arm = 'treatment' AND pid != '' AND pid NOT IN "
        "(SELECT pid FROM feedback) AND (',' || errors || ',') NOT LIKE '%,duplicate_id,%' AND "
        "(',' || errors || ',') NOT LIKE '%,conflicting_feedback,%' AND "
        "(',' || errors || ',') NOT LIKE '%,blank_feedback,%' ORDER BY seq")
    for row, pid in list(missing):
        problems.append(error("missing_feedback", store.list_origin.at(row=row),
                              f"no feedback for treatment participant {pid!r}",
                              "ask the team manager for two lines of feedback and add them "
                              "to a feedback file", pid))
        store.add_error("missing_feedback", row=row)


def _counts(store: Store) -> Counts:
    one = store.scalar
    return Counts(
        participants=one("SELECT count(*) FROM participants"),
        treatment=one("SELECT count(*) FROM participants WHERE arm = 'treatment'"),
        control=one("SELECT count(*) FROM participants WHERE arm = 'control'"),
        feedback_matched=one("SELECT count(*) FROM participants p JOIN feedback f USING (pid) "
                             "WHERE p.arm = 'treatment'"),
        treatment_teams=one("SELECT count(DISTINCT team) FROM participants "
                            "WHERE arm = 'treatment'"),
        treatment_sites=one("SELECT count(DISTINCT site) FROM participants "
                            "WHERE arm = 'treatment'"))


def check(campaign: Campaign) -> CheckedInputs:
    """Read and check every input of ``campaign``. Close the result (or let it be collected)
    to remove its temporary store."""
    problems: list[Problem] = [*_unknown_mapped_fields(campaign), *check_assets(campaign)]
    store = Store(campaign)
    path = campaign.participants_file
    table = _read(campaign, path, sheet=campaign.spec.inputs.sheet, fields=LIST_FIELDS,
                  required=REQUIRED[campaign.kind])
    store.list_origin = table.origin
    list_read = not any(p.is_error and p.code == "missing_column" for p in table.problems)
    if list_read:
        store.add_participants(_participant(row, campaign, problems) for row in table.rows())
    problems.extend(table.problems)
    list_read = list_read and (store.scalar("SELECT count(*) FROM participants") > 0
                               or not any(p.is_error for p in table.problems))
    _mark_duplicates(store, problems)
    files: list[Path] = [path]
    if campaign.kind == "letters":
        files += _read_feedback_files(campaign, store, problems)
        if list_read:
            _match_feedback(store, problems)
    else:
        _check_clusters(store, problems)
        _check_teams(store, problems)
    ordered = sorted(problems, key=lambda p: (p.origin.file != campaign.path.name, p.origin.file,
                                              p.origin.sheet or "", p.origin.row or 0))
    return CheckedInputs(campaign, store, tuple(ordered), _counts(store), tuple(files))
