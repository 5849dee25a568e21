"""SLA status: breaches that happened this week (not the backlog), clocks due in the next 7 days, and this
week's compliance against last week's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slas.models import AlertKind
from slas.selectors import compliance_report
from triage.review.selectors.common import Shared
from triage.review.weeks import ReviewWeek

SHOWN = 12


@dataclass
class Breach:
    cluster: object
    target: str
    happened_at: object
    level_message: str


@dataclass
class SlaSection:
    week: ReviewWeek
    shared: Shared
    breaches: list[Breach] = field(default_factory=list)
    breaches_before: int = 0
    compliance: dict[str, Any] | None = None
    compliance_before: dict[str, Any] | None = None

    @property
    def due(self) -> list:
        """The soonest running clocks whose deadline falls in the next 7 days (current week only); read when
        the page's sections are all built."""
        return self.shared.due

    @property
    def due_count(self) -> int:
        return self.shared.due_total

    @property
    def shown_breaches(self) -> list[Breach]:
        return self.breaches[:SHOWN]


def _breaches(alerts, start, end) -> list[Breach]:
    """One breach per clock and target (a clock breaches once per window), newest first."""
    seen, found = set(), []
    for alert in sorted(alerts, key=lambda a: (a.happened_at, a.pk), reverse=True):
        if alert.kind != AlertKind.BREACH or not start <= alert.happened_at < end:
            continue
        key = (alert.cluster_id, alert.target, alert.cycle)
        if key in seen:
            continue
        seen.add(key)
        found.append(Breach(alert.cluster, alert.get_target_display(), alert.happened_at, alert.message))
    return found


def sla_status(week: ReviewWeek, shared: Shared) -> SlaSection:
    """Breaches of this week and last (from the alerts the page reads once) and two weeks of compliance
    (one query)."""
    alerts = shared.alerts()
    report = compliance_report(weeks=2, now=week.now, through=week.start)["weeks"]
    before, this = report if len(report) == 2 else (None, None)
    return SlaSection(
        week=week,
        shared=shared,
        breaches=_breaches(alerts, week.start, week.end),
        breaches_before=len(_breaches(alerts, week.previous.start, week.previous.end)),
        compliance=this,
        compliance_before=before,
    )
