from datetime import timedelta

import pytest
from django.utils import timezone

from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory
from tickets.models import ClusterEvent, ClusterStatus, Customer

pytestmark = pytest.mark.django_db


def test_ticket_types_carry_fields_and_json_schema(reader, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = reader.get("/api/v1/ticket-types/")
    assert response.status_code == 200
    payment = next(t for t in response.json()["results"] if t["key"] == "payment_failure")
    keys = [f["key"] for f in payment["fields"]]
    assert keys[:3] == ["payment_method", "amount", "error_code"]
    schema = payment["evidence_schema"]
    assert set(schema["required"]) == {"payment_method", "amount", "error_code"}
    assert "credit_card" in schema["properties"]["payment_method"]["enum"]
    detail = reader.get("/api/v1/ticket-types/login_issue/").json()
    assert detail["name"] == "Login issue"


def test_customer_upsert_by_external_id(writer, reader):
    response = writer.put("/api/v1/customers/org-77/", {"name": "Initech", "segment": "enterprise"}, format="json")
    assert response.status_code == 201
    response = writer.put("/api/v1/customers/org-77/", {"name": "Initech AG", "mrr": "900.00"}, format="json")
    assert response.status_code == 200
    customer = Customer.objects.get(external_id="org-77")
    assert (customer.name, customer.segment, str(customer.mrr)) == ("Initech AG", "enterprise", "900.00")
    bad = writer.put("/api/v1/customers/org-77/", {"name": "X", "segment": "huge"}, format="json")
    assert "enterprise, mid_market, smb" in bad.json()["fields"]["segment"][0]
    assert reader.get("/api/v1/customers/org-77/").json()["name"] == "Initech AG"
    assert reader.get("/api/v1/customers/?segment=enterprise").json()["results"][0]["external_id"] == "org-77"


def test_cluster_list_and_detail_with_tickets(reader, django_assert_max_num_queries):
    cluster = ClusterFactory(ticket_count=3, last_reported_at=timezone.now())
    for _ in range(3):
        TicketFactory(cluster=cluster)
    ClusterFactory(status=ClusterStatus.FIXED)
    with django_assert_max_num_queries(3):
        listing = reader.get("/api/v1/clusters/?status=new").json()["results"]
    assert [c["id"] for c in listing] == [cluster.pk]
    with django_assert_max_num_queries(5):
        detail = reader.get(f"/api/v1/clusters/{cluster.pk}/").json()
    assert len(detail["tickets"]) == 3 and detail["ticket_count"] == 3


def test_cluster_actions_use_the_services(writer, product_lead):
    cluster = ClusterFactory()
    base = f"/api/v1/clusters/{cluster.pk}"
    assert writer.post(f"{base}/acknowledge/", {}, format="json").json()["status"] == "acknowledged"
    assert writer.post(f"{base}/set-priority/", {"priority": "P1"}, format="json").json()["priority"] == "P1"
    bad = writer.post(f"{base}/set-priority/", {"priority": "P9"}, format="json")
    assert bad.status_code == 400 and "P1, P2, P3" in bad.json()["fields"]["priority"][0]
    assert writer.post(f"{base}/assign/", {"owner": product_lead.username}, format="json").json()["owner"] == (
        product_lead.username
    )
    nobody = writer.post(f"{base}/assign/", {"owner": "ghost"}, format="json")
    assert nobody.status_code == 400 and "ghost" in nobody.json()["fields"]["owner"][0]
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    refused = writer.post(f"{base}/mark-fixed/", {"deployed_at": future}, format="json")
    assert refused.status_code == 400 and "future" in refused.json()["fields"]["deployed_at"][0]
    deployed = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    fixed = writer.post(f"{base}/mark-fixed/", {"deployed_at": deployed.isoformat()}, format="json").json()
    assert fixed["status"] == "fixed"
    cluster.refresh_from_db()
    assert cluster.fix_deployed_at == deployed
    kinds = set(ClusterEvent.objects.filter(cluster=cluster).values_list("kind", flat=True))
    assert {"status_changed", "priority_changed", "owner_changed", "fix_deployed"} <= kinds


def test_idempotency_key_replays_the_first_response(writer):
    cluster = ClusterFactory()
    url = f"/api/v1/clusters/{cluster.pk}/set-priority/"
    first = writer.post(url, {"priority": "P2"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    writer.post(f"/api/v1/clusters/{cluster.pk}/set-priority/", {"priority": "P3"}, format="json")
    replay = writer.post(url, {"priority": "P2"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    cluster.refresh_from_db()
    assert cluster.priority == "P3"  # the replay did not act again
    assert ClusterEvent.objects.filter(cluster=cluster, kind="priority_changed").count() == 2
    reused = writer.post(url, {"priority": "P1"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"


def test_idempotent_bulk_is_not_applied_twice(writer):
    body = {"tickets": [{"source": "x", "external_id": "1", "subject": "s"}]}
    first = writer.post("/api/v1/tickets/bulk/", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1").json()
    again = writer.post("/api/v1/tickets/bulk/", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    assert again.json() == first and first["created"] == 1


def test_customer_of_other_tenant_filters(reader):
    CustomerFactory(external_id="a", name="Alpha")
    CustomerFactory(external_id="b", name="Beta")
    names = [c["name"] for c in reader.get("/api/v1/customers/?ordering=-name").json()["results"]]
    assert names == ["Beta", "Alpha"]
    assert [c["name"] for c in reader.get("/api/v1/customers/?name=alp").json()["results"]] == ["Alpha"]
