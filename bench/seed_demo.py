#!/usr/bin/env python3
"""Benchmark: seed_demo's ticket loading against the plain ORM path for the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_demo .venv/bin/python bench/seed_demo.py

Works in a scratch database `<name>_bench_seed` that it creates, migrates and drops again (the
database in DATABASE_URL is not touched). Measures `demo_seed(tickets=BENCH_TICKETS)` (default
200,000: users, customers, clusters, tickets by COPY with the index rebuild, the clusters' story and
counters). Reference (same run): the same kind of ticket rows written with `Ticket.objects.bulk_create`
in batches of 2,000, for BENCH_REFERENCE_TICKETS (default 50,000) rows. The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _scratch import drop_database, scratch_database  # noqa: E402

TICKETS = int(os.environ.get("BENCH_TICKETS", 200_000))
REFERENCE = int(os.environ.get("BENCH_REFERENCE_TICKETS", 50_000))


def reference_orm(count: int) -> float:
    """Seconds to write `count` demo-like tickets with bulk_create (what a straightforward loader does)."""
    from django.db import transaction
    from django.utils import timezone

    from tickets.models import Customer, Ticket, TicketType
    from triage.demo.generate import DemoCustomer, TicketMaker
    from triage.demo.seed import demo_streams
    from triage.demo.timeline import Calendar, sample_time

    calendar = Calendar(timezone.now())
    rng = random.Random(1)
    customer = Customer.objects.first()
    demo_customer = DemoCustomer(
        customer.pk, customer.name, customer.segment, customer.plan_tier, "USD", "US East", calendar.end
    )
    types = {t.key: t.pk for t in TicketType.objects.all()}
    maker = TicketMaker(
        rng=rng,
        customers=[demo_customer],
        agent_ids=[None],
        demo_agent_id=None,
        type_ids=types,
        counted_keys={},
        end=calendar.end,
    )
    streams = demo_streams(calendar)
    started = time.perf_counter()
    with transaction.atomic():
        batch = []
        for n in range(count):
            row = maker.make(streams[n % len(streams)], sample_time(rng, calendar, n % 180))
            row["external_id"] = f"REF-{n}"
            batch.append(Ticket(**row))
            if len(batch) == 2000:
                Ticket.objects.bulk_create(batch)
                batch = []
        Ticket.objects.bulk_create(batch)
    return time.perf_counter() - started


def main() -> None:
    url = scratch_database("_bench_seed")
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="triage.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    from django.core.management import call_command

    from triage.demo.seed import demo_seed

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        result = demo_seed(tickets=TICKETS)
        seed_seconds = time.perf_counter() - started
        reference_seconds = reference_orm(REFERENCE)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url)
    print(
        f"seed_demo: {result.tickets:,} tickets in {seed_seconds:.1f} s; ORM bulk_create reference: "
        f"{REFERENCE:,} tickets in {reference_seconds:.1f} s"
    )
    print(
        json.dumps(
            {
                "benchmark": "seed_demo",
                "tickets": result.tickets,
                "seconds": round(seed_seconds, 2),
                "tickets_per_second": round(result.tickets / seed_seconds),
                "reference": "Ticket.objects.bulk_create, batches of 2,000",
                "reference_tickets": REFERENCE,
                "reference_seconds": round(reference_seconds, 2),
                "reference_tickets_per_second": round(REFERENCE / reference_seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
