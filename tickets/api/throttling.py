"""Per-key rate limits: each API key (or signed-in user) has its own budget; 429 carries Retry-After."""

from rest_framework.throttling import SimpleRateThrottle

from tickets.api.auth import is_api_key


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Rate from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"] (env API_THROTTLE_RATE), per key or user."""

    scope = "api"

    def get_cache_key(self, request, view):
        if is_api_key(request):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
