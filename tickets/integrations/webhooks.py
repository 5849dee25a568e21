"""Outbound webhooks: turn cluster and SLA signals into signed POSTs to help desks.

Outbox: an event is first written as one WebhookDelivery row per interested
subscription (unique per subscription and event id, so it is never queued
twice), then a Celery task is enqueued after commit. If Redis or the worker is
down, the row waits and the beat sweep sends it later. A sender claims a row
with a conditional UPDATE before posting, so two workers never post it twice.
Delivery is at least once (a worker dying mid-POST means one resend); the
X-Triage-Delivery header carries the event id for receivers to dedupe on.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone

from tickets import signals
from tickets.integrations.signing import sign
from tickets.models import BugCluster, ClusterStatus, WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
SEND_LEASE = timedelta(minutes=2)
TICKETS_IN_PAYLOAD = 500
STATUS_EVENTS = {
    ClusterStatus.ACKNOWLEDGED: WebhookEvent.CLUSTER_ACKNOWLEDGED,
    ClusterStatus.FIXED: WebhookEvent.CLUSTER_FIXED,
    ClusterStatus.VERIFIED: WebhookEvent.CLUSTER_VERIFIED,
}


def cluster_payload(cluster: BugCluster) -> dict[str, Any]:
    """What a help desk needs to tell customers: the cluster and the tickets (its own ids) in it."""
    tickets = list(cluster.tickets.order_by("id").values("source", "external_id")[:TICKETS_IN_PAYLOAD])
    return {
        "id": cluster.pk,
        "title": cluster.title,
        "kind": cluster.kind,
        "status": cluster.status,
        "priority": cluster.priority,
        "ticket_count": cluster.ticket_count,
        "workaround": cluster.workaround,
        "fix_eta": cluster.fix_eta.isoformat() if cluster.fix_eta else None,
        "fix_deployed_at": cluster.fix_deployed_at.isoformat() if cluster.fix_deployed_at else None,
        "url": f"{settings.SITE_URL}/api/v1/clusters/{cluster.pk}/",
        "tickets": tickets,
    }


def webhook_event_record(*, event: str, event_id: str, cluster: BugCluster, data: dict | None = None) -> list[int]:
    """Queue `event` for every active subscription that wants it; returns the ids of new deliveries.

    Safe to call twice with the same `event_id`: the second call queues nothing.
    """
    subscriptions = [s for s in WebhookSubscription.objects.filter(is_active=True) if s.wants(event)]
    if not subscriptions:
        return []
    payload = {
        "id": event_id,
        "event": event,
        "occurred_at": timezone.now().isoformat(),
        "cluster": cluster_payload(cluster),
        "data": data or {},
    }
    with transaction.atomic():
        existing = set(
            WebhookDelivery.objects.filter(event_id=event_id, subscription__in=subscriptions).values_list(
                "subscription_id", flat=True
            )
        )
        rows = [
            WebhookDelivery(subscription=s, event=event, event_id=event_id, payload=payload)
            for s in subscriptions
            if s.pk not in existing
        ]
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        ids = list(
            WebhookDelivery.objects.filter(
                event_id=event_id, subscription__in=[r.subscription_id for r in rows], attempts=0
            ).values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: webhook_deliveries_enqueue(ids=ids))
    return ids


def webhook_deliveries_enqueue(*, ids: list[int]) -> None:
    """Hand deliveries to Celery; if the broker is unreachable they stay pending for the sweep."""
    from tickets.tasks import webhook_deliver

    for delivery_id in ids:
        try:
            webhook_deliver.delay(delivery_id)
        except Exception:  # broker down: the row is the source of truth, the sweep retries
            log.warning("could not enqueue webhook delivery %s; the sweep will send it", delivery_id, exc_info=True)


@dataclass
class AttemptOutcome:
    status: str
    retry_in: float | None = None


def backoff_seconds(attempts: int) -> float:
    """Exponential: base, 2*base, 4*base, ... capped at six hours."""
    base = float(getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30))
    return min(base * 2 ** max(attempts - 1, 0), 6 * 3600)


def webhook_delivery_attempt(*, delivery_id: int) -> AttemptOutcome | None:
    """POST one due delivery, log the attempt, and schedule the next one on failure.

    Returns None when the delivery is not due or another sender claimed it.
    """
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(status=WebhookDelivery.Status.SENDING, next_attempt_at=now + SEND_LEASE, attempts=F("attempts") + 1)
    if claimed != 1:
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    status_code, error, excerpt, took_ms = _post(delivery)
    WebhookAttempt.objects.create(
        delivery=delivery, status_code=status_code, error=error, response_excerpt=excerpt, duration_ms=took_ms
    )
    delivery.last_status_code = status_code
    delivery.last_error = error
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.save(update_fields=["status", "last_status_code", "last_error", "delivered_at"])
        return AttemptOutcome(status=delivery.status)
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.save(update_fields=["status", "last_status_code", "last_error"])
        return AttemptOutcome(status=delivery.status)
    retry_in = backoff_seconds(delivery.attempts)
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    delivery.save(update_fields=["status", "next_attempt_at", "last_status_code", "last_error"])
    return AttemptOutcome(status=delivery.status, retry_in=retry_in)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, str, int]:
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        delivery.subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "triage-webhooks/1",
            "X-Triage-Event": delivery.event,
            "X-Triage-Delivery": delivery.event_id,
            "X-Triage-Timestamp": timestamp,
            "X-Triage-Signature": sign(delivery.subscription.secret, timestamp, body),
        },
    )
    started = time.monotonic()
    timeout = float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (URL set by an admin)
            code, text, error = response.status, response.read(2000), ""
    except urllib.error.HTTPError as exc:
        code, text, error = exc.code, exc.read(2000) if exc.fp else b"", f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        code, text, error = None, b"", f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    took_ms = int((time.monotonic() - started) * 1000)
    return code, error[:1000], text.decode("utf-8", "replace")[:2000], took_ms


def webhook_delivery_redeliver(*, deliveries) -> int:
    """Send the given deliveries again now (an admin's decision, even if delivered before)."""
    ids = list(deliveries.values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).exclude(status=WebhookDelivery.Status.SENDING).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now()
    )
    transaction.on_commit(lambda: webhook_deliveries_enqueue(ids=ids))
    return len(ids)


def webhook_deliveries_sweep(*, limit: int = 500) -> int:
    """Enqueue due deliveries left behind (broker outage, dead worker); returns how many."""
    now = timezone.now()
    # A SENDING row whose lease ran out belonged to a worker that died: make it pending again.
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SENDING, next_attempt_at__lte=now).update(
        status=WebhookDelivery.Status.PENDING
    )
    due = list(
        WebhookDelivery.objects.filter(Q(status=WebhookDelivery.Status.PENDING), next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    webhook_deliveries_enqueue(ids=due)
    return len(due)


# --- Signal receivers (connected when this module is imported by TicketsConfig.ready) ---------


def _contained(receiver_function):
    """A failure here must not stop the other receivers of the same signal (SLA clocks, metrics)."""

    @functools.wraps(receiver_function)
    def wrapper(*args, **kwargs):
        try:
            receiver_function(*args, **kwargs)
        except Exception:
            log.exception("could not queue webhooks in %s", receiver_function.__name__)

    return wrapper


@receiver(signals.cluster_created, dispatch_uid="webhooks.cluster_created")
@_contained
def _on_cluster_created(sender, cluster: BugCluster, **kwargs) -> None:
    webhook_event_record(event=WebhookEvent.CLUSTER_CREATED, event_id=f"cluster.created:{cluster.pk}", cluster=cluster)


@receiver(signals.cluster_threshold_reached, dispatch_uid="webhooks.cluster_threshold_reached")
@_contained
def _on_threshold(sender, cluster: BugCluster, count: int, window_days: int, **kwargs) -> None:
    webhook_event_record(
        event=WebhookEvent.CLUSTER_THRESHOLD_REACHED,
        event_id=f"cluster.threshold_reached:{cluster.pk}:{count}:{window_days}:{timezone.now():%Y-%m-%d}",
        cluster=cluster,
        data={"count": count, "window_days": window_days},
    )


@receiver(signals.cluster_status_changed, dispatch_uid="webhooks.cluster_status_changed")
@_contained
def _on_status_changed(sender, cluster: BugCluster, old_status: str, new_status: str, **kwargs) -> None:
    changed_at = (cluster.status_changed_at or timezone.now()).isoformat()
    data = {"old_status": old_status, "new_status": new_status}
    webhook_event_record(
        event=WebhookEvent.CLUSTER_STATUS_CHANGED,
        event_id=f"cluster.status_changed:{cluster.pk}:{new_status}:{changed_at}",
        cluster=cluster,
        data=data,
    )
    specific = STATUS_EVENTS.get(new_status)
    if specific:
        webhook_event_record(
            event=specific, event_id=f"{specific.value}:{cluster.pk}:{changed_at}", cluster=cluster, data=data
        )


@receiver(signals.sla_alert_fired, dispatch_uid="webhooks.sla_alert_fired")
@_contained
def _on_sla_alert(sender, cluster: BugCluster, event: str, payload: dict | None = None, **kwargs) -> None:
    if event not in (WebhookEvent.SLA_WARNING, WebhookEvent.SLA_BREACH):
        return
    payload = payload or {}
    parts = [str(payload.get(k, "")) for k in ("policy", "target", "level", "due_at")]
    webhook_event_record(event=event, event_id=f"{event}:{cluster.pk}:{':'.join(parts)}", cluster=cluster, data=payload)
