#!/usr/bin/env python3
"""Benchmark: assessing every account (the at-risk beat task) and the customer-success and feature-request
pages, on a demo history.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_cs .venv/bin/python bench/accounts_assess.py

Works in a scratch database `<name>_bench_accounts` that it creates, migrates and drops again. Loads
`demo_seed(tickets=BENCH_TICKETS)` (default 300,000 over six months: about 50,000 in the 30-day window), then
measures `accounts_assess()` (a second run: every account assessed again, no handoff raised twice), and the
server time and SQL statements of /accounts/at-risk/, /feature-requests/ and a CSM's home through Django's
test client. Reference (same run): reading the same window's ticket rows with the same columns and nothing
else, so the figure says what detection adds to the read. The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _scratch import drop_database, scratch_database  # noqa: E402

TICKETS = int(os.environ.get("BENCH_TICKETS", 300_000))
REPEAT = 5


def page_figures(client, path: str) -> tuple[float, int]:
    """Median server milliseconds and SQL statements of GET `path` (after one warm-up)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)
    times, queries = [], 0
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, HTTP_HOST="127.0.0.1")
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries = len(captured.captured_queries)
    return sorted(times)[len(times) // 2], queries


def main() -> None:
    url = scratch_database("_bench_accounts")
    # DEBUG: pages render with plain static files (no collectstatic manifest in a scratch run).
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="triage.settings", ALLOWED_HOSTS="127.0.0.1,testserver")
    os.environ["DEBUG"] = "true"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from tickets.models import Ticket
    from triage.accounts.detection import _COLUMNS
    from triage.accounts.models import AccountHealth, Handoff
    from triage.accounts.services import accounts_assess
    from triage.demo.seed import demo_seed

    try:
        call_command("migrate", verbosity=0)
        result = demo_seed(tickets=TICKETS)
        now = timezone.now()
        window = Ticket.objects.filter(reported_at__gte=now - timedelta(days=30), customer__isnull=False).count()
        handoffs_before = Handoff.objects.count()
        started = time.perf_counter()
        assessed = accounts_assess()
        assess_seconds = time.perf_counter() - started
        started = time.perf_counter()
        rows = sum(
            1
            for _ in Ticket.objects.filter(reported_at__gte=now - timedelta(days=30), customer__isnull=False)
            .values_list(*_COLUMNS)
            .iterator(chunk_size=2000)
        )
        reference_seconds = time.perf_counter() - started
        client = Client()
        client.force_login(get_user_model().objects.get(username="csm"))
        at_risk_ms, at_risk_queries = page_figures(client, "/accounts/at-risk/")
        home_ms, home_queries = page_figures(client, "/")
        client.force_login(get_user_model().objects.get(username="lead"))
        requests_ms, requests_queries = page_figures(client, "/feature-requests/")
        at_risk = AccountHealth.objects.filter(at_risk=True).count()
        raised_again = Handoff.objects.count() - handoffs_before
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url)
    print(
        f"accounts_assess: {assessed['accounts']} accounts over {window:,} window tickets in {assess_seconds:.2f} s "
        f"(reading the same rows alone: {reference_seconds:.2f} s); {at_risk} at risk; handoffs raised again: "
        f"{raised_again}. Pages: at-risk {at_risk_ms:.0f} ms / {at_risk_queries} queries, CSM home {home_ms:.0f} ms"
        f" / {home_queries}, feature requests {requests_ms:.0f} ms / {requests_queries}."
    )
    print(
        json.dumps(
            {
                "benchmark": "accounts_assess",
                "tickets": result.tickets,
                "window_tickets": window,
                "accounts": assessed["accounts"],
                "at_risk": at_risk,
                "assess_seconds": round(assess_seconds, 2),
                "reference": "the window's ticket rows read with the same columns, no detection",
                "reference_rows": rows,
                "reference_seconds": round(reference_seconds, 2),
                "handoffs_raised_again": raised_again,
                "at_risk_page_ms": round(at_risk_ms, 1),
                "at_risk_page_queries": at_risk_queries,
                "csm_home_ms": round(home_ms, 1),
                "csm_home_queries": home_queries,
                "feature_requests_page_ms": round(requests_ms, 1),
                "feature_requests_page_queries": requests_queries,
            }
        )
    )


if __name__ == "__main__":
    main()
