"""Every test starts with the rows the migrations seed, also after a transactional test emptied the tables.

The second test below runs after the first one's flush: without the conftest putting the rows back, it would
see no ticket types, service levels or handoff triggers, while the same test run alone would see them all.
"""

from __future__ import annotations

import pytest

from slas.models import BusinessCalendar, SlaPolicy
from tickets.models import EvidenceField, FeedbackQueue, TicketType
from triage.models import AtRiskRule, HandoffTrigger

pytestmark = pytest.mark.django_db(transaction=True)


def seeded() -> dict[str, int]:
    return {
        "ticket types": TicketType.objects.count(),
        "evidence fields": EvidenceField.objects.count(),
        "feedback queues": FeedbackQueue.objects.count(),
        "business calendars": BusinessCalendar.objects.count(),
        "service levels": SlaPolicy.objects.count(),
        "handoff triggers": HandoffTrigger.objects.count(),
        "at-risk rules": AtRiskRule.objects.count(),
    }


def test_the_migrations_seed_the_organisations_settings():
    counts = seeded()
    assert all(counts.values()), counts
    assert SlaPolicy.objects.filter(name="P1 - blocks revenue", calendar__name="24/7").exists()


def test_they_are_all_back_after_the_tables_were_flushed():
    counts = seeded()
    assert all(counts.values()), counts
    assert SlaPolicy.objects.filter(name="P1 - blocks revenue", calendar__name="24/7").exists()
    assert SlaPolicy.objects.filter(name="Praise and competitive intel: no clocks", no_clocks=True).exists()
