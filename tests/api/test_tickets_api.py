import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory
from tickets.models import Customer, Ticket

pytestmark = pytest.mark.django_db
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)", re.I)


def test_create_validates_and_stores_evidence(writer, payment_body):
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ticket_type"] == "payment_failure"
    assert body["evidence"]["amount"] == {"amount": "49.00", "currency": "EUR"}
    assert Ticket.objects.get().external_id == "ZD-1"


def test_resending_the_same_ticket_updates_it(writer, payment_body):
    assert writer.post("/api/v1/tickets/", payment_body, format="json").status_code == 201
    payment_body["subject"] = "Card declined twice"
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 200
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().subject == "Card declined twice"


def test_put_by_key_creates_then_replaces(writer, payment_body):
    body = {k: v for k, v in payment_body.items() if k not in ("source", "external_id")}
    url = "/api/v1/tickets/by-key/freshdesk/F-77/"
    assert writer.put(url, body, format="json").status_code == 201
    body["evidence"]["error_code"] = "5002"
    response = writer.put(url, body, format="json")
    assert response.status_code == 200
    ticket = Ticket.objects.get(source="freshdesk", external_id="F-77")
    assert ticket.evidence["error_code"] == "5002"


def test_refused_evidence_names_the_path_and_stores_nothing(writer, payment_body):
    payment_body["evidence"]["amount"] = "lots"
    payment_body["evidence"]["payment_method"] = "cheque"
    payment_body["customer"] = {"external_id": "org-new", "name": "New Org"}
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "EUR 49.99" in fields["evidence.amount"][0]
    assert "credit_card" in fields["evidence.payment_method"][0]
    assert response.json()["error"] == "validation_error"
    assert not Ticket.objects.exists()
    assert not Customer.objects.filter(external_id="org-new").exists()


def test_shape_errors_say_what_is_allowed(writer, payment_body):
    payment_body["status"] = "wobbly"
    del payment_body["subject"]
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "new, open, pending, solved, closed" in fields["status"][0]
    assert "subject" in fields


def test_unknown_type_lists_the_types(writer, payment_body):
    payment_body["ticket_type"] = "nope"
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 400
    assert "login_issue" in response.json()["fields"]["ticket_type"][0]


def test_original_reported_at_known_cluster_and_new_customer(writer, payment_body):
    cluster = ClusterFactory()
    reported = (timezone.now() - timedelta(days=40)).replace(microsecond=0)
    payment_body.update(
        reported_at=reported.isoformat(), cluster=cluster.pk, customer={"external_id": "org-9", "name": "Globex"}
    )
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get()
    assert ticket.reported_at == reported
    assert ticket.cluster == cluster and ticket.assignment_source == "import"
    assert ticket.customer.name == "Globex"
    cluster.refresh_from_db()
    assert cluster.ticket_count == 1


def test_future_reported_at_and_unknown_cluster_are_refused(writer, payment_body):
    payment_body.update(reported_at=(timezone.now() + timedelta(days=2)).isoformat(), cluster=999999)
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 400
    assert "future" in response.json()["fields"]["reported_at"][0]


def test_unknown_customer_without_name_is_refused(writer, payment_body):
    payment_body["customer"] = {"external_id": "ghost"}
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 400
    assert "customer.name" in response.json()["fields"]["customer.external_id"][0]


@pytest.mark.django_db(transaction=True)
def test_create_uses_at_most_five_queries(writer, payment_body, monkeypatch):
    """Outside a test transaction, as in production; transaction control (BEGIN/COMMIT) is not counted.

    The clustering engine's assignment is enqueued after commit and runs in a worker, not in the request.
    """
    from tickets.tasks import clusters_drain_task

    enqueued = []
    monkeypatch.setattr(clusters_drain_task, "apply_async", lambda *args, **options: enqueued.append(options))
    writer.put("/api/v1/customers/org-1/", {"name": "Org One"}, format="json")  # stamps the key's last write
    payment_body["customer"] = {"external_id": "org-1"}
    with CaptureQueriesContext(connection) as captured:
        response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 201
    statements = [q["sql"] for q in captured.captured_queries if not TRANSACTION_CONTROL.match(q["sql"])]
    assert len(statements) <= 5, statements
    assert len(enqueued) == 1  # one drain task picks it (and any ticket filed in the same instant) up


def test_list_retrieve_and_query_count(reader, django_assert_max_num_queries):
    customer = CustomerFactory()
    for _ in range(15):
        TicketFactory(customer=customer, cluster=ClusterFactory())
    reader.get("/api/v1/ticket-types/")
    with django_assert_max_num_queries(4):
        response = reader.get("/api/v1/tickets/?page_size=10")
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 10 and body["next"]
    second = reader.get(body["next"]).json()
    assert len(second["results"]) == 5
    ticket_id = body["results"][0]["id"]
    assert reader.get(f"/api/v1/tickets/{ticket_id}/").json()["id"] == ticket_id
