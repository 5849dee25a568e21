"""Reads of the metrics app: daily series, fix lists."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import QuerySet, Sum

from metrics.filters import FixImpactFilterSet
from metrics.models import DailyClusterVolume, DailyTicketVolume, FixImpact


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


def fix_impact_list(*, filters=None, request=None) -> QuerySet[FixImpact]:
    """Measured fixes filtered by the shared FilterSet; nothing when a filter value is refused."""
    filterset = fix_impact_filterset(filters=filters, request=request)
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def fix_impact_get(*, cluster) -> FixImpact | None:
    """A fix's measurement as last taken (pages show when); measuring is beat's job, or an explicit POST."""
    return FixImpact.objects.filter(cluster=cluster).first()
