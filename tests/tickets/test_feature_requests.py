"""Feature requests weighed by revenue: each customer counted once, product's decisions reach the agents and the
help desk, the export, the API and the weekly review's trending section."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.conftest import make_key
from tests.api.test_webhooks import SECRET, Receiver
from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory
from tickets.feedback.requests import (
    decision_text,
    feature_request_details,
    feature_request_list,
    feature_requests_asked,
)
from tickets.feedback.services import feature_request_decide
from tickets.models import ApiKey, TicketType, WebhookSubscription

pytestmark = pytest.mark.django_db


def request_ticket(cluster, customer, agent=None, days_ago=1, **evidence):
    return TicketFactory(
        cluster=cluster,
        customer=customer,
        agent=agent,
        feedback_kind="feature_request",
        ticket_type=TicketType.objects.get(key="feature_request"),
        reported_at=timezone.now() - timedelta(days=days_ago),
        evidence={"customer_segment": customer.segment, "need_frequency": "daily", "revenue_impact": "friction",
                  "workaround_difficulty": "complex", "customer_words": "We need it", **evidence},
    )  # fmt: skip


@pytest.fixture
def requests(agent):
    big = CustomerFactory(name="Big Co", mrr=10000, segment="enterprise")
    small = CustomerFactory(name="Small Co", mrr=100)
    loud = ClusterFactory(kind="feature_request", title="Dark mode", ticket_count=6)
    rich = ClusterFactory(kind="feature_request", title="SCIM provisioning", ticket_count=3)
    for _ in range(6):  # loud: six tickets from one small customer
        request_ticket(loud, small, agent)
    request_ticket(rich, big, agent, use_case="Deprovision leavers within 24 hours", churn_risk="yes")
    request_ticket(rich, big, revenue_impact="blocker", competitor_has_it="Asana")
    request_ticket(rich, small, expansion_blocker="yes")
    return loud, rich


def test_revenue_is_counted_once_per_customer_across_tickets(requests):
    loud, rich = requests
    rows = {c.title: c for c in feature_request_list()}
    assert (rows["SCIM provisioning"].revenue, rows["SCIM provisioning"].customers) == (10100, 2)
    assert (rows["Dark mode"].revenue, rows["Dark mode"].customers) == (100, 1)
    ordered = [c.title for c in feature_request_list().order_by("-revenue")]
    assert ordered == ["SCIM provisioning", "Dark mode"]  # by revenue, not by loudness
    details = feature_request_details(clusters=[rich])[rich.pk]
    assert details.segments == {"enterprise": 1, "smb": 1}
    assert (details.churn_risk, details.expansion_blocker, details.blockers) == (1, 1, 1)
    assert details.competitors == ["Asana"] and details.mixes["revenue_impact"] == {"friction": 2, "blocker": 1}
    assert details.quotes[-1]["words"] == "Deprovision leavers within 24 hours"


def test_the_page_sorts_by_revenue_and_filters(client, product_lead, requests):
    client.force_login(product_lead)
    html = client.get(reverse("tickets:feature_requests")).content.decode()
    assert html.index("SCIM provisioning") < html.index("Dark mode")
    assert "$10,100</strong> MRR" in html and "$121,200 ARR" in html and "churn risk ×1" in html
    html = client.get(reverse("tickets:feature_requests"), {"sort": "requests"}).content.decode()
    assert html.index("Dark mode") < html.index("SCIM provisioning")
    bad = client.get(reverse("tickets:feature_requests"), {"decision": "maybe"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()


def test_a_decision_reaches_the_filing_agents_and_the_help_desk(
    client, agent, product_lead, requests, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    receiver = Receiver()
    try:
        WebhookSubscription.objects.create(
            name="Help desk", url=receiver.url, secret=SECRET, events=["feature_request.decided"]
        )
        _, rich = requests
        client.force_login(product_lead)
        refused = client.post(
            reverse("tickets:feature_request_decide", args=[rich.pk]), {"decision-decision": "planned"}
        )
        assert refused.status_code == 400 and "needs its quarter as YYYY-QN" in refused.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("tickets:feature_request_decide", args=[rich.pk]),
                {"decision-decision": "planned", "decision-quarter": "2027-q1"},
            )
        assert response.status_code == 302
        rich.refresh_from_db()
        assert rich.status == "in_progress"
        client.force_login(agent)
        assert "Decision: Planned for 2027-Q1" in client.get(reverse("tickets:my_reports")).content.decode()
        decided = [r for r in receiver.received if r["event"] == "feature_request.decided"]
        assert len(decided) == 1 and decided[0]["verified"]
        assert decided[0]["body"]["data"]["text"] == "Planned for 2027-Q1"
        assert len(decided[0]["body"]["cluster"]["tickets"]) == 3
    finally:
        receiver.close()


def test_rejecting_needs_a_reason_and_agents_cannot_decide(client, agent, product_lead, requests):
    _, rich = requests
    with pytest.raises(Exception) as refused:
        feature_request_decide(cluster=rich, decision="rejected", actor=product_lead)
    assert "reason" in refused.value.message_dict
    client.force_login(agent)
    assert client.post(reverse("tickets:feature_request_decide", args=[rich.pk]), {}).status_code == 403
    with pytest.raises(Exception, match="not a feature request"):
        feature_request_decide(cluster=ClusterFactory(), decision="shipped", actor=product_lead)


def test_export_as_product_feedback_submission(client, product_lead, requests):
    _, rich = requests
    feature_request_decide(cluster=rich, decision="rejected", reason="Conflicts with sharing", actor=product_lead)
    client.force_login(product_lead)
    response = client.get(reverse("tickets:feature_request_export", args=[rich.pk]))
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.startswith("# Product Feedback Submission: SCIM provisioning")
    for part in ("| Revenue represented (MRR) | $10,100 |", "| Distinct customers | 2 |", "| Competitive gap | Asana |",
                 "> Deprovision leavers within 24 hours", "Rejected: Conflicts with sharing"):  # fmt: skip
        assert part in text, part


def test_the_api_lists_requests_by_revenue_for_keys_and_roles(product_lead, outsider, requests):
    _, key = make_key(ApiKey.Scope.READ)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    body = api.get("/api/v1/feature-requests/?ordering=-revenue").json()
    assert [r["title"] for r in body["results"]] == ["SCIM provisioning", "Dark mode"]
    top = body["results"][0]
    assert (top["revenue_mrr"], top["revenue_arr"], top["customers"], top["requests"]) == (
        "10100.00",
        "121200.00",
        2,
        3,
    )
    assert top["churn_risk"] == 1 and top["competitive_gap"] == ["Asana"] and top["decision"] is None
    assert api.get("/api/v1/feature-requests/?ordering=requests").json()["results"][0]["title"] == "SCIM provisioning"
    assert api.post(f"/api/v1/feature-requests/{top['id']}/decide/", {"decision": "shipped"}).status_code == 403
    api.credentials()
    api.force_login(outsider)
    assert api.get("/api/v1/feature-requests/").status_code == 403
    api.force_login(product_lead)
    decided = api.post(f"/api/v1/feature-requests/{top['id']}/decide/", {"decision": "planned"}, format="json")
    assert decided.status_code == 400 and "quarter" in decided.json()["fields"]
    decided = api.post(
        f"/api/v1/feature-requests/{top['id']}/decide/", {"decision": "planned", "quarter": "2027-Q2"}, format="json"
    )
    assert decided.json()["decision"]["text"] == "Planned for 2027-Q2"


def test_what_was_asked_in_a_period_each_customer_once_with_the_newest_words_and_the_decision(requests):
    loud, rich = requests
    request_ticket(rich, CustomerFactory(name="Old Co", mrr=5000), days_ago=20, customer_words="Long ago")
    feature_request_decide(cluster=rich, decision="planned", quarter="2027-Q2", actor=None)
    now = timezone.now()
    asked = {c.title: c for c in feature_requests_asked(start=now - timedelta(days=7), end=now)}
    assert (asked["SCIM provisioning"].asked_customers, asked["SCIM provisioning"].asked_mrr) == (2, 10100)
    assert (asked["Dark mode"].asked_customers, asked["Dark mode"].asked_mrr) == (1, 100)
    assert asked["SCIM provisioning"].asked_quote["words"] == "We need it"
    assert decision_text(asked["SCIM provisioning"].latest_decision) == "Planned for 2027-Q2"
    assert decision_text(asked["Dark mode"].latest_decision) == ""
    earlier = {c.title: c for c in feature_requests_asked(start=now - timedelta(days=30), end=now - timedelta(days=7))}
    assert (earlier["SCIM provisioning"].asked_customers, earlier["SCIM provisioning"].asked_quote["words"]) == (
        1,
        "Long ago",
    )
    assert earlier["Dark mode"].asked_customers == 0 and earlier["Dark mode"].asked_quote is None
