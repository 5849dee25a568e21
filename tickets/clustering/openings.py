"""Opening a cluster is decided once, however many workers assign tickets at the same time.

Two workers that each take half of a burst of a new bug both find no cluster for it and would each
open one (the bug then lives in two clusters). Openings are therefore serialised per cluster kind,
optimistically so that batches which only join existing clusters never wait:

1. Before ranking, a batch reads the highest cluster id (`openings_watermark`) under a shared lock on
   its kinds, so the read waits for a batch that is writing its openings to commit.
2. A batch that opens clusters takes the exclusive lock on those kinds in its write transaction
   (`openings_claim`), then checks that no cluster of those kinds appeared after its watermark.
   If one did, another worker opened it meanwhile: the transaction is rolled back and the batch
   decided again, now seeing that cluster as a candidate.
3. After a few such retries a batch ranks and writes in one transaction that holds the exclusive lock
   from the start (`openings_exclusive`), so it always finishes.

The locks are PostgreSQL transaction-level advisory locks (key: a namespace and the kind), so they work
through a transaction-pooling connection pooler; on SQLite, which writes one transaction at a time,
the watermark check alone is enough.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable, Iterator

from django.db import connection, transaction
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
    """The highest cluster id, read under a shared lock on the kinds: one statement, no transaction.

    The statement's snapshot may predate a wait for the lock, and that is enough: a batch that held the
    exclusive lock when this asked committed before this returned (so the ranking that follows sees its
    clusters), and a batch that takes the lock after this got its ids after this read (so they are above
    the watermark and `openings_claim` notices them).
    """
    keys = _keys(kinds)
    if not _postgres() or not keys:
        return _max_cluster_id()
    qn = connection.ops.quote_name
    locks = ", ".join(f"pg_advisory_xact_lock_shared({LOCK_NAMESPACE}, %s)" for _ in keys)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {locks}, (SELECT MAX({qn('id')}) FROM {qn(BugCluster._meta.db_table)})", keys)
        return cursor.fetchone()[-1] or 0


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
    """Hold the kinds' exclusive locks across a whole batch (ranking and write, one transaction), so it
    cannot go stale. Transaction-level locks only: they work behind a transaction-pooling PgBouncer."""
    keys = _keys(kinds)
    with transaction.atomic():
        if _postgres() and keys:
            with connection.cursor() as cursor:
                _call(cursor, "pg_advisory_xact_lock", keys)
        yield
