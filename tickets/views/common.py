"""Helpers shared by the agent-facing views."""

from __future__ import annotations

import functools
import zoneinfo

from django.http import HttpRequest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

TZ_COOKIE = "tz"


def agent_timezone(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The agent's time zone as their browser reports it (form field or cookie), if it is a real zone."""
    name = (request.POST.get("tz") or request.COOKIES.get(TZ_COOKIE) or "").strip()
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def in_agent_timezone(view):
    """Run the view with the agent's time zone active: defaults and naive inputs mean their local time."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        zone = agent_timezone(request)
        if zone is None:
            return view(request, *args, **kwargs)
        with timezone.override(zone):
            return view(request, *args, **kwargs)

    return wrapper


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default
