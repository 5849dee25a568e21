"""Product leads correct the clustering from the cluster page: merge, split, move a ticket, undo.

Plain POST forms with redirect-after-post and messages; each action's own page shows what was
refused with everything typed kept, so all of it works without JavaScript.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets.clusters.corrections import (
    REASON_MAX,
    cluster_merge,
    cluster_split,
    correction_blockers,
    correction_list,
    correction_merge_candidates,
    correction_undo,
    merge_refusal,
    ticket_move,
)
from tickets.models import BugCluster, ClusterCorrection, Ticket
from tickets.views.common import is_htmx, safe_next

CORRECT = "tickets.correct_clusters"
HISTORY_LIMIT = 50


class MergeForm(forms.Form):
    into = forms.CharField(
        label="Merge into cluster",
        max_length=255,
        help_text="Its number (e.g. 42 or #42), or words from its title to search open clusters.",
        error_messages={"required": "Give the number of the cluster to merge into, or words from its title."},
    )
    reason = forms.CharField(
        label="Reason (optional)", required=False, max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class SplitForm(forms.Form):
    title = forms.CharField(
        label="Title of the new cluster", required=False, max_length=255, help_text="Empty: the first ticket's subject."
    )
    reason = forms.CharField(label="Reason (optional)", required=False, max_length=REASON_MAX)


class MoveForm(forms.Form):
    into = forms.IntegerField(
        label="Move to cluster #",
        min_value=1,
        error_messages={
            "required": "Give the number of the cluster to move the ticket to, e.g. 42.",
            "invalid": "A cluster number is digits only, e.g. 42.",
            "min_value": "A cluster number is 1 or more.",
        },
    )
    reason = forms.CharField(label="Reason (optional)", required=False, max_length=REASON_MAX)


def _get(model, pk: int, what: str):
    try:
        return model.objects.get(pk=pk)
    except model.DoesNotExist:
        raise Http404(f"No such {what}.") from None


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _cluster_url(pk: int) -> str:
    return reverse("tickets:cluster_detail", args=[pk])


@login_required
@permission_required(CORRECT, raise_exception=True)
@require_http_methods(["GET", "POST"])
def cluster_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick the cluster to merge into (by number or title search), confirm, then merge."""
    cluster = _get(BugCluster, pk, "cluster")
    form = MergeForm(request.POST if request.method == "POST" else request.GET or None)
    target, candidates = None, []
    if form.is_valid():
        try:
            target, candidates = correction_merge_candidates(cluster=cluster, query=form.cleaned_data["into"])
        except ValidationError as exc:
            _add_errors(form, exc)
        refusal = merge_refusal(cluster, target) if target is not None else {}
        if refusal:
            _add_errors(form, ValidationError(refusal))
            target = None
        elif target is None and not candidates and form.is_valid():
            kind = cluster.get_kind_display().lower()
            form.add_error("into", f"No open {kind} cluster has those words in its title; try its number.")
    if target is not None and request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            correction = cluster_merge(
                source=cluster, into=target, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{correction.data['summary']}. You can undo it under Corrections.")
            return redirect(_cluster_url(target.pk))
    context = {"cluster": cluster, "form": form, "target": target, "candidates": candidates}
    return render(request, "tickets/corrections_merge.html", context, status=400 if form.errors else 200)


@login_required
@permission_required(CORRECT, raise_exception=True)
@require_http_methods(["GET", "POST"])
def cluster_split_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Split the ticked tickets into a new cluster; on a refusal, the same choice comes back to fix."""
    cluster = _get(BugCluster, pk, "cluster")
    form = SplitForm(request.POST or None)
    selected = request.POST.getlist("ticket_ids")
    if request.method == "POST" and form.is_valid():
        try:
            correction = cluster_split(cluster=cluster, ticket_ids=selected, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{correction.data['summary']}. You can undo it under Corrections.")
            return redirect(_cluster_url(correction.target_cluster_id))
    context = {
        "cluster": cluster,
        "form": form,
        "tickets": cluster.tickets.order_by("-reported_at", "-id")[:500],
        "selected": set(selected),
    }
    return render(request, "tickets/corrections_split.html", context, status=400 if form.errors else 200)


@login_required
@permission_required(CORRECT, raise_exception=True)
@require_http_methods(["GET", "POST"])
def ticket_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move one ticket to another cluster; the engine will not move it back."""
    ticket = _get(Ticket, pk, "ticket")
    form = MoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        into = BugCluster.objects.filter(pk=form.cleaned_data["into"]).first()
        if into is None:
            form.add_error("into", f"There is no cluster #{form.cleaned_data['into']}.")
        else:
            try:
                correction = ticket_move(
                    ticket=ticket, into=into, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, f"{correction.data['summary']}. You can undo it under Corrections.")
                default = _cluster_url(ticket.cluster_id) if ticket.cluster_id else _cluster_url(into.pk)
                return redirect(safe_next(request, default))
    context = {"ticket": ticket, "form": form, "next": safe_next(request, "")}
    return render(request, "tickets/corrections_move.html", context, status=400 if form.errors else 200)


@login_required
@permission_required("tickets.view_bugcluster", raise_exception=True)
@require_GET
def cluster_corrections(request: HttpRequest, pk: int) -> HttpResponse:
    """The cluster's corrections, newest first, with an Undo for each one that can be undone now."""
    cluster = _get(BugCluster, pk, "cluster")
    corrections = list(correction_list(cluster=cluster)[:HISTORY_LIMIT])
    blockers = correction_blockers(corrections)
    for correction in corrections:
        correction.blocked_by = blockers.get(correction.pk)
    context = {"cluster": cluster, "corrections": corrections, "can_correct": request.user.has_perm(CORRECT)}
    template = "tickets/corrections_list.html" if is_htmx(request) else "tickets/corrections_history.html"
    return render(request, template, context)


@login_required
@permission_required(CORRECT, raise_exception=True)
@require_POST
def correction_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo one correction exactly; a refusal says which correction to undo first."""
    correction = _get(ClusterCorrection, pk, "correction")
    back = correction.source_cluster_id or correction.target_cluster_id
    try:
        correction = correction_undo(correction=correction, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Undone: {correction.data['summary']}.")
    return redirect(safe_next(request, _cluster_url(back) if back else reverse("home")))
