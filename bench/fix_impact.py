#!/usr/bin/env python
"""Benchmark: fix impact for 500 fixed clusters over 1,000,000 tickets, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_metrics .venv/bin/python bench/fix_impact.py

Builds its own data inside one transaction (generate_series, no ORM per row) and rolls it all
back at the end, so the database is left as it was. Measures, in the same run:

* rollup_ms: the reference, a plain SQL before/after rollup over the daily-count table
  (tickets per cluster in the 30 days before and after its deploy day);
* impact_ms: the full fix-impact measurement of the 500 fixes from the same table (weekday
  profile, control series, intervals, verdicts, daily series, written back);
* rebuild_ms: rebuilding the daily-count table from the 1M tickets;
* impact_reconcile_ms: the measurement as the daily beat task runs it, recounting the windows
  from the tickets table first.

The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from metrics.models import FixImpact  # noqa: E402
from metrics.services import fix_impacts_recompute_due, rollup_rebuild  # noqa: E402
from metrics.services.rollup import local_day  # noqa: E402
from tickets.models import BugCluster, ClusterStatus  # noqa: E402

TICKETS = int(os.environ.get("BENCH_TICKETS", 1_000_000))
CLUSTERS = int(os.environ.get("BENCH_CLUSTERS", 500))
CLUSTERED_SHARE = 0.6
EFFECTS = {0.02: "complete", 0.2: "effective", 0.5: "partial", 1.0: "no_change"}


class Rollback(Exception):
    pass


def build(now) -> dict[int, float]:
    """500 fixed clusters deployed 31-330 days ago with known effects, and 1M tickets around them."""
    effects = list(EFFECTS)
    clusters = BugCluster.objects.bulk_create(
        [
            BugCluster(
                title=f"Bench bug {i}",
                status=ClusterStatus.FIXED,
                fix_deployed_at=now - timedelta(days=31 + (i * 7919) % 300, hours=(i * 13) % 24),
            )
            for i in range(CLUSTERS)
        ]
    )
    truth = {c.pk: effects[i % len(effects)] for i, c in enumerate(clusters)}
    clustered = int(TICKETS * CLUSTERED_SHARE)
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_fix (idx int, cluster_id bigint, deploy_at timestamptz, effect float)")
        cur.executemany(
            "INSERT INTO bench_fix VALUES (%s, %s, %s, %s)",
            [(i, c.pk, c.fix_deployed_at, truth[c.pk]) for i, c in enumerate(clusters)],
        )
        columns = (
            "source, external_id, subject, description, feedback_kind, evidence, evidence_completeness, status, "
            "reported_at, created_at, updated_at, cluster_id, assignment_source, assignment_reasons"
        )
        # Cluster tickets: uniform over the 61 days around the deploy, thinned after it by the true effect.
        cur.execute(
            f"""
            INSERT INTO tickets_ticket ({columns})
            SELECT 'bench', 'c-' || g, 'Bench report', '', 'bug_report', '{{}}'::jsonb, 1.0, 'new',
                   ts, now(), now(), cluster_id, 'engine', '[]'::jsonb
            FROM (
                SELECT g, f.cluster_id, f.deploy_at, f.effect,
                       date_trunc('day', f.deploy_at) + (floor(random() * 61) - 30) * interval '1 day'
                           + random() * interval '1 day' AS ts
                FROM generate_series(1, %s) g JOIN bench_fix f ON f.idx = g %% %s
            ) t
            WHERE ts < date_trunc('day', deploy_at) + interval '1 day' OR random() < effect
            LIMIT %s
            """,
            [int(clustered * 1.6), CLUSTERS, clustered],
        )
        # Everything else: unclustered tickets over the year (5% feature requests), the control series.
        cur.execute(
            f"""
            INSERT INTO tickets_ticket ({columns})
            SELECT 'bench', 'o-' || g, 'Bench other', '',
                   CASE WHEN g %% 20 = 0 THEN 'feature_request' ELSE 'bug_report' END, '{{}}'::jsonb, 1.0, 'new',
                   now() - random() * interval '365 days', now(), now(), NULL, '', '[]'::jsonb
            FROM generate_series(1, %s) g
            """,
            [TICKETS - clustered],
        )
        cur.execute("SELECT count(*) FROM tickets_ticket WHERE source = 'bench'")
        assert cur.fetchone()[0] == TICKETS, "could not build the tickets"
        cur.execute("ANALYZE tickets_ticket")
    FixImpact.objects.bulk_create(
        [FixImpact(cluster=c, deployed_at=c.fix_deployed_at, deploy_day=local_day(c.fix_deployed_at)) for c in clusters]
    )
    return truth


def sql_rollup() -> int:
    """The reference: tickets per cluster before and after its deploy day, straight from the daily counts."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT f.cluster_id,
                   coalesce(sum(v.count) FILTER (WHERE v.day < f.deploy_day), 0) AS before,
                   coalesce(sum(v.count) FILTER (WHERE v.day > f.deploy_day), 0) AS after
            FROM metrics_fiximpact f
            LEFT JOIN metrics_dailyclustervolume v
              ON v.cluster_id = f.cluster_id
             AND v.day BETWEEN f.deploy_day - 30 AND f.deploy_day + 30
            GROUP BY f.cluster_id
            """
        )
        return len(cur.fetchall())


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, round((time.perf_counter() - start) * 1000, 1)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: DATABASE_URL=postgres://USER@HOST:5432/NAME python bench/fix_impact.py")
    now = timezone.now()
    result = {}
    try:
        with transaction.atomic():
            truth, build_ms = timed(lambda: build(now))
            print(f"built {TICKETS} tickets and {CLUSTERS} fixed clusters in {build_ms / 1000:.1f} s", flush=True)
            today = local_day(now)
            _, rebuild_ms = timed(lambda: rollup_rebuild(day_from=today - timedelta(days=400), day_to=today))
            rows, rollup_ms = timed(sql_rollup)
            measured, impact_ms = timed(lambda: fix_impacts_recompute_due(now=now, reconcile=False))
            verdicts = dict(FixImpact.objects.values_list("cluster_id", "verdict"))
            right = sum(verdicts[c] == EFFECTS[e] for c, e in truth.items())
            FixImpact.objects.update(computed_through=None, is_final=False)
            measured_again, reconcile_ms = timed(lambda: fix_impacts_recompute_due(now=now, reconcile=True))
            assert rows == measured == measured_again == CLUSTERS
            result = {
                "tickets": TICKETS,
                "clusters": CLUSTERS,
                "impact_ms": impact_ms,
                "rollup_ms": rollup_ms,
                "impact_per_fix_ms": round(impact_ms / CLUSTERS, 2),
                "impact_reconcile_ms": reconcile_ms,
                "rebuild_ms": rebuild_ms,
                "verdicts_right": f"{right}/{CLUSTERS}",
            }
            raise Rollback
    except Rollback:
        pass
    print(json.dumps(result))


if __name__ == "__main__":
    main()
