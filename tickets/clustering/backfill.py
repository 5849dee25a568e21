"""Embed the tickets that have no vector of the current model, then rebuild the clusters' vectors.

Resumable: each batch of tickets is committed on its own and tickets that already have a vector of
the current model are skipped, so a run that was stopped continues where it was. A ticket whose
vector was made by another model (or has another dimension) is embedded again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from tickets.clustering import semantic
from tickets.clustering.vectors import cluster_embeddings_rebuild_all
from tickets.models import Ticket, TicketEmbedding

BATCH = 64


@dataclass
class BackfillResult:
    embedded: int  # tickets encoded now
    replaced: int  # of those, tickets that had a vector of another model
    clusters: int  # cluster profiles rewritten


def tickets_to_embed(model: str):
    """Tickets with no vector of `model`, oldest id first."""
    current = TicketEmbedding.objects.filter(ticket_id=OuterRef("pk"), model=model)
    return Ticket.objects.filter(~Exists(current)).order_by("pk")


def embeddings_backfill(
    *,
    batch_size: int = BATCH,
    progress: Callable[[int], None] | None = None,
    cluster_progress: Callable[[int], None] | None = None,
) -> BackfillResult:
    """Encode every ticket lacking a vector of the current model, in committed batches; rebuild cluster vectors.

    Raises ValueError with the reason when no model is loadable.
    """
    encoder = semantic.encoder()
    if encoder is None:
        raise ValueError(semantic.embeddings.encoder_status()[1])
    replaced = TicketEmbedding.objects.exclude(model=encoder.identity).count()
    embedded = 0
    last = 0
    fields = ("id", "subject", "description", "evidence", "match_features")  # its features say its template lines
    while True:
        batch = list(tickets_to_embed(encoder.identity).filter(pk__gt=last).only(*fields)[:batch_size])
        if not batch:
            break
        last = batch[-1].pk
        embedded += semantic.tickets_embed(batch)
        if progress:
            progress(len(batch))
    clusters = cluster_embeddings_rebuild_all(
        model=encoder.identity, dimension=encoder.dimension, progress=cluster_progress
    )
    return BackfillResult(embedded=embedded, replaced=replaced, clusters=clusters)
