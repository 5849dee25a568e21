"""Writes of the review: triage through the cluster services (story, guards, all or nothing) and the meeting."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.review.helpers import LAST_MONDAY, THIS_MONDAY
from tests.tickets.factories import ClusterFactory
from tickets.models import BugCluster, ClusterEvent, ClusterStatus
from triage.review import services
from triage.review.models import MeetingItem
from triage.review.weeks import week_current

pytestmark = pytest.mark.django_db
E = ClusterEvent.Kind


def story(cluster):
    return list(ClusterEvent.objects.filter(cluster=cluster).order_by("created_at", "id"))


def test_a_row_triage_goes_through_the_cluster_services_and_is_told_in_the_story(review_now, product_lead):
    cluster = ClusterFactory(title="Checkout fails", priority="P3")
    services.review_cluster_triage(
        cluster=cluster,
        by=product_lead,
        week=week_current(),
        changes={
            "priority": "P1",
            "owner": product_lead,
            "status": ClusterStatus.IN_PROGRESS,
            "fix_eta": date(2026, 3, 20),
            "workaround": "Pay by invoice meanwhile.",
        },
        note="Engineering starts today.",
    )
    cluster.refresh_from_db()
    assert (cluster.priority, cluster.owner, cluster.status) == ("P1", product_lead, ClusterStatus.IN_PROGRESS)
    assert cluster.fix_eta == date(2026, 3, 20) and cluster.workaround == "Pay by invoice meanwhile."
    assert cluster.acknowledged_at is not None  # a product update acknowledges
    events = {e.kind: e for e in story(cluster)}
    assert events[E.PRIORITY_CHANGED].data == {"from": "P3", "to": "P1"}
    assert events[E.OWNER_CHANGED].data == {"from": None, "to": product_lead.pk}
    assert events[E.STATUS_CHANGED].data == {"from": "new", "to": "in_progress"}
    assert events[E.STATUS_CHANGED].message == "Engineering starts today."
    assert events[E.WORKAROUND].message == "Pay by invoice meanwhile."
    assert all(e.actor == product_lead for e in events.values())


def test_a_refused_status_changes_nothing_else_of_the_action(review_now, product_lead):
    cluster = ClusterFactory(title="Fixed, not confirmed", status=ClusterStatus.FIXED, priority="P2")
    before = len(story(cluster))
    with pytest.raises(ValidationError) as refused:
        services.review_cluster_triage(
            cluster=cluster,
            by=product_lead,
            week=week_current(),
            changes={"priority": "P1", "workaround": "Retry.", "status": ClusterStatus.VERIFIED},
        )
    assert "Support must confirm" in refused.value.message_dict["status"][0]
    cluster.refresh_from_db()
    assert (cluster.priority, cluster.workaround, cluster.status) == ("P2", "", ClusterStatus.FIXED)
    assert len(story(cluster)) == before


def test_a_fix_eta_in_the_past_is_refused_naming_the_field(review_now, product_lead):
    cluster = ClusterFactory()
    with pytest.raises(ValidationError) as refused:
        services.review_cluster_triage(
            cluster=cluster, by=product_lead, week=week_current(), changes={"fix_eta": date(2026, 3, 1)}
        )
    assert "cannot be in the past" in refused.value.message_dict["fix_eta"][0]
    with pytest.raises(ValidationError, match="priority cannot be removed"):
        services.review_cluster_triage(cluster=cluster, by=product_lead, week=week_current(), changes={"priority": ""})


def test_acknowledge_sets_priority_and_acknowledges_in_one_step(review_now, product_lead):
    cluster = ClusterFactory()
    services.review_cluster_acknowledge(cluster=cluster, by=product_lead, week=week_current(), priority="P2")
    cluster.refresh_from_db()
    assert (cluster.status, cluster.priority) == (ClusterStatus.ACKNOWLEDGED, "P2")
    assert [e.kind for e in story(cluster)] == [E.PRIORITY_CHANGED, E.STATUS_CHANGED]


def test_ask_mark_fixed_and_reopen(review_now, product_lead):
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    services.review_cluster_ask(cluster=cluster, by=product_lead, question="Which browser?")
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.NEEDS_INFO
    assert story(cluster)[-1].kind == E.QUESTION and story(cluster)[-1].message == "Which browser?"
    with pytest.raises(ValidationError, match="Only a fixed cluster can be reopened"):
        services.review_cluster_reopen(cluster=cluster, by=product_lead, week=week_current())
    with pytest.raises(ValidationError, match="cannot be in the future"):
        services.review_cluster_mark_fixed(
            cluster=cluster, by=product_lead, deployed_at=timezone.now() + timedelta(hours=1)
        )
    deployed = timezone.now() - timedelta(days=2)
    services.review_cluster_mark_fixed(cluster=cluster, by=product_lead, deployed_at=deployed)
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.FIXED and cluster.fix_deployed_at == deployed
    services.review_cluster_reopen(cluster=cluster, by=product_lead, week=week_current(), verdict_label="No change")
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.IN_PROGRESS
    last = story(cluster)[-1]
    assert last.data == {"from": "fixed", "to": "in_progress"}
    assert last.message == "Reopened in the weekly review (2026-W11): the fix did not work (measured: no change)."


def test_merging_a_duplicate_moves_its_tickets_and_can_be_refused(review_now, product_lead):
    keep, dup = ClusterFactory(title="Checkout fails"), ClusterFactory(title="Payment form spins")
    services.review_duplicate_merge(cluster=keep, duplicate=dup, by=product_lead, week=week_current())
    dup.refresh_from_db()
    assert dup.status == ClusterStatus.MERGED and dup.merged_into == keep
    assert story(keep)[-1].kind == E.CORRECTION and f"Merged #{dup.pk} into #{keep.pk}" in story(keep)[-1].message
    with pytest.raises(ValidationError, match="already merged"):
        services.review_duplicate_merge(cluster=keep, duplicate=dup, by=product_lead, week=week_current())


def test_meeting_items_are_recorded_done_and_carried_over_once(review_now, product_lead):
    week = week_current()
    last = week.previous
    item = services.meeting_item_add(
        week=last, kind="action", text="Call Globex", by=product_lead, owner=product_lead, due_date=LAST_MONDAY
    )
    assert item.week == LAST_MONDAY and not item.is_done
    carried = services.meeting_item_carry_over(item=item, by=product_lead, week=week)
    assert (carried.week, carried.text, carried.carried_from) == (THIS_MONDAY, "Call Globex", item)
    assert carried.due_date is None  # last week's due date is over; set a new one
    with pytest.raises(ValidationError, match="already carried over"):
        services.meeting_item_carry_over(item=item, by=product_lead, week=week)
    services.meeting_item_set_done(item=carried, by=product_lead, done=True)
    assert MeetingItem.objects.get(pk=carried.pk).done_by == product_lead
    with pytest.raises(ValidationError, match="nothing to carry over"):
        services.meeting_item_carry_over(item=carried, by=product_lead, week=week.next)


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"kind": "action", "text": "  "}, "text", "cannot be empty"),
        ({"kind": "action", "text": "x" * 2001}, "text", "At most 2,000 characters"),
        ({"kind": "plan", "text": "Do it"}, "kind", "not an item kind"),
        ({"kind": "decision", "text": "P1", "due_date": date(2026, 3, 12)}, "due_date", "A decision has no due date"),
        ({"kind": "action", "text": "Do it", "due_date": date(2026, 3, 1)}, "due_date", "cannot be before the week"),
    ],
)
def test_a_refused_meeting_item_says_which_field(review_now, product_lead, kwargs, field, says):
    with pytest.raises(ValidationError) as refused:
        services.meeting_item_add(week=week_current(), by=product_lead, **kwargs)
    assert says in refused.value.message_dict[field][0]
    assert not MeetingItem.objects.exists()
    assert BugCluster.objects.count() == 0
