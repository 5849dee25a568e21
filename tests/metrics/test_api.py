"""The metrics REST API: fix impact as of now with its daily series, mark fixed, verify, success metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from metrics.impact import Verdict
from metrics.models import FixImpact
from metrics.services.rollup import local_day
from tests.metrics.factories import history
from tests.metrics.test_fixes import fixed_cluster
from tests.tickets.factories import ClusterFactory
from tickets.models import ClusterStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def measured(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return fixed_cluster(days_ago=40, per_day=15, effect=0.2)


def test_detail_returns_the_verdict_as_of_now_and_the_daily_series(api, agent, measured):
    api.force_authenticate(agent)
    body = api.get(f"/api/v1/fix-impacts/{measured.pk}/").json()
    assert body["cluster"] == measured.pk and body["verdict"] == Verdict.EFFECTIVE
    assert body["change_low_pct"] < body["change_pct"] < body["change_high_pct"] < 0
    assert len(body["series"]) == 61 and body["series"][30]["period"] == "deploy"
    assert {"day", "tickets", "expected", "low", "high"} <= set(body["series"][0])
    assert len(body["dow_profile"]) == 7 and body["first_week_change_pct"] is not None


def test_pending_fix_is_measured_again_when_a_day_has_passed(api, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=10, per_day=15, effect=0.0)
    FixImpact.objects.filter(cluster=cluster).update(computed_through=local_day(timezone.now()) - timedelta(days=5))
    api.force_authenticate(agent)
    body = api.get(f"/api/v1/fix-impacts/{cluster.pk}/").json()
    assert body["verdict"] == Verdict.PENDING and body["provisional_verdict"] == Verdict.COMPLETE
    assert body["days_observed"] == 9


def test_list_is_filtered_by_verdict_with_pinned_queries(api, agent, measured, django_assert_max_num_queries):
    api.force_authenticate(agent)
    with django_assert_max_num_queries(6):
        body = api.get("/api/v1/fix-impacts/", {"verdict": "effective"}).json()["results"]
    assert [row["cluster"] for row in body] == [measured.pk] and "series" not in body[0]
    assert api.get("/api/v1/fix-impacts/", {"verdict": "complete"}).json()["results"] == []
    refused = api.get("/api/v1/fix-impacts/", {"verdict": "great"})
    assert refused.status_code == 400 and "verdict" in refused.json()["fields"]


def test_lead_marks_fixed_over_the_api(api, product_lead, agent):
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    deploy_day = local_day(timezone.now()) - timedelta(days=33)
    history(cluster, deploy_day=deploy_day, per_day=10, effect=0.0, days_after=32)
    api.force_authenticate(agent)
    url = f"/api/v1/fix-impacts/{cluster.pk}/mark-fixed/"
    assert api.post(url, {"deployed_at": f"{deploy_day}T10:00:00Z"}).status_code == 403
    api.force_authenticate(product_lead)
    bad = api.post(url, {"deployed_at": "soon"}, format="json")
    assert bad.status_code == 400 and "deployed_at" in bad.json()["fields"]
    future = api.post(url, {"deployed_at": (timezone.now() + timedelta(days=1)).isoformat()}, format="json")
    assert future.status_code == 400 and "cannot be in the future" in future.json()["fields"]["deployed_at"][0]
    response = api.post(url, {"deployed_at": f"{deploy_day}T10:00:00Z"}, format="json")
    assert response.status_code == 201 and response.json()["verdict"] == Verdict.COMPLETE


def test_verify_over_the_api_refuses_with_the_reduction_then_accepts(api, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        weak = fixed_cluster(days_ago=40, per_day=20, effect=0.8, seed=9)
    api.force_authenticate(agent)
    refused = api.post(f"/api/v1/fix-impacts/{weak.pk}/verify/", {"support_confirmation": True}, format="json")
    assert refused.status_code == 400
    reduction = FixImpact.objects.get(cluster=weak).reduction_pct
    assert f"{reduction:.0f}%" in refused.json()["fields"]["status"][0]
    assert api.post(f"/api/v1/fix-impacts/{weak.pk}/verify/", {}, format="json").status_code == 400


def test_verify_success_over_the_api(api, agent, measured):
    api.force_authenticate(agent)
    response = api.post(f"/api/v1/fix-impacts/{measured.pk}/verify/", {"support_confirmation": True}, format="json")
    assert response.status_code == 200 and response.json()["cluster_status"] == ClusterStatus.VERIFIED


def test_recompute_and_unknown_or_unfixed_clusters(api, product_lead, measured):
    api.force_authenticate(product_lead)
    assert api.post(f"/api/v1/fix-impacts/{measured.pk}/recompute/").status_code == 200
    assert api.get("/api/v1/fix-impacts/999999/").status_code == 404
    unfixed = api.get(f"/api/v1/fix-impacts/{ClusterFactory().pk}/")
    assert unfixed.status_code == 404 and "mark it fixed" in unfixed.json()["detail"]


def test_success_metrics_json_matches_the_page(api, client, product_lead, outsider, measured):
    api.force_authenticate(outsider)
    assert api.get("/api/v1/success-metrics/").status_code == 403
    api.force_authenticate(product_lead)
    body = api.get("/api/v1/success-metrics/").json()
    assert len(body["weeks"]) == 12 and len(body["months"]) == 7
    metrics = {m["key"]: m for m in body["metrics"]}
    assert metrics["fix_success_rate"]["definition"]
    month = metrics["fix_success_rate"]["by_month"]
    assert sum(cell["n"] for cell in month) == 1 and {cell["value"] for cell in month if cell["n"]} == {1.0}
    reduction = [cell for cell in metrics["ticket_reduction"]["by_month"] if cell["n"]]
    assert len(reduction) == 1 and 0.7 < reduction[0]["value"] < 0.9


def test_openapi_schema_documents_the_metrics_endpoints(api, agent):
    api.force_authenticate(agent)
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    assert "/api/v1/fix-impacts/{cluster_id}/verify/" in schema["paths"]
    assert "/api/v1/success-metrics/" in schema["paths"]
