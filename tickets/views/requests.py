"""Feature requests weighed by revenue: the list, one request with its evidence and decisions, its export."""

from __future__ import annotations

import django_filters
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from tickets.feedback.export import feature_request_markdown
from tickets.feedback.filters import FeatureRequestFilterSet
from tickets.feedback.forms import FeatureDecisionForm
from tickets.feedback.requests import (
    feature_request_decisions,
    feature_request_details,
    feature_request_get,
    feature_request_list,
)
from tickets.feedback.services import feature_request_decide
from tickets.models import BugCluster
from tickets.views.common import in_agent_timezone

PER_PAGE = 25
SORTS = {
    "revenue": (F("revenue").desc(), "-ticket_count", "-id"),
    "customers": ("-customers", "-revenue", "-id"),
    "requests": ("-ticket_count", "-revenue", "-id"),
    "recent": (F("last_reported_at").desc(nulls_last=True), "-id"),
}
can_view = permission_required("tickets.view_bugcluster", raise_exception=True)


class FeatureRequestPageFilterSet(FeatureRequestFilterSet):
    """The shared filters plus the page's sort (the API orders with `ordering`)."""

    sort = django_filters.ChoiceFilter(
        method="sorted",
        label="Sort by",
        empty_label=None,
        choices=(
            ("revenue", "Revenue represented"),
            ("customers", "Customers"),
            ("requests", "Times requested"),
            ("recent", "Last requested"),
        ),
    )

    def sorted(self, queryset, name: str, value: str):
        return queryset.order_by(*SORTS.get(value, SORTS["revenue"]))


@login_required
@can_view
@in_agent_timezone
@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    """Every feature request, by revenue represented (not by loudness) unless sorted otherwise."""
    queryset = feature_request_list().order_by(*SORTS["revenue"])
    filterset = FeatureRequestPageFilterSet(request.GET or None, queryset=queryset)
    valid = not filterset.is_bound or filterset.is_valid()
    clusters = (filterset.qs if filterset.is_bound else queryset) if valid else BugCluster.objects.none()
    page = Paginator(clusters, PER_PAGE).get_page(request.GET.get("page"))
    details = feature_request_details(clusters=list(page.object_list))
    rows = [(cluster, details[cluster.pk]) for cluster in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filterset": filterset, "page": page, "rows": rows, "query": query.urlencode()}
    return render(request, "tickets/feature_requests.html", context, status=200 if valid else 400)


def _request(pk: int) -> BugCluster:
    try:
        return feature_request_get(pk=pk)
    except BugCluster.DoesNotExist:
        raise Http404("No such feature request.") from None


def _render_detail(request, cluster, *, form=None, status=200) -> HttpResponse:
    context = {
        "cluster": cluster,
        "details": feature_request_details(clusters=[cluster])[cluster.pk],
        "decisions": feature_request_decisions(cluster=cluster),
        "can_decide": request.user.has_perm("tickets.triage_cluster"),
        "form": form or FeatureDecisionForm(),
    }
    return render(request, "tickets/feature_request_detail.html", context, status=status)


@login_required
@can_view
@in_agent_timezone
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _request(pk))


@login_required
@permission_required("tickets.triage_cluster", raise_exception=True)
@require_POST
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Product records a decision; it reaches the filing agents and the help desk (webhook)."""
    cluster = _request(pk)
    form = FeatureDecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            row = feature_request_decide(
                cluster=cluster,
                decision=data["decision"],
                quarter=data["quarter"],
                reason=data["reason"],
                actor=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Decision recorded: {row.text}. The agents who filed it see it.")
            return redirect("tickets:feature_request", pk=pk)
    return _render_detail(request, cluster, form=form, status=400)


@login_required
@can_view
@require_GET
def request_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The request as a Product Feedback Submission (Markdown download)."""
    cluster = _request(pk)
    text = feature_request_markdown(
        cluster=cluster,
        details=feature_request_details(clusters=[cluster])[cluster.pk],
        decisions=feature_request_decisions(cluster=cluster),
    )
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    name = slugify(cluster.title)[:60] or "request"
    response["Content-Disposition"] = f'attachment; filename="feature-request-{cluster.pk}-{name}.md"'
    return response
