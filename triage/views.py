"""Pages that compose the apps: the signed-in home page (one per role) and a health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

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
