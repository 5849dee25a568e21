"""The engine's ranking, as pure maths: no database, no clock, no model writes.

Two stages, of which this module is the second and the query of the first:

1. Retrieval (`storage.retrieve`) sums, over the postings of assignable clusters, for the ticket's
   most telling terms and its fingerprints (`query_for`), their inverse document frequency times a
   saturating function of the cluster's weight for the term. Only the best `CANDIDATES` clusters go
   on, and of those only the ones retrieved with at least `RETRIEVAL_KEEP` of the best one's score.
2. Scoring (`score`). Each candidate is compared with its exemplars (a few member tickets) by BM25,
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

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tickets.clustering import index
from tickets.clustering.features import Features
from tickets.models import ASSIGNABLE_CLUSTER_STATUSES, BugCluster

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
# The semantic signal (with a sentence-embedding model, see `semantic`), tuned on the replay's dev data:
# the cosine of the ticket's vector with the cluster's moves the text similarity by MEANING_WEIGHT x its
# distance from MEANING_CENTRE (up when closer in meaning, down when further). Reports of one product
# about different bugs reach cosines of 0.6-0.8, so a cosine alone proves little; but a cluster far
# closer in meaning than every other (at least MEANING_DISTINCT, and MEANING_MARGIN above the runner-up:
# a ratio test) is the same bug told in other words, and its text similarity is at least MEANING_DISTINCT_TEXT.
MEANING_CENTRE, MEANING_WEIGHT = 0.75, 0.5
MEANING_DISTINCT, MEANING_MARGIN, MEANING_RUNNER_UP_FLOOR, MEANING_DISTINCT_TEXT = 0.5, 0.3, 0.2, 0.55
MEANING_REASON_MIN = 0.5  # cosines from here on are named in the reasons
# The centre is the ticket's own when it has one: how close it is to its MEANING_BACKGROUND nearest open clusters on
# average, plus MEANING_BACKGROUND_OFFSET (cross-domain similarity local scaling). Reports written in one template,
# or about one product, are close to everything; a cosine counts only as far as it stands above that background.
MEANING_BACKGROUND, MEANING_BACKGROUND_OFFSET = 10, 0.2
# Words and meaning fail differently, so their agreement is evidence: a cluster that is the nearest by both, closer
# in meaning than the ticket's centre, joins from AGREEMENT_FLOOR on (instead of JOIN_THRESHOLD).
AGREEMENT_FLOOR = 0.40
AGREEMENT_REASON = "nearest in words and in meaning"
MEANING_SHOWN_BY = 5  # the candidate nearest in meaning is among the first this many shown, whatever its score
RECENT_DAYS, RECENT_BONUS = 14, 0.03
STALE_DAYS, STALE_PENALTY = 180, 0.05


class Stats:
    """Inverse document frequencies of the terms one ranking (or one batch) needs (`storage.stats_read`)."""

    def __init__(self, rows: dict[str, float]):
        self.tickets = max(rows.get(index.STAT_TICKETS, 0.0), 1.0)
        self.avg_length = max(rows.get(index.STAT_LENGTH, 0.0) / self.tickets, 1.0)
        self.df = rows

    def idf(self, term: str) -> float:
        df = min(max(self.df.get(term, 0.0), 0.0), self.tickets)
        return math.log(1.0 + (self.tickets - df + 0.5) / (df + 0.5))


def terms_for(features_list: list[Features]) -> list[str]:
    """Every term whose statistics ranking `features_list` needs (with its description lines: see
    `index.template_lines`)."""
    terms: set[str] = set()
    for features in features_list:
        terms.update(features.terms)
        terms.update(features.lines)
        terms.update(index.FINGERPRINT_PREFIX + k for k in features.fingerprints)
        terms.update(index.EVIDENCE_PREFIX + k for k in features.evidence)
    return sorted(terms)


class Candidate(Protocol):
    """What scoring reads of a candidate cluster (`storage.Candidate`, or a cluster a batch opens)."""

    exemplars: list
    fingerprints: dict
    evidence: dict
    tickets: int
    status: str
    last_reported_at: datetime | None

    @property
    def cluster(self) -> BugCluster: ...


@dataclass
class Match:
    """A cluster the ticket may belong to: its score (0..1), text similarity and the reasons in words."""

    cluster: BugCluster
    score: float
    text_similarity: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class Query:
    """What retrieval looks up for one ticket: its most telling terms and its fingerprints, weighted."""

    features: Features
    kind: str
    idf: dict[str, float]
    weights: dict[str, float]
    text_terms: frozenset[str]
    text_weight: float


def query_for(features: Features, kind: str, stats: Stats) -> Query | None:
    if features.is_empty:
        return None
    idf = {term: stats.idf(term) for term in features.terms}
    # Words in more than RETRIEVAL_MAX_SHARE of all tickets ("error", "page") would pull in most clusters
    # for little evidence: they are left to the scoring of the candidates the telling words found.
    max_df = max(RETRIEVAL_MAX_SHARE * stats.tickets, RETRIEVAL_MIN_TICKETS)
    telling = [t for t in features.terms if stats.df.get(t, 0.0) <= max_df]
    if not telling:
        telling = sorted(features.terms, key=lambda t: (-idf[t], t))[:3]
    # Ties (words as rare, as often written) go by the word, so every process looks up the same ones.
    looked_up = sorted(telling, key=lambda t: (-features.terms[t] * idf[t], t))[:QUERY_TERMS]
    weights = {t: round(features.terms[t] * idf[t], 4) for t in looked_up}
    text_weight = sum(weights.values()) or 1.0
    for key in features.fingerprints:
        term = index.FINGERPRINT_PREFIX + key
        weights[term] = round(3.0 * stats.idf(term), 4)
    return Query(features, kind, idf, weights, frozenset(looked_up), text_weight)


class Scorer:
    """One ticket's side of the text comparisons, computed once for all its candidates' exemplars."""

    def __init__(self, query: Query, stats: Stats):
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


def score(
    query: Query,
    found: dict[int, tuple[float, float]],
    candidates: dict[int, Candidate],
    stats: Stats,
    now,
    limit: int,
    meaning: Callable[[int], float | None] | None = None,
    semantic_only: bool = False,
    centre: float | None = None,
) -> list[Match]:
    """Score the retrieved candidates of one ticket against its features; the best `limit`, best first.

    `meaning` gives the cosine of the ticket's vector with a candidate's (None without one), when the
    engine has a model, and `centre` the ticket's own centre for it (`meaning_centre`; MEANING_CENTRE
    without one); `semantic_only` leaves the words out of the text similarity (replays compare signals).
    """
    centre = MEANING_CENTRE if centre is None else centre
    features, idf = query.features, query.idf
    scorer = Scorer(query, stats)
    scored = []
    cosines = {cluster_id: meaning(cluster_id) for cluster_id in found} if meaning else {}
    distinct = distinct_in_meaning(cosines)
    lexicals: dict[int, float] = {}
    for cluster_id, (covered, _) in found.items():
        profile = candidates.get(cluster_id)
        if profile is None or profile.status not in ASSIGNABLE_CLUSTER_STATUSES:
            continue
        coverage = covered / query.text_weight
        text = NEIGHBOUR_SHARE * scorer.nearest(profile.exemplars) + (1.0 - NEIGHBOUR_SHARE) * min(coverage, 1.0)
        if TITLE_SHARE and features.subject:
            text = max(text, TITLE_SHARE * scorer.title(profile.exemplars))  # the same title in other words is enough
        score, reasons = evidence_score(features, profile, stats)
        lexical = text
        cosine = cosines.get(cluster_id)
        lexicals[cluster_id] = lexical
        text = fuse(lexical, cosine, semantic_only=semantic_only, centre=centre)
        if cluster_id == distinct:
            text = max(text, MEANING_DISTINCT_TEXT)
            reasons.insert(0, f"meaning similar {cosine:.2f}, closer than any other cluster")
        elif cosine is not None and cosine >= MEANING_REASON_MIN:
            reasons.insert(0, f"meaning similar {cosine:.2f}")
        if lexical >= 0.2:
            reasons.insert(0, f"text similar {lexical:.2f}")
        else:
            shared_words = sorted(
                (t for t in features.terms if any(t in (e.get("t") or {}) for e in profile.exemplars)),
                key=lambda t: (-idf[t], t),
            )[:4]
            if shared_words:
                reasons.append("shared words: " + ", ".join(shared_words))
        score += text + recency(profile.last_reported_at, now)
        score = max(0.0, min(score, 1.0))
        if code_conflict(features, profile):
            # Another error code is another bug: still offered to people, never joined automatically.
            score = min(score, JOIN_THRESHOLD - CODE_CONFLICT_MARGIN)
            reasons.append("but a different error code")
        scored.append((round(score, 4), round(text, 4), cluster_id, profile, reasons))
    # Ties go to the newest cluster; clusters a batch opened (ids below zero until written) are the newest.
    scored.sort(key=lambda s: (-s[0], -s[1], -(s[2] if s[2] > 0 else math.inf)))
    if cosines and not semantic_only:
        scored = _agreement_joins(scored, lexicals, cosines, centre)
        scored = _nearest_in_meaning_shown(scored, cosines)
    return [
        Match(cluster=profile.cluster, score=score, text_similarity=text, reasons=reasons)
        for score, text, _, profile, reasons in scored[:limit]
    ]


def _agreement_joins(scored: list, lexicals: dict[int, float], cosines: dict, centre: float) -> list:
    """The best candidate joins from AGREEMENT_FLOOR when it is the nearest both in words and in meaning, and
    closer in meaning than the ticket's centre (a different error code still keeps it apart: it is capped lower)."""
    if not scored or not AGREEMENT_FLOOR <= scored[0][0] < JOIN_THRESHOLD:
        return scored
    score, text, cluster_id, profile, reasons = scored[0]
    cosine = cosines.get(cluster_id)
    shown = {s[2] for s in scored}
    if cosine is None or cosine < centre:
        return scored
    if any(c is not None and c > cosine for cid, c in cosines.items() if cid != cluster_id and cid in shown):
        return scored
    if any(v > lexicals[cluster_id] for cid, v in lexicals.items() if cid != cluster_id):
        return scored
    return [(JOIN_THRESHOLD, text, cluster_id, profile, [*reasons, AGREEMENT_REASON]), *scored[1:]]


def _nearest_in_meaning_shown(scored: list, cosines: dict) -> list:
    """Words and meaning miss different duplicates: the candidate nearest in meaning is shown among the first
    MEANING_SHOWN_BY, in the last of those places if its score would put it lower."""
    ranked = [(cosines[s[2]], n) for n, s in enumerate(scored) if cosines.get(s[2]) is not None]
    if not ranked:
        return scored
    _, position = max(ranked, key=lambda p: (p[0], -p[1]))
    if position < MEANING_SHOWN_BY:
        return scored
    scored = list(scored)
    scored.insert(MEANING_SHOWN_BY - 1, scored.pop(position))
    return scored


def fuse(lexical: float, cosine: float | None, *, semantic_only: bool = False, centre: float = MEANING_CENTRE) -> float:
    """The text similarity scoring uses: the words' alone without a vector, else moved by the meaning's distance
    from `centre` (the ticket's own, see `meaning_centre`)."""
    if cosine is None:
        return 0.0 if semantic_only else lexical
    if semantic_only:
        return max(0.0, min(cosine, 1.0))
    return max(0.0, min(lexical + MEANING_WEIGHT * (cosine - centre), 1.0))


def meaning_centre(background: list[float]) -> float | None:
    """The ticket's centre from its cosines with the open clusters nearest to it in meaning (any order); None
    (MEANING_CENTRE is used) while there are fewer than MEANING_BACKGROUND of them to tell its background."""
    nearest = sorted(background, reverse=True)[:MEANING_BACKGROUND]
    if len(nearest) < MEANING_BACKGROUND:
        return None
    return sum(nearest) / len(nearest) + MEANING_BACKGROUND_OFFSET


def distinct_in_meaning(cosines: dict[int, float | None]) -> int | None:
    """The candidate far closer in meaning than all others (the ratio test), if there is one."""
    ranked = sorted(((c, cid) for cid, c in cosines.items() if c is not None), reverse=True)
    if not ranked or ranked[0][0] < MEANING_DISTINCT:
        return None
    runner_up = max(ranked[1][0] if len(ranked) > 1 else 0.0, MEANING_RUNNER_UP_FLOOR)
    return ranked[0][1] if ranked[0][0] - runner_up >= MEANING_MARGIN else None


def code_conflict(features: Features, profile: Candidate) -> bool:
    """The ticket has an error code, none of the cluster's, and most of the cluster's tickets carry another."""
    own_codes = [k for k in features.fingerprints if k.startswith("code:")]
    if not own_codes or any(profile.fingerprints.get(k) for k in own_codes):
        return False
    their_codes = sum(n for k, n in profile.fingerprints.items() if k.startswith("code:"))
    return their_codes * 2 >= max(profile.tickets, 1)


def evidence_score(features: Features, profile: Candidate, stats: Stats) -> tuple[float, list[str]]:
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


def recency(last_reported_at: datetime | None, now: datetime) -> float:
    if last_reported_at is None:
        return 0.0
    days = (now - last_reported_at).total_seconds() / 86400
    if days <= RECENT_DAYS:
        return RECENT_BONUS
    if days >= STALE_DAYS:
        return -STALE_PENALTY
    return 0.0


def covered(query: Query, postings: dict[str, float]) -> float | None:
    """The weight of the query's words a cluster's postings hold; None if it shares nothing with the query."""
    if not any(term in postings for term in query.weights):
        return None
    return sum(w for term, w in query.weights.items() if term in query.text_terms and term in postings)


def open_match(cluster: BugCluster, matches: list[Match]) -> Match:
    """The opening ticket's assignment: its confidence is how far the nearest cluster was."""
    if not matches:
        return Match(cluster=cluster, score=1.0, text_similarity=0.0, reasons=[OPENED_ALONE])
    nearest = matches[0]
    label = f"#{nearest.cluster.pk}" if nearest.cluster.pk else "a cluster opened just before"
    reason = (
        f"opened a new cluster: the nearest, {label}, scored {nearest.score:.2f} (joining takes {JOIN_THRESHOLD:.2f})"
    )
    return Match(cluster=cluster, score=1.0 - nearest.score, text_similarity=0.0, reasons=[reason])
