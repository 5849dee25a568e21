"""Reads of tickets and clusters that more than one page or endpoint needs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from tickets.models import (
    OPEN_CLUSTER_STATUSES,
    BugCluster,
    ClusterEvent,
    ClusterKind,
    Ticket,
)


def cluster_list_open() -> QuerySet[BugCluster]:
    return BugCluster.objects.filter(status__in=OPEN_CLUSTER_STATUSES).select_related("owner", "ticket_type")


def home_summary(*, user) -> dict[str, Any]:
    """Figures for the signed-in home page: the user's recent reports and the busiest open bug clusters
    (bugs only: feature requests and other feedback have their own pages)."""
    open_bugs = cluster_list_open().filter(kind=ClusterKind.BUG)
    top_clusters = open_bugs.order_by("-ticket_count", "-last_reported_at")[:8]
    my_tickets = Ticket.objects.filter(agent=user).select_related("cluster", "ticket_type").order_by("-reported_at")[:8]
    return {
        "top_clusters": list(top_clusters),
        "my_tickets": list(my_tickets),
        "open_cluster_count": open_bugs.count(),
        "tickets_last_7_days": Ticket.objects.filter(reported_at__gte=timezone.now() - timedelta(days=7)).count(),
    }


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


def cluster_open_question(events) -> ClusterEvent | None:
    """The latest question product asked, from events ordered newest first."""
    return next((e for e in events if e.kind == ClusterEvent.Kind.QUESTION), None)


def cluster_list() -> QuerySet[BugCluster]:
    """Clusters with their type and owner; filter with tickets.filters.ClusterFilterSet."""
    return BugCluster.objects.select_related("ticket_type", "owner")


def cluster_detail_queryset(*, recent: int = 100) -> QuerySet[BugCluster]:
    """Clusters with their `recent` newest tickets prefetched as `recent_tickets`."""

    newest = Ticket.objects.select_related("ticket_type", "customer").order_by("-reported_at", "-id")[:recent]
    return cluster_list().prefetch_related(Prefetch("tickets", queryset=newest, to_attr="recent_tickets"))
