"""Cluster vectors for the semantic signal: what is stored per cluster, and each process's matrix of them.

A cluster's semantic profile (`ClusterVectors`) is the sum of its tickets' vectors (normalised, its
centroid) and the vectors of a few members (its exemplars: the first ones and the most recent). It
is stored in `ClusterEmbedding`, derived from `TicketEmbedding`, and rebuilt from them without
encoding anything (`cluster_embedding_rebuild`), so a person's merge, split or move never needs the
model in a web request.

Semantic candidates must not scan tickets: each process keeps an in-memory matrix of the centroids
of the assignable clusters (`OpenClusters`, one row per cluster, per kind). A ticket's nearest
clusters are one matrix product. The matrix is loaded once, then refreshed incrementally before
each use from the rows changed since the last look (`updated_at`, indexed), with a few seconds of
overlap for transactions that committed late, and reloaded in full every ten minutes so clusters
deleted meanwhile leave it. At 20,000 open clusters of 384 values it holds 30 MB.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from tickets.models import ASSIGNABLE_CLUSTER_STATUSES, BugCluster, ClusterEmbedding, TicketEmbedding

EXEMPLARS_FIRST = 2  # the cluster's first tickets stay as exemplars...
EXEMPLARS_MAX = 5  # ...with its most recent ones
NEAREST_SHARE = 0.6  # meaning similarity = share x nearest exemplar + (1 - share) x centroid
REFRESH_OVERLAP = timedelta(seconds=5)
FULL_RELOAD_SECONDS = 600


def to_bytes(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def from_bytes(value, dimension: int) -> np.ndarray | None:
    """A stored vector (or stacked vectors) as float32; None when its size is not a multiple of `dimension`."""
    raw = bytes(value) if value is not None else b""
    if not raw or len(raw) % (4 * dimension):
        return None
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, dimension)


@dataclass
class ClusterVectors:
    """A cluster's semantic profile in memory; `add` folds one ticket in, as `index.profile_add` does for words."""

    total: np.ndarray
    tickets: int = 0
    exemplars: np.ndarray | None = None
    exemplar_ids: list[int] = field(default_factory=list)

    @classmethod
    def empty(cls, dimension: int) -> ClusterVectors:
        return cls(np.zeros(dimension, dtype=np.float32), 0, np.zeros((0, dimension), dtype=np.float32), [])

    def add(self, ticket_id: int, vector: np.ndarray) -> None:
        self.total = self.total + vector
        self.tickets += 1
        keep = [i for i, other in enumerate(self.exemplar_ids) if other != ticket_id]
        rows = [self.exemplars[i] for i in keep] + [vector]
        ids = [self.exemplar_ids[i] for i in keep] + [ticket_id]
        if len(ids) > EXEMPLARS_MAX:
            del rows[EXEMPLARS_FIRST], ids[EXEMPLARS_FIRST]  # the oldest of the recent ones
        self.exemplars = np.stack(rows).astype(np.float32)
        self.exemplar_ids = ids

    def centroid(self) -> np.ndarray | None:
        norm = float(np.linalg.norm(self.total))
        return (self.total / norm).astype(np.float32) if norm > 1e-6 else None

    def similarity(self, vector: np.ndarray) -> float:
        """How close in meaning a ticket is to this cluster: cosine, mostly to its nearest exemplar."""
        centroid = self.centroid()
        if centroid is None:
            return 0.0
        to_centroid = float(centroid @ vector)
        if self.exemplars is None or not len(self.exemplars):
            return to_centroid
        nearest = float(np.max(self.exemplars @ vector))
        return NEAREST_SHARE * nearest + (1.0 - NEAREST_SHARE) * to_centroid


def _row_vectors(row: ClusterEmbedding | tuple, dimension: int) -> ClusterVectors | None:
    total, tickets, exemplars, ids = row
    total_vector = from_bytes(total, dimension)
    exemplar_vectors = from_bytes(exemplars, dimension) if exemplars else np.zeros((0, dimension), np.float32)
    if total_vector is None or exemplar_vectors is None or len(exemplar_vectors) != len(ids or []):
        return None  # another dimension: refused, the backfill re-embeds it
    return ClusterVectors(total_vector[0].copy(), int(tickets), exemplar_vectors.copy(), list(ids or []))


def cluster_vectors_read(cluster_ids, *, model: str, dimension: int, lock: bool = False) -> dict[int, ClusterVectors]:
    """The stored semantic profiles of `cluster_ids` made by `model` (others are ignored), in one query."""
    cluster_ids = [c for c in cluster_ids if c and c > 0]
    if not cluster_ids:
        return {}
    rows = ClusterEmbedding.objects.filter(cluster_id__in=cluster_ids, model=model)
    if lock:
        rows = rows.select_for_update().order_by("cluster_id")
    out = {}
    for cluster_id, *values in rows.values_list("cluster_id", "total", "tickets", "exemplars", "exemplar_ids"):
        vectors = _row_vectors(values, dimension)
        if vectors is not None:
            out[cluster_id] = vectors
    return out


def cluster_vectors_write(rows: dict[int, tuple[str, ClusterVectors]], *, model: str, assignable: bool = True):
    """Upsert the semantic profiles of clusters, (kind, vectors) by cluster id, in one statement; returns
    the time written (their `updated_at`)."""
    now = timezone.now()
    if not rows:
        return now
    ClusterEmbedding.objects.bulk_create(
        [
            ClusterEmbedding(
                cluster_id=cluster_id,
                kind=kind,
                model=model,
                assignable=assignable,
                total=to_bytes(vectors.total),
                tickets=vectors.tickets,
                exemplars=to_bytes(vectors.exemplars) if vectors.exemplars is not None else b"",
                exemplar_ids=vectors.exemplar_ids,
                updated_at=now,
            )
            for cluster_id, (kind, vectors) in sorted(rows.items())
        ],
        update_conflicts=True,
        unique_fields=["cluster"],
        update_fields=["kind", "model", "assignable", "total", "tickets", "exemplars", "exemplar_ids", "updated_at"],
    )
    return now


def cluster_embedding_drop(*, cluster_id: int) -> None:
    """The cluster stopped taking tickets: it leaves every process's matrix at their next refresh."""
    ClusterEmbedding.objects.filter(cluster_id=cluster_id).update(assignable=False, updated_at=timezone.now())


def cluster_embedding_rebuild(*, cluster: BugCluster) -> bool:
    """Rebuild a cluster's semantic profile from its tickets' stored vectors (no encoding); True if it has one.

    Uses the vectors of the model that made the cluster's most recent ticket vector; tickets without
    one (filed while no model was configured) are embedded by `manage.py clustering_embed`.
    """
    stored = list(
        TicketEmbedding.objects.filter(ticket__cluster=cluster)
        .order_by("ticket__reported_at", "ticket_id")
        .values_list("ticket_id", "model", "vector")
    )
    if not stored:  # emptied (not deleted, so every process's matrix hears of it at its next refresh)
        ClusterEmbedding.objects.filter(cluster_id=cluster.pk).update(
            tickets=0, total=b"", exemplars=b"", exemplar_ids=[], updated_at=timezone.now()
        )
        return False
    model = stored[-1][1]
    dimension = int(model.rsplit("/", 1)[-1]) if model.rsplit("/", 1)[-1].isdigit() else None
    vectors = None
    for ticket_id, ticket_model, raw in stored:
        vector = from_bytes(raw, dimension) if ticket_model == model and dimension else None
        if vector is None:
            continue
        if vectors is None:
            vectors = ClusterVectors.empty(dimension)
        vectors.add(ticket_id, vector[0])
    if vectors is None:
        return False
    cluster_vectors_write(
        {cluster.pk: (cluster.kind, vectors)},
        model=model,
        assignable=cluster.status in ASSIGNABLE_CLUSTER_STATUSES,
    )
    return True


def cluster_embeddings_rebuild_all(*, model: str, dimension: int, progress=None) -> int:
    """Rewrite every cluster's semantic profile from its tickets' stored vectors of `model`; returns how many.

    One pass over the stored vectors in cluster order, written 500 clusters at a time. Profiles of
    another model (a replaced model) are deleted: the engine would refuse them anyway.
    """
    ClusterEmbedding.objects.exclude(model=model).delete()
    rows = (
        TicketEmbedding.objects.filter(model=model, ticket__cluster__isnull=False)
        .order_by("ticket__cluster_id", "ticket__reported_at", "ticket_id")
        .values_list("ticket__cluster_id", "ticket__cluster__kind", "ticket__cluster__status", "ticket_id", "vector")
    )
    pending: dict[bool, dict[int, tuple[str, ClusterVectors]]] = {True: {}, False: {}}
    current: tuple[int, str, bool, ClusterVectors] | None = None
    written = 0

    def flush(force: bool = False) -> None:
        nonlocal written
        for assignable, batch in pending.items():
            if batch and (force or len(batch) >= 500):
                cluster_vectors_write(batch, model=model, assignable=assignable)
                written += len(batch)
                if progress:
                    progress(written)
                pending[assignable] = {}

    for cluster_id, kind, status, ticket_id, raw in rows.iterator(chunk_size=2_000):
        vector = from_bytes(raw, dimension)
        if vector is None:
            continue
        if current is None or current[0] != cluster_id:
            if current is not None:
                pending[current[2]][current[0]] = (current[1], current[3])
                flush()
            current = (cluster_id, kind, status in ASSIGNABLE_CLUSTER_STATUSES, ClusterVectors.empty(dimension))
        current[3].add(ticket_id, vector[0])
    if current is not None:
        pending[current[2]][current[0]] = (current[1], current[3])
    flush(force=True)
    return written


# --- the in-memory matrix of open clusters ------------------------------------------------------


class _KindMatrix:
    """The normalised centroids of one kind's assignable clusters, one row each (grows by doubling)."""

    def __init__(self, dimension: int):
        self.ids = np.zeros(0, dtype=np.int64)
        self.rows = np.zeros((0, dimension), dtype=np.float32)
        self.size = 0
        self.position: dict[int, int] = {}

    def put(self, cluster_id: int, centroid: np.ndarray) -> None:
        at = self.position.get(cluster_id)
        if at is None:
            if self.size == len(self.ids):
                capacity = max(64, 2 * self.size)
                self.ids = np.resize(self.ids, capacity)
                rows = np.zeros((capacity, self.rows.shape[1]), dtype=np.float32)
                rows[: self.size] = self.rows[: self.size]
                self.rows = rows
            at = self.position[cluster_id] = self.size
            self.size += 1
            self.ids[at] = cluster_id
        self.rows[at] = centroid

    def discard(self, cluster_id: int) -> None:
        at = self.position.pop(cluster_id, None)
        if at is None:
            return
        last = self.size - 1
        if at != last:  # the last row takes the freed place
            moved = int(self.ids[last])
            self.ids[at], self.rows[at] = moved, self.rows[last]
            self.position[moved] = at
        self.size = last


class OpenClusters:
    """A process's matrix of the assignable clusters' centroids made by one model; see the module's docstring."""

    def __init__(self, model: str, dimension: int):
        self.model, self.dimension = model, dimension
        self.kinds: dict[str, _KindMatrix] = {}
        self.kind_of: dict[int, str] = {}
        self.watermark: datetime | None = None
        self.seen: dict[int, datetime] = {}  # cluster id -> the version (updated_at) this matrix holds
        self.loaded_at = float("-inf")
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return sum(m.size for m in self.kinds.values())

    def put(self, cluster_id: int, kind: str, vectors: ClusterVectors | None) -> None:
        centroid = vectors.centroid() if vectors is not None else None
        if centroid is None:
            self.discard(cluster_id)
            return
        if self.kind_of.get(cluster_id, kind) != kind:
            self.discard(cluster_id)
        self.kinds.setdefault(kind, _KindMatrix(self.dimension)).put(cluster_id, centroid)
        self.kind_of[cluster_id] = kind

    def discard(self, cluster_id: int) -> None:
        kind = self.kind_of.pop(cluster_id, None)
        if kind is not None:
            self.kinds[kind].discard(cluster_id)

    def refresh(self) -> None:
        """Read the rows changed since the last look (all of them on first use and every ten minutes).

        The overlap window's rows are listed by (id, updated_at) first; only the ones this process has
        not seen in that version (written by another process) are read with their vectors.
        """
        with self.lock:
            full = self.watermark is None or time.monotonic() - self.loaded_at > FULL_RELOAD_SECONDS
            rows = ClusterEmbedding.objects.all()
            latest = self.watermark
            if full:
                self.kinds, self.kind_of, self.seen = {}, {}, {}
                rows = rows.filter(assignable=True, model=self.model)
            else:
                since = self.watermark - REFRESH_OVERLAP
                window = list(rows.filter(updated_at__gte=since).values_list("cluster_id", "updated_at"))
                latest = max([latest, *(at for _, at in window)])
                changed = [cid for cid, at in window if self.seen.get(cid) != at]
                rows = rows.filter(cluster_id__in=changed) if changed else rows.none()
            for cluster_id, kind, model, assignable, total, tickets, updated_at in rows.values_list(
                "cluster_id", "kind", "model", "assignable", "total", "tickets", "updated_at"
            ).iterator(chunk_size=2_000):
                latest = updated_at if latest is None or updated_at > latest else latest
                self.seen[cluster_id] = updated_at
                vectors = _row_vectors((total, tickets, b"", []), self.dimension)
                if assignable and model == self.model and vectors is not None:
                    self.put(cluster_id, kind, vectors)
                else:
                    self.discard(cluster_id)
            self.watermark = latest or timezone.now() - REFRESH_OVERLAP
            if full:
                self.loaded_at = time.monotonic()

    def centroids(self, cluster_ids) -> dict[int, np.ndarray]:
        """The centroids this matrix holds for `cluster_ids` (assignable clusters of its model)."""
        out = {}
        with self.lock:
            for cluster_id in cluster_ids:
                kind = self.kind_of.get(cluster_id)
                if kind is not None:
                    matrix = self.kinds[kind]
                    out[cluster_id] = matrix.rows[matrix.position[cluster_id]].copy()
        return out

    def nearest(
        self, kind: str, queries: np.ndarray, *, k: int, floor: float, exclude: frozenset[int] = frozenset()
    ) -> list[list[tuple[int, float]]]:
        """For each query vector, its `k` nearest clusters of `kind` by centroid cosine (at least `floor`)."""
        with self.lock:  # a refresh in another thread never swaps the rows under a product
            matrix = self.kinds.get(kind)
            if matrix is None or not matrix.size or not len(queries):
                return [[] for _ in range(len(queries))]
            scores = queries @ matrix.rows[: matrix.size].T
            ids = matrix.ids[: matrix.size].copy()
        size = len(ids)
        take = min(k + len(exclude), size)
        out = []
        for row in scores:
            top = np.argpartition(-row, take - 1)[:take] if take < size else np.arange(size)
            ranked = sorted(((int(ids[i]), float(row[i])) for i in top), key=lambda p: (-p[1], p[0]))
            out.append([(cid, s) for cid, s in ranked if s >= floor and cid not in exclude][:k])
        return out


_matrices: dict[str, OpenClusters] = {}
_matrices_lock = threading.Lock()


def open_clusters(model: str, dimension: int) -> OpenClusters:
    """This process's matrix for `model`, refreshed (the first call loads it)."""
    with _matrices_lock:
        matrix = _matrices.get(model)
        if matrix is None:
            matrix = _matrices[model] = OpenClusters(model, dimension)
    matrix.refresh()
    return matrix


def open_clusters_put_on_commit(model: str, rows: dict[int, tuple[str, ClusterVectors]], written_at=None) -> None:
    """After the batch commits, this process's matrix holds the clusters it changed (others see them on refresh)."""

    def put() -> None:
        matrix = _matrices.get(model)
        if matrix is not None:
            with matrix.lock:
                for cluster_id, (kind, vectors) in rows.items():
                    matrix.put(cluster_id, kind, vectors)
                    if written_at is not None:
                        matrix.seen[cluster_id] = written_at  # its next refresh need not read it again

    transaction.on_commit(put)


def open_clusters_reset() -> None:
    """Forget every matrix (tests roll the database back under them)."""
    with _matrices_lock:
        _matrices.clear()
