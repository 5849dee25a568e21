"""Tickets reported on days the beat no longer recounts (a help desk's back-dated history) join the
organisation's daily totals when they are filed, not only at the next `metrics_rebuild`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.utils import timezone

from metrics.services.rollup import local_day, rollup_rebuild
from tickets.models import Ticket

RECENT_DAYS = 2  # the days `metrics.rollup_recent_days` recounts every few minutes


def _ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as (first, last) runs of consecutive days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def rollup_backdated_tickets(*, ticket_ids: Iterable[int]) -> int:
    """Recount the organisation's totals of the older days these tickets were reported on; returns rows changed.

    One grouped count per run of consecutive days; clusters' counts are kept by the assignment signals.
    """
    recent_from = local_day(timezone.now()) - timedelta(days=RECENT_DAYS - 1)
    days = {
        local_day(moment)
        for moment in Ticket.objects.filter(pk__in=list(ticket_ids)).values_list("reported_at", flat=True)
    }
    changed = 0
    for first, last in _ranges(d for d in days if d < recent_from):
        changed += rollup_rebuild(day_from=first, day_to=last, cluster_ids=[], totals=True)
    return changed
