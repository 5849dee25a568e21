"""Side effects that cannot be lost: what a change causes in other apps survives a process that dies
right after the commit (its on_commit work never runs), and a receiver that fails is retried alone."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from metrics.models import DailyClusterVolume
from slas.models import SlaTimer
from tests.tickets.factories import TicketFactory
from tickets import signals
from tickets.clustering.assignment import tickets_assign
from tickets.clusters.services import cluster_create, cluster_set_status
from tickets.models import ClusterStatus, OutboxMessage, WebhookDelivery, WebhookSubscription
from tickets.outbox import outbox_dispatch, outbox_put, outbox_sweep
from tickets.tasks import outbox_sweep_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def help_desk():
    return WebhookSubscription.objects.create(
        name="Desk", url="http://127.0.0.1:9/hook", secret="s", events=["cluster.created", "cluster.status_changed"]
    )


def test_a_process_that_dies_after_the_commit_loses_no_sla_clock_and_no_webhook(
    help_desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as never_run:  # the process died after COMMIT
        cluster = cluster_create(title="Checkout error 4001")
    assert never_run  # the work it would have done after the commit
    assert not SlaTimer.objects.filter(cluster=cluster).exists()
    # The help desk's delivery was written with the cluster, in its transaction.
    assert WebhookDelivery.objects.filter(subscription=help_desk, event="cluster.created").count() == 1
    assert OutboxMessage.objects.filter(topic="cluster.created", sent_at=None).count() == 1

    assert outbox_sweep_task() == 1  # beat, 15 seconds later
    assert SlaTimer.objects.filter(cluster=cluster).count() == 3
    assert OutboxMessage.objects.get(topic="cluster.created").sent_at is not None
    assert outbox_sweep_task() == 0  # twice: one effect
    assert SlaTimer.objects.filter(cluster=cluster).count() == 3


def test_a_status_change_whose_process_died_still_stops_the_clock(
    product_lead, help_desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = cluster_create(title="Export times out")
    ack = SlaTimer.objects.get(cluster=cluster, target="ack")
    assert ack.state == "running"
    with django_capture_on_commit_callbacks(execute=False):
        cluster_set_status(cluster=cluster, status=ClusterStatus.ACKNOWLEDGED, actor=product_lead)
    assert WebhookDelivery.objects.filter(event="cluster.status_changed").count() == 1
    ack.refresh_from_db()
    assert ack.state == "running"  # nobody told the SLA app yet
    outbox_sweep()
    ack.refresh_from_db()
    assert ack.state == "met"


def test_engine_assignments_reach_the_daily_counts_after_a_crash(django_capture_on_commit_callbacks):
    tickets = [TicketFactory(subject=f"Invoice PDF renders blank, case {n}") for n in range(3)]
    with django_capture_on_commit_callbacks(execute=False):
        results = tickets_assign([t.pk for t in tickets])
    cluster = results[0].cluster
    assert {r.cluster.pk for r in results} == {cluster.pk}
    assert not DailyClusterVolume.objects.filter(cluster=cluster).exists()
    assert cluster.events.filter(kind="ticket_added").exists()  # the story says the engine added them
    outbox_sweep()
    assert sum(DailyClusterVolume.objects.filter(cluster=cluster).values_list("count", flat=True)) == 3


def test_a_failing_receiver_is_retried_alone_and_the_others_are_not_called_twice():
    calls = {"steady": 0, "flaky": 0}

    def steady(sender, **kwargs):
        calls["steady"] += 1

    def flaky(sender, **kwargs):
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RuntimeError("database hiccup")

    signals.cluster_updated.connect(steady, dispatch_uid="test-steady")
    signals.cluster_updated.connect(flaky, dispatch_uid="test-flaky")
    try:
        cluster = cluster_create(title="Calendar sync drops events")
        with transaction.atomic():
            message = outbox_put(topic="cluster.updated", cluster_id=cluster.pk, actor_id=None)
        assert outbox_dispatch(ids=[message.pk]) == 0
        message.refresh_from_db()
        assert message.sent_at is None and "database hiccup" in message.last_error
        assert outbox_dispatch(ids=[message.pk]) == 0  # not due yet: retried after a delay
        OutboxMessage.objects.filter(pk=message.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
        assert outbox_dispatch(ids=[message.pk]) == 1
    finally:
        signals.cluster_updated.disconnect(dispatch_uid="test-steady")
        signals.cluster_updated.disconnect(dispatch_uid="test-flaky")
    assert calls == {"steady": 1, "flaky": 2}
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 2


def test_two_dispatchers_never_send_one_message_twice():
    heard = []

    def listener(sender, cluster, **kwargs):
        heard.append(cluster.pk)
        assert outbox_dispatch() == 0  # a second dispatcher (another beat) runs while the first still sends

    signals.cluster_created.connect(listener, dispatch_uid="test-listener")
    try:
        cluster = cluster_create(title="Two beats at once")  # its commit's callbacks never run in this test
        assert outbox_sweep() == 1
        assert outbox_sweep() == 0
    finally:
        signals.cluster_created.disconnect(dispatch_uid="test-listener")
    assert heard == [cluster.pk]
