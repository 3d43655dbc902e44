"""The delivery summary, shaped like a CONSORT flow: allocated → produced / withheld (by
reason), per arm and per authority; for cluster trials, clusters and people as well."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hhp_letters.audit import Allocation
from hhp_letters.errors import InternalError
from hhp_letters.render.templating import environment
from hhp_letters.resources import resource_dir

REASON_TEXT = {
    "control_arm": "control arm (by design)",
    "missing_feedback": "no or incomplete feedback",
    "conflicting_feedback": "conflicting feedback",
    "invalid_address": "address incomplete or invalid",
    "overflow": "text too long for one page",
    "unprintable_character": "character the font cannot print",
    "duplicate_id": "participant id repeated",
    "unknown_arm": "arm not recognised",
    "unknown_authority": "authority not recognised",
    "missing_name": "name missing",
    "mixed_cluster": "site has mixed arms",
    "invalid_team": "team, site or manager missing",
    "invalid_row": "row unusable (no id, or a cell that cannot be used)",
    "readback_failed": "letter did not read back as written",
    "not_produced": "not produced (no output was made)",
    "held": "on hold (coordinator or manager)",
    "letter_design": "letterhead cannot be printed as designed",
    "already_sent": "letter sent in an earlier run",
    "not_requested": "not part of this re-issue",
}


@dataclass(frozen=True)
class ArmFlow:
    arm: str
    allocated: int
    produced: int
    withheld: Counter[str]
    clusters: int = 0
    clusters_produced: int = 0
    people_in_produced_clusters: int = 0


@dataclass(frozen=True)
class Summary:
    title: str
    kind: str
    head: str
    arms: tuple[ArmFlow, ...]
    by_authority: tuple[tuple[str, str, int, int, int], ...]  # code, arm, allocated, prod, with
    total_rows: int
    output_name: str  # letter | note

    @property
    def withheld(self) -> int:
        return sum(sum(a.withheld.values()) for a in self.arms)

    @property
    def treatment_withheld(self) -> int:
        """Treatment rows without an output in this run (with their reasons in the summary);
        control rows never have one and are not counted."""
        return sum(sum(a.withheld.values()) for a in self.arms if a.arm == "treatment")

    def check(self) -> None:
        """The numbers must add up; raise if they do not (a bug, never bad input)."""
        if sum(a.allocated for a in self.arms) != self.total_rows:
            raise InternalError("the summary's arms do not add up to the rows")
        for a in self.arms:
            if a.produced + sum(a.withheld.values()) != a.allocated:
                raise InternalError(f"the {a.arm} arm's numbers do not add up")


class Tally:
    """Counts allocations as they stream past (e.g. while the audit is written)."""

    def __init__(self) -> None:
        self.allocated: Counter[str] = Counter()
        self.produced: Counter[str] = Counter()
        self.withheld: dict[str, Counter[str]] = defaultdict(Counter)
        self.clusters: dict[str, set[str]] = defaultdict(set)
        self.produced_clusters: dict[str, set[str]] = defaultdict(set)
        self.people_in: dict[tuple[str, str], int] = defaultdict(int)  # (arm, cluster)
        self.table: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.total = 0

    def add(self, record: Mapping[str, Any]) -> None:
        """Count one allocation record (as the audit holds it)."""
        self.total += 1
        arm = str(record.get("arm") or "unknown")
        status, cluster = record.get("status"), record.get("cluster")
        self.allocated[arm] += 1
        if status == "produced":
            self.produced[arm] += 1
        else:
            self.withheld[arm][str(record.get("reason") or "unknown")] += 1
        if cluster:
            self.clusters[arm].add(str(cluster))
            self.people_in[(arm, str(cluster))] += 1
            if status == "produced":
                self.produced_clusters[arm].add(str(cluster))
        cell = self.table[(str(record.get("authority") or "?"), arm)]
        cell[0] += 1
        cell[1 if status == "produced" else 2] += 1

    def watch(self, allocations: Iterable[Allocation]) -> Iterator[Allocation]:
        """Pass ``allocations`` through, counting each."""
        for a in allocations:
            self.add(a.fields())
            yield a

    def summary(self, *, title: str, kind: str, head: str) -> Summary:
        order = {"treatment": 0, "control": 1}
        flows = tuple(
            ArmFlow(arm, self.allocated[arm], self.produced[arm], self.withheld[arm],
                    len(self.clusters[arm]), len(self.produced_clusters[arm]),
                    sum(self.people_in[(arm, c)] for c in self.produced_clusters[arm]))
            for arm in sorted(self.allocated, key=lambda x: order.get(x, 2)))
        by_auth = tuple((code, arm, vals[0], vals[1], vals[2])
                        for (code, arm), vals in sorted(self.table.items()))
        result = Summary(title, kind, head, flows, by_auth, self.total,
                         "note" if kind == "notes" else "letter")
        result.check()
        return result


def _reason(code: str) -> str:
    return f"{REASON_TEXT.get(code, code)} (`{code}`)"


def to_markdown(s: Summary) -> str:
    out = [f"# Delivery summary: {s.title}", "",
           f"Computed from the audit log ending at `{s.head}` (audit.head).", "",
           f"Rows of the randomised list: **{s.total_rows}**", ""]
    for a in s.arms:
        out.append(f"## {a.arm.capitalize()} arm")
        out.append("")
        out.append(f"- Allocated: **{a.allocated}**")
        if s.kind == "notes":
            out.append(f"  - clusters (sites): {a.clusters}")
        out.append(f"- {s.output_name.capitalize()} produced: **{a.produced}**")
        if s.kind == "notes":
            out.append(f"  - clusters that received a note: {a.clusters_produced}; people in "
                       f"them: {a.people_in_produced_clusters}")
        out.append(f"- Not produced: **{sum(a.withheld.values())}**")
        for code, n in sorted(a.withheld.items()):
            out.append(f"  - {_reason(code)}: {n}")
        out.append("")
    out += ["## By authority", "", "| authority | arm | allocated | produced | not produced |",
            "|---|---|---:|---:|---:|"]
    out += [f"| {c} | {arm} | {n} | {p} | {w} |" for c, arm, n, p, w in s.by_authority]
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class FlowBox:
    """A box of a CONSORT-style diagram (the run's, and the campaign's in record.py)."""

    x: int
    y: int
    w: int
    lines: tuple[str, ...]
    bold: bool = False

    @property
    def h(self) -> int:
        return 18 + 16 * len(self.lines)


@dataclass(frozen=True)
class _Flow:
    width: int
    height: int
    boxes: tuple[FlowBox, ...]
    arrows: tuple[tuple[int, int, int, int], ...]


def _flow(s: Summary) -> _Flow:
    """Where the CONSORT-style boxes and arrows go (the template draws them)."""
    col_w, gap = 330, 40
    boxes: list[FlowBox] = []
    arrows: list[tuple[int, int, int, int]] = []
    height = 0
    for i, a in enumerate(s.arms):
        x = 10 + i * (col_w + gap)
        mid = x + col_w // 2
        alloc = [f"{a.arm.capitalize()}: allocated {a.allocated}"]
        if s.kind == "notes":
            alloc.append(f"{a.clusters} clusters (sites)")
        top = FlowBox(x, 10, col_w, tuple(alloc), bold=True)
        produced = [f"{s.output_name.capitalize()} produced: {a.produced}"]
        if s.kind == "notes":
            produced.append(f"{a.clusters_produced} clusters, "
                            f"{a.people_in_produced_clusters} people")
        middle = FlowBox(x, top.y + top.h + 40, col_w, tuple(produced), bold=True)
        withheld = [f"Not produced: {sum(a.withheld.values())}"] + [
            f"  {REASON_TEXT.get(c, c)}: {n}" for c, n in sorted(a.withheld.items())]
        bottom = FlowBox(x, middle.y + middle.h + 40, col_w, tuple(withheld))
        boxes += [top, middle, bottom]
        arrows += [(mid, top.y + top.h, mid, middle.y), (mid, middle.y + middle.h, mid,
                                                         bottom.y)]
        height = max(height, bottom.y + bottom.h + 10)
    return _Flow(20 + len(s.arms) * (col_w + gap), height, tuple(boxes), tuple(arrows))


def to_html(s: Summary) -> str:
    template = environment(autoescape=True).from_string(
        (resource_dir("templates") / "summary.html.j2").read_text(encoding="utf-8"))
    return template.render(s=s, flow=_flow(s))
