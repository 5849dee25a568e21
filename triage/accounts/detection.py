"""Read every account's signals from its tickets of the window, each signal with the evidence that shows it.

One pass over the window's tickets (with their cluster's priority, status and labels) plus one over the
previous window's CSAT ratings; the rest is Python over those rows, so it runs in a beat task, not a page.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from tickets.models import OPEN_CLUSTER_STATUSES, FeedbackKind, Ticket
from triage.accounts import language
from triage.accounts.models import AtRiskRule, HandoffTrigger, TriggerKey

# Kinds that go to product: each such ticket is an escalation to product.
ESCALATION_KINDS = (
    FeedbackKind.BUG_REPORT,
    FeedbackKind.FEATURE_REQUEST,
    FeedbackKind.UX_FEEDBACK,
    FeedbackKind.DOCUMENTATION_GAP,
)
TEXT_EVIDENCE = ("customer_words", "quote", "context", "use_case", "stuck_at", "customer_tried")
INCIDENT_LABELS = ("major-incident", "incident")
EVIDENCE_SHOWN = 5
_COLUMNS = (
    "pk", "customer_id", "external_id", "subject", "description", "feedback_kind", "evidence", "reported_at",
    "cluster_id", "cluster__title", "cluster__priority", "cluster__status", "cluster__labels",
)  # fmt: skip


@dataclass
class Row:
    """The columns of one ticket that detection reads."""

    pk: int
    customer_id: int
    external_id: str
    subject: str
    description: str
    feedback_kind: str
    evidence: dict
    reported_at: datetime
    cluster_id: int | None
    cluster_title: str | None
    cluster_priority: str | None
    cluster_status: str | None
    cluster_labels: list | None

    @property
    def text(self) -> str:
        extra = " ".join(str(self.evidence.get(k) or "") for k in TEXT_EVIDENCE)
        return f"{self.subject}. {self.description} {extra}"

    @property
    def indicator(self) -> str:
        return str(self.evidence.get("risk_indicator") or "") if self.feedback_kind == "at_risk_signal" else ""


@dataclass
class Signal:
    """One trigger seen on an account, with what shows it."""

    trigger: str
    summary: str
    evidence: list[dict] = field(default_factory=list)
    ticket_ids: set[int] = field(default_factory=set)

    def add(self, row: Row, note: str = "") -> None:
        self.ticket_ids.add(row.pk)
        if len(self.evidence) < EVIDENCE_SHOWN:
            self.evidence.append(
                {
                    "ticket_id": row.pk,
                    "external_id": row.external_id,
                    "subject": row.subject,
                    "reported_at": row.reported_at.isoformat(),
                    "note": note,
                }
            )


def _ticket_rows(customer_ids, since: datetime, until: datetime) -> dict[int, list[Row]]:
    query = Ticket.objects.filter(reported_at__gte=since, reported_at__lte=until, customer__isnull=False)
    if customer_ids is not None:
        query = query.filter(customer_id__in=customer_ids)
    by_customer: dict[int, list[Row]] = defaultdict(list)
    for values in query.order_by("-reported_at", "-id").values_list(*_COLUMNS).iterator(chunk_size=2000):
        row = Row(*values)
        row.evidence = row.evidence or {}
        row.description = row.description or ""
        by_customer[row.customer_id].append(row)
    return by_customer


def _csat(row: Row) -> int | None:
    value = str(row.evidence.get("csat") or "").strip()
    return int(value) if value in ("1", "2", "3", "4", "5") else None


def _previous_csat(customer_ids, since: datetime, until: datetime) -> dict[int, list[int]]:
    query = Ticket.objects.filter(reported_at__gte=since, reported_at__lt=until, customer__isnull=False).filter(
        ~Q(evidence__csat=None)
    )
    if customer_ids is not None:
        query = query.filter(customer_id__in=customer_ids)
    found: dict[int, list[int]] = defaultdict(list)
    for customer_id, evidence in query.values_list("customer_id", "evidence").iterator(chunk_size=2000):
        value = str((evidence or {}).get("csat") or "")
        if value in ("1", "2", "3", "4", "5"):
            found[customer_id].append(int(value))
    return found


def _signals_of(rows: list[Row], rule: AtRiskRule, previous_csat: list[int]) -> dict[str, Signal]:
    """Every trigger the account's tickets show, newest evidence first."""
    signals: dict[str, Signal] = {}

    def signal(key: str, summary: str) -> Signal:
        return signals.setdefault(key, Signal(trigger=key, summary=summary))

    escalations = [r for r in rows if r.feedback_kind in ESCALATION_KINDS]
    flagged = [r for r in rows if r.indicator == TriggerKey.REPEATED_ESCALATIONS]
    if len(escalations) >= rule.escalation_threshold or flagged:
        found = signal(
            TriggerKey.REPEATED_ESCALATIONS,
            f"{len(escalations)} tickets escalated to product in {rule.window_days} days",
        )
        for row in flagged + escalations:
            found.add(row, "escalated to product" if row.indicator != TriggerKey.REPEATED_ESCALATIONS else "flagged")
    ratings = []
    for row in rows:
        text = row.text
        indicator = row.indicator
        quote = str(row.evidence.get("customer_words") or row.subject)
        churn = language.churn_language(text)
        if churn or indicator == TriggerKey.CHURN_LANGUAGE:
            note = f'"{language.excerpt(text, churn[0], 60)}"' if churn else f'flagged by support: "{quote[:160]}"'
            signal(TriggerKey.CHURN_LANGUAGE, "Churn or cancellation language").add(row, note)
        named = language.competitors_mentioned(text, rule.competitors if isinstance(rule.competitors, list) else [])
        if named or (indicator == TriggerKey.COMPETITOR_MENTIONED and row.evidence.get("competitor")):
            names = named or [str(row.evidence.get("competitor"))]
            signal(TriggerKey.COMPETITOR_MENTIONED, "A competitor was mentioned").add(row, ", ".join(names))
        executives = language.executive_complaint(text)
        if indicator == TriggerKey.EXECUTIVE_COMPLAINT or (executives and row.feedback_kind == "at_risk_signal"):
            note = f"{', '.join(sorted(set(executives)))} complained" if executives else "flagged by support"
            signal(TriggerKey.EXECUTIVE_COMPLAINT, "An executive complained").add(row, note)
        departed = language.champion_departure(text)
        if departed or indicator == TriggerKey.CHAMPION_DEPARTURE:
            signal(TriggerKey.CHAMPION_DEPARTURE, "Their champion left").add(
                row, f'"{departed[0]}"' if departed else "flagged by support"
            )
        incident = row.cluster_status in OPEN_CLUSTER_STATUSES and (
            row.cluster_priority == "P1" or any(label in INCIDENT_LABELS for label in (row.cluster_labels or []))
        )
        if incident or indicator == TriggerKey.INCIDENT_IMPACT:
            note = f"in open P1 #{row.cluster_id} {row.cluster_title}" if incident else "flagged by support"
            signal(TriggerKey.INCIDENT_IMPACT, "Affected by an open P1 or major incident").add(row, note)
        blocker = row.feedback_kind == "feature_request" and row.evidence.get("revenue_impact") == "blocker"
        if blocker or indicator == TriggerKey.FEATURE_BLOCKER:
            note = f"blocked by #{row.cluster_id} {row.cluster_title}" if row.cluster_id else "a blocking request"
            signal(TriggerKey.FEATURE_BLOCKER, "A missing feature blocks them").add(row, note)
        wants_more = language.expansion_interest(text)
        if wants_more or indicator == TriggerKey.EXPANSION_INTEREST or row.evidence.get("expansion_blocker") == "yes":
            note = f'"{wants_more[0]}"' if wants_more else "flagged by support"
            signal(TriggerKey.EXPANSION_INTEREST, "Interested in buying more").add(row, note)
        if indicator == TriggerKey.NEGATIVE_CSAT:
            signal(TriggerKey.NEGATIVE_CSAT, "Satisfaction is falling").add(row, "flagged by support")
        rating = _csat(row)
        if rating is not None:
            ratings.append((row, rating))
    _csat_trend(ratings, previous_csat, rule, signal)
    for found in signals.values():
        found.summary = _summary(found)
    return signals


def _summary(found: Signal) -> str:
    """The signal in a line: how many tickets show it (competitors: which ones were named)."""
    count = len(found.ticket_ids)
    tickets = f"{count} ticket{'s' if count != 1 else ''}"
    if found.trigger == TriggerKey.COMPETITOR_MENTIONED:
        names = sorted({name.strip() for e in found.evidence for name in e["note"].split(",") if name.strip()})
        return f"{', '.join(names)} named in {tickets}"
    if found.trigger in (TriggerKey.REPEATED_ESCALATIONS, TriggerKey.NEGATIVE_CSAT):
        return found.summary
    if found.trigger == TriggerKey.INCIDENT_IMPACT:
        return f"{tickets} in an open P1 or major incident"
    return f"in {tickets}"


def _csat_trend(ratings, previous: list[int], rule: AtRiskRule, signal) -> None:
    """Two or more ratings in the window averaging at or below the threshold, and lower than before."""
    if len(ratings) < 2:
        return
    mean = statistics.fmean(r for _, r in ratings)
    before = statistics.fmean(previous) if previous else None
    if mean > float(rule.csat_threshold) or (before is not None and mean >= before):
        return
    trend = f"from {before:.1f} " if before is not None else ""
    found = signal(TriggerKey.NEGATIVE_CSAT, f"CSAT {trend}down to {mean:.1f} over {len(ratings)} ratings")
    for row, rating in ratings:
        found.add(row, f"CSAT {rating}")


@dataclass
class Assessment:
    """One account's signals, score and verdict under the rule."""

    customer_id: int
    signals: list[Signal]
    score: int
    at_risk: bool
    expansion: bool
    mrr: Decimal = Decimal(0)

    def as_json(self, triggers: dict[str, HandoffTrigger]) -> list[dict]:
        return [
            {
                "trigger": s.trigger,
                "name": triggers[s.trigger].get_key_display() if s.trigger in triggers else s.trigger,
                "weight": triggers[s.trigger].weight if s.trigger in triggers else 0,
                "summary": s.summary,
                "evidence": s.evidence,
                "ticket_ids": sorted(s.ticket_ids),
            }
            for s in self.signals
        ]


def accounts_detect(
    *, rule: AtRiskRule, triggers: dict[str, HandoffTrigger], now: datetime, customer_ids=None
) -> list[Assessment]:
    """Assess every account with tickets in the rule's window (or only `customer_ids`)."""
    since = now - timedelta(days=rule.window_days)
    rows = _ticket_rows(customer_ids, since, now)
    previous = _previous_csat(customer_ids, since - (now - since), since)
    found = []
    for customer_id, customer_rows in rows.items():
        signals = _signals_of(customer_rows, rule, previous.get(customer_id, []))
        active = [s for key, s in signals.items() if key in triggers and triggers[key].is_active]
        active.sort(key=lambda s: (-triggers[s.trigger].weight, triggers[s.trigger].order))
        score = sum(triggers[s.trigger].weight for s in active if triggers[s.trigger].is_risk)
        found.append(
            Assessment(
                customer_id=customer_id,
                signals=active,
                score=score,
                at_risk=score >= rule.min_score,
                expansion=any(not triggers[s.trigger].is_risk for s in active),
            )
        )
    return found
