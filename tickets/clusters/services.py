"""Every write to a cluster's lifecycle: opening, tickets joining, status, priority, owner, responses, fixes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from tickets import signals
from tickets.clusters.alerts import cluster_threshold_check
from tickets.integrations import webhooks
from tickets.models import (
    ASSIGNABLE_CLUSTER_STATUSES,
    AssignmentSource,
    BugCluster,
    ClusterEvent,
    ClusterKind,
    ClusterStatus,
    Priority,
    Ticket,
    TicketType,
)
from tickets.outbox import outbox_put, outbox_put_many
from tickets.queue import after_commit, task_enqueue
from tickets.sql import Statement, execute_statements


def ticket_attach_to_cluster(
    *,
    ticket: Ticket,
    cluster: BugCluster,
    source: str,
    actor: AbstractBaseUser | None = None,
    confidence: float | None = None,
    reasons: list[str] | None = None,
) -> Ticket:
    """Put `ticket` in `cluster` by a person's (or a help desk's) decision and keep the counters true.

    Call inside a transaction. A ticket that leaves another cluster has both clusters recounted;
    a new one is counted in like the engine counts its own. The cluster's threshold is checked
    after the commit; `ticket_assigned` reaches the other apps through the outbox.
    """
    previous_cluster_id = ticket.cluster_id
    now = timezone.now()
    ticket.cluster = cluster
    ticket.cluster_assigned_at = now
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
    if previous_cluster_id and previous_cluster_id != cluster.pk:
        cluster_refresh_counters(cluster=cluster)
        cluster_refresh_counters(cluster=BugCluster.objects.get(pk=previous_cluster_id))
    elif previous_cluster_id is None:
        execute_statements([cluster_counters_statement(cluster.pk, [ticket.reported_at], now)])
        count_in(cluster, ticket.reported_at)
    ClusterEvent.objects.create(
        cluster=cluster,
        ticket=ticket,
        actor=actor,
        kind=ClusterEvent.Kind.TICKET_ADDED,
        message=f"Ticket {ticket.external_id} added",
        data={"source": source, "previous_cluster_id": previous_cluster_id},
    )
    outbox_put(
        topic="ticket.assigned", ticket_id=ticket.pk, cluster_id=cluster.pk, previous_cluster_id=previous_cluster_id
    )
    after_commit(cluster_threshold_check, cluster=cluster)
    return ticket


def cluster_counters_statement(cluster_id: int, reported: list[datetime], now: datetime) -> Statement:
    """The UPDATE that counts new tickets reported at `reported` into a cluster (count, first and last report).

    The one way a cluster's counters grow, for the engine's batches and for a person's "same bug" alike.
    """
    qn, ops = connection.ops.quote_name, connection.ops
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    first, last = ops.adapt_datetimefield_value(min(reported)), ops.adapt_datetimefield_value(max(reported))
    return (
        f"UPDATE {qn('tickets_bugcluster')} SET {qn('ticket_count')} = {qn('ticket_count')} + %s, "
        f"{qn('first_reported_at')} = COALESCE({least}({qn('first_reported_at')}, %s), %s), "
        f"{qn('last_reported_at')} = COALESCE({greatest}({qn('last_reported_at')}, %s), %s), "
        f"{qn('updated_at')} = %s WHERE {qn('id')} = %s",
        [len(reported), first, first, last, last, ops.adapt_datetimefield_value(now), cluster_id],
    )


def count_in(cluster: BugCluster, reported_at: datetime) -> None:
    """Keep an in-memory cluster's counters as `cluster_counters_statement` wrote them (thresholds read them)."""
    cluster.ticket_count += 1
    if cluster.first_reported_at is None or reported_at < cluster.first_reported_at:
        cluster.first_reported_at = reported_at
    if cluster.last_reported_at is None or reported_at > cluster.last_reported_at:
        cluster.last_reported_at = reported_at


def cluster_refresh_counters(*, cluster: BugCluster) -> BugCluster:
    """Recount ticket count and first/last report time from the cluster's tickets (after people moved some)."""
    stats = Ticket.objects.filter(cluster=cluster).aggregate(
        n=Count("id"), first=Min("reported_at"), last=Max("reported_at")
    )
    cluster.ticket_count = stats["n"]
    cluster.first_reported_at = stats["first"]
    cluster.last_reported_at = stats["last"]
    cluster.save(update_fields=["ticket_count", "first_reported_at", "last_reported_at", "updated_at"])
    return cluster


# --- Clusters: the product side's actions ------------------------------------
# Every action writes a ClusterEvent (the cluster's story, shown to agents), its outbound webhooks
# and its outbox message in its own transaction, so none of them can be lost after the commit.


def index_rebuild_later(*, cluster_ids: list[int]) -> None:
    """Have a worker rebuild these clusters' part of the engine's index after the commit (new words, a
    new status, moved tickets); the engine's own rebuild command repairs it if the broker is down."""
    ids = sorted(set(cluster_ids))
    after_commit(task_enqueue, "tickets.cluster_index_rebuild", ids)


def cluster_create(
    *,
    title: str,
    kind: str = ClusterKind.BUG,
    ticket_type: TicketType | None = None,
    summary: str = "",
    actor: AbstractBaseUser | None = None,
    **fields: Any,
) -> BugCluster:
    """Open a new cluster by a person's decision (a split, the admin, the API); the engine uses `clusters_open`."""
    with transaction.atomic():
        cluster = BugCluster.objects.create(
            title=title[:255], kind=kind, ticket_type=ticket_type, summary=summary, **fields
        )
        ClusterEvent.objects.create(cluster=cluster, actor=actor, kind=ClusterEvent.Kind.CREATED, message=title)
        webhooks.webhook_cluster_created(clusters=[cluster])
        outbox_put(topic="cluster.created", cluster_id=cluster.pk)
        index_rebuild_later(cluster_ids=[cluster.pk])
    return cluster


def clusters_open(*, clusters: list[BugCluster]) -> list[BugCluster]:
    """Write many new clusters at once (the clustering engine's batches), each with its "created" event.

    Call inside the engine's write transaction, then `clusters_announce_opened` with those that kept
    a ticket (a cluster whose only ticket was assigned elsewhere meanwhile is deleted unannounced).
    The engine writes their profiles and postings with their first tickets.
    """
    BugCluster.objects.bulk_create(clusters)
    ClusterEvent.objects.bulk_create(
        ClusterEvent(cluster=cluster, kind=ClusterEvent.Kind.CREATED, message=cluster.title) for cluster in clusters
    )
    return clusters


def clusters_announce_opened(*, clusters: list[BugCluster]) -> None:
    """The help desks' `cluster.created` webhooks and the other apps' messages, in the opening transaction."""
    webhooks.webhook_cluster_created(clusters=clusters)
    outbox_put_many([("cluster.created", {"cluster_id": cluster.pk}) for cluster in clusters])


def cluster_lock(*, cluster: BugCluster) -> BugCluster:
    """The cluster re-read under its row lock; call inside a transaction."""
    return BugCluster.objects.select_for_update().get(pk=cluster.pk)


def cluster_product_touched(*, cluster: BugCluster, now: datetime, actor) -> list[str]:
    """Record a product-side update on a locked cluster; the first one also acknowledges it.

    Returns the fields it set, for the caller's save (inside the caller's transaction)."""
    cluster.last_product_update_at = now
    changed = ["last_product_update_at"]
    if cluster.acknowledged_at is None:
        cluster.acknowledged_at = now
        changed.append("acknowledged_at")
    outbox_put(topic="cluster.updated", cluster_id=cluster.pk, actor_id=getattr(actor, "pk", None))
    return changed


def cluster_set_status(
    *,
    cluster: BugCluster,
    status: str,
    actor: AbstractBaseUser | None = None,
    message: str = "",
    context: dict[str, Any] | None = None,
) -> BugCluster:
    """Move a cluster to `status` (product side).

    Refuses unknown statuses and anything a receiver of `cluster_status_changing` refuses (the
    metrics app's verification gate, for one); `context` carries what such a rule may need
    (e.g. support's confirmation). A refusal changes nothing.
    """
    if status not in ClusterStatus.values:
        raise ValidationError(
            {"status": f"'{status}' is not a status; choose one of: {', '.join(ClusterStatus.values)}."}
        )
    with transaction.atomic():
        cluster = cluster_lock(cluster=cluster)
        old = cluster.status
        if old == status:
            return cluster
        signals.cluster_status_changing.send(
            sender=BugCluster, cluster=cluster, status=status, actor=actor, context=context or {}
        )
        now = timezone.now()
        cluster.status = status
        cluster.status_changed_at = now
        changed = ["status", "status_changed_at", "updated_at"] + cluster_product_touched(
            cluster=cluster, now=now, actor=actor
        )
        cluster.save(update_fields=changed)
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.STATUS_CHANGED,
            message=message,
            data={"from": old, "to": status},
        )
        status_changed_record(cluster=cluster, old=old, new=status, actor=actor)
    return cluster


def status_changed_record(*, cluster: BugCluster, old: str, new: str, actor) -> None:
    """What every status change writes besides the cluster (inside its transaction): the help desks'
    webhooks, the outbox message for SLA clocks, and the index follows if the cluster starts or stops
    taking tickets."""
    webhooks.webhook_status_changed(cluster=cluster, old_status=old, new_status=new)
    outbox_put(
        topic="cluster.status_changed",
        cluster_id=cluster.pk,
        old_status=old,
        new_status=new,
        actor_id=getattr(actor, "pk", None),
    )
    if (old in ASSIGNABLE_CLUSTER_STATUSES) != (new in ASSIGNABLE_CLUSTER_STATUSES):
        index_rebuild_later(cluster_ids=[cluster.pk])


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
        cluster = cluster_lock(cluster=cluster)
        old = cluster.priority
        if old == priority:
            return cluster
        cluster.priority = priority
        changed = ["priority", "updated_at"] + cluster_product_touched(cluster=cluster, now=timezone.now(), actor=actor)
        cluster.save(update_fields=changed)
        ClusterEvent.objects.create(
            cluster=cluster, actor=actor, kind=ClusterEvent.Kind.PRIORITY_CHANGED, data={"from": old, "to": priority}
        )
    return cluster


OWNER_PERMISSION = "tickets.triage_cluster"


def cluster_owner_check(*, owner) -> None:
    """Only an active person who can triage clusters may own one; ValidationError({"owner": ...}) otherwise."""
    if not owner.is_active or not owner.has_perm(OWNER_PERMISSION):
        name = owner.get_full_name() or owner.get_username()
        raise ValidationError({"owner": [f"{name} cannot own clusters: choose an active product lead or admin."]})


def cluster_assign_owner(
    *, cluster: BugCluster, owner: AbstractBaseUser | None, actor: AbstractBaseUser | None = None
) -> BugCluster:
    if owner is not None:
        cluster_owner_check(owner=owner)
    with transaction.atomic():
        cluster = cluster_lock(cluster=cluster)
        if cluster.owner_id == (owner.pk if owner else None):
            return cluster
        old = cluster.owner_id
        cluster.owner = owner
        changed = ["owner", "updated_at"] + cluster_product_touched(cluster=cluster, now=timezone.now(), actor=actor)
        cluster.save(update_fields=changed)
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.OWNER_CHANGED,
            message=f"Owner: {owner.get_full_name() or owner.get_username()}" if owner else "Owner removed",
            data={"from": old, "to": owner.pk if owner else None},
        )
    return cluster


def cluster_triage(
    *,
    cluster: BugCluster,
    actor: AbstractBaseUser | None,
    status: str,
    priority: str | None = None,
    owner: AbstractBaseUser | None = None,
    message: str = "",
) -> BugCluster:
    """A product lead's decision on a cluster, all or nothing: priority (when given), owner, then status.

    One transaction: if any part is refused (an unknown priority, an owner who cannot triage, a status
    the verification gate refuses), nothing of it is saved and the ValidationError names the field.
    """
    with transaction.atomic():
        if priority:
            cluster = cluster_set_priority(cluster=cluster, priority=priority, actor=actor)
        cluster = cluster_assign_owner(cluster=cluster, owner=owner, actor=actor)
        return cluster_set_status(cluster=cluster, status=status, actor=actor, message=message)


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
        cluster = cluster_lock(cluster=cluster)
        cluster.save(
            update_fields=["updated_at", *cluster_product_touched(cluster=cluster, now=timezone.now(), actor=actor)]
        )
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
        cluster = cluster_lock(cluster=cluster)
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
            status_changed_record(cluster=cluster, old=ClusterStatus.NEEDS_INFO, new=back_to, actor=actor)
        outbox_put(
            topic="cluster.question_answered",
            cluster_id=cluster.pk,
            actor_id=getattr(actor, "pk", None),
            message=message,
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
        cluster = cluster_lock(cluster=cluster)
        cluster.fix_deployed_at = deployed_at
        cluster.save(update_fields=["fix_deployed_at", "updated_at"])
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.FIX_DEPLOYED,
            message=message or f"Fix deployed {deployed_at:%Y-%m-%d %H:%M} UTC",
            data={"deployed_at": deployed_at.isoformat()},
        )
        outbox_put(
            topic="cluster.fix_deployed",
            cluster_id=cluster.pk,
            deployed_at=deployed_at.isoformat(),
            actor_id=getattr(actor, "pk", None),
        )
    return cluster
