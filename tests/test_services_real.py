"""The real parts: migrations on PostgreSQL and a Celery worker consuming from Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tests.conftest import REDIS_URL
from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.models import BugCluster
from triage.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_migrations_apply_forwards_and_backwards_on_postgresql():
    assert connection.vendor == "postgresql"
    call_command("migrate", "tickets", "zero", verbosity=0)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tickets_ticket'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert "ticket_awaiting_cluster" in indexes
    assert "ticket_unique_source_external_id" in indexes
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def database_url_for_subprocess() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker_process():
    """A real `celery worker` process on a private Redis queue, against the test database."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "triage.settings",
        "SECRET_KEY": "tests-only-not-a-secret",
        "DATABASE_URL": database_url_for_subprocess(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "triage",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield queue, proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_real_worker_consumes_a_task_from_redis_and_writes_to_the_database(celery_worker_process):
    queue, proc = celery_worker_process
    cluster = ClusterFactory()
    for _ in range(3):
        TicketFactory(cluster=cluster)
    assert BugCluster.objects.get(pk=cluster.pk).ticket_count == 0  # counters are stale

    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.update(broker_url=REDIS_URL, task_always_eager=False)
    try:
        with celery_app.connection_for_write(REDIS_URL) as conn:
            celery_app.send_task("tickets.cluster_refresh_counters", args=[cluster.pk], queue=queue, connection=conn)
    finally:
        celery_app.conf.update(broker_url=previous[0], task_always_eager=previous[1])

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if BugCluster.objects.get(pk=cluster.pk).ticket_count == 3:
            break
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.25)
    else:
        proc.terminate()
        pytest.fail("the worker did not process the task within 60 s:\n" + proc.communicate()[0][-3000:])
