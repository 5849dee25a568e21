"""SLA status: breaches that happened this week (not the backlog), clocks due in the next 7 days, and this
week's compliance against last week's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slas.selectors import compliance_report
from triage.review.selectors.common import Shared
from triage.review.weeks import ReviewWeek


@dataclass
class SlaSection:
    week: ReviewWeek
    shared: Shared
    breaches: list = field(default_factory=list)  # the newest of the week, with their cluster
    breach_count: int = 0
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


def sla_status(week: ReviewWeek, shared: Shared) -> SlaSection:
    """Breaches of this week and last (one query, by when the deadline was missed) and two weeks of
    compliance (one query)."""
    breaches, count, before = shared.breaches()
    report = compliance_report(weeks=2, now=week.now, through=week.start)["weeks"]
    last, this = report if len(report) == 2 else (None, None)
    return SlaSection(
        week=week,
        shared=shared,
        breaches=breaches,
        breach_count=count,
        breaches_before=before,
        compliance=this,
        compliance_before=last,
    )
