"""A help desk's API key reads SLA state and fix impact, and a write key verifies a fix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.tickets.factories import ClusterFactory
from tickets.models import BugCluster, ClusterStatus

pytestmark = pytest.mark.django_db

READS = [
    "/api/v1/sla-policies/",
    "/api/v1/sla-calendars/",
    "/api/v1/sla-clocks/",
    "/api/v1/sla-alerts/",
    "/api/v1/sla-compliance/",
    "/api/v1/fix-impacts/",
    "/api/v1/success-metrics/",
]


@pytest.mark.parametrize("url", READS)
def test_read_and_write_keys_read_sla_state_and_fix_impact(reader, writer, url):
    assert reader.get(url).status_code == 200
    assert writer.get(url).status_code == 200


def _fixed_cluster() -> BugCluster:
    return ClusterFactory(status=ClusterStatus.FIXED, fix_deployed_at=timezone.now() - timedelta(days=40))


def test_a_write_key_may_verify_a_fix_and_gets_the_gates_reason(writer):
    cluster = _fixed_cluster()
    response = writer.post(f"/api/v1/fix-impacts/{cluster.pk}/verify/", {"support_confirmation": True}, format="json")
    assert response.status_code in (200, 400), response.json()
    assert response.json().get("error") != "permission_denied"
    if response.status_code == 400:  # no ticket history: the gate says why, not a 403
        assert response.json()["fields"]


def test_a_read_key_cannot_verify_or_change_sla_configuration(reader, writer):
    cluster = _fixed_cluster()
    assert reader.post(f"/api/v1/fix-impacts/{cluster.pk}/verify/", {"support_confirmation": True}).status_code == 403
    body = {"name": "From a key", "conditions": {}}
    assert reader.post("/api/v1/sla-policies/", body, format="json").status_code == 403
    assert writer.post("/api/v1/sla-policies/", body, format="json").status_code == 403
