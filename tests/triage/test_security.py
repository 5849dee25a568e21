"""Production safety: `check --deploy` is clean, no unsigned SLA webhooks, no demo logins on a production
database, attachments only for signed-in users."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from slas.models import SlaPolicy
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Not what the tests' own process carries (the browser tests allow sync calls from an event loop).
    dropped = ("DJANGO_SETTINGS_MODULE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environ = {k: v for k, v in os.environ.items() if k not in dropped}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "triage.settings",
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "triage.example.com",
    "HTTPS": "true",
}


def test_check_deploy_is_clean_under_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Nothing to fix; an Info may remain (tickets.I001: no sentence-embedding model configured here).
    assert "WARNINGS:" not in output and "ERRORS:" not in output, output


def test_check_deploy_names_what_is_missing_without_https():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "HTTPS": "false"})
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stderr + result.stdout


def test_a_short_sla_webhook_secret_stops_production_at_start():
    result = _manage("check", **{**PRODUCTION, "SLA_WEBHOOK_SECRET": "short"})
    assert result.returncode != 0 and "SLA_WEBHOOK_SECRET is shorter than 16" in result.stderr


@pytest.mark.django_db
def test_a_policy_with_a_webhook_needs_a_secret(settings, admin_user):
    settings.SLA_WEBHOOK_SECRET = ""
    policy = SlaPolicy(name="Signed", ack_minutes=60, webhook_url="https://hooks.example.com/sla")
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert "webhook_secret" in refused.value.message_dict
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(admin_user)
    body = {"name": "Signed", "ack_minutes": 60, "webhook_url": "https://hooks.example.com/sla"}
    response = client.post("/api/v1/sla-policies/", body, format="json")
    assert response.status_code == 400 and "webhook_secret" in response.json()["fields"]
    body["webhook_secret"] = secrets.token_hex(16)
    assert client.post("/api/v1/sla-policies/", body, format="json").status_code == 201


@pytest.mark.django_db
def test_an_alert_is_never_signed_with_an_empty_key(settings):
    from slas.channels import MissingWebhookSecret, webhook_secret
    from slas.models import Alert

    settings.SLA_WEBHOOK_SECRET = ""
    alert = Alert(policy=SlaPolicy(pk=1, name="x", webhook_url="https://hooks.example.com", webhook_secret=""))
    with pytest.raises(MissingWebhookSecret):
        webhook_secret(alert)


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [{}, {"reset": True}])
def test_seed_demo_refuses_a_production_database(settings, extra):
    settings.DEMO_DATA_ALLOWED = False
    TicketFactory()
    with pytest.raises(CommandError, match="looks like production"):
        call_command("seed_demo", tickets=10, no_progress=True, **extra)
    assert Ticket.objects.count() == 1  # --reset deleted nothing


@pytest.mark.django_db
def test_attachments_are_served_only_to_signed_in_users_who_see_tickets(client, agent, outsider, settings):
    Path(settings.MEDIA_ROOT, "attachments").mkdir(parents=True, exist_ok=True)
    Path(settings.MEDIA_ROOT, "attachments", "session.har").write_text('{"log": {"cookies": "secret"}}')
    url = "/media/attachments/session.har"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(agent)
    response = client.get(url)
    assert response.status_code == 200 and b"secret" in b"".join(response.streaming_content)
