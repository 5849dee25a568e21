"""One bad row never stops the engine: the pending sweep skips and reports a ticket it cannot read."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from tests.tickets.factories import TicketFactory
from tickets.clustering.assignment import tickets_assign_pending
from tickets.models import Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_sweep_skips_a_row_with_a_year_python_cannot_read_and_assigns_the_rest(caplog):
    bad = TicketFactory(subject="Checkout error 4001 on iOS")
    good = [TicketFactory(subject=f"Export to CSV fails with error 77{n}") for n in range(3)]
    with connection.cursor() as cursor:  # what a pre-validation API let through: year 1 BC
        cursor.execute("UPDATE tickets_ticket SET reported_at = '0001-01-01 00:00:00+00 BC' WHERE id = %s", [bad.pk])
    with caplog.at_level(logging.ERROR, logger="tickets.clustering.assignment"):
        assert tickets_assign_pending(older_than_seconds=0) == 3
        assert tickets_assign_pending(older_than_seconds=0) == 0  # the next run is not stuck either
    assert all(t.cluster_id for t in Ticket.objects.filter(pk__in=[t.pk for t in good]))
    assert f"Ticket {bad.pk} cannot be read" in caplog.text
    assert Ticket.objects.filter(pk=bad.pk, cluster__isnull=True).exists()
