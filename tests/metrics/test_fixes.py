"""Fix measurements in the database: the signal, the daily beat task and the verification gate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from metrics.impact import Verdict
from metrics.models import FixImpact
from metrics.services import cluster_verify, fix_impacts_recompute_due
from metrics.services.rollup import local_day
from metrics.tasks import fix_impacts_daily_task
from tests.metrics.factories import at, history, tickets_on
from tests.tickets.factories import ClusterFactory
from tickets.clusters.services import cluster_mark_fixed, cluster_set_status
from tickets.models import ClusterStatus

pytestmark = pytest.mark.django_db


def fixed_cluster(*, days_ago: int, per_day: float, effect: float, lead=None, captured=None, **kwargs):
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    deploy_day = local_day(timezone.now()) - timedelta(days=days_ago)
    history(cluster, deploy_day=deploy_day, per_day=per_day, effect=effect, days_after=days_ago - 1, **kwargs)
    cluster_mark_fixed(cluster=cluster, deployed_at=at(deploy_day, 15), actor=lead)
    return cluster


def test_marking_fixed_measures_the_fix(product_lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=12, effect=0.05, lead=product_lead)
    impact = FixImpact.objects.get(cluster=cluster)
    assert impact.verdict == Verdict.COMPLETE and impact.is_final
    assert impact.days_observed == 30 and impact.baseline_tickets > 200
    assert impact.change_low_pct < impact.change_pct <= -90
    assert len(impact.series) == 61
    assert impact.series[30]["period"] == "deploy"
    assert impact.control_used


def test_a_recent_fix_is_pending_with_a_provisional_read(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=11, per_day=15, effect=0.2)
    impact = FixImpact.objects.get(cluster=cluster)
    assert impact.verdict == Verdict.PENDING and not impact.is_final
    assert impact.days_observed == 10
    assert impact.provisional_verdict == Verdict.EFFECTIVE
    assert impact.series[-1]["tickets"] is None  # days not yet lived are not drawn as zero


def test_daily_task_measures_once_a_day_and_finds_fixes_nobody_measured():
    cluster = ClusterFactory(status=ClusterStatus.FIXED)
    deploy_day = local_day(timezone.now()) - timedelta(days=12)
    history(cluster, deploy_day=deploy_day, per_day=10, effect=0.0, days_after=11)
    # Written without the service (an import): no signal, no measurement yet.
    type(cluster).objects.filter(pk=cluster.pk).update(fix_deployed_at=at(deploy_day))

    assert fix_impacts_daily_task.delay().get() == 1
    impact = FixImpact.objects.get(cluster=cluster)
    first_computed = impact.computed_at
    assert impact.provisional_verdict == Verdict.COMPLETE

    assert fix_impacts_daily_task.delay().get() == 0  # second run the same day: nothing to do
    impact.refresh_from_db()
    assert impact.computed_at == first_computed
    assert FixImpact.objects.count() == 1

    tomorrow = timezone.now() + timedelta(days=1)
    assert fix_impacts_recompute_due(now=tomorrow) == 1
    impact.refresh_from_db()
    assert impact.days_observed == 12


def test_beat_stops_measuring_final_fixes(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fixed_cluster(days_ago=35, per_day=8, effect=1.0)
    assert FixImpact.objects.get().is_final
    assert fix_impacts_recompute_due(now=timezone.now() + timedelta(days=3)) == 0


def test_verify_is_refused_with_the_measured_reduction(agent, django_capture_on_commit_callbacks, settings):
    settings.METRICS_VERIFY_MIN_REDUCTION = 50
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=20, effect=0.65, seed=4)
    impact = FixImpact.objects.get(cluster=cluster)
    with pytest.raises(ValidationError) as refused:
        cluster_verify(cluster=cluster, by=agent, support_confirmation=True)
    message = refused.value.message_dict["status"][0]
    assert f"Measured reduction is {impact.reduction_pct:.0f}%" in message
    assert "at least 50% is required" in message and "points short" in message
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.FIXED


def test_verify_needs_support_confirmation_and_then_moves_to_verified(agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=20, effect=0.1)
    with pytest.raises(ValidationError, match="Support must confirm"):
        cluster_verify(cluster=cluster, by=agent, support_confirmation=False)
    with django_capture_on_commit_callbacks(execute=True):
        cluster_verify(cluster=cluster, by=agent, support_confirmation=True)
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.VERIFIED
    assert "Verified: support confirmed" in cluster.events.first().message


def test_verify_threshold_is_configurable(agent, django_capture_on_commit_callbacks, settings):
    settings.METRICS_VERIFY_MIN_REDUCTION = 95
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=20, effect=0.2)
    with pytest.raises(ValidationError, match="at least 95% is required"):
        cluster_verify(cluster=cluster, by=agent, support_confirmation=True)


def test_verify_refuses_a_cluster_too_small_to_measure_and_one_not_fixed(agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sparse = fixed_cluster(days_ago=40, per_day=0.15, effect=0.0)
    with pytest.raises(ValidationError, match=r"Too few tickets to measure a reduction: \d+ .* 10 needed"):
        cluster_verify(cluster=sparse, by=agent, support_confirmation=True)
    with pytest.raises(ValidationError, match="Only a fixed cluster can be verified; this one is new"):
        cluster_verify(cluster=ClusterFactory(), by=agent, support_confirmation=True)


def test_a_new_deploy_time_restarts_the_measurement(product_lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=10, effect=0.5)
    with django_capture_on_commit_callbacks(execute=True):
        cluster_mark_fixed(cluster=cluster, deployed_at=timezone.now() - timedelta(days=3), actor=product_lead)
    impact = FixImpact.objects.get(cluster=cluster)
    assert impact.verdict == Verdict.PENDING and impact.days_observed == 2 and not impact.is_final


def test_tickets_backfilled_after_a_final_measurement_reopen_it(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=10, effect=0.0)
    impact = FixImpact.objects.get(cluster=cluster)
    assert impact.verdict == Verdict.COMPLETE and impact.is_final
    # A help-desk import brings the tickets of the 30 days after the deploy that were missing.
    for offset in range(1, 31):
        tickets_on(impact.deploy_day + timedelta(days=offset), 10, cluster=cluster)
    assert fix_impacts_daily_task.delay().get() == 1
    impact.refresh_from_db()
    assert impact.is_final and impact.verdict in (Verdict.NO_CHANGE, Verdict.WORSE)
    assert fix_impacts_daily_task.delay().get() == 0


def test_every_route_to_verified_passes_the_gate(client, product_lead, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=20, effect=0.1)
    # The service other apps call, without support's confirmation.
    with pytest.raises(ValidationError, match="Support must confirm"):
        cluster_set_status(cluster=cluster, status=ClusterStatus.VERIFIED, actor=product_lead)
    # The cluster page's status form.
    client.force_login(product_lead)
    response = client.post(
        reverse("tickets:cluster_triage", args=[cluster.pk]),
        {"triage-status": ClusterStatus.VERIFIED, "triage-priority": "", "triage-owner": "", "triage-message": ""},
    )
    assert response.status_code == 400 and "Support must confirm" in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.FIXED
    # With the confirmation but a fix that did not work, the reduction decides.
    weak = fixed_cluster(days_ago=40, per_day=20, effect=1.0, seed=8)  # measured by the gate itself
    with pytest.raises(ValidationError, match="at least 50% is required"):
        cluster_set_status(
            cluster=weak, status=ClusterStatus.VERIFIED, actor=agent, context={"support_confirmation": True}
        )
