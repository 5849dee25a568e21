"""Running the project's own commands in a process of their own, as an operator would."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def json_printed_by(args: list[str], *, var_dir: Path, env: dict[str, str] | None = None, timeout: int = 300) -> dict:
    """Run `python ARGS` in the project's directory (development settings, `var_dir` for its files) and return the
    JSON object it printed last; the test fails with the process's errors if it exits with an error."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true", "TRIAGE_VAR_DIR": str(var_dir), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
