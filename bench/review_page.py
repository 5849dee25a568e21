#!/usr/bin/env python3
"""Benchmark: the weekly review page with 1,000,000 tickets over a year and 20,000 clusters in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage python bench/review_page.py

Works in a scratch database `<name>_bench_review` that it creates, migrates and drops again (the
database in DATABASE_URL is not touched). It builds a year of history in bulk, in the organisation's
time zone (Europe/Berlin): 20,000 bug clusters opened over the year (the oldest the biggest, sizes
heavy-tailed), 1,000,000 tickets reported between each cluster's opening and now plus unclustered
feature requests (50,000 tickets in 500 feature-request clusters, a third of them decided), 2,000
customers with about 6,500 at-risk handoffs over the year (about 125 a week), the daily rollup, SLA
clocks of the open clusters, breach, threshold and spike alerts, 2,000 measured fixes with their
verdict history, cluster stories, a meeting record and the week's pattern snapshot (mined by the real
task).

Then it asks for `/review/` (this week) as a product lead through Django's test client, in the
same process, and reports the server time (the median of BENCH_RUNS requests after warming up; p95
too; and the CPU time the process spent, which other processes' load does not inflate) and the SQL
statements of one request. Reference, same run: the cluster list page (`/clusters/`, 50 clusters a
page) through the same client. The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _scratch import drop_database, scratch_database  # noqa: E402

TICKETS = int(os.environ.get("BENCH_TICKETS", 1_000_000))
CLUSTERS = int(os.environ.get("BENCH_CLUSTERS", 20_000))
FEATURE_REQUESTS = TICKETS // 20  # feature-request tickets on top of the bug tickets
FEATURE_CLUSTERS = 500
CUSTOMERS = 2_000
FIXES = CLUSTERS // 10
RUNS = int(os.environ.get("BENCH_RUNS", 30))
TIME_ZONE = "Europe/Berlin"


def build() -> None:
    from django.contrib.auth.models import Group
    from django.db import connection

    from tests.tickets.factories import UserFactory
    from tickets.models import Role, TicketType

    lead = UserFactory(username="bench.lead", first_name="Lena", last_name="Lead")
    lead.groups.add(Group.objects.get(name=Role.PRODUCT_LEAD))
    types = [
        TicketType.objects.get(key=k).pk for k in ("login_issue", "payment_failure", "feature_bug", "performance_issue")
    ]
    feature_type = TicketType.objects.get(key="feature_request").pk
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(
            """
            INSERT INTO tickets_customer (id, name, external_id, segment, plan_tier, mrr, created_at, updated_at)
            SELECT g, 'Customer ' || g, 'ORG-' || g,
                (ARRAY['enterprise','mid_market','smb','smb'])[1 + g %% 4], 'business', 50 + (g * 37) %% 9000,
                now(), now()
            FROM generate_series(1, %s) g
            """,
            [CUSTOMERS],
        )
        # Clusters: rank 1 is the biggest and the oldest; the last ones were opened in the last days.
        cursor.execute(
            """
            CREATE TEMP TABLE bench_clusters AS
            SELECT g AS id,
                   greatest(1, round(%s / power(g + 10, 0.9)))::int AS size,
                   now() - interval '365 days' * (1 - (g - 1)::float / %s) * (0.9 + 0.1 * random())
                       - interval '1 hour' AS opened
            FROM generate_series(1, %s) g
            """,
            [TICKETS / sum(1 / (n + 10) ** 0.9 for n in range(1, CLUSTERS + 1)), CLUSTERS, CLUSTERS],
        )
        cursor.execute(
            """
            INSERT INTO tickets_bugcluster (id, kind, title, summary, root_cause, status, priority, ticket_type_id,
                owner_id, workaround, engineering_url, labels, ticket_count, created_at, updated_at, spike_details,
                acknowledged_at, last_product_update_at)
            SELECT c.id, 'bug', 'Bench bug ' || c.id, '', '',
                CASE WHEN c.opened > now() - interval '7 days' THEN 'new'
                     WHEN c.id %% 10 = 0 THEN 'fixed' WHEN c.id %% 10 = 1 THEN 'verified'
                     WHEN c.id %% 10 < 5 THEN 'in_progress' ELSE 'acknowledged' END,
                CASE WHEN c.opened > now() - interval '7 days' THEN '' ELSE (ARRAY['P1','P2','P3'])[1 + c.id %% 3] END,
                (ARRAY[%s, %s, %s, %s])[1 + c.id %% 4],
                CASE WHEN c.opened > now() - interval '7 days' THEN NULL ELSE %s END,
                '', '', '[]'::jsonb, c.size, c.opened, now(), '{}'::jsonb,
                CASE WHEN c.opened > now() - interval '7 days' THEN NULL ELSE c.opened + interval '20 hours' END,
                CASE WHEN c.opened > now() - interval '7 days' THEN NULL ELSE c.opened + interval '2 days' END
            FROM bench_clusters c
            """,
            [*types, lead.pk],
        )
        cursor.execute(
            """
            INSERT INTO tickets_ticket (source, external_id, subject, description, feedback_kind, ticket_type_id,
                evidence, evidence_completeness, customer_id, status, reported_at, created_at, updated_at, cluster_id,
                cluster_assigned_at, assignment_source, assignment_reasons, match_features)
            SELECT 'bench', c.id || '-' || g, 'Bench bug ' || c.id || ' again',
                CASE WHEN g %% 3 = 0 THEN 'The customer says it fails again every time they save the plan.' ELSE '' END,
                'bug_report', b.ticket_type_id,
                jsonb_build_object('browser', (ARRAY['Chrome 122','Safari 17.4','Firefox 123','Edge 122'])[1 + g %% 4],
                                   'os', (ARRAY['Windows 11','macOS 14','iOS 17.4','Android 14'])[1 + (g / 4) %% 4],
                                   'steps_to_reproduce', '1. Open the plan 2. Save it'),
                0.5 + (g %% 6) / 10.0, 1 + (c.id * 7919 + g * 104729) %% %s, 'new', t.at, t.at, t.at, c.id, t.at,
                'engine', '[]'::jsonb, '{}'::jsonb
            FROM bench_clusters c JOIN tickets_bugcluster b ON b.id = c.id, generate_series(1, c.size) g,
                LATERAL (SELECT c.opened + (now() - c.opened) * random() + (g * interval '0 second') AS at) t
            """,
            [CUSTOMERS],
        )
        # Feature requests: clusters of their own kind (the busiest ask most), a third of them decided.
        cursor.execute(
            """
            INSERT INTO tickets_bugcluster (id, kind, title, summary, root_cause, status, priority, ticket_type_id,
                owner_id, workaround, engineering_url, labels, ticket_count, created_at, updated_at, spike_details)
            SELECT %s + g, 'feature_request', 'Bench request ' || g, '', '',
                (ARRAY['new','acknowledged','in_progress'])[1 + g %% 3], '', %s, %s, '', '', '[]'::jsonb, 0,
                now() - interval '365 days', now(), '{}'::jsonb
            FROM generate_series(1, %s) g
            """,
            [CLUSTERS, feature_type, lead.pk, FEATURE_CLUSTERS],
        )
        cursor.execute(
            """
            INSERT INTO tickets_featurerequestdecision (cluster_id, decision, quarter, reason, decided_by_id,
                decided_at)
            SELECT %s + g, CASE WHEN g %% 2 = 0 THEN 'planned' ELSE 'under_consideration' END,
                CASE WHEN g %% 2 = 0 THEN '2027-Q1' ELSE '' END, '', %s, now() - interval '30 days'
            FROM generate_series(3, %s, 3) g
            """,
            [CLUSTERS, lead.pk, FEATURE_CLUSTERS],
        )
        cursor.execute(
            """
            INSERT INTO tickets_ticket (source, external_id, subject, description, feedback_kind, ticket_type_id,
                evidence, evidence_completeness, customer_id, status, reported_at, created_at, updated_at,
                cluster_id, cluster_assigned_at, assignment_source, assignment_reasons, match_features)
            SELECT 'bench-fr', 'FR-' || g, 'Please add an export to Excel', 'We need it for the board.',
                'feature_request', %s,
                CASE WHEN g %% 2 = 0 THEN jsonb_build_object('customer_words', 'We rebuild the export by hand.')
                     ELSE '{}'::jsonb END,
                1, 1 + g %% %s, 'new', t.at, t.at, t.at,
                %s + 1 + floor(%s * power(random(), 2))::int, t.at, 'engine', '[]', '{}'
            FROM generate_series(1, %s) g,
                LATERAL (SELECT now() - interval '365 days' * random() + g * interval '0 s' AS at) t
            """,
            [feature_type, CUSTOMERS, CLUSTERS, FEATURE_CLUSTERS, FEATURE_REQUESTS],
        )
        # At-risk handoffs: each account flagged in one 30-day window of four, at a random moment of it.
        cursor.execute(
            """
            INSERT INTO triage_handoff (customer_id, kind, window_start, handoff_type, urgency, score, triggers,
                signals, evidence_ids, message, body, recipients, payload, deliveries, attempts, last_error, status,
                intervention, result, result_note, created_at, sent_at)
            SELECT c, 'at_risk', (now() - k * interval '30 days')::date, 'Save play: retention call', 'critical', 4,
                '["churn_language"]'::jsonb,
                '[{"name": "Churn or cancellation language", "summary": "in 2 tickets", "trigger": "churn_language",
                   "weight": 3}]'::jsonb,
                '[]'::jsonb, 'Customer ' || c, '', '[]'::jsonb, '{}'::jsonb, '{}'::jsonb, 1, '',
                (ARRAY['open','acknowledged','intervened','closed'])[1 + (c + k) %% 4], '', '', '',
                t.at, t.at
            FROM generate_series(1, %s) c, generate_series(0, 12) k,
                LATERAL (SELECT now() - (k + random()) * interval '30 days' + c * interval '0 s' AS at) t
            WHERE (c + k) %% 4 = 0
            """,
            [CUSTOMERS],
        )
        cursor.execute(
            """
            UPDATE tickets_bugcluster b SET ticket_count = s.n, first_reported_at = s.first, last_reported_at = s.last
            FROM (SELECT cluster_id, count(*) n, min(reported_at) first, max(reported_at) last
                  FROM tickets_ticket WHERE cluster_id IS NOT NULL GROUP BY cluster_id) s
            WHERE s.cluster_id = b.id
            """
        )
        # The daily rollup the beat tasks keep, in the organisation's time zone.
        cursor.execute(
            """
            INSERT INTO metrics_dailyclustervolume (cluster_id, day, count)
            SELECT cluster_id, (reported_at AT TIME ZONE %s)::date, count(*) FROM tickets_ticket
            WHERE cluster_id IS NOT NULL GROUP BY 1, 2
            """,
            [TIME_ZONE],
        )
        cursor.execute(
            """
            INSERT INTO metrics_dailyticketvolume (day, feedback_kind, count)
            SELECT (reported_at AT TIME ZONE %s)::date, feedback_kind, count(*) FROM tickets_ticket GROUP BY 1, 2
            """,
            [TIME_ZONE],
        )
        build_history(cursor, lead.pk)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('tickets_bugcluster', 'id'), %s)", [CLUSTERS + FEATURE_CLUSTERS]
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('tickets_customer', 'id'), %s)", [CUSTOMERS])
        cursor.execute("VACUUM ANALYZE")  # as autovacuum keeps a live database: index-only scans work


def build_history(cursor, lead_id: int) -> None:
    """Stories, SLA clocks and alerts, fixes and their verdicts, and last week's meeting."""
    cursor.execute(
        """
        INSERT INTO tickets_clusterevent (cluster_id, actor_id, kind, message, data, created_at)
        SELECT b.id, CASE WHEN k.n = 0 THEN NULL ELSE %s END, k.kind, k.message, k.data,
               b.created_at + k.n * interval '20 hours'
        FROM tickets_bugcluster b, (VALUES
            (0, 'created', 'Opened', '{}'::jsonb),
            (1, 'priority_changed', '', '{"from": "", "to": "P2"}'::jsonb),
            (2, 'status_changed', '', '{"from": "new", "to": "acknowledged"}'::jsonb),
            (3, 'response', 'Thanks, we are looking into it.', '{}'::jsonb)) AS k(n, kind, message, data)
        WHERE b.status <> 'new' OR k.n = 0
        """,
        [lead_id],
    )
    cursor.execute(
        """
        INSERT INTO slas_slatimer (cluster_id, target, state, target_seconds, opened_at, cycle, consumed_seconds,
            running_since, deadline_at, next_stage, next_fire_at, updated_at)
        SELECT b.id, t.target, 'running', 86400 * t.days, b.created_at, 0, 0, now(),
               b.created_at + t.days * interval '1 day', 1, NULL, now()
        FROM tickets_bugcluster b, (VALUES ('ack', 1), ('update', 7), ('resolution', 30)) AS t(target, days)
        WHERE b.status IN ('new', 'acknowledged', 'in_progress')
        """
    )
    cursor.execute(
        """
        INSERT INTO slas_alert (cluster_id, kind, target, level, cycle, due_at, message, recipients, payload,
            deliveries, attempts, enqueued_at, sent_at, last_error, created_at)
        SELECT t.cluster_id, 'breach', t.target, 0, 0, t.deadline_at, 'SLA breach on #' || t.cluster_id, '[]',
               jsonb_build_object(
                   'due_at', to_char(t.deadline_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')),
               '{}', 1, t.deadline_at, t.deadline_at, '', t.deadline_at + interval '1 minute'
        FROM slas_slatimer t WHERE t.deadline_at < now()
        """
    )
    cursor.execute(
        """
        INSERT INTO slas_alert (cluster_id, kind, target, level, cycle, message, recipients, payload, deliveries,
            attempts, enqueued_at, sent_at, last_error, created_at)
        SELECT b.id, CASE WHEN b.id % 2 = 0 THEN 'threshold' ELSE 'spike' END, '', 0, 0, 'Volume alert on #' || b.id,
               '[]', jsonb_build_object('count', 25, 'window_days', 7, 'ratio', 3.5), '{}', 1, now(), now(), '',
               now() - interval '365 days' * random()
        FROM tickets_bugcluster b WHERE b.id <= 2000
        """
    )
    series = json.dumps(
        [
            {"day": f"2026-01-{1 + i % 28:02d}", "period": "before" if i < 30 else "deploy" if i == 30 else "after",
             "tickets": 4 if i < 30 else 1, "expected": 4.0, "low": 2.0, "high": 6.0}
            for i in range(61)
        ]
    )  # fmt: skip
    cursor.execute(
        """
        WITH fixed AS (
            SELECT id, created_at + (now() - created_at) * (0.2 + 0.7 * random()) AS deployed
            FROM tickets_bugcluster WHERE status IN ('fixed', 'verified') ORDER BY id LIMIT %s)
        INSERT INTO metrics_fiximpact (cluster_id, deployed_at, deploy_day, verdict, provisional_verdict, reason,
            days_observed, is_final, baseline_tickets, after_tickets, min_baseline_tickets, before_per_day,
            after_per_day, expected_after, change_pct, dow_profile, dispersion, control_used, series, computed_at,
            created_at, updated_at, inputs_digest)
        SELECT id, deployed, deployed::date,
               CASE WHEN deployed < now() - interval '31 days'
                    THEN (ARRAY['complete','effective','partial','no_change'])[1 + id %% 4] ELSE 'pending' END,
               CASE WHEN deployed < now() - interval '31 days' THEN '' ELSE 'effective' END, '',
               least(30, (now()::date - deployed::date) - 1), deployed < now() - interval '31 days',
               120, 20, 10, 4, 0.7, 120, -80, '[]', 1, true, %s::jsonb, now(), now(), now(), ''
        FROM fixed
        """,
        [FIXES, series],
    )
    cursor.execute(
        """
        INSERT INTO metrics_fixverdictchange (fix_impact_id, measured_at, verdict, provisional_verdict,
            previous_verdict, previous_provisional_verdict, change_pct, days_observed)
        SELECT f.id, f.deployed_at + interval '8 days', 'pending', 'effective', '', '', -80, 7
        FROM metrics_fiximpact f WHERE f.deployed_at + interval '8 days' < now()
        UNION ALL
        SELECT f.id, f.deployed_at + interval '31 days', f.verdict, '', 'pending', 'effective', -80, 30
        FROM metrics_fiximpact f WHERE f.is_final
        """
    )
    cursor.execute(
        """
        INSERT INTO triage_meetingitem (week, kind, text, owner_id, due_date, cluster_id, created_by_id, created_at)
        SELECT (date_trunc('week', now() AT TIME ZONE %s) - k.weeks * interval '7 days')::date, k.kind,
               'Follow up on bench bug ' || k.n, %s, NULL, k.n, %s, now()
        FROM (VALUES (0, 'decision', 1), (0, 'action', 2), (1, 'action', 3), (1, 'action', 4), (1, 'decision', 5))
            AS k(weeks, kind, n)
        """,
        [TIME_ZONE, lead_id, lead_id],
    )


def median_ms(client, path: str, runs: int) -> tuple[float, float, float]:
    """Median and p95 wall time of `runs` requests after warming up, and the median CPU time this process
    spent on them (the rest is waiting: for PostgreSQL, or for a CPU other processes hold)."""
    for _ in range(3):
        assert client.get(path).status_code == 200, path
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], statistics.median(cpu)


def main() -> None:
    url = scratch_database("_bench_review")
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory, which would distort the timing
    os.environ["TIME_ZONE"] = TIME_ZONE
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.ALLOWED_HOSTS = ["testserver"]
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        build()
        from triage.review.services import week_patterns_refresh
        from triage.review.weeks import week_current

        week_patterns_refresh(week=week_current())
        build_seconds = time.perf_counter() - started
        from django.contrib.auth import get_user_model

        from tickets.models import BugCluster, Ticket
        from triage.accounts.models import Handoff

        tickets, clusters = Ticket.objects.count(), BugCluster.objects.filter(kind="bug").count()
        requests = BugCluster.objects.filter(kind="feature_request").count()
        handoffs = Handoff.objects.count()
        setup_test_environment()
        client = Client()
        client.force_login(get_user_model().objects.get(username="bench.lead"))
        review_ms, review_p95, review_cpu = median_ms(client, "/review/", RUNS)
        statements: list[str] = []

        def count(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            page = client.get("/review/").content.decode()
        reference_ms, reference_p95, reference_cpu = median_ms(client, "/clusters/", RUNS)
        keys = ("top", "new", "fixes", "patterns", "slas", "trends", "requests", "accounts")
        shown = {key: f'id="section-{key}"' in page for key in keys}
        shown["request rows"] = 'id="row-requests-' in page
        shown["at-risk rows"] = 'id="row-accounts-' in page
        print(
            f"review page: {review_ms:.1f} ms median ({review_p95:.1f} ms p95) in {len(statements)} "
            f"queries with {tickets:,} tickets and {clusters:,} clusters; cluster list reference {reference_ms:.1f} ms "
            f"(data built in {build_seconds:.0f} s)",
            flush=True,
        )
        print(
            json.dumps(
                {
                    "benchmark": "review_page",
                    "tickets": tickets,
                    "clusters": clusters,
                    "feature_request_clusters": requests,
                    "at_risk_handoffs": handoffs,
                    "server_ms": round(review_ms, 1),
                    "server_p95_ms": round(review_p95, 1),
                    "server_cpu_ms": round(review_cpu, 1),
                    "queries": len(statements),
                    "page_kib": round(len(page.encode()) / 1024),
                    "sections_shown": all(shown.values()),
                    "reference_cluster_list_ms": round(reference_ms, 1),
                    "reference_cluster_list_p95_ms": round(reference_p95, 1),
                    "reference_cluster_list_cpu_ms": round(reference_cpu, 1),
                    "load_average": round(os.getloadavg()[0], 2),
                    "runs": RUNS,
                }
            )
        )
    finally:
        connection.close()
        drop_database(url)


if __name__ == "__main__":
    main()
