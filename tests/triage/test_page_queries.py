"""The pages of feedback routing and customer success read in a fixed number of queries, however many rows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory
from tickets.models import TicketType
from triage.accounts.services import accounts_assess

pytestmark = pytest.mark.django_db
PAGES = [
    ("product_lead", "tickets:feature_requests", [], 14),
    ("product_lead", "tickets:feedback_queue", ["ux_feedback"], 17),
    ("product_lead", "tickets:feedback_queues", [], 9),
    ("csm", "accounts:at_risk", [], 10),
    ("csm", "accounts:list", [], 7),
    ("csm", "home", [], 9),
]


@pytest.mark.parametrize(("role", "name", "args", "queries"), PAGES)
def test_list_pages_have_no_n_plus_one(client, request, django_assert_max_num_queries, role, name, args, queries):
    csm = request.getfixturevalue("csm")
    types = {t.key: t for t in TicketType.objects.all()}
    for _ in range(25):
        customer = CustomerFactory(csm_owner=csm)
        request_cluster = ClusterFactory(kind="feature_request")
        TicketFactory(
            cluster=request_cluster,
            customer=customer,
            feedback_kind="feature_request",
            ticket_type=types["feature_request"],
            evidence={"customer_words": "x", "revenue_impact": "blocker"},
        )
        TicketFactory(customer=customer, feedback_kind="ux_feedback", ticket_type=types["ux_feedback"])
        TicketFactory(
            customer=customer,
            feedback_kind="at_risk_signal",
            ticket_type=types["at_risk_signal"],
            evidence={"risk_indicator": "churn_language", "customer_words": "We will cancel our contract."},
        )
    accounts_assess()  # fmt: skip
    client.force_login(request.getfixturevalue(role))
    with django_assert_max_num_queries(queries):
        assert client.get(reverse(name, args=args)).status_code == 200
