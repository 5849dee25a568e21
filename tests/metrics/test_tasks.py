"""Beat wiring and the rebuild command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from metrics.impact import Verdict
from metrics.models import DailyClusterVolume, FixImpact
from metrics.services.rollup import local_day
from metrics.tasks import fix_impacts_daily_task
from tests.metrics.factories import at, history
from tests.tickets.factories import ClusterFactory
from tickets.models import BugCluster, ClusterStatus
from triage.celery import app


def test_daily_measurement_is_on_beat_and_expires_within_its_interval():
    entry = app.conf.beat_schedule["metrics-fix-impacts-daily"]
    assert entry["task"] == "metrics.fix_impacts_daily"
    assert entry["schedule"] <= 24 * 3600
    assert entry["options"]["expires"] <= entry["schedule"]
    assert fix_impacts_daily_task.name in app.tasks


@pytest.mark.django_db
def test_rebuild_command_counts_imported_tickets_and_measures_their_fixes():
    cluster = ClusterFactory(status=ClusterStatus.FIXED)
    deploy_day = local_day(timezone.now()) - timedelta(days=45)
    history(cluster, deploy_day=deploy_day, per_day=10, effect=0.5, days_after=44)
    BugCluster.objects.filter(pk=cluster.pk).update(fix_deployed_at=at(deploy_day))
    out = StringIO()
    call_command("metrics_rebuild", stdout=out)
    assert "Measured 1 fixes (1 newly found)" in out.getvalue()
    assert FixImpact.objects.get(cluster=cluster).verdict == Verdict.PARTIAL
    assert DailyClusterVolume.objects.filter(cluster=cluster).count() > 60
    with pytest.raises(CommandError, match="--days must be 1 or more"):
        call_command("metrics_rebuild", days=0)
