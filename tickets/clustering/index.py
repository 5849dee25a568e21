"""The engine's index in the database: postings of assignable clusters, term statistics, profiles.

Portable SQL (PostgreSQL and SQLite both speak `INSERT ... ON CONFLICT DO UPDATE`); every write of
one ticket is a constant number of statements whatever the ticket's length. Rows are written in
sorted key order so concurrent workers lock them in the same order and never deadlock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import connection

from tickets.clustering.features import Features
from tickets.clustering.vectors import cluster_embedding_drop, cluster_embedding_rebuild
from tickets.models import ASSIGNABLE_CLUSTER_STATUSES, BugCluster, ClusterProfile, ClusterTerm, Ticket

STAT_TICKETS = "#tickets"
STAT_LENGTH = "#length"
FINGERPRINT_PREFIX = "f:"
EVIDENCE_PREFIX = "e:"
EXEMPLARS_FIRST = 3  # the cluster's first tickets stay as exemplars...
EXEMPLARS_MAX = 8  # ...with its most recent ones
_BATCH = 500


def posting_terms(features: Features) -> dict[str, float]:
    """What a ticket adds to its cluster's postings: its word stems (weighted) and fingerprints."""
    terms = dict(features.terms)
    for key in features.fingerprints:
        terms[FINGERPRINT_PREFIX + key] = 1.0
    return terms


def stat_terms(features: Features) -> list[str]:
    """Terms whose ticket count a ticket raises by one (word stems, fingerprints, evidence values)."""
    return [
        *features.terms,
        *(FINGERPRINT_PREFIX + k for k in features.fingerprints),
        *(EVIDENCE_PREFIX + k for k in features.evidence),
    ]


Statement = tuple[str, list]


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


def execute(statements: list[Statement]) -> None:
    """Run statements in order; on PostgreSQL (psycopg2) in one round trip to the server."""
    statements = [s for s in statements if s]
    if not statements:
        return
    with connection.cursor() as cursor:
        raw = getattr(cursor, "cursor", None)
        if connection.vendor == "postgresql" and hasattr(raw, "mogrify") and len(statements) > 1:
            cursor.execute(b";".join(raw.mogrify(sql, params) for sql, params in statements).decode())
            return
        for sql, params in statements:
            cursor.execute(sql, params)


def stats_statements(features_list: Iterable[Features], sign: int = 1) -> list[Statement]:
    counts: Counter[str] = Counter()
    for features in features_list:
        counts.update(term[:120] for term in stat_terms(features))
        counts[STAT_TICKETS] += 1
        counts[STAT_LENGTH] += features.length
    rows = [(term, sign * float(n)) for term, n in sorted(counts.items())]
    return _upsert_statements("tickets_termstat", ("term",), "tickets", rows)


def stats_add(features_list: Iterable[Features], sign: int = 1) -> None:
    """Count tickets into (or, with sign -1, out of) the term statistics."""
    execute(stats_statements(features_list, sign))


def postings_statements(*, cluster_id: int, kind: str, features_list: Iterable[Features]) -> list[Statement]:
    return postings_statements_many([(cluster_id, kind, list(features_list))])


def postings_statements_many(groups: Iterable[tuple[int, str, list[Features]]]) -> list[Statement]:
    """The postings of several clusters' new tickets, (cluster id, kind, features) each, in one upsert."""
    weights: Counter[tuple[int, str, str]] = Counter()
    for cluster_id, kind, features_list in groups:
        for features in features_list:
            for term, weight in posting_terms(features).items():
                weights[(cluster_id, kind, term[:120])] += weight
    rows = [(*key, round(w, 3)) for key, w in sorted(weights.items())]
    return _upsert_statements("tickets_clusterterm", ("cluster_id", "kind", "term"), "weight", rows)


def postings_add(*, cluster_id: int, kind: str, features_list: Iterable[Features]) -> None:
    execute(postings_statements(cluster_id=cluster_id, kind=kind, features_list=features_list))


def exemplar(ticket_id: int, features: Features) -> dict:
    return {"id": ticket_id, "t": features.terms, "n": features.length, "s": features.subject}


def profile_add(profile: ClusterProfile, ticket_id: int, features: Features, count: bool = True) -> None:
    """Fold one ticket (or, with count=False, the cluster's own words) into its profile; the caller saves it."""
    exemplars = [e for e in profile.exemplars if e.get("id") != ticket_id]
    exemplars.append(exemplar(ticket_id, features))
    if len(exemplars) > EXEMPLARS_MAX:
        del exemplars[EXEMPLARS_FIRST]  # the oldest of the recent ones
    profile.exemplars = exemplars
    for key in features.fingerprints:
        profile.fingerprints[key] = profile.fingerprints.get(key, 0) + 1
    for key in features.evidence:
        profile.evidence[key] = profile.evidence.get(key, 0) + 1
    if count:
        profile.tickets += 1


def cluster_index_drop(*, cluster_id: int) -> None:
    """Take a cluster out of retrieval (it was merged, verified or deleted)."""
    ClusterTerm.objects.filter(cluster_id=cluster_id).delete()
    cluster_embedding_drop(cluster_id=cluster_id)


CLUSTER_TEXT_ID = 0  # the exemplar that holds the cluster's own words (title, summary, root cause)


def cluster_text_features(cluster: BugCluster) -> Features:
    """The cluster's own words as product wrote them: a better title makes the engine find it better."""
    from tickets.clustering.features import extract

    ticket_type = cluster.ticket_type if cluster.ticket_type_id else None
    return extract(
        subject=cluster.title,
        description="\n".join(t for t in (cluster.summary, cluster.root_cause) if t),
        ticket_type_key=ticket_type.key if ticket_type else None,
        ticket_type_name=ticket_type.name if ticket_type else None,
    )


def cluster_index_rebuild(*, cluster: BugCluster) -> None:
    """Rebuild a cluster's postings and profile from its own words and its tickets.

    Called when a cluster is created or its title or summary change, after people moved tickets, and
    on a reopen. Tickets the engine has not read yet are read now. A cluster that is no longer
    assignable keeps its profile (for "possible duplicates") but leaves the postings.
    """
    from tickets.clustering.engine import features_for_ticket

    cluster_index_drop(cluster_id=cluster.pk)
    cluster_embedding_rebuild(cluster=cluster)  # from the tickets' stored vectors: nothing is encoded here
    tickets = list(
        Ticket.objects.filter(cluster=cluster)
        .select_related("ticket_type")
        .only("id", "subject", "description", "evidence", "match_features", "ticket_type__key", "ticket_type__name")
        .order_by("reported_at", "id")
    )
    unread = []
    features_by_id: dict[int, Features] = {}
    for ticket in tickets:
        if ticket.match_features:
            features_by_id[ticket.pk] = Features.from_json(ticket.match_features)
        else:
            features_by_id[ticket.pk] = features_for_ticket(ticket)
            unread.append(ticket)
    if unread:
        for ticket in unread:
            ticket.match_features = features_by_id[ticket.pk].as_json()
        Ticket.objects.bulk_update(unread, ["match_features"], batch_size=500)
        stats_add(features_by_id[t.pk] for t in unread)
    text = cluster_text_features(cluster)
    profile = ClusterProfile(cluster=cluster, kind=cluster.kind)
    profile_add(profile, CLUSTER_TEXT_ID, text, count=False)
    for ticket in tickets:
        profile_add(profile, ticket.pk, features_by_id[ticket.pk])
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
        postings_add(cluster_id=cluster.pk, kind=cluster.kind, features_list=[text, *features_by_id.values()])
