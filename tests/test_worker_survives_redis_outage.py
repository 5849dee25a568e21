"""A real worker outlives a Redis outage that catches a task in flight (it reconnects; it does not exit).

With celery 5.7.0 the worker closed its broker connection twice on a connection loss; the second close
restored the unacknowledged (acks_late) task through a transport already released and died with
"Unrecoverable error: AttributeError('NoneType' object has no attribute 'hostname')". The pins in
scripts/constraints.txt avoid it; this test holds a task in flight (blocked on a row lock), takes a
private Redis away, brings it back and checks the same worker process finishes the work.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from tests.test_services_real import database_url_for_subprocess
from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.models import BugCluster
from triage.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("private redis-server did not start")


def _send(broker: str, cluster_id: int) -> None:
    """Publish on a fresh connection (a pooled one may still point at the Redis that went away)."""
    from kombu import Connection

    with Connection(broker) as conn:
        celery_app.send_task("tickets.cluster_refresh_counters", args=[cluster_id], connection=conn)


def test_worker_reconnects_after_redis_goes_away_with_a_task_in_flight():
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server to run a private Redis")
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis = _redis(port)
    held = [ClusterFactory(), ClusterFactory()]  # one task in flight in each of the two pool processes
    waiting = ClusterFactory()
    for cluster in (*held, waiting):
        TicketFactory(cluster=cluster)
    database_url = database_url_for_subprocess()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "triage.settings",
        "SECRET_KEY": "tests-only-not-a-secret",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "REDIS_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "triage",
            "worker",
            "--concurrency=2",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lock = psycopg2.connect(database_url.replace("postgres://", "postgresql://"))
    try:
        with lock.cursor() as cursor:  # the task will wait on this row: it is in flight, unacknowledged
            cursor.execute("SELECT id FROM tickets_bugcluster WHERE id IN %s FOR UPDATE", [tuple(c.pk for c in held)])
        for cluster in held:
            _send(broker, cluster.pk)
        time.sleep(6)  # the worker connects and takes the task
        redis.terminate()
        redis.wait(10)
        time.sleep(3)
        assert worker.poll() is None, "the worker exited when Redis went away:\n" + worker.stdout.read()[-4000:]
        lock.rollback()  # the blocked task finishes while Redis is away
        redis = _redis(port)
        _send(broker, waiting.pk)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and BugCluster.objects.get(pk=waiting.pk).ticket_count != 1:
            assert worker.poll() is None, "the worker exited:\n" + worker.stdout.read()[-4000:]
            time.sleep(0.5)
        if BugCluster.objects.get(pk=waiting.pk).ticket_count != 1:
            os.killpg(worker.pid, signal.SIGTERM)
            queued = subprocess.run(["redis-cli", "-p", str(port), "keys", "*"], capture_output=True, text=True).stdout
            pytest.fail(
                f"the worker did not reconnect and work ({queued.strip()} queued):\n"
                + worker.communicate(timeout=20)[0][-3000:]
            )
    finally:
        lock.close()
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        redis.terminate()
