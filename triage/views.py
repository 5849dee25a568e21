"""Pages that compose the apps: the signed-in home page (one per role), a health check, the favicon and the
offline API docs."""

import functools
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static

from tickets.clusters.selectors import home_summary
from tickets.models import Role
from triage import homes


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role's home: customer success its accounts; agents product's questions, then their reports;
    product leads and admins the figures of the week (the weekly review, once it is installed)."""
    roles = set(request.user.groups.values_list("name", flat=True))
    if not request.user.is_superuser and Role.PRODUCT_LEAD not in roles:
        if Role.CUSTOMER_SUCCESS in roles and Role.AGENT not in roles:
            return render(request, "triage/home_csm.html", homes.csm_home(user=request.user))
        if Role.AGENT in roles:
            return render(request, "triage/home_agent.html", homes.agent_home(user=request.user))
    return render(request, "triage/home.html", home_summary(user=request.user))


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and docker-compose."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (the admin, the API docs)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.lru_cache(maxsize=1)
def _redoc_bundle() -> bytes:
    import drf_spectacular_sidecar

    path = Path(drf_spectacular_sidecar.__file__).parent / "static/drf_spectacular_sidecar/redoc/bundles"
    text = (path / "redoc.standalone.js").read_text(encoding="utf-8")
    # Redoc's "API docs by Redocly" logo is fetched from its CDN; an inline image keeps the docs offline.
    logo = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/%3E"
    return text.replace(REDOC_LOGO, logo).encode("utf-8")


def redoc_bundle(request: HttpRequest) -> HttpResponse:
    """Redoc's script from the drf-spectacular-sidecar package, with its one outside reference made local."""
    response = HttpResponse(_redoc_bundle(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
