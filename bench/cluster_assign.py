#!/usr/bin/env python3
"""Benchmark: one worker assigning new tickets with 1,000,000 tickets and 20,000 open clusters in PostgreSQL,
by words only and with the sentence-embedding model, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage \
    CLUSTERING_EMBEDDING_MODEL=../shared/models/all-MiniLM-L6-v2 python bench/cluster_assign.py

Works in a scratch database `<name>_bench_cluster` that it creates, migrates and drops again (the
database in DATABASE_URL is not touched). It builds the history in bulk: 1,000,000 tickets over
25,000 clusters (20,000 open, sizes heavy-tailed), the postings, profiles and term statistics the
engine keeps for them (built from synthetic bug wordings through the engine's own feature
extraction). Then, for each mode, it files `BENCH_NEW` new tickets (80% new reports of known bugs in
other words, 20% new bugs) and assigns them in one process, as the Celery tasks do, with the ranking,
the writes and the receivers of `ticket_assigned` (SLA, metrics, threshold alerts):

- `BENCH_SINGLE` of them one at a time (`ticket_assign`, a lone filing);
- the rest as a backlog the worker drains in batches of `BATCH_SIZE` (`tickets_assign`, what the
  drain and bulk tasks do when tickets wait). `tickets_per_second` and `p95_ms` are this mode's:
  a ticket's cost is its batch's time over the batch's size; `batch_p95_ms` is how long a whole
  batch takes, the most a ticket in it waits for its cluster.

Modes: `lexical` (no model: words, fingerprints, evidence) and `with_model` (the model in
CLUSTERING_EMBEDDING_MODEL; the figures are skipped when it is not set). With the model every
measured new ticket is encoded for real, in the timed path. Encoding the million background
tickets is not feasible here (about 40 minutes on these 2 cores), and the engine never reads them:
it reads only the clusters' vectors (`ClusterEmbedding`) and the vectors of the tickets it assigns.
So the background gets vectors cheaply but honestly: each open cluster's first synthetic wording is
encoded for real (20,000 texts, in the build) and stands for all its tickets (centroid = that
vector, tickets = the cluster's size, one exemplar); closed clusters get none (they take no
tickets). The background tickets have no `TicketEmbedding` rows: the engine looks those up only for
the tickets of a batch, by primary key. `encoding_ms_per_ticket` is the encoder alone on the new
tickets (batched as the engine does), `worker_rss_mb` the process's resident memory with the model
and the 20,000-cluster matrix loaded.

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


def build_vectors(bugs: list, encoder, rng: random.Random) -> dict:
    """Each open cluster's vectors from one real encoding of one of its wordings (see the docstring)."""
    import numpy as np
    from django.db import connection

    open_bugs = [b for b in bugs if b.cluster_id <= OPEN_CLUSTERS]
    texts = ["\n".join(b.wording(rng)[:2]) for b in open_bugs]
    began = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=64)
    seconds = time.perf_counter() - began
    sizes: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, ticket_count FROM tickets_bugcluster WHERE id <= %s", [OPEN_CLUSTERS])
        sizes = dict(cursor.fetchall())
    rows = []
    for bug, vector in zip(open_bugs, vectors, strict=True):
        size = max(sizes.get(bug.cluster_id, 1), 1)
        total = (vector * size).astype(np.float32).tobytes()
        rows.append(
            (
                bug.cluster_id,
                "bug",
                encoder.identity,
                "t",
                "\\x" + total.hex(),
                size,
                "\\x" + vector.astype(np.float32).tobytes().hex(),
                json.dumps([-bug.cluster_id]),
                "2026-01-01 00:00+00",
            )
        )
    with connection.cursor() as cursor:
        columns = ["cluster_id", "kind", "model", "assignable", "total", "tickets", "exemplars", "exemplar_ids"]
        copy_rows(cursor, "tickets_clusterembedding", [*columns, "updated_at"], rows)
        cursor.execute("ANALYZE tickets_clusterembedding")
    return {"clusters_encoded": len(rows), "cluster_encoding_seconds": round(seconds, 1)}


def new_tickets(rng: random.Random, bugs: list, label: str) -> tuple[list, list]:
    """NEW + WARMUP new tickets: 80% new reports of known (open) bugs in other words, 20% new bugs."""
    from django.utils import timezone

    from tickets.models import Ticket

    open_bugs = [b for b in bugs if b.cluster_id <= OPEN_CLUSTERS]
    rows, expected = [], []
    for n in range(NEW + WARMUP):
        if rng.random() < 0.8:
            bug = rng.choice(open_bugs)
            expected.append(bug.cluster_id)
        else:
            bug = Bug(rng, -1)
            expected.append(None)
        subject, body, evidence = bug.wording(rng)
        rows.append(
            Ticket(
                source=f"bench-{label}",
                external_id=str(n),
                subject=subject,
                description=body,
                evidence=evidence,
                reported_at=timezone.now(),
            )
        )
    return Ticket.objects.bulk_create(rows), expected


def p95(values: list[float]) -> float:
    return round(sorted(values)[max(int(len(values) * 0.95) - 1, 0)] * 1000, 2)


def measure(new: list, expected: list) -> dict:
    """Assign `new`: warm-up, then SINGLE one at a time, then the rest in batches; the figures."""
    from tickets.clustering.assignment import BATCH_SIZE, ticket_assign, tickets_assign
    from tickets.models import Ticket

    outcomes: dict[int, int | None] = {}
    single = []
    for n, ticket in enumerate(new[: WARMUP + SINGLE]):
        start = time.perf_counter()
        result = ticket_assign(ticket_id=ticket.pk)
        elapsed = time.perf_counter() - start
        if n >= WARMUP:
            single.append(elapsed)
            outcomes[n] = result.cluster.pk if result.cluster else None
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
    fresh = [n for n in outcomes if expected[n] is None]
    reference = []  # the bare write every assignment needs, through the same ORM and connection
    for ticket in new[WARMUP : WARMUP + SINGLE]:
        start = time.perf_counter()
        Ticket.objects.filter(pk=ticket.pk).update(assignment_confidence=0.5)
        reference.append(time.perf_counter() - start)
    return {
        "assigned": len(batched),
        "batch_size": BATCH_SIZE,
        "tickets_per_second": round(len(batched) / sum(batches), 1),
        "p50_ms": round(statistics.median(batched) * 1000, 2),
        "p95_ms": p95(batched),
        "batch_p95_ms": p95(batches),
        "one_at_a_time_tickets_per_second": round(len(single) / sum(single), 1),
        "one_at_a_time_p95_ms": p95(single),
        "known_bug_tickets_joined_their_cluster": round(right / len(known), 3) if known else None,
        "new_bug_tickets_opened_a_cluster": round(
            sum(1 for n in fresh if outcomes[n] not in {e for e in expected if e}) / len(fresh), 3
        )
        if fresh
        else None,
        "reference_update_p50_ms": round(statistics.median(reference) * 1000, 3),
        "p50_over_reference": round(statistics.median(batched) / statistics.median(reference), 1),
    }


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


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

    settings.CELERY_BROKER_URL = "memory://"
    from triage.celery import app

    app.conf.broker_url = "memory://"
    app.conf.task_always_eager = False

    from tickets.clustering import semantic
    from tickets.clustering.embeddings import encoder_status
    from tickets.clustering.vectors import open_clusters

    figures: dict = {}
    try:
        call_command("migrate", verbosity=0)
        rng = random.Random(7)
        began = time.perf_counter()
        bugs, postings = build(rng)
        figures["build_seconds"] = round(time.perf_counter() - began, 1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tickets_ticket")
            figures["tickets"] = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM tickets_bugcluster WHERE status <> 'verified'")
            figures["open_clusters"] = cursor.fetchone()[0]
        figures["postings"] = len(postings)
        with semantic.signal_used("lexical"):
            new, expected = new_tickets(rng, bugs, "lexical")
            figures["lexical"] = measure(new, expected)
        figures["worker_rss_mb_without_model"] = rss_mb()
        encoder, reason = encoder_status()
        if encoder is None:
            print(f"Skipping the model's figures: {reason}", file=sys.stderr)
        else:
            figures["model"] = encoder.identity
            figures["model_max_tokens"] = encoder.max_tokens
            figures.update(build_vectors(bugs, encoder, random.Random(11)))
            began = time.perf_counter()
            open_clusters(encoder.identity, encoder.dimension)
            figures["matrix_load_seconds"] = round(time.perf_counter() - began, 2)
            new, expected = new_tickets(rng, bugs, "model")
            texts = [semantic.ticket_text(subject=t.subject, description=t.description) for t in new[:1000]]
            began = time.perf_counter()
            encoder.encode(texts)
            figures["encoding_ms_per_ticket_batched"] = round(1000 * (time.perf_counter() - began) / len(texts), 2)
            lone = []
            for text in texts[:200]:
                began = time.perf_counter()
                encoder.encode_one(text)
                lone.append(time.perf_counter() - began)
            figures["encoding_ms_lone_p95"] = p95(lone)
            figures["tokens_per_new_ticket"] = round(statistics.mean(encoder.tokens(t) for t in texts[:200]), 1)
            profiler = None
            if os.environ.get("BENCH_PROFILE"):  # where the time goes with the model, on stderr
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            figures["with_model"] = measure(new, expected)
            if profiler is not None:
                import pstats

                profiler.disable()
                stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats(os.environ.get("BENCH_SORT", "cumulative"))
                stats.print_stats(int(os.environ.get("BENCH_LINES", 40)))
            figures["worker_rss_mb_with_model"] = rss_mb()
        print(json.dumps(figures, indent=2), file=sys.stderr)
    finally:
        connection.close()
        if not os.environ.get("BENCH_KEEP"):
            drop_database(url)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
