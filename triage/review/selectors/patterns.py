"""Emerging patterns: clusters that spiked or crossed their ticket threshold this week, and the strongest evidence
patterns across every ticket type (mined by a beat task into WeekPatterns; never on the page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from slas.models import AlertKind
from triage.review.models import WeekPatterns
from triage.review.selectors.common import Shared
from triage.review.weeks import ReviewWeek

SHOWN_PATTERNS = 10


@dataclass
class VolumeFlag:
    """A cluster flagged this week: spiking (ratio to its own baseline) or over its ticket threshold."""

    cluster: object
    happened_at: datetime
    message: str
    ratio: float | None = None
    count: int | None = None
    window: str = ""


@dataclass
class PatternsSection:
    week: ReviewWeek
    spiking: list[VolumeFlag] = field(default_factory=list)
    crossed: list[VolumeFlag] = field(default_factory=list)
    snapshot: WeekPatterns | None = None

    @property
    def patterns(self) -> list[dict]:
        return (self.snapshot.patterns if self.snapshot else [])[:SHOWN_PATTERNS]


def _flags(alerts, kind: str) -> list[VolumeFlag]:
    """One flag per cluster (its latest this week), newest first."""
    latest = {}
    for alert in alerts:
        if alert.kind == kind and alert.cluster_id not in latest:
            latest[alert.cluster_id] = alert
    flags = []
    for alert in latest.values():
        payload = alert.payload or {}
        spike = payload.get("spike") or {}
        flags.append(
            VolumeFlag(
                cluster=alert.cluster,
                happened_at=alert.created_at,
                message=alert.message,
                ratio=payload.get("ratio"),
                count=payload.get("count", spike.get("count")),
                window=spike.get("window") or (f"{payload['window_days']} days" if payload.get("window_days") else ""),
            )
        )
    return flags


def emerging_patterns(week: ReviewWeek, shared: Shared) -> PatternsSection:
    """The week's spikes and threshold crossings (one query) and the week's stored pattern snapshot (one
    query, shared with the ticket trends)."""
    alerts = shared.volume_alerts()
    return PatternsSection(
        week=week,
        spiking=_flags(alerts, AlertKind.SPIKE),
        crossed=_flags(alerts, AlertKind.THRESHOLD),
        snapshot=shared.snapshot(),
    )
