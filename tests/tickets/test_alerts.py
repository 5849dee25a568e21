"""Volume alerts: a cluster crossing its ticket threshold, and a cluster spiking above its own baseline,
reach product leads (email through the SLA channels) once per crossing or spike."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from slas.models import Alert
from tests.tickets.factories import ClusterFactory
from tickets.clusters.alerts import cluster_threshold_check, cluster_thresholds_sweep, clusters_spike_detect
from tickets.clusters.services import cluster_refresh_counters
from tickets.models import BugCluster, ClusterEvent, Ticket, TicketType
from tickets.tasks import cluster_thresholds_sweep_task, clusters_spike_detect_task

pytestmark = pytest.mark.django_db


def add_tickets(cluster, n: int, *, at, spread_hours: float = 0.0, **fields) -> BugCluster:
    """`n` tickets of the cluster reported at `at` (or spread over the `spread_hours` before it)."""
    start = Ticket.objects.count()
    Ticket.objects.bulk_create(
        Ticket(
            source="zendesk",
            external_id=f"T-{start + i}",
            subject=f"Problem {start + i}",
            ticket_type_id=cluster.ticket_type_id,
            cluster=cluster,
            reported_at=at - timedelta(hours=spread_hours * i / max(n, 1)),
            **fields,
        )
        for i in range(n)
    )
    return cluster_refresh_counters(cluster=cluster)


def add_daily(cluster, per_day: list[int], *, now) -> BugCluster:
    """per_day[d] tickets in the 24 hours that end d days before `now`."""
    for day, n in enumerate(per_day):
        if n:
            add_tickets(cluster, n, at=now - timedelta(days=day, minutes=5), spread_hours=22)
    return cluster


@pytest.fixture
def lead(product_lead):
    product_lead.email = "lee@example.com"
    product_lead.save()
    return product_lead


def threshold_alerts(cluster):
    return list(Alert.objects.filter(cluster=cluster, kind="threshold", payload__alert="threshold"))


# --- Threshold ------------------------------------------------------------------------


def test_threshold_alert_fires_once_even_when_the_check_and_the_sweep_run_twice(
    lead, django_capture_on_commit_callbacks
):
    now = timezone.now()
    cluster = ClusterFactory(title="Export hangs", ticket_type=TicketType.objects.get(key="feature_bug"))
    add_tickets(cluster, 19, at=now, spread_hours=48)
    with django_capture_on_commit_callbacks(execute=True):
        assert cluster_threshold_check(cluster=cluster) is False
    assert mail.outbox == []

    add_tickets(cluster, 1, at=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert cluster_threshold_check(cluster=cluster) is True
        assert cluster_threshold_check(cluster=BugCluster.objects.get(pk=cluster.pk)) is False
        cluster_thresholds_sweep_task.delay()
        cluster_thresholds_sweep_task.delay()

    cluster.refresh_from_db()
    assert cluster.threshold_crossed_at is not None
    [alert] = threshold_alerts(cluster)
    assert alert.sent_at is not None and alert.recipients == ["lee@example.com"]
    assert [m.to for m in mail.outbox] == [["lee@example.com"]]
    assert mail.outbox[0].subject == f"[Triage] 20 tickets in 7 days on #{cluster.pk} Export hangs"
    assert f"/clusters/{cluster.pk}/" in mail.outbox[0].body
    assert cluster.events.filter(kind=ClusterEvent.Kind.ALERT).count() == 1


def test_rearms_when_the_window_empties_and_fires_again_on_a_second_crossing(lead, django_capture_on_commit_callbacks):
    now = timezone.now()
    cluster = ClusterFactory(ticket_type=TicketType.objects.get(key="feature_bug"))
    add_tickets(cluster, 20, at=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert cluster_threshold_check(cluster=cluster, now=now)

    # Three days later the 20 tickets still count: nothing re-arms.
    assert cluster_thresholds_sweep(now=now + timedelta(days=3)) == {"rearmed": 0, "crossed": 0}
    # Eight days later they have left the 7-day window: re-armed, once.
    later = now + timedelta(days=8)
    assert cluster_thresholds_sweep(now=later)["rearmed"] == 1
    assert cluster_thresholds_sweep(now=later)["rearmed"] == 0
    cluster.refresh_from_db()
    assert cluster.threshold_crossed_at is None

    add_tickets(cluster, 20, at=later)
    with django_capture_on_commit_callbacks(execute=True):
        assert cluster_threshold_check(cluster=cluster, now=later)
        assert not cluster_threshold_check(cluster=cluster, now=later)
    assert len(threshold_alerts(cluster)) == 2
    assert len(mail.outbox) == 2


def test_the_ticket_types_own_threshold_and_window_apply_by_reported_at(lead, django_capture_on_commit_callbacks):
    now = timezone.now()
    login = TicketType.objects.get(key="login_issue")
    login.alert_threshold_count, login.alert_threshold_days = 5, 2
    login.save()
    cluster = ClusterFactory(title="SSO loop", ticket_type=login)
    add_tickets(cluster, 3, at=now - timedelta(days=3))  # imported history: outside the 2-day window
    add_tickets(cluster, 2, at=now)
    default_type = ClusterFactory(ticket_type=TicketType.objects.get(key="feature_bug"))
    add_tickets(default_type, 6, at=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert not cluster_threshold_check(cluster=cluster)  # 5 in all, only 2 in the window
        assert not cluster_threshold_check(cluster=default_type)  # 6 is far from the default 20
    add_tickets(cluster, 3, at=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert cluster_threshold_check(cluster=cluster)
    assert [m.subject for m in mail.outbox] == [f"[Triage] 5 tickets in 2 days on #{cluster.pk} SSO loop"]


def test_the_check_costs_no_query_below_the_threshold_or_once_crossed(django_assert_num_queries):
    cluster = ClusterFactory(ticket_type=TicketType.objects.get(key="feature_bug"))
    cluster = BugCluster.objects.select_related("ticket_type").get(pk=cluster.pk)
    cluster.ticket_count = 3
    with django_assert_num_queries(0):
        assert not cluster_threshold_check(cluster=cluster)
    cluster.ticket_count, cluster.threshold_crossed_at = 500, timezone.now()
    with django_assert_num_queries(0):
        assert not cluster_threshold_check(cluster=cluster)


def test_the_sweep_catches_a_crossing_the_hot_path_missed(lead, django_capture_on_commit_callbacks):
    cluster = ClusterFactory(ticket_type=None)  # no type: the default 20 in 7 days
    add_tickets(cluster, 20, at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert cluster_thresholds_sweep()["crossed"] == 1
        assert cluster_thresholds_sweep()["crossed"] == 0
    assert len(threshold_alerts(cluster)) == 1 and len(mail.outbox) == 1


# --- Spikes -----------------------------------------------------------------------------


def spike_alerts(cluster):
    return list(Alert.objects.filter(cluster=cluster, payload__alert="spike"))


def test_a_real_burst_is_flagged_and_alerted_once(lead, django_capture_on_commit_callbacks):
    now = timezone.now()
    cluster = ClusterFactory(title="Push notifications late", ticket_type=TicketType.objects.get(key="feature_bug"))
    add_daily(cluster, [30] + [2] * 28, now=now)  # 2 a day for four weeks, then 30 in a day
    with django_capture_on_commit_callbacks(execute=True):
        result = clusters_spike_detect(now=now)
        clusters_spike_detect_task.delay()  # a second run (a duplicate beat) changes nothing
    assert result["flagged"] == 1

    cluster.refresh_from_db()
    assert cluster.spike_detected_at is not None
    details = cluster.spike_details
    assert details["window"] == "24h" and details["count"] == 30
    assert details["baseline"] == pytest.approx(2.0) and details["k"] == 3.0
    assert cluster.spike_ratio == pytest.approx(15.0)
    [event] = cluster.events.filter(kind=ClusterEvent.Kind.ALERT)
    assert event.message.startswith("Spike: 30 tickets in the last 24 hours, 15.0x its usual 2")
    [alert] = spike_alerts(cluster)
    assert alert.sent_at is not None and alert.deliveries["email"] == "sent"
    assert alert.kind == "spike" and alert.event == "cluster.spike"  # not mistaken for a threshold alert
    assert [m.to for m in mail.outbox] == [["lee@example.com"]]
    assert "Spike: 30 tickets" in mail.outbox[0].subject and "Push notifications late" in mail.outbox[0].subject


def test_a_steady_high_volume_cluster_and_a_tiny_one_are_not_spikes(lead, django_capture_on_commit_callbacks):
    now = timezone.now()
    steady = ClusterFactory(ticket_type=TicketType.objects.get(key="feature_bug"))
    add_daily(steady, [50 + (day * 7) % 11 - 5 for day in range(56)], now=now)
    add_tickets(steady, 8, at=now)  # a busier day than usual, within its noise
    tiny = ClusterFactory(ticket_type=TicketType.objects.get(key="feature_bug"))
    add_daily(tiny, [3] + [0] * 27 + [1], now=now)  # 1 -> 3 tickets
    with django_capture_on_commit_callbacks(execute=True):
        result = clusters_spike_detect(now=now)
    assert result["candidates"] == 2 and result["flagged"] == 0
    assert not BugCluster.objects.filter(spike_ratio__isnull=False).exists()
    assert mail.outbox == [] and not ClusterEvent.objects.filter(kind=ClusterEvent.Kind.ALERT).exists()


def test_the_flag_clears_when_volume_is_back_to_normal_and_a_new_spike_alerts_again(
    lead, django_capture_on_commit_callbacks
):
    now = timezone.now()
    cluster = ClusterFactory(ticket_type=TicketType.objects.get(key="feature_bug"))
    add_daily(cluster, [30] + [2] * 28, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        clusters_spike_detect(now=now)
    two_days_on = now + timedelta(days=2)
    assert clusters_spike_detect(now=two_days_on)["still_spiking"] == 1  # the 7-day window still spikes
    cluster.refresh_from_db()
    assert cluster.spike_details["window"] == "7d"

    later = now + timedelta(days=9)
    assert clusters_spike_detect(now=later)["cleared"] == 1
    cluster.refresh_from_db()
    assert cluster.spike_detected_at is None and cluster.spike_ratio is None and cluster.spike_details == {}

    add_tickets(cluster, 40, at=later, spread_hours=12)
    with django_capture_on_commit_callbacks(execute=True):
        assert clusters_spike_detect(now=later)["flagged"] == 1
    assert len(spike_alerts(cluster)) == 2 and len(mail.outbox) == 2
