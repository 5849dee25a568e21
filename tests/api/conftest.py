"""API fixtures: keys of each scope and clients that send them."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tickets.models import ApiKey


def make_key(scope: str, name: str = "Zendesk", revoked: bool = False) -> tuple[ApiKey, str]:
    key, prefix, key_hash = ApiKey.generate()
    api_key = ApiKey.objects.create(
        name=name, scope=scope, prefix=prefix, key_hash=key_hash, revoked_at=timezone.now() if revoked else None
    )
    return api_key, key


@pytest.fixture
def write_key(db):
    return make_key(ApiKey.Scope.WRITE)


@pytest.fixture
def read_key(db):
    return make_key(ApiKey.Scope.READ, name="Reporting")


@pytest.fixture
def writer(write_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {write_key[1]}")
    return client


@pytest.fixture
def reader(read_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {read_key[1]}")
    return client


@pytest.fixture
def session_client():
    def _client(user):
        client = APIClient()
        client.force_login(user)
        return client

    return _client


PAYMENT = {
    "source": "zendesk",
    "external_id": "ZD-1",
    "subject": "Card declined at checkout",
    "ticket_type": "payment_failure",
    "evidence": {"payment_method": "credit_card", "amount": "EUR 49.00", "error_code": "4001"},
}


@pytest.fixture
def payment_body():
    return {**PAYMENT, "evidence": dict(PAYMENT["evidence"])}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with empty rate-limit logs (the per-process log outlives Django's cache)."""
    from tickets.api import ratelimit

    ratelimit.local_log.clear()
    ratelimit._state.update(redis_down_until=0.0, script=None)
    yield
    ratelimit.local_log.clear()
    ratelimit._state.update(redis_down_until=0.0, script=None)
