"""A worker killed with SIGKILL in the middle of a batch, then restarted: every ticket assigned once,
webhooks delivered at least once with stable ids, no SLA alert twice.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_proof python bench/faults/worker_kill.py

A private Redis, gunicorn, one worker (--concurrency=2), beat and a webhook receiver. One bulk request
of `--bugs` new bugs x `--each` tickets; `--kill-after` s later the worker's whole process group gets
SIGKILL (no cleanup, unacknowledged tasks stay in Redis); a new worker starts `--down` s later.
"Assigned once": every ticket is in a cluster, and each cluster's ticket count, its engine profile's
count and its real number of tickets agree (a ticket counted twice would show). The last line is JSON.
"""

from __future__ import annotations

import argparse
import signal
import time

from _checks import (
    cluster_created_ids,
    delivery_figures,
    sla_alert_figures,
    sla_alert_ids,
    sla_policy_to,
    subscribe,
    ticket_figures,
    wait_for_deliveries,
    wait_until_clustered,
)
from _stack import PrivateRedis, Stack, api_key, django_setup, report, start_receiver  # noqa: I001
from split_clusters import burst


def counts_disagree(source: str) -> list[dict]:
    from django.db.models import Count

    from tickets.models import BugCluster, ClusterProfile

    real = dict(BugCluster.objects.filter(tickets__source=source).annotate(n=Count("tickets")).values_list("pk", "n"))
    counters = dict(BugCluster.objects.filter(pk__in=real).values_list("pk", "ticket_count"))
    profiles = dict(ClusterProfile.objects.filter(cluster_id__in=real).values_list("cluster_id", "tickets"))
    return [
        {"cluster": pk, "tickets": n, "ticket_count": counters[pk], "profile": profiles.get(pk)}
        for pk, n in real.items()
        if not (n == counters[pk] == profiles.get(pk))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bugs", type=int, default=50)
    parser.add_argument("--each", type=int, default=20)
    parser.add_argument("--kill-after", type=float, default=1.5)
    parser.add_argument("--down", type=float, default=3)
    parser.add_argument("--sla", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()

    from _scratch import drop_database, scratch_database

    database_url = scratch_database("_fault_kill")
    redis = PrivateRedis()
    redis.start()
    django_setup(database_url, redis.url)
    receiver = start_receiver()
    receiver.statuses.extend([500] * 5)  # the first few deliveries fail: retries must keep the same id
    subscribe(receiver.url, ["cluster.created"])
    if args.sla:
        sla_policy_to(receiver.url)
    key = api_key()
    stack = Stack(database_url=database_url, redis_url=redis.url)
    source = f"kill{int(time.time())}"
    try:
        stack.start_web()
        worker = stack.start_worker(concurrency=2)
        stack.start_beat()
        time.sleep(6)
        items = burst(source, args.bugs, args.each)
        sent = {i["external_id"]: i for i in items}
        status, body, _ = stack.request("POST", "/api/v1/tickets/bulk/", {"tickets": items}, key, timeout=120)
        if status != 200:
            raise SystemExit(f"bulk answered {status}: {body}")
        accepted = {r["external_id"] for r in body["results"] if r["result"] in ("created", "updated")}
        time.sleep(args.kill_after)
        from tickets.models import Ticket

        assigned_at_kill = Ticket.objects.filter(source=source, cluster__isnull=False).count()
        worker.signal(signal.SIGKILL)
        print(f"worker killed (SIGKILL) with {assigned_at_kill} of {len(accepted)} tickets assigned", flush=True)
        time.sleep(args.down)
        stack.start_worker(name="worker-restarted", concurrency=2)
        clustered_in = wait_until_clustered(source, len(accepted), timeout=180)
        figures = ticket_figures(sent, accepted, source)
        disagree = counts_disagree(source)
        wait_for_deliveries(receiver, "cluster.created", lambda: cluster_created_ids(source), 120)
        webhooks = delivery_figures(receiver, "cluster.created", cluster_created_ids(source))
        sla = {}
        if args.sla:
            wait_for_deliveries(receiver, "sla.", lambda: sla_alert_ids(source) | {"breach-pending"}, 100)
            sla = sla_alert_figures(receiver, source)
        print(
            f"sent {figures['sent']}; stored {figures['stored']}; lost {figures['lost']}; unclustered "
            f"{figures['unclustered']}; counts disagree in {len(disagree)} clusters; split {figures['split_bugs']}"
        )
        print(f"cluster.created webhooks: {webhooks}; SLA: {sla}")
        ok = (
            figures["lost"] == 0
            and figures["unclustered"] == 0
            and not disagree
            and figures["split_bugs"] == 0
            and webhooks["missing"] == 0
            and (not args.sla or (sla["duplicate_alerts"] == 0 and sla["deliveries_missing"] == 0))
        )
        report(
            {
                "script": "worker_kill",
                "ok": ok,
                **figures,
                "assigned_when_killed": assigned_at_kill,
                "assigned_twice_or_miscounted": len(disagree),
                "miscounted_examples": disagree[:3],
                "clustered_after_seconds": clustered_in,
                "webhooks_cluster_created": webhooks,
                "sla": sla,
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
