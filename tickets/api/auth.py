"""API keys for integrations, and what each caller may do.

An integration sends `Authorization: Api-Key trg_<prefix>_<secret>` (or the
same key in an `X-API-Key` header, for help desks that only set custom
headers). Browser users are authenticated by their session. A read key may only
read; a session user needs the Django permission each endpoint names.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from tickets.models import ApiKey
from tickets.models.integrations import api_key_hash

LAST_USED_RESOLUTION = timedelta(minutes=5)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates `Authorization: Api-Key <key>`; request.user is anonymous, request.auth the ApiKey."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        key = ""
        if header.startswith(self.keyword + " "):
            key = header[len(self.keyword) + 1 :].strip()
        elif request.META.get("HTTP_X_API_KEY"):
            key = request.META["HTTP_X_API_KEY"].strip()
        if not key:
            return None
        parts = key.split("_")
        if len(parts) < 3 or parts[0] != "trg":
            raise exceptions.AuthenticationFailed("Malformed API key; it looks like trg_<prefix>_<secret>.")
        api_key = ApiKey.objects.filter(prefix=parts[1]).first()
        if api_key is None or not hmac.compare_digest(api_key.key_hash, api_key_hash(key)):
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(f"This API key was revoked on {api_key.revoked_at:%Y-%m-%d}.")
        now = timezone.now()
        # Stamped by requests that write (at most once a minute): a GET never writes, not even this.
        stale = api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION
        if stale and request.method not in permissions.SAFE_METHODS:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tickets.api.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key trg_<prefix>_<secret>`; keys are created (and shown once) in the admin.",
        }


def is_api_key(request) -> bool:
    return isinstance(getattr(request, "auth", None), ApiKey)


def api_key_allows(request, *, writes: bool = True) -> bool | None:
    """For a request made with an API key: whether its scope allows the method (any key reads; a write
    key writes where `writes`); None when the request has no key, so the caller checks the user."""
    if not is_api_key(request):
        return None
    if request.method in permissions.SAFE_METHODS:
        return True
    return writes and request.auth.can_write


def request_actor(request):
    """The signed-in user behind a request, or None for an integration's API key (recorded as the system)."""
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class ScopedPermission(permissions.BasePermission):
    """Read keys read; write keys write; session users need the view's Django permissions.

    A view names them in `read_permissions` (any read) and `write_permissions`
    (a dict of action name to permissions; "*" for every write).
    """

    message = "You do not have permission to do this."

    def has_permission(self, request, view) -> bool:
        safe = request.method in permissions.SAFE_METHODS
        if is_api_key(request):
            if not safe and not request.auth.can_write:
                self.message = "This API key is read-only; ask an admin for a key with the write scope."
                return False
            return True
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if safe:
            needed = getattr(view, "read_permissions", ())
        else:
            writes = getattr(view, "write_permissions", {})
            needed = writes.get(getattr(view, "action", None), writes.get("*", ("__nobody__",)))
        if not user.has_perms(needed):
            self.message = f"Your role lacks the permission(s): {', '.join(needed)}."
            return False
        return True
