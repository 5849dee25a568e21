from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_signs_in_and_sees_the_home_page(agent, login, page):
    login(agent)
    assert page.get_by_role("heading", name="Welcome, Amy Agent").is_visible()
    assert page.get_by_role("navigation", name="Main").is_visible()


def test_demo_agent_signs_in_with_the_demo_password_and_sees_their_reports(login, page, artifact_path):
    call_command("seed_demo", tickets=400, no_progress=True, stdout=StringIO())
    login(SimpleNamespace(username="agent"), password="demo-password")
    assert page.get_by_role("heading", name="Welcome, Alex Morgan").is_visible()
    reports = page.get_by_role("region", name="Your recent reports")
    latest = Ticket.objects.filter(agent__username="agent").order_by("-reported_at")[:8]
    assert len(latest) == 8
    items = reports.get_by_role("listitem")
    assert items.count() == 8
    for position, ticket in enumerate(latest):
        assert ticket.subject in items.nth(position).inner_text()
    questions = page.get_by_role("region", name="Product is waiting for your answer")
    assert questions.is_visible()
    assert page.locator("h2").first.inner_text() == "Product is waiting for your answer"  # questions come first
    page.screenshot(path=artifact_path("demo-agent-home.png"), full_page=True)


def test_wrong_password_is_refused_with_a_message(agent, page):
    page.goto("/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Username").input_value() == agent.username
