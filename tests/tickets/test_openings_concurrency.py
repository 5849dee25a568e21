"""Two workers assigning one burst of a new bug at the same moment open one cluster, not two."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.tickets.factories import TicketFactory
from tickets.clustering import assignment
from tickets.models import BugCluster, Ticket, TicketType

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _burst(code: str, n: int) -> list[int]:
    payment = TicketType.objects.get(key="payment_failure")
    return [
        TicketFactory(
            subject=f"Checkout fails with error {code} ({i})",
            description=f"The payment page shows error code {code} after the card step.",
            ticket_type=payment,
            evidence={"error_code": code, "payment_method": "credit_card"},
        ).pk
        for i in range(n)
    ]


def _race(monkeypatch, halves: list[list[int]]) -> None:
    """Each worker ranks its half, then all write at once: every one decided before any committed."""
    barrier = threading.Barrier(len(halves), timeout=20)
    real_write = assignment._write
    first = threading.local()

    def write_together(*args, **kwargs):
        if not getattr(first, "done", False):
            first.done = True
            barrier.wait()
        return real_write(*args, **kwargs)

    monkeypatch.setattr(assignment, "_write", write_together)
    errors = []

    def worker(ids):
        try:
            assignment.tickets_assign(ids)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(ids,)) for ids in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


@pytest.mark.parametrize("workers", [2, 4])
def test_concurrent_workers_open_one_cluster_per_new_bug(monkeypatch, workers):
    ids = _burst("7731", 4 * workers)
    _race(monkeypatch, [ids[i::workers] for i in range(workers)])
    tickets = Ticket.objects.filter(pk__in=ids)
    assert all(t.cluster_id for t in tickets)
    assert BugCluster.objects.count() == 1
    assert BugCluster.objects.get().ticket_count == len(ids)
