"""The semantic signal in ranking and assignment: duplicates told in other words.

A ticket's vector (its subject, description and free-text evidence, encoded by `embeddings`) is
compared with each candidate cluster's vectors (`vectors.ClusterVectors`: mostly its nearest
exemplar, partly its centroid). That cosine joins the words' similarity in scoring (`ranking.fuse`), and
the clusters nearest in meaning are candidates too (`Meaning.candidates`), taken from the process's
in-memory matrix of open clusters, so a duplicate that shares no word with its cluster is found, not
only re-ranked. Reasons name it: `meaning similar 0.81`.

`Meaning` is the semantic side of one ranking (the Known-bugs panel, possible duplicates) or of one
assignment batch; the engine calls it at a few marked points. Without a model (`encoder()` is None)
there is no `Meaning` and the engine ranks by words alone, exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from django.db import transaction

from tickets.clustering import embeddings, ranking
from tickets.clustering.features import TEXT_EVIDENCE_KEYS, without_template
from tickets.clustering.vectors import (
    ClusterVectors,
    cluster_embedding_rebuild,
    cluster_vectors_read,
    cluster_vectors_write,
    from_bytes,
    open_clusters,
    open_clusters_put_on_commit,
    to_bytes,
)
from tickets.models import ASSIGNABLE_CLUSTER_STATUSES, BugCluster, ClusterEmbedding, Ticket, TicketEmbedding

SIGNALS = ("fused", "lexical", "semantic")
NEIGHBOURS = 10  # clusters nearest in meaning that join the lexical candidates
NEIGHBOUR_FLOOR = 0.45  # ...when their centroid's cosine is at least this
EXEMPLAR_REACH = 0.4  # candidates whose centroid is further from every ticket are compared by their centroid

_state: dict = {"signal": "fused", "encoder": None}


@contextmanager
def signal_used(name: str, encoder: embeddings.Encoder | None = None) -> Iterator[None]:
    """Rank with one signal ("lexical", "semantic" or "fused"), optionally with another encoder (replays)."""
    if name not in SIGNALS:
        raise ValueError(f"signal must be one of {', '.join(SIGNALS)}; got {name!r}")
    before = dict(_state)
    _state.update(signal=name, encoder=encoder)
    try:
        yield
    finally:
        _state.update(before)


def encoder() -> embeddings.Encoder | None:
    """The encoder ranking uses now: None with the lexical signal or without a loadable model."""
    if _state["signal"] == "lexical":
        return None
    return _state["encoder"] or embeddings.encoder()


def ticket_text(
    *, subject: str, description: str = "", evidence: dict | None = None, template: frozenset[str] = frozenset()
) -> str:
    """What a ticket says, subject first (truncation keeps the start): subject, description without the lines
    of a template (`index.template_lines`), free-text evidence."""
    evidence = evidence or {}
    parts = [subject.strip(), without_template(description, template).strip()]
    parts += [str(evidence[k]).strip() for k in sorted(TEXT_EVIDENCE_KEYS) if evidence.get(k)]
    return "\n".join(p for p in parts if p)


class Meaning:
    """The semantic side of one ranking or assignment batch: the tickets' vectors and their clusters'."""

    def __init__(self, *, model: str, dimension: int, vectors: dict[int, np.ndarray]):
        self.model, self.dimension = model, dimension
        self.vectors = vectors  # ticket id (or 0 for typed text) -> vector
        self.clusters: dict[int, ClusterVectors] = {}  # cluster id (below zero: opened by this batch) -> vectors
        self.fresh: dict[int, np.ndarray] = {}  # vectors encoded now, to store with the batch
        self.matrix = open_clusters(model, dimension)
        self.neighbourhood: dict[int, tuple[str, list[tuple[int, float]]]] = {}  # key -> kind, nearest clusters
        self.changed: dict[int, str] = {}  # clusters this batch opened or added to (newer than the matrix) -> kind

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def for_tickets(cls, tickets: list[Ticket], template: dict[int, frozenset[str]] | None = None) -> Meaning | None:
        """Vectors of an assignment batch's tickets: stored ones reused, the others encoded now.

        A ticket's template lines (ticket id -> line keys; by default the ones its stored features left
        out) are not encoded, as they are not read as its words.
        """
        found = encoder()
        if found is None or not tickets:
            return None
        stored = {
            ticket_id: from_bytes(raw, found.dimension)
            for ticket_id, raw in TicketEmbedding.objects.filter(
                ticket_id__in=[t.pk for t in tickets], model=found.identity
            ).values_list("ticket_id", "vector")
        }
        vectors = {tid: v[0] for tid, v in stored.items() if v is not None}
        todo = [t for t in tickets if t.pk not in vectors]
        if template is None:
            template = {t.pk: frozenset((t.match_features or {}).get("b") or ()) for t in todo}
        encoded = found.encode(
            [
                ticket_text(
                    subject=t.subject,
                    description=t.description,
                    evidence=t.evidence,
                    template=template.get(t.pk, frozenset()),
                )
                for t in todo
            ]
        )
        meaning = cls(model=found.identity, dimension=found.dimension, vectors=vectors)
        for ticket, vector in zip(todo, encoded, strict=True):
            if vector is not None:
                meaning.vectors[ticket.pk] = meaning.fresh[ticket.pk] = vector
        return meaning

    @classmethod
    def for_text(cls, text: str) -> Meaning | None:
        """The meaning of text typed in a form (key 0); None without a model or without words.

        Encoded in the web request (one short text, milliseconds), unless CLUSTERING_EMBEDDING_IN_REQUESTS
        is off, which spares web workers the model's memory.
        """
        from django.conf import settings

        if not settings.CLUSTERING_EMBEDDING_IN_REQUESTS:
            return None
        found = encoder()
        vector = found.encode_one(text) if found is not None else None
        if vector is None:
            return None
        return cls(model=found.identity, dimension=found.dimension, vectors={0: vector})

    @classmethod
    def for_cluster(cls, cluster_id: int) -> Meaning | None:
        """A cluster's centroid as the query (key 0), to find other clusters that mean the same.

        Nothing is encoded and the model is not loaded: the stored vectors of the cluster's own model are
        compared with other clusters' of that model.
        """
        from django.conf import settings

        if _state["signal"] == "lexical" or not (_state["encoder"] or settings.CLUSTERING_EMBEDDING_MODEL):
            return None
        row = ClusterEmbedding.objects.filter(cluster_id=cluster_id).values_list("model", "total").first()
        if row is None or not row[0].rsplit("/", 1)[-1].isdigit():
            return None
        model, dimension = row[0], int(row[0].rsplit("/", 1)[-1])
        total = from_bytes(row[1], dimension)
        norm = float(np.linalg.norm(total)) if total is not None else 0.0
        if norm < 1e-6:
            return None
        return cls(model=model, dimension=dimension, vectors={0: (total[0] / norm).astype(np.float32)})

    # -- ranking -------------------------------------------------------------------------------

    def candidates(
        self, keys: list[int | None], kinds: list[str], founds: list[dict], exclude: tuple[int, ...] = ()
    ) -> None:
        """Add to each ticket's lexical candidates (`founds`, in place) its nearest clusters in meaning."""
        if _state["signal"] == "semantic":
            for found in founds:
                found.clear()
        by_kind: dict[str, list[int]] = {}
        for n, (key, kind) in enumerate(zip(keys, kinds, strict=True)):
            if key is not None and key in self.vectors:
                by_kind.setdefault(kind, []).append(n)
        for kind, positions in by_kind.items():
            queries = np.stack([self.vectors[keys[n]] for n in positions])
            # Enough neighbours for each ticket's background even if the batch changes some of them (`centre`).
            reach = max(NEIGHBOURS, ranking.MEANING_BACKGROUND) + len(keys)
            near = self.matrix.nearest(kind, queries, k=reach, floor=-1.0, exclude=frozenset(exclude))
            for n, neighbours in zip(positions, near, strict=True):
                self.neighbourhood[keys[n]] = (kind, neighbours)
                for cluster_id, cosine in neighbours[:NEIGHBOURS]:
                    if cosine >= NEIGHBOUR_FLOOR:
                        founds[n].setdefault(cluster_id, (0.0, 0.0))

    def load(self, cluster_ids) -> None:
        """The semantic profiles of candidates not read yet.

        Exemplars are read (one query) only for candidates whose centroid, held by the in-memory matrix,
        is within reach in meaning of one of the batch's tickets (cosine at least EXEMPLAR_REACH); the
        others, far in meaning from all of them, are compared by their centroid alone.
        """
        wanted = [c for c in cluster_ids if c > 0 and c not in self.clusters]
        if not wanted or not self.vectors:
            return
        centroids = self.matrix.centroids(wanted)
        far = set()
        if centroids:
            ids = list(centroids)
            reach = (np.stack([centroids[c] for c in ids]) @ np.stack(list(self.vectors.values())).T).max(axis=1)
            far = {cid for cid, best in zip(ids, reach, strict=True) if best < EXEMPLAR_REACH}
        for cluster_id in far:
            self.clusters[cluster_id] = ClusterVectors(centroids[cluster_id], 1, None, [])
        near = [c for c in wanted if c not in far]
        self.clusters.update(cluster_vectors_read(near, model=self.model, dimension=self.dimension))

    def similarity(self, key: int | None, cluster_key: int) -> float | None:
        vector = self.vectors.get(key) if key is not None else None
        cluster = self.clusters.get(cluster_key)
        if vector is None or cluster is None:
            return None
        return cluster.similarity(vector)

    def centre(self, key: int | None) -> float | None:
        """The ticket's centre for the meaning's cosines (`ranking.meaning_centre`), from its nearest open clusters.

        Clusters this batch opened or added to are taken as they are now, not as the matrix held them
        when the batch began, so a batch gives the same centre as one ticket at a time.
        """
        if key not in self.neighbourhood:
            return None
        kind, neighbours = self.neighbourhood[key]
        vector = self.vectors[key]
        background = [cosine for cluster_id, cosine in neighbours if cluster_id not in self.changed]
        for cluster_id, cluster_kind in self.changed.items():
            centroid = self.clusters[cluster_id].centroid() if cluster_kind == kind else None
            if centroid is not None:
                background.append(float(centroid @ vector))
        return ranking.meaning_centre(background)

    def scorer(self, key: int | None) -> Callable[[int], float | None]:
        return lambda cluster_key: self.similarity(key, cluster_key)

    @property
    def semantic_only(self) -> bool:
        return _state["signal"] == "semantic"

    def near(self, key: int | None, cluster_key: int) -> bool:
        """Is a cluster this batch opened close enough in meaning to be a candidate?"""
        similarity = self.similarity(key, cluster_key)
        return similarity is not None and similarity >= NEIGHBOUR_FLOOR

    # -- assignment ----------------------------------------------------------------------------

    def fold(self, cluster_key: int, ticket_id: int, kind: str) -> None:
        """The batch put a ticket in a cluster of `kind` (or opened one with it): later tickets see its vector there."""
        vector = self.vectors.get(ticket_id)
        if vector is None:
            return
        cluster = self.clusters.get(cluster_key)
        if cluster is None:
            if cluster_key > 0:
                return  # no stored profile to add to: the write rebuilds it from the stored vectors
            cluster = self.clusters[cluster_key] = ClusterVectors.empty(self.dimension)
        cluster.add(ticket_id, vector)
        self.changed[cluster_key] = kind

    def write(self, members: dict[int, tuple[str, list[int]]], opened: set[int]) -> None:
        """Store the batch's new ticket vectors and its clusters' new profiles (cluster id -> kind, tickets).

        Call inside the batch's transaction, after the clusters' profiles were locked: the stored
        cluster vectors are read again under that lock, so two workers never lose each other's tickets.
        """
        if self.fresh:
            TicketEmbedding.objects.bulk_create(
                [
                    TicketEmbedding(ticket_id=ticket_id, model=self.model, vector=to_bytes(vector))
                    for ticket_id, vector in sorted(self.fresh.items())
                ],
                update_conflicts=True,
                unique_fields=["ticket"],
                update_fields=["model", "vector", "created_at"],
            )
            self.fresh = {}
        stored = cluster_vectors_read(members, model=self.model, dimension=self.dimension, lock=True)
        rows: dict[int, tuple[str, ClusterVectors]] = {}
        for cluster_id, (kind, ticket_ids) in members.items():
            vectors = stored.get(cluster_id)
            if vectors is None and cluster_id not in opened:
                # A cluster older than its vectors (or of another model): rebuilt from its tickets' stored vectors.
                cluster = BugCluster(pk=cluster_id, kind=kind, status=ASSIGNABLE_CLUSTER_STATUSES[0])
                cluster_embedding_rebuild(cluster=cluster)
                vectors = cluster_vectors_read([cluster_id], model=self.model, dimension=self.dimension).get(cluster_id)
                if vectors is not None:
                    rows[cluster_id] = (kind, vectors)
                continue
            vectors = vectors or ClusterVectors.empty(self.dimension)
            added = False
            for ticket_id in ticket_ids:
                if ticket_id in self.vectors:
                    vectors.add(ticket_id, self.vectors[ticket_id])
                    added = True
            if added:
                rows[cluster_id] = (kind, vectors)
        written_at = cluster_vectors_write(rows, model=self.model)
        open_clusters_put_on_commit(self.model, rows, written_at)


def placed_ticket_add(*, ticket: Ticket, cluster: BugCluster, template: frozenset[str] = frozenset()) -> None:
    """A person put the ticket in its cluster: store its vector and fold it into the cluster's (in a transaction)."""
    meaning = Meaning.for_tickets([ticket], {ticket.pk: template})
    if meaning is None or ticket.pk not in meaning.vectors:
        return
    if cluster.status not in ASSIGNABLE_CLUSTER_STATUSES:
        meaning.write({}, set())
        cluster_embedding_rebuild(cluster=cluster)
        return
    meaning.write({cluster.pk: (cluster.kind, [ticket.pk])}, set())


def tickets_embed(tickets: list[Ticket]) -> int:
    """Store the vectors of tickets that have none of the current model (the backfill); returns how many."""
    meaning = Meaning.for_tickets(tickets)
    if meaning is None:
        return 0
    count = len(meaning.fresh)
    with transaction.atomic():
        meaning.write({}, set())
    return count
