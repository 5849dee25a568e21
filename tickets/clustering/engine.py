"""Assign a ticket to the best assignable cluster of its kind, or open a new one.

Ranking, in two stages:

1. Retrieval. One SQL query over the postings of assignable clusters (an inverted index) sums,
   for the ticket's most telling terms and its fingerprints, their inverse document frequency
   times a saturating function of the cluster's weight for the term. Only the best
   `CANDIDATES` clusters go on, whatever the number of tickets or clusters, and of those only
   the ones retrieved with at least `RETRIEVAL_KEEP` of the best one's retrieval score.
2. Scoring. Each candidate is compared with its exemplars (a few member tickets) by BM25,
   normalised by the ticket's score against itself, so a similarity reads 0..1 (nearest
   neighbour), blended with how much of the ticket's term weight the cluster covers (its
   centroid). Shared fingerprints (error code, exception and top frame, normalised error
   message, HTTP status, URL path) add strongly; shared evidence values (type, component, payment
   method, browser, OS) add a little, recent activity a little. A different error code than most
   of the cluster's tickets caps the score below the join threshold.

The ticket joins the best cluster when the score reaches `JOIN_THRESHOLD`, else it opens a new
cluster. Both outcomes keep the confidence and the reasons in words on the ticket.

Tickets waiting for the engine are assigned in batches (`tickets_assign`): one retrieval query,
one read of the candidates' profiles and one write transaction for the whole batch, each ticket
still decided in arrival order and seeing what the batch's earlier tickets did.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets import signals
from tickets.clustering import index, semantic
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
# Of those, a candidate retrieved with under this share of the best one's retrieval score is not scored (beyond
# the best RETRIEVAL_KEEP_MIN): on the replay data it never won, and reading its profile is most of a ticket's cost.
RETRIEVAL_KEEP, RETRIEVAL_KEEP_MIN = 0.35, 10
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
OPENED_ALONE = "opened a new cluster: no similar cluster of its kind"
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
    """Inverse document frequencies of the terms one ranking (or one batch) needs, read in one query."""

    def __init__(self, terms):
        rows = dict(TermStat.objects.filter(term__in=[index.STAT_TICKETS, index.STAT_LENGTH, *terms]).values_list())
        self.tickets = max(rows.get(index.STAT_TICKETS, 0.0), 1.0)
        self.avg_length = max(rows.get(index.STAT_LENGTH, 0.0) / self.tickets, 1.0)
        self.df = rows

    def idf(self, term: str) -> float:
        df = min(max(self.df.get(term, 0.0), 0.0), self.tickets)
        return math.log(1.0 + (self.tickets - df + 0.5) / (df + 0.5))


def _stats_for(features_list: list[Features]) -> _Stats:
    terms: set[str] = set()
    for features in features_list:
        terms.update(features.terms)
        terms.update(index.FINGERPRINT_PREFIX + k for k in features.fingerprints)
        terms.update(index.EVIDENCE_PREFIX + k for k in features.evidence)
    return _Stats(sorted(terms))


@dataclass
class _Query:
    """What retrieval looks up for one ticket: its most telling terms and its fingerprints, weighted."""

    features: Features
    kind: str
    idf: dict[str, float]
    weights: dict[str, float]
    text_terms: frozenset[str]
    text_weight: float


def _query_for(features: Features, kind: str, stats: _Stats) -> _Query | None:
    if features.is_empty:
        return None
    idf = {term: stats.idf(term) for term in features.terms}
    # Words in more than RETRIEVAL_MAX_SHARE of all tickets ("error", "page") would pull in most clusters
    # for little evidence: they are left to the scoring of the candidates the telling words found.
    max_df = max(RETRIEVAL_MAX_SHARE * stats.tickets, RETRIEVAL_MIN_TICKETS)
    telling = [t for t in features.terms if stats.df.get(t, 0.0) <= max_df]
    if not telling:
        telling = sorted(features.terms, key=lambda t: -idf[t])[:3]
    looked_up = sorted(telling, key=lambda t: -features.terms[t] * idf[t])[:QUERY_TERMS]
    weights = {t: round(features.terms[t] * idf[t], 4) for t in looked_up}
    text_weight = sum(weights.values()) or 1.0
    for key in features.fingerprints:
        term = index.FINGERPRINT_PREFIX + key
        weights[term] = round(3.0 * stats.idf(term), 4)
    return _Query(features, kind, idf, weights, frozenset(looked_up), text_weight)


def _retrieve(queries: list[_Query], exclude: tuple[int, ...] = ()) -> list[dict[int, tuple[float, float]]]:
    """Candidate clusters of each query from the postings, in one SQL query per cluster kind.

    For each query: cluster id -> (weight of the query's words the cluster has, retrieval score),
    its best `CANDIDATES` clusters only. The postings are read through the (kind, term) index for
    the batch's distinct terms, then matched to each query's terms.
    """
    found: list[dict[int, tuple[float, float]]] = [{} for _ in queries]
    by_kind: dict[str, list[tuple[int, _Query]]] = {}
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
            ranked = sorted(hits.items(), key=lambda item: -item[1][1])
            floor = RETRIEVAL_KEEP * ranked[0][1][1]
            found[n] = dict(ranked[:RETRIEVAL_KEEP_MIN] + [i for i in ranked[RETRIEVAL_KEEP_MIN:] if i[1][1] >= floor])
    return found


@dataclass
class _Profile:
    """A cluster's profile as read by raw SQL; the attributes `index.profile_add` folds a ticket into."""

    exemplars: list
    fingerprints: dict
    evidence: dict
    tickets: int


class _Candidate(_Profile):
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


def _candidates(cluster_ids) -> dict[int, _Candidate]:
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
        out[values[_ID_POSITION]] = _Candidate(
            exemplars=_json(row[0]) or [],
            fingerprints=_json(row[1]) or {},
            evidence=_json(row[2]) or {},
            tickets=row[3],
            values=values,
        )
    return out


class _Scorer:
    """One ticket's side of the text comparisons, computed once for all its candidates' exemplars."""

    def __init__(self, query: _Query, stats: _Stats):
        features, idf = query.features, query.idf
        self.query = query
        self.avg_length = stats.avg_length
        # BM25: each query term's idf x query weight x (k1 + 1), so an exemplar costs one pass over shared terms.
        self.factors = {t: idf[t] * q * (K1 + 1.0) for t, q in features.terms.items()}
        self.self_score = self.bm25(features.terms, features.length) or 1.0
        self.rare = max(idf.values(), default=1.0)  # unknown subject stems weigh like ours' rarest
        self.subject_weights = [(t, idf.get(t, self.rare) ** 2) for t in features.subject]
        self.subject_norm = sum(w for _, w in self.subject_weights)
        self.idf = idf

    def bm25(self, doc: dict[str, float], doc_length: float) -> float:
        norm = K1 * (1.0 - B + B * doc_length / self.avg_length)
        factors = self.factors
        score = 0.0
        if len(doc) < len(factors):  # one pass over the shorter side (a plain loop: this is the hot path)
            for term, tf in doc.items():
                factor = factors.get(term)
                if factor and tf:
                    score += factor * tf / (tf + norm)
        else:
            get = doc.get
            for term, factor in factors.items():
                tf = get(term)
                if tf:
                    score += factor * tf / (tf + norm)
        return score

    def nearest(self, exemplars: list) -> float:
        """BM25 of the closest exemplar, over the ticket's score against itself (0..1)."""
        best = 0.0
        for exemplar in exemplars:
            score = self.bm25(exemplar.get("t") or {}, exemplar.get("n") or 1.0)
            if score > best:
                best = score
        return min(best / self.self_score, 1.0)

    def title(self, exemplars: list) -> float:
        """Best cosine of the ticket's subject with an exemplar's, each stem weighted by its idf squared."""
        if not self.subject_norm:
            return 0.0
        best = 0.0
        idf, rare = self.idf, self.rare
        for exemplar in exemplars:
            theirs = exemplar.get("s")
            if not theirs:
                continue
            theirs = set(theirs)
            shared = 0.0
            for term, weight in self.subject_weights:
                if term in theirs:
                    shared += weight
            if not shared:
                continue
            other = 0.0
            for term in theirs:
                other += idf.get(term, rare) ** 2
            best = max(best, shared / math.sqrt(self.subject_norm * other))
        return best


def _score(
    query: _Query,
    found: dict[int, tuple[float, float]],
    candidates: dict[int, _Candidate],
    stats: _Stats,
    now,
    limit: int,
    meaning=None,
) -> list[Match]:
    """Score the retrieved candidates of one ticket against its features; the best `limit`, best first.

    `meaning` (cluster id -> cosine or None) is the semantic signal's, when the engine has a model.
    """
    features, idf = query.features, query.idf
    scorer = _Scorer(query, stats)
    scored = []
    for cluster_id, (covered, _) in found.items():
        profile = candidates.get(cluster_id)
        if profile is None or profile.status not in ASSIGNABLE_CLUSTER_STATUSES:
            continue
        coverage = covered / query.text_weight
        text = NEIGHBOUR_SHARE * scorer.nearest(profile.exemplars) + (1.0 - NEIGHBOUR_SHARE) * min(coverage, 1.0)
        if TITLE_SHARE and features.subject:
            text = max(text, TITLE_SHARE * scorer.title(profile.exemplars))  # the same title in other words is enough
        score, reasons = _evidence_score(features, profile, stats)
        lexical = text
        # The semantic signal: the meaning's similarity joins the words' (unchanged without a model).
        cosine = meaning(cluster_id) if meaning else None
        text = semantic.fuse(lexical, cosine)
        if said := semantic.reason(cosine):
            reasons.insert(0, said)
        if lexical >= 0.2:
            reasons.insert(0, f"text similar {lexical:.2f}")
        else:
            shared_words = sorted(
                (t for t in features.terms if any(t in (e.get("t") or {}) for e in profile.exemplars)),
                key=lambda t: -idf[t],
            )[:4]
            if shared_words:
                reasons.append("shared words: " + ", ".join(shared_words))
        score += text + _recency(profile.last_reported_at, now)
        score = max(0.0, min(score, 1.0))
        if _code_conflict(features, profile):
            # Another error code is another bug: still offered to people, never joined automatically.
            score = min(score, JOIN_THRESHOLD - CODE_CONFLICT_MARGIN)
            reasons.append("but a different error code")
        scored.append((round(score, 4), round(text, 4), cluster_id, profile, reasons))
    # Ties go to the newest cluster; clusters a batch opened (ids below zero until written) are the newest.
    scored.sort(key=lambda s: (-s[0], -s[1], -(s[2] if s[2] > 0 else math.inf)))
    return [
        Match(cluster=profile.cluster, score=score, text_similarity=text, reasons=reasons)
        for score, text, _, profile, reasons in scored[:limit]
    ]


def rank(
    features: Features,
    *,
    kind: str,
    limit: int = 10,
    exclude_cluster_ids: tuple[int, ...] = (),
    now: datetime | None = None,
    full_clusters: bool = False,
    meaning: semantic.Meaning | None = None,
) -> list[Match]:
    """The assignable clusters of `kind` most likely to be the same bug as `features`, best first.

    The engine needs a few fields of each cluster; pages that show the clusters ask for
    `full_clusters` (one more query, for the best `limit` only). `meaning` is the semantic side of the
    query (its vector under key 0), when the engine has a model.
    """
    stats = _stats_for([features])
    query = _query_for(features, kind, stats)
    if query is None:
        return []
    found = _retrieve([query], tuple(exclude_cluster_ids))[0]
    if meaning is not None:  # semantic neighbours are candidates too
        meaning.candidates([0], [kind], [found], tuple(exclude_cluster_ids))
    if not found:
        return []
    candidates = _candidates(found)
    if meaning is not None:
        meaning.load(candidates)
    matches = _score(
        query, found, candidates, stats, now or timezone.now(), limit, meaning.scorer(0) if meaning else None
    )
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


def _recency(last_reported_at: datetime | None, now: datetime) -> float:
    if last_reported_at is None:
        return 0.0
    days = (now - last_reported_at).total_seconds() / 86400
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
BATCH_SIZE = 50  # tickets a worker ranks and writes together when many wait


def ticket_assign(*, ticket_id: int, rank_limit: int = 1) -> Assignment:
    """Assign one ticket (the Celery task's body). Safe to run twice: the second run changes nothing."""
    return tickets_assign([ticket_id], rank_limit=rank_limit)[0]


@dataclass
class _Join:
    ticket: Ticket
    features: Features
    match: Match


def tickets_assign(ticket_ids: list[int], *, rank_limit: int = 1) -> list[Assignment]:
    """Assign tickets in the order given, as a batch; one Assignment per id, in that order.

    A batch costs a constant number of queries whatever its size: the tickets, the term statistics,
    the retrieval of every ticket's candidates, their profiles, then one transaction for all joins
    (lock the profiles, claim the tickets, one batch of writes). Tickets are decided one after the
    other, each seeing what the earlier ones of the batch did: a ticket that joined a cluster is one of
    its exemplars for the next, and a cluster one of them opened is a candidate for the rest. Opening
    a cluster is written at once (it is rare, and a later ticket may join it).

    A ticket a person placed (agent's "same bug", a move, the help desk's known cluster) keeps its
    cluster; the engine only reads it into that cluster's index. Safe to run twice.
    """
    if not ticket_ids:
        return []
    loaded = Ticket.objects.select_related("ticket_type").only(*_TICKET_FIELDS).in_bulk(ticket_ids)
    results: dict[int, Assignment] = {}
    waiting: list[tuple[Ticket, Features, str]] = []
    for ticket_id in dict.fromkeys(ticket_ids):
        ticket = loaded.get(ticket_id)
        if ticket is None:
            results[ticket_id] = Assignment(ticket_id=ticket_id, cluster=None, skipped="ticket not found")
        elif ticket.cluster_id is not None:
            if ticket.match_features:
                results[ticket_id] = Assignment(ticket_id=ticket_id, cluster=None, skipped="already assigned")
            else:
                results[ticket_id] = _index_placed_ticket(ticket)
        else:
            waiting.append((ticket, features_for_ticket(ticket), cluster_kind_for(ticket.feedback_kind)))
    if waiting:
        results.update(_assign_waiting(waiting, rank_limit=max(rank_limit, 1)))
    return [results[ticket_id] for ticket_id in ticket_ids]


@dataclass
class _Opening:
    """A cluster a batch opens: not written until the batch's end, a candidate for its later tickets."""

    key: int  # below zero: stands for the cluster's id until it is written
    candidate: _Candidate
    text: Features  # the cluster's own words (its title), indexed with it
    postings: dict[str, float]


def _assign_waiting(waiting: list[tuple[Ticket, Features, str]], *, rank_limit: int) -> dict[int, Assignment]:
    stats = _stats_for([features for _, features, _ in waiting])
    queries = [_query_for(features, kind, stats) for _, features, kind in waiting]
    found_all = iter(_retrieve([q for q in queries if q is not None]))
    founds = [next(found_all) if q is not None else {} for q in queries]
    meaning = semantic.Meaning.for_tickets([ticket for ticket, _, _ in waiting])
    if meaning is not None:  # semantic neighbours are candidates too
        keys = [ticket.pk if q is not None else None for (ticket, _, _), q in zip(waiting, queries, strict=True)]
        meaning.candidates(keys, [kind for _, _, kind in waiting], founds)
    candidates = _candidates({cluster_id for found in founds for cluster_id in found})
    if meaning is not None:
        meaning.load(candidates)
    openings: list[_Opening] = []
    opened_by: dict[int, _Opening] = {}  # id() of an unwritten cluster -> its opening
    results: dict[int, Assignment] = {}
    joins: list[_Join] = []
    for (ticket, features, kind), query, found in zip(waiting, queries, founds, strict=True):
        matches: list[Match] = []
        if query is not None:
            found = dict(found)
            for opening in openings:
                covered = _covered(query, opening.postings)
                if covered is None and meaning is not None and meaning.near(ticket.pk, opening.key):
                    covered = 0.0  # no word in common, but the same meaning
                if opening.candidate.cluster.kind == kind and covered is not None:
                    found[opening.key] = (covered, 0.0)
                    candidates[opening.key] = opening.candidate
            scorer = meaning.scorer(ticket.pk) if meaning is not None else None
            matches = _score(query, found, candidates, stats, ticket.reported_at, rank_limit, scorer)
        best = matches[0] if matches and matches[0].score >= JOIN_THRESHOLD else None
        if best is not None:
            opening = opened_by.get(id(best.cluster))
            candidate = opening.candidate if opening else candidates[best.cluster.pk]
            if opening:
                for term, weight in index.posting_terms(features).items():
                    opening.postings[term] = opening.postings.get(term, 0.0) + weight
            joins.append(_Join(ticket, features, best))
            results[ticket.pk] = Assignment(ticket_id=ticket.pk, cluster=best.cluster, matches=matches)
        else:
            opening = _opening(-1 - len(openings), ticket, kind)
            openings.append(opening)
            opened_by[id(opening.candidate.cluster)] = opening
            candidate = opening.candidate
            best = _open_match(opening.candidate.cluster, matches)
            joins.append(_Join(ticket, features, best))
            results[ticket.pk] = Assignment(
                ticket_id=ticket.pk, cluster=opening.candidate.cluster, created=True, matches=matches
            )
        index.profile_add(candidate, ticket.pk, features)
        if meaning is not None:
            opening = opened_by.get(id(best.cluster))
            meaning.fold(opening.key if opening else best.cluster.pk, ticket.pk)
    for ticket_id in _write(joins, openings, meaning):
        # The cluster stopped taking tickets (merged, closed) or the ticket was placed meanwhile.
        results[ticket_id] = ticket_assign(ticket_id=ticket_id, rank_limit=rank_limit)
    return results


def _covered(query: _Query, postings: dict[str, float]) -> float | None:
    """The weight of the query's words a cluster's postings hold; None if it shares nothing with the query."""
    if not any(term in postings for term in query.weights):
        return None
    return sum(w for term, w in query.weights.items() if term in query.text_terms and term in postings)


def _opening(key: int, ticket: Ticket, kind: str) -> _Opening:
    """A new cluster titled by the ticket, with its own words as its first exemplar (as on a rebuild)."""
    cluster = BugCluster(
        title=ticket.subject[:255], kind=kind, ticket_type=ticket.ticket_type if ticket.ticket_type_id else None
    )
    text = index.cluster_text_features(cluster)
    candidate = _Candidate(exemplars=[], fingerprints={}, evidence={}, tickets=0, cluster=cluster)
    index.profile_add(candidate, index.CLUSTER_TEXT_ID, text, count=False)
    return _Opening(key, candidate, text, index.posting_terms(text))


def _open_match(cluster: BugCluster, matches: list[Match]) -> Match:
    """The opening ticket's assignment: its confidence is how far the nearest cluster was."""
    if not matches:
        return Match(cluster=cluster, score=1.0, text_similarity=0.0, reasons=[OPENED_ALONE])
    nearest = matches[0]
    label = f"#{nearest.cluster.pk}" if nearest.cluster.pk else "a cluster opened just before"
    reason = (
        f"opened a new cluster: the nearest, {label}, scored {nearest.score:.2f} (joining takes {JOIN_THRESHOLD:.2f})"
    )
    return Match(cluster=cluster, score=1.0 - nearest.score, text_similarity=0.0, reasons=[reason])


def _assigned_on_commit(pairs: list[tuple[Ticket, BugCluster]]) -> None:
    transaction.on_commit(partial(signals.tickets_assigned.send, sender=Ticket, assignments=pairs), robust=True)


def _write(joins: list[_Join], openings: list[_Opening], meaning: semantic.Meaning | None = None) -> list[int]:
    """Write a batch in one transaction; returns the tickets that could not be assigned as decided.

    On PostgreSQL, a constant number of round trips whatever the batch's size: the new clusters,
    their events and profiles (when the batch opens any), lock the profiles (of clusters still
    taking tickets), claim the tickets nobody assigned meanwhile, then the counters, the profiles,
    the postings and the term statistics in one batch of statements, and the commit.
    """
    from tickets.services import clusters_open

    retry: list[int] = []
    with transaction.atomic():
        if openings:
            clusters_open([o.candidate.cluster for o in openings])
            ClusterProfile.objects.bulk_create(
                ClusterProfile(
                    cluster=o.candidate.cluster,
                    kind=o.candidate.cluster.kind,
                    exemplars=o.candidate.exemplars[:1],
                    fingerprints=dict.fromkeys(o.text.fingerprints, 1),
                    evidence=dict.fromkeys(o.text.evidence, 1),
                )
                for o in openings
            )
        profiles = _lock_profiles(sorted({j.match.cluster.pk for j in joins}))
        retry += [j.ticket.pk for j in joins if j.match.cluster.pk not in profiles]
        joins = [j for j in joins if j.match.cluster.pk in profiles]
        claimed = _claim_many(joins)
        retry += [j.ticket.pk for j in joins if j.ticket.pk not in claimed]
        joins = [j for j in joins if j.ticket.pk in claimed]
        by_cluster: dict[int, list[_Join]] = {}
        for join in joins:
            by_cluster.setdefault(join.match.cluster.pk, []).append(join)
            index.profile_add(profiles[join.match.cluster.pk], join.ticket.pk, join.features)
        if meaning is not None:  # the tickets' vectors, and their clusters' under the same locks
            members = {cid: (ms[0].match.cluster.kind, [m.ticket.pk for m in ms]) for cid, ms in by_cluster.items()}
            meaning.write(members, {o.candidate.cluster.pk for o in openings})
        empty = [o.candidate.cluster.pk for o in openings if o.candidate.cluster.pk not in by_cluster]
        if empty:  # every ticket of a cluster the batch opened was assigned meanwhile
            BugCluster.objects.filter(pk__in=empty).delete()
        if not joins:
            return retry
        now = timezone.now()
        statements = []
        for cluster_id, members in sorted(by_cluster.items()):
            statements += [
                _counters_statement(cluster_id, [m.ticket.reported_at for m in members], now),
                _profile_statement(cluster_id, profiles[cluster_id], now),
            ]
            for member in members:
                _count_in(member.match.cluster, member.ticket.reported_at)
        texts = {o.candidate.cluster.pk: o.text for o in openings}
        statements += index.postings_statements_many(
            (
                cluster_id,
                members[0].match.cluster.kind,
                [m.features for m in members] + ([texts[cluster_id]] if cluster_id in texts else []),
            )
            for cluster_id, members in by_cluster.items()
        )
        statements += index.stats_statements([j.features for j in joins])
        index.execute(statements)
        _assigned_on_commit([(j.ticket, j.match.cluster) for j in joins])
    return retry


def _lock_profiles(cluster_ids: list[int]) -> dict[int, _Profile]:
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
        row[0]: _Profile(
            exemplars=_json(row[1]) or [],
            fingerprints=_json(row[2]) or {},
            evidence=_json(row[3]) or {},
            tickets=row[4],
        )
        for row in rows
    }


def _claim_many(joins: list[_Join]) -> set[int]:
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


def _counters_statement(cluster_id: int, reported: list[datetime], now: datetime) -> index.Statement:
    qn, ops = connection.ops.quote_name, connection.ops
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    first, last = ops.adapt_datetimefield_value(min(reported)), ops.adapt_datetimefield_value(max(reported))
    return (
        f"UPDATE {qn('tickets_bugcluster')} SET {qn('ticket_count')} = {qn('ticket_count')} + %s, "
        f"{qn('first_reported_at')} = COALESCE({least}({qn('first_reported_at')}, %s), %s), "
        f"{qn('last_reported_at')} = COALESCE({greatest}({qn('last_reported_at')}, %s), %s), "
        f"{qn('updated_at')} = %s WHERE {qn('id')} = %s",
        [len(reported), first, first, last, last, ops.adapt_datetimefield_value(now), cluster_id],
    )


def _profile_statement(cluster_id: int, profile: _Profile, now: datetime) -> index.Statement:
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


def _count_in(cluster: BugCluster, reported_at: datetime) -> None:
    """Keep the in-memory cluster's counters as written (the threshold check reads them)."""
    cluster.ticket_count += 1
    if cluster.first_reported_at is None or reported_at < cluster.first_reported_at:
        cluster.first_reported_at = reported_at
    if cluster.last_reported_at is None or reported_at > cluster.last_reported_at:
        cluster.last_reported_at = reported_at


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
        semantic.placed_ticket_add(ticket=ticket, cluster=cluster)
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
    return tickets_assign_in_batches(ids)


def tickets_assign_in_batches(ticket_ids: list[int]) -> int:
    """Assign tickets in arrival order, `BATCH_SIZE` at a time; returns how many were assigned."""
    done = 0
    for start in range(0, len(ticket_ids), BATCH_SIZE):
        done += sum(1 for a in tickets_assign(ticket_ids[start : start + BATCH_SIZE]) if a.cluster is not None)
    return done


def tickets_assign_all_pending() -> int:
    """Assign every ticket waiting for the engine, oldest first, in batches; returns how many joined."""
    done = 0
    while assigned := tickets_assign_pending(older_than_seconds=0, limit=200):
        done += assigned
    return done
