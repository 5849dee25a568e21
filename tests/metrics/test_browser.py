"""End to end in Chromium: a product lead marks a fix deployed and reads its verdict and plot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.services.rollup import local_day
from tests.metrics.factories import history
from tests.tickets.factories import ClusterFactory
from tickets.models import ClusterStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_marks_fixed_and_sees_the_verdict_with_its_plot(product_lead, agent, login, page, artifact_path):
    cluster = ClusterFactory(title="Checkout error 4001", status=ClusterStatus.IN_PROGRESS, priority="P1")
    deploy_day = local_day(timezone.now()) - timedelta(days=36)
    history(cluster, deploy_day=deploy_day, per_day=14, effect=0.15, days_after=35)

    login(product_lead)
    page.get_by_role("link", name="Fixes").click()
    assert page.get_by_text("No measured fixes").is_visible()
    page.goto(f"/metrics/fixes/{cluster.pk}/")
    page.get_by_label("Fix deployed at").fill(f"{deploy_day:%Y-%m-%d}T16:30")
    page.get_by_role("button", name="Mark fixed").click()

    assert page.get_by_text("Marked fixed. Verdict so far: effective").is_visible()
    assert page.get_by_role("heading", name="Verdict: Effective (70-90% fewer)").is_visible()
    plot = page.get_by_role("img", name="Daily tickets 30 days before and after the fix")
    assert plot.is_visible()
    assert plot.locator("rect.bar.after").count() == 30
    assert page.locator(".plot-legend").get_by_text("after the fix").is_visible()
    page.screenshot(path=artifact_path("fix-impact.png"), full_page=True)

    page.get_by_role("link", name="Success metrics").click()
    assert page.get_by_role("heading", name="Success metrics").is_visible()
    assert page.get_by_text("Product response rate to feedback").first.is_visible()
