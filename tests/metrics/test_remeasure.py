"""A fix's figures are always the ones a recompute would give: fixes recorded later and backfilled tickets
change the control series, and every fix whose windows they touch is measured again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.impact import Verdict
from metrics.models import FixImpact
from metrics.services import fix_impact_recompute, fix_impacts_changed, fix_impacts_remeasure_changed
from metrics.services.rollup import local_day
from metrics.tasks import fix_impacts_daily_task
from tests.metrics.factories import at, history, tickets_on
from tests.tickets.factories import ClusterFactory
from tickets.clusters.services import cluster_mark_fixed
from tickets.models import ClusterStatus

pytestmark = pytest.mark.django_db

FIGURES = ("verdict", "change_pct", "change_low_pct", "change_high_pct", "expected_after", "baseline_tickets")


def figures(cluster) -> tuple:
    row = FixImpact.objects.get(cluster=cluster)
    return tuple(getattr(row, name) for name in FIGURES)


def test_a_fix_recorded_later_remeasures_the_fixes_of_its_period(django_capture_on_commit_callbacks):
    """The issue's case: a back-dated fix measured alone reads a company-wide dip as its own doing; once the
    other fix of the same days is recorded, it is measured again and agrees with a recompute."""
    deploy_day = local_day(timezone.now()) - timedelta(days=40)
    quiet = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    history(quiet, deploy_day=deploy_day, per_day=6, effect=1.0, control_per_day=15, seed=3)
    big = ClusterFactory(status=ClusterStatus.IN_PROGRESS)  # a large cluster whose own fix removed its tickets
    history(big, deploy_day=deploy_day, per_day=60, effect=0.1, control_per_day=0, seed=5)
    type(big).objects.filter(pk=big.pk).update(fix_deployed_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        cluster_mark_fixed(cluster=quiet, deployed_at=at(deploy_day, 15), actor=None)
    alone = figures(quiet)
    assert alone[0] == Verdict.WORSE  # the big cluster's drop sits in its control: "more than expected"

    with django_capture_on_commit_callbacks(execute=True):
        cluster_mark_fixed(cluster=big, deployed_at=at(deploy_day, 16), actor=None)
    remeasured = figures(quiet)
    assert remeasured != alone
    assert remeasured[0] == Verdict.NO_CHANGE
    fix_impact_recompute(cluster=quiet)
    assert figures(quiet) == remeasured  # what the lead reads is what a recompute gives
    assert fix_impacts_remeasure_changed() == 0  # nothing changed since: nothing measured


def test_tickets_backfilled_into_the_control_remeasure_final_fixes(django_capture_on_commit_callbacks):
    deploy_day = local_day(timezone.now()) - timedelta(days=45)
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    history(cluster, deploy_day=deploy_day, per_day=10, effect=0.5, control_per_day=20, seed=7)
    with django_capture_on_commit_callbacks(execute=True):
        cluster_mark_fixed(cluster=cluster, deployed_at=at(deploy_day, 15), actor=None)
    measured = figures(cluster)
    assert FixImpact.objects.get(cluster=cluster).is_final
    assert fix_impacts_changed() == []

    # An import brings a month of other tickets reported during the fix's 30 days after (none in its cluster).
    for offset in range(1, 31):
        tickets_on(deploy_day + timedelta(days=offset), 25)
    assert fix_impacts_changed() == [FixImpact.objects.get(cluster=cluster).pk]
    assert fix_impacts_daily_task.delay().get() == 1
    after_import = figures(cluster)
    assert after_import != measured
    assert after_import[4] > measured[4]  # more tickets expected: the organisation was busier than it seemed
    fix_impact_recompute(cluster=cluster)
    assert figures(cluster) == after_import
    assert fix_impacts_daily_task.delay().get() == 0
