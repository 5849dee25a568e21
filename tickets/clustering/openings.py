"""Opening a cluster is decided once, however many workers assign tickets at the same time.

Two workers that each take half of a burst of a new bug both find no cluster for it and would each
open one (the bug then lives in two clusters). Openings are therefore serialised per cluster kind,
optimistically so that batches which only join existing clusters never wait:

1. Before ranking, a batch reads the highest cluster id (`openings_watermark`), under a shared lock
   on its kinds, so the read waits for a batch that is writing its openings to commit.
2. A batch that opens clusters takes the exclusive lock on those kinds in its write transaction
   (`openings_claim`), then checks that no cluster of those kinds appeared after its watermark.
   If one did, another worker opened it meanwhile: the transaction is rolled back and the batch
   decided again, now seeing that cluster as a candidate.
3. After a few such retries a batch holds the exclusive lock from before ranking until its commit
   (`openings_exclusive`), so it always finishes.

The locks are PostgreSQL advisory locks (key: a namespace and the kind); on SQLite, which writes one
transaction at a time, the watermark check alone is enough.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable, Iterator

from django.db import connection
from django.db.models import Max

from tickets.models import BugCluster

LOCK_NAMESPACE = 0x54524743  # "TRGC": advisory locks of cluster openings


class StaleOpenings(Exception):
    """Another worker opened a cluster of the same kind after this batch ranked its tickets."""


def _keys(kinds: Iterable[str]) -> list[int]:
    return sorted({zlib.crc32(kind.encode()) & 0x7FFFFFFF for kind in kinds})


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _call(cursor, function: str, keys: list[int]) -> None:
    """One statement taking (or releasing) the advisory lock of each key, in key order."""
    cursor.execute("SELECT " + ", ".join(f"{function}({LOCK_NAMESPACE}, %s)" for _ in keys), keys)


def _max_cluster_id() -> int:
    return BugCluster.objects.aggregate(top=Max("pk"))["top"] or 0


def openings_watermark(kinds: Iterable[str]) -> int:
    """The highest cluster id, read once no batch of these kinds is between opening and commit."""
    keys = _keys(kinds)
    if not _postgres() or not keys or connection.in_atomic_block:
        return _max_cluster_id()
    with connection.cursor() as cursor:
        _call(cursor, "pg_advisory_lock_shared", keys)
        try:
            # A statement of its own: its snapshot is taken after the lock was granted.
            return _max_cluster_id()
        finally:
            _call(cursor, "pg_advisory_unlock_shared", keys)


def openings_claim(kinds: Iterable[str], watermark: int) -> None:
    """Inside the write transaction of a batch that opens clusters: take its kinds' exclusive locks
    (held until commit) and raise StaleOpenings if a cluster of those kinds appeared since `watermark`."""
    kinds = sorted(set(kinds))
    keys = _keys(kinds)
    if _postgres() and keys:
        with connection.cursor() as cursor:
            _call(cursor, "pg_advisory_xact_lock", keys)
    if BugCluster.objects.filter(kind__in=kinds, pk__gt=watermark).exists():
        raise StaleOpenings(f"a cluster of {', '.join(kinds)} was opened after id {watermark}")


@contextlib.contextmanager
def openings_exclusive(kinds: Iterable[str]) -> Iterator[None]:
    """Hold the kinds' exclusive locks across a whole batch (ranking and write), so it cannot go stale."""
    keys = _keys(kinds)
    if not _postgres() or not keys or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        _call(cursor, "pg_advisory_lock", keys)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            _call(cursor, "pg_advisory_unlock", keys)
