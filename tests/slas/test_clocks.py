"""SLA clocks on clusters: policy matching, pause and resume, warning -> breach -> escalation, time travel."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from slas.models import Alert, Holiday, SlaPolicy, SlaTimer, Stage, Target, TimerState
from slas.services import clock_sync, timers_sweep
from tests.slas.factories import CalendarFactory, PolicyFactory
from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory, UserFactory
from tickets.clusters import services as tickets_services
from tickets.models import ClusterKind, ClusterStatus, Segment

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def timer(cluster, target=Target.ACKNOWLEDGMENT) -> SlaTimer:
    return SlaTimer.objects.get(cluster=cluster, target=target)


def sweep_at(moment):
    """Run the beat sweep at `moment`, delivering what it enqueues (tasks are eager in tests)."""
    with time_machine.travel(moment, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        return timers_sweep()


@pytest.fixture
def owner(db):
    return UserFactory(username="owner.olga", email="olga@example.com")


# --- Policy matching ------------------------------------------------------------------


@pytest.mark.django_db
def test_seeded_contract_policies_apply_in_order():
    with time_machine.travel(MONDAY_10, tick=False):
        p1 = ClusterFactory(priority="P1")
        p3 = ClusterFactory(priority="P3")
        feature = ClusterFactory(kind=ClusterKind.FEATURE_REQUEST, priority="P3")
        unprioritised = ClusterFactory()
        for c in (p1, p3, feature, unprioritised):
            clock_sync(cluster_id=c.pk)
    assert timer(p1).policy.name == "P1 - blocks revenue"
    assert timer(p1).target_seconds == 4 * 3600
    assert timer(p1).deadline_at == MONDAY_10 + timedelta(hours=4)  # 24/7
    assert timer(p1, Target.RESOLUTION).target_seconds == 24 * 3600
    assert timer(p3, Target.RESOLUTION).target_seconds == 90 * 86400
    assert timer(feature).policy.name == "Feature requests"  # earlier position than P3
    assert timer(feature).target_seconds == 7 * 86400
    assert timer(unprioritised).policy.name == "Everything else"
    assert timer(unprioritised, Target.RESOLUTION).state == TimerState.NONE


@pytest.mark.django_db
def test_first_match_wins_and_conditions_on_tickets_count():
    big = PolicyFactory(
        name="Enterprise, big money", position=1, min_segment=Segment.ENTERPRISE, min_mrr_at_stake=10000
    )
    PolicyFactory(name="Bug reports", position=2, feedback_kinds=["bug_report"], ack_minutes=60)
    cluster = ClusterFactory()
    TicketFactory(cluster=cluster, customer=CustomerFactory(segment=Segment.ENTERPRISE, mrr=6000))
    clock_sync(cluster_id=cluster.pk)
    assert timer(cluster).policy.name == "Bug reports"  # MRR at stake 6,000 is not above 10,000

    TicketFactory(cluster=cluster, customer=CustomerFactory(segment=Segment.SMB, mrr=5000))
    clock_sync(cluster_id=cluster.pk)
    assert timer(cluster).policy == big  # 11,000 at stake, highest segment enterprise

    big.is_active = False
    big.save()
    clock_sync(cluster_id=cluster.pk)
    assert timer(cluster).policy.name == "Bug reports"


# --- Warning, breach, escalation -------------------------------------------------------


@pytest.mark.django_db
def test_warning_then_breach_then_escalation_levels_each_fire_once(owner, product_lead, settings):
    settings.SLA_HEAD_OF_PRODUCT_EMAILS = ["head@example.com"]
    product_lead.email = "lee@example.com"
    product_lead.save()
    PolicyFactory(ack_minutes=240)  # 24/7: warn at 3 h, breach at 4 h, levels at +1 h, +2 h, +4 h
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = ClusterFactory(owner=owner, title="Checkout fails")
        clock_sync(cluster_id=cluster.pk)

    assert sweep_at(MONDAY_10 + timedelta(hours=2, minutes=59))["alerts"] == 0
    assert sweep_at(MONDAY_10 + timedelta(hours=3))["alerts"] == 1
    assert sweep_at(MONDAY_10 + timedelta(hours=3, minutes=30))["alerts"] == 0
    assert sweep_at(MONDAY_10 + timedelta(hours=4))["alerts"] == 1
    assert timer(cluster).breached_at == MONDAY_10 + timedelta(hours=4)
    assert sweep_at(MONDAY_10 + timedelta(hours=5))["alerts"] == 1
    assert sweep_at(MONDAY_10 + timedelta(hours=6))["alerts"] == 1
    assert sweep_at(MONDAY_10 + timedelta(hours=8))["alerts"] == 1
    assert sweep_at(MONDAY_10 + timedelta(days=3))["alerts"] == 0

    alerts = list(Alert.objects.filter(cluster=cluster).order_by("stage"))
    assert [(a.kind, a.level) for a in alerts] == [
        ("warning", 0),
        ("breach", 0),
        ("escalation", 1),
        ("escalation", 2),
        ("escalation", 3),
    ]
    assert [a.recipients for a in alerts] == [
        ["olga@example.com"],
        ["olga@example.com"],
        ["olga@example.com"],
        ["lee@example.com"],
        ["head@example.com"],
    ]
    assert all(a.sent_at for a in alerts)  # delivered by the (eager) task
    assert len(mail.outbox) == 5
    assert mail.outbox[1].subject == f"[Triage] SLA breach: acknowledgment overdue on #{cluster.pk} Checkout fails"
    # Visible on the cluster: one event per alert, and the dashboard label.
    assert cluster.events.filter(kind="alert").count() == 5
    cluster.refresh_from_db()
    assert cluster.labels == ["sla-breached:ack"]


@pytest.mark.django_db
def test_after_an_outage_the_sweep_catches_up_without_a_stale_warning(owner):
    PolicyFactory(ack_minutes=240, escalation_2_minutes=None, escalation_3_minutes=None)
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = ClusterFactory(owner=owner)
        clock_sync(cluster_id=cluster.pk)
    back = MONDAY_10 + timedelta(days=1)
    result = sweep_at(back)
    assert result["alerts"] == 1  # the breach alone; level 1 gets its hour after the breach was announced
    assert list(Alert.objects.values_list("kind", "level")) == [("breach", 0)]
    assert timer(cluster).next_fire_at == back + timedelta(hours=1)
    assert sweep_at(back + timedelta(minutes=59))["alerts"] == 0
    assert sweep_at(back + timedelta(hours=1))["alerts"] == 1
    assert list(Alert.objects.order_by("stage").values_list("kind", "level")) == [("breach", 0), ("escalation", 1)]
    assert timer(cluster).next_stage == Stage.DONE and timer(cluster).next_fire_at is None


@pytest.mark.django_db
def test_escalation_levels_of_one_breach_never_fire_at_the_same_instant(owner):
    """Even with equal delays, and however late the sweep runs, each level fires in its own sweep, in order."""
    PolicyFactory(ack_minutes=60, escalation_1_minutes=30, escalation_2_minutes=30, escalation_3_minutes=30)
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = ClusterFactory(owner=owner)
        clock_sync(cluster_id=cluster.pk)
    fired_at = []
    moment = MONDAY_10 + timedelta(days=30)
    for _ in range(200):
        if sweep_at(moment)["alerts"]:
            fired_at.append(moment)
        moment += timedelta(minutes=1)
    alerts = list(Alert.objects.order_by("created_at", "id").values_list("stage", flat=True))
    assert alerts == [Stage.BREACH, Stage.ESCALATION_1, Stage.ESCALATION_2, Stage.ESCALATION_3]
    assert len(set(fired_at)) == 4
    assert fired_at[1] - fired_at[0] == timedelta(minutes=30)


@pytest.mark.django_db
def test_acknowledging_stops_the_clock_and_removes_the_label(owner, product_lead):
    PolicyFactory(ack_minutes=60)
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = ClusterFactory(owner=owner)
        clock_sync(cluster_id=cluster.pk)
    sweep_at(MONDAY_10 + timedelta(hours=1))
    cluster.refresh_from_db()
    assert cluster.labels == ["sla-breached:ack"]
    with time_machine.travel(MONDAY_10 + timedelta(hours=1, minutes=30), tick=False):
        tickets_services.cluster_acknowledge(cluster=cluster, actor=product_lead)
        clock_sync(cluster_id=cluster.pk)
    t = timer(cluster)
    assert t.state == TimerState.MET and t.met_within is False
    assert t.elapsed_seconds == 90 * 60
    assert t.next_fire_at is None
    cluster.refresh_from_db()
    assert cluster.labels == []
    assert sweep_at(MONDAY_10 + timedelta(days=2))["alerts"] == 0


# --- Business hours, pause and resume -----------------------------------------------------


@pytest.mark.django_db
def test_business_hours_with_holiday_and_time_zone():
    calendar = CalendarFactory(time_zone="Europe/Berlin", day_start=time(9), day_end=time(17))
    Holiday.objects.create(calendar=calendar, date=date(2026, 3, 9), name="Company day")
    PolicyFactory(ack_minutes=8 * 60, calendar=calendar, warning_percent=0)
    friday_3pm_berlin = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)
    with time_machine.travel(friday_3pm_berlin, tick=False):
        cluster = ClusterFactory()
        clock_sync(cluster_id=cluster.pk)
    # 2 h on Friday, Monday is a holiday, 6 h on Tuesday: due Tuesday 15:00 Berlin = 14:00 UTC.
    assert timer(cluster).deadline_at == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert sweep_at(datetime(2026, 3, 10, 13, 59, tzinfo=UTC))["alerts"] == 0
    assert sweep_at(datetime(2026, 3, 10, 14, 0, tzinfo=UTC))["alerts"] == 1


@pytest.mark.django_db
def test_the_clock_pauses_while_waiting_on_support_and_resumes_on_answer(product_lead, agent):
    PolicyFactory(ack_minutes=60, resolution_minutes=10 * 60, warning_percent=0)
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = tickets_services.cluster_create(title="Export broken")
        clock_sync(cluster_id=cluster.pk)
    with time_machine.travel(MONDAY_10 + timedelta(hours=2), tick=False):
        tickets_services.cluster_respond(cluster=cluster, actor=product_lead, message="Which browser?", question=True)
        clock_sync(cluster_id=cluster.pk)
    paused = timer(cluster, Target.RESOLUTION)
    assert paused.state == TimerState.PAUSED
    assert paused.consumed_seconds == 2 * 3600
    assert paused.next_fire_at is None and paused.deadline_at is None
    assert sweep_at(MONDAY_10 + timedelta(days=2))["alerts"] == 0  # no breach while paused

    answer_at = MONDAY_10 + timedelta(days=2)
    with time_machine.travel(answer_at, tick=False):
        tickets_services.cluster_answer_question(cluster=cluster, actor=agent, message="Firefox 130")
        clock_sync(cluster_id=cluster.pk)
    resumed = timer(cluster, Target.RESOLUTION)
    assert resumed.state == TimerState.RUNNING
    assert resumed.deadline_at == answer_at + timedelta(hours=8)  # 8 h of the 10 h were left


@pytest.mark.django_db
def test_signals_from_tickets_keep_the_clocks_in_sync(django_capture_on_commit_callbacks, product_lead):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = tickets_services.cluster_create(title="Login loop")
    assert timer(cluster).state == TimerState.RUNNING
    with django_capture_on_commit_callbacks(execute=True):
        tickets_services.cluster_set_priority(cluster=cluster, priority="P1", actor=product_lead)
    t = timer(cluster)
    assert t.policy.name == "P1 - blocks revenue" and t.state == TimerState.MET  # setting priority is a response
    assert timer(cluster, Target.UPDATE).state == TimerState.RUNNING
    assert timer(cluster, Target.RESOLUTION).state == TimerState.RUNNING
    with django_capture_on_commit_callbacks(execute=True):
        tickets_services.cluster_mark_fixed(cluster=cluster, deployed_at=cluster.created_at, actor=product_lead)
    resolution = timer(cluster, Target.RESOLUTION)
    assert resolution.state == TimerState.MET and resolution.met_within is True
    assert timer(cluster, Target.UPDATE).state == TimerState.STOPPED


@pytest.mark.django_db
def test_update_cadence_restarts_at_each_product_update(product_lead):
    PolicyFactory(ack_minutes=60, update_minutes=120, warning_percent=0, escalation_1_minutes=None)
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = ClusterFactory()
        clock_sync(cluster_id=cluster.pk)
        tickets_services.cluster_acknowledge(cluster=cluster, actor=product_lead)
        clock_sync(cluster_id=cluster.pk)
    assert sweep_at(MONDAY_10 + timedelta(hours=2))["alerts"] == 1  # no update for 2 h
    with time_machine.travel(MONDAY_10 + timedelta(hours=3), tick=False):
        tickets_services.cluster_respond(cluster=cluster, actor=product_lead, message="Found the cause")
        clock_sync(cluster_id=cluster.pk)
    t = timer(cluster, Target.UPDATE)
    assert t.cycle == 1 and t.deadline_at == MONDAY_10 + timedelta(hours=5)
    assert sweep_at(MONDAY_10 + timedelta(hours=5))["alerts"] == 1
    assert Alert.objects.filter(target=Target.UPDATE, kind="breach").count() == 2


@pytest.mark.django_db
def test_a_policy_change_applies_to_open_clusters_from_the_change_on(django_capture_on_commit_callbacks):
    policy = PolicyFactory(ack_minutes=8 * 60, warning_percent=0)
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = ClusterFactory()
        clock_sync(cluster_id=cluster.pk)
    assert timer(cluster).deadline_at == MONDAY_10 + timedelta(hours=8)
    from slas.services import policy_changed

    with time_machine.travel(MONDAY_10 + timedelta(hours=1), tick=False):
        policy.ack_minutes = 2 * 60
        policy.save()
        with django_capture_on_commit_callbacks(execute=True):
            policy_changed(policy=policy)
    t = timer(cluster)
    assert t.consumed_seconds == 3600  # the hour already passed counts
    assert t.deadline_at == MONDAY_10 + timedelta(hours=2)
    with time_machine.travel(MONDAY_10 + timedelta(hours=3), tick=False):
        policy.ack_minutes = 60  # tightened below the time already used: breach fires now, not back-dated
        policy.save()
        with django_capture_on_commit_callbacks(execute=True):
            policy_changed(policy=policy)
    # 3 h used of a 1 h window: the breach fires now, not back-dated, and the levels follow at their delays.
    assert sweep_at(MONDAY_10 + timedelta(hours=3))["alerts"] == 1
    assert timer(cluster).next_stage == Stage.ESCALATION_1
    assert timer(cluster).next_fire_at == MONDAY_10 + timedelta(hours=4)
    assert SlaPolicy.objects.count() == 9  # the 8 seeded (contract and feedback kinds) and this one


@pytest.mark.django_db
def test_sla_sync_command_starts_clocks_on_existing_clusters():
    from django.core.management import call_command

    clusters = ClusterFactory.create_batch(3, priority="P2")
    ClusterFactory(status=ClusterStatus.VERIFIED)
    call_command("sla_sync")
    assert SlaTimer.objects.filter(cluster__in=clusters, target=Target.ACKNOWLEDGMENT, state="running").count() == 3
    assert SlaTimer.objects.count() == 9


def test_the_sweep_is_on_the_beat_schedule_and_expires_within_its_interval():
    from triage.celery import app

    entry = app.conf.beat_schedule["slas-sweep"]
    assert entry["task"] == "slas.timers_sweep"
    assert entry["schedule"] == 60
    assert entry["options"]["expires"] <= entry["schedule"]
