"""Bulk items naming a cluster are attached in bulk; back-dated tickets join the daily totals at once;
a help desk opens a cluster to mirror a known incident."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.models import DailyTicketVolume
from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.clusters.services import cluster_refresh_counters
from tickets.models import BugCluster, ClusterEvent, Ticket

pytestmark = pytest.mark.django_db


def _items(payment_body, n: int, **extra) -> list[dict]:
    return [{**payment_body, "external_id": f"ZD-B{i}", **extra} for i in range(n)]


@pytest.mark.parametrize("items", [20, 200])
def test_bulk_items_naming_a_cluster_cost_the_same_queries_whatever_their_number(
    writer, payment_body, items, django_assert_max_num_queries
):
    cluster = ClusterFactory(title="Known incident")
    for _ in range(30):
        TicketFactory(cluster=cluster)
    cluster_refresh_counters(cluster=cluster)  # the factory writes tickets straight to the table
    writer.get("/api/v1/ticket-types/")  # warm the key's last-used stamp
    with django_assert_max_num_queries(45):
        response = writer.post(
            "/api/v1/tickets/bulk/", {"tickets": _items(payment_body, items, cluster=cluster.pk)}, format="json"
        )
    assert response.status_code == 200 and response.json()["created"] == items
    cluster.refresh_from_db()
    assert cluster.ticket_count == 30 + items
    assert Ticket.objects.filter(cluster=cluster, assignment_source="import").count() == items
    assert ClusterEvent.objects.filter(cluster=cluster, kind=ClusterEvent.Kind.TICKET_ADDED).count() == items


def test_resending_a_bulk_with_another_cluster_moves_the_tickets_and_recounts_both(writer, payment_body):
    first, second = ClusterFactory(), ClusterFactory()
    writer.post("/api/v1/tickets/bulk/", {"tickets": _items(payment_body, 5, cluster=first.pk)}, format="json")
    writer.post("/api/v1/tickets/bulk/", {"tickets": _items(payment_body, 5, cluster=second.pk)}, format="json")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.ticket_count, second.ticket_count) == (0, 5)


def test_backdated_bulk_tickets_join_the_daily_totals_without_a_rebuild(
    writer, payment_body, django_capture_on_commit_callbacks
):
    old = timezone.now() - timedelta(days=90)
    items = [
        {**payment_body, "external_id": f"ZD-OLD{i}", "reported_at": (old + timedelta(days=i % 3)).isoformat()}
        for i in range(9)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = writer.post("/api/v1/tickets/bulk/", {"tickets": items}, format="json")
    assert response.json()["created"] == 9
    old_days = DailyTicketVolume.objects.filter(day__lt=(timezone.now() - timedelta(days=30)).date())
    assert sum(old_days.values_list("count", flat=True)) == 9
    assert old_days.values("day").distinct().count() == 3


def test_a_backdated_single_ticket_joins_the_daily_totals(writer, payment_body, django_capture_on_commit_callbacks):
    payment_body["reported_at"] = (timezone.now() - timedelta(days=40)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        assert writer.post("/api/v1/tickets/", payment_body, format="json").status_code == 201
    assert sum(DailyTicketVolume.objects.values_list("count", flat=True)) == 1


def test_a_help_desk_opens_a_cluster_and_files_tickets_into_it(writer, reader, payment_body):
    body = {"title": "EU checkout outage", "ticket_type": "payment_failure", "priority": "P1"}
    assert reader.post("/api/v1/clusters/", body, format="json").status_code == 403
    response = writer.post("/api/v1/clusters/", body, format="json")
    assert response.status_code == 201, response.json()
    cluster = BugCluster.objects.get(pk=response.json()["id"])
    assert (cluster.title, cluster.priority, cluster.ticket_type.key) == ("EU checkout outage", "P1", "payment_failure")
    assert writer.post("/api/v1/tickets/", {**payment_body, "cluster": cluster.pk}, format="json").status_code == 201
    cluster.refresh_from_db()
    assert cluster.ticket_count == 1


def test_opening_a_cluster_refuses_unknown_fields_and_types(writer):
    response = writer.post("/api/v1/clusters/", {"title": "x", "ticket_type": "nope", "color": "red"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"color"} or "ticket_type" in response.json()["fields"]
