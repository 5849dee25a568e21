"""Rate limits hold under concurrency, and the API keeps accepting tickets while Redis is down."""

from __future__ import annotations

import logging
import threading

import pytest
from rest_framework.test import APIRequestFactory

from tests.conftest import REDIS_URL
from tickets.api.throttling import ApiKeyRateThrottle
from tickets.models import ApiKey, Ticket

pytestmark = pytest.mark.django_db
LIMIT = 60


def _hammer(clients: int, per_client: int) -> int:
    """`clients` threads each ask `per_client` times for one key's budget; returns how many got through."""
    key = ApiKey(pk=987_654, name="busy", scope=ApiKey.Scope.WRITE)
    allowed = []
    barrier = threading.Barrier(clients)

    def run():
        throttle = ApiKeyRateThrottle()
        throttle.rate, (throttle.num_requests, throttle.duration) = "x", (LIMIT, 60)
        request = APIRequestFactory().get("/api/v1/ticket-types/")
        request.auth = key
        barrier.wait()
        allowed.append(sum(ApiKeyRateThrottle.allow_request(throttle, request, None) for _ in range(per_client)))

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(allowed)


def _redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "ratelimit-test",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def test_eight_clients_on_one_key_never_pass_more_than_the_limit_in_process():
    assert _hammer(8, 30) == LIMIT


@pytest.mark.redis
def test_eight_clients_on_one_key_never_pass_more_than_the_limit_on_redis(settings):
    settings.CACHES = _redis_cache(REDIS_URL)
    from django.core.cache import cache

    cache.clear()
    try:
        assert _hammer(8, 30) == LIMIT
    finally:
        cache.clear()


def test_tickets_are_accepted_while_the_rate_limit_cache_is_down(settings, writer, payment_body, caplog):
    settings.CACHES = _redis_cache("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="tickets.api.ratelimit"):
        for n in range(3):
            response = writer.post("/api/v1/tickets/", {**payment_body, "external_id": f"ZD-{n}"}, format="json")
            assert response.status_code == 201, response.content[:300]
    assert Ticket.objects.count() == 3
    assert caplog.text.count("falls back to a per-process count") == 1
