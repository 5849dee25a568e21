"""Celery tasks of the metrics app: thin entry points around the services.

Services and receivers enqueue these by name (`tickets.queue.task_enqueue`), as beat does.
"""

from datetime import timedelta

from celery import shared_task
from django.db.models import Max, Min
from django.utils import timezone

from metrics.services import (
    fix_impact_recompute,
    fix_impacts_discover,
    fix_impacts_recompute_due,
    fix_impacts_remeasure_changed,
    fix_impacts_reopen_backfilled,
    metrics_catch_up,
)
from metrics.services.rollup import local_day, rollup_ensure, rollup_rebuild
from tickets.models import BugCluster


@shared_task(name="metrics.fix_impact_recompute")
def fix_impact_recompute_task(cluster_id: int) -> str | None:
    """Measure one cluster's fix now (after it was marked fixed), then every other fix whose control series
    the new fix changed (its cluster leaves their control); returns the verdict."""
    cluster = BugCluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        return None
    row = fix_impact_recompute(cluster=cluster)
    fix_impacts_remeasure_changed()
    return row.verdict if row else None


@shared_task(name="metrics.fix_impacts_remeasure_changed")
def fix_impacts_remeasure_task() -> int:
    """Measure again every fix whose daily counts changed since it was measured (tickets backfilled or moved
    into its windows, a fix recorded later); returns how many."""
    return fix_impacts_remeasure_changed()


@shared_task(name="metrics.fix_impacts_daily")
def fix_impacts_daily_task() -> int:
    """Register fixes nobody measured yet, reopen final ones that got backfilled tickets, then measure
    every fix not yet measured through yesterday.

    Runs hourly from beat; each fix is measured at most once a day until its 30 days are complete.
    """
    measured = metrics_catch_up()
    fix_impacts_discover()
    fix_impacts_reopen_backfilled()
    measured += fix_impacts_recompute_due()
    return measured + fix_impacts_remeasure_changed()


@shared_task(name="metrics.rollup_recent_days")
def rollup_recent_days_task(days: int = 2) -> bool:
    """Bring the organisation's daily counts of the last `days` days up to date with the tickets table.

    Runs every few minutes from beat; cheap when nothing changed (one COUNT on each side). Returns
    whether a rebuild was needed.
    """
    today = local_day(timezone.now())
    return rollup_ensure(day_from=today - timedelta(days=days), day_to=today)


@shared_task(name="metrics.rollup_clusters")
def rollup_clusters_task(cluster_ids: list[int]) -> int:
    """Recount the daily volumes of `cluster_ids` over the days their tickets span (after people moved
    tickets between them); returns the rows changed. Safe to run twice."""
    span = BugCluster.objects.filter(pk__in=cluster_ids).aggregate(
        first=Min("first_reported_at"), last=Max("last_reported_at")
    )
    if span["first"] is None:
        return 0
    changed = rollup_rebuild(
        day_from=local_day(span["first"]), day_to=local_day(span["last"]), cluster_ids=cluster_ids, totals=False
    )
    if changed:
        fix_impacts_remeasure_changed()  # moved tickets change fixed clusters' counts and the control series
    return changed
