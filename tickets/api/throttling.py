"""Per-key rate limits: each API key (or signed-in user) has its own budget; 429 carries Retry-After.

Counting is `tickets.api.ratelimit`'s: exact across processes on Redis, per process while Redis is down.
"""

from rest_framework.throttling import SimpleRateThrottle

from tickets.api.auth import is_api_key
from tickets.api.ratelimit import rate_limit_hit


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Rate from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"] (env API_THROTTLE_RATE), per key or user."""

    scope = "api"
    _wait = None

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self._wait = rate_limit_hit(self.key, limit=self.num_requests, window=self.duration)
        return self._wait == 0

    def wait(self):
        return self._wait

    def get_cache_key(self, request, view):
        if is_api_key(request):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
