"""Every kind of feedback reaches its owner: routing, evidence per kind, acknowledge/respond/close, My reports."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.tickets.factories import CustomerFactory, TicketFactory, UserFactory
from tickets.feedback.services import feedback_acknowledge, feedback_close, feedback_respond
from tickets.intake.services import ticket_create
from tickets.models import FeedbackKind, FeedbackQueue, FeedbackStatus, Role, TicketType

pytestmark = pytest.mark.django_db
ROUTES = {
    "bug_report": "Engineering",
    "feature_request": "Product",
    "ux_feedback": "Product / design",
    "documentation_gap": "Docs",
    "at_risk_signal": "Customer success",
    "praise": "Customer success / marketing",
    "competitive_intel": "Product / sales",
}
EVIDENCE = {
    "feature_request": ["use_case", "customer_segment", "need_frequency", "workaround_difficulty", "revenue_impact"],
    "ux_feedback": ["page_or_flow", "customer_tried", "stuck_at"],
    "documentation_gap": ["doc_or_search", "missing"],
    "at_risk_signal": ["risk_indicator", "customer_words"],
    "praise": ["quote", "may_we_use_it"],
    "competitive_intel": ["competitor", "context", "deal_stage"],
}


def test_every_kind_is_routed_to_its_destination():
    queues = {q.feedback_kind: q.name for q in FeedbackQueue.objects.all()}
    assert queues == ROUTES


@pytest.mark.parametrize("kind", sorted(EVIDENCE))
def test_the_report_form_asks_each_kind_for_its_evidence(client, agent, kind):
    client.force_login(agent)
    html = client.get(reverse("tickets:report_new"), {"kind": kind}).content.decode()
    for key in EVIDENCE[kind]:
        assert f'id="field-ev-{key}"' in html, key


def test_each_kind_refuses_a_report_without_its_required_evidence():
    praise = TicketType.objects.get(key="praise")
    with pytest.raises(Exception) as refused:
        ticket_create(subject="Love it", feedback_kind=FeedbackKind.PRAISE, ticket_type=praise, evidence={})
    assert "evidence.quote" in refused.value.message_dict and "evidence.may_we_use_it" in refused.value.message_dict
    ticket = ticket_create(
        subject="Love it",
        feedback_kind=FeedbackKind.PRAISE,
        ticket_type=praise,
        evidence={"quote": "The new board saved us hours", "may_we_use_it": "Ask_first", "csat": "5"},
    )
    assert ticket.evidence == {"quote": "The new board saved us hours", "may_we_use_it": "ask_first", "csat": "5"}


def _ux_ticket(agent, **kwargs):
    return TicketFactory(
        feedback_kind=FeedbackKind.UX_FEEDBACK,
        ticket_type=TicketType.objects.get(key="ux_feedback"),
        subject="Cannot find the filter reset",
        agent=agent,
        evidence={"page_or_flow": "Board > Filters", "customer_tried": "Clear filters", "stuck_at": "No reset"},
        **kwargs,
    )


def test_an_owner_acknowledges_responds_and_closes_and_the_agent_sees_it_in_my_reports(client, agent, product_lead):
    designer = UserFactory(username="dana.design")
    designer.groups.add(Group.objects.get(name=Role.PRODUCT_LEAD))
    FeedbackQueue.objects.get(feedback_kind="ux_feedback").owners.add(designer)
    ticket = _ux_ticket(agent)
    client.force_login(designer)
    queue = client.get(reverse("tickets:feedback_queue", args=["ux_feedback"])).content.decode()
    assert "Cannot find the filter reset" in queue and "by " in queue  # acknowledgment target from the SLA policy
    assert client.post(reverse("tickets:feedback_acknowledge", args=[ticket.pk])).status_code == 302
    ticket.feedback.refresh_from_db()
    assert ticket.feedback.status == FeedbackStatus.ACKNOWLEDGED and ticket.feedback.acknowledged_by == designer
    client.post(reverse("tickets:feedback_respond", args=[ticket.pk]), {"respond-message": "Reset is coming in 4.3."})
    client.post(reverse("tickets:feedback_close", args=[ticket.pk]), {"close-outcome": "planned"})
    ticket.feedback.refresh_from_db()
    assert (ticket.feedback.status, ticket.feedback.outcome) == (FeedbackStatus.CLOSED, "planned")
    client.force_login(agent)
    html = client.get(reverse("tickets:my_reports")).content.decode()
    assert "Reset is coming in 4.3." in html and "Outcome:</strong> Planned" in html


def test_only_owners_act_and_a_queue_without_owners_falls_back_to_its_role(client, agent, product_lead, csm):
    ticket = _ux_ticket(agent)
    client.force_login(csm)
    assert client.post(reverse("tickets:feedback_acknowledge", args=[ticket.pk])).status_code == 403
    client.force_login(product_lead)  # no owners yet: product leads handle product/design
    page = client.get(reverse("tickets:feedback_queue", args=["ux_feedback"])).content.decode()
    assert "No owners yet" in page
    assert client.post(reverse("tickets:feedback_acknowledge", args=[ticket.pk])).status_code == 302
    FeedbackQueue.objects.get(feedback_kind="ux_feedback").owners.add(UserFactory(username="owner.only"))
    with pytest.raises(Exception, match="Only the owners"):
        feedback_respond(ticket=ticket, actor=product_lead, message="Thanks")


def test_closing_needs_an_outcome_and_a_closed_item_takes_no_response(agent, product_lead):
    ticket = _ux_ticket(agent)
    with pytest.raises(Exception) as refused:
        feedback_close(ticket=ticket, actor=product_lead, outcome="whatever")
    assert "outcome" in refused.value.message_dict and "acted_on" in refused.value.message_dict["outcome"][0]
    feedback_close(ticket=ticket, actor=product_lead, outcome="no_action")
    with pytest.raises(Exception, match="closed"):
        feedback_respond(ticket=ticket, actor=product_lead, message="Late")
    assert feedback_acknowledge(ticket=ticket, actor=product_lead).status == FeedbackStatus.CLOSED


def test_praise_gets_no_acknowledgment_clock_and_at_risk_signals_a_fast_one(client, product_lead, csm):
    praise = TicketFactory(feedback_kind="praise", ticket_type=TicketType.objects.get(key="praise"), subject="Kudos")
    risk = TicketFactory(
        feedback_kind="at_risk_signal", ticket_type=TicketType.objects.get(key="at_risk_signal"), subject="Churn"
    )
    client.force_login(csm)
    assert "no clock" in client.get(reverse("tickets:feedback_item", args=[praise.pk])).content.decode()
    risk_page = client.get(reverse("tickets:feedback_item", args=[risk.pk])).content.decode()
    assert 'title="At-risk signals"' in risk_page


def test_praise_clusters_get_no_sla_clock():
    from slas.services import clock_sync
    from tests.tickets.factories import ClusterFactory

    cluster = ClusterFactory(kind="feedback")
    TicketFactory(cluster=cluster, feedback_kind="praise", ticket_type=TicketType.objects.get(key="praise"))
    timers = clock_sync(cluster_id=cluster.pk)
    assert {t.state for t in timers} == {"none"}
    assert {t.policy.name for t in timers} == {"Praise and competitive intel: no clocks"}


def test_queue_index_counts_and_warns_about_missing_owners(client, agent, csm):
    _ux_ticket(agent)
    client.force_login(csm)
    html = client.get(reverse("tickets:feedback_queues")).content.decode()
    assert "Product / design" in html and "No owners yet" in html
    assert 'href="/feedback/ux_feedback/?state=new">1</a>' in html


def test_customer_success_may_file_at_risk_signals_and_praise(client, csm):
    client.force_login(csm)
    acme = CustomerFactory(name="Acme")
    response = client.post(
        reverse("tickets:report_new"),
        {
            "feedback_kind": "at_risk_signal",
            "subject": "Acme considering leaving",
            "customer": acme.pk,
            "ev-risk_indicator": "churn_language",
            "ev-customer_words": "We will cancel at renewal unless exports work.",
            "submission_id": "a" * 32,
        },
    )
    assert response.status_code == 302
    assert csm.filed_tickets.get().feedback_kind == "at_risk_signal"
    assert Role.CUSTOMER_SUCCESS in csm.groups.values_list("name", flat=True)


def test_a_policy_without_clocks_needs_conditions_and_no_targets():
    from django.core.exceptions import ValidationError

    from slas.models import SlaPolicy

    with pytest.raises(ValidationError, match="sets no targets"):
        SlaPolicy(name="x", no_clocks=True, ack_minutes=60, feedback_kinds=["praise"]).clean()
    with pytest.raises(ValidationError, match="would stop every clock"):
        SlaPolicy(name="x", no_clocks=True).clean()
    with pytest.raises(ValidationError, match="Set at least one target"):
        SlaPolicy(name="x", feedback_kinds=["praise"]).clean()
    SlaPolicy(name="x", no_clocks=True, feedback_kinds=["praise"]).clean()
