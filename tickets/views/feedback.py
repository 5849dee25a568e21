"""Feedback queues: where each kind of feedback goes, the tickets waiting there, and an owner's actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tickets.feedback import services
from tickets.feedback.filters import OPEN, FeedbackItemFilterSet
from tickets.feedback.forms import FeedbackCloseForm, FeedbackRespondForm
from tickets.feedback.selectors import (
    feedback_can_handle,
    feedback_queue_get,
    feedback_queue_handlers,
    feedback_queue_summaries,
    feedback_queue_tickets,
    feedback_ticket_get,
)
from tickets.models import FeedbackKind, Ticket
from tickets.views.common import in_agent_timezone

PER_PAGE = 50
can_view = permission_required("tickets.view_ticket", raise_exception=True)


@login_required
@can_view
@require_GET
def queue_index(request: HttpRequest) -> HttpResponse:
    """Every feedback kind's destination, its owners and what waits there."""
    return render(request, "tickets/feedback_index.html", {"summaries": feedback_queue_summaries()})


@login_required
@can_view
@in_agent_timezone
@require_GET
def queue_detail(request: HttpRequest, kind: str) -> HttpResponse:
    """One queue's tickets, filtered (open ones by default), newest first."""
    if kind == FeedbackKind.BUG_REPORT:
        return redirect(f"{reverse('tickets:cluster_list')}?kind=bug")
    queue = feedback_queue_get(kind=kind)
    if queue is None:
        raise Http404("No such feedback queue.")
    data = request.GET.copy() if request.GET else None
    if data is None:
        data = {"state": OPEN}
    filterset = FeedbackItemFilterSet(data, queryset=feedback_queue_tickets(kind=kind))
    valid = filterset.is_valid()
    tickets = filterset.qs if valid else Ticket.objects.none()
    page = Paginator(tickets, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "queue": queue,
        "handlers": list(feedback_queue_handlers(queue=queue)),
        "can_handle": feedback_can_handle(user=request.user, queue=queue),
        "filterset": filterset,
        "page": page,
        "query": query.urlencode(),
    }
    return render(request, "tickets/feedback_queue.html", context, status=200 if valid else 400)


def _ticket(pk: int) -> Ticket:
    try:
        ticket = feedback_ticket_get(pk=pk)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None
    if ticket.feedback_kind == FeedbackKind.BUG_REPORT:
        raise Http404("Bug reports are handled on their bug cluster.")
    return ticket


def _render_item(request, ticket, *, respond_form=None, close_form=None, status=200) -> HttpResponse:
    queue = feedback_queue_get(kind=ticket.feedback_kind)
    context = {
        "ticket": ticket,
        "item": getattr(ticket, "feedback", None),
        "queue": queue,
        "can_handle": feedback_can_handle(user=request.user, queue=queue),
        "respond_form": respond_form or FeedbackRespondForm(),
        "close_form": close_form or FeedbackCloseForm(),
    }
    return render(request, "tickets/feedback_item.html", context, status=status)


@login_required
@can_view
@in_agent_timezone
@require_GET
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_item(request, _ticket(pk))


def _act(request, pk: int, action) -> HttpResponse:
    ticket = _ticket(pk)
    try:
        action(ticket)
    except PermissionDenied:
        raise
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _render_item(request, _ticket(pk), status=400)
    return redirect("tickets:feedback_item", pk=pk)


@login_required
@require_POST
def item_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    def acknowledge(ticket):
        services.feedback_acknowledge(ticket=ticket, actor=request.user)
        messages.success(request, "Acknowledged.")

    return _act(request, pk, acknowledge)


@login_required
@require_POST
def item_respond(request: HttpRequest, pk: int) -> HttpResponse:
    form = FeedbackRespondForm(request.POST)
    if not form.is_valid():
        return _render_item(request, _ticket(pk), respond_form=form, status=400)

    def respond(ticket):
        services.feedback_respond(ticket=ticket, actor=request.user, message=form.cleaned_data["message"])
        messages.success(request, "Response sent: the agent sees it with their report.")

    return _act(request, pk, respond)


@login_required
@require_POST
def item_close(request: HttpRequest, pk: int) -> HttpResponse:
    form = FeedbackCloseForm(request.POST)
    if not form.is_valid():
        return _render_item(request, _ticket(pk), close_form=form, status=400)

    def close(ticket):
        data = form.cleaned_data
        services.feedback_close(ticket=ticket, actor=request.user, outcome=data["outcome"], message=data["message"])
        messages.success(request, "Closed with its outcome.")

    return _act(request, pk, close)
