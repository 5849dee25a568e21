"""New bugs of the week: bug clusters opened this week, with their reproduction evidence and how complete it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, FloatField, JSONField, OuterRef, Subquery, Window

from tickets.clusters.selectors import cluster_list
from tickets.intake.selectors import ticket_list
from tickets.models import BugCluster, ClusterKind, ClusterStatus
from triage.review.selectors.common import Shared
from triage.review.weeks import ReviewWeek

NEW_LIMIT = 6
# Where a type has them, these say how to reproduce the bug; they are shown first and in full.
REPRO_KEYS = (
    ("steps_to_reproduce", "Steps to reproduce"),
    ("expected_behavior", "Expected"),
    ("actual_behavior", "Actual"),
)
# Evidence that reads as noise in a summary (long, machine-written or identifying).
SKIPPED_KEYS = {"user_agent", "transaction_id", "account_id", "customer_name", "screenshot", "har_file"}
OTHER_EVIDENCE = 4
VALUE_CHARS = 160


@dataclass
class NewBugRow:
    cluster: BugCluster
    ticket_type: str
    tickets: int
    completeness: float | None
    subject: str = ""
    repro: list[tuple[str, str]] = field(default_factory=list)
    evidence: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class NewBugsSection:
    rows: list[NewBugRow]
    total: int
    week: ReviewWeek


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _text(value: Any) -> str:
    if isinstance(value, dict):  # money: {"amount": "49.99", "currency": "EUR"}
        value = " ".join(str(value.get(k, "")) for k in ("currency", "amount")).strip()
    text = " ".join(str(value).split())
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def reproduction(evidence: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(steps / expected / actual where given, up to four other evidence values) from a ticket's evidence."""
    repro = [(label, _text(evidence[key])) for key, label in REPRO_KEYS if evidence.get(key) not in (None, "")]
    shown = {key for key, _ in REPRO_KEYS} | SKIPPED_KEYS
    others = [
        (_label(key), _text(value))
        for key, value in evidence.items()
        if key not in shown and value not in (None, "", [], {}) and not key.endswith("_id")
    ]
    return repro, others[:OTHER_EVIDENCE]


def new_bugs(week: ReviewWeek, shared: Shared | None = None, *, limit: int = NEW_LIMIT) -> NewBugsSection:
    """Bug clusters opened this week, most tickets first, each with its most complete ticket's evidence
    and the average completeness of its tickets; one query (the per-cluster reads run for the shown rows)."""
    tickets = ticket_list().filter(cluster_id=OuterRef("pk")).order_by()
    best = tickets.order_by("-evidence_completeness", "-reported_at", "-id")
    opened = (
        cluster_list()
        .filter(kind=ClusterKind.BUG, created_at__gte=week.start, created_at__lt=week.end)
        .exclude(status=ClusterStatus.MERGED)
        .annotate(
            total=Window(Count("id")),
            filed=Subquery(tickets.values("cluster_id").annotate(n=Count("id")).values("n")[:1]),
            mean=Subquery(
                tickets.values("cluster_id").annotate(m=Avg("evidence_completeness")).values("m")[:1],
                output_field=FloatField(),
            ),
            best_subject=Subquery(best.values("subject")[:1]),
            best_evidence=Subquery(best.values("evidence")[:1], output_field=JSONField()),
        )
        .order_by("-ticket_count", "-created_at", "-id")[:limit]
    )
    clusters = list(opened)
    rows = []
    for cluster in clusters:
        repro, others = reproduction(cluster.best_evidence or {})
        rows.append(
            NewBugRow(
                cluster=cluster,
                ticket_type=cluster.ticket_type.name if cluster.ticket_type else "",
                tickets=cluster.filed or 0,
                completeness=cluster.mean,
                subject=cluster.best_subject or "",
                repro=repro,
                evidence=others,
            )
        )
    if shared is not None:
        shared.show(clusters)
    return NewBugsSection(rows=rows, total=clusters[0].total if clusters else 0, week=week)
