"""A product lead splits two tickets off a cluster from its page, then undoes it, in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.clusters.services import cluster_refresh_counters
from tickets.models import AssignmentSource, BugCluster, ClusterCorrection, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_splits_two_tickets_off_and_undoes_it(page, login, product_lead, artifact_path):
    cluster = ClusterFactory(title="Checkout problems")
    tickets = [
        TicketFactory(cluster=cluster, subject=subject, assignment_source=AssignmentSource.ENGINE)
        for subject in ("Apple Pay sheet never opens", "Apple Pay fails on iPad", "Card declined 4001")
    ]
    cluster_refresh_counters(cluster=cluster)
    login(product_lead)
    page.goto(f"/clusters/{cluster.pk}/")
    # Tickets, duplicates and corrections are collapsible sections of the page.
    page.locator("#tickets-section > summary").click()
    page.locator("#duplicates-section > summary").click()

    page.get_by_label(f"Split off ticket {tickets[0].external_id}").check()
    page.get_by_label(f"Split off ticket {tickets[1].external_id}").check()
    page.get_by_label("Title of the new cluster").fill("Apple Pay broken")
    page.get_by_role("button", name="Split selected tickets into a new cluster").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Apple Pay broken")
    expect(page.locator(".messages")).to_contain_text(f"Split 2 tickets off #{cluster.pk} into new cluster")
    new = BugCluster.objects.get(title="Apple Pay broken")
    assert set(new.tickets.values_list("pk", flat=True)) == {tickets[0].pk, tickets[1].pk}
    page.locator("#tickets-section > summary").click()
    page.locator("#duplicates-section > summary").click()
    tickets_table = page.locator("#tickets-section")
    expect(tickets_table).to_contain_text("Apple Pay sheet never opens")
    expect(tickets_table).not_to_contain_text("Card declined 4001")

    history = page.locator("#corrections-history")  # loaded in place by HTMX
    expect(history).to_contain_text("Lee Lead")
    page.screenshot(path=artifact_path("corrections-after-split.png"), full_page=True)
    history.get_by_role("button", name="Undo").click()

    expect(page).to_have_url(f"{page.url.split('/clusters/')[0]}/clusters/{cluster.pk}/")
    expect(page.locator(".messages")).to_contain_text("Undone: Split 2 tickets off")
    expect(page.locator("#corrections-history")).to_contain_text("Undone by Lee Lead")
    assert not BugCluster.objects.filter(pk=new.pk).exists()
    assert set(Ticket.objects.filter(cluster=cluster).values_list("assignment_source", flat=True)) == {
        AssignmentSource.ENGINE
    }
    assert ClusterCorrection.objects.get().undone_by == product_lead
