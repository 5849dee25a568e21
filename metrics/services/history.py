"""The verdict history of fixes whose past was imported: measured again day by day, as the daily task would have."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from metrics.impact import PROVISIONAL_AFTER_DAYS, Verdict
from metrics.models import FixImpact, FixVerdictChange
from metrics.services.fixes import _FIELDS, _load_and_measure
from metrics.services.rollup import day_start, local_day

# The hourly task measures a day's fixes soon after midnight; the rebuild does it at this minute.
REBUILD_MINUTES_AFTER_MIDNIGHT = 30


def fix_verdict_history_rebuild(*, now: datetime | None = None) -> int:
    """Measure every fix again day by day, as the daily task would have since its deploy, and keep the
    verdicts it reached on the days it reached them. Returns the changes recorded.

    For fixes whose history was imported (the demo, a migration from another tool): their
    measurements otherwise all date from the import. Replaces the existing verdict history; reads
    the daily rollup as it is (rebuild it first when tickets were written without the services).
    Ends with every fix measured through yesterday, as the daily task leaves it.
    """
    now = now or timezone.now()
    today = local_day(now)
    recorded = 0
    with transaction.atomic():
        rows = list(FixImpact.objects.select_for_update().order_by("deploy_day", "pk"))
        if not rows:
            return 0
        FixVerdictChange.objects.filter(fix_impact__in=rows).delete()
        for row in rows:
            row.verdict, row.provisional_verdict, row.is_final, row.computed_through = Verdict.PENDING, "", False, None
        day: date = min(row.deploy_day for row in rows) + timedelta(days=PROVISIONAL_AFTER_DAYS + 1)
        while day <= today:
            through = day - timedelta(days=1)
            moment = min(day_start(day) + timedelta(minutes=REBUILD_MINUTES_AFTER_MIDNIGHT), now)
            # Before its seventh complete day a fix has no read to record; measure it only from then on.
            due = [r for r in rows if not r.is_final and (through - r.deploy_day).days >= PROVISIONAL_AFTER_DAYS]
            if day == today:  # the last run measures every fix still open, as the daily task does
                due = [r for r in rows if not r.is_final]
            if due:
                recorded += _load_and_measure(due, through, moment, reconcile=False)
            day += timedelta(days=1)
        for row in rows:
            FixImpact.objects.filter(pk=row.pk).update(updated_at=now, **{name: getattr(row, name) for name in _FIELDS})
    return recorded
