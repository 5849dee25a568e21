"""The transactional outbox: how `tickets` tells other apps what changed, without ever losing it.

A service that changes a cluster calls `outbox_put(topic, ...)` inside its transaction. After the
commit, the same process sends the message as its signal (`tickets.signals`) to the receivers of
`slas` (SLA clocks, threshold and spike alerts) and `metrics` (daily counts, fix measurement), and
marks it sent. A message the process could not send (it died after the commit, a receiver failed,
the database went away) is sent by the `tickets.outbox_sweep` beat task, every 15 seconds.

Each receiver is called on its own and remembered once it succeeded, so when one fails only the
failed ones are called again later; a receiver may still hear a message twice if the process dies
between its success and the record of it, so receivers are idempotent where it matters (an SLA
clock sync reads the cluster as it is; a fix measurement is unique per cluster). A dispatcher claims
messages with a conditional UPDATE (a token and a lease), so two dispatchers never send one message
at the same moment. Payloads hold ids; receivers get the rows as they are after the commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets import signals
from tickets.models import BugCluster, OutboxMessage, Ticket
from tickets.queue import after_commit

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
RETRY_MAX = timedelta(hours=1)
KEEP_SENT = timedelta(days=7)
SWEEP_BATCH = 200

# Loads a message's payload into the signal's keyword arguments, in bulk for a batch of messages.
Decoder = Callable[[list[dict[str, Any]]], list[dict[str, Any] | None]]


def _clusters(ids: Iterable[int]) -> dict[int, BugCluster]:
    return BugCluster.objects.select_related("ticket_type", "owner").in_bulk(set(ids))


def _users(ids: Iterable[int | None]) -> dict[int, Any]:
    wanted = {i for i in ids if i}
    return get_user_model().objects.in_bulk(wanted) if wanted else {}


def _cluster_messages(payloads: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Every cluster topic: `cluster` (and `actor`) loaded, the other keys as written."""
    clusters = _clusters(p["cluster_id"] for p in payloads)
    users = _users(p.get("actor_id") for p in payloads)
    out: list[dict[str, Any] | None] = []
    for payload in payloads:
        cluster = clusters.get(payload["cluster_id"])
        if cluster is None:
            out.append(None)  # the cluster was deleted since: nobody needs to hear of it
            continue
        kwargs = {k: v for k, v in payload.items() if k not in ("cluster_id", "actor_id")}
        if "actor_id" in payload:
            kwargs["actor"] = users.get(payload["actor_id"])
        if "deployed_at" in kwargs:
            kwargs["deployed_at"] = parse_datetime(kwargs["deployed_at"])
        out.append({"cluster": cluster, **kwargs})
    return out


_TICKET_FIELDS = ("id", "reported_at", "customer_id", "ticket_type_id", "feedback_kind", "cluster_id", "external_id")


def _assigned_messages(payloads: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """`tickets.assigned`: the (ticket, cluster) pairs a batch of the engine's assignments made."""
    pairs = [pair for p in payloads for pair in p["pairs"]]
    tickets = Ticket.objects.only(*_TICKET_FIELDS).in_bulk({t for t, _ in pairs})
    clusters = _clusters(c for _, c in pairs)
    out: list[dict[str, Any] | None] = []
    for payload in payloads:
        assignments = [(tickets[t], clusters[c]) for t, c in payload["pairs"] if t in tickets and c in clusters]
        out.append({"assignments": assignments} if assignments else None)
    return out


def _ticket_messages(payloads: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """`ticket.assigned`: one ticket a person placed or moved, with its previous cluster."""
    tickets = Ticket.objects.only(*_TICKET_FIELDS).in_bulk({p["ticket_id"] for p in payloads})
    clusters = _clusters(p["cluster_id"] for p in payloads)
    out: list[dict[str, Any] | None] = []
    for payload in payloads:
        ticket, cluster = tickets.get(payload["ticket_id"]), clusters.get(payload["cluster_id"])
        if ticket is None or cluster is None:
            out.append(None)
            continue
        out.append({"ticket": ticket, "cluster": cluster, "previous_cluster_id": payload.get("previous_cluster_id")})
    return out


def _as_written(payloads: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    return [dict(p) for p in payloads]


# topic -> (signal, sender, decoder). The topics are the signals of `tickets.signals` that other apps hear.
TOPICS: dict[str, tuple[Signal, type, Decoder]] = {
    "cluster.created": (signals.cluster_created, BugCluster, _cluster_messages),
    "cluster.status_changed": (signals.cluster_status_changed, BugCluster, _cluster_messages),
    "cluster.updated": (signals.cluster_updated, BugCluster, _cluster_messages),
    "cluster.fix_deployed": (signals.cluster_fix_deployed, BugCluster, _cluster_messages),
    "cluster.question_answered": (signals.cluster_question_answered, BugCluster, _cluster_messages),
    "cluster.threshold_reached": (signals.cluster_threshold_reached, BugCluster, _cluster_messages),
    "cluster.spike_detected": (signals.cluster_spike_detected, BugCluster, _cluster_messages),
    "ticket.assigned": (signals.ticket_assigned, Ticket, _ticket_messages),
    "tickets.assigned": (signals.tickets_assigned, Ticket, _assigned_messages),
    "tickets.moved": (signals.tickets_moved, BugCluster, _as_written),
}


def outbox_put(*, topic: str, **payload: Any) -> OutboxMessage:
    """Write one announcement; call inside the transaction of the change it announces.

    The message is sent right after the commit by this process; if that fails, by the sweep.
    """
    if topic not in TOPICS:
        raise ValueError(f"Unknown outbox topic {topic!r}; known: {', '.join(TOPICS)}")
    message = OutboxMessage.objects.create(topic=topic, payload=payload)
    after_commit(outbox_dispatch, ids=[message.pk])
    return message


def outbox_put_many(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Write several announcements in one INSERT (the engine's batches); call inside the change's transaction."""
    if not messages:
        return
    rows = OutboxMessage.objects.bulk_create(OutboxMessage(topic=t, payload=p) for t, p in messages)
    ids = [row.pk for row in rows if row.pk]
    after_commit(outbox_dispatch, ids=ids or None, topics={t for t, _ in messages})


def _claim(ids: list[int] | None, now: datetime, limit: int) -> list[OutboxMessage]:
    """Take unsent messages nobody holds (or whose holder's lease ran out); returns them oldest first."""
    token = uuid.uuid4()
    free = OutboxMessage.objects.filter(sent_at=None).filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
    if ids is not None:
        free = free.filter(pk__in=ids)
    wanted = list(free.order_by("pk").values_list("pk", flat=True)[:limit])
    if not wanted:
        return []
    free.filter(pk__in=wanted).update(claim_token=token, claimed_until=now + LEASE, attempts=F("attempts") + 1)
    return list(OutboxMessage.objects.filter(pk__in=wanted, claim_token=token, sent_at=None).order_by("pk"))


def outbox_dispatch(*, ids: list[int] | None = None, topics: set[str] | None = None, limit: int = SWEEP_BATCH) -> int:
    """Send unsent messages (`ids`, or the oldest due ones) as their signals; returns how many were sent.

    Never raises: a message whose receivers failed is retried later with a growing delay.
    """
    now = timezone.now()
    try:
        if ids is None and topics is not None:  # a bulk insert that did not return ids (SQLite before 3.35)
            ids = list(
                OutboxMessage.objects.filter(sent_at=None, claimed_until=None, topic__in=topics)
                .order_by("-pk")
                .values_list("pk", flat=True)[:limit]
            )
        claimed = _claim(ids, now, limit)
    except Exception:  # noqa: BLE001 - the database went away: the sweep sends them later
        logger.warning("Could not claim outbox messages %s; the sweep will send them", ids, exc_info=True)
        return 0
    sent = 0
    for topic in dict.fromkeys(m.topic for m in claimed):
        batch = [m for m in claimed if m.topic == topic]
        sent += _send(topic, batch)
    return sent


def _receivers(signal: Signal, sender: type) -> list:
    """The signal's connected receivers for `sender`, so each can be called (and remembered) on its own."""
    live = signal._live_receivers(sender)
    return list(live[0] if isinstance(live, tuple) else live)  # Django 5 returns (sync, async)


def _name(receiver) -> str:
    return f"{getattr(receiver, '__module__', '')}.{getattr(receiver, '__qualname__', repr(receiver))}"


def _send(topic: str, batch: list[OutboxMessage]) -> int:
    signal, sender, decode = TOPICS[topic]
    try:
        decoded = decode([m.payload for m in batch])
    except Exception as exc:  # noqa: BLE001
        logger.exception("Could not read outbox messages %s", [m.pk for m in batch])
        _retry(batch, repr(exc))
        return 0
    receivers = _receivers(signal, sender)
    done, failed = [], []
    for message, kwargs in zip(batch, decoded, strict=True):
        if kwargs is None:
            done.append(message)
            continue
        errors = []
        for receiver in receivers:
            name = _name(receiver)
            if name in message.receivers_done:
                continue  # handled on an earlier try: never twice
            try:
                receiver(signal=signal, sender=sender, **kwargs)
            except Exception as exc:  # noqa: BLE001 - one receiver's failure must not stop the others
                logger.exception("Outbox message %s (%s): %s failed", message.pk, topic, name)
                errors.append(f"{name}: {exc!r}")
            else:
                message.receivers_done.append(name)
        if errors:
            failed.append((message, "; ".join(errors)))
        else:
            done.append(message)
    now = timezone.now()
    if done:
        OutboxMessage.objects.filter(pk__in=[m.pk for m in done], claim_token=batch[0].claim_token).update(
            sent_at=now, claimed_until=None, last_error=""
        )
    for message, error in failed:
        _retry([message], error)
    return len(done)


def _retry(messages: list[OutboxMessage], error: str) -> None:
    """Release messages for a later try: 30 s, 1 min, 2 min... up to an hour after each failure."""
    now = timezone.now()
    for message in messages:
        delay = min(timedelta(seconds=30) * 2 ** max(message.attempts - 1, 0), RETRY_MAX)
        OutboxMessage.objects.filter(pk=message.pk, claim_token=message.claim_token).update(
            claimed_until=now + delay, last_error=error[:2000], receivers_done=message.receivers_done
        )


def outbox_sweep(*, limit: int = SWEEP_BATCH, max_batches: int = 50) -> int:
    """Send every message left unsent (the beat task); returns how many were sent."""
    total = 0
    for _ in range(max_batches):
        sent = outbox_dispatch(limit=limit)
        total += sent
        if sent < limit:
            break
    return total


def outbox_purge(*, older_than: timedelta = KEEP_SENT) -> int:
    """Delete messages sent more than `older_than` ago (the daily beat task)."""
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=timezone.now() - older_than).delete()
    return deleted
