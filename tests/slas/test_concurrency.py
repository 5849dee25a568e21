"""Two sweeps at once, and one alert delivered by two workers at once, on PostgreSQL: one alert, one send."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from slas.models import Alert, SlaTimer, Stage
from slas.services import alert_deliver, timers_sweep
from tests.slas.factories import PolicyFactory
from tests.slas.receiver import start_receiver
from tests.tickets.factories import ClusterFactory


def run_concurrently(n, target):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def due_clusters(policy, n):
    """n clusters whose acknowledgment breached a minute ago (written directly: fast)."""
    now = timezone.now()
    clusters = ClusterFactory.create_batch(n)
    SlaTimer.objects.bulk_create(
        SlaTimer(
            cluster=c,
            target="ack",
            policy=policy,
            state="running",
            target_seconds=3600,
            opened_at=now - timedelta(minutes=61),
            consumed_seconds=0,
            running_since=now - timedelta(minutes=61),
            deadline_at=now - timedelta(minutes=1),
            next_stage=Stage.BREACH,
            next_fire_at=now - timedelta(minutes=1),
        )
        for c in clusters
    )
    return clusters


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_fire_each_alert_once():
    policy = PolicyFactory(
        ack_minutes=60, escalation_1_minutes=None, escalation_2_minutes=None, escalation_3_minutes=None
    )
    due_clusters(policy, 120)
    results = run_concurrently(3, lambda: timers_sweep(batch_size=20))
    assert sum(r["alerts"] for r in results) == 120
    assert Alert.objects.count() == 120
    assert Alert.objects.values("cluster").distinct().count() == 120
    assert sum(1 for r in results if r["alerts"]) >= 2  # the sweeps really overlapped and shared the work
    assert not SlaTimer.objects.filter(next_fire_at__isnull=False).exists()
    assert timers_sweep()["alerts"] == 0  # and a later beat finds nothing left


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_alert_delivered_by_two_workers_at_once_is_sent_once():
    receiver = start_receiver()
    try:
        policy = PolicyFactory(ack_minutes=60, notify_email=False, webhook_url=receiver.url, webhook_secret="k")
        due_clusters(policy, 1)
        timers_sweep()  # eager dispatch runs only on commit; transactional test: it already ran
        alert = Alert.objects.get()
        Alert.objects.filter(pk=alert.pk).update(sent_at=None, lease_until=None, deliveries={})
        before = len(receiver.requests)
        outcomes = run_concurrently(4, lambda: alert_deliver(alert_id=alert.pk))
        assert sorted(outcomes) == ["sent", "skipped", "skipped", "skipped"]
        assert len(receiver.requests) - before == 1
    finally:
        receiver.server.shutdown()
