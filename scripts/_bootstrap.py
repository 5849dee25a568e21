"""Create ./.venv and install the project into it, pinned by scripts/constraints.txt.

Shared by quickstart.py and test.py so that both work as the first command on a
fresh machine with nothing but Python 3.11+. Re-running is cheap: the install is
skipped while pyproject.toml and the constraints are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
CONSTRAINTS = ROOT / "scripts" / "constraints.txt"
STAMP = VENV / ".triage-install-stamp"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", CONSTRAINTS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_environment() -> Path:
    """Return the virtualenv's python, creating and installing it if needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - the script may be run by an older python3
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        say(f"Creating a virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != _fingerprint():
        say("Installing dependencies (pinned by scripts/constraints.txt)")
        subprocess.run(
            [
                str(PYTHON),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-c",
                str(CONSTRAINTS),
                "-e",
                f"{ROOT}[dev]",
            ],
            check=True,
        )
        STAMP.write_text(_fingerprint())
    return PYTHON


def ensure_dotenv() -> None:
    """Give a local install its own secret key in .env (never committed)."""
    dotenv = ROOT / ".env"
    if dotenv.exists():
        return
    import secrets

    dotenv.write_text(
        "# Local settings for this checkout (read by triage/settings.py; not committed).\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    )
    say("Wrote .env with a fresh SECRET_KEY")


def run(python: Path, *args: str, **kwargs) -> None:
    subprocess.run([str(python), *args], cwd=ROOT, check=True, **kwargs)
