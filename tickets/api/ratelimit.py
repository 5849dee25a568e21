"""A sliding-window rate limiter that is exact under concurrency, and survives a Redis outage.

With Redis (the shared cache of every web process), one Lua script trims the key's log to the
window, counts it and records the request only if it fits, atomically, on Redis' clock: N clients
on M processes never get more than the configured number through in any window. (DRF's
SimpleRateThrottle reads the history, decides, then writes it back: concurrent requests all read
the same history and all pass.)

When Redis cannot be reached, accepting tickets must not depend on it: the limiter falls back to a
log in this process (each process then allows the rate on its own), says so in the log once per
outage, and tries Redis again after a few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque

logger = logging.getLogger(__name__)

RETRY_REDIS_AFTER_SECONDS = 5.0

_SCRIPT = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], t, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - t)
"""


class _LocalLog:
    """The same sliding log in this process's memory (tests, SQLite first run, Redis outages)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: dict[str, deque[float]] = {}

    def hit(self, key: str, limit: int, window: float) -> float:
        now = time.monotonic()
        with self._lock:
            log = self._logs.setdefault(key, deque())
            while log and log[0] <= now - window:
                log.popleft()
            if len(log) < limit:
                log.append(now)
                return 0.0
            return log[0] + window - now

    def clear(self) -> None:
        with self._lock:
            self._logs.clear()


local_log = _LocalLog()
_state = {"redis_down_until": 0.0, "script": None}


def _redis_backend():
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def rate_limit_hit(key: str, *, limit: int, window: float) -> float:
    """Record one request under `key` if it fits; returns 0 when allowed, else the seconds to wait."""
    backend = _redis_backend() if time.monotonic() >= _state["redis_down_until"] else None
    if backend is None:
        return local_log.hit(key, limit, window)
    try:
        client = backend._cache.get_client(write=True)
        if _state["script"] is None:
            _state["script"] = client.register_script(_SCRIPT)
        wait = float(
            _state["script"](keys=[backend.make_key(key)], args=[window, limit, uuid.uuid4().hex], client=client)
        )
    except Exception as exc:  # noqa: BLE001 - any Redis failure: keep answering, limited per process
        if _state["redis_down_until"] == 0.0:
            logger.warning(
                "Rate limiting falls back to a per-process count: Redis is unreachable (%s). "
                "Tickets are still accepted; limits are shared again once Redis answers.",
                exc,
            )
        _state["redis_down_until"] = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
        return local_log.hit(key, limit, window)
    if _state["redis_down_until"]:
        logger.warning("Redis answers again; rate limits are shared across processes again.")
        _state["redis_down_until"] = 0.0
    return wait
