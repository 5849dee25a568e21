"""A help desk re-sends the same 500-ticket bulk 0.3 s later, again and again, while workers assign:
no deadlock reaches the client, nothing is lost or stored twice.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_proof python bench/faults/bulk_resend.py

A private Redis, gunicorn (2 workers) and two Celery workers (--concurrency=2 each) on a scratch
database. Each round posts a new bulk of `--size` tickets (`--bugs` new bugs), then the same body again
`--gap` s later, while the workers claim the first copy's tickets. Counts the answers (every one must be
200), the deadlocks PostgreSQL reported for the scratch database (pg_stat_database), and checks every
ticket is stored once and clustered. The last line is JSON.
"""

from __future__ import annotations

import argparse
import threading
import time

from _checks import ticket_figures, wait_until_clustered
from _stack import PrivateRedis, Stack, api_key, django_setup, report  # noqa: I001
from split_clusters import burst


def deadlocks() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--bugs", type=int, default=25)
    parser.add_argument("--gap", type=float, default=0.3)
    args = parser.parse_args()

    from _scratch import drop_database, scratch_database

    database_url = scratch_database("_fault_resend")
    redis = PrivateRedis()
    redis.start()
    django_setup(database_url, redis.url)
    key = api_key()
    stack = Stack(database_url=database_url, redis_url=redis.url)
    source = f"resend{int(time.time())}"
    try:
        stack.start_web()
        stack.start_worker("worker-a", concurrency=2)
        stack.start_worker("worker-b", concurrency=2)
        time.sleep(6)
        before = deadlocks()
        answers: dict[int, int] = {}
        sent, accepted = {}, set()
        lock = threading.Lock()

        def post(items):
            status, body, _ = stack.request("POST", "/api/v1/tickets/bulk/", {"tickets": items}, key, timeout=120)
            with lock:
                answers[status] = answers.get(status, 0) + 1
                if status == 200:
                    accepted.update(r["external_id"] for r in body["results"] if r["result"] != "error")

        for n in range(args.rounds):
            items = burst(f"{source}r{n}", args.bugs, args.size // args.bugs)
            for item in items:
                item["source"] = source
            sent.update({i["external_id"]: i for i in items})
            first = threading.Thread(target=post, args=(items,))
            first.start()
            time.sleep(args.gap)
            second = threading.Thread(target=post, args=(items,))
            second.start()
            first.join()
            second.join()
        clustered_in = wait_until_clustered(source, len(accepted), timeout=180)
        figures = ticket_figures(sent, accepted, source)
        caught = deadlocks() - before
        print(
            f"{args.rounds} rounds of {args.size} tickets sent twice: answers {answers}; deadlocks PostgreSQL "
            f"broke (and the app retried): {caught}; stored {figures['stored']}, lost {figures['lost']}"
        )
        ok = set(answers) == {200} and figures["lost"] == 0 and figures["stored"] == len(sent)
        ok = ok and figures["unclustered"] == 0
        report(
            {
                "script": "bulk_resend",
                "ok": ok,
                **figures,
                "answers": {str(k): v for k, v in answers.items()},
                "deadlocks_detected_and_retried": caught,
                "clustered_after_seconds": clustered_in,
            }
        )
    finally:
        stack.stop()
        redis.stop()
        from django.db import connections

        connections.close_all()
        drop_database(database_url)


if __name__ == "__main__":
    main()
