"""Feature requests trending: the week's most-asked requests against last week, who asks and in what words,
and what product decided."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from metrics.selectors import busiest_clusters
from tickets.feedback.requests import decision_text, feature_requests_asked
from tickets.models import BugCluster, Segment
from triage.review.selectors.common import Shared, change
from triage.review.selectors.top import excerpt
from triage.review.weeks import ReviewWeek

REQUESTS_SHOWN = 8
SEGMENTS = dict(Segment.choices)


@dataclass
class RequestRow:
    """A feature request asked for this week, against the same days of last week."""

    cluster: BugCluster
    tickets: int
    previous: int
    change: dict[str, Any]
    customers: int
    mrr: Decimal
    decision: str
    quote: dict[str, str] | None


@dataclass
class RequestsSection:
    rows: list[RequestRow]
    week: ReviewWeek


def _quote(found: dict | None) -> dict[str, str] | None:
    if not found or not str(found.get("words") or "").strip():
        return None
    segment = found.get("segment") or ""
    return {
        "text": excerpt(str(found["words"])),
        "customer": found.get("customer") or "",
        "segment": SEGMENTS.get(segment, segment),
    }


def feature_requests_trending(
    week: ReviewWeek, shared: Shared | None = None, *, limit: int = REQUESTS_SHOWN
) -> RequestsSection:
    """The section: the `limit` feature requests with the most tickets this week (so far), ranked on the daily
    rollup, each with its customers and their MRR this week, the newest words of a customer and the latest
    decision. One query."""
    clusters = busiest_clusters(
        feature_requests_asked(start=week.start, end=week.end),
        day_from=week.monday,
        day_to=week.last_day,
        compare_from=week.previous.monday,
        compare_to=week.compare_last_day,
        limit=limit,
        among_few=True,
    )
    rows = [
        RequestRow(
            cluster=cluster,
            tickets=cluster.period_tickets,
            previous=cluster.compare_tickets,
            change=change(cluster.period_tickets, cluster.compare_tickets),
            customers=cluster.asked_customers,
            mrr=cluster.asked_mrr or Decimal(0),
            decision=decision_text(cluster.latest_decision),
            quote=_quote(cluster.asked_quote),
        )
        for cluster in clusters
    ]
    return RequestsSection(rows=rows, week=week)
