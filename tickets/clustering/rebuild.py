"""Rebuild the engine's whole index from tickets (after an import, a restore, or a change of method)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

from django.db import transaction

from tickets.clustering import index, semantic
from tickets.clustering.engine import features_for_ticket
from tickets.clustering.vectors import cluster_embeddings_rebuild_all
from tickets.models import ASSIGNABLE_CLUSTER_STATUSES, BugCluster, ClusterProfile, ClusterTerm, TermStat, Ticket

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
    with transaction.atomic():
        ClusterTerm.objects.all().delete()
        ClusterProfile.objects.all().delete()
        TermStat.objects.all().delete()
        batch: list[Ticket] = []
        for ticket in queryset.iterator(chunk_size=BATCH):
            features = features_for_ticket(ticket)
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
            [TermStat(term=t[:120], tickets=float(n)) for t, n in sorted(stats.items())], batch_size=BATCH
        )
        ClusterProfile.objects.bulk_create(profiles.values(), batch_size=500)
        rows = [
            ClusterTerm(cluster_id=cid, kind=clusters[cid], term=term[:120], weight=round(w, 3))
            for cid, terms in postings.items()
            for term, w in terms.items()
        ]
        ClusterTerm.objects.bulk_create(rows, batch_size=BATCH)
        found = semantic.encoder()
        if found is not None:  # the clusters' vectors from the tickets' stored ones (nothing is encoded)
            cluster_embeddings_rebuild_all(model=found.identity, dimension=found.dimension)
    return {"tickets": read, "profiles": len(profiles), "postings": len(rows), "terms": len(stats)}
