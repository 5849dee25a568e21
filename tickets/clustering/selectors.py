"""Reads that rank clusters the way the engine does: "Known bugs" while filing, possible duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from tickets.clustering import index, ranking, storage
from tickets.clustering.features import Features, extract, fingerprint_label
from tickets.clustering.ranking import Match
from tickets.clustering.semantic import Meaning, ticket_text
from tickets.models import (
    OPEN_CLUSTER_STATUSES,
    BugCluster,
    ClusterCorrection,
    ClusterKind,
    ClusterProfile,
    TicketType,
)


def rank(
    features: Features,
    *,
    kind: str,
    limit: int = 10,
    exclude_cluster_ids: tuple[int, ...] = (),
    now: datetime | None = None,
    full_clusters: bool = False,
    meaning: Meaning | None = None,
    stats: ranking.Stats | None = None,
) -> list[Match]:
    """The assignable clusters of `kind` most likely to be the same bug as `features`, best first.

    The engine needs a few fields of each cluster; pages that show the clusters ask for
    `full_clusters` (one more query, for the best `limit` only). `meaning` is the semantic side of the
    query (its vector under key 0), when the engine has a model; `stats`, the term statistics when the
    caller read them already (for these features or a superset of them).
    """
    stats = stats or storage.stats_read(ranking.terms_for([features]))
    query = ranking.query_for(features, kind, stats)
    if query is None:
        return []
    found = storage.retrieve([query], tuple(exclude_cluster_ids))[0]
    if meaning is not None:  # semantic neighbours are candidates too
        meaning.candidates([0], [kind], [found], tuple(exclude_cluster_ids))
    if not found:
        return []
    candidates = storage.candidates(found)
    scorer, only, centre = None, False, None
    if meaning is not None:
        meaning.load(candidates)
        scorer, only, centre = meaning.scorer(0), meaning.semantic_only, meaning.centre(0)
    matches = ranking.score(query, found, candidates, stats, now or timezone.now(), limit, scorer, only, centre)
    if full_clusters and matches:
        loaded = BugCluster.objects.select_related("owner", "ticket_type").in_bulk([m.cluster.pk for m in matches])
        for match in matches:
            match.cluster = loaded[match.cluster.pk]
    return matches


@dataclass(frozen=True)
class ClusterSuggestion:
    """One known cluster offered as "same bug" (or as a possible duplicate), with why it matched."""

    cluster: BugCluster
    score: float
    reasons: list[str]


def cluster_suggestions(
    *,
    subject: str,
    description: str = "",
    ticket_type: TicketType | None = None,
    evidence: dict | None = None,
    kind: str = ClusterKind.BUG,
    limit: int = 5,
    min_score: float = 0.15,
) -> list[ClusterSuggestion]:
    """Rank the clusters a ticket like this would be assigned to, the same way the engine does.

    Reads what the agent has typed so far (nothing is saved); the "Known bugs" panel shows the result.
    With a model, the typed text's meaning counts too: one short text, encoded in this request.
    """
    typed = {
        "subject": subject,
        "description": description,
        "evidence": evidence,
        "ticket_type_key": ticket_type.key if ticket_type else None,
        "ticket_type_name": ticket_type.name if ticket_type else None,
    }
    features = extract(**typed)
    stats = storage.stats_read(ranking.terms_for([features]))
    # The lines of a template (a form's headings, a signature) say nothing of the bug: read it again without them.
    template = index.template_lines(stats.df, stats.tickets)
    if template.intersection(features.lines):
        features = extract(**typed, template=template)
    # The meaning is read from the same text as the words (a description made only of template lines is whole).
    meaning = Meaning.for_text(
        ticket_text(subject=subject, description=description, evidence=evidence, template=frozenset(features.template))
    )
    # Fixed clusters still collect tickets (they count against the fix) but the panel offers open bugs only.
    matches = [
        m
        for m in rank(features, kind=kind, limit=limit + 3, full_clusters=True, meaning=meaning, stats=stats)
        if m.cluster.status in OPEN_CLUSTER_STATUSES
    ]
    matches = matches[:limit]
    return [
        ClusterSuggestion(cluster=m.cluster, score=m.score, reasons=m.reasons) for m in matches if m.score >= min_score
    ]


def cluster_possible_duplicates(
    *, cluster: BugCluster, limit: int = 5, min_score: float = 0.3
) -> list[ClusterSuggestion]:
    """Other assignable clusters of the same kind that look like the same bug (candidates for a merge)."""
    profile = ClusterProfile.objects.filter(pk=cluster.pk).first()
    if profile is None or not profile.exemplars:
        return []
    terms: dict[str, float] = {}
    for exemplar in profile.exemplars:
        for term, weight in (exemplar.get("t") or {}).items():
            terms[term] = max(terms.get(term, 0.0), weight)
    features = Features(
        terms=terms,
        fingerprints={k: fingerprint_label(k) for k, n in profile.fingerprints.items() if n * 2 >= profile.tickets},
        evidence={},
        length=sum(terms.values()) / max(len(profile.exemplars), 1),
    )
    # A person split these apart: never offer them as duplicates of each other again.
    split_apart = ClusterCorrection.objects.filter(
        Q(source_cluster=cluster) | Q(target_cluster=cluster),
        action=ClusterCorrection.Action.SPLIT,
        undone_at__isnull=True,
    ).values_list("source_cluster_id", "target_cluster_id")
    excluded = {cluster.pk} | {pk for pair in split_apart for pk in pair if pk}
    matches = rank(
        features,
        kind=cluster.kind,
        limit=limit,
        exclude_cluster_ids=tuple(excluded),
        full_clusters=True,
        meaning=Meaning.for_cluster(cluster.pk),
    )
    return [
        ClusterSuggestion(cluster=m.cluster, score=m.score, reasons=m.reasons) for m in matches if m.score >= min_score
    ]
