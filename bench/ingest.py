"""Ingest benchmark: single-ticket POST throughput and bulk ingest rate, each next to a reference.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_api REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/ingest.py [--rounds 10] [--seconds 2] [--bulk-batches 20]

- single: POST /api/v1/tickets/ (API-key auth, evidence validated against the ticket type, ticket_filed
  sent for the clustering engine) against gunicorn with 2 sync workers started here, next to a minimal
  DRF create endpoint (a ModelSerializer CreateAPIView on a table with the same columns, indexes and
  unique constraint, defined in this file, served by the same gunicorn, with the same authentication
  and throttling). Short legs in ABBA order; single_ratio is the median of the per-pair ratios.
- cpu_ms_per_create: CPU time of one create in this process, product and reference (a wall-clock
  throughput on a shared machine moves with everything else that runs; CPU time does not).
- queries_per_create: SQL statements of one API create (transaction control not counted).
- bulk: POST /api/v1/tickets/bulk/ with 1,000 tickets per request, each batch followed by PostgreSQL
  COPY of the same rows into the same tickets table (so same indexes and foreign keys); the rates
  use the median batch, and the totals are reported as well.

The last line printed is one JSON object. Bench rows use a source unique to the run and are deleted
after. This file is also the WSGI module gunicorn loads (`ingest:application`), so the reference
endpoint never exists in the product.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")
os.environ.setdefault("API_THROTTLE_RATE", "1000000/second")  # measure the endpoints, not the rate limit

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework import generics, serializers  # noqa: E402

from tickets.models import Customer, Ticket, TicketType  # noqa: E402

REF_TABLE = "bench_ticket_reference"


def _reference_model():
    """A model with the Ticket table's columns, on its own table (created by this script)."""
    attrs = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "tickets", "db_table": REF_TABLE, "managed": False}),
    }
    for field in Ticket._meta.local_fields:
        if field.primary_key:
            continue
        _name, _path, args, kwargs = field.deconstruct()
        if field.is_relation:
            kwargs["related_name"] = "+"
        attrs[field.name] = field.__class__(*args, **kwargs)
    attrs["Meta"].constraints = [
        models.UniqueConstraint(fields=["source", "external_id"], name="bench_reference_unique_key")
    ]
    return type("BenchReferenceTicket", (models.Model,), attrs)


ReferenceTicket = _reference_model()


class ReferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferenceTicket
        fields = (
            "id",
            "source",
            "external_id",
            "subject",
            "description",
            "feedback_kind",
            "ticket_type",
            "evidence",
            "customer",
            "status",
            "reported_at",
        )


class ReferenceCreate(generics.CreateAPIView):
    """The minimal DRF create endpoint: ModelSerializer, no evidence rules, no signals."""

    serializer_class = ReferenceSerializer
    queryset = ReferenceTicket.objects.all()


urlpatterns = [path("bench/reference/", ReferenceCreate.as_view()), path("", include("triage.urls"))]


def _wsgi():
    from django.core.wsgi import get_wsgi_application

    settings.ROOT_URLCONF = __name__
    return get_wsgi_application()


if __name__ != "__main__":
    application = _wsgi()


# --- the benchmark -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: bytes, key: str) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "Authorization": f"Api-Key {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def hammer(url: str, make_body, key: str, seconds: float, threads: int) -> float:
    """Requests per second with `threads` clients posting distinct tickets for `seconds`."""
    done = [0] * threads
    failures: list[int] = []
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            code = post(url, make_body(n, i), key)
            if code not in (200, 201):
                failures.append(code)
            done[n] += 1
            i += 1

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. HTTP {failures[0]} at {url}")
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each single-POST leg")
    parser.add_argument("--rounds", type=int, default=10, help="pairs of legs (product, reference)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients for single POSTs")
    parser.add_argument("--bulk-batches", type=int, default=20, help="bulk requests of 1,000 tickets")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Run against PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_api")

    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tickets.models import ApiKey

    call_command("migrate", verbosity=0)
    run = uuid.uuid4().hex[:8]
    source = f"bench{run}"
    key, prefix, key_hash = ApiKey.generate()
    api_key = ApiKey.objects.create(name=f"bench {run}", scope=ApiKey.Scope.WRITE, prefix=prefix, key_hash=key_hash)
    customer, _ = Customer.objects.get_or_create(external_id=f"bench-{run}", defaults={"name": "Bench Co"})
    payment = TicketType.objects.get(key="payment_failure")
    with connection.cursor() as cursor:
        # Same columns, defaults, indexes and unique constraint as tickets_ticket.
        cursor.execute(f"DROP TABLE IF EXISTS {REF_TABLE}")
        cursor.execute(f"CREATE TABLE {REF_TABLE} (LIKE tickets_ticket INCLUDING ALL)")

    try:
        evidence = {
            "payment_method": "credit_card",
            "amount": "EUR 49.00",
            "error_code": "4001",
            "checkout_step": "cart",
        }

        def product_body(n: int, i: int) -> bytes:
            return json.dumps(
                {
                    "source": source,
                    "external_id": f"s-{n}-{i}-{time.monotonic_ns()}",
                    "subject": "Card declined at checkout",
                    "ticket_type": "payment_failure",
                    "evidence": evidence,
                    "customer": {"external_id": customer.external_id},
                    "reported_at": "2026-11-01T10:00:00Z",
                }
            ).encode()

        def reference_body(n: int, i: int) -> bytes:
            return json.dumps(
                {
                    "source": source,
                    "external_id": f"r-{n}-{i}-{time.monotonic_ns()}",
                    "subject": "Card declined at checkout",
                    "ticket_type": payment.pk,
                    "evidence": evidence,
                    "customer": customer.pk,
                    "reported_at": "2026-11-01T10:00:00Z",
                }
            ).encode()

        # Queries of one create, in this process (as gunicorn runs it: no surrounding transaction).
        client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}", HTTP_HOST="127.0.0.1")
        client.get("/api/v1/ticket-types/")
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/v1/tickets/", product_body(99, 0), content_type="application/json")
        assert response.status_code == 201, response.content
        control = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.I)
        queries_per_create = sum(1 for q in captured.captured_queries if not control.match(q["sql"]))

        # CPU time per create in this process (not disturbed by other load on the machine the way
        # wall-clock throughput is): the same request through the product and the reference.
        from django.urls import clear_url_caches

        settings.ROOT_URLCONF = __name__
        clear_url_caches()
        cpu = {"product": 0.0, "reference": 0.0}
        per_leg = 100
        for leg in range(6):
            for name, url, make in (
                ("product", "/api/v1/tickets/", product_body),
                ("reference", "/bench/reference/", reference_body),
            )[:: 1 if leg % 2 else -1]:
                started = time.process_time()
                for i in range(per_leg):
                    response = client.post(url, make(1000 + leg, i), content_type="application/json")
                    assert response.status_code == 201, (url, response.content[:300])
                cpu[name] += time.process_time() - started
        cpu_ms = {name: round(total * 1000 / (per_leg * 6), 2) for name, total in cpu.items()}

        port = free_port()
        env = {**os.environ, "API_THROTTLE_RATE": "1000000/second", "DEBUG": "false", "LOG_LEVEL": "warning"}
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "ingest:application",
                "--pythonpath",
                f"{ROOT / 'bench'},{ROOT}",
                "--chdir",
                str(ROOT),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                raise SystemExit("gunicorn did not start")
            # Warm both endpoints in both workers.
            hammer(f"{base}/api/v1/tickets/", product_body, key, 1.0, args.threads)
            hammer(f"{base}/bench/reference/", reference_body, key, 1.0, args.threads)
            # Short legs in ABBA order: the machine's other load drifts, and each pair sees the same drift.
            single, reference, ratios = [], [], []
            for n in range(args.rounds):
                legs = [
                    ("product", f"{base}/api/v1/tickets/", product_body),
                    ("reference", f"{base}/bench/reference/", reference_body),
                ]
                rates = {}
                for name, url, make in legs if n % 2 == 0 else legs[::-1]:
                    rates[name] = hammer(url, make, key, args.seconds, args.threads)
                single.append(rates["product"])
                reference.append(rates["reference"])
                ratios.append(rates["product"] / rates["reference"])
                print(
                    f"pair {n + 1}: product {rates['product']:.0f}/s, reference {rates['reference']:.0f}/s", flush=True
                )

            # Bulk: 1,000-ticket batches through the API, each followed by COPY of the same rows.
            def batch(tag: str, b: int) -> list[dict]:
                return [
                    {
                        "source": source,
                        "external_id": f"{tag}-{b}-{i}",
                        "subject": f"Card declined at checkout ({i})",
                        "ticket_type": "payment_failure",
                        "evidence": evidence,
                        "customer": {"external_id": customer.external_id},
                        "reported_at": "2026-11-01T10:00:00Z",
                    }
                    for i in range(1000)
                ]

            for b in range(4):  # the first bulk request of a worker pays for its imports and caches
                assert (
                    post(f"{base}/api/v1/tickets/bulk/", json.dumps({"tickets": batch("warm", b)}).encode(), key) == 200
                )
            bulk_times, copy_times = [], []
            for b in range(args.bulk_batches):
                items = batch("b", b)
                body = json.dumps({"tickets": items}).encode()
                started = time.monotonic()
                assert post(f"{base}/api/v1/tickets/bulk/", body, key) == 200
                took = time.monotonic() - started
                copied = copy_seconds(items, payment.pk, customer.pk, f"{source}copy")
                bulk_times.append(took)
                copy_times.append(copied)
                print(f"batch {b + 1}: API {took * 1000:.0f} ms, COPY {copied * 1000:.0f} ms", flush=True)
            # Median batch: on a shared machine a batch now and then waits for a CPU, which says
            # nothing about either method; the totals are reported too.
            bulk_per_s = 1000 / statistics.median(bulk_times)
            copy_per_s = 1000 / statistics.median(copy_times)
            bulk_total_per_s = 1000 * len(bulk_times) / sum(bulk_times)
            copy_total_per_s = 1000 * len(copy_times) / sum(copy_times)
        finally:
            server.terminate()
            server.wait(timeout=30)

        bulk_sample = Ticket.objects.filter(source=source, external_id="b-0-0").values("evidence").first()
        assert Ticket.objects.filter(source=f"{source}copy").count() == 1000 * args.bulk_batches
        assert bulk_sample and bulk_sample["evidence"]["amount"] == {"amount": "49.00", "currency": "EUR"}

        result = {
            "single_per_s": round(statistics.median(single), 1),
            "reference_single_per_s": round(statistics.median(reference), 1),
            "single_ratio": round(statistics.median(ratios), 3),
            "queries_per_create": queries_per_create,
            "cpu_ms_per_create": cpu_ms["product"],
            "reference_cpu_ms_per_create": cpu_ms["reference"],
            "bulk_per_s": round(bulk_per_s, 1),
            "copy_per_s": round(copy_per_s, 1),
            "bulk_ratio": round(bulk_per_s / copy_per_s, 3),
            "bulk_total_per_s": round(bulk_total_per_s, 1),
            "copy_total_per_s": round(copy_total_per_s, 1),
            "gunicorn_workers": 2,
            "client_threads": args.threads,
        }
        print(json.dumps(result))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM tickets_ticket WHERE source IN (%s, %s)", [source, f"{source}copy"])
            cursor.execute(f"DROP TABLE IF EXISTS {REF_TABLE}")
            cursor.execute("DELETE FROM tickets_customer WHERE id = %s", [customer.pk])
        api_key.delete()


def copy_seconds(items: list[dict], type_id: int, customer_id: int, source: str) -> float:
    """Seconds to COPY the same rows into the tickets table and commit.

    The rows are already in CSV form (building them is not timed), under another source so
    they do not collide with the API's rows; same table, so same indexes and foreign keys.
    """
    columns = (
        "source, external_id, subject, description, feedback_kind, ticket_type_id, evidence, evidence_completeness, "
        "customer_id, status, reported_at, created_at, updated_at, assignment_source, assignment_reasons"
    )
    out = io.StringIO()
    for item in items:
        evidence = json.dumps({**item["evidence"], "amount": {"amount": "49.00", "currency": "EUR"}}).replace('"', '""')
        out.write(
            f'{source},{item["external_id"]},"{item["subject"]}","",bug_report,{type_id},"{evidence}",'
            f'1.0,{customer_id},new,{item["reported_at"]},now,now,"",[]\n'
        )
    data = io.StringIO(out.getvalue())
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY tickets_ticket ({columns}) FROM STDIN WITH (FORMAT csv)", data)
    return time.monotonic() - started


if __name__ == "__main__":
    main()
