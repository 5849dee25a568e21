"""CI: a real Celery beat and worker against Redis fire an acknowledgment alert to a local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from slas.models import Alert
from slas.services import clock_sync
from tests.conftest import REDIS_URL
from tests.slas.factories import PolicyFactory
from tests.slas.receiver import start_receiver
from tests.test_services_real import database_url_for_subprocess
from tests.tickets.factories import ClusterFactory
from tickets.models import BugCluster

ROOT = Path(__file__).resolve().parent.parent.parent


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "triage", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_beat_and_worker_deliver_a_signed_acknowledgment_alert(tmp_path):
    receiver = start_receiver()
    policy = PolicyFactory(
        name="Demo P1",
        ack_minutes=1,
        warning_percent=0,
        escalation_1_minutes=None,
        escalation_2_minutes=None,
        escalation_3_minutes=None,
        notify_email=False,
        webhook_url=receiver.url,
        webhook_secret="ci-secret",
    )
    cluster = ClusterFactory(title="Checkout times out")
    # Opened two minutes ago and never acknowledged: the 1-minute window has passed.
    BugCluster.objects.filter(pk=cluster.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    clock_sync(cluster_id=cluster.pk)

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "triage.settings",
        "SECRET_KEY": "tests-only-not-a-secret",
        "DATABASE_URL": database_url_for_subprocess(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SLA_SWEEP_SECONDS": "1",
        "TRIAGE_VAR_DIR": str(tmp_path),
    }
    worker = _start(
        ["worker", "--pool=solo", "--without-gossip", "--without-mingle", "-l", "INFO"], env, tmp_path / "w"
    )
    beat = _start(["beat", "-s", str(tmp_path / "beat-schedule"), "-l", "INFO"], env, tmp_path / "b")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not receiver.requests:
            assert worker.poll() is None, (tmp_path / "w").read_text()[-3000:]
            assert beat.poll() is None, (tmp_path / "b").read_text()[-3000:]
            time.sleep(0.25)
        if not receiver.requests:
            pytest.fail(
                "no alert arrived within 90 s\nworker:\n"
                + (tmp_path / "w").read_text()[-3000:]
                + "\nbeat:\n"
                + (tmp_path / "b").read_text()[-2000:]
            )
        time.sleep(2.5)  # a few more beats: still exactly one alert
    finally:
        _stop(beat)
        _stop(worker)
        receiver.server.shutdown()

    assert len(receiver.requests) == 1
    hook = receiver.requests[0]
    timestamp = hook.headers["X-Triage-Timestamp"]
    expected = hmac.new(b"ci-secret", timestamp.encode() + b"." + hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Triage-Signature"] == f"sha256={expected}"
    body = json.loads(hook.body)
    assert body["event"] == "sla.breach" and body["target"] == "ack"
    assert body["cluster"]["id"] == cluster.pk and body["policy"] == policy.name
    alert = Alert.objects.get(cluster=cluster)
    assert alert.sent_at is not None and alert.deliveries["webhook"] == "sent"
