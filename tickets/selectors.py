"""Reads of tickets and clusters that more than one page or endpoint needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from tickets.models import (
    OPEN_CLUSTER_STATUSES,
    BugCluster,
    ClusterCorrection,
    ClusterEvent,
    ClusterKind,
    ClusterProfile,
    ClusterStatus,
    Customer,
    Ticket,
    TicketType,
)


def cluster_list_open() -> QuerySet[BugCluster]:
    return BugCluster.objects.filter(status__in=OPEN_CLUSTER_STATUSES).select_related("owner", "ticket_type")


def home_summary(*, user) -> dict[str, Any]:
    """Figures for the signed-in home page: the user's recent reports and the busiest open clusters."""
    top_clusters = cluster_list_open().order_by("-ticket_count", "-last_reported_at")[:8]
    my_tickets = Ticket.objects.filter(agent=user).select_related("cluster", "ticket_type").order_by("-reported_at")[:8]
    return {
        "top_clusters": list(top_clusters),
        "my_tickets": list(my_tickets),
        "open_cluster_count": cluster_list_open().count(),
        "tickets_last_7_days": Ticket.objects.filter(reported_at__gte=timezone.now() - timedelta(days=7)).count(),
    }


# --- Known bugs and possible duplicates: the clustering engine's ranking ------------


@dataclass(frozen=True)
class ClusterSuggestion:
    """One known cluster offered as "same bug" (or as a possible duplicate), with why it matched."""

    cluster: BugCluster
    score: float
    reasons: list[str]


def cluster_suggestions(
    *,
    subject: str,
    description: str = "",
    ticket_type: TicketType | None = None,
    evidence: dict | None = None,
    kind: str = ClusterKind.BUG,
    limit: int = 5,
    min_score: float = 0.15,
) -> list[ClusterSuggestion]:
    """Rank the clusters a ticket like this would be assigned to, the same way the engine does.

    Reads what the agent has typed so far (nothing is saved); the "Known bugs" panel shows the result.
    """
    from tickets.clustering.engine import rank
    from tickets.clustering.features import extract
    from tickets.clustering.semantic import Meaning, ticket_text

    # The typed text's meaning (one short text, encoded in this request when a model is configured).
    meaning = Meaning.for_text(ticket_text(subject=subject, description=description, evidence=evidence))
    features = extract(
        subject=subject,
        description=description,
        evidence=evidence,
        ticket_type_key=ticket_type.key if ticket_type else None,
        ticket_type_name=ticket_type.name if ticket_type else None,
    )
    # Fixed clusters still collect tickets (they count against the fix) but the panel offers open bugs only.
    matches = [
        m
        for m in rank(features, kind=kind, limit=limit + 3, full_clusters=True, meaning=meaning)
        if m.cluster.status in OPEN_CLUSTER_STATUSES
    ]
    matches = matches[:limit]
    return [
        ClusterSuggestion(cluster=m.cluster, score=m.score, reasons=m.reasons) for m in matches if m.score >= min_score
    ]


def cluster_possible_duplicates(
    *, cluster: BugCluster, limit: int = 5, min_score: float = 0.3
) -> list[ClusterSuggestion]:
    """Other assignable clusters of the same kind that look like the same bug (candidates for a merge)."""
    from tickets.clustering.engine import rank
    from tickets.clustering.features import Features, fingerprint_label
    from tickets.clustering.semantic import Meaning

    profile = ClusterProfile.objects.filter(pk=cluster.pk).first()
    if profile is None or not profile.exemplars:
        return []
    terms: dict[str, float] = {}
    for exemplar in profile.exemplars:
        for term, weight in (exemplar.get("t") or {}).items():
            terms[term] = max(terms.get(term, 0.0), weight)
    features = Features(
        terms=terms,
        fingerprints={k: fingerprint_label(k) for k, n in profile.fingerprints.items() if n * 2 >= profile.tickets},
        evidence={},
        length=sum(terms.values()) / max(len(profile.exemplars), 1),
    )
    # A person split these apart: never offer them as duplicates of each other again.
    split_apart = ClusterCorrection.objects.filter(
        Q(source_cluster=cluster) | Q(target_cluster=cluster),
        action=ClusterCorrection.Action.SPLIT,
        undone_at__isnull=True,
    ).values_list("source_cluster_id", "target_cluster_id")
    excluded = {cluster.pk} | {pk for pair in split_apart for pk in pair if pk}
    matches = rank(
        features,
        kind=cluster.kind,
        limit=limit,
        exclude_cluster_ids=tuple(excluded),
        full_clusters=True,
        meaning=Meaning.for_cluster(cluster.pk),
    )
    return [
        ClusterSuggestion(cluster=m.cluster, score=m.score, reasons=m.reasons) for m in matches if m.score >= min_score
    ]


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


def ticket_list_for_agent(*, agent) -> QuerySet[Ticket]:
    """The agent's tickets, newest first, each cluster carrying `responses` (product's updates, newest first)."""
    responses = Prefetch(
        "cluster__events",
        queryset=ClusterEvent.objects.filter(kind__in=PRODUCT_RESPONSE_KINDS)
        .select_related("actor")
        .order_by("-created_at", "-id"),
        to_attr="responses",
    )
    return (
        Ticket.objects.filter(agent=agent)
        .select_related("cluster", "cluster__owner", "ticket_type", "customer")
        .prefetch_related(responses)
        .order_by("-reported_at", "-id")
    )


def ticket_count_awaiting_answer(*, agent) -> int:
    """How many bugs holding the agent's tickets wait on an answer from support (NEEDS_INFO)."""
    return BugCluster.objects.filter(status=ClusterStatus.NEEDS_INFO, tickets__agent=agent).distinct().count()


def cluster_get_story(*, pk: int) -> BugCluster:
    """One cluster with what its page shows; raises BugCluster.DoesNotExist."""
    return BugCluster.objects.select_related("owner", "ticket_type").get(pk=pk)


STORY_LIMIT = 500


def cluster_events(*, cluster: BugCluster) -> list[ClusterEvent]:
    """The cluster's story newest first, without the one-per-ticket "ticket added" entries (tickets are listed)."""
    events = (
        cluster.events.exclude(kind=ClusterEvent.Kind.TICKET_ADDED)
        .select_related("actor", "ticket")
        .order_by("-created_at", "-id")
    )
    return list(events[:STORY_LIMIT])


def cluster_tickets(*, cluster: BugCluster) -> QuerySet[Ticket]:
    return (
        cluster.tickets.select_related("customer", "agent", "ticket_type")
        .prefetch_related("ticket_type__fields", "attachments")
        .order_by("-reported_at", "-id")
    )


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


def cluster_open_question(events) -> ClusterEvent | None:
    """The latest question product asked, from events ordered newest first."""
    return next((e for e in events if e.kind == ClusterEvent.Kind.QUESTION), None)


def ticket_list() -> QuerySet[Ticket]:
    """Tickets with what their list rows show; filter with tickets.filters.TicketFilterSet."""
    return Ticket.objects.select_related("ticket_type", "customer")


def cluster_list() -> QuerySet[BugCluster]:
    """Clusters with their type and owner; filter with tickets.filters.ClusterFilterSet."""
    return BugCluster.objects.select_related("ticket_type", "owner")


def cluster_detail_queryset(*, recent: int = 100) -> QuerySet[BugCluster]:
    """Clusters with their `recent` newest tickets prefetched as `recent_tickets`."""
    from django.db.models import Prefetch

    newest = Ticket.objects.select_related("ticket_type", "customer").order_by("-reported_at", "-id")[:recent]
    return cluster_list().prefetch_related(Prefetch("tickets", queryset=newest, to_attr="recent_tickets"))
