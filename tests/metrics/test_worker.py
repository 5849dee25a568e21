"""A real Celery worker on Redis runs the daily fix-impact task against the database."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.impact import Verdict
from metrics.models import FixImpact
from metrics.services.rollup import local_day
from tests.conftest import REDIS_URL
from tests.metrics.factories import at, history
from tests.test_services_real import celery_worker_process  # noqa: F401  (fixture)
from tests.tickets.factories import ClusterFactory
from tickets.models import BugCluster, ClusterStatus
from triage.celery import app as celery_app


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_measures_a_fix_recorded_while_nobody_listened(celery_worker_process):  # noqa: F811
    queue, proc = celery_worker_process
    cluster = ClusterFactory(status=ClusterStatus.FIXED)
    deploy_day = local_day(timezone.now()) - timedelta(days=40)
    history(cluster, deploy_day=deploy_day, per_day=10, effect=0.2, days_after=39)
    BugCluster.objects.filter(pk=cluster.pk).update(fix_deployed_at=at(deploy_day, 17))

    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.update(broker_url=REDIS_URL, task_always_eager=False)
    try:
        with celery_app.connection_for_write(REDIS_URL) as conn:
            celery_app.send_task("metrics.fix_impacts_daily", queue=queue, connection=conn)
    finally:
        celery_app.conf.update(broker_url=previous[0], task_always_eager=previous[1])

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        impact = FixImpact.objects.filter(cluster=cluster, computed_at__isnull=False).first()
        if impact is not None:
            break
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("the worker did not measure the fix within 90 s:\n" + proc.communicate()[0][-3000:])
    assert impact.verdict == Verdict.EFFECTIVE and impact.is_final
