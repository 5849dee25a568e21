"""What each role's home page shows, composed from the apps' selectors."""

from __future__ import annotations

from typing import Any

from tickets.feedback.requests import feature_request_list
from tickets.intake.selectors import questions_waiting_for
from tickets.models import Ticket
from triage.accounts.selectors import csm_accounts_at_risk, feature_requests_of_accounts_filter, handoffs_open


def csm_home(*, user) -> dict[str, Any]:
    """A CSM's accounts at risk, their open handoffs, and the feature requests their accounts asked for
    (by the revenue represented)."""
    requests = feature_request_list().filter(feature_requests_of_accounts_filter(csm=user))
    return {
        "at_risk": csm_accounts_at_risk(csm=user),
        "handoffs": list(handoffs_open(csm=user)[:20]),
        "requests": list(requests.order_by("-revenue", "-id")[:10]),
    }


def agent_home(*, user) -> dict[str, Any]:
    """Product's questions waiting for the agent's answer first, then the agent's recent reports with what
    happened to them."""
    reports = (
        Ticket.objects.filter(agent=user)
        .select_related("cluster", "ticket_type", "feedback")
        .order_by("-reported_at", "-id")[:8]
    )
    return {"questions": questions_waiting_for(agent=user), "my_tickets": list(reports)}
