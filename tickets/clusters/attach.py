"""Many tickets into the clusters a help desk named, at once (bulk ingest).

`ticket_attach_to_cluster` places one ticket and recounts its cluster over all its tickets; for a
bulk request naming a big cluster that made every item cost a count over the whole cluster. Here
each cluster gets one UPDATE of its tickets, one recount and one batch of "ticket added" events,
whatever the number of items.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial

from django.db import transaction
from django.utils import timezone

from tickets import signals
from tickets.clusters.services import cluster_refresh_counters
from tickets.models import AssignmentSource, BugCluster, ClusterEvent, Ticket

PERSON_REASONS = ["added by a person as the same bug"]


def tickets_attach_to_clusters(
    *, placements: list[tuple[int, BugCluster]], source: str = AssignmentSource.IMPORT
) -> None:
    """Put each (ticket id, cluster) pair's ticket in that cluster; call inside a transaction.

    Counters of the clusters gained and of the clusters the tickets left are recounted once each.
    Listeners hear `tickets_assigned` for tickets that had no cluster (as from the engine) and
    `ticket_assigned` with the previous cluster for the few that moved.
    """
    if not placements:
        return
    now = timezone.now()
    by_cluster: dict[int, list[int]] = defaultdict(list)
    clusters = {}
    for ticket_id, cluster in placements:
        by_cluster[cluster.pk].append(ticket_id)
        clusters[cluster.pk] = cluster
    tickets = Ticket.objects.in_bulk([ticket_id for ticket_id, _ in placements])
    previous = {pk: t.cluster_id for pk, t in tickets.items()}
    for cluster_id, ticket_ids in sorted(by_cluster.items()):
        Ticket.objects.filter(pk__in=sorted(ticket_ids)).update(
            cluster_id=cluster_id,
            cluster_assigned_at=now,
            assignment_source=source,
            assignment_confidence=None,
            assignment_reasons=PERSON_REASONS,
            updated_at=now,
        )
    left = {cluster_id for cluster_id in previous.values() if cluster_id} - set(by_cluster)
    for cluster in BugCluster.objects.filter(pk__in=sorted(set(by_cluster) | left)):
        cluster_refresh_counters(cluster=cluster)
        if cluster.pk in clusters:
            clusters[cluster.pk].__dict__.update(
                ticket_count=cluster.ticket_count,
                first_reported_at=cluster.first_reported_at,
                last_reported_at=cluster.last_reported_at,
            )
    ClusterEvent.objects.bulk_create(
        ClusterEvent(
            cluster_id=cluster_id,
            ticket_id=ticket_id,
            kind=ClusterEvent.Kind.TICKET_ADDED,
            message=f"Ticket {tickets[ticket_id].external_id} added",
            data={"source": source, "previous_cluster_id": previous[ticket_id]},
        )
        for cluster_id, ticket_ids in by_cluster.items()
        for ticket_id in ticket_ids
    )
    fresh, moved = [], []
    for ticket_id, cluster in placements:
        ticket = tickets[ticket_id]
        ticket.cluster, ticket.cluster_assigned_at, ticket.assignment_source = cluster, now, source
        (moved if previous[ticket_id] else fresh).append((ticket, cluster, previous[ticket_id]))
    if fresh:
        pairs = [(ticket, cluster) for ticket, cluster, _ in fresh]
        transaction.on_commit(partial(signals.tickets_assigned.send, sender=Ticket, assignments=pairs), robust=True)
    for ticket, cluster, previous_id in moved:
        transaction.on_commit(
            partial(
                signals.ticket_assigned.send,
                sender=Ticket,
                ticket=ticket,
                cluster=cluster,
                previous_cluster_id=previous_id,
            ),
            robust=True,
        )
