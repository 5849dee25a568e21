"""Every page in the reader's own time zone (the one their browser reports in the `tz` cookie)."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone

TZ_COOKIE = "tz"  # set by static/js/site.js (and the report form's script)


def browser_timezone(request) -> zoneinfo.ZoneInfo | None:
    """The zone in the `tz` cookie, if it is a real one. The body is never read here (uploads, the API)."""
    name = (request.COOKIES.get(TZ_COOKIE) or "").strip()
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class BrowserTimezoneMiddleware:
    """Activate the browser's time zone for the request, so every page shows local times; the API and the
    database keep UTC. Without the cookie (first visit, or no JavaScript) the organisation's TIME_ZONE applies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = None if request.path.startswith("/api/") else browser_timezone(request)
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)
