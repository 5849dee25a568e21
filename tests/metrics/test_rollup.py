"""The daily-count rollup: maintained as tickets arrive, and rebuilt from the tickets table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from metrics.models import DailyClusterVolume, DailyTicketVolume
from metrics.services import rollup_rebuild
from metrics.tasks import rollup_recent_days_task
from tests.metrics.factories import at, tickets_on
from tests.tickets.factories import ClusterFactory
from tickets.clusters.services import cluster_refresh_counters, ticket_attach_to_cluster
from tickets.intake.services import ticket_create
from tickets.models import FeedbackKind, Ticket

pytestmark = pytest.mark.django_db


def cluster_counts(cluster) -> dict:
    return dict(DailyClusterVolume.objects.filter(cluster=cluster).values_list("day", "count"))


def total_counts() -> dict:
    return {(d, k): n for d, k, n in DailyTicketVolume.objects.values_list("day", "feedback_kind", "count")}


def test_filed_and_assigned_tickets_are_counted_as_they_arrive(agent, django_capture_on_commit_callbacks):
    first, second = ClusterFactory(), ClusterFactory()
    day = timezone.localdate() - timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_create(subject="Checkout fails", cluster=first, agent=agent, reported_at=at(day))
        ticket_create(subject="Please add dark mode", feedback_kind=FeedbackKind.FEATURE_REQUEST, reported_at=at(day))
    assert cluster_counts(first) == {day: 1}
    # The organisation's daily volume is brought up to date by the periodic task, not per ticket.
    assert rollup_recent_days_task() is True
    assert rollup_recent_days_task() is False  # nothing changed since: one COUNT per side, no rebuild
    assert total_counts() == {(day, "bug_report"): 1, (day, "feature_request"): 1}

    with django_capture_on_commit_callbacks(execute=True):
        ticket_attach_to_cluster(ticket=ticket, cluster=second, source="person", actor=agent)
    assert cluster_counts(first) == {day: 0}
    assert cluster_counts(second) == {day: 1}

    with django_capture_on_commit_callbacks(execute=True):
        Ticket.objects.get(pk=ticket.pk).delete()
    assert cluster_counts(second) == {day: 0}
    assert total_counts()[(day, "bug_report")] == 0


def test_rebuild_recounts_from_tickets_and_is_idempotent():
    cluster = ClusterFactory()
    start = date(2026, 1, 10)
    tickets_on(start, 3, cluster=cluster)
    tickets_on(start + timedelta(days=1), 2, cluster=cluster)
    tickets_on(start + timedelta(days=1), 5, kind=FeedbackKind.PRAISE)
    # A stale row the tickets no longer support, and a wrong count.
    DailyClusterVolume.objects.create(cluster=cluster, day=start - timedelta(days=1), count=7)
    DailyClusterVolume.objects.create(cluster=cluster, day=start, count=1)

    changed = rollup_rebuild(day_from=start - timedelta(days=5), day_to=start + timedelta(days=5))
    assert changed == 6  # cluster: one stale deleted, one corrected, one added; three totals added
    assert cluster_counts(cluster) == {start: 3, start + timedelta(days=1): 2}
    assert total_counts() == {(start, "bug_report"): 3, (start + timedelta(days=1), "bug_report"): 2,
                              (start + timedelta(days=1), "praise"): 5}  # fmt: skip
    assert rollup_rebuild(day_from=start - timedelta(days=5), day_to=start + timedelta(days=5)) == 0


def test_days_follow_the_organisations_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    cluster = ClusterFactory()
    late_evening_utc = datetime(2026, 5, 5, 2, 30, tzinfo=UTC)
    Ticket.objects.create(source="s", external_id="tz-1", subject="x", reported_at=late_evening_utc, cluster=cluster)
    rollup_rebuild(day_from=date(2026, 5, 1), day_to=date(2026, 5, 8))
    assert cluster_counts(cluster) == {date(2026, 5, 4): 1}


def test_a_merge_moves_the_daily_counts_with_the_tickets(product_lead, django_capture_on_commit_callbacks):
    from tickets.clusters.corrections import cluster_merge, correction_undo

    source, target = ClusterFactory(title="Checkout 4001"), ClusterFactory(title="Card declined 4001")
    first, second = date(2026, 3, 2), date(2026, 3, 5)
    tickets_on(first, 2, cluster=source)
    tickets_on(second, 3, cluster=target)
    for cluster in (source, target):
        cluster_refresh_counters(cluster=cluster)
    rollup_rebuild(day_from=first, day_to=second)
    with django_capture_on_commit_callbacks(execute=True):
        correction = cluster_merge(source=source, into=target, actor=product_lead)
    assert cluster_counts(source) == {}
    assert cluster_counts(target) == {first: 2, second: 3}
    with django_capture_on_commit_callbacks(execute=True):
        correction_undo(correction=correction, actor=product_lead)
    assert cluster_counts(source) == {first: 2}
    assert cluster_counts(target) == {second: 3}
