import pytest
from django.core.management import call_command

from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.models import Customer, Ticket

pytestmark = pytest.mark.django_db


def _item(n, **extra):
    return {
        "source": "zendesk",
        "external_id": f"B-{n}",
        "subject": f"Checkout fails {n}",
        "ticket_type": "payment_failure",
        "evidence": {"payment_method": "paypal", "amount": "12.50", "error_code": "4001"},
        **extra,
    }


def test_bulk_reports_each_item_and_stores_the_good_ones(writer):
    TicketFactory(source="zendesk", external_id="B-1", subject="old")
    cluster = ClusterFactory()
    body = {
        "tickets": [
            _item(0, customer={"external_id": "org-b", "name": "Bulk Co"}, cluster=cluster.pk),
            _item(1),
            _item(2, evidence={"amount": "x"}),
            {"source": "zendesk", "subject": "no id"},
            _item(0),
        ]
    }
    response = writer.post("/api/v1/tickets/bulk/", body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert [r["result"] for r in data["results"]] == ["created", "updated", "error", "error", "error"]
    assert (data["created"], data["updated"], data["failed"]) == (1, 1, 3)
    assert "evidence.amount" in data["results"][2]["errors"]
    assert "evidence.payment_method" in data["results"][2]["errors"]
    assert "external_id" in data["results"][3]["errors"]
    assert "item 0" in data["results"][4]["errors"]["external_id"][0]
    assert Ticket.objects.get(external_id="B-1").subject == "Checkout fails 1"
    created = Ticket.objects.get(external_id="B-0")
    assert created.id == data["results"][0]["id"]
    assert created.cluster == cluster and created.customer == Customer.objects.get(external_id="org-b")
    assert created.evidence["amount"] == {"amount": "12.50", "currency": "USD"}
    cluster.refresh_from_db()
    assert cluster.ticket_count == 1


def test_bulk_again_creates_nothing_new(writer):
    body = {"tickets": [_item(n) for n in range(30)]}
    assert writer.post("/api/v1/tickets/bulk/", body, format="json").json()["created"] == 30
    again = writer.post("/api/v1/tickets/bulk/", body, format="json").json()
    assert (again["created"], again["updated"]) == (0, 30)
    assert Ticket.objects.count() == 30


def test_bulk_limits_and_query_count(writer, django_assert_max_num_queries):
    too_many = {"tickets": [_item(n) for n in range(1001)]}
    response = writer.post("/api/v1/tickets/bulk/", too_many, format="json")
    assert response.status_code == 400 and "1000" in response.json()["fields"]["tickets"][0]
    assert writer.post("/api/v1/tickets/bulk/", {"tickets": []}, format="json").status_code == 400
    with django_assert_max_num_queries(16):
        response = writer.post("/api/v1/tickets/bulk/", {"tickets": [_item(n) for n in range(300)]}, format="json")
    assert response.json()["created"] == 300


def test_bulk_fast_path_and_serializer_agree():
    from tickets.api.serializers import TicketWriteSerializer, ticket_item_fast

    good = _item(1, customer={"external_id": "c-1"}, reported_at="2026-01-02T03:04:05+00:00", status="open")
    assert ticket_item_fast(good) == dict(TicketWriteSerializer().run_validation(good))
    for bad in (
        {**good, "status": "nope"},
        {**good, "subject": "  "},
        {**good, "reported_at": "2026-01-02"},
        {**good, "cluster": True},
        {**good, "unknown": 1},
    ):
        assert ticket_item_fast(bad) is None


def test_import_csv_dry_run_report_and_rerun(tmp_path, capsys):
    csv_file = tmp_path / "tickets.csv"
    csv_file.write_text(
        "external_id,subject,ticket_type,reported_at,customer_external_id,customer_name,"
        "evidence.payment_method,evidence.amount,evidence.error_code,status\n"
        "H-1,Declined,payment_failure,2026-03-01T09:30:00Z,org-h,Hist Co,credit_card,EUR 10,4001,solved\n"
        "H-2,Declined,payment_failure,yesterday,,,credit_card,EUR 10,4001,\n"
        "H-3,Declined,payment_failure,2026-03-02T09:30:00,,,cheque,EUR 10,4001,\n"
        "H-4,Declined,payment_failure,2026-03-02T09:30:00,,,credit_card,EUR 10,4001,wobbly\n"
    )
    report = tmp_path / "rejected.csv"
    call_command("import_tickets", str(csv_file), "--source", "zendesk", "--dry-run", "--report", str(report))
    out = capsys.readouterr().out
    assert "1 would be created" in out and "3 rejected" in out and "nothing stored" in out
    assert not Ticket.objects.exists()
    rejected = report.read_text()
    assert "reported_at" in rejected and "evidence.payment_method" in rejected and "status: 'wobbly'" in rejected

    call_command("import_tickets", str(csv_file), "--source", "zendesk")
    call_command("import_tickets", str(csv_file), "--source", "zendesk")
    out = capsys.readouterr().out
    assert "0 were created, 1 were updated, 3 rejected" in out
    ticket = Ticket.objects.get()
    assert (ticket.source, ticket.external_id, ticket.customer.name) == ("zendesk", "H-1", "Hist Co")
    assert ticket.reported_at.isoformat() == "2026-03-01T09:30:00+00:00" and ticket.status == "solved"


@pytest.mark.postgres  # SELECT … FOR UPDATE: SQLite has no row locks
def test_bulk_locks_known_tickets_in_id_order_like_the_engine(writer, payment_body):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    items = [{**payment_body, "external_id": f"ZD-{n}"} for n in (5, 3, 9, 1)]
    assert writer.post("/api/v1/tickets/bulk/", {"tickets": items}, format="json").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert writer.post("/api/v1/tickets/bulk/", {"tickets": items}, format="json").json()["updated"] == 4
    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"] and "tickets_ticket" in q["sql"]]
    assert locking and all('ORDER BY "tickets_ticket"."id" ASC' in sql for sql in locking), locking


def test_a_bulk_upsert_picked_to_break_a_deadlock_is_run_again(writer, payment_body, monkeypatch):
    import psycopg2.errors
    from django.db import OperationalError

    from tickets.intake import ingest

    real = ingest._bulk_upsert_once
    calls = []

    def deadlocked_once(items):
        calls.append(1)
        if len(calls) == 1:
            try:
                raise psycopg2.errors.DeadlockDetected("deadlock detected")
            except psycopg2.errors.DeadlockDetected as cause:
                raise OperationalError("deadlock detected") from cause
        return real(items)

    monkeypatch.setattr(ingest, "_bulk_upsert_once", deadlocked_once)
    monkeypatch.setattr(psycopg2.errors.DeadlockDetected, "pgcode", "40P01", raising=False)
    items = [{**payment_body, "external_id": f"ZD-{n}"} for n in range(3)]
    response = writer.post("/api/v1/tickets/bulk/", {"tickets": items}, format="json")
    assert response.status_code == 200 and response.json()["created"] == 3
    assert len(calls) == 2
