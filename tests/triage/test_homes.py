"""Each role's home: what customer success, agents and product leads see first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory
from tickets.clusters.services import cluster_respond
from tickets.models import ClusterKind, TicketType
from triage.accounts.services import accounts_assess

pytestmark = pytest.mark.django_db


def test_the_csm_home_shows_their_accounts_at_risk_open_handoffs_and_their_accounts_requests(client, csm):
    mine = CustomerFactory(name="Mine Ltd", csm_owner=csm, mrr=9000)
    other = CustomerFactory(name="Other Ltd", mrr=50000)
    for customer in (mine, other):
        TicketFactory(
            customer=customer,
            feedback_kind="at_risk_signal",
            ticket_type=TicketType.objects.get(key="at_risk_signal"),
            evidence={"risk_indicator": "churn_language", "customer_words": "We will cancel our contract."},
        )
    request = ClusterFactory(kind=ClusterKind.FEATURE_REQUEST, title="Gantt baselines")
    TicketFactory(cluster=request, customer=mine, feedback_kind="feature_request")
    ClusterFactory(kind=ClusterKind.FEATURE_REQUEST, title="Not asked by mine")
    accounts_assess()
    client.force_login(csm)
    html = client.get(reverse("home")).content.decode()
    at_risk = html[html.index("Your accounts at risk") : html.index("Open handoffs")]
    assert "Mine Ltd" in at_risk and "Other Ltd" not in at_risk and "Churn or cancellation language" in at_risk
    handoffs = html[html.index("Open handoffs") : html.index("Feature requests from your accounts")]
    assert "Mine Ltd: Save play: retention call" in handoffs and "Other Ltd" not in handoffs
    assert "Gantt baselines" in html and "$9,000 MRR" in html and "Not asked by mine" not in html


def test_the_agent_home_lists_product_questions_first_with_links(client, agent, product_lead):
    cluster = ClusterFactory(title="Exports time out", status="in_progress")
    ticket = TicketFactory(cluster=cluster, agent=agent, subject="Export stuck")
    cluster_respond(cluster=cluster, actor=product_lead, message="Which browser do they use?", question=True)
    client.force_login(agent)
    html = client.get(reverse("home")).content.decode()
    assert html.index("Product is waiting for your answer") < html.index("Your recent reports")
    assert "Which browser do they use?" in html
    assert f'href="{reverse("tickets:cluster_detail", args=[cluster.pk])}#question-cluster-heading"' in html
    assert f'href="{reverse("tickets:my_reports")}#ticket-{ticket.pk}"' in html


def test_the_leads_home_counts_bug_clusters_only_and_links_them(client, product_lead):
    bug = ClusterFactory(title="Login loop", kind=ClusterKind.BUG, ticket_count=3)
    ClusterFactory(title="Dark mode", kind=ClusterKind.FEATURE_REQUEST, ticket_count=30)
    ClusterFactory(title="Kudos", kind=ClusterKind.FEEDBACK, ticket_count=30)
    client.force_login(product_lead)
    response = client.get(reverse("home"))
    assert response.context["open_cluster_count"] == 1
    html = response.content.decode()
    assert f'<a href="{reverse("tickets:cluster_detail", args=[bug.pk])}">Login loop</a>' in html
    assert "Dark mode" not in html and "Kudos" not in html
