"""My reports: the agent's tickets with what product said about each."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tickets.clusters.selectors import cluster_open_question
from tickets.forms import AnswerForm
from tickets.intake.selectors import ticket_count_awaiting_answer, ticket_list_for_agent
from tickets.views.common import in_agent_timezone

PAGE_SIZE = 20


@login_required
@permission_required("tickets.add_ticket", raise_exception=True)
@in_agent_timezone
@require_GET
def my_reports(request: HttpRequest) -> HttpResponse:
    page = Paginator(ticket_list_for_agent(agent=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    for ticket in page:
        if ticket.cluster is not None:
            ticket.cluster.open_question = cluster_open_question(ticket.cluster.responses)
    return render(
        request,
        "tickets/my_reports.html",
        {
            "page": page,
            "awaiting_answer": ticket_count_awaiting_answer(agent=request.user),
            "answer_form": AnswerForm(),
            "can_answer": request.user.has_perm("tickets.answer_question"),
        },
    )
