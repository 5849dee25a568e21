"""File a report: the progressive form and the small HTMX endpoints it talks to."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets.clustering.selectors import cluster_suggestions
from tickets.forms import EVIDENCE_PREFIX, ReportForm, parse_pk
from tickets.intake.filing import report_file
from tickets.intake.selectors import customer_search, ticket_type_list_active
from tickets.models import Customer, cluster_kind_for
from tickets.views.common import in_agent_timezone

can_file = permission_required("tickets.add_ticket", raise_exception=True)


def _form(request: HttpRequest) -> ReportForm:
    types = ticket_type_list_active()
    if request.method == "POST":
        return ReportForm(request.POST, request.FILES, user=request.user, types=types)
    initial = {"feedback_kind": request.GET.get("kind", ""), "ticket_type": request.GET.get("type", "")}
    return ReportForm(initial=initial, user=request.user, types=types)


def with_selected(results: list[Customer], selected: Customer | None) -> list[Customer]:
    """Search results with the chosen customer first, so a new search never drops the choice."""
    if selected is None:
        return results
    return [selected] + [c for c in results if c.pk != selected.pk]


def known_bugs(form: ReportForm) -> list:
    """The "Known bugs" suggestions for what the form holds so far (none before a subject or error is typed)."""
    values = form.evidence_values()
    subject = form.subject_typed
    if not (subject or values.get("error_message") or values.get("error_code")):
        return []
    return cluster_suggestions(
        subject=subject,
        description=form.description_typed,
        ticket_type=form.ticket_type_obj,
        evidence=values,
        kind=cluster_kind_for(form.kind),
    )


@login_required
@can_file
@in_agent_timezone
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    """GET: the form (step 1 until a type is chosen). POST: continue, check, or file the report."""
    form = _form(request)
    action = request.POST.get("action", "file")
    if request.method == "POST":
        form.stash_uploads()
        if action == "file" or request.POST.get("same_bug"):
            if form.is_valid():
                return _file(request, form)
        elif action != "check":
            form.skip_validation()
    status = 400 if request.method == "POST" and form.errors else 200
    context = {"form": form, "suggestions": known_bugs(form) if request.method == "POST" else []}
    query = form.customer_query if request.method == "POST" else ""
    context["customer_results"] = with_selected(customer_search(query=query), form.customer_obj)
    return render(request, "tickets/report_form.html", context, status=status)


def _file(request: HttpRequest, form: ReportForm) -> HttpResponse:
    data = form.cleaned_data
    try:
        ticket, created = report_file(
            agent=request.user,
            submission_id=data["submission_id"],
            subject=data["subject"],
            feedback_kind=form.kind,
            ticket_type=form.ticket_type_obj,
            evidence=form.evidence,
            description=data.get("description") or "",
            customer=form.customer_obj,
            reported_at=data.get("reported_at"),
            uploads=form.uploads,
            cluster=form.same_bug,
        )
    except ValidationError as exc:
        for key, errors in exc.message_dict.items():
            name = EVIDENCE_PREFIX + key.removeprefix("evidence.")
            form.add_error(name if name in form.fields else None, errors)
        return render(request, "tickets/report_form.html", {"form": form, "suggestions": []}, status=400)
    if not created:
        messages.info(request, f"This report was already filed as {ticket.external_id}; nothing was filed twice.")
    elif ticket.cluster_id:
        messages.success(request, f"Report filed and added to known bug #{ticket.cluster_id}: {ticket.cluster.title}.")
    else:
        messages.success(request, f"Report filed: {ticket.subject}.")
    return redirect(f"{reverse('tickets:my_reports')}#ticket-{ticket.pk}")


@login_required
@can_file
@in_agent_timezone
@require_POST
def report_fields(request: HttpRequest) -> HttpResponse:
    """HTMX: the type picker and evidence fields for the chosen kind and type, keeping typed values."""
    form = _form(request)
    form.stash_uploads()
    form.skip_validation()
    # The Known bugs panel follows the kind too ("Known requests" for a feature request), out of band.
    return render(request, "tickets/_fields_response.html", {"form": form, "suggestions": known_bugs(form)})


@login_required
@can_file
@in_agent_timezone
@require_POST
def report_autofill(request: HttpRequest) -> HttpResponse:
    """HTMX: evidence filled from the User-Agent or the chosen customer, swapped in out of band."""
    form = _form(request)
    form.stash_uploads()
    form.skip_validation()
    filled = [f for f in form.evidence_fields if f.key in form.autofilled]
    return render(request, "tickets/_autofill.html", {"form": form, "filled": filled})


@login_required
@can_file
@require_POST
def report_known_bugs(request: HttpRequest) -> HttpResponse:
    """HTMX: the "Known bugs" panel for what the agent has typed so far."""
    form = _form(request)
    form.skip_validation()
    return render(request, "tickets/_known_bugs.html", {"form": form, "suggestions": known_bugs(form)})


@login_required
@can_file
@require_GET
def customer_results(request: HttpRequest) -> HttpResponse:
    """HTMX: customers matching the search, with segment, tier and MRR."""
    query = request.GET.get("customer_q", "")
    pk = parse_pk(request.GET.get("customer"))
    selected = Customer.objects.filter(pk=pk).first() if pk else None
    results = with_selected(customer_search(query=query), selected)
    return render(
        request,
        "tickets/_customer_results.html",
        {"results": results, "query": query, "selected": str(selected.pk) if selected else ""},
    )
