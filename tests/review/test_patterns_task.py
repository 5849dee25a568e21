"""The hourly snapshot of the strongest evidence patterns across every ticket type (mined off the page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from tests.review.helpers import LAST_MONDAY, NOW, THIS_MONDAY
from tests.tickets.factories import plant_login_pattern
from tickets.models import TicketType
from triage.review.models import WeekPatterns
from triage.review.tasks import patterns_refresh_task

pytestmark = pytest.mark.django_db


def test_the_week_patterns_of_every_type_are_ranked_together_and_pairs_of_one_finding_merge(review_now):
    plant_login_pattern(TicketType.objects.get(key="login_issue"))

    assert patterns_refresh_task() == [THIS_MONDAY.isoformat(), LAST_MONDAY.isoformat()]

    snapshot = WeekPatterns.objects.get(week=THIS_MONDAY)
    assert snapshot.window_end == NOW and snapshot.recent_tickets == 20
    (pattern,) = snapshot.patterns
    assert pattern["ticket_type"] == "Login issue" and pattern["count"] == 20
    assert set(pattern["text"].split(" + ")) == {"iOS 17.2", "biometric"} and pattern["lift"] > 3


def test_last_weeks_snapshot_is_mined_once_more_after_it_ended_and_then_left_alone(review_now):
    patterns_refresh_task()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert patterns_refresh_task() == [THIS_MONDAY.isoformat()]
    with time_machine.travel(NOW + timedelta(days=5), tick=False):  # Monday 16 March: 2026-W11 has ended
        assert patterns_refresh_task() == ["2026-03-16", THIS_MONDAY.isoformat()]
        assert patterns_refresh_task() == ["2026-03-16"]
    assert WeekPatterns.objects.get(week=THIS_MONDAY).window_end.date().isoformat() == "2026-03-16"
