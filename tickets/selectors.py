"""Reads of tickets and clusters that more than one page or endpoint needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from tickets.models import (
    OPEN_CLUSTER_STATUSES,
    BugCluster,
    ClusterEvent,
    ClusterKind,
    ClusterStatus,
    Customer,
    Ticket,
    TicketType,
)


def cluster_list_open() -> QuerySet[BugCluster]:
    return BugCluster.objects.filter(status__in=OPEN_CLUSTER_STATUSES).select_related("owner", "ticket_type")


def home_summary(*, user) -> dict[str, Any]:
    """Figures for the signed-in home page: the user's recent reports and the busiest open clusters."""
    top_clusters = cluster_list_open().order_by("-ticket_count", "-last_reported_at")[:8]
    my_tickets = Ticket.objects.filter(agent=user).select_related("cluster", "ticket_type").order_by("-reported_at")[:8]
    return {
        "top_clusters": list(top_clusters),
        "my_tickets": list(my_tickets),
        "open_cluster_count": cluster_list_open().count(),
        "tickets_last_7_days": Ticket.objects.filter(reported_at__gte=timezone.now() - timedelta(days=7)).count(),
    }


# --- Known bugs: the ranking the filing form's panel shows ---------------------
# The clustering engine replaces the body of `cluster_suggestions`; its signature
# and return type are the contract the form relies on.

_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]|[A-Za-z0-9]")
_CODE_RE = re.compile(r"^(?=.*\d)[A-Za-z0-9_.-]{3,}$")
_STOPWORDS_TEXT = """
a an and are as at be but by can cannot could does doesn't for from has have he her his how i if in into is
it its me my no not of on or our she so that the their them then there they this to was we were what when
where which who why will with you your customer customers user users get gets getting got
"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
SUGGESTION_CANDIDATES = 200  # clusters scored in Python after the database narrowed them down


@dataclass(frozen=True)
class ClusterSuggestion:
    """One known cluster the form offers as "same bug", with why it matched."""

    cluster: BugCluster
    score: float
    reasons: list[str]


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD_RE.findall(text or "")]


def _error_codes(evidence: dict | None, text: str) -> set[str]:
    """Error codes given as evidence, plus code-like tokens (letters and digits, e.g. E4001) of the text."""
    codes = set()
    for key, value in (evidence or {}).items():
        if "code" in key and isinstance(value, (str, int)) and str(value).strip():
            codes.add(str(value).strip().lower())
    for word in _words(text):
        is_version = "." in word and word.replace(".", "").isdigit()  # "17.2" is a version, not a code
        if word.isdigit() or (_CODE_RE.match(word) and not is_version):
            codes.add(word)
    return {c for c in codes if len(c) >= 3}


def cluster_suggestions(
    *,
    subject: str,
    description: str = "",
    ticket_type: TicketType | None = None,
    evidence: dict | None = None,
    kind: str = ClusterKind.BUG,
    limit: int = 5,
) -> list[ClusterSuggestion]:
    """Rank open clusters of `kind` by how well they match what the agent has typed so far.

    Words of the subject, description and text evidence (error message...) are
    matched against each open cluster's title, summary, root cause and labels;
    an error code found in a cluster counts strongly, the same ticket type a
    little. PostgreSQL narrows the candidates with full-text search; other
    databases with a token-overlap scan of the most recent open clusters.
    Only clusters are read, never tickets.
    """
    texts = [subject, description] + [
        str(v) for k, v in (evidence or {}).items() if isinstance(v, str) and ("error" in k or "message" in k)
    ]
    text = " ".join(t for t in texts if t)
    terms = {w for w in _words(text) if w not in _STOPWORDS and len(w) > 1}
    codes = _error_codes(evidence, text)
    if not terms and not codes:
        return []
    clusters = BugCluster.objects.filter(status__in=OPEN_CLUSTER_STATUSES, kind=kind).select_related("owner")
    if connection.vendor == "postgresql":
        clusters = _postgres_candidates(clusters, terms | codes, codes)
    else:
        clusters = clusters.order_by("-last_reported_at", "-id")
    suggestions = [
        s for s in (_score(c, terms, codes, ticket_type) for c in clusters[:SUGGESTION_CANDIDATES]) if s is not None
    ]
    suggestions.sort(key=lambda s: (-s.score, -(s.cluster.ticket_count or 0), -s.cluster.pk))
    return suggestions[:limit]


def _postgres_candidates(clusters: QuerySet[BugCluster], terms: set[str], codes: set[str]) -> QuerySet[BugCluster]:
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    vector = (
        SearchVector("title", weight="A", config="english")
        + SearchVector("summary", weight="B", config="english")
        + SearchVector("root_cause", weight="C", config="english")
    )
    safe_terms = sorted(t for t in terms if re.fullmatch(r"[a-z0-9]+", t))
    match = Q(pk__in=[])
    query = None
    if safe_terms:
        query = SearchQuery(" | ".join(safe_terms), search_type="raw", config="english")
        match |= Q(search=query)
    for code in codes:
        match |= Q(title__icontains=code) | Q(summary__icontains=code) | Q(labels__icontains=code)
    clusters = clusters.annotate(search=vector).filter(match)
    if query is not None:
        return clusters.annotate(rank=SearchRank(vector, query)).order_by("-rank", "-last_reported_at")
    return clusters.order_by("-last_reported_at")


def _score(cluster: BugCluster, terms: set[str], codes: set[str], ticket_type: TicketType | None):
    haystack = " ".join([cluster.title, cluster.summary, cluster.root_cause, " ".join(map(str, cluster.labels or []))])
    cluster_words = set(_words(haystack))
    title_words = set(_words(cluster.title))
    reasons: list[str] = []
    score = 0.0
    same_codes = sorted(c for c in codes if c in cluster_words)
    if same_codes:
        score += 0.6
        reasons.append(f"same error code {', '.join(same_codes)}")
    shared = sorted(terms & cluster_words - set(same_codes))
    if shared:
        in_title = terms & title_words
        overlap = len(shared) / max(len(terms), 1)
        score += 0.35 * overlap + 0.15 * (len(in_title) / max(len(title_words), 1))
        reasons.append("matching words: " + ", ".join(shared[:6]))
    rank = getattr(cluster, "rank", None)  # PostgreSQL full-text rank: stems match too ("failing" ~ "fails")
    if rank:
        if not reasons:
            reasons.append("similar wording (full-text match)")
        score = max(score, min(float(rank), 0.5))
    if not reasons:
        return None
    if ticket_type is not None and cluster.ticket_type_id == ticket_type.pk:
        score += 0.1
        reasons.append(f"same ticket type ({ticket_type.name})")
    return ClusterSuggestion(cluster=cluster, score=round(min(score, 1.0), 3), reasons=reasons)


# --- The agent's closed loop -----------------------------------------------------

PRODUCT_RESPONSE_KINDS = (
    ClusterEvent.Kind.RESPONSE,
    ClusterEvent.Kind.QUESTION,
    ClusterEvent.Kind.ANSWER,
    ClusterEvent.Kind.STATUS_CHANGED,
    ClusterEvent.Kind.PRIORITY_CHANGED,
    ClusterEvent.Kind.OWNER_CHANGED,
    ClusterEvent.Kind.WORKAROUND,
    ClusterEvent.Kind.FIX_DEPLOYED,
)


def ticket_list_for_agent(*, agent) -> QuerySet[Ticket]:
    """The agent's tickets, newest first, each cluster carrying `responses` (product's updates, newest first)."""
    responses = Prefetch(
        "cluster__events",
        queryset=ClusterEvent.objects.filter(kind__in=PRODUCT_RESPONSE_KINDS)
        .select_related("actor")
        .order_by("-created_at", "-id"),
        to_attr="responses",
    )
    return (
        Ticket.objects.filter(agent=agent)
        .select_related("cluster", "cluster__owner", "ticket_type", "customer")
        .prefetch_related(responses)
        .order_by("-reported_at", "-id")
    )


def ticket_count_awaiting_answer(*, agent) -> int:
    """How many bugs holding the agent's tickets wait on an answer from support (NEEDS_INFO)."""
    return BugCluster.objects.filter(status=ClusterStatus.NEEDS_INFO, tickets__agent=agent).distinct().count()


def cluster_get_story(*, pk: int) -> BugCluster:
    """One cluster with what its page shows; raises BugCluster.DoesNotExist."""
    return BugCluster.objects.select_related("owner", "ticket_type").get(pk=pk)


STORY_LIMIT = 500


def cluster_events(*, cluster: BugCluster) -> list[ClusterEvent]:
    """The cluster's story newest first, without the one-per-ticket "ticket added" entries (tickets are listed)."""
    events = (
        cluster.events.exclude(kind=ClusterEvent.Kind.TICKET_ADDED)
        .select_related("actor", "ticket")
        .order_by("-created_at", "-id")
    )
    return list(events[:STORY_LIMIT])


def cluster_tickets(*, cluster: BugCluster) -> QuerySet[Ticket]:
    return (
        cluster.tickets.select_related("customer", "agent", "ticket_type")
        .prefetch_related("ticket_type__fields", "attachments")
        .order_by("-reported_at", "-id")
    )


def customer_search(*, query: str, limit: int = 8) -> list[Customer]:
    """Customers whose name or account id contains `query`, biggest accounts (MRR) first."""
    query = (query or "").strip()
    if not query:
        return []
    return list(
        Customer.objects.filter(Q(name__icontains=query) | Q(external_id__icontains=query)).order_by("-mrr", "name")[
            :limit
        ]
    )


def ticket_type_list_active() -> list[TicketType]:
    """Active ticket types with their evidence fields, in form order (two queries)."""
    return list(TicketType.objects.filter(is_active=True).prefetch_related("fields").order_by("order", "name"))


def cluster_open_question(events) -> ClusterEvent | None:
    """The latest question product asked, from events ordered newest first."""
    return next((e for e in events if e.kind == ClusterEvent.Kind.QUESTION), None)


def ticket_list() -> QuerySet[Ticket]:
    """Tickets with what their list rows show; filter with tickets.filters.TicketFilterSet."""
    return Ticket.objects.select_related("ticket_type", "customer")


def cluster_list() -> QuerySet[BugCluster]:
    """Clusters with their type and owner; filter with tickets.filters.ClusterFilterSet."""
    return BugCluster.objects.select_related("ticket_type", "owner")


def cluster_detail_queryset(*, recent: int = 100) -> QuerySet[BugCluster]:
    """Clusters with their `recent` newest tickets prefetched as `recent_tickets`."""
    from django.db.models import Prefetch

    newest = Ticket.objects.select_related("ticket_type", "customer").order_by("-reported_at", "-id")[:recent]
    return cluster_list().prefetch_related(Prefetch("tickets", queryset=newest, to_attr="recent_tickets"))
