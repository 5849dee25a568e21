"""Customer success's pages: accounts, the at-risk list with reasons, one account, one handoff and its actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tickets.models import Customer
from triage.accounts import selectors, services
from triage.accounts.filters import AccountFilterSet, AtRiskFilterSet
from triage.accounts.forms import InterventionForm, ResultForm
from triage.accounts.models import AccountHealth, Handoff

PER_PAGE = 50
can_view = permission_required("triage.view_accounthealth", raise_exception=True)
can_act = permission_required("triage.change_handoff", raise_exception=True)


@login_required
@can_view
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    """Every customer with tier, MRR, CSM, open clusters affecting it and recent tickets."""
    queryset = selectors.account_list().order_by("-mrr", "name")
    filterset = AccountFilterSet(request.GET or None, queryset=queryset)
    valid = not filterset.is_bound or filterset.is_valid()
    accounts = (filterset.qs if filterset.is_bound else queryset) if valid else Customer.objects.none()
    page = Paginator(accounts, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filterset": filterset, "page": page, "query": query.urlencode()}
    return render(request, "triage/accounts/list.html", context, status=200 if valid else 400)


@login_required
@can_view
@require_GET
def at_risk(request: HttpRequest) -> HttpResponse:
    """Accounts over the at-risk rule, each with its reasons and their evidence."""
    filterset = AtRiskFilterSet(request.GET or None, queryset=selectors.at_risk_accounts())
    valid = not filterset.is_bound or filterset.is_valid()
    rows = (filterset.qs if filterset.is_bound else filterset.queryset) if valid else AccountHealth.objects.none()
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filterset": filterset,
        "rows": page.object_list,
        "page": page,
        "query": query.urlencode(),
        "warnings": selectors.configuration_warnings(),
        "assessed_at": selectors.last_assessed_at(),
        "can_act": request.user.has_perm("triage.change_handoff"),
    }
    return render(request, "triage/accounts/at_risk.html", context, status=200 if valid else 400)


@login_required
@can_view
@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        customer = selectors.account_get(pk=pk)
    except Customer.DoesNotExist:
        raise Http404("No such account.") from None
    context = {
        "customer": customer,
        "health": getattr(customer, "health", None) if hasattr(customer, "health") else None,
        "clusters": selectors.account_open_clusters(customer=customer),
        "tickets": selectors.account_recent_tickets(customer=customer),
        "handoffs": selectors.account_handoffs(customer=customer),
    }
    return render(request, "triage/accounts/detail.html", context)


def _handoff(pk: int) -> Handoff:
    try:
        return selectors.handoff_get(pk=pk)
    except Handoff.DoesNotExist:
        raise Http404("No such handoff.") from None


def _render_handoff(request, handoff, *, intervention_form=None, result_form=None, status=200) -> HttpResponse:
    context = {
        "handoff": handoff,
        "can_act": request.user.has_perm("triage.change_handoff"),
        "intervention_form": intervention_form or InterventionForm(initial={"intervention": handoff.intervention}),
        "result_form": result_form or ResultForm(),
    }
    return render(request, "triage/accounts/handoff.html", context, status=status)


@login_required
@can_view
@require_GET
def handoff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_handoff(request, _handoff(pk))


@login_required
@can_act
@require_POST
def handoff_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    services.handoff_acknowledge(handoff=_handoff(pk), actor=request.user)
    messages.success(request, "Acknowledged. Record what you do about it below.")
    return redirect("accounts:handoff", pk=pk)


@login_required
@can_act
@require_POST
def handoff_intervene(request: HttpRequest, pk: int) -> HttpResponse:
    handoff = _handoff(pk)
    form = InterventionForm(request.POST)
    if form.is_valid():
        try:
            services.handoff_record_intervention(
                handoff=handoff, actor=request.user, intervention=form.cleaned_data["intervention"]
            )
        except ValidationError as exc:
            form.add_error("intervention", exc.message_dict.get("intervention", exc.messages))
        else:
            messages.success(request, "Intervention recorded.")
            return redirect("accounts:handoff", pk=pk)
    return _render_handoff(request, handoff, intervention_form=form, status=400)


@login_required
@can_act
@require_POST
def handoff_result(request: HttpRequest, pk: int) -> HttpResponse:
    handoff = _handoff(pk)
    form = ResultForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.handoff_record_result(
                handoff=handoff, actor=request.user, result=data["result"], note=data["note"]
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Result recorded; the handoff is closed.")
            return redirect("accounts:handoff", pk=pk)
    return _render_handoff(request, handoff, result_form=form, status=400)


@login_required
@can_act
@require_POST
def assess_now(request: HttpRequest) -> HttpResponse:
    """Assess every account now instead of waiting for the beat task (raises handoffs once, as beat does)."""
    result = services.accounts_assess()
    messages.success(
        request,
        f"Assessed {result['accounts']} accounts: {result['at_risk']} at risk, {result['handoffs']} new handoffs.",
    )
    return redirect("accounts:at_risk")
