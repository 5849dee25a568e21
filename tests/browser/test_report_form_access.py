"""Filing works with the keyboard alone, and without JavaScript as two steps."""

import pytest
from playwright.sync_api import expect

from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_a_feature_request_can_be_filed_with_the_keyboard_only(page, login, agent):
    login(agent)
    page.goto("/reports/new/")
    tab_to(page, "#id_feedback_kind_0")
    page.keyboard.press("ArrowRight")  # radio group: moves to and checks "Feature request"
    expect(page.locator("#field-ev-customer_words")).to_be_visible()
    tab_to(page, "#id_ev-use_case")
    page.keyboard.type("Hand the auditors a year of invoices in one file.")
    for name, letter in (("customer_segment", "e"), ("need_frequency", "d"), ("workaround_difficulty", "c")):
        tab_to(page, f"#id_ev-{name}")
        page.keyboard.type(letter)
    tab_to(page, "#id_ev-revenue_impact")
    page.keyboard.type("b")
    tab_to(page, "#id_ev-customer_words")
    page.keyboard.type("We need to export every invoice at once for our auditors.")
    tab_to(page, "#id_subject")
    page.keyboard.type("Bulk invoice export")
    expect(page.locator("#completeness")).to_have_text("100%")
    tab_to(page, "button[value=file]")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Bulk invoice export")).to_be_visible()
    ticket = Ticket.objects.get()
    assert ticket.feedback_kind == "feature_request" and ticket.ticket_type.key == "feature_request"
    assert ticket.evidence == {
        "customer_segment": "enterprise",
        "need_frequency": "daily",
        "workaround_difficulty": "complex",
        "revenue_impact": "blocker",
        "customer_words": "We need to export every invoice at once for our auditors.",
        "use_case": "Hand the auditors a year of invoices in one file.",
    }


def test_without_javascript_the_form_works_as_two_steps(browser, live_server, agent):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/login/")
        page.get_by_label("Username").fill(agent.username)
        page.get_by_label("Password").fill("password")
        page.get_by_role("button", name="Sign in").click()
        page.goto("/reports/new/")
        expect(page.locator("#evidence-fields")).to_have_count(0)
        page.get_by_label("Subject").fill("Sign-in link expired")
        page.get_by_label("Ticket type").select_option(label="Login issue")
        page.get_by_role("button", name="Continue").click()  # step 2: the type's evidence

        expect(page.locator("#field-ev-account_status")).to_be_visible()
        expect(page.get_by_label("Subject")).to_have_value("Sign-in link expired")
        page.locator("#id_ev-user_agent").fill(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.2 Safari/605.1.15"
        )
        page.locator("#id_ev-error_message").fill("This link has expired")
        page.locator("#id_ev-account_status").select_option("active")
        page.get_by_role("button", name="File report").click()

        expect(page.get_by_role("heading", name="My reports")).to_be_visible()
        evidence = Ticket.objects.get().evidence
        assert evidence["browser"] == "Safari" and evidence["os"] == "Mac OS X 10.15"
    finally:
        context.close()
