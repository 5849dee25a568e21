"""Two and four workers assigning the same burst never split a new bug into two clusters.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_proof python bench/faults/split_clusters.py

For each worker count: a fresh scratch database, a private Redis, `--workers` Celery worker processes
(each with --concurrency=1), then one bulk request of `--bugs` new bugs x `--each` tickets (interleaved,
as a help desk's backlog arrives), assigned by the workers at once. Counts the clusters of each bug.
Prints what it sent, what was stored and what was split; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import time

from _checks import ticket_figures, wait_until_clustered
from _stack import PrivateRedis, Stack, api_key, django_setup, report  # noqa: I001


def burst(source: str, bugs: int, each: int) -> list[dict]:
    """`bugs` new bugs (error codes 7000..) x `each` reports, interleaved as a help desk's backlog arrives.

    One wording per bug (the engine's ranking, not concurrency, decides how far wordings may differ:
    with three wordings of 50 near-identical codes even one worker keeps some apart)."""
    items = []
    for i in range(each):
        for b in range(bugs):
            code = 7000 + b
            items.append(
                {
                    "source": source,
                    "external_id": f"{source}-{b}-{i}",
                    "subject": f"Checkout fails with error {code}",
                    "description": f"The payment page shows error code {code} for order {1000 + i}.",
                    "ticket_type": "payment_failure",
                    "evidence": {"payment_method": "credit_card", "amount": "EUR 49.00", "error_code": str(code)},
                }
            )
    return items


def run(workers: int, bugs: int, each: int) -> dict:
    from _scratch import drop_database, scratch_database

    database_url = scratch_database(f"_fault_split{workers}")
    redis = PrivateRedis()
    redis.start()
    _use(database_url, redis.url)
    key = api_key()
    stack = Stack(database_url=database_url, redis_url=redis.url, env={"CLUSTERS_SWEEP_SECONDS": "600"})
    source = f"split{workers}x{int(time.time())}"
    try:
        stack.start_web()
        for n in range(workers):
            stack.start_worker(name=f"worker{n}", concurrency=1)
        time.sleep(6)  # the workers connect before the burst arrives
        items = burst(source, bugs, each)
        sent = {item["external_id"]: item for item in items}
        accepted = set()
        for start in range(0, len(items), 1000):
            status, body, _ = stack.request(
                "POST", "/api/v1/tickets/bulk/", {"tickets": items[start : start + 1000]}, key, timeout=120
            )
            if status != 200:
                raise SystemExit(f"bulk answered {status}: {body}")
            accepted |= {r["external_id"] for r in body["results"] if r["result"] in ("created", "updated")}
        clustered_in = wait_until_clustered(source, len(accepted), timeout=180)
        figures = ticket_figures(sent, accepted, source)
        print(
            f"{workers} workers: sent {figures['sent']}, stored {figures['stored']}, lost {figures['lost']}, "
            f"{figures['new_bugs']} new bugs, split {figures['split_bugs']}, clustered in {clustered_in} s"
        )
        return {**figures, "workers": workers, "clustered_after_seconds": clustered_in}
    finally:
        from django.db import connections

        stack.stop()
        redis.stop()
        connections.close_all()
        drop_database(database_url)


_django_ready = [False]


def _use(database_url: str, redis_url: str) -> None:
    """Make this process a Django process on `database_url` (the first run sets Django up)."""
    if not _django_ready[0]:
        django_setup(database_url, redis_url)
        _django_ready[0] = True
        return
    import dj_database_url
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict.update(dj_database_url.parse(database_url))
    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--bugs", type=int, default=50)
    parser.add_argument("--each", type=int, default=20)
    args = parser.parse_args()
    runs = [run(w, args.bugs, args.each) for w in args.workers]
    ok = all(
        r["lost"] == 0 and r["split_bugs"] == 0 and r["unclustered"] == 0 and r["accepted"] == r["sent"] for r in runs
    )
    report({"script": "split_clusters", "ok": ok, "runs": runs})


if __name__ == "__main__":
    main()
