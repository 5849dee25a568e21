"""The engine's SQL, in one module: postings, term statistics, profiles, candidates and claims.

Portable SQL (PostgreSQL and SQLite both speak `INSERT ... ON CONFLICT DO UPDATE`); every write of
one ticket or one batch is a constant number of statements whatever its length. Rows are written
and locked in sorted key order so concurrent workers lock them in the same order and never deadlock.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets.clustering import index
from tickets.clustering.features import LINE_PREFIX, Features, line_keys
from tickets.clustering.ranking import CANDIDATES, RETRIEVAL_KEEP, RETRIEVAL_KEEP_MIN, Match, Query, Stats
from tickets.clustering.vectors import cluster_embedding_drop
from tickets.models import ASSIGNABLE_CLUSTER_STATUSES, AssignmentSource, BugCluster, ClusterTerm, TermStat, Ticket
from tickets.sql import Statement, execute_statements

_BATCH = 500


@dataclass
class Join:
    """One ticket an assignment batch puts in a cluster: what `claim_many` writes on the ticket."""

    ticket: Ticket
    features: Features
    match: Match


def _upsert_statements(table: str, keys: tuple[str, ...], value_column: str, rows: list[tuple]) -> list[Statement]:
    """INSERTs that add their value to the row already there (one statement per batch of rows)."""
    qn = connection.ops.quote_name
    columns = (*keys, value_column)
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    statements = []
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        sql = (
            f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "
            f"VALUES {', '.join([placeholder] * len(batch))} "
            f"ON CONFLICT ({', '.join(qn(c) for c in keys)}) "
            f"DO UPDATE SET {qn(value_column)} = {qn(table)}.{qn(value_column)} + excluded.{qn(value_column)}"
        )
        statements.append((sql, [value for row in batch for value in row]))
    return statements


def stats_statements(features_list: Iterable[Features], sign: int = 1) -> list[Statement]:
    counts: Counter[str] = Counter()
    for features in features_list:
        counts.update(term[: index.TERM_MAX] for term in index.stat_terms(features))
        counts[index.STAT_TICKETS] += 1
        counts[index.STAT_LENGTH] += features.length
    rows = [(term, sign * float(n)) for term, n in sorted(counts.items())]
    return _upsert_statements("tickets_termstat", ("term",), "tickets", rows)


def stats_add(features_list: Iterable[Features], sign: int = 1) -> None:
    """Count tickets into (or, with sign -1, out of) the term statistics."""
    execute_statements(stats_statements(features_list, sign))


def postings_statements(groups: Iterable[tuple[int, str, list[Features]]]) -> list[Statement]:
    """The postings of several clusters' new tickets, (cluster id, kind, features) each, in one upsert."""
    weights: Counter[tuple[int, str, str]] = Counter()
    for cluster_id, kind, features_list in groups:
        for features in features_list:
            for term, weight in index.posting_terms(features).items():
                weights[(cluster_id, kind, term[: index.TERM_MAX])] += weight
    rows = [(*key, round(w, 3)) for key, w in sorted(weights.items())]
    return _upsert_statements("tickets_clusterterm", ("cluster_id", "kind", "term"), "weight", rows)


def postings_add(*, cluster_id: int, kind: str, features_list: Iterable[Features]) -> None:
    execute_statements(postings_statements([(cluster_id, kind, list(features_list))]))


def index_drop(*, cluster_id: int) -> None:
    """Take a cluster's postings out of retrieval (it was merged, verified or deleted)."""
    ClusterTerm.objects.filter(cluster_id=cluster_id).delete()
    cluster_embedding_drop(cluster_id=cluster_id)  # and its vectors out of every process's matrix


def template_read(descriptions: Iterable[str]) -> frozenset[str]:
    """The keys of the lines of `descriptions` that are a template's (`index.template_lines`), in one query
    (none when no description has a line)."""
    keys = {key for description in descriptions for key in line_keys(description)}
    if not keys:
        return frozenset()
    stats = stats_read(keys)
    return index.template_lines(stats.df, stats.tickets)


PRUNE_BATCH = 50_000


def template_lines_prune() -> int:
    """Forget the description lines and chunks that a single ticket carried (beat, weekly); returns how many.

    Most lines are one ticket's own words and never come back; a template's come back within days. This
    keeps the term statistics to the lines a desk has seen more than once (a line seen again later starts
    counting anew). Deleted in batches, so no long lock is held.
    """
    deleted = 0
    while True:
        batch = list(
            TermStat.objects.filter(term__startswith=LINE_PREFIX, tickets__lte=1).values_list("term", flat=True)[
                :PRUNE_BATCH
            ]
        )
        if not batch:
            return deleted
        deleted += TermStat.objects.filter(term__in=batch, tickets__lte=1).delete()[0]


def stats_read(terms: Iterable[str]) -> Stats:
    """The statistics of `terms` (and the totals) in one query."""
    rows = TermStat.objects.filter(term__in=[index.STAT_TICKETS, index.STAT_LENGTH, *terms]).values_list()
    return Stats(dict(rows))


def retrieve(queries: list[Query], exclude: tuple[int, ...] = ()) -> list[dict[int, tuple[float, float]]]:
    """Candidate clusters of each query from the postings, in one SQL query per cluster kind.

    For each query: cluster id -> (weight of the query's words the cluster has, retrieval score),
    its best `CANDIDATES` clusters only. The postings are read through the (kind, term) index for
    the batch's distinct terms, then matched to each query's terms.
    """
    found: list[dict[int, tuple[float, float]]] = [{} for _ in queries]
    by_kind: dict[str, list[tuple[int, Query]]] = {}
    for n, query in enumerate(queries):
        if query.weights:
            by_kind.setdefault(query.kind, []).append((n, query))
    qn = connection.ops.quote_name
    for kind, asked in by_kind.items():
        rows = [(n, term, w, 1.0 if term in q.text_terms else 0.0) for n, q in asked for term, w in q.weights.items()]
        terms = sorted({row[1] for row in rows})
        excluded = ""
        if exclude:
            excluded = f" AND {qn('cluster_id')} NOT IN ({', '.join(['%s'] * len(exclude))})"
        sql = (
            f"WITH q(qi, term, w, text) AS (VALUES {', '.join(['(%s, %s, %s, %s)'] * len(rows))}), "
            f"p AS (SELECT {qn('cluster_id')} AS cid, {qn('term')} AS term, {qn('weight')} AS weight "
            f"FROM {qn('tickets_clusterterm')} WHERE {qn('kind')} = %s "
            f"AND {qn('term')} IN ({', '.join(['%s'] * len(terms))}){excluded}), "
            f"s AS (SELECT q.qi, p.cid, SUM(q.w * q.text) AS tw, SUM(q.w * p.weight / (p.weight + 1.0)) AS s "
            f"FROM p JOIN q ON p.term = q.term GROUP BY q.qi, p.cid) "
            f"SELECT qi, cid, tw, s FROM (SELECT qi, cid, tw, s, "
            f"ROW_NUMBER() OVER (PARTITION BY qi ORDER BY s DESC, cid DESC) AS n FROM s) r WHERE n <= {CANDIDATES}"
        )
        params = [value for row in rows for value in row] + [kind, *terms, *exclude]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for qi, cluster_id, text_weight, score in cursor.fetchall():
                found[qi][cluster_id] = (float(text_weight), float(score))
    for n, hits in enumerate(found):
        if len(hits) > RETRIEVAL_KEEP_MIN:
            ranked = sorted(hits.items(), key=lambda item: (-item[1][1], -item[0]))  # ties: the newest, as retrieved
            floor = RETRIEVAL_KEEP * ranked[0][1][1]
            found[n] = dict(ranked[:RETRIEVAL_KEEP_MIN] + [i for i in ranked[RETRIEVAL_KEEP_MIN:] if i[1][1] >= floor])
    return found


class Candidate(index.Profile):
    """A candidate cluster's profile, read in one query with the cluster's fields the engine needs.

    The cluster's model object is built only for the matches a caller gets back. An assignment
    batch folds the tickets it joins into their candidate, so the batch's later tickets see them
    as exemplars.
    """

    def __init__(self, *, exemplars, fingerprints, evidence, tickets, values=None, cluster=None):
        super().__init__(exemplars, fingerprints, evidence, tickets)
        self._values, self._cluster = values, cluster
        if cluster is not None:
            self.status, self.last_reported_at = cluster.status, cluster.last_reported_at
        else:
            self.status = values[_STATUS_POSITION]
            self.last_reported_at = values[_LAST_REPORTED_POSITION]

    @property
    def cluster(self) -> BugCluster:
        if self._cluster is None:
            self._cluster = BugCluster.from_db(connection.alias, _CLUSTER_FIELDS, self._values)
        return self._cluster


# In the model's field order, as Model.from_db expects.
_CLUSTER_FIELDS = tuple(
    f.attname
    for f in BugCluster._meta.concrete_fields
    if f.attname
    in {
        "id",
        "status",
        "kind",
        "title",
        "ticket_count",
        "first_reported_at",
        "last_reported_at",
        "threshold_crossed_at",
        "ticket_type_id",
    }
)
_DATETIME_POSITIONS = tuple(i for i, name in enumerate(_CLUSTER_FIELDS) if name.endswith("_at"))
_STATUS_POSITION = _CLUSTER_FIELDS.index("status")
_LAST_REPORTED_POSITION = _CLUSTER_FIELDS.index("last_reported_at")
_ID_POSITION = _CLUSTER_FIELDS.index("id")


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _datetime(value: Any) -> datetime | None:
    """A timestamp column read by raw SQL: PostgreSQL gives it aware, SQLite naive UTC (or as text)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


def candidates(cluster_ids) -> dict[int, Candidate]:
    """Profiles and clusters of `cluster_ids` in one query, without building more model objects than needed."""
    cluster_ids = list(cluster_ids)
    if not cluster_ids:
        return {}
    qn = connection.ops.quote_name
    columns = ", ".join(f"c.{qn(f)}" for f in _CLUSTER_FIELDS)
    sql = (
        f"SELECT p.{qn('exemplars')}, p.{qn('fingerprints')}, p.{qn('evidence')}, p.{qn('tickets')}, {columns} "
        f"FROM {qn('tickets_clusterprofile')} p "
        f"JOIN {qn('tickets_bugcluster')} c ON c.{qn('id')} = p.{qn('cluster_id')} "
        f"WHERE p.{qn('cluster_id')} IN ({', '.join(['%s'] * len(cluster_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, cluster_ids)
        rows = cursor.fetchall()
    out = {}
    for row in rows:
        values = list(row[4:])
        for i in _DATETIME_POSITIONS:
            values[i] = _datetime(values[i])
        out[values[_ID_POSITION]] = Candidate(
            exemplars=_json(row[0]) or [],
            fingerprints=_json(row[1]) or {},
            evidence=_json(row[2]) or {},
            tickets=row[3],
            values=values,
        )
    return out


def lock_profiles(cluster_ids: list[int]) -> dict[int, index.Profile]:
    """Lock the profiles of the clusters that still take tickets, in id order (no deadlocks)."""
    qn = connection.ops.quote_name
    statuses = list(ASSIGNABLE_CLUSTER_STATUSES)
    sql = (
        f"SELECT p.{qn('cluster_id')}, p.{qn('exemplars')}, p.{qn('fingerprints')}, p.{qn('evidence')}, "
        f"p.{qn('tickets')} FROM {qn('tickets_clusterprofile')} p "
        f"JOIN {qn('tickets_bugcluster')} c ON c.{qn('id')} = p.{qn('cluster_id')} "
        f"WHERE p.{qn('cluster_id')} IN ({', '.join(['%s'] * len(cluster_ids))}) "
        f"AND c.{qn('status')} IN ({', '.join(['%s'] * len(statuses))}) ORDER BY p.{qn('cluster_id')}"
    )
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF p"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*cluster_ids, *statuses])
        rows = cursor.fetchall()
    return {
        row[0]: index.Profile(
            exemplars=_json(row[1]) or [],
            fingerprints=_json(row[2]) or {},
            evidence=_json(row[3]) or {},
            tickets=row[4],
        )
        for row in rows
    }


def claim_many(joins: list[Join]) -> set[int]:
    """Write each join's assignment unless someone assigned the ticket meanwhile; returns the claimed ids."""
    if not joins:
        return set()
    now = timezone.now()
    joins = sorted(joins, key=lambda j: j.ticket.pk)  # rows locked in id order: concurrent workers never deadlock
    claimed: set[int] = set()
    if connection.vendor == "postgresql":
        # One statement for the batch: conditional on each row, reporting which rows it changed.
        qn = connection.ops.quote_name
        values = ", ".join(["(%s::bigint, %s::bigint, %s::double precision, %s::jsonb, %s::jsonb)"] * len(joins))
        sql = (
            f"UPDATE {qn('tickets_ticket')} t SET {qn('cluster_id')} = v.cluster_id, "
            f"{qn('cluster_assigned_at')} = %s, {qn('assignment_source')} = %s, "
            f"{qn('assignment_confidence')} = v.confidence, {qn('assignment_reasons')} = v.reasons, "
            f"{qn('match_features')} = v.features, {qn('updated_at')} = %s "
            f"FROM (VALUES {values}) AS v(id, cluster_id, confidence, reasons, features) "
            f"WHERE t.{qn('id')} = v.id AND t.{qn('cluster_id')} IS NULL AND t.{qn('cluster_assigned_at')} IS NULL "
            f"RETURNING t.{qn('id')}"
        )
        params: list[Any] = [now, AssignmentSource.ENGINE, now]
        for j in joins:
            params += [
                j.ticket.pk,
                j.match.cluster.pk,
                round(j.match.score, 4),
                json.dumps(j.match.reasons),
                json.dumps(j.features.as_json()),
            ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            claimed = {row[0] for row in cursor.fetchall()}
    else:  # SQLite writes one transaction at a time: each conditional UPDATE tells whether it claimed
        for j in joins:
            waiting = Ticket.objects.filter(pk=j.ticket.pk, cluster_assigned_at__isnull=True, cluster__isnull=True)
            updated = waiting.update(
                cluster_id=j.match.cluster.pk,
                cluster_assigned_at=now,
                assignment_source=AssignmentSource.ENGINE,
                assignment_confidence=round(j.match.score, 4),
                assignment_reasons=j.match.reasons,
                match_features=j.features.as_json(),
                updated_at=now,
            )
            if updated:
                claimed.add(j.ticket.pk)
    for join in joins:
        if join.ticket.pk in claimed:
            ticket = join.ticket
            ticket.cluster = join.match.cluster
            ticket.cluster_assigned_at = now
            ticket.assignment_source = AssignmentSource.ENGINE
            ticket.assignment_confidence = round(join.match.score, 4)
            ticket.assignment_reasons = join.match.reasons
    return claimed


def profile_statement(cluster_id: int, profile: index.Profile, now: datetime) -> Statement:
    qn = connection.ops.quote_name
    return (
        f"UPDATE {qn('tickets_clusterprofile')} SET {qn('exemplars')} = %s, {qn('fingerprints')} = %s, "
        f"{qn('evidence')} = %s, {qn('tickets')} = %s, {qn('updated_at')} = %s WHERE {qn('cluster_id')} = %s",
        [
            json.dumps(profile.exemplars),
            json.dumps(profile.fingerprints),
            json.dumps(profile.evidence),
            profile.tickets,
            connection.ops.adapt_datetimefield_value(now),
            cluster_id,
        ],
    )
