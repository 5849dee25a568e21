"""Pages that compose the apps: the signed-in home page and a health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from tickets.clusters.selectors import home_summary


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "triage/home.html", home_summary(user=request.user))


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and docker-compose."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
