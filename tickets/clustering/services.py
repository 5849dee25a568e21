"""The engine's upkeep: hand new tickets to a worker, and keep the index true (one cluster's postings
and profile, or the whole index)."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable

from celery import current_app
from django.db import transaction

from tickets.clustering import index, semantic, storage
from tickets.clustering.features import Features, line_keys
from tickets.clustering.vectors import cluster_embedding_rebuild, cluster_embeddings_rebuild_all
from tickets.models import ASSIGNABLE_CLUSTER_STATUSES, BugCluster, ClusterProfile, ClusterTerm, TermStat, Ticket
from tickets.queue import task_enqueue

logger = logging.getLogger(__name__)

DRAIN_WINDOW_SECONDS = 0.2
ASSIGN_BATCH = 200
_window_opened_at = [float("-inf")]


def ticket_assignment_enqueue(*, ticket: Ticket) -> None:
    """Have a just-filed ticket assigned by a worker (call after the ticket's transaction committed).

    Filings coalesce: the first ticket of a 0.2 s window enqueues one drain task, due at the window's
    end, that assigns every ticket then waiting; the others of the window enqueue nothing, so a busy
    help desk does not pay a broker round trip per ticket and the ticket still shows its cluster within
    a second. A ticket a person placed ("same bug") is only read into its cluster's index. When the
    broker is down the ticket waits (`cluster_assigned_at` empty) and the `tickets.clusters_assign_pending`
    beat task assigns it later: nothing is lost.
    """
    if ticket.cluster_id is not None:
        task_enqueue("tickets.cluster_assign", ticket.pk)
        return
    eager = current_app.conf.task_always_eager
    now = time.monotonic()
    if not eager and now - _window_opened_at[0] < DRAIN_WINDOW_SECONDS:
        return  # the drain enqueued at this window's start runs after this ticket's commit
    _window_opened_at[0] = now
    if not task_enqueue("tickets.clusters_drain", countdown=0 if eager else DRAIN_WINDOW_SECONDS):
        _window_opened_at[0] = float("-inf")


def tickets_assignment_enqueue(*, ticket_ids: list[int]) -> None:
    """A bulk create or import (after its commit): one assignment task per 200 tickets instead of one each."""
    ids = list(ticket_ids)
    for start in range(0, len(ids), ASSIGN_BATCH):
        if not task_enqueue("tickets.cluster_assign_many", ids[start : start + ASSIGN_BATCH]):
            return  # the pending sweep assigns the rest


def clusters_index_rebuild(*, cluster_ids: list[int]) -> int:
    """Rebuild the index of these clusters as they are now (the task after a status change, new words or
    moved tickets); returns how many exist still."""
    clusters = BugCluster.objects.select_related("ticket_type").filter(pk__in=cluster_ids).order_by("pk")
    done = 0
    for cluster in clusters:
        with transaction.atomic():
            cluster_index_rebuild(cluster=cluster)
        done += 1
    return done


def cluster_index_rebuild(*, cluster: BugCluster) -> None:
    """Rebuild a cluster's postings and profile from its own words and its tickets.

    Called when a cluster is created or its title or summary change, after people moved tickets, and
    on a reopen. Tickets the engine has not read yet are read now. A cluster that is no longer
    assignable keeps its profile (for "possible duplicates") but leaves the postings.
    """
    storage.index_drop(cluster_id=cluster.pk)
    cluster_embedding_rebuild(cluster=cluster)  # from the tickets' stored vectors: nothing is encoded here
    tickets = list(
        Ticket.objects.filter(cluster=cluster)
        .select_related("ticket_type")
        .only("id", "subject", "description", "evidence", "match_features", "ticket_type__key", "ticket_type__name")
        .order_by("reported_at", "id")
    )
    unread = [ticket for ticket in tickets if not ticket.match_features]
    template = storage.template_read(t.description for t in unread)
    features_by_id: dict[int, Features] = {}
    for ticket in tickets:
        if ticket.match_features:
            features_by_id[ticket.pk] = Features.from_json(ticket.match_features)
        else:
            features_by_id[ticket.pk] = index.features_for_ticket(ticket, template)
    if unread:
        for ticket in unread:
            ticket.match_features = features_by_id[ticket.pk].as_json()
        Ticket.objects.bulk_update(unread, ["match_features"], batch_size=500)
        storage.stats_add(features_by_id[t.pk] for t in unread)
    text = index.cluster_text_features(cluster)
    profile = ClusterProfile(cluster=cluster, kind=cluster.kind)
    index.profile_add(profile, index.CLUSTER_TEXT_ID, text, count=False)
    for ticket in tickets:
        index.profile_add(profile, ticket.pk, features_by_id[ticket.pk])
    ClusterProfile.objects.update_or_create(
        cluster=cluster,
        defaults={
            "kind": cluster.kind,
            "exemplars": profile.exemplars,
            "fingerprints": profile.fingerprints,
            "evidence": profile.evidence,
            "tickets": profile.tickets,
        },
    )
    if cluster.status in ASSIGNABLE_CLUSTER_STATUSES:
        storage.postings_add(cluster_id=cluster.pk, kind=cluster.kind, features_list=[text, *features_by_id.values()])


BATCH = 2_000


def index_rebuild_all(*, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Re-read every ticket and rewrite term statistics, postings and profiles. Returns counts."""
    clusters = dict(BugCluster.objects.values_list("pk", "kind"))
    assignable = set(BugCluster.objects.filter(status__in=ASSIGNABLE_CLUSTER_STATUSES).values_list("pk", flat=True))
    stats: Counter[str] = Counter()
    postings: dict[int, Counter[str]] = defaultdict(Counter)
    profiles: dict[int, ClusterProfile] = {}
    read = 0
    queryset = (
        Ticket.objects.select_related("ticket_type")
        .only("id", "subject", "description", "evidence", "cluster_id", "ticket_type__key", "ticket_type__name")
        .order_by("cluster_id", "reported_at", "id")
    )
    # First the lines every ticket carries, so the lines of a template are known before the words are read.
    lines: Counter[str] = Counter()
    for description in Ticket.objects.values_list("description", flat=True).iterator(chunk_size=BATCH):
        lines.update(line_keys(description))
    template = index.template_lines(lines, Ticket.objects.count())
    with transaction.atomic():
        ClusterTerm.objects.all().delete()
        ClusterProfile.objects.all().delete()
        TermStat.objects.all().delete()
        batch: list[Ticket] = []
        for ticket in queryset.iterator(chunk_size=BATCH):
            features = index.features_for_ticket(ticket, template)
            ticket.match_features = features.as_json()
            batch.append(ticket)
            stats.update(index.stat_terms(features))
            stats[index.STAT_TICKETS] += 1
            stats[index.STAT_LENGTH] += features.length
            if ticket.cluster_id:
                kind = clusters[ticket.cluster_id]
                profile = profiles.get(ticket.cluster_id)
                if profile is None:
                    profile = profiles[ticket.cluster_id] = ClusterProfile(cluster_id=ticket.cluster_id, kind=kind)
                index.profile_add(profile, ticket.pk, features)
                if ticket.cluster_id in assignable:
                    postings[ticket.cluster_id].update(index.posting_terms(features))
            if len(batch) >= BATCH:
                Ticket.objects.bulk_update(batch, ["match_features"])
                read += len(batch)
                batch = []
                if progress:
                    progress(read)
        if batch:
            Ticket.objects.bulk_update(batch, ["match_features"])
            read += len(batch)
            if progress:
                progress(read)
        TermStat.objects.bulk_create(
            [TermStat(term=t[: index.TERM_MAX], tickets=float(n)) for t, n in sorted(stats.items())], batch_size=BATCH
        )
        ClusterProfile.objects.bulk_create(profiles.values(), batch_size=500)
        rows = [
            ClusterTerm(cluster_id=cid, kind=clusters[cid], term=term[: index.TERM_MAX], weight=round(w, 3))
            for cid, terms in postings.items()
            for term, w in terms.items()
        ]
        ClusterTerm.objects.bulk_create(rows, batch_size=BATCH)
        found = semantic.encoder()
        if found is not None:  # the clusters' vectors from the tickets' stored ones (nothing is encoded)
            cluster_embeddings_rebuild_all(model=found.identity, dimension=found.dimension)
    return {"tickets": read, "profiles": len(profiles), "postings": len(rows), "terms": len(stats)}
