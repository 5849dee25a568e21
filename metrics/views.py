"""Pages: the fixes overview, one fix's impact (with mark-fixed and verify forms), success metrics."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from metrics.forms import MarkFixedForm, VerifyForm
from metrics.impact import LATE_FROM_DAY, Verdict
from metrics.plot import impact_plot
from metrics.selectors import fix_impact_filterset, fix_impact_get
from metrics.services import (
    cluster_verify,
    fix_impact_recompute,
)
from metrics.success import success_metrics
from tickets.clusters.services import cluster_mark_fixed
from tickets.models import BugCluster, ClusterStatus

VIEW_PERM = "tickets.view_bugcluster"
TRIAGE_PERM = "tickets.triage_cluster"
VERIFY_PERM = "metrics.verify_fix"


def _add_errors(form, error: ValidationError) -> None:
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def fix_list(request: HttpRequest) -> HttpResponse:
    filterset = fix_impact_filterset(filters=request.GET, request=request)
    fixes = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(fixes, 50).get_page(request.GET.get("page"))
    counts = dict(fixes.order_by().values_list("verdict").annotate(n=Count("id")))
    tally = [(value, label, counts.get(value, 0)) for value, label in Verdict.CHOICES]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filterset": filterset, "page": page, "tally": tally, "query": query.urlencode()}
    return render(request, "metrics/fix_list.html", context)


def _fix_page(request, cluster: BugCluster, *, mark_form=None, verify_form=None, status: int = 200) -> HttpResponse:
    impact = fix_impact_get(cluster=cluster)
    plot = None
    if impact is not None:
        plot = impact_plot(impact.series, verdict_label=impact.get_verdict_display())
    user = request.user
    context = {
        "cluster": cluster,
        "impact": impact,
        "plot": plot,
        "can_mark_fixed": user.has_perm(TRIAGE_PERM),
        "can_verify": user.has_perm(VERIFY_PERM) and cluster.status == ClusterStatus.FIXED,
        "mark_form": mark_form or MarkFixedForm(initial={"deployed_at": cluster.fix_deployed_at}),
        "verify_form": verify_form or VerifyForm(),
        "threshold": settings.METRICS_VERIFY_MIN_REDUCTION,
        "late_from_day": LATE_FROM_DAY,
    }
    return render(request, "metrics/fix_impact.html", context, status=status)


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def fix_impact(request: HttpRequest, cluster_id: int) -> HttpResponse:
    return _fix_page(request, get_object_or_404(BugCluster.objects.select_related("owner"), pk=cluster_id))


@require_POST
@login_required
@permission_required(TRIAGE_PERM, raise_exception=True)
def fix_mark_fixed(request: HttpRequest, cluster_id: int) -> HttpResponse:
    cluster = get_object_or_404(BugCluster, pk=cluster_id)
    form = MarkFixedForm(request.POST)
    if form.is_valid():
        try:
            cluster_mark_fixed(
                cluster=cluster,
                deployed_at=form.cleaned_data["deployed_at"],
                actor=request.user,
                message=form.cleaned_data["message"],
            )
        except ValidationError as error:
            _add_errors(form, error)
    if not form.is_valid():
        return _fix_page(request, cluster, mark_form=form, status=400)
    impact = fix_impact_recompute(cluster=cluster)
    messages.success(request, f"Marked fixed. Verdict so far: {impact.get_verdict_display().lower()}.")
    return redirect("metrics:fix_impact", cluster_id=cluster.pk)


@require_POST
@login_required
@permission_required(TRIAGE_PERM, raise_exception=True)
def fix_recompute(request: HttpRequest, cluster_id: int) -> HttpResponse:
    cluster = get_object_or_404(BugCluster, pk=cluster_id)
    if fix_impact_recompute(cluster=cluster) is None:
        messages.error(request, "This cluster has no deployed fix to measure; mark it fixed first.")
    else:
        messages.success(request, "Measured again with the latest tickets.")
    return redirect("metrics:fix_impact", cluster_id=cluster.pk)


@require_POST
@login_required
def fix_verify(request: HttpRequest, cluster_id: int) -> HttpResponse:
    if not request.user.has_perm(VERIFY_PERM):
        raise PermissionDenied
    cluster = get_object_or_404(BugCluster, pk=cluster_id)
    form = VerifyForm(request.POST)
    form.is_valid()
    try:
        cluster_verify(
            cluster=cluster, by=request.user, support_confirmation=form.cleaned_data.get("support_confirmation", False)
        )
    except ValidationError as error:
        _add_errors(form, error)
        cluster.refresh_from_db()
        return _fix_page(request, cluster, verify_form=form, status=400)
    messages.success(request, "Fix verified: the cluster is now verified.")
    return redirect("metrics:fix_impact", cluster_id=cluster.pk)


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def success(request: HttpRequest) -> HttpResponse:
    return render(request, "metrics/success.html", {"data": success_metrics()})
