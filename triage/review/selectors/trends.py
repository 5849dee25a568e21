"""Ticket trends: the week's tickets against last week's, bugs against other feedback, the top ticket types and
the feedback share (target 5-10%)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from metrics.selectors import ticket_volume_by_kind
from tickets.models import FeedbackKind
from triage.review.selectors.common import Shared, change
from triage.review.weeks import ReviewWeek

TREND_WEEKS = 8
TOP_TYPES = 3
FEEDBACK_SHARE_TARGET = (0.05, 0.10)
KIND_LABELS = dict(FeedbackKind.choices)


@dataclass
class TrendsSection:
    week: ReviewWeek
    total: int = 0
    previous: int = 0
    change: dict[str, Any] = field(default_factory=dict)
    bugs: int = 0
    other: int = 0
    by_kind: list[tuple[str, int]] = field(default_factory=list)
    top_types: list[tuple[str, int]] = field(default_factory=list)
    types_counted_at: datetime | None = None
    weekly: list[int] = field(default_factory=list)
    spark_weeks: list[ReviewWeek] = field(default_factory=list)

    @property
    def feedback_share(self) -> float | None:
        return self.other / self.total if self.total else None

    @property
    def feedback_on_target(self) -> bool | None:
        share = self.feedback_share
        low, high = FEEDBACK_SHARE_TARGET
        return None if share is None else low <= share <= high


def ticket_trends(week: ReviewWeek, shared: Shared) -> TrendsSection:
    """One query: daily tickets per kind over 8 weeks (the rollup); the tickets per type come from the
    week's snapshot (counted with its patterns by the hourly task), read once for the page."""
    first = week.monday - timedelta(days=7 * (TREND_WEEKS - 1))
    volume = ticket_volume_by_kind(day_from=first, day_to=week.sunday)
    weekly = [0] * TREND_WEEKS
    kinds: dict[str, int] = {}
    previous = 0
    for day, counts in volume.items():
        n = sum(counts.values())
        weekly[(day - first).days // 7] += n
        if week.monday <= day <= week.last_day:
            for kind, count in counts.items():
                kinds[kind] = kinds.get(kind, 0) + count
        elif week.previous.monday <= day <= week.compare_last_day:
            previous += n
    total = sum(kinds.values())
    bugs = kinds.get(FeedbackKind.BUG_REPORT, 0)
    snapshot = shared.snapshot()
    types = (snapshot.type_counts or []) if snapshot else []
    return TrendsSection(
        week=week,
        total=total,
        previous=previous,
        change=change(total, previous),
        bugs=bugs,
        other=total - bugs,
        by_kind=sorted(((KIND_LABELS.get(k, k), n) for k, n in kinds.items()), key=lambda kv: -kv[1]),
        top_types=[(row["name"], row["tickets"]) for row in types[:TOP_TYPES]],
        types_counted_at=snapshot.computed_at if snapshot else None,
        weekly=weekly,
        spark_weeks=week.weeks_back(TREND_WEEKS),
    )
