"""Assign a ticket to the best assignable cluster of its kind, or open a new one.

Ranking, in two stages:

1. Retrieval. One SQL query over the postings of assignable clusters (an inverted index) sums,
   for the ticket's most telling terms and its fingerprints, their inverse document frequency
   times a saturating function of the cluster's weight for the term. Only the best
   `CANDIDATES` clusters go on, whatever the number of tickets or clusters.
2. Scoring. Each candidate is compared with its exemplars (a few member tickets) by BM25,
   normalised by the ticket's score against itself, so a similarity reads 0..1 (nearest
   neighbour), blended with how much of the ticket's term weight the cluster covers (its
   centroid). Shared fingerprints (error code, exception and top frame, normalised error
   message, HTTP status, URL path) add strongly; shared evidence values (type, component, payment
   method, browser, OS) add a little, recent activity a little. A different error code than most
   of the cluster's tickets caps the score below the join threshold.

The ticket joins the best cluster when the score reaches `JOIN_THRESHOLD`, else it opens a new
cluster. Both outcomes keep the confidence and the reasons in words on the ticket.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets import signals
from tickets.clustering import index
from tickets.clustering.features import Features, extract
from tickets.models import (
    ASSIGNABLE_CLUSTER_STATUSES,
    AssignmentSource,
    BugCluster,
    ClusterKind,
    ClusterProfile,
    FeedbackKind,
    TermStat,
    Ticket,
)

CANDIDATES = 30
QUERY_TERMS = 16  # the ticket's terms with the highest weight x idf are looked up
RETRIEVAL_MAX_SHARE = 0.02
RETRIEVAL_MIN_TICKETS = 1_000  # below this many tickets with a word, it is always looked up
JOIN_THRESHOLD = 0.55
K1, B = 2.0, 0.75  # BM25 (K1 above the usual 1.2: a word repeated in a long report counts longer)
TITLE_SHARE = 0.9  # text similarity is at least this share of the best subject-to-subject cosine
NEIGHBOUR_SHARE = 0.85  # text similarity = share x nearest exemplar + (1 - share) x centroid coverage
FINGERPRINT_BONUS = {"code": 0.45, "msg": 0.35, "frame": 0.20, "exc": 0.12, "url": 0.10, "http": 0.06}
FINGERPRINT_CAP = 0.55
CODE_CONFLICT_MARGIN = 0.05
EVIDENCE_BONUS = 0.06
EVIDENCE_CAP = 0.12
TYPE_MISMATCH_PENALTY = 0.1
RECENT_DAYS, RECENT_BONUS = 14, 0.03
STALE_DAYS, STALE_PENALTY = 180, 0.05


def cluster_kind_for(feedback_kind: str) -> str:
    """Bugs cluster with bugs and feature requests with requests; other feedback on its own."""
    if feedback_kind == FeedbackKind.BUG_REPORT:
        return ClusterKind.BUG
    if feedback_kind == FeedbackKind.FEATURE_REQUEST:
        return ClusterKind.FEATURE_REQUEST
    return ClusterKind.FEEDBACK


def features_for_ticket(ticket: Ticket) -> Features:
    ticket_type = ticket.ticket_type if ticket.ticket_type_id else None
    return extract(
        subject=ticket.subject,
        description=ticket.description,
        evidence=ticket.evidence,
        ticket_type_key=ticket_type.key if ticket_type else None,
        ticket_type_name=ticket_type.name if ticket_type else None,
    )


@dataclass
class Match:
    """A cluster the ticket may belong to: its score (0..1), text similarity and the reasons in words."""

    cluster: BugCluster
    score: float
    text_similarity: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class Assignment:
    ticket_id: int
    cluster: BugCluster | None
    created: bool = False
    matches: list[Match] = field(default_factory=list)
    skipped: str = ""


# --- ranking ---------------------------------------------------------------------


class _Stats:
    """Inverse document frequencies of the terms one ranking needs (one query)."""

    def __init__(self, terms: list[str]):
        rows = dict(TermStat.objects.filter(term__in=[index.STAT_TICKETS, index.STAT_LENGTH, *terms]).values_list())
        self.tickets = max(rows.get(index.STAT_TICKETS, 0.0), 1.0)
        self.avg_length = max(rows.get(index.STAT_LENGTH, 0.0) / self.tickets, 1.0)
        self.df = rows

    def idf(self, term: str) -> float:
        df = min(max(self.df.get(term, 0.0), 0.0), self.tickets)
        return math.log(1.0 + (self.tickets - df + 0.5) / (df + 0.5))


def _retrieve(
    weights: dict[str, float], text_terms: set[str], kind: str, exclude: tuple[int, ...]
) -> dict[int, tuple[float, float]]:
    """Candidate clusters from the postings: cluster id -> (weight of the ticket's words it has, score)."""
    if not weights:
        return {}
    qn = connection.ops.quote_name
    values = ", ".join(["(%s, %s, %s)"] * len(weights))
    params: list[Any] = []
    for term, weight in weights.items():
        params += [term, weight, 1.0 if term in text_terms else 0.0]
    excluded = ""
    if exclude:
        excluded = f" AND p.{qn('cluster_id')} NOT IN ({', '.join(['%s'] * len(exclude))})"
    sql = (
        f"WITH q(term, w, text) AS (VALUES {values}) "
        f"SELECT p.{qn('cluster_id')}, SUM(q.w * q.text), "
        f"SUM(q.w * p.{qn('weight')} / (p.{qn('weight')} + 1.0)) AS s "
        f"FROM {qn('tickets_clusterterm')} p JOIN q ON p.{qn('term')} = q.term "
        f"WHERE p.{qn('kind')} = %s{excluded} "
        f"GROUP BY p.{qn('cluster_id')} ORDER BY s DESC LIMIT {CANDIDATES}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, kind, *exclude])
        return {row[0]: (float(row[1]), float(row[2])) for row in cursor.fetchall()}


@dataclass
class _Candidate:
    """A candidate cluster's profile, read in one query with the cluster's fields the engine needs."""

    cluster: BugCluster
    exemplars: list
    fingerprints: dict
    evidence: dict
    tickets: int


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


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _datetime(value: Any) -> datetime | None:
    """A timestamp column read by raw SQL: PostgreSQL gives it aware, SQLite naive UTC (or as text)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _candidates(cluster_ids: list[int]) -> list[_Candidate]:
    """Profiles and clusters of `cluster_ids` in one query, without building more model objects than needed."""
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
    out = []
    for row in rows:
        values = list(row[4:])
        for i in _DATETIME_POSITIONS:
            values[i] = _datetime(values[i])
        cluster = BugCluster.from_db(connection.alias, _CLUSTER_FIELDS, values)
        out.append(_Candidate(cluster, _json(row[0]) or [], _json(row[1]) or {}, _json(row[2]) or {}, row[3]))
    return out


def _bm25(query: dict[str, float], doc: dict[str, float], doc_length: float, stats: _Stats, idf: dict) -> float:
    norm = K1 * (1.0 - B + B * doc_length / stats.avg_length)
    score = 0.0
    for term, q in query.items():
        tf = doc.get(term)
        if tf:
            score += idf[term] * q * tf * (K1 + 1.0) / (tf + norm)
    return score


def _title_similarity(ours: list[str], theirs, idf: dict[str, float]) -> float:
    """Cosine of two subjects' stem sets, each stem weighted by its idf (unknown stems weigh like ours' rarest)."""
    if not theirs:
        return 0.0
    theirs = set(theirs)
    rare = max(idf.values(), default=1.0)
    mine = sum(idf.get(t, rare) ** 2 for t in ours)
    other = sum(idf.get(t, rare) ** 2 for t in theirs)
    shared = sum(idf.get(t, rare) ** 2 for t in ours if t in theirs)
    return shared / math.sqrt(mine * other) if mine and other else 0.0


def rank(
    features: Features,
    *,
    kind: str,
    limit: int = 10,
    exclude_cluster_ids: tuple[int, ...] = (),
    now: datetime | None = None,
    full_clusters: bool = False,
) -> list[Match]:
    """The assignable clusters of `kind` most likely to be the same bug as `features`, best first.

    The engine needs a few fields of each cluster; pages that show the clusters ask for
    `full_clusters` (one more query, for the best `limit` only).
    """
    if features.is_empty:
        return []
    fingerprint_terms = [index.FINGERPRINT_PREFIX + k for k in features.fingerprints]
    evidence_terms = [index.EVIDENCE_PREFIX + k for k in features.evidence]
    stats = _Stats([*features.terms, *fingerprint_terms, *evidence_terms])
    idf = {term: stats.idf(term) for term in features.terms}

    # Words in more than RETRIEVAL_MAX_SHARE of all tickets ("error", "page") would pull in most clusters
    # for little evidence: they are left to the scoring of the candidates the telling words found.
    max_df = max(RETRIEVAL_MAX_SHARE * stats.tickets, RETRIEVAL_MIN_TICKETS)
    telling = [t for t in features.terms if stats.df.get(t, 0.0) <= max_df]
    if not telling:
        telling = sorted(features.terms, key=lambda t: -idf[t])[:3]
    looked_up = sorted(telling, key=lambda t: -features.terms[t] * idf[t])[:QUERY_TERMS]
    weights = {t: round(features.terms[t] * idf[t], 4) for t in looked_up}
    text_weight = sum(weights[t] for t in looked_up) or 1.0
    for term in fingerprint_terms:
        weights[term] = round(3.0 * stats.idf(term), 4)
    found = _retrieve(weights, set(looked_up), kind, tuple(exclude_cluster_ids))
    if not found:
        return []

    profiles = _candidates(list(found))
    self_score = _bm25(features.terms, features.terms, features.length, stats, idf) or 1.0
    now = now or timezone.now()
    matches = []
    for profile in profiles:
        cluster = profile.cluster
        if cluster.status not in ASSIGNABLE_CLUSTER_STATUSES:
            continue
        coverage = found[cluster.pk][0] / text_weight
        nearest = max(
            (_bm25(features.terms, e.get("t") or {}, e.get("n") or 1.0, stats, idf) for e in profile.exemplars),
            default=0.0,
        )
        nearest = min(nearest / self_score, 1.0)
        text = NEIGHBOUR_SHARE * nearest + (1.0 - NEIGHBOUR_SHARE) * min(coverage, 1.0)
        if TITLE_SHARE and features.subject:
            title = max(
                (_title_similarity(features.subject, e.get("s") or (), idf) for e in profile.exemplars), default=0
            )
            text = max(text, TITLE_SHARE * title)  # the same title in other words is enough on its own
        score, reasons = _evidence_score(features, profile, stats)
        if text >= 0.2:
            reasons.insert(0, f"text similar {text:.2f}")
        shared_words = sorted(
            (t for t in features.terms if any(t in (e.get("t") or {}) for e in profile.exemplars)),
            key=lambda t: -idf[t],
        )[:4]
        if shared_words and text < 0.2:
            reasons.append("shared words: " + ", ".join(shared_words))
        score += text + _recency(cluster, now)
        score = max(0.0, min(score, 1.0))
        if _code_conflict(features, profile):
            # Another error code is another bug: still offered to people, never joined automatically.
            score = min(score, JOIN_THRESHOLD - CODE_CONFLICT_MARGIN)
            reasons.append("but a different error code")
        matches.append(Match(cluster=cluster, score=round(score, 4), text_similarity=round(text, 4), reasons=reasons))
    matches.sort(key=lambda m: (-m.score, -m.text_similarity, -m.cluster.pk))
    matches = matches[:limit]
    if full_clusters and matches:
        loaded = BugCluster.objects.select_related("owner", "ticket_type").in_bulk([m.cluster.pk for m in matches])
        for match in matches:
            match.cluster = loaded[match.cluster.pk]
    return matches


def _code_conflict(features: Features, profile: _Candidate) -> bool:
    """The ticket has an error code, none of the cluster's, and most of the cluster's tickets carry another."""
    own_codes = [k for k in features.fingerprints if k.startswith("code:")]
    if not own_codes or any(profile.fingerprints.get(k) for k in own_codes):
        return False
    their_codes = sum(n for k, n in profile.fingerprints.items() if k.startswith("code:"))
    return their_codes * 2 >= max(profile.tickets, 1)


def _evidence_score(features: Features, profile: _Candidate, stats: _Stats) -> tuple[float, list[str]]:
    reasons: list[str] = []
    bonus = 0.0
    for key, label in features.fingerprints.items():
        if profile.fingerprints.get(key):
            bonus += FINGERPRINT_BONUS.get(key.split(":", 1)[0], 0.05)
            reasons.append(label)
    bonus = min(bonus, FINGERPRINT_CAP)
    shared = []
    evidence_bonus = 0.0
    for key, label in features.evidence.items():
        count = profile.evidence.get(key, 0)
        if not count:
            if key.startswith("type="):
                dominant = max((n for k, n in profile.evidence.items() if k.startswith("type=")), default=0)
                if dominant * 5 >= profile.tickets * 4 and profile.tickets:
                    evidence_bonus -= TYPE_MISMATCH_PENALTY
            continue
        share = min(count / max(profile.tickets, 1), 1.0)
        specificity = min(stats.idf(index.EVIDENCE_PREFIX + key) / 3.0, 1.0)
        evidence_bonus += EVIDENCE_BONUS * share * specificity  # a value every ticket has tells nothing
        if share >= 0.5:
            shared.append(label.removeprefix("same "))
    bonus += min(evidence_bonus, EVIDENCE_CAP)
    if shared:
        reasons.append("same " + " and ".join(shared[:3]))
    return bonus, reasons


def _recency(cluster: BugCluster, now: datetime) -> float:
    if cluster.last_reported_at is None:
        return 0.0
    days = (now - cluster.last_reported_at).total_seconds() / 86400
    if days <= RECENT_DAYS:
        return RECENT_BONUS
    if days >= STALE_DAYS:
        return -STALE_PENALTY
    return 0.0


# --- assignment ------------------------------------------------------------------

_TICKET_FIELDS = (
    "id",
    "subject",
    "description",
    "evidence",
    "feedback_kind",
    "reported_at",
    "cluster_id",
    "customer_id",
    "ticket_type_id",
    "cluster_assigned_at",
    "assignment_source",
    "match_features",
    "ticket_type__key",
    "ticket_type__name",
)


def ticket_assign(*, ticket_id: int, rank_limit: int = 1) -> Assignment:
    """Assign one ticket (the Celery task's body). Safe to run twice: the second run changes nothing.

    A ticket a person placed (agent's "same bug", a move, the help desk's known cluster) keeps its
    cluster; the engine only reads it into that cluster's index.
    """
    ticket = Ticket.objects.select_related("ticket_type").only(*_TICKET_FIELDS).filter(pk=ticket_id).first()
    if ticket is None:
        return Assignment(ticket_id=ticket_id, cluster=None, skipped="ticket not found")
    if ticket.cluster_id is not None:
        if ticket.match_features:
            return Assignment(ticket_id=ticket_id, cluster=None, skipped="already assigned")
        return _index_placed_ticket(ticket)

    features = features_for_ticket(ticket)
    kind = cluster_kind_for(ticket.feedback_kind)
    matches = rank(features, kind=kind, limit=max(rank_limit, 1), now=ticket.reported_at)
    best = matches[0] if matches and matches[0].score >= JOIN_THRESHOLD else None
    if best is not None:
        cluster, created = _join(ticket, features, best)
    else:
        cluster, created = _open(ticket, features, kind, matches[0] if matches else None)
    if cluster is None:
        return Assignment(ticket_id=ticket_id, cluster=None, matches=matches, skipped="assigned meanwhile")
    transaction.on_commit(
        lambda: signals.ticket_assigned.send(sender=Ticket, ticket=ticket, cluster=cluster, previous_cluster_id=None),
        robust=True,
    )
    return Assignment(ticket_id=ticket_id, cluster=cluster, created=created, matches=matches)


def _claim(ticket: Ticket, cluster: BugCluster, confidence: float, reasons: list[str], features: Features) -> bool:
    """Write the assignment unless someone assigned the ticket meanwhile."""
    now = timezone.now()
    updated = Ticket.objects.filter(pk=ticket.pk, cluster_assigned_at__isnull=True, cluster__isnull=True).update(
        cluster=cluster,
        cluster_assigned_at=now,
        assignment_source=AssignmentSource.ENGINE,
        assignment_confidence=round(confidence, 4),
        assignment_reasons=reasons,
        match_features=features.as_json(),
        updated_at=now,
    )
    if updated:
        ticket.cluster = cluster
        ticket.cluster_assigned_at = now
        ticket.assignment_source = AssignmentSource.ENGINE
        ticket.assignment_confidence = round(confidence, 4)
        ticket.assignment_reasons = reasons
    return bool(updated)


def _join(ticket: Ticket, features: Features, match: Match) -> tuple[BugCluster | None, bool]:
    with transaction.atomic():
        added = _add(ticket, match.cluster, features, match.score, match.reasons)
        if not added:
            transaction.set_rollback(True)
            return None, False
    return match.cluster, False


def _add(ticket: Ticket, cluster: BugCluster, features: Features, confidence: float, reasons: list[str]) -> bool:
    """Inside a transaction: claim the ticket for `cluster` and fold it into the cluster's index.

    Three round trips on PostgreSQL: lock the profile, claim the ticket, then the counters, the
    profile, the postings and the term statistics in one batch of statements.
    """
    profile = ClusterProfile.objects.select_for_update().filter(pk=cluster.pk).first()
    if profile is None or not _claim(ticket, cluster, confidence, reasons, features):
        return False
    index.profile_add(profile, ticket.pk, features)
    now = timezone.now()
    qn, ops = connection.ops.quote_name, connection.ops
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    reported, stamp = ops.adapt_datetimefield_value(ticket.reported_at), ops.adapt_datetimefield_value(now)
    counters = (
        f"UPDATE {qn('tickets_bugcluster')} SET {qn('ticket_count')} = {qn('ticket_count')} + 1, "
        f"{qn('first_reported_at')} = COALESCE({least}({qn('first_reported_at')}, %s), %s), "
        f"{qn('last_reported_at')} = COALESCE({greatest}({qn('last_reported_at')}, %s), %s), "
        f"{qn('updated_at')} = %s WHERE {qn('id')} = %s",
        [reported, reported, reported, reported, stamp, cluster.pk],
    )
    profile_update = (
        f"UPDATE {qn('tickets_clusterprofile')} SET {qn('exemplars')} = %s, {qn('fingerprints')} = %s, "
        f"{qn('evidence')} = %s, {qn('tickets')} = %s, {qn('updated_at')} = %s WHERE {qn('cluster_id')} = %s",
        [
            json.dumps(profile.exemplars),
            json.dumps(profile.fingerprints),
            json.dumps(profile.evidence),
            profile.tickets,
            stamp,
            cluster.pk,
        ],
    )
    index.execute(
        [
            counters,
            profile_update,
            *index.postings_statements(cluster_id=cluster.pk, kind=cluster.kind, features_list=[features]),
            *index.stats_statements([features]),
        ]
    )
    cluster.ticket_count += 1
    if cluster.first_reported_at is None or ticket.reported_at < cluster.first_reported_at:
        cluster.first_reported_at = ticket.reported_at
    if cluster.last_reported_at is None or ticket.reported_at > cluster.last_reported_at:
        cluster.last_reported_at = ticket.reported_at
    return True


def _open(ticket: Ticket, features: Features, kind: str, nearest: Match | None) -> tuple[BugCluster | None, bool]:
    """Open a cluster titled by the ticket; its confidence is how far the nearest cluster was."""
    from tickets.services import cluster_create

    confidence = 1.0
    reasons = ["opened a new cluster: no similar cluster of its kind"]
    if nearest is not None:
        confidence = 1.0 - nearest.score
        reasons = [
            f"opened a new cluster: the nearest, #{nearest.cluster.pk}, scored {nearest.score:.2f} "
            f"(joining takes {JOIN_THRESHOLD:.2f})"
        ]
    with transaction.atomic():
        if not Ticket.objects.select_for_update().filter(pk=ticket.pk, cluster__isnull=True).exists():
            return None, False
        # Creating the cluster indexes its own words (see receivers.on_cluster_saved).
        cluster = cluster_create(
            title=ticket.subject, kind=kind, ticket_type=ticket.ticket_type if ticket.ticket_type_id else None
        )
        if not _add(ticket, cluster, features, confidence, reasons):
            transaction.set_rollback(True)
            return None, False
    return cluster, True


def _index_placed_ticket(ticket: Ticket) -> Assignment:
    """Read a ticket that a person put in its cluster into that cluster's profile and postings."""
    features = features_for_ticket(ticket)
    with transaction.atomic():
        cluster = BugCluster.objects.filter(pk=ticket.cluster_id).first()
        if cluster is None:
            return Assignment(ticket_id=ticket.pk, cluster=None, skipped="cluster gone")
        updated = Ticket.objects.filter(pk=ticket.pk, match_features={}).update(match_features=features.as_json())
        if not updated:
            return Assignment(ticket_id=ticket.pk, cluster=None, skipped="already indexed")
        profile, _ = ClusterProfile.objects.select_for_update().get_or_create(
            cluster=cluster, defaults={"kind": cluster.kind}
        )
        index.profile_add(profile, ticket.pk, features)
        profile.save()
        if cluster.status in ASSIGNABLE_CLUSTER_STATUSES:
            index.postings_add(cluster_id=cluster.pk, kind=cluster.kind, features_list=[features])
        index.stats_add([features])
    return Assignment(ticket_id=ticket.pk, cluster=cluster, skipped="placed by a person")


def tickets_assign_pending(*, older_than_seconds: int = 30, limit: int = 500) -> int:
    """Assign tickets whose assignment task was lost (broker outage, worker crash); returns how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        Ticket.objects.filter(cluster_assigned_at__isnull=True, cluster__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for ticket_id in ids:
        if ticket_assign(ticket_id=ticket_id).cluster is not None:
            done += 1
    return done


def tickets_assign_all_pending() -> int:
    """Assign every ticket waiting for the engine, oldest first, in batches; returns how many joined."""
    done = 0
    while assigned := tickets_assign_pending(older_than_seconds=0, limit=200):
        done += assigned
    return done
