#!/usr/bin/env python3
"""Benchmark: one SLA sweep over 100,000 open clusters with 1,000 due, then with 10x the non-due rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_slas .venv/bin/python bench/sla_sweep.py

Works in a scratch database `<name>_bench` that it creates, migrates and drops again (the
database in DATABASE_URL is not touched). Alert delivery tasks are published to an in-memory
broker and not consumed, so the figure is the sweep itself: finding due timers through the
partial index, claiming them, writing the alerts and cluster events, moving the timers on.
Reference (same run): a scan that reads every open timer, which is what an unindexed sweep costs.
The last line is one JSON object.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _scratch import drop_database, scratch_database  # noqa: E402

OPEN, DUE, REPEATS = int(os.environ.get("BENCH_OPEN", 100_000)), 1_000, 5


def add_clusters(cursor, count: int, *, due: int, policy_id: int) -> None:
    """`count` open clusters, each with a running acknowledgment timer and a resolution timer;
    the first `due` acknowledgment timers are due a minute ago, the others in 1-30 days."""
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM tickets_bugcluster")
    first = cursor.fetchone()[0] + 1
    cursor.execute(
        """
        INSERT INTO tickets_bugcluster (kind, title, summary, root_cause, status, priority, workaround,
            engineering_url, labels, ticket_count, created_at, updated_at)
        SELECT 'bug', 'Bench bug ' || g, '', '', 'new', 'P2', '', '', '[]'::jsonb, 1, now(), now()
        FROM generate_series(%s, %s) AS g
        """,
        [first, first + count - 1],
    )
    cursor.execute(
        """
        INSERT INTO slas_slatimer (cluster_id, target, policy_id, state, target_seconds, opened_at, cycle,
            consumed_seconds, running_since, deadline_at, next_stage, next_fire_at, updated_at)
        SELECT c.id, t.target, %s, 'running', 86400, now() - interval '1 day', 0, 0, now() - interval '1 day',
            CASE WHEN t.target = 'ack' AND rn <= %s THEN now() - interval '1 minute'
                 ELSE now() + (1 + rn %% 30) * interval '1 day' END,
            1,
            CASE WHEN t.target = 'ack' AND rn <= %s THEN now() - interval '1 minute'
                 ELSE now() + (1 + rn %% 30) * interval '1 day' END,
            now()
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM tickets_bugcluster WHERE id >= %s) AS c
        CROSS JOIN (VALUES ('ack'), ('resolution')) AS t(target)
        """,
        [policy_id, due, due, first],
    )


def reset_due(cursor, due_ids: list[int]) -> None:
    cursor.execute("DELETE FROM tickets_clusterevent WHERE kind = 'alert'")
    cursor.execute("DELETE FROM slas_alert")
    cursor.execute(
        "UPDATE slas_slatimer SET next_stage = 1, breached_at = NULL, next_fire_at = now() - interval '1 minute' "
        "WHERE id = ANY(%s)",
        [due_ids],
    )
    cursor.execute("ANALYZE")


def measure(due_ids: list[int]) -> tuple[float, float, int]:
    """(best, median) wall time of one sweep over the same 1,000 due timers, reset between runs."""
    from django.db import connection

    from slas.channels import cluster_url
    from slas.models import Alert
    from slas.services import timers_sweep

    cluster_url(1)  # load the URL configuration once, as a running worker already has
    # Setting up (migrate, the URL conf) leaves hundreds of thousands of objects a worker does not
    # hold; freeze them so a full garbage collection over them is not timed as part of the sweep.
    gc.collect()
    gc.freeze()
    timings = []
    for _ in range(REPEATS):
        with connection.cursor() as cursor:
            reset_due(cursor, due_ids)
        started = time.perf_counter()
        result = timers_sweep()
        timings.append((time.perf_counter() - started) * 1000)
        assert result["alerts"] == DUE and Alert.objects.count() == DUE, result
    return min(timings), statistics.median(timings), result["alerts"]


def main() -> None:
    bench_url = scratch_database("_bench")
    os.environ.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="triage.settings",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only"),
        CELERY_BROKER_URL="memory://",
        CELERY_TASK_ALWAYS_EAGER="false",
        LOG_LEVEL="warning",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from slas.models import SlaPolicy, SlaTimer

    try:
        call_command("migrate", verbosity=0)
        policy = SlaPolicy.objects.create(name="Bench", position=1, ack_minutes=1440, resolution_minutes=43200)
        with connection.cursor() as cursor:
            add_clusters(cursor, OPEN, due=DUE, policy_id=policy.pk)
        due_ids = list(
            SlaTimer.objects.filter(next_fire_at__lte=django.utils.timezone.now()).values_list("pk", flat=True)
        )
        assert len(due_ids) == DUE

        started = time.perf_counter()
        scanned = sum(1 for _ in SlaTimer.objects.filter(state="running").values_list("pk", "next_fire_at").iterator())
        reference_ms = (time.perf_counter() - started) * 1000

        sweep_ms, sweep_median, fired = measure(due_ids)
        print(
            f"{OPEN:,} open clusters ({scanned:,} running timers), {DUE:,} due: sweep best {sweep_ms:.1f} ms, "
            f"median {sweep_median:.1f} ms of {REPEATS}; reading every open timer instead: {reference_ms:.1f} ms",
            flush=True,
        )

        with connection.cursor() as cursor:
            add_clusters(cursor, OPEN * 9, due=0, policy_id=policy.pk)
        sweep_ms_10x, sweep_median_10x, _ = measure(due_ids)
        open_10x = OPEN * 10
        print(
            f"{open_10x:,} open clusters, {DUE:,} due: "
            f"sweep best {sweep_ms_10x:.1f} ms, median {sweep_median_10x:.1f} ms",
            flush=True,
        )
    finally:
        connection.close()
        drop_database(bench_url)

    print(
        json.dumps(
            {
                "open": OPEN,
                "due": DUE,
                "sweep_ms": round(sweep_ms, 1),
                "sweep_ms_10x": round(sweep_ms_10x, 1),
                "sweep_ms_median": round(sweep_median, 1),
                "sweep_ms_10x_median": round(sweep_median_10x, 1),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "open_10x": open_10x,
                "alerts_per_sweep": fired,
                "reference_full_scan_ms": round(reference_ms, 1),
                "budget_ms": 500,
            }
        )
    )


if __name__ == "__main__":
    main()
