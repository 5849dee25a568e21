from datetime import timedelta

import pytest
from django.utils import timezone

from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory
from tickets.models import Segment, TicketType

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(db):
    now = timezone.now()
    big = CustomerFactory(external_id="big", segment=Segment.ENTERPRISE)
    small = CustomerFactory(external_id="small", segment=Segment.SMB)
    p1 = ClusterFactory(priority="P1", status="acknowledged", kind="bug", last_reported_at=now)
    fr = ClusterFactory(kind="feature_request", last_reported_at=now - timedelta(days=3))
    login = TicketType.objects.get(key="login_issue")
    payment = TicketType.objects.get(key="payment_failure")
    return {
        "a": TicketFactory(
            external_id="A",
            ticket_type=payment,
            customer=big,
            cluster=p1,
            status="open",
            evidence={"error_code": "4001", "amount": {"amount": "49.00", "currency": "EUR"}},
            reported_at=now - timedelta(days=1),
        ),
        "b": TicketFactory(
            external_id="B",
            source="freshdesk",
            ticket_type=login,
            customer=small,
            cluster=fr,
            feedback_kind="feature_request",
            evidence={"browser": "Safari"},
            reported_at=now - timedelta(days=10),
        ),
        "c": TicketFactory(external_id="C", ticket_type=login, reported_at=now - timedelta(days=20)),
        "p1": p1,
        "fr": fr,
        "now": now,
    }


def _ids(client, query):
    response = client.get(f"/api/v1/tickets/?{query}")
    assert response.status_code == 200, response.json()
    return sorted(t["external_id"] for t in response.json()["results"])


def test_ticket_filters(reader, tickets):
    now = tickets["now"]
    assert _ids(reader, "type=login_issue") == ["B", "C"]
    assert _ids(reader, "type=login_issue&type=payment_failure") == ["A", "B", "C"]
    assert _ids(reader, "kind=feature_request") == ["B"]
    assert _ids(reader, "status=open") == ["A"]
    assert _ids(reader, "priority=P1") == ["A"]
    assert _ids(reader, f"cluster={tickets['fr'].pk}") == ["B"]
    assert _ids(reader, "unclustered=true") == ["C"]
    assert _ids(reader, "customer=big") == ["A"]
    assert _ids(reader, "segment=smb") == ["B"]
    assert _ids(reader, "source=freshdesk") == ["B"]
    after = (now - timedelta(days=15)).isoformat().replace("+00:00", "Z")
    before = (now - timedelta(days=5)).isoformat().replace("+00:00", "Z")
    assert _ids(reader, f"reported_after={after}") == ["A", "B"]
    assert _ids(reader, f"reported_after={after}&reported_before={before}") == ["B"]
    assert _ids(reader, "evidence=error_code:4001") == ["A"]
    assert _ids(reader, "evidence=amount:49.00") == ["A"]
    assert _ids(reader, "evidence=browser:Safari") == ["B"]


def test_ticket_ordering_and_bad_filters(reader, tickets):
    ordered = [t["external_id"] for t in reader.get("/api/v1/tickets/?ordering=reported_at").json()["results"]]
    assert ordered == ["C", "B", "A"]
    bad = reader.get("/api/v1/tickets/?status=wobbly&evidence=nocolon")
    assert bad.status_code == 400
    fields = bad.json()["fields"]
    assert "wobbly" in fields["status"][0]
    assert "evidence=<field key>:<value>" in fields["evidence"][0]


def test_cluster_filters(reader, tickets):
    def ids(query):
        return sorted(c["id"] for c in reader.get(f"/api/v1/clusters/?{query}").json()["results"])

    p1, fr = tickets["p1"].pk, tickets["fr"].pk
    assert ids("priority=P1") == [p1]
    assert ids("kind=feature_request") == [fr]
    assert ids("status=acknowledged") == [p1]
    assert ids("customer=small") == [fr]
    assert ids("segment=enterprise") == [p1]
    assert ids("source=freshdesk") == [fr]
    assert ids("evidence=error_code:4001") == [p1]
    assert ids(f"cluster={fr}") == [fr]
    order = [c["id"] for c in reader.get("/api/v1/clusters/?ordering=-ticket_count,id").json()["results"]]
    assert sorted(order) == sorted([p1, fr])


def test_ticket_type_filters(reader):
    keys = [t["key"] for t in reader.get("/api/v1/ticket-types/?kind=bug_report").json()["results"]]
    assert "login_issue" in keys and all(
        t["feedback_kind"] == "bug_report"
        for t in reader.get("/api/v1/ticket-types/?kind=bug_report").json()["results"]
    )


def test_cluster_words_and_alert_flags_filter_the_api_as_on_the_list_page(reader, tickets):
    from django.utils import timezone

    from tickets.models import BugCluster

    p1, fr = tickets["p1"], tickets["fr"]
    BugCluster.objects.filter(pk=p1.pk).update(title="Checkout error 4001 with PayPal", spike_ratio=4.2)
    BugCluster.objects.filter(pk=fr.pk).update(summary="Export reports to Excel", threshold_crossed_at=timezone.now())

    def ids(query):
        response = reader.get(f"/api/v1/clusters/?{query}")
        assert response.status_code == 200, response.json()
        return sorted(c["id"] for c in response.json()["results"])

    assert ids("q=paypal checkout") == [p1.pk]
    assert ids("q=excel") == [fr.pk]
    assert ids("q=paypal excel") == []
    assert ids("flag=spiking") == [p1.pk]
    assert ids("flag=over_threshold") == [fr.pk]
    refused = reader.get("/api/v1/clusters/?flag=hot")
    assert refused.status_code == 400 and "hot" in refused.json()["fields"]["flag"][0]
