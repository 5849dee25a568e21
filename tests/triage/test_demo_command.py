"""seed_demo as a command: deterministic for a seed, idempotent with --if-empty, strict about its options."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from metrics.models import DailyTicketVolume
from tickets import signals
from tickets.models import BugCluster, ClusterKind, Customer, OutboxMessage, Ticket
from triage.demo import seed
from triage.demo.catalog import DEMO_FIX_EFFECTS
from triage.demo.customer_success import STORIES
from triage.demo.seed import demo_reset, demo_seed

TOLD = sum(len(story.tickets) for story in STORIES)  # the tickets that tell four accounts' troubles

END = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)


def fingerprint() -> list[tuple]:
    return list(
        Ticket.objects.order_by("source", "external_id").values_list(
            "source",
            "external_id",
            "subject",
            "description",
            "evidence",
            "reported_at",
            "status",
            "customer__name",
            "agent__username",
            "cluster__title",
        )
    )


@pytest.mark.django_db
def test_same_seed_gives_the_same_history_and_another_seed_does_not():
    demo_seed(tickets=400, seed=7, end=END)
    first = fingerprint()
    demo_reset()
    demo_seed(tickets=400, seed=7, end=END)
    assert fingerprint() == first
    demo_reset()
    demo_seed(tickets=400, seed=8, end=END)
    assert fingerprint() != first
    assert len(first) == 400 + TOLD


@pytest.mark.django_db
def test_if_empty_does_nothing_the_second_time_and_reset_replaces():
    out = StringIO()
    call_command("seed_demo", tickets=300, if_empty=True, no_progress=True, stdout=out)
    assert f"Created {300 + TOLD} tickets" in out.getvalue()
    ids = set(Ticket.objects.values_list("id", flat=True))
    out = StringIO()
    call_command("seed_demo", tickets=300, if_empty=True, no_progress=True, stdout=out)
    assert "already loaded; nothing to do" in out.getvalue()
    assert set(Ticket.objects.values_list("id", flat=True)) == ids
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_demo", tickets=300, no_progress=True, stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", tickets=200, reset=True, no_progress=True, stdout=out)
    assert f"Created {200 + TOLD} tickets" in out.getvalue()
    # The 200 of the history and its told stories, and the reports the weekly review's story of the last weeks
    # adds (its new bugs and the reports of its two recent fixes).
    assert 200 + TOLD < Ticket.objects.count() < 400 + TOLD
    assert Customer.objects.count() == 200
    # The 40 recurring bugs, plus any cluster the engine opened for the newest, waiting tickets.
    assert BugCluster.objects.filter(kind=ClusterKind.BUG).count() >= 40


@pytest.mark.django_db
def test_reset_leaves_no_daily_count_or_announcement_of_the_deleted_history(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        demo_seed(tickets=300, end=END)  # its fixes are measured after the commit: their windows are counted
    assert DailyTicketVolume.objects.filter(count__gt=0).exists()
    assert OutboxMessage.objects.exists()
    demo_reset()
    # Nothing still counts the deleted tickets: a history loaded next shows only its own tickets on every day.
    assert not DailyTicketVolume.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_bad_options_are_refused_with_what_is_allowed():
    with pytest.raises(CommandError, match="--tickets must be between 0 and 1,000,000"):
        call_command("seed_demo", tickets=2_000_000, stdout=StringIO())
    with pytest.raises(CommandError, match="--until must be an ISO date-time"):
        call_command("seed_demo", until="yesterday", stdout=StringIO())
    assert not Ticket.objects.exists()


def ticket_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [Ticket._meta.db_table])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.postgres
@pytest.mark.django_db
def test_large_loads_on_postgresql_rebuild_every_index_of_the_ticket_table(monkeypatch):
    monkeypatch.setattr(seed, "BULK_INDEX_THRESHOLD", 100)  # what a million-ticket run does
    before = ticket_indexes()
    assert len(before) >= 10
    demo_seed(tickets=300, end=END)
    assert ticket_indexes() == before
    assert Ticket.objects.count() == 300 + TOLD
    assert Ticket.objects.filter(cluster_assigned_at=None).exists()  # the partial index's rows are there


@pytest.mark.django_db
def test_imported_clusters_are_announced_to_the_apps_above_after_commit(django_capture_on_commit_callbacks):
    created, fixed = [], []

    def on_created(sender, cluster, **kwargs):
        created.append(cluster.pk)

    def on_fixed(sender, cluster, deployed_at, **kwargs):
        fixed.append((cluster.title, deployed_at))

    signals.cluster_created.connect(on_created, dispatch_uid="test-demo-created")
    signals.cluster_fix_deployed.connect(on_fixed, dispatch_uid="test-demo-fixed")
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            demo_seed(tickets=200, end=END)
        assert created == [] and fixed == []  # nothing before the commit
        for callback in callbacks:
            callback()
    finally:
        signals.cluster_created.disconnect(dispatch_uid="test-demo-created")
        signals.cluster_fix_deployed.disconnect(dispatch_uid="test-demo-fixed")
    assert sorted(created) == sorted(BugCluster.objects.values_list("pk", flat=True))
    assert sorted(fixed) == sorted(
        BugCluster.objects.exclude(fix_deployed_at=None).values_list("title", "fix_deployed_at")
    )
    assert len(fixed) == len(DEMO_FIX_EFFECTS)
