"""Reads of the intake side: an agent's own reports, customers and ticket types to file against."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from tickets.models import (
    OPEN_CLUSTER_STATUSES,
    BugCluster,
    ClusterEvent,
    ClusterStatus,
    Customer,
    Ticket,
    TicketType,
)

# --- The agent's closed loop -----------------------------------------------------

PRODUCT_RESPONSE_KINDS = (
    ClusterEvent.Kind.RESPONSE,
    ClusterEvent.Kind.QUESTION,
    ClusterEvent.Kind.ANSWER,
    ClusterEvent.Kind.STATUS_CHANGED,
    ClusterEvent.Kind.PRIORITY_CHANGED,
    ClusterEvent.Kind.OWNER_CHANGED,
    ClusterEvent.Kind.WORKAROUND,
    ClusterEvent.Kind.FIX_DEPLOYED,
)


AGENT_REPORT_VIEWS = {
    "all": "All my reports",
    "waiting": "Waiting for my answer",
    "open": "Bug still open",
    "fixed": "Fixed or closed",
    "ungrouped": "Not grouped yet",
}


def ticket_list_for_agent(*, agent, show: str = "all", query: str = "") -> QuerySet[Ticket]:
    """The agent's tickets, newest first, each cluster carrying `responses` (product's updates, newest first).

    `show` is one of AGENT_REPORT_VIEWS ("waiting": product asked a question on its bug); `query` matches
    the subject or the ticket id.
    """
    responses = Prefetch(
        "cluster__events",
        queryset=ClusterEvent.objects.filter(kind__in=PRODUCT_RESPONSE_KINDS)
        .select_related("actor")
        .order_by("-created_at", "-id"),
        to_attr="responses",
    )
    tickets = Ticket.objects.filter(agent=agent)
    if show == "waiting":
        tickets = tickets.filter(cluster__status=ClusterStatus.NEEDS_INFO)
    elif show == "open":
        tickets = tickets.filter(cluster__status__in=OPEN_CLUSTER_STATUSES)
    elif show == "fixed":
        tickets = tickets.filter(cluster__isnull=False).exclude(cluster__status__in=OPEN_CLUSTER_STATUSES)
    elif show == "ungrouped":
        tickets = tickets.filter(cluster__isnull=True)
    if query.strip():
        tickets = tickets.filter(Q(subject__icontains=query.strip()) | Q(external_id__iexact=query.strip()))
    return (
        tickets.select_related("cluster", "cluster__owner", "ticket_type", "customer")
        .select_related("feedback", "feedback__responded_by")
        .prefetch_related(responses)
        .order_by("-reported_at", "-id")
    )


def ticket_count_awaiting_answer(*, agent) -> int:
    """How many bugs holding the agent's tickets wait on an answer from support (NEEDS_INFO)."""
    return BugCluster.objects.filter(status=ClusterStatus.NEEDS_INFO, tickets__agent=agent).distinct().count()


def customer_search(*, query: str, limit: int = 8) -> list[Customer]:
    """Customers whose name or account id contains `query`, biggest accounts (MRR) first."""
    query = (query or "").strip()
    if not query:
        return []
    return list(
        Customer.objects.filter(Q(name__icontains=query) | Q(external_id__icontains=query)).order_by("-mrr", "name")[
            :limit
        ]
    )


def ticket_type_list_active() -> list[TicketType]:
    """Active ticket types with their evidence fields, in form order (two queries)."""
    return list(TicketType.objects.filter(is_active=True).prefetch_related("fields").order_by("order", "name"))


def ticket_list() -> QuerySet[Ticket]:
    """Tickets with what their list rows show; filter with tickets.filters.TicketFilterSet."""
    return Ticket.objects.select_related("ticket_type", "customer")


def questions_waiting_for(*, agent, limit: int = 10) -> list[BugCluster]:
    """Clusters holding the agent's tickets on which product waits for support's answer (needs info), oldest
    question first, each with `question` (product's latest question, or None) and `agent_ticket` (theirs)."""
    clusters = list(
        BugCluster.objects.filter(status=ClusterStatus.NEEDS_INFO, tickets__agent=agent)
        .distinct()
        .select_related("owner")
        .order_by("status_changed_at", "id")[:limit]
    )
    questions: dict[int, ClusterEvent] = {}
    for event in (
        ClusterEvent.objects.filter(cluster__in=clusters, kind=ClusterEvent.Kind.QUESTION)
        .select_related("actor")
        .order_by("cluster_id", "-created_at", "-id")
    ):
        questions.setdefault(event.cluster_id, event)
    theirs = dict(
        Ticket.objects.filter(cluster__in=clusters, agent=agent)
        .order_by("cluster_id", "-reported_at")
        .values_list("cluster_id", "pk")
    )
    for cluster in clusters:
        cluster.question = questions.get(cluster.pk)
        cluster.agent_ticket_id = theirs.get(cluster.pk)
    return clusters
