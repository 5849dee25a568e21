"""A product lead edits a cluster's details in a real browser; errors keep what was typed."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.tickets.factories import ClusterFactory
from tickets.models import ClusterEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_edits_details_fixes_an_error_and_the_story_tells_support(page, login, product_lead):
    cluster = ClusterFactory(title="PayPal 4001 at checkout")
    login(product_lead)
    page.goto(f"/clusters/{cluster.pk}/")
    page.get_by_text("Edit details", exact=True).click()
    form = page.locator("#edit-details form")
    eta = timezone.localdate() + timedelta(days=14)

    form.get_by_label("Summary").fill("Business accounts are declined.")
    form.get_by_label("Workaround").fill("Pay by card until the fix ships.")
    form.get_by_label("Fix ETA").fill(eta.isoformat())
    form.get_by_label("Engineering issue").fill("PAY-7")
    form.get_by_label("Product reproduced the bug").check()
    form.get_by_role("button", name="Save details").click()

    error = page.locator("#id_details-engineering_url_error")
    expect(error).to_contain_text("full http(s) address")
    expect(page.get_by_label("Engineering issue")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Summary")).to_have_value("Business accounts are declined.")
    expect(page.get_by_label("Fix ETA")).to_have_value(eta.isoformat())
    expect(page.get_by_label("Product reproduced the bug")).to_be_checked()
    assert not ClusterEvent.objects.filter(cluster=cluster).exists()

    page.get_by_label("Engineering issue").fill("https://github.com/acme/shop/issues/42")
    page.get_by_role("button", name="Save details").click()

    expect(page.get_by_text("Details saved.")).to_be_visible()
    facts = page.locator(".cluster-facts").first
    expect(facts).to_contain_text("Pay by card until the fix ships.")
    expect(facts).to_contain_text(f"{eta.day} {eta:%b %Y}")
    expect(page.get_by_role("link", name="https://github.com/acme/shop/issues/42")).to_be_visible()
    story = page.locator(".timeline")
    expect(story.locator("li.workaround")).to_contain_text("Pay by card until the fix ships.")
    expect(story.locator("li.response")).to_contain_text("Details updated")
    expect(story.locator("li.response")).to_contain_text("Product reproduced the bug.")
    cluster.refresh_from_db()
    assert cluster.summary == "Business accounts are declined." and cluster.reproduced_at is not None
