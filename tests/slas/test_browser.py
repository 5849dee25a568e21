"""In the browser: a product lead finds the SLA pages from the navigation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from slas.services import clock_sync
from tests.slas.factories import PolicyFactory
from tests.tickets.factories import ClusterFactory
from tickets.models import BugCluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_sees_breached_clusters_and_weekly_compliance(product_lead, login, page):
    PolicyFactory(name="Fast lane", ack_minutes=60)
    cluster = ClusterFactory(title="Refunds stuck")
    BugCluster.objects.filter(pk=cluster.pk).update(created_at=timezone.now() - timedelta(hours=3))
    clock_sync(cluster_id=cluster.pk)

    login(product_lead)
    page.get_by_role("link", name="SLAs", exact=True).click()
    assert page.get_by_role("heading", name="Service levels: open clusters").is_visible()
    row = page.get_by_role("row").filter(has_text="Refunds stuck")
    assert "Breached 2 h ago" in row.inner_text()
    page.get_by_label("Urgency").select_option("due_soon")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_text("No open SLA clocks match").is_visible()

    page.get_by_role("link", name="SLA compliance").first.click()
    assert page.get_by_role("heading", name="How we keep our service levels").is_visible()
    page.goto("/slas/compliance/?weeks=0")  # the browser itself refuses 0 (min=1); the server says why too
    assert page.get_by_text("Weeks: Ensure this value is greater than or equal to 1.").is_visible()
    assert page.get_by_label("Weeks").input_value() == "0"
