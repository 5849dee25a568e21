"""Settings are strict: production refuses to start without a secret, and typos fail loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from triage.env import env_bool, env_float, env_int

ROOT = Path(__file__).resolve().parent.parent


def run_settings(env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    env.update(env_overrides)
    env["TRIAGE_VAR_DIR"] = str(ROOT / "var" / "settings-test")
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='triage.settings'; django.setup(); print('started')"
    # Run outside the repository so a developer's .env is not read.
    return subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); import dotenv; "
            f"dotenv.load_dotenv = lambda *a, **k: False; {code}",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
    )


def test_production_refuses_to_start_without_secret_key():
    result = run_settings({})
    assert result.returncode != 0
    assert "SECRET_KEY is not set. Set the SECRET_KEY environment variable" in result.stderr


def test_production_starts_with_secret_key():
    result = run_settings({"SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_env_bool_refuses_values_it_does_not_understand(monkeypatch):
    monkeypatch.setenv("FEATURE_X", "ture")
    with pytest.raises(ImproperlyConfigured, match="FEATURE_X='ture' is not a boolean"):
        env_bool("FEATURE_X")
    monkeypatch.setenv("FEATURE_X", "yes")
    assert env_bool("FEATURE_X") is True


def test_env_int_names_the_variable(monkeypatch):
    monkeypatch.setenv("WORKERS", "four")
    with pytest.raises(ImproperlyConfigured, match="WORKERS='four' is not a whole number"):
        env_int("WORKERS", 1)


def test_env_float_names_the_variable_and_its_minimum(monkeypatch):
    monkeypatch.setenv("CLUSTER_SPIKE_K", "lots")
    with pytest.raises(ImproperlyConfigured, match="CLUSTER_SPIKE_K='lots' is not a number"):
        env_float("CLUSTER_SPIKE_K", 3.0)
    monkeypatch.setenv("CLUSTER_SPIKE_MIN_RATIO", "0.5")
    with pytest.raises(ImproperlyConfigured, match="CLUSTER_SPIKE_MIN_RATIO=0.5 is below the minimum of 1"):
        env_float("CLUSTER_SPIKE_MIN_RATIO", 2.0, minimum=1.0)
    monkeypatch.setenv("CLUSTER_SPIKE_K", "nan")
    with pytest.raises(ImproperlyConfigured, match="not a finite number"):
        env_float("CLUSTER_SPIKE_K", 3.0)
    monkeypatch.setenv("CLUSTER_SPIKE_K", " 2.5 ")
    assert env_float("CLUSTER_SPIKE_K", 3.0) == 2.5


def test_a_bad_spike_setting_stops_the_app_at_start_up():
    result = run_settings({"CLUSTER_SPIKE_K": "high", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0 and "CLUSTER_SPIKE_K='high' is not a number" in result.stderr


def test_import_layers_contract_holds():
    """triage -> metrics -> slas -> tickets: lower apps never import higher ones."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
