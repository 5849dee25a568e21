"""Hand-built weeks for the review's tests, in a time zone that is not UTC.

NOW is Wednesday 11 March 2026, 15:00 in New York: the current week is 2026-W11 (9-15 March), the week
before 2026-W10 (2-8 March) ends on the night clocks went forward (8 March), so it is 167 hours long.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from metrics.services import rollup_rebuild
from tickets.models import BugCluster, Customer, FeatureRequestDecision, Ticket, TicketType
from triage.accounts.models import Handoff

ZONE = "America/New_York"
NOW = datetime(2026, 3, 11, 15, 0, tzinfo=ZoneInfo(ZONE))
THIS_MONDAY = date(2026, 3, 9)
LAST_MONDAY = date(2026, 3, 2)
_serial = itertools.count()


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A moment on `day` in the organisation's (New York) time zone."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), ZoneInfo(ZONE))


def file(
    cluster: BugCluster | None,
    moments,
    *,
    customer: Customer | None = None,
    kind: str = "bug_report",
    type_key: str = "feature_bug",
    description: str = "",
    evidence: dict | None = None,
    subject: str = "Customer problem",
) -> list[Ticket]:
    """Tickets reported at `moments`, written straight to the table (like an import)."""
    ticket_type = TicketType.objects.get(key=type_key) if type_key else None
    rows = [
        Ticket(
            source="test",
            external_id=f"T-{next(_serial)}",
            subject=f"{subject} {i}",
            description=description,
            feedback_kind=kind,
            ticket_type=ticket_type,
            evidence=evidence or {},
            customer=customer,
            cluster=cluster,
            reported_at=moment,
            cluster_assigned_at=moment if cluster else None,
        )
        for i, moment in enumerate(moments)
    ]
    return Ticket.objects.bulk_create(rows)


def rollup(first: date = date(2025, 12, 1), last: date = date(2026, 3, 15)) -> None:
    """The daily counts the beat tasks keep, built from the tickets written so far."""
    rollup_rebuild(day_from=first, day_to=last)


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


def full_week(lead) -> dict:
    """A week with something in every section of the review (built by hand, rollup included)."""
    from metrics.impact import Verdict
    from metrics.models import FixImpact, FixVerdictChange
    from slas.models import Alert, AlertKind, SlaTimer, Target, TimerState
    from tests.tickets.factories import ClusterFactory, CustomerFactory
    from tickets.models import ClusterStatus
    from triage.review.models import MeetingItem, ReportDelivery, WeekPatterns

    customer = CustomerFactory(name="Globex", mrr=9000)
    clusters = [ClusterFactory(title=f"Busy bug {i}", priority="P2") for i in range(6)]
    for i, cluster in enumerate(clusters):
        file(cluster, [local(THIS_MONDAY + timedelta(days=d % 3), 9 + d % 8) for d in range(10 - i)], customer=customer,
             description="It breaks every time I try.")  # fmt: skip
        file(cluster, [local(LAST_MONDAY + timedelta(days=d % 3), 9) for d in range(5)])
    fresh = ClusterFactory(title="Brand new bug")
    BugCluster.objects.filter(pk=fresh.pk).update(created_at=local(THIS_MONDAY, 8))
    file(fresh, [local(THIS_MONDAY, 9)], evidence={"steps_to_reproduce": "1. Open\n2. Click", "browser": "Safari"})
    fixed = ClusterFactory(
        title="Fixed but not working", status=ClusterStatus.FIXED, fix_deployed_at=local(LAST_MONDAY, 17)
    )
    impact = FixImpact.objects.create(
        cluster=fixed, deployed_at=fixed.fix_deployed_at, deploy_day=LAST_MONDAY, verdict=Verdict.PENDING,
        provisional_verdict=Verdict.NO_CHANGE,
        series=[{"day": "2026-03-01", "period": "before", "tickets": 3, "expected": 2.5, "low": 1, "high": 4}] * 3,
    )  # fmt: skip
    FixVerdictChange.objects.create(
        fix_impact=impact, measured_at=local(THIS_MONDAY, 1), verdict=Verdict.PENDING,
        provisional_verdict=Verdict.NO_CHANGE, change_pct=-2, days_observed=7,
    )  # fmt: skip
    for kind, cluster in (
        (AlertKind.BREACH, clusters[0]),
        (AlertKind.SPIKE, clusters[1]),
        (AlertKind.THRESHOLD, fresh),
    ):
        alert = Alert.objects.create(
            cluster=cluster, kind=kind, target=Target.ACKNOWLEDGMENT if kind == AlertKind.BREACH else "",
            message=f"{kind} alert", payload={"ratio": 3.0}, due_at=local(THIS_MONDAY, 10),
        )  # fmt: skip
        Alert.objects.filter(pk=alert.pk).update(created_at=local(THIS_MONDAY, 10))
    SlaTimer.objects.create(
        cluster=clusters[0], target=Target.RESOLUTION, state=TimerState.RUNNING, target_seconds=86400,
        opened_at=local(THIS_MONDAY, 9), running_since=local(THIS_MONDAY, 9), deadline_at=NOW + timedelta(days=1),
    )  # fmt: skip
    WeekPatterns.objects.create(
        week=THIS_MONDAY, window_end=NOW, computed_at=NOW, recent_tickets=60,
        patterns=[{"text": "iOS 17.2 + biometric", "count": 20, "lift": 5.0, "ticket_type": "Login issue"}],
    )  # fmt: skip
    MeetingItem.objects.create(week=LAST_MONDAY, kind="action", text="Call Globex", owner=lead, cluster=clusters[0])
    MeetingItem.objects.create(week=THIS_MONDAY, kind="decision", text="Ship behind a flag", cluster=clusters[1])
    ReportDelivery.objects.create(week=THIS_MONDAY, trigger="manual", recipients=["lead@example.com"])
    file(None, [local(THIS_MONDAY, 12)], kind="feature_request", type_key="feature_request")
    request = ClusterFactory(title="Dark mode", kind="feature_request")
    FeatureRequestDecision.objects.create(cluster=request, decision="planned", quarter="2027-Q1", decided_at=NOW)
    asked = [local(THIS_MONDAY, 13), local(THIS_MONDAY + timedelta(days=1), 9)]
    words = {"customer_words": "Our night shift needs it."}
    file(request, asked, customer=customer, kind="feature_request", type_key="feature_request", evidence=words)
    file(request, [local(LAST_MONDAY, 13)], kind="feature_request", type_key="feature_request")
    at_risk = CustomerFactory(name="Acme Retail", mrr=4200, csm_owner=lead)
    file(clusters[5], [local(LAST_MONDAY - timedelta(days=14), 9)], customer=at_risk)  # an open bug hitting it
    handoff_at(at_risk, local(THIS_MONDAY, 15), reasons=[("Churn or cancellation language", "in 1 ticket")])
    rollup()
    return {"clusters": clusters, "fresh": fresh, "fixed": fixed, "customer": customer, "request": request}


def handoff_at(customer: Customer, moment: datetime, *, kind: str = "at_risk", reasons=(), **fields) -> Handoff:
    """An at-risk handoff (the alert to the CSM) raised at `moment`, as the hourly assessment writes it."""
    handoff = Handoff.objects.create(
        customer=customer,
        kind=kind,
        window_start=moment.date(),
        handoff_type="Save play: retention call",
        urgency="critical",
        score=4,
        signals=[
            {"name": name, "summary": summary, "trigger": "churn_language", "weight": 3} for name, summary in reasons
        ],
        csm=customer.csm_owner,
        message=customer.name,
        body="",
        **fields,
    )
    Handoff.objects.filter(pk=handoff.pk).update(created_at=moment)
    handoff.refresh_from_db()
    return handoff
