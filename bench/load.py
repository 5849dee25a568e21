#!/usr/bin/env python3
"""Load: a help desk posts tickets at a steady rate while product leads read the cluster list, a cluster
page and the weekly review; `--soak` runs it for 10 minutes and follows the memory of every process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_proof python bench/load.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_proof python bench/load.py --soak 600

Builds a scratch database `<name>_load` with the demo organisation (`--demo-tickets`), starts a private
Redis, gunicorn with 2 workers, a Celery worker and beat. Writers POST new tickets at `--rate` per second
for `--seconds`; `--readers` signed-in product leads read /clusters/, one cluster's page and the weekly
review (`/review/` where it exists, else the home page; the figures say which). Reference, in the same
run: GET /healthz (no database work beyond SELECT 1) at the same pace, the floor of a request here.
Prints throughput, p50/p99 per request kind and the errors (anything but 2xx, or no answer); with
--soak, the resident memory (RSS, MiB) of the web and worker processes every 30 s and its growth from
the first to the last minute. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "faults"))
from _stack import Poster, PrivateRedis, Stack, api_key, django_setup, report  # noqa: E402


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


class Reader:
    """A product lead in a browser: signs in through the form, then reads pages in turn."""

    def __init__(self, base: str, username: str, password: str, paths: list[str]):
        self.base, self.paths = base, paths
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.opener.open(f"{base}/login/", timeout=30).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        request = urllib.request.Request(f"{base}/login/", data=body.encode(), headers={"Referer": f"{base}/login/"})
        final = self.opener.open(request, timeout=30)
        if "/login/" in final.url:
            raise SystemExit("the reader could not sign in")
        self.timings: dict[str, list[float]] = {p: [] for p in paths}
        self.errors: dict[str, int] = {}

    def run(self, stop: threading.Event, pause: float) -> None:
        n = 0
        while not stop.is_set():
            path = self.paths[n % len(self.paths)]
            n += 1
            started = time.monotonic()
            try:
                with self.opener.open(self.base + path, timeout=60) as response:
                    response.read()
                    ok = 200 <= response.status < 300 and "/login/" not in response.url
            except OSError as exc:
                ok = False
                self.errors[f"{path} {getattr(exc, 'code', 'no answer')}"] = self.errors.get(path, 0) + 1
            if ok:
                self.timings[path].append(time.monotonic() - started)
            elif not self.errors:
                self.errors[f"{path} not 2xx"] = 1
            time.sleep(pause)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (gunicorn's workers, Celery's pool)."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            with open(f"/proc/{current}/task/{current}/children") as children:
                pids += [int(c) for c in children.read().split()]
        except (OSError, StopIteration):
            continue
    return round(total / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=20, help="tickets posted per second")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--demo-tickets", type=int, default=6000)
    parser.add_argument("--soak", type=float, default=0, help="run this many seconds (600: ten minutes) and sample RSS")
    args = parser.parse_args()
    seconds = args.soak or args.seconds

    from _scratch import drop_database, scratch_database

    database_url = scratch_database("_load")
    redis = PrivateRedis()
    redis.start()
    os.environ["DEMO_DATA_ALLOWED"] = "true"
    django_setup(database_url, redis.url)
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connections
    from django.urls import NoReverseMatch, reverse

    from tickets.models import BugCluster, Role

    call_command("seed_demo", tickets=args.demo_tickets, no_progress=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    from django.contrib.auth import get_user_model

    lead = get_user_model().objects.create_user("load.lead", password="load-password-123")
    lead.groups.add(Group.objects.get(name=Role.PRODUCT_LEAD))
    cluster = BugCluster.objects.order_by("-ticket_count").first()
    try:
        review = reverse("review:current")
    except NoReverseMatch:
        review = None
    review_path = review or "/"
    paths = ["/clusters/", f"/clusters/{cluster.pk}/", review_path]
    key = api_key()
    connections.close_all()
    stack = Stack(database_url=database_url, redis_url=redis.url, env={"LOG_LEVEL": "warning"})
    source = f"load{int(time.time())}"
    try:
        web = stack.start_web()
        worker = stack.start_worker(concurrency=1)
        stack.start_beat()
        for path in paths:  # warm both gunicorn workers
            stack.get(path)

        def ticket(n: int, i: int) -> dict:
            code = 5000 + (n * 31 + i) % 40
            return {
                "source": source,
                "external_id": f"{source}-{n}-{i}",
                "subject": f"Export fails with error {code}",
                "description": f"The CSV export stops with error code {code} for project {i}.",
                "ticket_type": "payment_failure",
                "evidence": {"payment_method": "credit_card", "amount": "EUR 19.00", "error_code": str(code)},
            }

        poster = Poster(stack, key, ticket, threads=args.writers, per_second=args.rate)
        readers = [Reader(stack.base, "load.lead", "load-password-123", paths) for _ in range(args.readers)]
        floor = Reader.__new__(Reader)
        floor.base, floor.paths = stack.base, ["/healthz"]
        floor.opener = urllib.request.build_opener()
        floor.timings, floor.errors = {"/healthz": []}, {}
        stop = threading.Event()
        threads = [threading.Thread(target=r.run, args=(stop, 0.2), daemon=True) for r in readers]
        threads.append(threading.Thread(target=floor.run, args=(stop, 0.2), daemon=True))
        memory: list[dict] = []
        started = time.monotonic()
        poster.start()
        for thread in threads:
            thread.start()
        while time.monotonic() - started < seconds:
            if args.soak and (not memory or time.monotonic() - started >= memory[-1]["t"] + 30):
                sample = {
                    "t": round(time.monotonic() - started),
                    "web": rss_mib(web.pid),
                    "worker": rss_mib(worker.pid),
                }
                memory.append(sample)
                print(f"{sample['t']:>4} s  web {sample['web']:>7} MiB  worker {sample['worker']:>7} MiB", flush=True)
            time.sleep(1)
        stop.set()
        poster.stop()
        elapsed = time.monotonic() - started
        for thread in threads:
            thread.join(60)
        posts = poster.latencies
        errors = {str(code): n for code, n in poster.statuses.items() if code not in (200, 201)}
        for r in readers:
            errors.update({k: errors.get(k, 0) + v for k, v in r.errors.items()})
        figures = {
            "script": "load",
            "seconds": round(elapsed, 1),
            "gunicorn_workers": 2,
            "tickets_accepted": len(poster.accepted),
            "tickets_per_second": round(len(poster.accepted) / elapsed, 1),
            "post_p50_ms": percentile(posts, 0.5),
            "post_p99_ms": percentile(posts, 0.99),
            "review_page": review_path if review else "/ (home: /review/ does not exist on this branch)",
            "reference_healthz_p50_ms": percentile(floor.timings["/healthz"], 0.5),
            "reference_healthz_p99_ms": percentile(floor.timings["/healthz"], 0.99),
            "errors": errors,
        }
        for label, path in (("cluster_list", paths[0]), ("cluster_page", paths[1]), ("review", paths[2])):
            timings = [t for r in readers for t in r.timings[path]]
            figures[f"{label}_reads"] = len(timings)
            figures[f"{label}_p50_ms"] = percentile(timings, 0.5)
            figures[f"{label}_p99_ms"] = percentile(timings, 0.99)
        if memory:
            # After a minute of warm-up (imports, caches, the first tasks), to the last minute.
            first = [m for m in memory if 60 <= m["t"] <= 150] or memory[:1]
            last = [m for m in memory if m["t"] >= memory[-1]["t"] - 60]
            for proc in ("web", "worker"):
                before = statistics.mean(m[proc] for m in first)
                after = statistics.mean(m[proc] for m in last)
                figures[f"{proc}_rss_first_mib"] = round(before, 1)
                figures[f"{proc}_rss_last_mib"] = round(after, 1)
                figures[f"{proc}_rss_growth_pct"] = round(100 * (after - before) / before, 1)
            figures["rss_samples"] = memory
        print(
            f"{figures['tickets_accepted']} tickets in {figures['seconds']} s ({figures['tickets_per_second']}/s), "
            f"POST p50 {figures['post_p50_ms']} ms p99 {figures['post_p99_ms']} ms; errors {errors or 0}"
        )
        report(figures)
    finally:
        stack.stop()
        redis.stop()
        connections.close_all()
        drop_database(database_url)


if __name__ == "__main__":
    main()
