"""My reports: the agent's tickets with what product said about each."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tickets.clusters.selectors import cluster_open_question
from tickets.forms import AnswerForm
from tickets.intake.selectors import AGENT_REPORT_VIEWS, ticket_count_awaiting_answer, ticket_list_for_agent
from tickets.views.common import in_agent_timezone

PAGE_SIZE = 20


class MyReportsFilterForm(forms.Form):
    show = forms.ChoiceField(label="Show", choices=list(AGENT_REPORT_VIEWS.items()), required=False)
    q = forms.CharField(label="Subject or ticket id", required=False, max_length=200)


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@permission_required("tickets.add_ticket", raise_exception=True)
@in_agent_timezone
@require_GET
def my_reports(request: HttpRequest) -> HttpResponse:
    filters = MyReportsFilterForm(request.GET or None)
    show, query = ("all", "")
    if filters.is_bound and filters.is_valid():
        show, query = filters.cleaned_data["show"] or "all", filters.cleaned_data["q"]
    tickets = ticket_list_for_agent(agent=request.user, show=show, query=query)
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    for ticket in page:
        if ticket.cluster is not None:
            ticket.cluster.open_question = cluster_open_question(ticket.cluster.responses)
    return render(
        request,
        "tickets/my_reports.html",
        {
            "page": page,
            "filters": filters,
            "show": show,
            "show_label": AGENT_REPORT_VIEWS[show],
            "query_string": _without_page(request),
            "awaiting_answer": ticket_count_awaiting_answer(agent=request.user),
            "answer_form": AnswerForm(),
            "can_answer": request.user.has_perm("tickets.answer_question"),
        },
    )
