"""Many tickets into the clusters a help desk named, at once (bulk ingest).

`ticket_attach_to_cluster` places one ticket at a time; a bulk request naming a cluster for each of
1,000 items then paid a write, a counter update and an event per item. Here each cluster gets one
UPDATE of its tickets, one counter statement (new tickets) or one recount (tickets that moved) and
one batch of "ticket added" events, and the other apps hear of it through the outbox as for the
engine's batches.
"""

from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from tickets.clusters.alerts import clusters_threshold_check
from tickets.clusters.services import cluster_counters_statement, cluster_refresh_counters, count_in
from tickets.models import AssignmentSource, BugCluster, ClusterEvent, Ticket
from tickets.outbox import outbox_put
from tickets.queue import after_commit
from tickets.sql import execute_statements

PERSON_REASONS = ["added by a person as the same bug"]


def tickets_attach_to_clusters(
    *, placements: list[tuple[int, BugCluster]], source: str = AssignmentSource.IMPORT
) -> None:
    """Put each (ticket id, cluster) pair's ticket in that cluster; call inside a transaction.

    Tickets that had no cluster are counted in with one statement per cluster (as the engine counts
    its own) and announced as one `tickets.assigned`; the few that move from another cluster get both
    clusters recounted and a `ticket.assigned` each, with the cluster they left.
    """
    if not placements:
        return
    now = timezone.now()
    tickets = Ticket.objects.in_bulk([ticket_id for ticket_id, _ in placements])
    previous = {pk: ticket.cluster_id for pk, ticket in tickets.items()}
    by_cluster: dict[int, list[int]] = defaultdict(list)
    clusters: dict[int, BugCluster] = {}
    for ticket_id, cluster in placements:
        by_cluster[cluster.pk].append(ticket_id)
        clusters[cluster.pk] = cluster
    for cluster_id, ticket_ids in sorted(by_cluster.items()):
        Ticket.objects.filter(pk__in=sorted(ticket_ids)).update(
            cluster_id=cluster_id,
            cluster_assigned_at=now,
            assignment_source=source,
            assignment_confidence=None,
            assignment_reasons=PERSON_REASONS,
            updated_at=now,
        )
    fresh = [(pk, cluster) for pk, cluster in placements if not previous[pk]]
    moved = [(pk, cluster) for pk, cluster in placements if previous[pk]]
    counters = defaultdict(list)
    for pk, cluster in fresh:
        counters[cluster.pk].append(tickets[pk].reported_at)
        count_in(cluster, tickets[pk].reported_at)
    execute_statements(
        [cluster_counters_statement(cluster_id, reported, now) for cluster_id, reported in sorted(counters.items())]
    )
    recount = {cluster.pk for _, cluster in moved} | {previous[pk] for pk, _ in moved}
    for cluster in BugCluster.objects.filter(pk__in=sorted(recount)):
        cluster_refresh_counters(cluster=cluster)
        if cluster.pk in clusters:
            for name in ("ticket_count", "first_reported_at", "last_reported_at"):
                setattr(clusters[cluster.pk], name, getattr(cluster, name))
    ClusterEvent.objects.bulk_create(
        ClusterEvent(
            cluster_id=cluster.pk,
            ticket_id=pk,
            kind=ClusterEvent.Kind.TICKET_ADDED,
            message=f"Ticket {tickets[pk].external_id} added",
            data={"source": source, "previous_cluster_id": previous[pk]},
        )
        for pk, cluster in placements
    )
    if fresh:
        outbox_put(topic="tickets.assigned", pairs=[[pk, cluster.pk] for pk, cluster in fresh])
    for pk, cluster in moved:
        outbox_put(topic="ticket.assigned", ticket_id=pk, cluster_id=cluster.pk, previous_cluster_id=previous[pk])
    after_commit(clusters_threshold_check, clusters=list(clusters.values()))
