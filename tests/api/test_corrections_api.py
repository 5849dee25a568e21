"""Corrections over REST: merge, split, move, list, undo; scopes, permissions and error shape."""

import pytest

from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.clusters.services import cluster_refresh_counters
from tickets.models import AssignmentSource, BugCluster, ClusterCorrection, ClusterKind, ClusterStatus, Ticket

pytestmark = pytest.mark.django_db


def _cluster_with(n, **kwargs):
    cluster = ClusterFactory(**kwargs)
    tickets = [TicketFactory(cluster=cluster, assignment_source=AssignmentSource.ENGINE) for _ in range(n)]
    cluster_refresh_counters(cluster=cluster)
    return cluster, tickets


def test_merge_then_undo_over_the_api(session_client, product_lead):
    client = session_client(product_lead)
    source, tickets = _cluster_with(3, status=ClusterStatus.ACKNOWLEDGED)
    into, _ = _cluster_with(1)

    response = client.post(f"/api/v1/clusters/{source.pk}/merge/", {"into": into.pk, "reason": "dupe"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == into.pk and body["ticket_count"] == 4
    correction = body["correction"]
    assert correction["action"] == "merge" and correction["actor"] == "lead.lee"
    assert sorted(correction["ticket_ids"]) == sorted(t.pk for t in tickets)
    assert correction["summary"] == f"Merged #{source.pk} into #{into.pk} by Lee Lead: 3 tickets moved"

    listed = client.get(f"/api/v1/corrections/?cluster={source.pk}").json()["results"]
    assert [c["id"] for c in listed] == [correction["id"]] and listed[0]["undo_blocked_by"] is None

    undone = client.post(f"/api/v1/corrections/{correction['id']}/undo/", format="json")
    assert undone.status_code == 200 and undone.json()["undone_by"] == "lead.lee"
    source.refresh_from_db()
    assert source.status == ClusterStatus.ACKNOWLEDGED and source.ticket_count == 3

    again = client.post(f"/api/v1/corrections/{correction['id']}/undo/", format="json")
    assert again.status_code == 400
    assert "already undone" in again.json()["fields"]["correction"][0]


def test_split_returns_the_new_cluster_with_201(writer):
    cluster, tickets = _cluster_with(3, kind=ClusterKind.BUG)

    response = writer.post(
        f"/api/v1/clusters/{cluster.pk}/split/",
        {"ticket_ids": [tickets[0].pk, tickets[1].pk], "title": "Safari only"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    new = BugCluster.objects.get(pk=body["id"])
    assert body["title"] == "Safari only" and body["ticket_count"] == 2 and body["kind"] == "bug"
    assert set(new.tickets.values_list("pk", flat=True)) == {tickets[0].pk, tickets[1].pk}
    assert body["correction"]["actor"] is None and body["correction"]["action"] == "split"


def test_errors_name_the_field(writer):
    cluster, tickets = _cluster_with(2)
    other, _ = _cluster_with(1, kind=ClusterKind.FEATURE_REQUEST)

    missing = writer.post(f"/api/v1/clusters/{cluster.pk}/merge/", {"into": 999999}, format="json").json()
    assert missing["error"] == "validation_error" and "There is no cluster 999999" in missing["fields"]["into"][0]
    kinds = writer.post(f"/api/v1/clusters/{cluster.pk}/merge/", {"into": other.pk}, format="json").json()
    assert "same kind" in kinds["fields"]["into"][0]
    empty = writer.post(f"/api/v1/clusters/{cluster.pk}/split/", {"ticket_ids": []}, format="json").json()
    assert empty["fields"] == {"ticket_ids": ["Give at least one ticket id to split off."]}
    everything = writer.post(
        f"/api/v1/clusters/{cluster.pk}/split/", {"ticket_ids": [t.pk for t in tickets]}, format="json"
    ).json()
    assert "Leave at least one ticket" in everything["fields"]["ticket_ids"][0]
    wrong_type = writer.post(f"/api/v1/tickets/{tickets[0].pk}/move/", {"into": "seven"}, format="json").json()
    assert list(wrong_type["fields"]) == ["into"]
    assert not ClusterCorrection.objects.exists()


def test_move_locks_the_ticket_and_is_idempotent(writer):
    cluster, (ticket, _) = _cluster_with(2)
    target, _ = _cluster_with(1)
    headers = {"HTTP_IDEMPOTENCY_KEY": "move-1"}

    first = writer.post(f"/api/v1/tickets/{ticket.pk}/move/", {"into": target.pk}, format="json", **headers)
    replay = writer.post(f"/api/v1/tickets/{ticket.pk}/move/", {"into": target.pk}, format="json", **headers)

    assert first.status_code == 200 and first.json()["cluster"] == target.pk
    assert first.json()["assignment_source"] == AssignmentSource.PERSON
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert ClusterCorrection.objects.count() == 1
    assert Ticket.objects.get(pk=ticket.pk).assignment_is_locked
    assert writer.post("/api/v1/tickets/999999/move/", {"into": target.pk}, format="json").status_code == 404


def test_undo_order_is_reported_with_the_blocking_correction(writer):
    a, _ = _cluster_with(1)
    b, _ = _cluster_with(1)
    c, _ = _cluster_with(1)
    first = writer.post(f"/api/v1/clusters/{a.pk}/merge/", {"into": b.pk}, format="json").json()["correction"]
    second = writer.post(f"/api/v1/clusters/{b.pk}/merge/", {"into": c.pk}, format="json").json()["correction"]

    listed = {c["id"]: c for c in writer.get(f"/api/v1/corrections/?cluster={b.pk}").json()["results"]}
    assert listed[first["id"]]["undo_blocked_by"] == second["id"]
    refused = writer.post(f"/api/v1/corrections/{first['id']}/undo/", format="json")
    assert refused.status_code == 400
    assert f"Undo correction #{second['id']} first" in refused.json()["fields"]["correction"][0]


def test_read_keys_and_agents_cannot_correct(reader, session_client, agent, product_lead):
    cluster, _ = _cluster_with(1)
    into, _ = _cluster_with(1)
    url = f"/api/v1/clusters/{cluster.pk}/merge/"

    assert reader.post(url, {"into": into.pk}, format="json").status_code == 403
    refused = session_client(agent).post(url, {"into": into.pk}, format="json")
    assert refused.status_code == 403 and "tickets.correct_clusters" in refused.json()["detail"]
    ticket = cluster.tickets.get()
    assert session_client(agent).post(f"/api/v1/tickets/{ticket.pk}/move/", {"into": into.pk}).status_code == 403
    assert reader.get("/api/v1/corrections/").status_code == 200
    assert not ClusterCorrection.objects.exists()
