"""Every write of feedback routing: an owner acknowledges, responds to and closes a ticket in their queue, and
product records a decision on a feature request (which reaches the filing agents and the help desk)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from tickets.clusters.services import cluster_acknowledge, cluster_lock, cluster_product_touched, cluster_set_status
from tickets.feedback.selectors import feedback_can_handle, feedback_queue_get
from tickets.integrations.webhooks import webhook_event_record
from tickets.models import (
    BugCluster,
    ClusterEvent,
    ClusterKind,
    ClusterStatus,
    FeatureDecision,
    FeatureRequestDecision,
    FeedbackItem,
    FeedbackKind,
    FeedbackOutcome,
    FeedbackStatus,
    Ticket,
    WebhookEvent,
)
from tickets.models.feedback import feature_decision_validate

RESPONSE_MAX = 5000
# Where a decision leaves the request's cluster: planned counts as decided for the SLA (in progress).
DECISION_STATUS = {
    FeatureDecision.UNDER_CONSIDERATION: ClusterStatus.ACKNOWLEDGED,
    FeatureDecision.PLANNED: ClusterStatus.IN_PROGRESS,
    FeatureDecision.REJECTED: ClusterStatus.WONT_FIX,
    FeatureDecision.SHIPPED: ClusterStatus.FIXED,
}


def _item_for(ticket: Ticket, actor) -> FeedbackItem:
    """The ticket's handling row, locked; refuses actors who do not handle the ticket's queue."""
    if ticket.feedback_kind == FeedbackKind.BUG_REPORT:
        raise ValidationError({"ticket": "Bug reports are handled on their bug cluster, not in a feedback queue."})
    if not feedback_can_handle(user=actor, queue=feedback_queue_get(kind=ticket.feedback_kind)):
        raise PermissionDenied("Only the owners of this feedback queue can act on its tickets.")
    item, _ = FeedbackItem.objects.get_or_create(ticket=ticket)
    return FeedbackItem.objects.select_for_update().get(pk=item.pk)


def _acknowledge(item: FeedbackItem, actor, now) -> None:
    if item.acknowledged_at is None:
        item.acknowledged_at, item.acknowledged_by = now, actor
    if item.status == FeedbackStatus.NEW:
        item.status = FeedbackStatus.ACKNOWLEDGED


def _acknowledge_cluster(ticket: Ticket, actor) -> None:
    """Acknowledging other feedback acknowledges its cluster too, which stops that cluster's SLA clock."""
    if ticket.cluster_id and ticket.cluster.kind == ClusterKind.FEEDBACK:
        cluster_acknowledge(cluster=ticket.cluster, actor=actor, message="Acknowledged from the feedback queue.")


def feedback_acknowledge(*, ticket: Ticket, actor: AbstractBaseUser) -> FeedbackItem:
    """An owner has seen the ticket (no-op when it already was)."""
    with transaction.atomic():
        item = _item_for(ticket, actor)
        if item.status != FeedbackStatus.NEW:
            return item
        _acknowledge(item, actor, timezone.now())
        item.save()
        _acknowledge_cluster(ticket, actor)
    return item


def feedback_respond(*, ticket: Ticket, actor: AbstractBaseUser, message: str) -> FeedbackItem:
    """An owner answers: the filing agent sees the response with their report (acknowledges it too)."""
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": "Write the response; it cannot be empty."})
    if len(message) > RESPONSE_MAX:
        raise ValidationError({"message": f"The response must be at most {RESPONSE_MAX:,} characters."})
    with transaction.atomic():
        item = _item_for(ticket, actor)
        if item.status == FeedbackStatus.CLOSED:
            raise ValidationError({"message": "This feedback is closed; its outcome was already sent."})
        now = timezone.now()
        _acknowledge(item, actor, now)
        item.response, item.responded_at, item.responded_by = message, now, actor
        item.status = FeedbackStatus.RESPONDED
        item.save()
        _acknowledge_cluster(ticket, actor)
    return item


def feedback_close(*, ticket: Ticket, actor: AbstractBaseUser, outcome: str, message: str = "") -> FeedbackItem:
    """An owner closes the ticket with an outcome (and optionally a last word for the agent)."""
    if outcome not in FeedbackOutcome.values:
        choices = ", ".join(f"{value} ({label})" for value, label in FeedbackOutcome.choices)
        raise ValidationError({"outcome": f"Choose how it ended: {choices}."})
    message = (message or "").strip()
    if len(message) > RESPONSE_MAX:
        raise ValidationError({"message": f"The response must be at most {RESPONSE_MAX:,} characters."})
    with transaction.atomic():
        item = _item_for(ticket, actor)
        now = timezone.now()
        _acknowledge(item, actor, now)
        if message:
            item.response, item.responded_at, item.responded_by = message, now, actor
        item.outcome, item.closed_at, item.closed_by = outcome, now, actor
        item.status = FeedbackStatus.CLOSED
        item.save()
        _acknowledge_cluster(ticket, actor)
    return item


def feature_request_decide(
    *, cluster: BugCluster, decision: str, actor: AbstractBaseUser | None, quarter: str = "", reason: str = ""
) -> FeatureRequestDecision:
    """Record product's decision on a feature request.

    The decision is written to the request's story (the filing agents see it in My reports), moves the
    cluster to the matching status (planned = in progress, rejected = won't fix, shipped = fixed) and queues
    the signed `feature_request.decided` webhook so the help desk can tell the customers. Raises
    ValidationError naming the field when the decision is incomplete.
    """
    quarter, reason = (quarter or "").strip().upper(), (reason or "").strip()
    if cluster.kind != ClusterKind.FEATURE_REQUEST:
        raise ValidationError({"cluster": f"#{cluster.pk} is not a feature request; decisions are for requests."})
    feature_decision_validate(decision=decision, quarter=quarter, reason=reason)
    now = timezone.now()
    with transaction.atomic():
        row = FeatureRequestDecision.objects.create(
            cluster=cluster, decision=decision, quarter=quarter, reason=reason, decided_by=actor, decided_at=now
        )
        target = DECISION_STATUS[decision]
        cluster = cluster_lock(cluster=cluster)
        if cluster.status != target:  # a status change is a product update (it acknowledges, too)
            cluster = cluster_set_status(cluster=cluster, status=target, actor=actor, message=f"Decision: {row.text}")
        else:
            cluster.save(update_fields=["updated_at", *cluster_product_touched(cluster=cluster, now=now, actor=actor)])
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.RESPONSE,
            message=f"Decision: {row.text}",
            data={"decision": decision, "quarter": quarter, "decision_id": row.pk},
        )
        webhook_event_record(
            event=WebhookEvent.FEATURE_REQUEST_DECIDED,
            event_id=f"feature_request.decided:{row.pk}",
            cluster=cluster,
            data={
                "decision": decision,
                "quarter": quarter or None,
                "reason": reason,
                "text": row.text,
                "decided_at": now.isoformat(),
                "decided_by": actor.get_username() if actor else None,
            },
        )
    return row
