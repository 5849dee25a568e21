"""While PostgreSQL restarts, API clients get a retryable 503 with Retry-After in the error shape."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_a_lost_database_connection_is_a_503_with_retry_after(writer, payment_body, monkeypatch):
    from tickets.api import views

    def connection_lost(data):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "upsert_from_api", connection_lost)
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["error"] == "database_unavailable" and "Send it again" in body["detail"]
    assert not Ticket.objects.exists()
