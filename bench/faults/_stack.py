"""The real stack for fault scripts: a private Redis, gunicorn, Celery workers and beat, a webhook receiver.

Every process is started here, in its own process group, on loopback ports, and stopped here (only
those: a script never touches the machine's shared Redis or PostgreSQL). The database is a scratch
database next to DATABASE_URL's (bench/_scratch.py), or a private PostgreSQL cluster for the restart
script. This process is set up as a Django process on the same database, to prepare data and to read
what was stored.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
LOGS = Path(os.environ.get("FAULT_LOG_DIR", "/tmp")) / "triage-faults"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str, interval: float = 0.25):
    """Poll `check` until it returns something truthy; SystemExit naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


class Process:
    """One child process in its own group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOGS / f"{name}-{os.getpid()}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)
        self._log.close()

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


class PrivateRedis:
    """A redis-server of our own on a free port (no persistence: a restart loses what it held)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = Process("redis", [*argv, "--save", "", "--appendonly", "no"], dict(os.environ))
        wait_for(self.ping, 10, "the private Redis")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None


def pg_bin(name: str) -> str:
    """A PostgreSQL server program: on PATH, or in Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    raise SystemExit(f"{name} not found: install PostgreSQL's server package")


class PrivatePostgres:
    """A PostgreSQL cluster of our own (run as the postgres user) on a free port, to restart at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.data = Path(f"/tmp/triage-fault-pg-{os.getpid()}")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/triage_proof_fault"

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        command = argv if os.geteuid() != 0 else ("runuser", "-u", "postgres", "--", *argv)
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def init(self) -> None:
        if self.data.exists():
            shutil.rmtree(self.data)
        self.data.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self._as_postgres(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()
        self._as_postgres(
            pg_bin("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-c",
            "CREATE DATABASE triage_proof_fault",
        )

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp -c max_connections=200"
        self._as_postgres(
            pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "-l",
            str(self.data / "server.log"),
            *args,
        )

    def start(self) -> None:
        self.ctl("start")

    def restart(self) -> None:
        self.ctl("restart", "-m", "fast")

    def destroy(self) -> None:
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "stop", "-m", "immediate", check=False)
        shutil.rmtree(self.data, ignore_errors=True)


class Stack:
    """gunicorn (2 workers), Celery workers and beats on one database and one Redis."""

    def __init__(self, *, database_url: str, redis_url: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "triage.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "fault-scripts-only-not-a-secret",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "API_THROTTLE_RATE": "100000/minute",
            "LOG_LEVEL": "info",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CLUSTERS_SWEEP_SECONDS": "3",
            "WEBHOOK_SWEEP_SECONDS": "3",
            "SLA_SWEEP_SECONDS": "2",
            "WEBHOOK_RETRY_BASE_SECONDS": "1",
            "TRIAGE_VAR_DIR": f"/tmp/triage-fault-var-{os.getpid()}",
            **(env or {}),
        }
        self.processes: list[Process] = []
        self.web: Process | None = None

    def start_web(self, workers: int = 2) -> Process:
        # DEBUG is off: pages need the collected, hashed static files (as in production).
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True
        )
        self.web = self._start(
            "web",
            [
                str(BIN / "gunicorn"),
                "triage.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
        )
        wait_for(lambda: self.get("/healthz")[0] == 200, 60, "gunicorn to answer /healthz")
        return self.web

    def start_worker(self, name: str = "worker", concurrency: int = 1) -> Process:
        return self._start(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "triage",
                "worker",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{name}-{os.getpid()}@%h",
            ],
        )

    def start_beat(self, name: str = "beat") -> Process:
        schedule = f"/tmp/triage-fault-{name}-{os.getpid()}-schedule"
        return self._start(
            name, [str(BIN / "celery"), "-A", "triage", "beat", "--loglevel=INFO", "--schedule", schedule]
        )

    def _start(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, self.env)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def request(self, method: str, path: str, body=None, key: str = "", timeout: float = 30):
        """(status, parsed JSON or None, headers); status 0 when no answer came (connection refused/reset)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Authorization", f"Api-Key {key}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                return response.status, _json(raw), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read()), dict(error.headers)
        except (OSError, urllib.error.URLError):
            return 0, None, {}

    def get(self, path: str, key: str = ""):
        return self.request("GET", path, key=key)


def _json(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None


def django_setup(database_url: str, redis_url: str) -> None:
    """Make this process a Django process on the stack's database (to prepare data and read results)."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="triage.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        SECRET_KEY=os.environ.get("SECRET_KEY") or "fault-scripts-only-not-a-secret",
        TRIAGE_VAR_DIR=f"/tmp/triage-fault-var-{os.getpid()}",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def api_key(scope: str = "write") -> str:
    from tickets.models import ApiKey

    key, prefix, key_hash = ApiKey.generate()
    ApiKey.objects.create(name=f"fault {prefix}", scope=scope, prefix=prefix, key_hash=key_hash)
    return key


def start_receiver():
    from tests.slas.receiver import start_receiver as start

    return start()


class Poster:
    """Threads that POST tickets at a steady pace, retrying 503/429 after Retry-After and lost connections
    as a help desk would (the same ticket again: the upsert never duplicates), recording every answer."""

    def __init__(self, stack: Stack, key: str, make_ticket, *, threads: int = 4, per_second: float = 20.0):
        self.stack, self.key, self.make = stack, key, make_ticket
        self.threads, self.interval = threads, threads / per_second
        self.sent: dict[str, dict] = {}  # external id -> body
        self.accepted: set[str] = set()
        self.statuses: dict[int, int] = {}
        self.retry_after_missing = 0
        self.latencies: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(120)

    def _run(self, n: int) -> None:
        i = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            body = self.make(n, i)
            i += 1
            with self._lock:
                self.sent[body["external_id"]] = body
            self._send_until_answered(body)
            next_at += self.interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _send_until_answered(self, body: dict) -> None:
        for _attempt in range(120):
            started = time.monotonic()
            status, _payload, headers = self.stack.request("POST", "/api/v1/tickets/", body, self.key)
            with self._lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status in (200, 201):
                    self.latencies.append(time.monotonic() - started)
                    self.accepted.add(body["external_id"])
                    return
                if status in (429, 503) and "Retry-After" not in headers:
                    self.retry_after_missing += 1
            if 400 <= status < 500 and status != 429:
                return  # refused: the help desk would show the error
            time.sleep(min(float(headers.get("Retry-After") or 1), 2.0))


def report(figures: dict) -> None:
    """The last line of every fault script: one JSON object."""
    print(json.dumps(figures, sort_keys=True), flush=True)
