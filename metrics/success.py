"""Organisation-level success metrics, by week and by month (reads only).

Each metric is computed for calendar weeks (Monday to Sunday) and calendar months in the
organisation's time zone, from a handful of queries bucketed in Python: the number of
clusters and fixes in a few months is small; tickets are read from the daily rollup.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from metrics.impact import Verdict
from metrics.models import DailyTicketVolume, FixImpact
from tickets.models import BugCluster, ClusterEvent, ClusterKind, ClusterStatus, FeedbackKind, Priority

WEEKS, MONTHS = 12, 7  # the current week and month are partial: 11 full weeks, 6 full months
FEEDBACK_CLUSTER_KINDS = (ClusterKind.FEATURE_REQUEST, ClusterKind.FEEDBACK)
RESPONDED_STATUSES = (ClusterStatus.IN_PROGRESS, ClusterStatus.FIXED, ClusterStatus.VERIFIED, ClusterStatus.WONT_FIX)


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    definition: str
    unit: str  # "share" (0-1) or "days"
    target: str = ""
    meets: Callable[[float], bool] | None = None  # whether a value is on target


METRICS = [
    Metric(
        "fix_success_rate",
        "Fix success rate",
        "Of the fixes deployed in the period whose 30 days after are complete and measurable, the share "
        "with a verdict of complete (90%+ fewer tickets) or effective (70-90% fewer). Fixes with too few "
        "baseline tickets are left out.",
        "share",
    ),
    *[
        Metric(
            f"time_to_fix_{p.lower()}",
            f"Time to fix, {p}",
            f"Median time from a {p} cluster's first ticket to its deployed fix, for fixes deployed in the period.",
            "days",
        )
        for p in Priority.values
    ],
    Metric(
        "time_to_acknowledge",
        "Time to acknowledge",
        "Median time from a bug cluster's creation to product's first action on it (acknowledged_at - "
        "created_at), for bug clusters created in the period and acknowledged since.",
        "days",
    ),
    Metric(
        "reproduction_rate",
        "Reproduction rate",
        "Share of bug clusters created in the period that product has marked reproduced.",
        "share",
    ),
    Metric(
        "ticket_reduction",
        "Repetitive-ticket reduction",
        "For fixes deployed in the period with 30 complete days after: 1 - (tickets in those clusters in "
        "the 30 days after) / (tickets expected from their baselines, adjusted for weekday and company-wide "
        "volume). 60% means 6 in 10 repeat tickets were prevented.",
        "share",
    ),
    Metric(
        "feedback_share",
        "Feedback share of tickets",
        "Share of all tickets reported in the period that are not bug reports (feature requests, UX "
        "feedback, documentation gaps, at-risk signals, praise, competitive intel).",
        "share",
        "5-10%",
        lambda v: 0.05 <= v <= 0.10,
    ),
    Metric(
        "feedback_response_rate",
        "Product response rate to feedback",
        "Share of feedback clusters (feature requests and other feedback) created in the period that "
        "product answered: a written response or question, or a decision (in progress, fixed, verified, "
        "won't fix).",
        "share",
        "80%+",
        lambda v: v >= 0.80,
    ),
    Metric(
        "feedback_time_to_acknowledge",
        "Time to acknowledge feedback",
        "Median time from a feedback cluster's creation to product's first action on it, for feedback "
        "clusters created in the period and acknowledged since.",
        "days",
        "under 5 days",
        lambda v: v < 5,
    ),
]


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _months_back(day: date, n: int) -> date:
    month = day.year * 12 + day.month - 1 - n
    return date(month // 12, month % 12 + 1, 1)


def _local(moment: datetime) -> date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def _share(yes: int, n: int) -> dict:
    return {"value": round(yes / n, 4) if n else None, "n": n}


def _median(values: list[float]) -> dict:
    return {"value": round(statistics.median(values), 2) if values else None, "n": len(values)}


def _periods(today: date) -> tuple[list[date], list[date]]:
    weeks = [_week_start(today) - timedelta(weeks=i) for i in reversed(range(WEEKS))]
    months = [_months_back(today, i) for i in reversed(range(MONTHS))]
    return weeks, months


def success_window(*, today: date | None = None) -> tuple[date, date]:
    """First and last day the success metrics read."""
    today = today or _local(timezone.now())
    weeks, months = _periods(today)
    return min(weeks[0], months[0]), today


def success_metrics(*, today: date | None = None) -> dict:
    """Every success metric for the last 12 weeks and 7 months (the current ones partial), with definitions."""
    today = today or _local(timezone.now())
    weeks, months = _periods(today)
    start = min(weeks[0], months[0])
    start_at = timezone.make_aware(datetime.combine(start, datetime.min.time()), timezone.get_default_timezone())
    samples: dict[str, list[tuple[date, object]]] = defaultdict(list)  # metric -> (day, sample)

    for row in FixImpact.objects.filter(deploy_day__gte=start, is_final=True).values(
        "deploy_day", "verdict", "expected_after", "after_tickets"
    ):
        if row["verdict"] in Verdict.MEASURED:
            samples["fix_success_rate"].append((row["deploy_day"], row["verdict"] in Verdict.SUCCESSFUL))
            samples["ticket_reduction"].append((row["deploy_day"], (row["expected_after"], row["after_tickets"])))

    for deployed, first, priority in BugCluster.objects.filter(
        fix_deployed_at__gte=start_at, first_reported_at__isnull=False, priority__in=Priority.values
    ).values_list("fix_deployed_at", "first_reported_at", "priority"):
        samples[f"time_to_fix_{priority.lower()}"].append((_local(deployed), max(0.0, _days(deployed - first))))

    answered = ClusterEvent.objects.filter(
        cluster=OuterRef("pk"), kind__in=(ClusterEvent.Kind.RESPONSE, ClusterEvent.Kind.QUESTION)
    )
    clusters = BugCluster.objects.filter(created_at__gte=start_at).annotate(answered=Exists(answered))
    for kind, created, acked, reproduced, status, was_answered in clusters.values_list(
        "kind", "created_at", "acknowledged_at", "reproduced_at", "status", "answered"
    ):
        day = _local(created)
        if kind == ClusterKind.BUG:
            samples["reproduction_rate"].append((day, reproduced is not None))
            if acked:
                samples["time_to_acknowledge"].append((day, max(0.0, _days(acked - created))))
        elif kind in FEEDBACK_CLUSTER_KINDS:
            samples["feedback_response_rate"].append((day, bool(was_answered or status in RESPONDED_STATUSES)))
            if acked:
                samples["feedback_time_to_acknowledge"].append((day, max(0.0, _days(acked - created))))

    for day, kind, n in (
        DailyTicketVolume.objects.filter(day__gte=start)
        .values("day", "feedback_kind")
        .annotate(n=Sum("count"))
        .order_by()
        .values_list("day", "feedback_kind", "n")
    ):
        samples["feedback_share"].append((day, (n if kind != FeedbackKind.BUG_REPORT else 0, n)))

    def summarise(metric: Metric, items: list) -> dict:
        if metric.key == "ticket_reduction":
            expected = sum(e for e, _ in items)
            actual = sum(a for _, a in items)
            value = round(1 - actual / expected, 4) if expected else None
            return {"value": value, "n": len(items), "prevented": round(expected - actual) if items else 0}
        if metric.key == "feedback_share":
            return _share(sum(f for f, _ in items), sum(t for _, t in items))
        if metric.unit == "share":
            return _share(sum(1 for x in items if x), len(items))
        return _median(items)

    def bucket(starts: list[date], key: Callable[[date], date]) -> dict[str, list]:
        out = {}
        for metric in METRICS:
            grouped = defaultdict(list)
            for day, sample in samples[metric.key]:
                grouped[key(day)].append(sample)
            cells = [summarise(metric, grouped.get(s, [])) for s in starts]
            for cell in cells:
                known = metric.meets is not None and cell["value"] is not None
                cell["on_target"] = metric.meets(cell["value"]) if known else None
            out[metric.key] = cells
        return out

    by_week, by_month = bucket(weeks, _week_start), bucket(months, _month_start)
    return {
        "weeks": [w.isoformat() for w in weeks],
        "months": [m.strftime("%Y-%m") for m in months],
        "metrics": [
            {
                "key": m.key,
                "name": m.name,
                "definition": m.definition,
                "unit": m.unit,
                "target": m.target,
                "by_week": by_week[m.key],
                "by_month": by_month[m.key],
            }
            for m in METRICS
        ],
    }
