#!/usr/bin/env python3
"""Install, migrate, load the demo data and start the app (web, Celery worker and beat).

    python3 scripts/quickstart.py [--port 8000] [--tickets 6000] [--reset]

Runs on the embedded defaults (SQLite file and file-system broker in ./var/)
unless DATABASE_URL / CELERY_BROKER_URL are set. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from _bootstrap import ROOT, ensure_dotenv, ensure_environment, run, say

DEMO_LOGINS = [
    ("agent", "Support agent: files reports, answers product's questions"),
    ("lead", "Product lead: triages clusters, sets priority and status"),
    ("csm", "Customer success: follows accounts and their bugs"),
    ("admin", "Admin: everything, including /admin/"),
]
DEMO_PASSWORD = "demo-password"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--tickets", type=int, default=6000, help="demo tickets to create on first run")
    parser.add_argument("--reset", action="store_true", help="delete the demo data and create it again")
    parser.add_argument("--no-serve", action="store_true", help="prepare everything, then exit")
    args = parser.parse_args()

    python = ensure_environment()
    ensure_dotenv()
    # Links in alert emails and webhooks point at the port this run serves on (unless SITE_URL is set).
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    dotenv = ROOT / ".env"
    if "SITE_URL" not in env and not any(
        line.strip().startswith("SITE_URL=") for line in dotenv.read_text().splitlines()
    ):
        env["SITE_URL"] = f"http://127.0.0.1:{args.port}"
    say("Applying database migrations")
    run(python, "manage.py", "migrate", "--noinput", env=env)
    run(python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0", env=env)
    say("Loading demo data (skipped if already loaded)")
    demo = ["manage.py", "seed_demo", "--tickets", str(args.tickets)]
    demo += ["--reset"] if args.reset else ["--if-empty"]
    run(python, *demo, env=env)
    if args.no_serve:
        return 0

    # Ctrl-C, `kill` and a closing terminal all stop the web app and the worker with us. Installing the
    # handlers explicitly also covers a start in the background, where SIGINT arrives ignored.
    def stop(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)

    url = f"http://127.0.0.1:{args.port}/"
    processes: list[subprocess.Popen] = []
    try:
        say("Starting the Celery worker with beat")
        worker_command = ["-m", "celery", "-A", "triage", "worker", "--beat", "--loglevel=WARNING"]
        worker_command += ["--concurrency=2", "--schedule", str(ROOT / "var" / "celerybeat-schedule")]
        processes.append(subprocess.Popen([str(python), *worker_command], cwd=ROOT, env=env))
        say(f"Starting the web app at {url}")
        web_command = ["manage.py", "runserver", f"127.0.0.1:{args.port}", "--noreload"]
        processes.append(subprocess.Popen([str(python), *web_command], cwd=ROOT, env=env))
        time.sleep(2)
        print()
        print(f"  Triage is running at {url}")
        print(f"  Sign in with any of these demo logins (password: {DEMO_PASSWORD}):")
        for username, role in DEMO_LOGINS:
            print(f"    {username:<8} {role}")
        print("  API docs: " + url + "api/v1/docs/    Stop: Ctrl-C")
        print()
        while all(proc.poll() is None for proc in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        for proc in processes:
            if proc.poll() is None:
                # SIGTERM: a warm shutdown for the worker (a second SIGINT would make it a cold one).
                proc.send_signal(signal.SIGTERM if os.name != "nt" else signal.CTRL_C_EVENT)
        for proc in processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
