"""A customer-success manager signs in, sees an at-risk account with its reasons and acknowledges it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.tickets.factories import CustomerFactory, TicketFactory
from tickets.models import TicketType
from triage.accounts.models import Handoff
from triage.accounts.services import accounts_assess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_csm_sees_an_at_risk_account_with_its_reasons_and_acknowledges_it(csm, login, page, artifact_path):
    acme = CustomerFactory(name="Acme Corp", mrr=12500, segment="enterprise", plan_tier="enterprise", csm_owner=csm)
    TicketFactory(
        customer=acme,
        external_id="ZD-9001",
        subject="Renewal at risk",
        feedback_kind="at_risk_signal",
        ticket_type=TicketType.objects.get(key="at_risk_signal"),
        evidence={"risk_indicator": "executive_complaint", "customer_words": "Our CFO is furious; we will cancel."},
        reported_at=timezone.now() - timedelta(days=2),
    )
    accounts_assess()

    login(csm)
    at_risk = page.get_by_role("region", name="Your accounts at risk")
    expect(at_risk.get_by_role("link", name="Acme Corp")).to_be_visible()
    page.get_by_role("link", name="Accounts", exact=True).click()
    account = page.get_by_role("article", name="Acme Corp")
    expect(account).to_contain_text("Churn or cancellation language")
    expect(account).to_contain_text("Executive complaint")
    expect(account).to_contain_text("CFO complained")
    expect(account).to_contain_text("ZD-9001")
    page.screenshot(path=artifact_path("csm-at-risk.png"), full_page=True)
    account.get_by_role("link", name="Open the handoff").click()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("Acknowledged")
    page.get_by_label("What you did").fill("Called their CFO; fix date agreed.")
    page.get_by_role("button", name="Record intervention").click()
    done = page.get_by_role("region", name="What customer success did")
    expect(done).to_contain_text("fix date agreed. (Cass Success")
    handoff = Handoff.objects.get()
    assert (handoff.status, handoff.acknowledged_by_id) == ("intervened", csm.pk)
