"""Tickets reported on days the beat no longer recounts (a help desk's back-dated history) join the
organisation's daily totals when they are placed in a cluster, not only at the next `metrics_rebuild`."""

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


def rollup_backdated_tickets(*, tickets: Iterable[Ticket]) -> int:
    """Recount the organisation's totals of the older days these newly placed tickets were reported on.

    Every ticket reaches a cluster once (the engine's or a person's), so this runs once per ticket, from
    the assignment's announcement. Costs nothing for today's and yesterday's tickets (the beat counts
    them); one grouped count per run of consecutive older days otherwise. Returns the rows changed.
    """
    recent_from = local_day(timezone.now()) - timedelta(days=RECENT_DAYS - 1)
    days = {local_day(t.reported_at) for t in tickets if t.reported_at is not None}
    changed = 0
    for first, last in _ranges(d for d in days if d < recent_from):
        changed += rollup_rebuild(day_from=first, day_to=last, cluster_ids=[], totals=True)
    return changed
