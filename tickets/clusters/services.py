"""Every write to a cluster's lifecycle: opening, tickets joining, status, priority, owner, responses, fixes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from tickets import signals
from tickets.models import (
    AssignmentSource,
    BugCluster,
    ClusterEvent,
    ClusterKind,
    ClusterStatus,
    Priority,
    Ticket,
    TicketType,
)


def ticket_attach_to_cluster(
    *,
    ticket: Ticket,
    cluster: BugCluster,
    source: str,
    actor: AbstractBaseUser | None = None,
    confidence: float | None = None,
    reasons: list[str] | None = None,
) -> Ticket:
    """Put `ticket` in `cluster` and keep the cluster's counters true.

    Call inside a transaction; the cluster's counters of the previous cluster
    (if any) are refreshed too.
    """
    previous_cluster_id = ticket.cluster_id
    ticket.cluster = cluster
    ticket.cluster_assigned_at = timezone.now()
    ticket.assignment_source = source
    ticket.assignment_confidence = confidence
    ticket.assignment_reasons = reasons or (
        ["added by a person as the same bug"] if source != AssignmentSource.ENGINE else []
    )
    ticket.save(
        update_fields=[
            "cluster",
            "cluster_assigned_at",
            "assignment_source",
            "assignment_confidence",
            "assignment_reasons",
            "updated_at",
        ]
    )
    cluster_refresh_counters(cluster=cluster)
    if previous_cluster_id and previous_cluster_id != cluster.pk:
        cluster_refresh_counters(cluster=BugCluster.objects.get(pk=previous_cluster_id))
    ClusterEvent.objects.create(
        cluster=cluster,
        ticket=ticket,
        actor=actor,
        kind=ClusterEvent.Kind.TICKET_ADDED,
        message=f"Ticket {ticket.external_id} added",
        data={"source": source, "previous_cluster_id": previous_cluster_id},
    )
    transaction.on_commit(
        lambda: signals.ticket_assigned.send(
            sender=Ticket, ticket=ticket, cluster=cluster, previous_cluster_id=previous_cluster_id
        ),
        robust=True,
    )
    return ticket


def cluster_refresh_counters(*, cluster: BugCluster) -> BugCluster:
    """Recompute ticket count and first/last report time from the cluster's tickets."""
    stats = Ticket.objects.filter(cluster=cluster).aggregate(
        n=Count("id"), first=Min("reported_at"), last=Max("reported_at")
    )
    cluster.ticket_count = stats["n"]
    cluster.first_reported_at = stats["first"]
    cluster.last_reported_at = stats["last"]
    cluster.save(update_fields=["ticket_count", "first_reported_at", "last_reported_at", "updated_at"])
    return cluster


# --- Clusters: the product side's actions ------------------------------------
# Every action writes a ClusterEvent (the cluster's story, shown to agents) and
# sends its signal after commit so `slas` and `metrics` can react.


def cluster_create(
    *,
    title: str,
    kind: str = ClusterKind.BUG,
    ticket_type: TicketType | None = None,
    summary: str = "",
    actor: AbstractBaseUser | None = None,
    **fields: Any,
) -> BugCluster:
    """Open a new cluster (by the engine or a person)."""
    with transaction.atomic():
        cluster = BugCluster.objects.create(
            title=title[:255], kind=kind, ticket_type=ticket_type, summary=summary, **fields
        )
        ClusterEvent.objects.create(cluster=cluster, actor=actor, kind=ClusterEvent.Kind.CREATED, message=title)
        transaction.on_commit(lambda: signals.cluster_created.send(sender=BugCluster, cluster=cluster), robust=True)
    return cluster


def clusters_open(clusters: list[BugCluster]) -> list[BugCluster]:
    """Write many new clusters at once (the clustering engine's batches), each with its "created" event.

    Unlike `cluster_create`, no `post_save` is sent, so the clusters are not indexed here: the
    engine writes their profiles and postings with their first tickets. `cluster_created` goes out
    for each after commit, as for one.
    """
    with transaction.atomic():
        BugCluster.objects.bulk_create(clusters)
        ClusterEvent.objects.bulk_create(
            ClusterEvent(cluster=cluster, kind=ClusterEvent.Kind.CREATED, message=cluster.title) for cluster in clusters
        )
        for cluster in clusters:
            transaction.on_commit(
                partial(signals.cluster_created.send, sender=BugCluster, cluster=cluster), robust=True
            )
    return clusters


def cluster_lock(cluster: BugCluster) -> BugCluster:
    """The cluster re-read under its row lock; call inside a transaction."""
    return BugCluster.objects.select_for_update().get(pk=cluster.pk)


def cluster_product_touched(cluster: BugCluster, now: datetime, actor) -> list[str]:
    """Record a product-side update on a locked cluster; the first one also acknowledges it.

    Returns the fields it set, for the caller's save (inside the caller's transaction)."""
    cluster.last_product_update_at = now
    changed = ["last_product_update_at"]
    if cluster.acknowledged_at is None:
        cluster.acknowledged_at = now
        changed.append("acknowledged_at")
    transaction.on_commit(
        lambda: signals.cluster_updated.send(sender=BugCluster, cluster=cluster, actor=actor), robust=True
    )
    return changed


StatusGuard = Callable[..., None]
# Rules other apps add (from AppConfig.ready) for entering a status; a guard raises
# ValidationError({"status": reason}) to refuse. The metrics app, for one, refuses
# VERIFIED until support confirmed the fix and its measured reduction is enough.
_STATUS_GUARDS: dict[str, list[StatusGuard]] = defaultdict(list)


def cluster_status_guard_register(*, status: str, guard: StatusGuard) -> None:
    """Make `guard(cluster=, actor=, context=)` decide every move into `status`, whatever the route."""
    if guard not in _STATUS_GUARDS[status]:
        _STATUS_GUARDS[status].append(guard)


def cluster_set_status(
    *,
    cluster: BugCluster,
    status: str,
    actor: AbstractBaseUser | None = None,
    message: str = "",
    context: dict[str, Any] | None = None,
) -> BugCluster:
    """Move a cluster to `status` (product side).

    Refuses unknown statuses and anything a registered status guard refuses;
    `context` carries what a guard may need (e.g. support's confirmation).
    """
    if status not in ClusterStatus.values:
        raise ValidationError(
            {"status": f"'{status}' is not a status; choose one of: {', '.join(ClusterStatus.values)}."}
        )
    with transaction.atomic():
        cluster = cluster_lock(cluster)
        old = cluster.status
        if old == status:
            return cluster
        for guard in _STATUS_GUARDS.get(status, []):
            guard(cluster=cluster, actor=actor, context=context or {})
        now = timezone.now()
        cluster.status = status
        cluster.status_changed_at = now
        changed = ["status", "status_changed_at", "updated_at"] + cluster_product_touched(cluster, now, actor)
        cluster.save(update_fields=changed)
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.STATUS_CHANGED,
            message=message,
            data={"from": old, "to": status},
        )
        transaction.on_commit(
            lambda: signals.cluster_status_changed.send(
                sender=BugCluster, cluster=cluster, old_status=old, new_status=status, actor=actor
            ),
            robust=True,
        )
    return cluster


def cluster_acknowledge(*, cluster: BugCluster, actor: AbstractBaseUser | None, message: str = "") -> BugCluster:
    """Product has seen it: NEW becomes ACKNOWLEDGED (the SLA acknowledgment clock stops)."""
    if cluster.status == ClusterStatus.NEW:
        return cluster_set_status(cluster=cluster, status=ClusterStatus.ACKNOWLEDGED, actor=actor, message=message)
    return cluster


def cluster_set_priority(*, cluster: BugCluster, priority: str, actor: AbstractBaseUser | None = None) -> BugCluster:
    if priority not in Priority.values:
        raise ValidationError(
            {"priority": f"'{priority}' is not a priority; choose one of: {', '.join(Priority.values)}."}
        )
    with transaction.atomic():
        cluster = cluster_lock(cluster)
        old = cluster.priority
        if old == priority:
            return cluster
        cluster.priority = priority
        changed = ["priority", "updated_at"] + cluster_product_touched(cluster, timezone.now(), actor)
        cluster.save(update_fields=changed)
        ClusterEvent.objects.create(
            cluster=cluster, actor=actor, kind=ClusterEvent.Kind.PRIORITY_CHANGED, data={"from": old, "to": priority}
        )
    return cluster


def cluster_assign_owner(
    *, cluster: BugCluster, owner: AbstractBaseUser | None, actor: AbstractBaseUser | None = None
) -> BugCluster:
    with transaction.atomic():
        cluster = cluster_lock(cluster)
        if cluster.owner_id == (owner.pk if owner else None):
            return cluster
        old = cluster.owner_id
        cluster.owner = owner
        changed = ["owner", "updated_at"] + cluster_product_touched(cluster, timezone.now(), actor)
        cluster.save(update_fields=changed)
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.OWNER_CHANGED,
            message=f"Owner: {owner.get_full_name() or owner.get_username()}" if owner else "Owner removed",
            data={"from": old, "to": owner.pk if owner else None},
        )
    return cluster


def cluster_respond(
    *, cluster: BugCluster, actor: AbstractBaseUser, message: str, question: bool = False
) -> ClusterEvent:
    """Post a product response on the cluster; a question asks support for more and sets NEEDS_INFO."""
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": "Write the response or question; it cannot be empty."})
    with transaction.atomic():
        if question:
            cluster = cluster_set_status(cluster=cluster, status=ClusterStatus.NEEDS_INFO, actor=actor)
        cluster = cluster_lock(cluster)
        cluster.save(update_fields=["updated_at", *cluster_product_touched(cluster, timezone.now(), actor)])
        return ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.QUESTION if question else ClusterEvent.Kind.RESPONSE,
            message=message,
        )


def cluster_answer_question(*, cluster: BugCluster, actor: AbstractBaseUser, message: str) -> ClusterEvent:
    """Support answers product's question; the cluster goes back to product (the status before NEEDS_INFO)."""
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": "Write your answer; it cannot be empty."})
    with transaction.atomic():
        cluster = cluster_lock(cluster)
        answer = ClusterEvent.objects.create(
            cluster=cluster, actor=actor, kind=ClusterEvent.Kind.ANSWER, message=message
        )
        if cluster.status == ClusterStatus.NEEDS_INFO:
            before = (
                ClusterEvent.objects.filter(
                    cluster=cluster, kind=ClusterEvent.Kind.STATUS_CHANGED, data__to=ClusterStatus.NEEDS_INFO
                )
                .order_by("-created_at", "-id")
                .values_list("data__from", flat=True)
                .first()
            )
            back_to = (
                before
                if before in ClusterStatus.values and before != ClusterStatus.NEEDS_INFO
                else ClusterStatus.ACKNOWLEDGED
            )
            cluster.status = back_to
            cluster.status_changed_at = timezone.now()
            cluster.save(update_fields=["status", "status_changed_at", "updated_at"])
            ClusterEvent.objects.create(
                cluster=cluster,
                actor=actor,
                kind=ClusterEvent.Kind.STATUS_CHANGED,
                message="Support answered; back to product",
                data={"from": ClusterStatus.NEEDS_INFO, "to": back_to},
            )
            transaction.on_commit(
                lambda: signals.cluster_status_changed.send(
                    sender=BugCluster,
                    cluster=cluster,
                    old_status=ClusterStatus.NEEDS_INFO,
                    new_status=back_to,
                    actor=actor,
                ),
                robust=True,
            )
        transaction.on_commit(
            lambda: signals.cluster_question_answered.send(
                sender=BugCluster, cluster=cluster, actor=actor, message=message
            ),
            robust=True,
        )
    return answer


def cluster_mark_fixed(
    *, cluster: BugCluster, deployed_at: datetime, actor: AbstractBaseUser | None = None, message: str = ""
) -> BugCluster:
    """Record that a fix was deployed at `deployed_at` (may be in the past) and set FIXED."""
    if deployed_at > timezone.now():
        raise ValidationError({"deployed_at": "The deploy time cannot be in the future; mark it fixed once deployed."})
    with transaction.atomic():
        cluster = cluster_set_status(cluster=cluster, status=ClusterStatus.FIXED, actor=actor, message=message)
        cluster = cluster_lock(cluster)
        cluster.fix_deployed_at = deployed_at
        cluster.save(update_fields=["fix_deployed_at", "updated_at"])
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.FIX_DEPLOYED,
            message=message or f"Fix deployed {deployed_at:%Y-%m-%d %H:%M} UTC",
            data={"deployed_at": deployed_at.isoformat()},
        )
        transaction.on_commit(
            lambda: signals.cluster_fix_deployed.send(
                sender=BugCluster, cluster=cluster, deployed_at=deployed_at, actor=actor
            ),
            robust=True,
        )
    return cluster
