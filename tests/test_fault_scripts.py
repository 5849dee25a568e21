"""The fault scripts of bench/faults/, at a small size, as CI runs them: nothing lost, nothing split.

Each starts its own Redis (and, for the restart, its own PostgreSQL cluster), gunicorn, Celery workers
and beat on a scratch database next to DATABASE_URL's, and prints a JSON line whose `ok` sums up its
checks. The full-size runs and their figures are in docs/operations.md. (two_beats.py waits for real
one-minute SLA windows and is left to manual runs; tests/slas covers a sweep run twice.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _run(script: str, *args: str, timeout: int = 400) -> dict:
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server for a private Redis")
    url = os.environ.get("DATABASE_URL", "")
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "faults" / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    figures = json.loads(lines[-1])
    assert figures["ok"], json.dumps(figures, indent=1)
    return figures


def test_two_and_four_workers_never_split_a_new_bug():
    figures = _run("split_clusters.py", "--workers", "2", "4", "--bugs", "12", "--each", "8")
    assert all(run["split_bugs"] == 0 and run["lost"] == 0 for run in figures["runs"])


def test_redis_outage_loses_nothing_and_the_worker_survives():
    figures = _run("redis_outage.py", "--before", "4", "--outage", "8", "--after", "4", "--rate", "6", "--no-sla")
    assert figures["lost"] == 0 and figures["unclustered"] == 0 and figures["worker_survived"]
    assert set(figures["answers_during_outage"]) <= {"200", "201"}


def test_a_killed_worker_assigns_every_ticket_once():
    figures = _run("worker_kill.py", "--bugs", "20", "--each", "10", "--no-sla")
    assert figures["assigned_twice_or_miscounted"] == 0 and figures["lost"] == 0


@pytest.mark.skipif(os.geteuid() != 0 and not shutil.which("initdb"), reason="needs initdb and pg_ctl")
def test_postgres_restart_gives_retryable_503s_and_no_half_written_ticket():
    figures = _run("postgres_restart.py", "--before", "4", "--between", "5", "--restarts", "1", "--rate", "10")
    assert figures["lost"] == 0 and figures["half_written"] == 0 and not figures["other_5xx"]
