"""Reads of the metrics app: daily series, fix lists, a week's volumes and verdict changes."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from metrics.filters import FixImpactFilterSet
from metrics.models import DailyClusterVolume, DailyTicketVolume, FixImpact, FixVerdictChange


def daily_volumes(
    *, cluster_ids: list[int], day_from: date, day_to: date
) -> tuple[dict[int, dict[date, int]], dict[date, int]]:
    """Per-cluster and organisation-wide tickets per day from the rollup (days with none are absent)."""
    per_cluster: dict[int, dict[date, int]] = defaultdict(dict)
    rows = DailyClusterVolume.objects.filter(cluster_id__in=cluster_ids, day__gte=day_from, day__lte=day_to)
    for cluster_id, day, count in rows.values_list("cluster_id", "day", "count").iterator(chunk_size=5000):
        per_cluster[cluster_id][day] = count
    totals = dict(
        DailyTicketVolume.objects.filter(day__gte=day_from, day__lte=day_to)
        .values("day")
        .annotate(n=Sum("count"))
        .order_by()
        .values_list("day", "n")
    )
    return per_cluster, totals


def fixed_cluster_volumes(*, day_from: date, day_to: date) -> dict[date, int]:
    """Tickets per day in clusters that have a fix deployed (left out of every fix's control series)."""
    return dict(
        DailyClusterVolume.objects.filter(day__gte=day_from, day__lte=day_to, cluster__fix_impact__isnull=False)
        .values("day")
        .annotate(n=Sum("count"))
        .order_by()
        .values_list("day", "n")
    )


def fix_impact_filterset(*, filters=None, request=None) -> FixImpactFilterSet:
    """The shared FilterSet over measured fixes (newest deploy first), bound to `filters`."""
    queryset = FixImpact.objects.select_related("cluster", "cluster__owner").defer("series")
    return FixImpactFilterSet(filters or {}, queryset=queryset, request=request)


def fix_impact_for(*, cluster_id: int) -> FixImpact | None:
    """The stored measurement of a cluster's fix (as last measured; nothing is measured here)."""
    return FixImpact.objects.filter(cluster_id=cluster_id).defer("series").first()


def fix_impact_list(*, filters=None, request=None) -> QuerySet[FixImpact]:
    """Measured fixes filtered by the shared FilterSet; nothing when a filter value is refused."""
    filterset = fix_impact_filterset(filters=filters, request=request)
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def fix_impact_get(*, cluster) -> FixImpact | None:
    """A fix's measurement as last taken (pages show when); measuring is beat's job, or an explicit POST."""
    return FixImpact.objects.filter(cluster=cluster).first()


# --- A week at a glance (the weekly review reads these) -----------------------------------------


BUSIEST_CANDIDATES = 10  # clusters ranked per cluster wanted, before the clusters' own filters apply


def busiest_clusters(
    clusters: QuerySet,
    *,
    day_from: date,
    day_to: date,
    compare_from: date,
    compare_to: date,
    limit: int,
    weeks: list[date] = (),
    among_few: bool = False,
) -> list:
    """The `limit` clusters of `clusters` with the most tickets on days `day_from`..`day_to` (then by id), each
    with `period_tickets` and `compare_tickets` (its tickets on `compare_from`..`compare_to`), and `weekly`:
    its tickets in each of the 7-day weeks starting on the days in `weeks`.

    Ranks every cluster on the rollup's day index alone (an index-only scan, no join), keeps the best
    candidates and applies `clusters`' filters to those: one query. Only when the filters leave fewer
    than `limit` of a full candidate list (most busy clusters are of another kind) does a second query
    rank the filtered clusters directly. `among_few`: `clusters` are a small part of all clusters (feature
    requests among bugs), so rank them directly at once: one query.
    """
    in_period = DailyClusterVolume.objects.filter(day__gte=day_from, day__lte=day_to)

    def ranked(volumes: QuerySet, size: int) -> QuerySet:
        return (
            volumes.values("cluster_id")
            .annotate(n=Sum("count"))
            .filter(n__gt=0)
            .order_by("-n", "cluster_id")
            .values("cluster_id")[:size]
        )

    def total(day_a: date, day_b: date) -> Subquery:
        days = DailyClusterVolume.objects.filter(cluster_id=OuterRef("pk"), day__gte=day_a, day__lte=day_b)
        return Subquery(days.order_by().values("cluster_id").annotate(n=Sum("count")).values("n")[:1])

    def read(candidates: QuerySet) -> list:
        per_week = {f"week_{i}": Coalesce(total(m, m + timedelta(days=6)), 0) for i, m in enumerate(weeks)}
        found = list(
            clusters.filter(pk__in=candidates)
            .annotate(
                period_tickets=Coalesce(total(day_from, day_to), 0),
                compare_tickets=Coalesce(total(compare_from, compare_to), 0),
                **per_week,
            )
            .order_by("-period_tickets", "pk")[:limit]
        )
        for cluster in found:
            cluster.weekly = [getattr(cluster, name) for name in per_week]
        return found

    if among_few:
        return read(ranked(in_period.filter(cluster__in=clusters.values("pk")), limit))
    size = limit * BUSIEST_CANDIDATES
    found = read(ranked(in_period, size))
    if len(found) < limit and in_period.values("cluster_id").distinct().count() > size:
        found = read(ranked(in_period.filter(cluster__in=clusters.values("pk")), limit))
    return found


def ticket_volume_by_kind(*, day_from: date, day_to: date) -> dict[date, dict[str, int]]:
    """The organisation's tickets per day and feedback kind from the rollup; one query."""
    volume: dict[date, dict[str, int]] = defaultdict(dict)
    rows = DailyTicketVolume.objects.filter(day__gte=day_from, day__lte=day_to)
    for day, kind, count in rows.values_list("day", "feedback_kind", "count"):
        volume[day][kind] = count
    return volume


def fix_verdict_changes(
    *, start: datetime, end: datetime, cluster_fields: tuple[str, ...] = ()
) -> list[FixVerdictChange]:
    """Verdicts reached or changed in [start, end), oldest first, each with its fix, cluster and owner; one
    query. `cluster_fields` limits what is read to what the caller shows: of the fix its deploy time only
    (the daily series with `fix_series`), of each cluster (and its owner) those fields."""
    changes = (
        FixVerdictChange.objects.filter(measured_at__gte=start, measured_at__lt=end)
        .select_related("fix_impact", "fix_impact__cluster", "fix_impact__cluster__owner")
        .order_by("measured_at", "id")
    )
    if cluster_fields:
        changes = changes.only(
            "measured_at", "verdict", "provisional_verdict", "previous_verdict", "previous_provisional_verdict",
            "change_pct", "days_observed", "fix_impact__deployed_at", "fix_impact__cluster",
            *(f"fix_impact__cluster__{name}" for name in cluster_fields),
        )  # fmt: skip
    return list(changes)


def fix_series(*, fix_ids: list[int]) -> dict[int, list]:
    """The daily series (61 days around the deploy) of the given measurements, by id; one query."""
    return dict(FixImpact.objects.filter(pk__in=fix_ids).order_by().values_list("pk", "series"))
