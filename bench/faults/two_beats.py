"""Two beats at once (a second one started by mistake, or a failover that overlapped): no alert twice.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_proof python bench/faults/two_beats.py

A private Redis, gunicorn, one worker (--concurrency=2), TWO beat processes, a webhook receiver, and an
SLA policy to acknowledge within one minute with a signed webhook. Files `--bugs` new bugs; every
sweep runs twice per interval. Waits for each cluster's warning and breach; counts the alerts per
cluster and stage (must be 1) and the webhook POSTs per alert id (at-least-once; repeats counted).
The last line is JSON.
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
    parser.add_argument("--bugs", type=int, default=6)
    parser.add_argument("--each", type=int, default=3)
    args = parser.parse_args()

    from _scratch import drop_database, scratch_database

    database_url = scratch_database("_fault_beats")
    redis = PrivateRedis()
    redis.start()
    django_setup(database_url, redis.url)
    receiver = start_receiver()
    subscribe(receiver.url, ["cluster.created"])
    sla_policy_to(receiver.url)
    key = api_key()
    stack = Stack(database_url=database_url, redis_url=redis.url)
    source = f"beats{int(time.time())}"
    try:
        stack.start_web()
        stack.start_worker(concurrency=2)
        stack.start_beat("beat-a")
        stack.start_beat("beat-b")
        time.sleep(5)
        sent, accepted = {}, set()
        for i in range(args.each):
            for b in range(args.bugs):
                ticket = new_bug_ticket(source, b, i, codes=args.bugs)
                code = 9100 + b
                ticket["evidence"]["error_code"] = str(code)
                ticket["subject"] = f"Checkout fails with error {code}"
                ticket["description"] = f"The payment page shows error code {code} after the card step."
                sent[ticket["external_id"]] = ticket
                if stack.request("POST", "/api/v1/tickets/", ticket, key)[0] in (200, 201):
                    accepted.add(ticket["external_id"])
        clustered_in = wait_until_clustered(source, len(accepted), timeout=120)
        figures = ticket_figures(sent, accepted, source)
        wait_for_deliveries(receiver, "sla.", lambda: sla_alert_ids(source) | {"breach-pending"}, 120)
        time.sleep(10)  # a second beat would fire its duplicates within a few sweeps
        sla = sla_alert_figures(receiver, source)
        webhooks = delivery_figures(receiver, "cluster.created", cluster_created_ids(source))
        print(
            f"{figures['new_bugs']} new bugs in {sla['clusters']} clusters; alerts {sla['alerts']} "
            f"(duplicates {sla['duplicate_alerts']}); SLA deliveries {sla}; cluster.created {webhooks}"
        )
        ok = (
            figures["lost"] == 0
            and figures["split_bugs"] == 0
            and sla["duplicate_alerts"] == 0
            and sla["deliveries_missing"] == 0
            and sla["deliveries_repeated_sends"] == 0
            and sla["clusters_breached"] == sla["clusters"]
            and webhooks["missing"] == 0
        )
        report(
            {
                "script": "two_beats",
                "ok": ok,
                **figures,
                "clustered_after_seconds": clustered_in,
                "sla": sla,
                "webhooks_cluster_created": webhooks,
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
