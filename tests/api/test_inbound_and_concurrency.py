import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tickets.models import InboundMapping, Ticket, TicketType

ZENDESK = {
    "ticket": {
        "id": 35436,
        "subject": "Cannot sign in since this morning",
        "description": "Error: Invalid session",
        "created_at": "2026-11-20T08:00:00Z",
        "organization": {"id": 9001, "name": "Globex"},
        "custom_fields": [
            {"id": 360001, "value": "signin"},
            {"id": 360002, "value": "Invalid session"},
            {"id": 360003, "value": "locked"},
        ],
        "via": {"browser": "Firefox", "os": "Windows 11"},
    }
}


@pytest.fixture
def mapping(db):
    return InboundMapping.objects.create(
        slug="zendesk",
        ticket_type_path="ticket.custom_fields.360001",
        ticket_type_values={"signin": "login_issue"},
        default_ticket_type=TicketType.objects.get(key="feature_bug"),
        evidence_paths={
            "error_message": "ticket.custom_fields.360002",
            "account_status": "ticket.custom_fields.360003.value",
            "browser": "ticket.via.browser",
            "os": "ticket.via.os",
        },
    )


@pytest.mark.django_db
def test_inbound_zendesk_payload_maps_to_a_ticket(writer, mapping):
    response = writer.post("/api/v1/inbound/zendesk/", ZENDESK, format="json")
    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get()
    assert (ticket.source, ticket.external_id, ticket.ticket_type.key) == ("zendesk", "35436", "login_issue")
    assert ticket.evidence["account_status"] == "locked" and ticket.evidence["error_message"] == "Invalid session"
    assert ticket.customer.name == "Globex" and ticket.reported_at.isoformat().startswith("2026-11-20T08:00")
    again = writer.post("/api/v1/inbound/zendesk/", ZENDESK, format="json")
    assert again.status_code == 200 and Ticket.objects.count() == 1


@pytest.mark.django_db
def test_inbound_errors_name_field_and_path(writer, reader, mapping):
    payload = {"ticket": {**ZENDESK["ticket"], "custom_fields": [{"id": 360001, "value": "mystery"}]}}
    response = writer.post("/api/v1/inbound/zendesk/", payload, format="json")
    assert response.status_code == 400
    assert "ticket.custom_fields.360001" in response.json()["fields"]["ticket_type"][0]
    payload = {"ticket": {**ZENDESK["ticket"], "custom_fields": [{"id": 360001, "value": "signin"}]}}
    response = writer.post("/api/v1/inbound/zendesk/", payload, format="json")
    assert "evidence.account_status" in response.json()["fields"]
    assert not Ticket.objects.exists()
    assert writer.post("/api/v1/inbound/unknown/", ZENDESK, format="json").status_code == 404
    assert reader.post("/api/v1/inbound/zendesk/", ZENDESK, format="json").status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_external_id_from_many_threads_makes_one_ticket(write_key, payment_body):
    results: list[int] = []
    barrier = threading.Barrier(6)

    def send(n: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {write_key[1]}")
        barrier.wait()
        try:
            body = {**payment_body, "subject": f"attempt {n}"}
            results.append(client.post("/api/v1/tickets/", body, format="json").status_code)
            bulk = {"tickets": [{**payment_body, "external_id": "BULK-1", "subject": f"bulk {n}"}]}
            results.append(client.post("/api/v1/tickets/bulk/", bulk, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(results)) == [200, 201] or set(results) == {200}
    assert results.count(201) == 1
    assert Ticket.objects.filter(external_id="ZD-1").count() == 1
    assert Ticket.objects.filter(external_id="BULK-1").count() == 1
