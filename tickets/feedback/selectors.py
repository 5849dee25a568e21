"""Reads of feedback routing: the queues with their owners and counts, the tickets waiting in a queue, who may
handle them, and the revenue a cluster puts at stake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value, Window
from django.utils import timezone

from tickets.models import (
    OPEN_CLUSTER_STATUSES,
    BugCluster,
    ClusterKind,
    Customer,
    FeedbackKind,
    FeedbackQueue,
    FeedbackStatus,
    Ticket,
)

COUNT_WINDOW_DAYS = 30
# The states a ticket can be in for its queue; a ticket nobody touched has no FeedbackItem and is new.
STATE_FILTERS = {
    FeedbackStatus.NEW: Q(feedback__isnull=True) | Q(feedback__status=FeedbackStatus.NEW),
    FeedbackStatus.ACKNOWLEDGED: Q(feedback__status=FeedbackStatus.ACKNOWLEDGED),
    FeedbackStatus.RESPONDED: Q(feedback__status=FeedbackStatus.RESPONDED),
    FeedbackStatus.CLOSED: Q(feedback__status=FeedbackStatus.CLOSED),
}


def feedback_queue_get(*, kind: str) -> FeedbackQueue | None:
    return FeedbackQueue.objects.prefetch_related("owners").filter(feedback_kind=kind).first()


def feedback_queue_handlers(*, queue: FeedbackQueue) -> QuerySet:
    """Who handles the queue: its owners, or while it has none the people in its fallback role."""
    User = get_user_model()
    owners = User.objects.filter(feedback_queues=queue, is_active=True)
    if owners.exists() or not queue.fallback_role:
        return owners
    return User.objects.filter(groups__name=queue.fallback_role, is_active=True).distinct()


def feedback_can_handle(*, user, queue: FeedbackQueue | None) -> bool:
    """Owners (or the fallback role of a queue without owners) and superusers act on a queue's tickets."""
    if queue is None or not (user and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    return feedback_queue_handlers(queue=queue).filter(pk=user.pk).exists()


@dataclass(frozen=True)
class QueueSummary:
    """One queue on the routing overview: where a kind goes, who owns it, what waits there."""

    queue: FeedbackQueue
    owners: list
    counts: dict[str, int]
    warning: str


def feedback_queue_summaries(*, now: datetime | None = None) -> list[QueueSummary]:
    """Every queue with its owners and how many of its tickets of the last 30 days are in each state
    (bug reports: the open bug clusters instead, since engineering works on clusters)."""
    since = (now or timezone.now()) - timedelta(days=COUNT_WINDOW_DAYS)
    rows = (
        Ticket.objects.filter(reported_at__gte=since)
        .exclude(feedback_kind=FeedbackKind.BUG_REPORT)
        .order_by()
        .values("feedback_kind")
        .annotate(**{state: Count("id", filter=query) for state, query in STATE_FILTERS.items()})
    )
    counts = {row.pop("feedback_kind"): row for row in rows}
    open_bugs = BugCluster.objects.filter(kind=ClusterKind.BUG, status__in=OPEN_CLUSTER_STATUSES).count()
    summaries = []
    for queue in FeedbackQueue.objects.prefetch_related("owners").order_by("order", "name"):
        owners = [u for u in queue.owners.all() if u.is_active]
        warning = ""
        if not owners:
            role = queue.get_fallback_role_display() if queue.fallback_role else ""
            warning = (
                f"No owners yet: {role.lower()}s handle it. Set owners in Admin → Feedback queues."
                if role
                else "No owners and no fallback role: nobody can act on this queue. Set owners in the admin."
            )
        found = counts.get(queue.feedback_kind, {})
        if queue.feedback_kind == FeedbackKind.BUG_REPORT:
            found = {"open_clusters": open_bugs}
        summaries.append(QueueSummary(queue=queue, owners=owners, counts=found, warning=warning))
    return summaries


def feedback_queue_tickets(*, kind: str) -> QuerySet[Ticket]:
    """The tickets of a feedback kind with what their queue row shows; filter with FeedbackItemFilterSet."""
    return (
        Ticket.objects.filter(feedback_kind=kind)
        .select_related("feedback", "feedback__responded_by", "customer", "customer__csm_owner", "agent", "cluster")
        .order_by("-reported_at", "-id")
    )


def feedback_ticket_get(*, pk: int) -> Ticket:
    """One ticket with its handling, for the item page; raises Ticket.DoesNotExist."""
    return (
        Ticket.objects.select_related(
            "feedback",
            "feedback__acknowledged_by",
            "feedback__responded_by",
            "feedback__closed_by",
            "customer",
            "agent",
            "ticket_type",
            "cluster",
        )
        .prefetch_related("ticket_type__fields", "attachments")
        .get(pk=pk)
    )


def feedback_awaiting(*, user, limit: int = 10) -> list[Ticket]:
    """New tickets in the queues `user` handles, oldest first (for their home)."""
    queues = [q for q in FeedbackQueue.objects.all() if q.feedback_kind != FeedbackKind.BUG_REPORT]
    kinds = [q.feedback_kind for q in queues if feedback_can_handle(user=user, queue=q)]
    if not kinds:
        return []
    since = timezone.now() - timedelta(days=COUNT_WINDOW_DAYS)
    return list(
        Ticket.objects.filter(feedback_kind__in=kinds, reported_at__gte=since)
        .filter(STATE_FILTERS[FeedbackStatus.NEW])
        .select_related("customer")
        .order_by("reported_at", "id")[:limit]
    )


# --- Revenue at stake ----------------------------------------------------------------


def _customers_in_cluster() -> QuerySet[Customer]:
    """Customers with at least one ticket in the outer query's cluster (each counted once)."""
    return Customer.objects.filter(
        Exists(Ticket.objects.filter(cluster_id=OuterRef(OuterRef("pk")), customer_id=OuterRef("pk")))
    )


def revenue_annotations() -> dict:
    """`customers_affected` and `mrr_at_stake` for a BugCluster queryset: each customer counted once, however
    many of its tickets the cluster holds."""
    grouped = _customers_in_cluster().order_by().annotate(one=Value(1)).values("one")
    return {
        "customers_affected": Subquery(grouped.annotate(n=Count("pk")).values("n")[:1]),
        "mrr_at_stake": Subquery(grouped.annotate(s=Sum("mrr")).values("s")[:1]),
    }


@dataclass(frozen=True)
class RevenueAtStake:
    """The customers a cluster affects and the revenue they represent (each customer counted once)."""

    customers: int
    mrr: Decimal
    top: list[Customer]

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12


def cluster_revenue_at_stake(*, cluster: BugCluster, top: int = 5) -> RevenueAtStake:
    """Customers affected by `cluster`, their MRR summed once per customer, and the biggest accounts."""
    customers = Customer.objects.filter(Exists(Ticket.objects.filter(cluster=cluster, customer_id=OuterRef("pk"))))
    # One query: the totals ride on each of the biggest accounts as window aggregates over all of them.
    biggest = list(
        customers.select_related("csm_owner")
        .annotate(all_customers=Window(Count("pk")), all_mrr=Window(Sum("mrr")))
        .order_by("-mrr", "name")[:top]
    )
    if not biggest:
        return RevenueAtStake(customers=0, mrr=Decimal(0), top=[])
    return RevenueAtStake(customers=biggest[0].all_customers, mrr=biggest[0].all_mrr or Decimal(0), top=biggest)


def clusters_revenue_at_stake(*, cluster_ids: list[int]) -> dict[int, tuple[int, Decimal]]:
    """(customers affected, MRR at stake) per cluster id, in one query (for lists)."""
    rows = (
        Ticket.objects.filter(cluster_id__in=cluster_ids)
        .exclude(customer=None)
        .order_by()
        .values_list("cluster_id", "customer_id", "customer__mrr")
        .distinct()
    )
    result: dict[int, tuple[int, Decimal]] = {pk: (0, Decimal(0)) for pk in cluster_ids}
    for cluster_id, _customer, mrr in rows:
        count, total = result[cluster_id]
        result[cluster_id] = (count + 1, total + (mrr or Decimal(0)))
    return result
