"""A fresh demo load and its first start tell the truth: a handful of alerts, in order, and every seeded fix
measured as what really happened to it, with the same figures when measured again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail

from metrics.impact import Verdict
from metrics.models import FixImpact
from metrics.services import fix_impact_recompute
from metrics.tasks import fix_impacts_daily_task
from slas.models import Alert, AlertKind, SlaTimer
from slas.services import timers_sweep
from tickets.clustering.assignment import tickets_assign_all_pending
from tickets.clustering.services import index_rebuild_all
from tickets.clusters.alerts import cluster_thresholds_sweep, clusters_spike_detect
from tickets.models import BugCluster
from tickets.outbox import outbox_sweep
from triage.demo import bugs as demo_bugs
from triage.demo.catalog import DEMO_FIX_EFFECTS, RECURRING_BUGS
from triage.demo.seed import demo_reset, demo_seed

END = datetime(2026, 11, 4, 15, 30, tzinfo=UTC)  # a Wednesday afternoon
START = END + timedelta(minutes=2)
HANDFUL = 8
TITLES = {bug.key: bug.title for bug in RECURRING_BUGS}
# The verdict each documented true effect must get (docs/demo-data.md).
EXPECTED = {
    demo_bugs.COMPLETE: Verdict.COMPLETE,
    demo_bugs.EFFECTIVE: Verdict.EFFECTIVE,
    demo_bugs.PARTIAL: Verdict.PARTIAL,
    demo_bugs.PARTIAL_GRADUAL: Verdict.PARTIAL,
    demo_bugs.FAILED: Verdict.NO_CHANGE,
    demo_bugs.REGRESSION: Verdict.REGRESSED,
    demo_bugs.COMPANY_DIP: Verdict.NO_CHANGE,
}
FIGURES = ("verdict", "change_pct", "change_low_pct", "change_high_pct", "baseline_tickets", "after_tickets")


@pytest.fixture(scope="module")
def first_start(django_db_setup, django_db_blocker):
    """Load the demo, then do what the worker and beat do in the first minutes: the clustering engine takes
    the waiting tickets, the volume sweeps and one SLA sweep run, the fixes are measured."""
    with django_db_blocker.unblock(), time_machine.travel(END, tick=False):
        demo_seed(end=END)  # its clusters are announced after commit: SLA clocks start, fixes are measured
    with django_db_blocker.unblock(), time_machine.travel(START, tick=False):
        mail.outbox = []
        outbox_sweep()  # what the imported clusters announced (SLA clocks, fixes), if not sent yet
        index_rebuild_all()  # as `seed_demo` does: the engine reads the history...
        tickets_assign_all_pending()  # ...then takes the tickets of the last 48 hours
        outbox_sweep()
        cluster_thresholds_sweep()
        clusters_spike_detect()
        outbox_sweep()
        sla = timers_sweep()
        fix_impacts_daily_task()
        outbox_sweep()
        yield {"sla": sla, "emails": list(mail.outbox)}
        demo_reset()
        get_user_model().objects.filter(email__endswith="@planwise.example").delete()


@pytest.mark.django_db
def test_the_first_start_sends_a_handful_of_alerts_in_order(first_start):
    alerts = list(Alert.objects.order_by("created_at", "id"))
    assert 3 <= len(alerts) <= HANDFUL, [a.message for a in alerts]
    assert len(first_start["emails"]) <= HANDFUL
    # Not a flood of old breaches: no escalation yet, and at most a couple of breaches, each of one timer.
    assert not [a for a in alerts if a.kind == AlertKind.ESCALATION]
    breaches = [a for a in alerts if a.kind == AlertKind.BREACH]
    assert 1 <= len(breaches) <= 3
    assert SlaTimer.objects.filter(breached_at__isnull=False).count() == len(breaches)
    # Each timer's alerts come in order (one stage per sweep).
    assert len({(a.timer_id, a.stage) for a in alerts if a.timer_id}) == len([a for a in alerts if a.timer_id])


@pytest.mark.django_db
def test_most_clocks_are_within_their_service_levels(first_start):
    acknowledged = SlaTimer.objects.filter(target="ack", state="met")
    assert acknowledged.count() >= 40
    assert acknowledged.filter(met_within=True).count() >= 0.9 * acknowledged.count()
    running = SlaTimer.objects.filter(state="running")
    assert running.filter(breached_at__isnull=True).count() >= 4 * running.filter(breached_at__isnull=False).count()


@pytest.mark.django_db
def test_a_cluster_is_spiking_and_clusters_are_over_their_threshold(first_start):
    spiking = BugCluster.objects.filter(spike_detected_at__isnull=False)
    assert spiking.filter(title=TITLES["login-ios-face-id"]).exists()
    over = set(BugCluster.objects.filter(threshold_crossed_at__isnull=False).values_list("title", flat=True))
    assert {TITLES["login-ios-face-id"], TITLES["perf-mobile-sync"]} <= over
    assert Alert.objects.filter(kind=AlertKind.SPIKE).count() == spiking.count()


@pytest.mark.django_db
@pytest.mark.parametrize("key", sorted(DEMO_FIX_EFFECTS))
def test_each_seeded_fix_reads_as_its_true_effect_and_stays_so_when_measured_again(first_start, key):
    row = FixImpact.objects.get(cluster__title=TITLES[key])
    assert row.is_final
    assert row.verdict == EXPECTED[DEMO_FIX_EFFECTS[key]], (key, row.reason)
    shown = tuple(getattr(row, name) for name in FIGURES)
    with time_machine.travel(START, tick=False):
        fix_impact_recompute(cluster=row.cluster)
    row.refresh_from_db()
    assert tuple(getattr(row, name) for name in FIGURES) == shown
