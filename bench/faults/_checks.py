"""What every fault script checks after the fault: what was stored, clustered and delivered, and what was lost."""

from __future__ import annotations

import time
from collections import Counter


def new_bug_ticket(source: str, n: int, i: int, codes: int = 10) -> dict:
    """A payment failure of one of `codes` new bugs (error codes 9000..), each told in a few phrasings."""
    code = 9000 + (n * 7919 + i) % codes
    phrasing = ("Checkout fails with error {c}", "Card payment error {c} at checkout", "Error {c} when paying")
    return {
        "source": source,
        "external_id": f"{source}-{n}-{i}",
        "subject": phrasing[i % 3].format(c=code),
        "description": f"The payment page shows error code {code} after the card step.",
        "ticket_type": "payment_failure",
        "evidence": {"payment_method": "credit_card", "amount": "EUR 49.00", "error_code": str(code)},
    }


def stored_tickets(source: str) -> dict[str, dict]:
    from tickets.models import Ticket

    return {
        row["external_id"]: row
        for row in Ticket.objects.filter(source=source).values(
            "external_id", "subject", "evidence", "cluster_id", "cluster_assigned_at"
        )
    }


def wait_until_clustered(source: str, expected: int, timeout: float) -> float:
    """Seconds until every stored ticket of `source` is in a cluster (or the timeout)."""
    from tickets.models import Ticket

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        waiting = Ticket.objects.filter(source=source, cluster__isnull=True).count()
        if waiting == 0 and Ticket.objects.filter(source=source).count() >= expected:
            break
        time.sleep(1)
    return round(time.monotonic() - started, 1)


def ticket_figures(sent: dict[str, dict], accepted: set[str], source: str) -> dict:
    """Lost (accepted, not stored), half-written (stored, not as sent), unclustered, split clusters."""
    stored = stored_tickets(source)
    lost = sorted(set(accepted) - set(stored))
    half_written = [
        ext
        for ext, row in stored.items()
        if ext in sent
        and (
            row["subject"] != sent[ext]["subject"]
            or row["evidence"]["error_code"] != sent[ext]["evidence"]["error_code"]
        )
    ]
    clusters_per_code = {}
    for row in stored.values():
        clusters_per_code.setdefault(row["evidence"]["error_code"], set()).add(row["cluster_id"])
    return {
        "sent": len(sent),
        "accepted": len(accepted),
        "stored": len(stored),
        "lost": len(lost),
        "lost_examples": lost[:5],
        "half_written": len(half_written),
        "unclustered": sum(1 for row in stored.values() if row["cluster_id"] is None),
        "new_bugs": len(clusters_per_code),
        "split_bugs": sum(1 for ids in clusters_per_code.values() if len(ids - {None}) > 1),
    }


def delivery_figures(receiver, event_prefix: str, expected_ids: set[str]) -> dict:
    """Webhooks: each expected delivery id received at least once; duplicates counted (at-least-once)."""
    received = Counter(
        r.headers.get("X-Triage-Delivery")
        for r in list(receiver.requests)
        if r.headers.get("X-Triage-Event", "").startswith(event_prefix)
    )
    return {
        "expected": len(expected_ids),
        "received_unique": len(set(received) & expected_ids),
        "missing": len(expected_ids - set(received)),
        "repeated_sends": sum(count - 1 for count in received.values()),
    }


def wait_for_deliveries(receiver, event_prefix: str, expected_ids, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        got = {
            r.headers.get("X-Triage-Delivery")
            for r in list(receiver.requests)
            if r.headers.get("X-Triage-Event", "").startswith(event_prefix)
        }
        if set(expected_ids()) <= got:
            break
        time.sleep(1)
    return round(time.monotonic() - started, 1)


def subscribe(receiver_url: str, events: list[str]) -> None:
    from tickets.models import WebhookSubscription

    WebhookSubscription.objects.create(name="fault receiver", url=receiver_url, events=events, secret="fault-secret")


def sla_policy_to(receiver_url: str, ack_minutes: int = 1) -> None:
    """An SLA that applies to every cluster first, with a signed webhook to the receiver and no email."""
    from slas.models import BusinessCalendar, SlaPolicy

    calendar = BusinessCalendar.objects.filter(always_open=True).first()
    SlaPolicy.objects.create(
        name="fault: acknowledge in a minute",
        position=0,
        ack_minutes=ack_minutes,
        calendar=calendar,
        notify_email=False,
        webhook_url=receiver_url,
        webhook_secret="fault-sla-secret",
        escalation_1_minutes=None,
        escalation_2_minutes=None,
        escalation_3_minutes=None,
    )


def sla_alert_figures(receiver, source: str) -> dict:
    """SLA alerts of the clusters of `source`'s tickets: one per cluster and stage, each delivered."""
    from slas.models import Alert
    from tickets.models import BugCluster

    clusters = set(BugCluster.objects.filter(tickets__source=source).values_list("pk", flat=True).distinct())
    alerts = list(
        Alert.objects.filter(cluster_id__in=clusters, kind__in=["warning", "breach"]).values(
            "pk", "cluster_id", "kind", "target"
        )
    )
    per_stage = Counter((a["cluster_id"], a["kind"], a["target"]) for a in alerts)
    breached = {a["cluster_id"] for a in alerts if a["kind"] == "breach"}
    return {
        "clusters": len(clusters),
        "clusters_breached": len(breached),
        "alerts": len(alerts),
        "duplicate_alerts": sum(n - 1 for n in per_stage.values()),
        **{f"deliveries_{k}": v for k, v in delivery_figures(receiver, "sla.", {str(a["pk"]) for a in alerts}).items()},
    }


def sla_alert_ids(source: str) -> set[str]:
    from slas.models import Alert

    return {
        str(pk)
        for pk in Alert.objects.filter(cluster__tickets__source=source, kind__in=["warning", "breach"]).values_list(
            "pk", flat=True
        )
    }


def cluster_created_ids(source: str) -> set[str]:
    from tickets.models import BugCluster

    return {
        f"cluster.created:{pk}"
        for pk in BugCluster.objects.filter(tickets__source=source).values_list("pk", flat=True).distinct()
    }
