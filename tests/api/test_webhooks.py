"""Outbound webhooks against a real HTTP receiver on a local port."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from tests.tickets.factories import TicketFactory
from tickets.clusters.services import cluster_create, cluster_mark_fixed
from tickets.integrations.signing import sign, verify
from tickets.integrations.webhooks import (
    webhook_cluster_created,
    webhook_deliveries_sweep,
    webhook_sla_alert,
    webhook_threshold_reached,
)
from tickets.models import BugCluster, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db
SECRET = "s3cret-shared-with-the-help-desk"


class Receiver:
    """A help desk's endpoint: verifies each POST and answers with the next scripted status."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify(SECRET, self.headers["X-Triage-Timestamp"], self.headers["X-Triage-Signature"], body)
                outer.received.append(
                    {"verified": ok, "event": self.headers["X-Triage-Event"], "body": json.loads(body)}
                )
                code = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/triage"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def subscription(receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    return WebhookSubscription.objects.create(
        name="Zendesk",
        url=receiver.url,
        secret=SECRET,
        events=["cluster.created", "cluster.fixed", "sla.breach", "cluster.status_changed"],
    )


def test_cluster_created_is_signed_retried_after_500_and_sent_once(
    receiver, subscription, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 200]
    with django_capture_on_commit_callbacks(execute=True):
        cluster = cluster_create(title="Checkout 4001")
    assert [r["event"] for r in receiver.received] == ["cluster.created", "cluster.created"]
    assert all(r["verified"] for r in receiver.received)
    assert receiver.received[1]["body"]["cluster"]["id"] == cluster.pk
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert sorted(delivery.attempt_log.values_list("status_code", flat=True)) == [200, 500]
    # The same event again (a retried transaction, a second worker): nothing more is queued or sent.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        webhook_cluster_created(clusters=[cluster])
    webhook_deliveries_sweep()
    assert len(receiver.received) == 2 and WebhookDelivery.objects.count() == 1


def test_fixed_event_lists_the_help_desk_tickets(receiver, subscription, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = cluster_create(title="Login loop")
    TicketFactory(cluster=cluster, source="zendesk", external_id="ZD-42")
    with django_capture_on_commit_callbacks(execute=True):
        cluster_mark_fixed(cluster=cluster, deployed_at=timezone.now() - timedelta(minutes=5))
    fixed = [r for r in receiver.received if r["event"] == "cluster.fixed"]
    assert len(fixed) == 1 and fixed[0]["verified"]
    assert fixed[0]["body"]["cluster"]["tickets"] == [{"source": "zendesk", "external_id": "ZD-42"}]
    assert fixed[0]["body"]["data"] == {"old_status": "new", "new_status": "fixed"}
    assert {r["event"] for r in receiver.received} == {"cluster.created", "cluster.fixed", "cluster.status_changed"}


def test_sla_breach_and_unsubscribed_events(receiver, subscription, django_capture_on_commit_callbacks):
    cluster = BugCluster.objects.create(title="Slow export")
    payload = {"policy": "P1", "target": "ack", "level": 1, "due_at": "2026-11-20T10:00:00Z"}
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        webhook_sla_alert(cluster=cluster, event="sla.breach", payload=payload)
        webhook_sla_alert(cluster=cluster, event="sla.breach", payload=payload)
        webhook_sla_alert(cluster=cluster, event="sla.warning", payload=payload)
    assert [r["event"] for r in receiver.received] == ["sla.breach"]
    assert receiver.received[0]["body"]["data"]["target"] == "ack"


def test_broker_outage_loses_nothing(receiver, subscription, django_capture_on_commit_callbacks, monkeypatch):
    from tickets.tasks import webhook_deliver

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(webhook_deliver, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        cluster_create(title="Queued while Redis was down")
    assert receiver.received == [] and WebhookDelivery.objects.get().status == "pending"
    monkeypatch.undo()
    assert webhook_deliveries_sweep() == 1
    assert WebhookDelivery.objects.get().status == "delivered" and len(receiver.received) == 1
    assert webhook_deliveries_sweep() == 0  # twice: one effect


def test_gives_up_after_max_attempts_and_admin_redelivers(receiver, subscription, admin_user, client):
    receiver.statuses = [503] * 20
    cluster = BugCluster.objects.create(title="Down receiver")
    from tickets.integrations.webhooks import MAX_ATTEMPTS, webhook_event_record
    from tickets.tasks import webhook_deliver

    webhook_event_record(event="cluster.created", event_id="cluster.created:x", cluster=cluster)
    delivery = WebhookDelivery.objects.get()
    webhook_deliver(delivery.pk)  # retries (no backoff in this test) until it gives up
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", MAX_ATTEMPTS, 503)
    receiver.statuses = []
    client.force_login(admin_user)
    response = client.post(
        "/admin/tickets/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    webhook_deliveries_sweep()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and receiver.received[-1]["verified"]


def test_verify_helper_rejects_tampering_and_replays():
    body = b'{"event":"cluster.fixed"}'
    now = int(time.time())
    good = sign(SECRET, now, body)
    assert good.startswith("sha256=") and verify(SECRET, str(now), good, body)
    assert not verify(SECRET, str(now), good, body + b" ")
    assert not verify("other", str(now), good, body)
    old = now - 301
    assert not verify(SECRET, str(old), sign(SECRET, old, body), body)
    assert not verify(SECRET, None, good, body) and not verify(SECRET, "soon", good, body)


def test_threshold_and_acknowledged_events(receiver, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    WebhookSubscription.objects.create(
        name="Desk", url=receiver.url, secret=SECRET, events=["cluster.threshold_reached", "cluster.acknowledged"]
    )
    from tickets.clusters.services import cluster_acknowledge

    cluster = BugCluster.objects.create(title="Spike")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            webhook_threshold_reached(cluster=cluster, count=20, window_days=7)
        cluster_acknowledge(cluster=cluster, actor=None)
    assert [r["event"] for r in receiver.received] == ["cluster.threshold_reached", "cluster.acknowledged"]
    assert receiver.received[0]["body"]["data"] == {"count": 20, "window_days": 7}
    assert all(r["verified"] for r in receiver.received)


def test_sweep_takes_over_a_delivery_whose_worker_died(receiver, subscription):
    cluster = BugCluster.objects.create(title="Crash mid-send")
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event="cluster.created",
        event_id="cluster.created:crash",
        payload={"event": "cluster.created", "cluster": {"id": cluster.pk}},
        status=WebhookDelivery.Status.SENDING,
        attempts=1,
        next_attempt_at=timezone.now() - timedelta(seconds=1),  # its lease ran out
    )
    assert webhook_deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.received) == 1
