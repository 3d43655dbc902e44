"""The delivery summary, shaped like a CONSORT flow: allocated → produced / withheld (by
reason), per arm and per authority; for cluster trials, clusters and people as well."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from hhp_letters.audit import Allocation

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
    "invalid_row": "row unusable (no id)",
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

    def check(self) -> None:
        """The numbers must add up; raise if they do not (a bug, never bad input)."""
        assert sum(a.allocated for a in self.arms) == self.total_rows
        for a in self.arms:
            assert a.produced + sum(a.withheld.values()) == a.allocated, a


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

    def add(self, a: Allocation) -> None:
        self.total += 1
        arm = a.arm or "unknown"
        self.allocated[arm] += 1
        if a.status == "produced":
            self.produced[arm] += 1
        else:
            self.withheld[arm][a.reason or "unknown"] += 1
        if a.cluster:
            self.clusters[arm].add(a.cluster)
            self.people_in[(arm, a.cluster)] += 1
            if a.status == "produced":
                self.produced_clusters[arm].add(a.cluster)
        cell = self.table[(a.authority or "?", arm)]
        cell[0] += 1
        cell[1 if a.status == "produced" else 2] += 1

    def watch(self, allocations: Iterable[Allocation]) -> Iterator[Allocation]:
        """Pass ``allocations`` through, counting each."""
        for a in allocations:
            self.add(a)
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


def _box(x: int, y: int, w: int, lines: Sequence[str], bold: bool = False) -> str:
    h = 18 + 16 * len(lines)
    text = "".join(
        f'<text x="{x + 10}" y="{y + 22 + 16 * i}" font-weight="{weight}">'
        f"{html.escape(line)}</text>"
        for i, line in enumerate(lines)
        for weight in ("bold" if bold and i == 0 else "normal",))
    return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="white" stroke="black"/>'
            + text)


def _arrow(x1: int, y1: int, x2: int, y2: int) -> str:
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="black" '
            'marker-end="url(#arrow)"/>')


def flow_svg(s: Summary) -> str:
    col_w, gap = 330, 40
    parts: list[str] = []
    height = 0
    for i, a in enumerate(s.arms):
        x = 10 + i * (col_w + gap)
        alloc = [f"{a.arm.capitalize()}: allocated {a.allocated}"]
        if s.kind == "notes":
            alloc.append(f"{a.clusters} clusters (sites)")
        parts.append(_box(x, 10, col_w, alloc, bold=True))
        produced = [f"{s.output_name.capitalize()} produced: {a.produced}"]
        if s.kind == "notes":
            produced.append(f"{a.clusters_produced} clusters, "
                            f"{a.people_in_produced_clusters} people")
        y2 = 40 + 16 * len(alloc) + 40
        parts.append(_arrow(x + col_w // 2, 28 + 16 * len(alloc), x + col_w // 2, y2))
        parts.append(_box(x, y2, col_w, produced, bold=True))
        y3 = y2 + 18 + 16 * len(produced) + 40
        withheld = [f"Not produced: {sum(a.withheld.values())}"] + [
            f"  {REASON_TEXT.get(c, c)}: {n}" for c, n in sorted(a.withheld.items())]
        parts.append(_arrow(x + col_w // 2, y2 + 18 + 16 * len(produced), x + col_w // 2, y3))
        parts.append(_box(x, y3, col_w, withheld))
        height = max(height, y3 + 18 + 16 * len(withheld) + 10)
    width = 20 + len(s.arms) * (col_w + gap)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13" '
            'role="img" aria-label="Delivery flow">'
            '<defs><marker id="arrow" markerWidth="10" markerHeight="10" refX="9" refY="3" '
            'orient="auto"><path d="M0,0 L9,3 L0,6 z"/></marker></defs>'
            + "".join(parts) + "</svg>")


def to_html(s: Summary) -> str:
    rows = "".join(f"<tr><td>{html.escape(c)}</td><td>{html.escape(arm)}</td><td>{n}</td>"
                   f"<td>{p}</td><td>{w}</td></tr>" for c, arm, n, p, w in s.by_authority)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Delivery summary: {html.escape(s.title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 2rem auto; color: #000; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #444; padding: .3rem .7rem; text-align: right; }}
td:first-child, td:nth-child(2), th:first-child, th:nth-child(2) {{ text-align: left; }}
code {{ font-size: .85em; word-break: break-all; }}
@media print {{ body {{ margin: 0; }} svg {{ max-width: 100%; height: auto; }} }}
</style></head><body>
<h1>Delivery summary</h1>
<p>{html.escape(s.title)}. Rows of the randomised list: <strong>{s.total_rows}</strong>.</p>
{flow_svg(s)}
<h2>By authority</h2>
<table><tr><th>authority</th><th>arm</th><th>allocated</th><th>produced</th>
<th>not produced</th></tr>{rows}</table>
<p>Computed from the audit log ending at <code>{s.head}</code> (audit.head).
Re-check with <code>hhp-letters verify RUN_DIR</code>.</p>
</body></html>
"""
