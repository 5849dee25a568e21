"""Each section's selector on hand-built weeks in New York time: what counts in this week, what in the last."""

from __future__ import annotations

from datetime import timedelta

import pytest

from metrics.impact import Verdict
from metrics.models import FixImpact, FixVerdictChange
from slas.models import Alert, AlertKind, SlaTimer, Target, TimerState
from tests.review.helpers import LAST_MONDAY, THIS_MONDAY, file, local, rollup
from tests.tickets.factories import ClusterFactory, CustomerFactory
from tickets.models import BugCluster, ClusterKind, ClusterStatus, Segment
from triage.review.models import MeetingItem, WeekPatterns
from triage.review.selectors.common import Shared
from triage.review.selectors.fixes import fixes_changed
from triage.review.selectors.meeting import meeting_record
from triage.review.selectors.new_bugs import new_bugs
from triage.review.selectors.patterns import emerging_patterns
from triage.review.selectors.slas import sla_status
from triage.review.selectors.top import top_clusters
from triage.review.selectors.trends import ticket_trends
from triage.review.services import week_patterns_refresh
from triage.review.weeks import week_current

pytestmark = pytest.mark.django_db
SUNDAY_LATE = local(LAST_MONDAY + timedelta(days=6), 23, 30)  # 03:30 UTC on Monday: still last week here
MONDAY_EARLY = local(THIS_MONDAY, 0, 30)


def test_top_clusters_count_the_local_week_and_compare_with_the_same_days_of_last_week(review_now):
    big = CustomerFactory(name="Globex", segment=Segment.ENTERPRISE, mrr=9000)
    small = CustomerFactory(name="Initech", mrr=500)
    first = ClusterFactory(title="Checkout fails")
    tie = ClusterFactory(title="Sync drops tasks")
    third = ClusterFactory(title="Export is slow")
    feature = ClusterFactory(title="Dark mode please", kind=ClusterKind.FEATURE_REQUEST)
    merged = ClusterFactory(title="Old duplicate", status=ClusterStatus.MERGED)
    file(first, [MONDAY_EARLY, local(THIS_MONDAY + timedelta(days=1), 9)], customer=small)
    file(
        first,
        [local(THIS_MONDAY + timedelta(days=1), 10)],
        customer=big,
        description="I can't pay, the card form spins.",
    )
    file(first, [local(THIS_MONDAY + timedelta(days=2), 8)], customer=big)
    file(first, [SUNDAY_LATE, local(LAST_MONDAY, 9), local(LAST_MONDAY + timedelta(days=2), 9)])
    file(tie, [local(THIS_MONDAY + timedelta(days=h % 3), 9 + h) for h in range(4)])
    file(third, [local(THIS_MONDAY, 11 + h) for h in range(3)])
    file(third, [local(LAST_MONDAY + timedelta(days=1), 11 + h) for h in range(3)])
    file(feature, [local(THIS_MONDAY, 11 + h) for h in range(6)], kind="feature_request", type_key="feature_request")
    file(merged, [local(THIS_MONDAY, 11 + h) for h in range(6)])
    rollup()

    section = top_clusters(week_current())

    assert [row.cluster.title for row in section.rows] == ["Checkout fails", "Sync drops tasks", "Export is slow"]
    top = section.rows[0]
    assert (top.tickets, top.previous) == (4, 2)  # Sunday 23:30 belongs to last week, outside Mon-Wed
    assert top.change == {"diff": 2, "pct": 100}
    assert top.weekly[-2:] == [3, 4] and len(top.weekly) == 8
    assert top.customers == 2 and top.mrr == 9500 and top.segments == {"Enterprise": 1, "SMB": 1}
    assert top.examples[0]["excerpt"] == "I can't pay, the card form spins." and top.examples[0]["customer"] == "Globex"
    assert len(top.examples) == 3
    assert section.rows[2].change == {"diff": 0, "pct": 0}


def test_last_week_is_counted_whole_when_it_is_the_week_reviewed(review_now):
    cluster = ClusterFactory(title="Checkout fails")
    file(cluster, [SUNDAY_LATE, local(LAST_MONDAY, 9), MONDAY_EARLY])
    rollup()
    section = top_clusters(week_current().previous)
    assert [(row.tickets, row.previous) for row in section.rows] == [(2, 0)]


def test_new_bugs_are_bug_clusters_opened_this_week_with_their_reproduction_evidence(review_now):
    fresh = ClusterFactory(title="Timesheet export drops entries")
    older = ClusterFactory(title="Opened on Sunday night")
    idea = ClusterFactory(title="Dark mode", kind=ClusterKind.FEATURE_REQUEST)
    BugCluster.objects.filter(pk__in=[fresh.pk, idea.pk]).update(created_at=MONDAY_EARLY)
    BugCluster.objects.filter(pk=older.pk).update(created_at=SUNDAY_LATE)
    steps = {
        "steps_to_reproduce": "1. Log 23:00-02:00\n2. Export",
        "expected_behavior": "Every entry",
        "actual_behavior": "Entries after midnight are missing",
        "browser": "Chrome 122",
    }
    tickets = file(fresh, [MONDAY_EARLY, local(THIS_MONDAY, 9)], evidence=steps)
    tickets[1].evidence_completeness = 0.5
    tickets[1].evidence = {"browser": "Firefox"}
    tickets[1].save()
    BugCluster.objects.filter(pk=fresh.pk).update(ticket_count=2)

    section = new_bugs(week_current())

    assert [row.cluster.title for row in section.rows] == ["Timesheet export drops entries"]
    row = section.rows[0]
    assert section.total == 1 and row.tickets == 2 and row.completeness == pytest.approx(0.75)
    assert row.repro == [
        ("Steps to reproduce", "1. Log 23:00-02:00 2. Export"),
        ("Expected", "Every entry"),
        ("Actual", "Entries after midnight are missing"),
    ]
    assert row.evidence == [("Browser", "Chrome 122")]


def _fix(title: str) -> FixImpact:
    cluster = ClusterFactory(title=title, status=ClusterStatus.FIXED, fix_deployed_at=local(LAST_MONDAY, 17))
    return FixImpact.objects.create(cluster=cluster, deployed_at=cluster.fix_deployed_at, deploy_day=LAST_MONDAY)


def _change(fix, at, verdict, provisional="", previous="", previous_provisional="", change_pct=None):
    return FixVerdictChange.objects.create(
        fix_impact=fix,
        measured_at=at,
        verdict=verdict,
        provisional_verdict=provisional,
        previous_verdict=previous,
        previous_provisional_verdict=previous_provisional,
        change_pct=change_pct,
        days_observed=7,
    )


def test_fixes_are_those_whose_verdict_was_reached_or_changed_this_week(review_now):
    failed, moved, earlier, thin = _fix("Lockout"), _fix("Renewals"), _fix("Reset links"), _fix("Rare bug")
    _change(failed, MONDAY_EARLY, Verdict.PENDING, Verdict.NO_CHANGE, change_pct=-3)
    _change(moved, local(LAST_MONDAY + timedelta(days=3), 1), Verdict.PENDING, Verdict.PARTIAL)
    _change(moved, local(THIS_MONDAY, 1), Verdict.PENDING, Verdict.EFFECTIVE, Verdict.PENDING, Verdict.PARTIAL)
    _change(
        moved, local(THIS_MONDAY + timedelta(days=1), 1), Verdict.EFFECTIVE, "", Verdict.PENDING, Verdict.EFFECTIVE, -82
    )
    _change(earlier, SUNDAY_LATE, Verdict.COMPLETE, change_pct=-95)
    _change(thin, local(THIS_MONDAY, 2), Verdict.INSUFFICIENT_DATA)

    rows = fixes_changed(week_current()).rows

    assert [row.cluster.title for row in rows] == ["Lockout", "Renewals"]  # the failed fix first
    lockout, renewals = rows
    assert lockout.failed and lockout.can_reopen and lockout.provisional and lockout.previous == ""
    assert (renewals.previous, renewals.verdict, renewals.provisional) == (Verdict.PARTIAL, Verdict.EFFECTIVE, False)
    assert renewals.worked and renewals.change_pct == -82


def _alert(cluster, kind, created, due=None, target=Target.ACKNOWLEDGMENT, **payload):
    alert = Alert.objects.create(
        cluster=cluster,
        kind=kind,
        target=target if kind == AlertKind.BREACH else "",
        message=f"{kind} on {cluster.title}",
        payload={**payload, **({"due_at": due.isoformat()} if due else {})},
        due_at=due,  # for a breach: the deadline it missed (the sweep writes it so, also when it finds it late)
    )
    Alert.objects.filter(pk=alert.pk).update(created_at=created)
    return alert


def test_sla_breaches_are_those_that_happened_this_week_not_the_backlog(review_now):
    cluster, backlog, old = ClusterFactory(title="Apple Pay fails"), ClusterFactory(title="Old P1"), ClusterFactory()
    _alert(
        cluster,
        AlertKind.BREACH,
        local(THIS_MONDAY + timedelta(days=1), 9, 1),
        local(THIS_MONDAY + timedelta(days=1), 9),
    )
    # The sweep found this one on Monday (after an outage), but it breached three weeks ago.
    _alert(backlog, AlertKind.BREACH, MONDAY_EARLY, local(LAST_MONDAY - timedelta(days=14), 9))
    _alert(old, AlertKind.BREACH, SUNDAY_LATE + timedelta(minutes=31), SUNDAY_LATE)  # fired Monday, due Sunday
    SlaTimer.objects.create(
        cluster=cluster, target=Target.RESOLUTION, state=TimerState.RUNNING, target_seconds=3600,
        opened_at=MONDAY_EARLY, deadline_at=review_now + timedelta(days=2), running_since=MONDAY_EARLY,
    )  # fmt: skip
    SlaTimer.objects.create(
        cluster=backlog, target=Target.RESOLUTION, state=TimerState.RUNNING, target_seconds=3600,
        opened_at=MONDAY_EARLY, deadline_at=review_now + timedelta(days=9), running_since=MONDAY_EARLY,
    )  # fmt: skip
    week = week_current()
    shared = Shared(week=week)

    section = sla_status(week, shared)
    shared.finish()

    assert [b.cluster.title for b in section.breaches] == ["Apple Pay fails"]
    assert section.breaches_before == 1
    assert [timer.cluster.title for timer in section.due] == ["Apple Pay fails"]


def test_emerging_patterns_read_the_week_alerts_and_the_stored_snapshot(review_now):
    spiking, crossing, before = ClusterFactory(title="Spiking"), ClusterFactory(title="Crossing"), ClusterFactory()
    _alert(spiking, AlertKind.SPIKE, local(THIS_MONDAY, 9), ratio=4.2, spike={"count": 30, "window": "24h"})
    _alert(crossing, AlertKind.THRESHOLD, local(THIS_MONDAY, 10), count=21, window_days=7)
    _alert(before, AlertKind.SPIKE, SUNDAY_LATE, ratio=3.0)
    pattern = {"text": "iOS 17.2 + biometric", "count": 20, "lift": 5.0, "ticket_type": "Login issue"}
    WeekPatterns.objects.create(
        week=THIS_MONDAY, window_end=review_now, computed_at=review_now, patterns=[pattern], recent_tickets=90
    )
    week = week_current()

    section = emerging_patterns(week, Shared(week=week))

    assert [(f.cluster.title, f.ratio, f.count, f.window) for f in section.spiking] == [("Spiking", 4.2, 30, "24h")]
    assert [(f.cluster.title, f.count, f.window) for f in section.crossed] == [("Crossing", 21, "7 days")]
    assert section.patterns == [pattern]
    assert emerging_patterns(week.previous, Shared(week=week.previous)).snapshot is None


def test_ticket_trends_compare_totals_kinds_and_the_feedback_share(review_now):
    file(None, [local(THIS_MONDAY + timedelta(days=d % 3), 9) for d in range(18)])
    file(None, [local(THIS_MONDAY, 10), local(THIS_MONDAY, 11)], kind="feature_request", type_key="feature_request")
    file(None, [local(LAST_MONDAY + timedelta(days=d % 3), 9) for d in range(10)])
    file(None, [local(LAST_MONDAY + timedelta(days=5), 9)])  # last Saturday: not in Monday-Wednesday
    rollup()
    week = week_current()
    week_patterns_refresh(week=week)  # the hourly task counts the week's tickets per type

    section = ticket_trends(week, Shared(week=week))

    assert (section.total, section.previous, section.bugs, section.other) == (20, 10, 18, 2)
    assert section.change == {"diff": 10, "pct": 100}
    assert section.feedback_share == pytest.approx(0.1) and section.feedback_on_target
    assert section.top_types == [("Feature bug", 18), ("Feature request", 2)]
    assert ticket_trends(week.previous, Shared(week=week.previous)).top_types == []  # not counted yet
    assert section.weekly[-2:] == [11, 20]


def test_the_meeting_record_opens_with_last_week_action_items(review_now, product_lead):
    last = MeetingItem.objects.create(week=LAST_MONDAY, kind="action", text="Call Globex", created_by=product_lead)
    MeetingItem.objects.create(week=LAST_MONDAY, kind="decision", text="P1 until refunds work")
    MeetingItem.objects.create(week=THIS_MONDAY, kind="decision", text="Ship behind a flag")
    older = MeetingItem.objects.create(week=LAST_MONDAY - timedelta(days=7), kind="action", text="Two weeks ago")

    section = meeting_record(week_current())

    assert [i.pk for i in section.last_week_actions] == [last.pk] and section.last_week_open == 1
    assert [i.text for i in section.decisions] == ["Ship behind a flag"] and section.actions == []
    assert older not in section.last_week_actions


def test_the_busiest_bug_clusters_are_found_when_busier_clusters_of_other_kinds_crowd_the_candidates(
    review_now, monkeypatch
):
    monkeypatch.setattr("metrics.selectors.BUSIEST_CANDIDATES", 1)
    ideas = [ClusterFactory(title=f"Idea {i}", kind=ClusterKind.FEATURE_REQUEST) for i in range(2)]
    bug = ClusterFactory(title="Quiet bug")
    for idea in ideas:
        file(idea, [local(THIS_MONDAY, 9 + h) for h in range(5)], kind="feature_request", type_key="feature_request")
    file(bug, [local(THIS_MONDAY, 9)])
    rollup()
    assert [row.cluster.title for row in top_clusters(week_current(), limit=1).rows] == ["Quiet bug"]
