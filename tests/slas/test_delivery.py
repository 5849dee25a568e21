"""Alert delivery: channels, the signed webhook, retries that resend only what failed, no duplicates."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from slas.models import Alert
from slas.services import alert_deliver, clock_sync, timers_sweep
from slas.tasks import alert_deliver_task
from tests.slas.factories import PolicyFactory
from tests.slas.receiver import start_receiver
from tests.tickets.factories import ClusterFactory, UserFactory
from tickets import signals
from tickets.models import WebhookDelivery, WebhookSubscription

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    r.server.shutdown()


def breached_cluster(policy, **cluster_fields):
    """A cluster whose acknowledgment window has just breached; returns (cluster, breach alert)."""
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = ClusterFactory(**cluster_fields)
        clock_sync(cluster_id=cluster.pk)
    with time_machine.travel(MONDAY_10 + timedelta(minutes=policy.ack_minutes), tick=False):
        timers_sweep()  # on_commit not run: alerts stay unsent, as if the worker were down
    return cluster, Alert.objects.get(cluster=cluster, kind="breach")


@pytest.mark.django_db
def test_signed_webhook_chat_email_label_and_the_help_desks_webhooks(receiver, settings):
    owner = UserFactory(email="owner@example.com")
    policy = PolicyFactory(
        ack_minutes=60,
        warning_percent=0,
        webhook_url=receiver.url,
        webhook_secret="s3cret",
        chat_webhook_url=receiver.url,
    )
    cluster, alert = breached_cluster(policy, owner=owner, title="Invoices missing")
    desk = WebhookSubscription.objects.create(name="Desk", url="http://127.0.0.1:9/", secret="x", events=["sla.breach"])
    assert alert_deliver(alert_id=alert.pk) == "sent"
    assert alert_deliver(alert_id=alert.pk) == "skipped"  # the task delivered twice

    [queued] = WebhookDelivery.objects.filter(subscription=desk)  # the help desk's own webhook, queued once
    assert queued.event == "sla.breach" and queued.payload["data"]["alert_id"] == alert.pk
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
    chat, hook = receiver.requests
    assert "SLA breach: acknowledgment overdue" in json.loads(chat.body)["text"]
    timestamp, signature = hook.headers["X-Triage-Timestamp"], hook.headers["X-Triage-Signature"]
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + hook.body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert hook.headers["X-Triage-Event"] == "sla.breach"
    assert hook.headers["X-Triage-Delivery"] == str(alert.pk)
    body = json.loads(hook.body)
    assert body["cluster"]["title"] == "Invoices missing" and body["target"] == "ack"
    cluster.refresh_from_db()
    assert cluster.labels == ["sla-breached:ack"]
    alert.refresh_from_db()
    assert alert.sent_at and set(alert.deliveries) == {"event", "email", "chat", "webhook", "label", "helpdesk"}


@pytest.mark.django_db
def test_a_failing_channel_is_retried_alone(receiver):
    policy = PolicyFactory(ack_minutes=60, warning_percent=0, webhook_url=receiver.url, webhook_secret="k" * 16)
    receiver.statuses = [500]
    _, alert = breached_cluster(policy, owner=UserFactory(email="o@example.com"))
    assert alert_deliver(alert_id=alert.pk) == "retry"
    alert.refresh_from_db()
    assert alert.sent_at is None and "webhook" in alert.last_error and alert.deliveries.get("email") == "sent"
    assert alert_deliver(alert_id=alert.pk) == "sent"
    assert len(mail.outbox) == 1  # the email was not sent again
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_a_worker_killed_mid_send_is_picked_up_by_the_sweep_after_the_lease(settings):
    settings.SLA_DELIVERY_LEASE_SECONDS = 300
    policy = PolicyFactory(ack_minutes=60, warning_percent=0)
    _, alert = breached_cluster(policy, owner=UserFactory(email="o@example.com"))
    # A worker claimed it (lease taken) and died before sending.
    Alert.objects.filter(pk=alert.pk).update(lease_until=MONDAY_10 + timedelta(minutes=65), attempts=1)
    with time_machine.travel(MONDAY_10 + timedelta(minutes=62), tick=False):
        assert alert_deliver_task.delay(alert.pk).get() == "skipped"  # still leased: no duplicate
        with TestCase.captureOnCommitCallbacks(execute=True):
            assert timers_sweep()["requeued"] == 0  # not stale yet
    later = MONDAY_10 + timedelta(minutes=70)
    with time_machine.travel(later, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        assert timers_sweep()["requeued"] == 1
    alert.refresh_from_db()
    assert alert.sent_at is not None and alert.attempts == 2
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_gives_up_after_max_attempts_and_shows_failed(receiver, settings):
    settings.SLA_DELIVERY_MAX_ATTEMPTS = 2
    receiver.statuses = [500, 500, 500]
    policy = PolicyFactory(
        ack_minutes=60, warning_percent=0, webhook_url=receiver.url, notify_email=False, webhook_secret="k" * 16
    )
    _, alert = breached_cluster(policy)
    assert alert_deliver(alert_id=alert.pk) == "retry"
    assert alert_deliver(alert_id=alert.pk) == "failed"
    alert.refresh_from_db()
    assert alert.status == "failed" and "HTTP 500" in alert.last_error


@pytest.mark.django_db
def test_threshold_reached_goes_to_product_leads(product_lead, django_capture_on_commit_callbacks):
    product_lead.email = "lee@example.com"
    product_lead.save()
    cluster = ClusterFactory(title="Payment declined")
    with django_capture_on_commit_callbacks(execute=True):
        signals.cluster_threshold_reached.send(sender=type(cluster), cluster=cluster, count=20, window_days=7)
    alert = Alert.objects.get(cluster=cluster, kind="threshold")
    assert alert.sent_at is not None
    assert [m.to for m in mail.outbox] == [["lee@example.com"]]
    assert "20 tickets in 7 days" in mail.outbox[0].subject
    assert cluster.events.filter(kind="alert").count() == 1
