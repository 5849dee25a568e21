"""The cluster page: a bug's whole story for agents, and product's triage actions on it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tickets.clustering.selectors import cluster_possible_duplicates
from tickets.clusters.details import cluster_update_details
from tickets.clusters.selectors import cluster_events, cluster_get_story, cluster_open_question, cluster_tickets
from tickets.clusters.services import cluster_answer_question, cluster_respond, cluster_triage
from tickets.forms import AnswerForm, ClusterDetailsForm, ClusterRespondForm, ClusterTriageForm
from tickets.models import BugCluster, ClusterStatus
from tickets.views.common import in_agent_timezone, safe_next

TICKETS_PER_PAGE = 50


def _cluster(pk: int) -> BugCluster:
    try:
        return cluster_get_story(pk=pk)
    except BugCluster.DoesNotExist:
        raise Http404("No such cluster.") from None


@login_required
@permission_required("tickets.view_bugcluster", raise_exception=True)
@in_agent_timezone
@require_GET
def cluster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = _cluster(pk)
    return _render_detail(request, cluster)


def _render_detail(
    request, cluster, *, answer_form=None, triage_form=None, respond_form=None, details_form=None, status=200
):
    can_triage = request.user.has_perm("tickets.triage_cluster")
    initial = {"status": cluster.status, "priority": cluster.priority, "owner": cluster.owner_id}
    events = cluster_events(cluster=cluster)
    cluster.open_question = cluster_open_question(events)
    context = {
        "cluster": cluster,
        "events": events,
        "tickets": Paginator(cluster_tickets(cluster=cluster), TICKETS_PER_PAGE).get_page(request.GET.get("page")),
        "can_answer": request.user.has_perm("tickets.answer_question") and cluster.status == ClusterStatus.NEEDS_INFO,
        "can_triage": can_triage,
        "answer_form": answer_form or AnswerForm(),
        "triage_form": (triage_form or ClusterTriageForm(initial=initial)) if can_triage else None,
        "respond_form": (respond_form or ClusterRespondForm()) if can_triage else None,
        "details_form": (details_form or ClusterDetailsForm(cluster=cluster)) if can_triage else None,
        "possible_duplicates": cluster_possible_duplicates(cluster=cluster),
    }
    return render(request, "tickets/cluster_detail.html", context, status=status)


@login_required
@permission_required("tickets.answer_question", raise_exception=True)
@require_POST
def cluster_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Support answers product's question; the cluster goes back to product."""
    cluster = _cluster(pk)
    form = AnswerForm(request.POST)
    if form.is_valid() and cluster.status == ClusterStatus.NEEDS_INFO:
        cluster_answer_question(cluster=cluster, actor=request.user, message=form.cleaned_data["message"])
        messages.success(request, "Thank you: your answer was sent to product.")
        return redirect(safe_next(request, reverse("tickets:cluster_detail", args=[pk])))
    if form.is_valid():
        messages.error(request, "Product has no open question on this bug any more; your answer was not sent.")
        return redirect("tickets:cluster_detail", pk=pk)
    return _render_detail(request, cluster, answer_form=form, status=400)


@login_required
@permission_required("tickets.triage_cluster", raise_exception=True)
@require_POST
def cluster_triage_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A product lead sets status, priority and owner through the cluster services."""
    cluster = _cluster(pk)
    form = ClusterTriageForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, cluster, triage_form=form, status=400)
    data = form.cleaned_data
    try:
        cluster_triage(
            cluster=cluster,
            actor=request.user,
            status=data["status"],
            priority=data["priority"],
            owner=data["owner"],
            message=data["message"],
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _render_detail(request, _cluster(pk), triage_form=form, status=400)
    messages.success(request, "Cluster updated.")
    return redirect("tickets:cluster_detail", pk=pk)


@login_required
@permission_required("tickets.triage_cluster", raise_exception=True)
@require_POST
def cluster_post_response(request: HttpRequest, pk: int) -> HttpResponse:
    """A product lead answers support, or asks them a question (which sets Needs info)."""
    cluster = _cluster(pk)
    form = ClusterRespondForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, cluster, respond_form=form, status=400)
    data = form.cleaned_data
    cluster_respond(cluster=cluster, actor=request.user, message=data["message"], question=data["question"])
    messages.success(request, "Question sent to support." if data["question"] else "Response posted.")
    return redirect("tickets:cluster_detail", pk=pk)


@login_required
@permission_required("tickets.triage_cluster", raise_exception=True)
@in_agent_timezone
@require_POST
def cluster_edit_details(request: HttpRequest, pk: int) -> HttpResponse:
    """A product lead edits title, summary, root cause, workaround, fix ETA, issue link and "reproduced"."""
    cluster = _cluster(pk)
    form = ClusterDetailsForm(request.POST, cluster=cluster)
    if form.is_valid():
        changes = form.changes()
        try:
            cluster_update_details(cluster=cluster, actor=request.user, **changes)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Details saved." if changes else "Nothing to save: no detail was changed.")
            return redirect("tickets:cluster_detail", pk=pk)
    return _render_detail(request, cluster, details_form=form, status=400)
