"""PostgreSQL restarted under load: clients get retryable 503s with Retry-After, never a half-written ticket.

    python bench/faults/postgres_restart.py

Runs its own PostgreSQL cluster (initdb + pg_ctl as the postgres user, on a free loopback port; the
machine's shared cluster is never restarted), a private Redis, gunicorn with 2 workers, a worker and
beat. Posts tickets from 4 threads at a steady pace; restarts PostgreSQL (`pg_ctl restart -m fast`,
which ends every connection) `--restarts` times. A client retries a 503 after its Retry-After, as a help
desk would. Checks: every accepted ticket stored exactly as sent, no 5xx but 503, every 503 with
Retry-After, every stored ticket clustered afterwards. The last line is JSON.
"""

from __future__ import annotations

import argparse
import time

from _checks import new_bug_ticket, ticket_figures, wait_until_clustered
from _stack import Poster, PrivatePostgres, PrivateRedis, Stack, api_key, django_setup, report  # noqa: I001


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=float, default=6)
    parser.add_argument("--between", type=float, default=6)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--rate", type=float, default=20)
    args = parser.parse_args()

    pg = PrivatePostgres()
    pg.init()
    redis = PrivateRedis()
    redis.start()
    stack = None
    try:
        django_setup(pg.url, redis.url)
        key = api_key()
        stack = Stack(database_url=pg.url, redis_url=redis.url)
        source = f"pg{int(time.time())}"
        stack.start_web()
        stack.start_worker(concurrency=1)
        stack.start_beat()
        poster = Poster(stack, key, lambda n, i: new_bug_ticket(source, n, i), threads=4, per_second=args.rate)
        poster.start()
        time.sleep(args.before)
        restart_seconds = []
        for _ in range(args.restarts):
            started = time.monotonic()
            pg.restart()
            restart_seconds.append(round(time.monotonic() - started, 2))
            print(f"PostgreSQL restarted in {restart_seconds[-1]} s; answers so far {poster.statuses}", flush=True)
            time.sleep(args.between)
        poster.stop()
        from django.db import connections

        connections.close_all()  # this process's connection died with the restart too
        clustered_in = wait_until_clustered(source, len(poster.accepted), timeout=120)
        figures = ticket_figures(poster.sent, poster.accepted, source)
        server_errors = {code: n for code, n in poster.statuses.items() if code >= 500 and code != 503}
        print(
            f"sent {figures['sent']}; accepted {figures['accepted']}; stored {figures['stored']}; lost "
            f"{figures['lost']}; half-written {figures['half_written']}; answers {poster.statuses}"
        )
        ok = (
            figures["lost"] == 0
            and figures["half_written"] == 0
            and figures["accepted"] == figures["sent"]
            and not server_errors
            and poster.retry_after_missing == 0
            and figures["unclustered"] == 0
        )
        report(
            {
                "script": "postgres_restart",
                "ok": ok,
                **figures,
                "answers": {str(k): v for k, v in poster.statuses.items()},
                "answered_503": poster.statuses.get(503, 0),
                "no_answer": poster.statuses.get(0, 0),
                "other_5xx": server_errors,
                "503_without_retry_after": poster.retry_after_missing,
                "restart_seconds": restart_seconds,
                "clustered_after_seconds": clustered_in,
            }
        )
    finally:
        if stack:
            stack.stop()
        redis.stop()
        from django.db import connections

        connections.close_all()
        pg.destroy()


if __name__ == "__main__":
    main()
