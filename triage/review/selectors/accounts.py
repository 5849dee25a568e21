"""At-risk accounts: the accounts customer success was alerted about this week (at-risk handoffs raised), with
why, the open bugs hitting them and what their CSM has done since."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tickets.models import Segment
from triage.accounts.selectors import WeeklyAtRisk, at_risk_accounts_for_week
from triage.review.selectors.common import Shared, change
from triage.review.weeks import ReviewWeek

ACCOUNTS_SHOWN = 10
SEGMENTS = dict(Segment.choices)


@dataclass
class AtRiskSection:
    rows: list[WeeklyAtRisk]
    week: ReviewWeek
    total: int = 0
    previous: int = 0
    change: dict[str, Any] = field(default_factory=dict)


def at_risk_accounts(week: ReviewWeek, shared: Shared | None = None, *, limit: int = ACCOUNTS_SHOWN) -> AtRiskSection:
    """The section: at-risk handoffs raised this week (so far), the biggest accounts first, and how many were
    raised on the same days of last week. One query."""
    found = at_risk_accounts_for_week(
        week_start=week.start,
        week_end=week.end,
        compare_start=week.previous.start,
        compare_end=week.compare_end,
        limit=limit,
    )
    return AtRiskSection(
        rows=found.rows,
        week=week,
        total=found.total,
        previous=found.previous,
        change=change(found.total, found.previous),
    )
