"""The demo command builds the support history the README promises, the same way for the same seed."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min

from tickets.intake.evidence import evidence_validate
from tickets.models import (
    AssignmentSource,
    BugCluster,
    ClusterEvent,
    ClusterKind,
    ClusterStatus,
    Customer,
    FeedbackKind,
    Role,
    Segment,
    Ticket,
    TicketType,
)
from triage.demo import bugs as demo_bugs
from triage.demo.catalog import DEMO_FIX_EFFECTS, RECURRING_BUGS
from triage.demo.clusters import IMPORT_REASON
from triage.demo.customer_success import STORIES
from triage.demo.seed import UNASSIGNED_HOURS, demo_reset, demo_seed
from triage.demo.timeline import DAYS, Calendar, Stream, daily_rates

END = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)
TICKETS = 6000
TITLES = {bug.key: bug.title for bug in RECURRING_BUGS}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The default-size demo history, built once for this module and removed afterwards."""
    with django_db_blocker.unblock():
        result = demo_seed(tickets=TICKETS, end=END)
        yield result
        demo_reset()
        get_user_model().objects.filter(email__endswith="@planwise.example").delete()


def cluster_of(key: str) -> BugCluster:
    return BugCluster.objects.get(title=TITLES[key])


@pytest.mark.django_db
def test_customers_cover_every_segment_with_account_details(demo):
    assert Customer.objects.count() == 200
    by_segment = Counter(Customer.objects.values_list("segment", flat=True))
    assert set(by_segment) == set(Segment.values)
    assert by_segment[Segment.SMB] > by_segment[Segment.MID_MARKET] > by_segment[Segment.ENTERPRISE] > 10
    enterprise = Customer.objects.filter(segment=Segment.ENTERPRISE)
    assert not enterprise.filter(csm_owner=None).exists()
    assert not enterprise.filter(mrr__lte=1000).exists()
    assert not Customer.objects.filter(renewal_date__lte=END.date()).exists()
    assert Customer.objects.values("name").distinct().count() == 200


@pytest.mark.django_db
def test_tickets_span_six_months_over_every_type_and_feedback_kind(demo):
    # Plus the tickets that tell four accounts' troubles (triage.demo.customer_success).
    assert demo.tickets == Ticket.objects.count() == TICKETS + sum(len(s.tickets) for s in STORIES)
    span = Ticket.objects.aggregate(first=Min("reported_at"), last=Max("reported_at"))
    assert span["last"] <= END
    assert END - span["last"] < timedelta(hours=6)
    assert timedelta(days=DAYS - 2) < END - span["first"] <= timedelta(days=DAYS)
    types = Counter(Ticket.objects.values_list("ticket_type__key", flat=True))
    for key in ("login_issue", "payment_failure", "feature_bug", "performance_issue", "feature_request"):
        assert types[key] > 200, key
    kinds = Counter(Ticket.objects.values_list("feedback_kind", flat=True))
    assert set(kinds) == set(FeedbackKind.values)
    assert kinds[FeedbackKind.AT_RISK_SIGNAL] > 50
    assert (
        not Ticket.objects.filter(feedback_kind=FeedbackKind.FEATURE_REQUEST)
        .exclude(ticket_type__key="feature_request")
        .exists()
    )


@pytest.mark.django_db
def test_weekends_are_quieter_than_weekdays(demo):
    weekday = Counter(t.weekday() for t in Ticket.objects.values_list("reported_at", flat=True))
    assert weekday[5] + weekday[6] < 0.6 * (weekday[1] + weekday[2])


@pytest.mark.django_db
def test_forty_recurring_bugs_each_told_in_many_phrasings(demo):
    bugs = BugCluster.objects.filter(kind=ClusterKind.BUG)
    assert sorted(bugs.values_list("title", flat=True)) == sorted(TITLES.values())
    assert len(TITLES) == 40
    assert BugCluster.objects.filter(kind=ClusterKind.FEATURE_REQUEST).count() >= 5
    checkout = cluster_of("pay-3ds-4001")
    subjects = set(checkout.tickets.values_list("subject", flat=True))
    descriptions = set(checkout.tickets.values_list("description", flat=True))
    assert len(subjects) > 20 and len(descriptions) > 0.9 * checkout.ticket_count
    assert {t.evidence["error_code"] for t in checkout.tickets.all()} == {"4001"}
    assert sum("4001" in s for s in subjects) > 3
    safari = cluster_of("login-safari-session-drop").tickets.all()
    assert {t.evidence["browser"] for t in safari} <= {"Safari", "Mobile Safari"}
    assert len({t.evidence["os"] for t in safari}) >= 3
    statuses = set(bugs.values_list("status", flat=True))
    # Merges are people's corrections; new clusters are what the engine opens from the newest tickets.
    assert statuses == set(ClusterStatus.values) - {ClusterStatus.MERGED, ClusterStatus.NEW}
    assert set(bugs.exclude(status=ClusterStatus.NEW).values_list("priority", flat=True)) == {"P1", "P2", "P3"}
    assert bugs.exclude(engineering_url="").count() > 25
    assert bugs.exclude(workaround="").count() > 5
    assert bugs.filter(status=ClusterStatus.IN_PROGRESS, fix_eta__gt=END.date()).count() > 5


@pytest.mark.django_db
def test_cluster_counters_match_their_tickets(demo):
    real = {
        row["cluster"]: row
        for row in Ticket.objects.exclude(cluster=None)
        .values("cluster")
        .annotate(n=Count("id"), first=Min("reported_at"), last=Max("reported_at"))
    }
    for cluster in BugCluster.objects.all():
        row = real.get(cluster.pk, {"n": 0, "first": None, "last": None})
        assert (cluster.ticket_count, cluster.first_reported_at, cluster.last_reported_at) == (
            row["n"],
            row["first"],
            row["last"],
        ), cluster.title
    assert sum(c.ticket_count > 20 for c in BugCluster.objects.filter(kind=ClusterKind.BUG)) >= 30


@pytest.mark.django_db
def test_history_is_imported_and_the_newest_tickets_wait_for_the_engine(demo):
    cutoff = END - timedelta(hours=UNASSIGNED_HOURS)
    waiting = Ticket.objects.filter(created_at__gte=cutoff)
    assert waiting.count() > 30
    assert not waiting.exclude(cluster=None).exists()
    assert not waiting.exclude(cluster_assigned_at=None).exists()
    assert Ticket.objects.filter(cluster_assigned_at=None).count() == waiting.count()
    linked = Ticket.objects.exclude(cluster=None)
    assert linked.count() > TICKETS / 2
    assert set(linked.values_list("assignment_source", flat=True)) == {AssignmentSource.IMPORT}
    assert linked.first().assignment_reasons == [IMPORT_REASON]


@pytest.mark.django_db
def test_fixed_bugs_cover_every_true_effect_with_room_to_measure(demo):
    assert set(DEMO_FIX_EFFECTS.values()) == {
        demo_bugs.COMPLETE,
        demo_bugs.EFFECTIVE,
        demo_bugs.PARTIAL,
        demo_bugs.PARTIAL_GRADUAL,
        demo_bugs.FAILED,
        demo_bugs.REGRESSION,
        demo_bugs.COMPANY_DIP,
    }
    first = Ticket.objects.aggregate(first=Min("reported_at"))["first"]
    cutoff = END - timedelta(hours=UNASSIGNED_HOURS)
    for key in DEMO_FIX_EFFECTS:
        deployed = cluster_of(key).fix_deployed_at
        assert deployed is not None, key
        assert deployed - timedelta(days=30) > first and deployed + timedelta(days=30) < cutoff, key
        assert ClusterEvent.objects.filter(cluster__title=TITLES[key], kind=ClusterEvent.Kind.FIX_DEPLOYED).exists()
    assert cluster_of("login-okta-sso-loop").status == ClusterStatus.IN_PROGRESS  # it came back
    assert (
        not BugCluster.objects.filter(fix_deployed_at__isnull=False)
        .exclude(title__in=[TITLES[k] for k in DEMO_FIX_EFFECTS])
        .exists()
    )


def window_counts(key: str, days: int = 30, offset: int = 0) -> tuple[int, int]:
    cluster = cluster_of(key)
    deployed = cluster.fix_deployed_at
    before = cluster.tickets.filter(reported_at__gte=deployed - timedelta(days=days), reported_at__lt=deployed)
    after = cluster.tickets.filter(
        reported_at__gte=deployed + timedelta(days=offset), reported_at__lt=deployed + timedelta(days=offset + days)
    )
    return before.count(), after.count()


@pytest.mark.django_db
def test_true_fix_effects_show_in_thirty_days_of_ticket_volume(demo):
    ratio = {}
    for key in DEMO_FIX_EFFECTS:
        before, after = window_counts(key)
        assert before >= 15, key
        ratio[DEMO_FIX_EFFECTS[key]] = after / before
    assert ratio[demo_bugs.COMPLETE] < 0.15
    assert ratio[demo_bugs.EFFECTIVE] < 0.4
    assert 0.25 < ratio[demo_bugs.PARTIAL] < 0.75
    assert 0.3 < ratio[demo_bugs.PARTIAL_GRADUAL] < 0.9
    assert ratio[demo_bugs.FAILED] > 0.7
    assert ratio[demo_bugs.COMPANY_DIP] > 0.6
    before, first_week = window_counts("login-okta-sso-loop", days=7)
    _, later = window_counts("login-okta-sso-loop", days=14, offset=10)
    assert first_week < 0.4 * before and later > 1.2 * before  # two weeks later vs one week before


def test_expected_rates_carry_each_effect_exactly():
    calendar = Calendar(END)
    expected = {"complete": 0.05, "effective": 0.2, "partial": 0.5, "failed": 1.0, "company_dip": 1.0}
    for bug in RECURRING_BUGS:
        if not bug.fix_effect:
            continue
        fixed = daily_rates([Stream(bug.key, "recurring", 1.0, bug=bug)], calendar, RECURRING_BUGS)[0]
        unfixed_bug = dataclasses.replace(bug, fix_effect=None)
        unfixed = daily_rates([Stream(bug.key, "recurring", 1.0, bug=unfixed_bug)], calendar, RECURRING_BUGS)[0]
        change = fixed / unfixed
        start = calendar.effect_start_day(bug.fix_days_ago)
        assert change[start - 1] == 1.0, bug.key
        if bug.fix_effect in expected:
            assert change[start + 21] == pytest.approx(expected[bug.fix_effect]), bug.key
        elif bug.fix_effect == demo_bugs.PARTIAL_GRADUAL:
            assert change[start] > 0.9 and change[start + 7] == pytest.approx(0.71, abs=0.02)
            assert change[start + 21] == pytest.approx(0.5)
        else:
            assert change[start + 2] == pytest.approx(0.1) and change[start + 10] == pytest.approx(1.05)
    # The company-wide dip: every stream, in the week after the dip deploy.
    dip = next(b for b in RECURRING_BUGS if b.fix_effect == demo_bugs.COMPANY_DIP)
    start = calendar.effect_start_day(dip.fix_days_ago)
    praise = daily_rates([Stream("other:praise", "praise", 1.0)], calendar, RECURRING_BUGS)[0]
    assert praise[start + 2] == pytest.approx(0.5 * praise[start - 5] * (1 + 0.3 * 7 / DAYS / 0.85), rel=0.02)


@pytest.mark.django_db
def test_role_users_sign_in_with_the_demo_password(demo, client):
    expected = {"agent": Role.AGENT, "lead": Role.PRODUCT_LEAD, "csm": Role.CUSTOMER_SUCCESS, "admin": Role.ADMIN}
    User = get_user_model()
    for username, role in expected.items():
        user = User.objects.get(username=username)
        assert user.groups.filter(name=role).exists()
        assert user.first_name and user.last_name
        assert client.login(username=username, password="demo-password"), username
        client.logout()
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert User.objects.filter(groups__name=Role.AGENT).count() >= 4
    assert User.objects.filter(groups__name=Role.PRODUCT_LEAD).count() == 2
    assert not client.login(username="agent", password="password")


@pytest.mark.django_db
def test_every_stored_evidence_passes_validation(demo):
    fields = {t.pk: list(t.fields.all()) for t in TicketType.objects.prefetch_related("fields")}
    checked = 0
    for ticket in Ticket.objects.exclude(ticket_type=None).only("ticket_type_id", "evidence").iterator():
        result = evidence_validate(fields=fields[ticket.ticket_type_id], values=ticket.evidence)
        assert result.values == ticket.evidence
        checked += 1
    assert checked > TICKETS / 2


@pytest.mark.django_db
def test_demo_agent_has_reports_and_an_open_question(demo, client):
    agent = get_user_model().objects.get(username="agent")
    mine = Ticket.objects.filter(agent=agent)
    assert mine.count() > 0.2 * TICKETS
    question = ClusterEvent.objects.get(kind=ClusterEvent.Kind.QUESTION, ticket__agent=agent)
    assert question.cluster.status == ClusterStatus.NEEDS_INFO
    assert question.data["asked_user_id"] == agent.pk
    assert question.actor.groups.filter(name=Role.PRODUCT_LEAD).exists()
    assert ClusterEvent.objects.filter(kind=ClusterEvent.Kind.ANSWER, actor=agent).exists()
    assert ClusterEvent.objects.filter(kind=ClusterEvent.Kind.RESPONSE).count() > 30
    client.login(username="agent", password="demo-password")
    page = client.get("/").content.decode()
    assert "Welcome, Alex Morgan" in page
    latest = mine.order_by("-reported_at").first()
    assert latest.subject.replace("'", "&#x27;").replace('"', "&quot;") in page


@pytest.mark.django_db
def test_customer_success_sees_at_risk_accounts_with_reasons_and_requests_with_revenue(demo):
    from tickets.feedback.requests import feature_request_list
    from triage.accounts.models import AccountHealth, Handoff

    csm = get_user_model().objects.get(username="csm")
    at_risk = AccountHealth.objects.filter(at_risk=True, customer__csm_owner=csm)
    assert at_risk.count() >= 3
    triggers = {s["trigger"] for health in at_risk for s in health.signals}
    assert {"churn_language", "executive_complaint", "champion_departure", "repeated_escalations"} <= triggers
    assert all(s["evidence"] for health in at_risk for s in health.signals)
    # Each account at risk now was handed to its CSM on the day it became so; older risks keep their handoffs.
    handed = Handoff.objects.filter(kind="at_risk", csm=csm)
    assert set(at_risk.values_list("customer_id", flat=True)) <= set(handed.values_list("customer_id", flat=True))
    assert not handed.filter(sent_at=None).exists()
    assert Handoff.objects.filter(kind="expansion").exists()
    requests = list(feature_request_list().order_by("-revenue"))
    assert requests[0].revenue > requests[-1].revenue and requests[0].customers > 5
    assert all(r.revenue > 0 for r in requests if r.customers)  # each request someone asked for has revenue
    assert [r.revenue for r in requests] == sorted((r.revenue for r in requests), reverse=True)
    assert requests[0].decision or any(r.decision == "planned" for r in requests)


@pytest.mark.django_db
def test_every_feedback_kind_carries_its_own_evidence(demo):
    expected = {
        "ux_feedback": "stuck_at",
        "documentation_gap": "missing",
        "at_risk_signal": "customer_words",
        "praise": "may_we_use_it",
        "competitive_intel": "competitor",
        "feature_request": "use_case",
    }
    for kind, key in expected.items():
        tickets = Ticket.objects.filter(feedback_kind=kind)
        assert tickets.exists() and not tickets.filter(ticket_type=None).exists(), kind
        assert all(key in t.evidence for t in tickets.only("evidence")), kind
