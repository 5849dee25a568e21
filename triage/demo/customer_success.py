"""The demo organisation's customer success and feedback routing: queue owners, the competitors to watch,
product's decisions on requests, a few handled pieces of feedback, four accounts whose troubles are told
in their own tickets, and the assessments of the last two months (so the at-risk list is there at once, and
each handoff went to its CSM on the day its account became at risk, not all at the first start).

Writes rows directly with historic times, like the rest of the demo; the assessments go through the
service, as beat ran them each day (see `triage.demo.history`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tickets.models import (
    OPEN_CLUSTER_STATUSES,
    BugCluster,
    ClusterKind,
    ClusterStatus,
    Customer,
    FeatureDecision,
    FeatureRequestDecision,
    FeedbackItem,
    FeedbackOutcome,
    FeedbackQueue,
    FeedbackStatus,
    Segment,
    Ticket,
    TicketType,
)
from triage.accounts.models import AtRiskRule
from triage.demo.history import accounts_replay
from triage.demo.vocab import COMPETITORS

QUEUE_OWNERS = {
    "bug_report": ("lead", "omar"),
    "feature_request": ("lead",),
    "ux_feedback": ("omar",),
    "documentation_gap": ("omar",),
    "at_risk_signal": ("csm",),
    "praise": ("csm",),
    "competitive_intel": ("lead",),
}


@dataclass(frozen=True)
class Story:
    """One account's trouble, told by its tickets: (days ago, kind, type key, subject, description, evidence)."""

    tickets: tuple


STORIES = (
    Story(
        (
            (12, "bug_report", None, "Exports time out again", "Third time this month the board export fails.", {}),
            (6, "at_risk_signal", "at_risk_signal", "Renewal at risk after export failures",
             "Their COO is furious: exports failed before the board meeting.",
             {"risk_indicator": "executive_complaint",
              "customer_words": "If exports are not reliable by renewal we will cancel our subscription and move "
                                "to {competitor}."}),
            (3, "competitive_intel", "competitive_intel", "{competitor} demo booked",
             "They booked a {competitor} demo for next week.",
             {"competitor": "{competitor}", "context": "Comparing export reliability and price.",
              "deal_stage": "renewal"}),
        )
    ),
    Story(
        (
            (44, "praise", "praise", "Loves the new timeline", "Happy with the timeline view.",
             {"quote": "The timeline view is exactly what we needed.", "may_we_use_it": "yes", "csat": "5"}),
            (40, "ux_feedback", "ux_feedback", "Filters hard to reset", "Cannot find how to reset filters.",
             {"page_or_flow": "Board > Filters", "customer_tried": "Clear all filters",
              "stuck_at": "No reset button", "csat": "5"}),
            (14, "at_risk_signal", "at_risk_signal", "Our champion left",
             "Their admin who rolled Planwise out has left the company; the new contact does not know us.",
             {"risk_indicator": "champion_departure",
              "customer_words": "Our admin left the company last week and nobody here knows how the setup works.",
              "csat": "2"}),
            (8, "bug_report", None, "Notifications missing", "Reminders not arriving for the new team.",
             {}),
            (5, "documentation_gap", "documentation_gap", "No docs for SSO groups", "Could not find SSO group docs.",
             {"doc_or_search": "Help centre search: 'SSO groups'", "missing": "How groups map to projects.",
              "csat": "1"}),
        )
    ),
    Story(
        (
            (18, "bug_report", None, "Checkout fails for the finance team", "Payments fail at the last step.", {}),
            (11, "bug_report", None, "Checkout still failing", "Finance cannot pay the invoice.", {}),
            (7, "feature_request", "feature_request", "Need SCIM provisioning", "Their CISO requires SCIM.",
             {"customer_segment": "{segment}", "need_frequency": "weekly", "workaround_difficulty": "impossible",
              "revenue_impact": "blocker", "customer_words": "Without SCIM we fail our security audit.",
              "use_case": "Deprovision leavers within 24 hours for the audit.", "churn_risk": "yes"}),
            (2, "bug_report", None, "Checkout error again", "Third escalation on checkout this month.", {}),
        )
    ),
    Story(
        (
            (9, "at_risk_signal", "at_risk_signal", "Wants to roll out to more teams",
             "They want 120 more seats and to roll it out to the rest of the company.",
             {"risk_indicator": "expansion_interest",
              "customer_words": "We want to add 120 more seats next quarter for the rest of the company."}),
        )
    ),
)  # fmt: skip


def _fill(value, customer: Customer, competitor: str):
    if isinstance(value, dict):
        return {k: _fill(v, customer, competitor) for k, v in value.items()}
    return str(value).format(competitor=competitor, segment=customer.segment)


def _tell(stories, customers, users, end: datetime, types) -> list[Ticket]:
    """Write each story's tickets for its account, filed by the demo agent."""
    p1 = (
        BugCluster.objects.filter(kind=ClusterKind.BUG, priority="P1", status__in=OPEN_CLUSTER_STATUSES)
        .order_by("pk")
        .first()
    )
    rows = []
    for number, (story, customer) in enumerate(zip(stories, customers, strict=False)):
        competitor = COMPETITORS[number % len(COMPETITORS)]
        for step, (days_ago, kind, type_key, subject, description, evidence) in enumerate(story.tickets):
            at = end - timedelta(days=days_ago, hours=3 + step)
            in_p1 = kind == "bug_report" and number == 2 and p1 is not None
            rows.append(
                Ticket(
                    source="zendesk",
                    external_id=f"ZD-CS-{customer.external_id}-{step}",
                    subject=_fill(subject, customer, competitor),
                    description=_fill(description, customer, competitor),
                    feedback_kind=kind,
                    ticket_type=types.get(type_key),
                    evidence=_fill(evidence, customer, competitor),
                    customer=customer,
                    agent=users["agent"],
                    status="open",
                    reported_at=at,
                    cluster=p1 if in_p1 else None,
                    cluster_assigned_at=at + timedelta(minutes=20),
                    assignment_source="import" if in_p1 else "",
                )
            )
    tickets = Ticket.objects.bulk_create(rows)
    for ticket in tickets:
        Ticket.objects.filter(pk=ticket.pk).update(created_at=ticket.reported_at + timedelta(minutes=5))
    return tickets


def _decisions(leads, end: datetime) -> None:
    """Product's decisions on the requests whose story already says what was decided."""
    rows = []
    quarter = f"{end.year + (end.month > 9)}-Q{(end.month % 12) // 3 + 1}"  # the next quarter
    reason = "It conflicts with how sharing works; guests see what their project shows."
    decided = {
        ClusterStatus.IN_PROGRESS: {"decision": FeatureDecision.PLANNED, "quarter": quarter},
        ClusterStatus.WONT_FIX: {"decision": FeatureDecision.REJECTED, "reason": reason},
        ClusterStatus.ACKNOWLEDGED: {"decision": FeatureDecision.UNDER_CONSIDERATION},
    }
    for cluster in BugCluster.objects.filter(kind=ClusterKind.FEATURE_REQUEST).order_by("pk"):
        if cluster.status in decided:
            at = (cluster.status_changed_at or end) - timedelta(minutes=1)
            by = cluster.owner or leads[0]
            decision = decided[cluster.status]
            rows.append(FeatureRequestDecision(cluster=cluster, decided_by=by, decided_at=at, **decision))
    FeatureRequestDecision.objects.bulk_create(rows)


def _handled(users, end: datetime) -> None:
    """Owners answered a few of the demo agent's pieces of feedback, so My reports shows the loop closed."""
    answers = {
        "ux_feedback": ("omar", "Thanks: a visible reset is in the next design sprint.", FeedbackOutcome.PLANNED),
        "documentation_gap": ("omar", "Article rewritten with the new screens.", FeedbackOutcome.DOCUMENTED),
        "praise": ("csm", "Passed to marketing; the customer agreed to a quote.", FeedbackOutcome.SHARED),
    }
    items = []
    for kind, (owner, response, outcome) in answers.items():
        for ticket in Ticket.objects.filter(agent=users["agent"], feedback_kind=kind).order_by("-reported_at")[1:3]:
            at = min(end, ticket.reported_at + timedelta(days=1))
            items.append(FeedbackItem(ticket=ticket, status=FeedbackStatus.CLOSED, acknowledged_at=at,
                                      acknowledged_by=users[owner], response=response, responded_at=at,
                                      responded_by=users[owner], outcome=outcome, closed_at=at,
                                      closed_by=users[owner]))  # fmt: skip
    FeedbackItem.objects.bulk_create(items, ignore_conflicts=True)


def demo_customer_success(*, users: dict, end: datetime) -> dict:
    """Set up routing and customer success for the demo and assess every account as of `end`."""
    for kind, owners in QUEUE_OWNERS.items():
        queue = FeedbackQueue.objects.filter(feedback_kind=kind).first()
        if queue is not None:
            queue.owners.set([users[name] for name in owners if name in users])
    rule = AtRiskRule.objects.order_by("pk").first() or AtRiskRule()
    rule.competitors = list(COMPETITORS)
    rule.save()
    leads = [users["lead"], users["omar"]]
    _decisions(leads, end)
    types = {t.key: t for t in TicketType.objects.all()}
    csm = users["csm"]
    picked = list(
        Customer.objects.filter(csm_owner=csm, segment__in=[Segment.ENTERPRISE, Segment.MID_MARKET])
        .exclude(tickets__feedback_kind="at_risk_signal", tickets__reported_at__gte=end - timedelta(days=45))
        .order_by("-mrr")[: len(STORIES)]
    )
    told = _tell(STORIES, picked, users, end, types)
    _handled(users, end)
    return {"told": len(told), **accounts_replay(end=end)}
