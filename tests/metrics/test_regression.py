"""A fix that did not hold: the cluster is flagged, its owner alerted and the help desk told, once."""

from __future__ import annotations

import pytest

from metrics.impact import Verdict
from metrics.models import FixImpact
from metrics.services import fix_impact_recompute, fix_impacts_recompute_due
from slas.models import Alert, AlertKind
from tests.metrics.test_fixes import fixed_cluster
from tickets.clusters.regressions import REGRESSED_LABEL
from tickets.models import ClusterEvent, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


def test_cluster_regressed_fires_once_with_every_affected_ticket(product_lead, django_capture_on_commit_callbacks):
    product_lead.email = "lee@example.com"
    product_lead.save()
    WebhookSubscription.objects.create(
        name="Help desk", url="http://127.0.0.1:9/hooks", secret="s", events=["cluster.regressed"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=12, effect=2.5, lead=product_lead)
        cluster.owner = product_lead
        cluster.save(update_fields=["owner"])
        impact = fix_impact_recompute(cluster=cluster)
    assert impact.verdict == Verdict.WORSE and impact.regression_flagged_at is not None
    # Measured again (the hourly task, the page, a second worker): nothing more is sent.
    with django_capture_on_commit_callbacks(execute=True):
        fix_impact_recompute(cluster=cluster)
        FixImpact.objects.filter(pk=impact.pk).update(is_final=False, computed_through=None)
        fix_impacts_recompute_due()
    deliveries = WebhookDelivery.objects.filter(event="cluster.regressed")
    assert deliveries.count() == 1
    data = deliveries.get().payload["data"]
    assert data["verdict"] == "worse" and data["affected_ticket_count"] == cluster.tickets.count() > 500
    assert len(data["affected_tickets"]) == cluster.tickets.count()  # every ticket, not the first 500
    assert {"source", "external_id"} == set(data["affected_tickets"][0])
    cluster.refresh_from_db()
    assert REGRESSED_LABEL in cluster.labels
    assert ClusterEvent.objects.filter(cluster=cluster, kind="alert", message__startswith="Fix worse").count() == 1
    alert = Alert.objects.get(cluster=cluster, kind=AlertKind.REGRESSION)
    assert alert.recipients == ["lee@example.com"] and alert.event == "cluster.regression"


def test_a_fix_that_worked_is_not_flagged(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=12, effect=0.05)
    assert FixImpact.objects.get(cluster=cluster).regression_flagged_at is None
    assert not WebhookDelivery.objects.filter(event="cluster.regressed").exists()
    assert REGRESSED_LABEL not in type(cluster).objects.get(pk=cluster.pk).labels
