#!/usr/bin/env python3
"""Run the whole test suite: lint (ruff), the import-layers contract and pytest.

    python3 scripts/test.py [pytest arguments]

Creates ./.venv on first use. Tests that need PostgreSQL, Redis or Chromium run
when DATABASE_URL / REDIS_URL / /usr/bin/chromium are there (CI sets them all).
"""

from __future__ import annotations

import subprocess
import sys

from _bootstrap import BIN, ROOT, ensure_dotenv, ensure_environment, say


def main() -> int:
    python = ensure_environment()
    ensure_dotenv()  # so manage.py runs in this checkout too (makemigrations, shell) without exporting a key
    say("ruff check")
    lint = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT)
    if lint.returncode:
        return lint.returncode
    say("pytest")
    return subprocess.run([str(python), "-m", "pytest", *sys.argv[1:]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
