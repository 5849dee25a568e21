"""The review's feature-requests-trending and at-risk-accounts sections on hand-built weeks in New York time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.review.helpers import LAST_MONDAY, NOW, THIS_MONDAY, file, handoff_at, local, rollup
from tests.tickets.factories import ClusterFactory, CustomerFactory
from tickets.models import ClusterKind, ClusterStatus, FeatureRequestDecision, Segment
from triage.accounts.models import Handoff, HandoffStatus
from triage.review.selectors.accounts import at_risk_accounts
from triage.review.selectors.requests import feature_requests_trending
from triage.review.weeks import week_current

pytestmark = pytest.mark.django_db
SUNDAY_LATE = local(LAST_MONDAY + timedelta(days=6), 23, 30)  # 03:30 UTC on Monday: still last week here
MONDAY_EARLY = local(THIS_MONDAY, 0, 30)
REQUEST = {"kind": "feature_request", "type_key": "feature_request"}


def request(title: str, **fields):
    return ClusterFactory(title=title, kind=ClusterKind.FEATURE_REQUEST, **fields)


def test_trending_requests_count_the_local_week_against_the_same_days_of_last_week(review_now, product_lead):
    big = CustomerFactory(name="Globex", segment=Segment.ENTERPRISE, mrr=9000)
    small = CustomerFactory(name="Initech", segment=Segment.SMB, mrr=500)
    scim = request("SCIM provisioning")
    dark = request("Dark mode")
    quiet = request("Gantt charts")
    merged = request("Old duplicate request", status=ClusterStatus.MERGED)
    bug = ClusterFactory(title="Checkout fails")
    file(scim, [MONDAY_EARLY], customer=big, evidence={"customer_words": "Without SCIM we fail our audit."}, **REQUEST)
    file(scim, [local(THIS_MONDAY + timedelta(days=1), 9)], customer=big, **REQUEST)
    file(scim, [local(THIS_MONDAY + timedelta(days=2), 8)], customer=small, description="We add users by hand.",
         **REQUEST)  # fmt: skip
    file(scim, [local(THIS_MONDAY + timedelta(days=2), 10)], **REQUEST)  # nobody's words: not the quote
    file(scim, [SUNDAY_LATE, local(LAST_MONDAY, 9)], **REQUEST)  # Sunday night is last week, after its Wednesday
    file(dark, [local(THIS_MONDAY, 11)], customer=small, **REQUEST)
    file(dark, [local(LAST_MONDAY + timedelta(days=d), 11) for d in range(3)], **REQUEST)
    file(quiet, [local(LAST_MONDAY, 11), SUNDAY_LATE], **REQUEST)
    file(merged, [local(THIS_MONDAY, 11 + h) for h in range(6)], **REQUEST)
    file(bug, [local(THIS_MONDAY, 11 + h) for h in range(9)])
    FeatureRequestDecision.objects.create(
        cluster=scim,
        decision="rejected",
        reason="Not now.",
        decided_at=NOW - timedelta(days=30),
        decided_by=product_lead,
    )
    FeatureRequestDecision.objects.create(cluster=scim, decision="planned", quarter="2027-Q1", decided_at=NOW)
    rollup()

    section = feature_requests_trending(week_current())

    assert [row.cluster.title for row in section.rows] == ["SCIM provisioning", "Dark mode"]
    scim_row, dark_row = section.rows
    assert (scim_row.tickets, scim_row.previous, scim_row.change) == (4, 1, {"diff": 3, "pct": 300})
    assert (dark_row.tickets, dark_row.previous, dark_row.change) == (1, 3, {"diff": -2, "pct": -67})
    assert (scim_row.customers, scim_row.mrr) == (2, 9500)  # Globex asked twice and counts once
    assert scim_row.decision == "Planned for 2027-Q1" and dark_row.decision == ""
    assert scim_row.quote == {"text": "We add users by hand.", "customer": "Initech", "segment": "SMB"}

    last_week = feature_requests_trending(week_current().previous)
    assert [(row.cluster.title, row.tickets) for row in last_week.rows] == [
        ("Dark mode", 3),
        ("SCIM provisioning", 2),  # a tie goes to the older request
        ("Gantt charts", 2),
    ]
    scim_last = last_week.rows[1]
    assert scim_last.quote is None and scim_last.customers == 0


def test_no_request_asked_this_week_is_an_empty_section(review_now):
    file(request("Gantt charts"), [SUNDAY_LATE], **REQUEST)
    rollup()
    assert feature_requests_trending(week_current()).rows == []


def test_at_risk_accounts_are_those_flagged_this_week_biggest_first_with_the_bugs_hitting_them(review_now, csm):
    big = CustomerFactory(name="Globex", segment=Segment.ENTERPRISE, mrr=9000, csm_owner=csm)
    small = CustomerFactory(name="Initech", segment=Segment.SMB, mrr=500)
    older = CustomerFactory(name="Umbrella", mrr=20000)
    p2 = ClusterFactory(title="Export times out", priority="P2")
    p1 = ClusterFactory(title="Checkout fails", priority="P1")
    fixed = ClusterFactory(title="Old login bug", priority="P1", status=ClusterStatus.FIXED)
    file(p2, [local(LAST_MONDAY, 9), local(LAST_MONDAY, 10)], customer=big)
    file(p1, [local(THIS_MONDAY, 9)], customer=big)
    file(fixed, [local(THIS_MONDAY, 9)], customer=big)
    file(request("Dark mode"), [local(THIS_MONDAY, 9)], customer=big, **REQUEST)
    handoff_at(small, MONDAY_EARLY, reasons=[("Churn or cancellation language", "in 1 ticket")])
    handoff_at(
        big,
        local(THIS_MONDAY + timedelta(days=1), 14),
        reasons=[("Executive complaint", "in 1 ticket"), ("Competitor mentioned", "Asana named in 2 tickets")],
        status=HandoffStatus.INTERVENED,
        intervention="Called their COO.",
    )
    handoff_at(older, SUNDAY_LATE, reasons=[("Champion departure", "in 1 ticket")])  # last week, after its Wednesday
    handoff_at(older, local(LAST_MONDAY, 10), reasons=[("Champion departure", "in 1 ticket")])
    handoff_at(small, local(THIS_MONDAY, 11), kind="expansion", reasons=[("Expansion interest", "in 1 ticket")])

    section = at_risk_accounts(week_current())

    assert [row.customer.name for row in section.rows] == ["Globex", "Initech"]
    assert (section.total, section.previous, section.change) == (2, 1, {"diff": 1, "pct": 100})
    globex = section.rows[0]
    assert globex.reasons == ["Executive complaint: in 1 ticket", "Competitor mentioned: Asana named in 2 tickets"]
    assert globex.customer.csm_owner == csm and globex.is_open and globex.handoff.intervention == "Called their COO."
    assert globex.open_bugs == 2 and globex.worst_bug == {"id": p1.pk, "title": "Checkout fails", "priority": "P1"}
    assert section.rows[1].open_bugs == 0 and section.rows[1].worst_bug is None

    last_week = at_risk_accounts(week_current().previous)
    assert [row.customer.name for row in last_week.rows] == ["Umbrella", "Umbrella"] and last_week.total == 2


def test_the_counts_come_even_when_more_accounts_are_flagged_than_shown_or_none_this_week(review_now):
    for i in range(4):
        handoff_at(CustomerFactory(name=f"Account {i}", mrr=1000 * i), local(THIS_MONDAY, 9 + i))
    handoff_at(CustomerFactory(name="Last week's"), local(LAST_MONDAY, 9))
    section = at_risk_accounts(week_current(), limit=2)
    assert [row.customer.name for row in section.rows] == ["Account 3", "Account 2"]
    assert (section.total, section.previous) == (4, 1)

    Handoff.objects.filter(created_at__gte=week_current().start).delete()
    quiet = at_risk_accounts(week_current())
    assert (quiet.rows, quiet.total, quiet.previous) == ([], 0, 1)  # last week's count, though none this week
