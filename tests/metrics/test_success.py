"""Success metrics: each figure from known clusters, fixes and tickets, by week and month."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from metrics.impact import Verdict
from metrics.models import DailyTicketVolume, FixImpact
from metrics.success import success_metrics
from tests.metrics.factories import at
from tests.tickets.factories import ClusterFactory
from tickets.models import BugCluster, ClusterEvent, ClusterKind, ClusterStatus, FeedbackKind

pytestmark = pytest.mark.django_db
TODAY = date(2026, 6, 20)  # a Saturday; its week starts Monday 2026-06-15
DAY = date(2026, 6, 10)  # in the week of 2026-06-08 and the month 2026-06


def cluster(*, created: date, **fields) -> BugCluster:
    c = ClusterFactory(**fields)
    BugCluster.objects.filter(pk=c.pk).update(created_at=at(created, 9))
    return c


def figures(key: str, period: str = "by_month", index: int = -1) -> dict:
    data = success_metrics(today=TODAY)
    return next(m for m in data["metrics"] if m["key"] == key)[period][index]


def test_every_metric_from_known_data():
    acked = cluster(created=DAY, acknowledged_at=at(DAY + timedelta(days=2), 9), reproduced_at=at(DAY, 12))
    cluster(created=DAY)  # neither acknowledged nor reproduced
    answered = cluster(created=DAY, kind=ClusterKind.FEATURE_REQUEST, acknowledged_at=at(DAY + timedelta(days=3), 9))
    ClusterEvent.objects.create(cluster=answered, kind=ClusterEvent.Kind.RESPONSE, message="On the roadmap")
    cluster(created=DAY, kind=ClusterKind.FEEDBACK)  # nobody answered
    cluster(created=DAY, kind=ClusterKind.FEEDBACK, status=ClusterStatus.WONT_FIX)  # a decision is an answer
    fixed = cluster(
        created=DAY - timedelta(days=60),
        priority="P1",
        first_reported_at=at(DAY - timedelta(days=4), 9),
        fix_deployed_at=at(DAY, 9),
    )
    FixImpact.objects.create(
        cluster=fixed, deployed_at=at(DAY), deploy_day=DAY, verdict=Verdict.EFFECTIVE, is_final=True,
        expected_after=100, after_tickets=20,
    )  # fmt: skip
    other = cluster(created=DAY - timedelta(days=60))
    FixImpact.objects.create(
        cluster=other, deployed_at=at(DAY), deploy_day=DAY, verdict=Verdict.NO_CHANGE, is_final=True,
        expected_after=50, after_tickets=55,
    )  # fmt: skip
    small = cluster(created=DAY - timedelta(days=60))
    FixImpact.objects.create(
        cluster=small, deployed_at=at(DAY), deploy_day=DAY, verdict=Verdict.INSUFFICIENT_DATA, is_final=True
    )
    DailyTicketVolume.objects.create(day=DAY, feedback_kind=FeedbackKind.BUG_REPORT, count=90)
    DailyTicketVolume.objects.create(day=DAY, feedback_kind=FeedbackKind.FEATURE_REQUEST, count=6)
    DailyTicketVolume.objects.create(day=DAY, feedback_kind=FeedbackKind.PRAISE, count=4)

    assert acked.pk
    no_target = {"on_target": None}
    assert figures("fix_success_rate") == {"value": 0.5, "n": 2, **no_target}  # insufficient data is left out
    assert figures("ticket_reduction") == {"value": 0.5, "n": 2, "prevented": 75, **no_target}  # 1 - 75/150
    assert figures("time_to_fix_p1") == {"value": 4.0, "n": 1, **no_target}
    assert figures("time_to_fix_p2") == {"value": None, "n": 0, **no_target}
    assert figures("time_to_acknowledge") == {"value": 2.0, "n": 1, **no_target}
    assert figures("reproduction_rate") == {"value": 0.5, "n": 2, **no_target}  # the two bug clusters created in June
    assert figures("feedback_share") == {"value": 0.1, "n": 100, "on_target": True}  # target 5-10%
    assert figures("feedback_response_rate") == {"value": 0.6667, "n": 3, "on_target": False}  # target 80%+
    assert figures("feedback_time_to_acknowledge") == {"value": 3.0, "n": 1, "on_target": True}  # under 5 days
    # The same figures land in their week; other weeks are empty.
    data = success_metrics(today=TODAY)
    assert data["weeks"][-2] == "2026-06-08" and data["months"][-1] == "2026-06"
    assert figures("feedback_share", "by_week", -2)["value"] == 0.1
    assert figures("feedback_share", "by_week", -1) == {"value": None, "n": 0, "on_target": None}
