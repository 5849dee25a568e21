"""Dashboards read from the replica alias; writes and the other pages use the primary."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tests.tickets.factories import ClusterFactory
from tickets.models import BugCluster
from triage.db_router import ReplicaRouter, reading_from_replica

# A replica is a PostgreSQL server (docs/scaling.md). On the embedded SQLite file the mirror is a second
# connection to the same file, whose test transaction waits for the first one's lock, so the test is
# skipped before its databases are set up.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL: set DATABASE_URL=postgres://...",
    ),
    pytest.mark.django_db(databases=["default", "replica"]),
]


@pytest.fixture(autouse=True)
def _close_replica():
    yield
    connections["replica"].close()  # its own connection to the test database: closed before the database is


@pytest.fixture
def replica_on(settings):
    settings.REPLICA_READS = True


@pytest.mark.parametrize("url", ["/review/", "/metrics/success/", "/metrics/fixes/", "/slas/compliance/"])
def test_review_and_metrics_pages_read_from_the_replica(client, product_lead, replica_on, url):
    client.force_login(product_lead)
    with CaptureQueriesContext(connections["replica"]) as replica:
        response = client.get(url)
    assert response.status_code == 200
    assert any(q["sql"].lstrip().upper().startswith("SELECT") for q in replica.captured_queries), url


def test_other_pages_and_writes_use_the_primary(client, product_lead, replica_on):
    client.force_login(product_lead)
    with CaptureQueriesContext(connections["replica"]) as replica:
        assert client.get("/clusters/").status_code == 200
    assert replica.captured_queries == []
    router = ReplicaRouter()
    with reading_from_replica():
        assert router.db_for_read(BugCluster) == "replica"
        assert router.db_for_write(BugCluster) == "default"
    assert router.db_for_read(BugCluster) is None
    assert router.allow_migrate("replica", "tickets") is False


def test_without_a_replica_configured_everything_reads_the_primary(settings):
    settings.REPLICA_READS = False
    with reading_from_replica():
        assert ReplicaRouter().db_for_read(BugCluster) is None
        ClusterFactory()
        assert BugCluster.objects.count() == 1
