"""Each fix's verdict history: a row when a measurement reaches a new verdict or read, none otherwise."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from metrics.impact import Verdict
from metrics.models import FixImpact, FixVerdictChange
from metrics.services import fix_impacts_recompute_due, fix_verdict_history_rebuild, rollup_rebuild
from metrics.services.rollup import local_day
from tests.metrics.factories import at, history
from tests.tickets.factories import ClusterFactory
from tickets.clusters.services import cluster_mark_fixed
from tickets.models import ClusterStatus

pytestmark = pytest.mark.django_db


def _morning(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(1)), timezone.get_default_timezone())


@pytest.fixture
def fix(django_capture_on_commit_callbacks):
    """A fix deployed 40 days ago that removed 95% of its cluster's tickets (measured later, by hand)."""
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    deploy_day = local_day(timezone.now()) - timedelta(days=40)
    history(cluster, deploy_day=deploy_day, per_day=12, effect=0.05, days_after=39)
    with django_capture_on_commit_callbacks(execute=False):  # no measurement now: the test measures by date
        cluster_mark_fixed(cluster=cluster, deployed_at=at(deploy_day, 15))
    impact = FixImpact.objects.create(cluster=cluster, deployed_at=at(deploy_day, 15), deploy_day=deploy_day)
    return impact


def test_a_change_is_recorded_when_a_read_or_verdict_is_reached_and_only_then(fix):
    deploy_day = fix.deploy_day
    fix_impacts_recompute_due(now=_morning(deploy_day + timedelta(days=4)))
    assert not FixVerdictChange.objects.exists()  # three days observed: no read yet
    first_read = _morning(deploy_day + timedelta(days=8))
    fix_impacts_recompute_due(now=first_read)
    fix_impacts_recompute_due(now=first_read + timedelta(hours=5))  # the same day again: nothing new
    (change,) = FixVerdictChange.objects.all()
    assert (change.measured_at, change.verdict, change.previous_verdict) == (first_read, Verdict.PENDING, "")
    assert change.provisional_verdict == Verdict.COMPLETE and change.current_verdict == Verdict.COMPLETE
    assert change.days_observed == 7 and change.change_pct < -85
    final = _morning(deploy_day + timedelta(days=31))
    fix_impacts_recompute_due(now=final)
    last = FixVerdictChange.objects.order_by("measured_at").last()
    assert (last.measured_at, last.verdict, last.provisional_verdict) == (final, Verdict.COMPLETE, "")
    assert (last.previous_verdict, last.previous_provisional_verdict) == (Verdict.PENDING, Verdict.COMPLETE)


def test_the_history_of_imported_fixes_is_replayed_day_by_day(fix):
    rollup_rebuild(day_from=fix.deploy_day - timedelta(days=31), day_to=local_day(timezone.now()))
    FixVerdictChange.objects.create(fix_impact=fix, measured_at=timezone.now(), verdict=Verdict.WORSE)
    recorded = fix_verdict_history_rebuild()
    changes = list(FixVerdictChange.objects.order_by("measured_at"))
    assert recorded == len(changes) >= 2
    assert local_day(changes[0].measured_at) == fix.deploy_day + timedelta(days=8)
    assert changes[0].current_verdict == Verdict.COMPLETE and changes[0].verdict == Verdict.PENDING
    assert local_day(changes[-1].measured_at) == fix.deploy_day + timedelta(days=31)
    assert changes[-1].verdict == Verdict.COMPLETE
    fix.refresh_from_db()
    assert fix.is_final and fix.verdict == Verdict.COMPLETE
