"""Top clusters by the week's tickets: counts against last week, 8 weeks of volume, the customers' own words."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, F, IntegerField, Q, Value, When, Window
from django.db.models.functions import RowNumber

from metrics.selectors import busiest_clusters
from tickets.clusters.selectors import cluster_list
from tickets.intake.selectors import ticket_list
from tickets.models import BugCluster, ClusterKind, ClusterStatus, Segment
from triage.review.selectors.common import Shared, change
from triage.review.weeks import ReviewWeek

TOP_LIMIT = 5
EXAMPLES = 3
CANDIDATES = 3  # tickets read per example wanted, so that repeated wordings can be skipped
SPARK_WEEKS = 8
EXCERPT_CHARS = 220
SEGMENTS = dict(Segment.choices)


@dataclass
class TopRow:
    """One of the week's busiest clusters with what the meeting looks at."""

    cluster: BugCluster
    tickets: int
    previous: int
    change: dict[str, Any]
    weekly: list[int]
    examples: list[dict[str, Any]] = field(default_factory=list)
    customers: int = 0
    mrr: Decimal = Decimal(0)
    segments: dict[str, int] = field(default_factory=dict)


@dataclass
class TopSection:
    rows: list[TopRow]
    week: ReviewWeek
    spark_weeks: list[ReviewWeek]


def busiest_bug_clusters(week: ReviewWeek, *, limit: int, spark_weeks: int = SPARK_WEEKS) -> list[BugCluster]:
    """Bug clusters with the most tickets this week (so far), then by id; with `period_tickets`,
    `compare_tickets` (the same weekdays of last week) and `weekly` (the last `spark_weeks` weeks, oldest
    first). One query over the daily rollup."""
    return busiest_clusters(
        cluster_list().filter(kind=ClusterKind.BUG).exclude(status=ClusterStatus.MERGED),
        day_from=week.monday,
        day_to=week.last_day,
        compare_from=week.previous.monday,
        compare_to=week.compare_last_day,
        limit=limit,
        weeks=[w.monday for w in week.weeks_back(spark_weeks)],
    )


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def week_tickets_of(
    week: ReviewWeek, cluster_ids: list[int], per_cluster: int = EXAMPLES
) -> tuple[dict[int, list[dict]], dict[int, tuple[int, Decimal, dict[str, int]]]]:
    """Per cluster, from its tickets of the week, in one query: a few examples (those with a description, the
    customer's words, and a customer first, newest first, each in other words than the others), and the
    customers who reported it with their MRR and segments (one row per customer comes back for those)."""
    said = Case(When(description="", then=Value(1)), default=Value(0), output_field=IntegerField())
    anonymous = Case(When(customer__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField())
    rows = (
        ticket_list()
        .filter(cluster_id__in=cluster_ids, reported_at__gte=week.start, reported_at__lt=week.end)
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=F("cluster_id"),
                order_by=[said.asc(), anonymous.asc(), F("reported_at").desc(), F("id").desc()],
            ),
            customer_rank=Window(RowNumber(), partition_by=[F("cluster_id"), F("customer_id")], order_by=[F("id")]),
        )
        .filter(Q(position__lte=per_cluster * CANDIDATES) | Q(customer_rank=1))
        .values(
            "id", "cluster_id", "position", "customer_rank", "subject", "description", "reported_at", "customer_id",
            "customer__name", "customer__segment", "customer__mrr",
        )
    )  # fmt: skip
    found: dict[int, list[dict]] = defaultdict(list)
    customers: dict[int, tuple[int, Decimal, dict[str, int]]] = {}
    seen: set[tuple[int, str]] = set()
    for row in sorted(rows, key=lambda r: (r["cluster_id"], r["position"])):
        cluster_id = row["cluster_id"]
        if row["customer_rank"] == 1 and row["customer_id"] is not None:
            count, total, segments = customers.get(cluster_id, (0, Decimal(0), {}))
            label = SEGMENTS.get(row["customer__segment"], row["customer__segment"])
            segments[label] = segments.get(label, 0) + 1
            customers[cluster_id] = (count + 1, total + (row["customer__mrr"] or Decimal(0)), segments)
        words = excerpt(row["description"]) or row["subject"]
        if row["position"] > per_cluster * CANDIDATES or (cluster_id, words) in seen:
            continue  # the same words twice say nothing new
        if len(found[cluster_id]) >= per_cluster:
            continue
        seen.add((cluster_id, words))
        found[cluster_id].append(
            {
                "id": row["id"],
                "subject": row["subject"],
                "excerpt": excerpt(row["description"]),
                "customer": row["customer__name"] or "",
                "segment": SEGMENTS.get(row["customer__segment"], row["customer__segment"] or ""),
                "reported_at": row["reported_at"],
            }
        )
    return found, customers


def top_clusters(week: ReviewWeek, shared: Shared | None = None, *, limit: int = TOP_LIMIT) -> TopSection:
    """The section: the `limit` busiest bug clusters of the week (two queries whatever the limit)."""
    clusters = busiest_bug_clusters(week, limit=limit)
    ids = [c.pk for c in clusters]
    examples, customers = week_tickets_of(week, ids) if ids else ({}, {})
    rows = []
    for cluster in clusters:
        count, mrr, segments = customers.get(cluster.pk, (0, Decimal(0), {}))
        rows.append(
            TopRow(
                cluster=cluster,
                tickets=cluster.period_tickets,
                previous=cluster.compare_tickets,
                change=change(cluster.period_tickets, cluster.compare_tickets),
                weekly=cluster.weekly,
                examples=examples.get(cluster.pk, []),
                customers=count,
                mrr=mrr,
                segments=segments,
            )
        )
    if shared is not None:
        shared.show(clusters)
    return TopSection(rows=rows, week=week, spark_weeks=week.weeks_back(SPARK_WEEKS))
