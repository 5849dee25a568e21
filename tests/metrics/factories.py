"""Helpers that write tickets in bulk at chosen days, for the rollup and fix-impact tests."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

import numpy as np
from django.utils import timezone

from tests.metrics.simulate import WEEKLY
from tickets.models import BugCluster, FeedbackKind, Ticket

_serial = itertools.count()


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_default_timezone())


def tickets_on(day: date, count: int, *, cluster: BugCluster | None = None, kind: str = FeedbackKind.BUG_REPORT):
    """Write `count` tickets reported on `day` straight to the table (no signals, like an import)."""
    Ticket.objects.bulk_create(
        [
            Ticket(
                source="sim",
                external_id=f"SIM-{next(_serial)}",
                subject="Simulated report",
                reported_at=at(day, 9 + i % 8),
                cluster=cluster,
                feedback_kind=kind,
            )
            for i in range(count)
        ]
    )


def history(
    cluster: BugCluster,
    *,
    deploy_day: date,
    per_day: float,
    effect: float = 1.0,
    control_per_day: float = 40.0,
    days_after: int = 30,
    seed: int = 1,
) -> None:
    """Simulated ticket history around a deploy day: the cluster and the rest of the organisation."""
    rng = np.random.default_rng(seed)
    for offset in range(-30, days_after + 1):
        day = deploy_day + timedelta(days=offset)
        weekly = WEEKLY[day.weekday()]
        rate = per_day * weekly * (effect if offset > 0 else 1.0)
        tickets_on(day, int(rng.poisson(rate)), cluster=cluster)
        tickets_on(day, int(rng.poisson(control_per_day * weekly)))
