"""Outbound webhooks: signed POSTs that tell help desks what happened to their tickets' clusters.

Outbox: an event is written as one WebhookDelivery row per interested subscription (unique per
subscription and event id, so it is never queued twice) inside the transaction of the change it
reports (a cluster opened, its status changed, a threshold crossed, an SLA alert), so a delivery
exists exactly when its change does; a Celery task is enqueued after commit. If Redis or the worker is
down, the row waits and the beat sweep sends it later. A sender claims a row
with a conditional UPDATE before posting, so two workers never post it twice.
Delivery is at least once (a worker dying mid-POST means one resend); the
X-Triage-Delivery header carries the event id for receivers to dedupe on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tickets.integrations.http import json_body, post_json
from tickets.models import BugCluster, ClusterStatus, WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from tickets.queue import task_enqueue

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


def _subscriptions(event: str) -> list[WebhookSubscription]:
    return [s for s in WebhookSubscription.objects.filter(is_active=True) if s.wants(event)]


def webhook_event_record(
    *,
    event: str,
    event_id: str,
    cluster: BugCluster,
    data: dict | None = None,
    subscriptions: list[WebhookSubscription] | None = None,
) -> list[int]:
    """Queue `event` for every active subscription that wants it; returns the ids of new deliveries.

    Call inside the transaction of the change it reports. Safe to call twice with the same
    `event_id`: the second call queues nothing.
    """
    subscriptions = _subscriptions(event) if subscriptions is None else subscriptions
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
    for delivery_id in ids:
        if not task_enqueue("tickets.webhook_deliver", delivery_id):
            return  # the rows are the source of truth: the sweep sends them


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
    result = post_json(
        delivery.subscription.url,
        json_body(delivery.payload),
        timeout=float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10)),
        secret=delivery.subscription.secret,
        event=delivery.event,
        delivery_id=delivery.event_id,
    )
    return result.status_code, result.error, result.excerpt, result.duration_ms


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


# --- The events: each called inside the transaction of the change it reports -----------------


def webhook_cluster_created(*, clusters: list[BugCluster]) -> None:
    """`cluster.created` for new clusters (one subscriptions query for all of them)."""
    subscriptions = _subscriptions(WebhookEvent.CLUSTER_CREATED)
    for cluster in clusters if subscriptions else ():
        webhook_event_record(
            event=WebhookEvent.CLUSTER_CREATED,
            event_id=f"cluster.created:{cluster.pk}",
            cluster=cluster,
            subscriptions=subscriptions,
        )


def webhook_threshold_reached(*, cluster: BugCluster, count: int, window_days: int) -> None:
    webhook_event_record(
        event=WebhookEvent.CLUSTER_THRESHOLD_REACHED,
        event_id=f"cluster.threshold_reached:{cluster.pk}:{count}:{window_days}:{timezone.now():%Y-%m-%d}",
        cluster=cluster,
        data={"count": count, "window_days": window_days},
    )


def webhook_status_changed(*, cluster: BugCluster, old_status: str, new_status: str) -> None:
    """`cluster.status_changed`, and `cluster.acknowledged` / `.fixed` / `.verified` when it is one of those."""
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


def webhook_sla_alert(*, cluster: BugCluster, event: str, payload: dict) -> None:
    """`sla.warning` / `sla.breach` for an SLA alert (called by the slas app when it delivers the alert)."""
    if event not in (WebhookEvent.SLA_WARNING, WebhookEvent.SLA_BREACH):
        return
    parts = [str(payload.get(k, "")) for k in ("policy", "target", "level", "due_at")]
    webhook_event_record(event=event, event_id=f"{event}:{cluster.pk}:{':'.join(parts)}", cluster=cluster, data=payload)
