"""Redis stopped while a help desk posts tickets: the API answers throughout, nothing is lost.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_proof python bench/faults/redis_outage.py

Starts a private Redis (never the machine's), gunicorn with 2 workers, a Celery worker and beat, and a
local webhook receiver (subscribed to cluster.created, and the SLA policy's signed webhook with a
one-minute acknowledgment target). Posts tickets of new bugs at a steady pace; after `--before` s
stops Redis for `--outage` s, starts it again (empty: every queued task is gone), posts for `--after`
s more. Then waits until every accepted ticket is stored and clustered, and every cluster.created and
SLA alert is delivered. The worker must still be the same process: it reconnects, it does not exit.
Prints what it sent, what was stored and what was lost; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import time

from _checks import (
    cluster_created_ids,
    delivery_figures,
    new_bug_ticket,
    sla_alert_figures,
    sla_alert_ids,
    sla_policy_to,
    subscribe,
    ticket_figures,
    wait_for_deliveries,
    wait_until_clustered,
)
from _stack import PrivateRedis, Stack, api_key, django_setup, report, start_receiver  # noqa: I001


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=float, default=8)
    parser.add_argument("--outage", type=float, default=15)
    parser.add_argument("--after", type=float, default=8)
    parser.add_argument("--rate", type=float, default=10, help="tickets per second")
    parser.add_argument("--sla", action=argparse.BooleanOptionalAction, default=True, help="wait for SLA alerts")
    args = parser.parse_args()

    from _scratch import drop_database, scratch_database

    database_url = scratch_database("_fault_redis")
    redis = PrivateRedis()
    redis.start()
    django_setup(database_url, redis.url)
    receiver = start_receiver()
    subscribe(receiver.url, ["cluster.created"])
    if args.sla:
        sla_policy_to(receiver.url)
    key = api_key()
    stack = Stack(database_url=database_url, redis_url=redis.url)
    source = f"fault{int(time.time())}"
    try:
        stack.start_web()
        worker = stack.start_worker(concurrency=2)
        stack.start_beat()
        from _stack import Poster

        poster = Poster(stack, key, lambda n, i: new_bug_ticket(source, n, i), threads=4, per_second=args.rate)
        poster.start()
        time.sleep(args.before)
        redis.stop()
        print(f"Redis stopped after {args.before:.0f} s of posting", flush=True)
        during = dict(poster.statuses)
        time.sleep(args.outage)
        outage_statuses = {k: v - during.get(k, 0) for k, v in poster.statuses.items()}
        redis.start()
        print(f"Redis started again after {args.outage:.0f} s (empty)", flush=True)
        time.sleep(args.after)
        poster.stop()
        clustered_in = wait_until_clustered(source, len(poster.accepted), timeout=120)
        figures = ticket_figures(poster.sent, poster.accepted, source)
        webhooks_in = wait_for_deliveries(receiver, "cluster.created", lambda: cluster_created_ids(source), 120)
        webhooks = delivery_figures(receiver, "cluster.created", cluster_created_ids(source))
        sla = {}
        if args.sla:
            sla_in = wait_for_deliveries(receiver, "sla.", lambda: sla_alert_ids(source) | {"breach-pending"}, 100)
            sla = {"sla_wait_seconds": sla_in, **sla_alert_figures(receiver, source)}
        worker_survived = worker.alive()
        print(
            f"sent {figures['sent']} tickets; accepted {figures['accepted']}; stored {figures['stored']}; "
            f"lost {figures['lost']}; unclustered {figures['unclustered']} after {clustered_in} s"
        )
        print(f"answers during the outage: {outage_statuses}; all answers: {poster.statuses}")
        print(f"cluster.created webhooks: {webhooks}; SLA: {sla}")
        print(f"worker still running (same process): {worker_survived}")
        ok = (
            figures["lost"] == 0
            and figures["unclustered"] == 0
            and figures["half_written"] == 0
            and webhooks["missing"] == 0
            and worker_survived
            and all(code in (200, 201) for code in outage_statuses if outage_statuses[code])
            and (
                not args.sla
                or (
                    sla["duplicate_alerts"] == 0
                    and sla["deliveries_missing"] == 0
                    and sla["clusters_breached"] == sla["clusters"]
                )
            )
        )
        report(
            {
                "script": "redis_outage",
                "ok": ok,
                **figures,
                "outage_seconds": args.outage,
                "answers_during_outage": {str(k): v for k, v in outage_statuses.items() if v},
                "answers": {str(k): v for k, v in poster.statuses.items()},
                "clustered_after_seconds": clustered_in,
                "webhooks_cluster_created": webhooks,
                "webhooks_wait_seconds": webhooks_in,
                "sla": sla,
                "worker_survived": worker_survived,
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
