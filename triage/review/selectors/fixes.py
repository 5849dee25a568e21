"""Did the fixes work? Every fix whose verdict was first reached or changed this week, from the verdict history
the measurements keep (nothing is measured here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from metrics.impact import Verdict
from metrics.models import FixImpact
from metrics.selectors import fix_series, fix_verdict_changes
from tickets.models import BugCluster, ClusterStatus
from triage.review.selectors.common import Shared
from triage.review.weeks import ReviewWeek

FAILED = (Verdict.NO_CHANGE, Verdict.WORSE, Verdict.REGRESSED)
REOPENABLE = (ClusterStatus.FIXED, ClusterStatus.VERIFIED)
LABELS = dict(Verdict.CHOICES)
# What a row and its cell show of a cluster (and its owner); nothing else is read.
CELL_FIELDS = (
    "title", "kind", "status", "priority", "owner", "fix_eta", "workaround", "merged_into",
    "owner__username", "owner__first_name", "owner__last_name",
)  # fmt: skip
FULL_ROWS = 6


@dataclass
class FixRow:
    """One fix whose verdict moved this week: from what (at the week's start) to what (at its end)."""

    cluster: BugCluster
    impact: FixImpact
    verdict: str  # reached this week (the provisional read while pending)
    provisional: bool
    previous: str  # before this week ("" for a first verdict)
    change_pct: float | None
    days_observed: int
    measured_at: object
    series: list = field(default_factory=list)  # the daily plot's points, read for the rows shown in full

    @property
    def label(self) -> str:
        return LABELS.get(self.verdict, self.verdict)

    @property
    def previous_label(self) -> str:
        return LABELS.get(self.previous, self.previous)

    @property
    def failed(self) -> bool:
        """No change, worse or regressed: the fix did not work and the cluster may be reopened."""
        return self.verdict in FAILED

    @property
    def worked(self) -> bool:
        return self.verdict in Verdict.SUCCESSFUL

    @property
    def can_reopen(self) -> bool:
        return self.failed and self.cluster.status in REOPENABLE


@dataclass
class FixesSection:
    rows: list[FixRow]
    week: ReviewWeek

    @property
    def full(self) -> list[FixRow]:
        """The rows shown with their plot and actions: the failed fixes and the biggest changes first."""
        return self.rows[:FULL_ROWS]

    @property
    def compact(self) -> list[FixRow]:
        """The rest of the week's changes, one line each."""
        return self.rows[FULL_ROWS:]

    @property
    def failed(self) -> list[FixRow]:
        return [r for r in self.rows if r.failed]

    @property
    def wins(self) -> list[FixRow]:
        return [r for r in self.rows if r.worked]


def fixes_changed(week: ReviewWeek, shared: Shared | None = None) -> FixesSection:
    """Two queries: the week's verdict changes with their fix and cluster, then the daily series of the fixes
    shown in full. Failed fixes first, then by change."""
    first_of: dict[int, object] = {}
    last_of: dict[int, object] = {}
    for change in fix_verdict_changes(start=week.start, end=week.end, cluster_fields=CELL_FIELDS):
        first_of.setdefault(change.fix_impact_id, change)
        last_of[change.fix_impact_id] = change
    rows = []
    for fix_id, last in last_of.items():
        if last.current_verdict in (Verdict.PENDING, Verdict.INSUFFICIENT_DATA):
            continue
        impact = last.fix_impact
        rows.append(
            FixRow(
                cluster=impact.cluster,
                impact=impact,
                verdict=last.current_verdict,
                provisional=last.verdict == Verdict.PENDING,
                previous=first_of[fix_id].previous_current_verdict,
                change_pct=last.change_pct,
                days_observed=last.days_observed,
                measured_at=last.measured_at,
            )
        )
    rows.sort(key=lambda r: (not r.failed, r.change_pct if r.change_pct is not None else 0.0, r.cluster.pk))
    full = rows[:FULL_ROWS]
    series = fix_series(fix_ids=[r.impact.pk for r in full]) if full else {}
    for row in full:
        row.series = series.get(row.impact.pk) or []
    if shared is not None:
        shared.show(r.cluster for r in full)
    return FixesSection(rows=rows, week=week)
