#!/usr/bin/env python3
"""Benchmark: one worker assigning new tickets with 1,000,000 tickets and 20,000 open clusters in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage python bench/cluster_assign.py

Works in a scratch database `<name>_bench_cluster` that it creates, migrates and drops again (the
database in DATABASE_URL is not touched). It builds the history in bulk: 1,000,000 tickets over
25,000 clusters (20,000 open, sizes heavy-tailed), the postings, profiles and term statistics the
engine keeps for them (built from synthetic bug wordings through the engine's own feature
extraction). Then it files `BENCH_NEW` new tickets (80% new reports of known bugs in other words,
20% new bugs) and assigns them in one process, as the Celery tasks do, with the ranking, the
writes and the receivers of `ticket_assigned` (SLA, metrics, threshold alerts):

- `BENCH_SINGLE` of them one at a time (`ticket_assign`, a lone filing);
- the rest as a backlog the worker drains in batches of `BATCH_SIZE` (`tickets_assign`, what the
  drain and bulk tasks do when tickets wait). `tickets_per_second` and `p95_ms` are this mode's:
  a ticket's cost is its batch's time over the batch's size; `batch_p95_ms` is how long a whole
  batch takes, the most a ticket in it waits for its cluster.

Reference (same run, same tickets): the least any assignment must do, one UPDATE of the ticket's
cluster through the ORM. The last line is one JSON object.
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _scratch import drop_database, scratch_database  # noqa: E402

TICKETS = int(os.environ.get("BENCH_TICKETS", 1_000_000))
OPEN_CLUSTERS = int(os.environ.get("BENCH_OPEN_CLUSTERS", 20_000))
CLOSED_CLUSTERS = OPEN_CLUSTERS // 4
NEW = int(os.environ.get("BENCH_NEW", 3_000))
SINGLE = int(os.environ.get("BENCH_SINGLE", 500))  # of NEW, assigned one at a time; the rest as a backlog
WARMUP = int(os.environ.get("BENCH_WARMUP", 100))
VARIANTS = 4  # wordings per bug whose features become the cluster's exemplars

COMMON_TEXT = (
    "error page load loading fails failed failing customer account click button screen app web browser "
    "shows showing message again today yesterday works working stopped issue problem team report reports "
    "settings update updated save saving open opens email notification user users data export import "
    "slow fast time timeout crash crashes blank empty wrong missing duplicate twice login sign payment "
    "checkout invoice project task tasks calendar mobile desktop windows mac chrome safari firefox"
)
COMMON = COMMON_TEXT.split()
CONSONANTS, VOWELS = "bdfgklmnprstvz", "aiou"


def word(rng: random.Random) -> str:
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.randint(2, 3))) + "x"


class Bug:
    """A synthetic recurring bug: its own words, maybe an error code, and how customers word it."""

    def __init__(self, rng: random.Random, n: int):
        self.words = [word(rng) for _ in range(6)]
        self.code = f"E{rng.randint(1000, 9999)}" if rng.random() < 0.3 else None
        self.n = n

    def wording(self, rng: random.Random) -> tuple[str, str, dict]:
        own = rng.sample(self.words, 4)
        subject = " ".join(own[:2] + rng.sample(COMMON, 2))
        body = " ".join(own + rng.sample(COMMON, 10))
        if self.code:
            body += f" error {self.code}"
        return subject, body, ({"error_code": self.code} if self.code else {})


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v).replace("\\", "\\\\") for v in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def build(rng: random.Random) -> tuple[list, list]:
    from collections import Counter

    from django.db import connection

    from tickets.clustering import index
    from tickets.clustering.features import extract

    clusters = OPEN_CLUSTERS + CLOSED_CLUSTERS
    bugs = [Bug(rng, n) for n in range(clusters)]
    weights = [1 / (n + 10) ** 0.9 for n in range(clusters)]  # heavy-tailed sizes
    scale = TICKETS / sum(weights)
    sizes = [max(1, round(w * scale)) for w in weights]
    sizes[0] += TICKETS - sum(sizes)
    order = list(range(clusters))
    rng.shuffle(order)  # big clusters are spread over open and closed ones
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(
            """
            INSERT INTO tickets_bugcluster (id, kind, title, summary, root_cause, status, priority, workaround,
                engineering_url, labels, ticket_count, created_at, updated_at, first_reported_at, last_reported_at,
                spike_details)
            SELECT g, 'bug', 'Bench bug ' || g, '', '', CASE WHEN g <= %s THEN 'acknowledged' ELSE 'verified' END,
                'P2', '', '', '[]'::jsonb, 0, now() - interval '200 days', now(), now() - interval '200 days',
                now() - (g %% 30) * interval '1 day', '{}'::jsonb
            FROM generate_series(1, %s) AS g
            """,
            [OPEN_CLUSTERS, clusters],
        )
        ticket_rows = []
        stats: Counter[str] = Counter()
        profile_rows, posting_rows = [], []
        for position, bug_index in enumerate(order):
            cluster_id = position + 1
            bug = bugs[bug_index]
            bug.cluster_id = cluster_id
            size = sizes[bug_index]
            variants = [
                extract(subject=s, description=d, evidence=e) for s, d, e in (bug.wording(rng) for _ in range(VARIANTS))
            ]
            share = size / VARIANTS
            postings: Counter[str] = Counter()
            profile_fp: Counter[str] = Counter()
            for features in variants:
                for term in index.stat_terms(features):
                    stats[term] += share
                stats[index.STAT_LENGTH] += features.length * share
                for term, w in index.posting_terms(features).items():
                    postings[term] += w * share
                profile_fp.update(dict.fromkeys(features.fingerprints, share))
            exemplars = [{"id": -(cluster_id * 10 + i), "t": f.terms, "n": f.length} for i, f in enumerate(variants)]
            profile_rows.append(
                (cluster_id, "bug", json.dumps(exemplars), json.dumps(profile_fp), "{}", size, "2026-01-01 00:00+00")
            )
            if cluster_id <= OPEN_CLUSTERS:
                posting_rows += [(cluster_id, "bug", t, round(w, 3)) for t, w in postings.items()]
            ticket_rows.append((cluster_id, size))
        stats[index.STAT_TICKETS] = TICKETS
        copy_rows(
            cursor,
            "tickets_clusterprofile",
            ["cluster_id", "kind", "exemplars", "fingerprints", "evidence", "tickets", "updated_at"],
            profile_rows,
        )
        copy_rows(cursor, "tickets_clusterterm", ["cluster_id", "kind", "term", "weight"], posting_rows)
        copy_rows(cursor, "tickets_termstat", ["term", "tickets"], ((t[:120], round(n, 2)) for t, n in stats.items()))
        # The million tickets themselves, spread over their clusters and the last 200 days.
        cursor.execute("CREATE TEMP TABLE bench_sizes (cluster_id int, size int)")
        copy_rows(cursor, "bench_sizes", ["cluster_id", "size"], ticket_rows)
        cursor.execute(
            """
            INSERT INTO tickets_ticket (source, external_id, subject, description, feedback_kind, evidence,
                evidence_completeness, status, reported_at, created_at, updated_at, cluster_id, cluster_assigned_at,
                assignment_source, assignment_reasons, match_features)
            SELECT 'bench', s.cluster_id || '-' || g, 'Bench ticket', '', 'bug_report', '{}'::jsonb, 1, 'new',
                now() - random() * interval '200 days', now(), now(), s.cluster_id, now(), 'engine', '[]'::jsonb,
                '{}'::jsonb
            FROM bench_sizes s, generate_series(1, s.size) AS g
            """
        )
        cursor.execute(
            """
            UPDATE tickets_bugcluster c SET ticket_count = s.size FROM bench_sizes s WHERE s.cluster_id = c.id
            """
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('tickets_bugcluster', 'id'), %s)", [clusters])
        cursor.execute("ANALYZE")
    return bugs, posting_rows


def main() -> None:
    url = scratch_database("_bench_cluster")
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory, which would distort the timing
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    settings.CELERY_BROKER_URL = "memory://"
    from triage.celery import app

    app.conf.broker_url = "memory://"
    app.conf.task_always_eager = False

    from tickets.clustering.assignment import BATCH_SIZE, ticket_assign, tickets_assign
    from tickets.models import Ticket

    try:
        call_command("migrate", verbosity=0)
        rng = random.Random(7)
        began = time.perf_counter()
        bugs, postings = build(rng)
        built = time.perf_counter() - began
        open_bugs = [b for b in bugs if b.cluster_id <= OPEN_CLUSTERS]
        new_rows = []
        expected = []
        for n in range(NEW + WARMUP):
            if rng.random() < 0.8:
                bug = rng.choice(open_bugs)
                expected.append(bug.cluster_id)
            else:
                bug = Bug(rng, -1)
                expected.append(None)
            subject, body, evidence = bug.wording(rng)
            new_rows.append(
                Ticket(
                    source="bench-new",
                    external_id=str(n),
                    subject=subject,
                    description=body,
                    evidence=evidence,
                    reported_at=timezone.now(),
                )
            )
        new = Ticket.objects.bulk_create(new_rows)
        outcomes: dict[int, int | None] = {}
        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        # One at a time, as a lone filing is assigned (warm-up first).
        single = []
        for n, ticket in enumerate(new[: WARMUP + SINGLE]):
            start = time.perf_counter()
            result = ticket_assign(ticket_id=ticket.pk)
            elapsed = time.perf_counter() - start
            if n >= WARMUP:
                single.append(elapsed)
                outcomes[n] = result.cluster.pk if result.cluster else None
        # A backlog drained by the worker in batches, as the drain task does under load.
        batched, batches = [], []
        rest = new[WARMUP + SINGLE :]
        for start_at in range(0, len(rest), BATCH_SIZE):
            batch = rest[start_at : start_at + BATCH_SIZE]
            start = time.perf_counter()
            results = tickets_assign([t.pk for t in batch])
            elapsed = time.perf_counter() - start
            batches.append(elapsed)
            batched += [elapsed / len(batch)] * len(batch)
            for offset, result in enumerate(results):
                outcomes[WARMUP + SINGLE + start_at + offset] = result.cluster.pk if result.cluster else None
        known = [n for n in outcomes if expected[n] is not None]
        right = sum(1 for n in known if outcomes[n] == expected[n])
        if profiler:
            import pstats

            profiler.disable()
            order = os.environ.get("BENCH_SORT", "cumulative")
            lines = int(os.environ.get("BENCH_LINES", 40))
            pstats.Stats(profiler, stream=sys.stderr).sort_stats(order).print_stats(lines)
        if os.environ.get("BENCH_SHOW_QUERIES"):
            from django.test.utils import CaptureQueriesContext

            extra = Ticket.objects.create(
                source="bench-new",
                external_id="show",
                subject=new_rows[WARMUP].subject,
                description=new_rows[WARMUP].description,
                evidence=new_rows[WARMUP].evidence,
                reported_at=timezone.now(),
            )
            with CaptureQueriesContext(connection) as captured:
                ticket_assign(ticket_id=extra.pk)
            for q in captured.captured_queries:
                print(q["time"], q["sql"][:150], file=sys.stderr)
        # Reference: the bare write every assignment needs, through the same ORM and connection.
        reference = []
        for ticket in new[WARMUP : WARMUP + SINGLE]:
            start = time.perf_counter()
            Ticket.objects.filter(pk=ticket.pk).update(assignment_confidence=0.5)
            reference.append(time.perf_counter() - start)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tickets_ticket")
            total = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM tickets_bugcluster WHERE status <> 'verified'")
            open_clusters = cursor.fetchone()[0]

        def p95(values: list[float]) -> float:
            return round(sorted(values)[max(int(len(values) * 0.95) - 1, 0)] * 1000, 2)

        figures = {
            "tickets": total,
            "open_clusters": open_clusters,
            "postings": len(postings),
            "assigned": len(batched),
            "batch_size": BATCH_SIZE,
            "tickets_per_second": round(len(batched) / sum(batches), 1),
            "p50_ms": round(statistics.median(batched) * 1000, 2),
            "p95_ms": p95(batched),
            "batch_p95_ms": p95(batches),
            "one_at_a_time_tickets_per_second": round(len(single) / sum(single), 1),
            "one_at_a_time_p95_ms": p95(single),
            "known_bug_tickets_joined_their_cluster": round(right / len(known), 3) if known else None,
            "reference_update_p50_ms": round(statistics.median(reference) * 1000, 3),
            "p50_over_reference": round(statistics.median(batched) / statistics.median(reference), 1),
            "build_seconds": round(built, 1),
        }
        for key, value in figures.items():
            print(f"{key}: {value}", file=sys.stderr)
    finally:
        connection.close()
        if not os.environ.get("BENCH_KEEP"):
            drop_database(url)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
