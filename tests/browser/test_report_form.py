"""An agent files reports in a real browser: progressive fields, errors, known bugs, and the closed loop."""

import base64

import pytest
from playwright.sync_api import expect

from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory
from tickets.models import AssignmentSource, Attachment, ClusterEvent, ClusterStatus, Segment, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def open_form(page, login, agent):
    login(agent)
    page.get_by_role("link", name="File a report").click()
    expect(page.get_by_role("heading", name="File a report")).to_be_visible()
    page.wait_for_load_state("load")  # HTMX and the form's script are loaded with defer
    return page


def choose_type(page, label):
    page.get_by_label("Ticket type").select_option(label=label)
    expect(page.get_by_role("group", name=f"Evidence for {label}")).to_be_visible()
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")


def test_type_switch_shows_only_that_types_fields_and_keeps_shared_values(page, login, agent):
    open_form(page, login, agent)
    choose_type(page, "Login issue")
    expect(page.locator("#field-ev-account_status")).to_be_visible()
    expect(page.locator("#field-ev-amount")).to_have_count(0)
    page.locator("#id_ev-browser").fill("Firefox")
    page.locator("#id_ev-error_message").fill("Invalid token")

    choose_type(page, "Payment failure")
    expect(page.locator("#field-ev-amount")).to_be_visible()
    expect(page.locator("#field-ev-account_status")).to_have_count(0)
    expect(page.locator("#id_ev-browser")).to_have_value("Firefox")  # both types ask for the browser

    choose_type(page, "Login issue")
    expect(page.locator("#id_ev-error_message")).to_have_value("Invalid token")  # carried while hidden

    page.get_by_label("Feature request").check()
    expect(page.locator("#field-ev-customer_words")).to_be_visible()
    expect(page.locator("#field-ev-account_status")).to_have_count(0)


def test_missing_required_field_shows_its_error_and_keeps_other_values(page, login, agent):
    open_form(page, login, agent)
    choose_type(page, "Payment failure")
    page.get_by_label("Subject").fill("Checkout fails with PayPal")
    page.locator("#id_ev-payment_method").select_option("paypal")
    page.locator("#id_ev-amount").fill("EUR 49.00")
    page.locator("#id_ev-transaction_id").fill("txn_42")
    page.get_by_role("button", name="File report").click()

    expect(page.get_by_role("alert")).to_contain_text("Error code")
    error = page.locator("#id_ev-error_code_error")
    expect(error).to_have_text("Error code is required. " + error.inner_text().split("required. ", 1)[1])
    expect(page.locator("#id_ev-error_code")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_ev-error_code")).to_have_attribute(
        "aria-describedby", "id_ev-error_code_help id_ev-error_code_error"
    )
    expect(page.get_by_label("Subject")).to_have_value("Checkout fails with PayPal")
    expect(page.locator("#id_ev-amount")).to_have_value("EUR 49.00")
    expect(page.locator("#id_ev-payment_method")).to_have_value("paypal")
    assert not Ticket.objects.exists()


def test_valid_report_creates_the_ticket_with_its_evidence(page, login, agent, artifact_path, tmp_path):
    CustomerFactory(name="Acme Corp", segment=Segment.ENTERPRISE, plan_tier="business", mrr=12500)
    screenshot = tmp_path / "dashboard.png"
    screenshot.write_bytes(PNG_1PX)
    open_form(page, login, agent)
    choose_type(page, "Feature bug")
    page.get_by_label("Subject").fill("Dashboard charts stay empty")
    page.locator("#id_ev-component").select_option("dashboard")
    page.locator("#id_ev-steps_to_reproduce").fill("1. Open the dashboard\n2. Wait")
    page.locator("#id_ev-expected_behavior").fill("Charts show last week")
    page.locator("#id_ev-actual_behavior").fill("Charts are empty")
    page.locator("#id_ev-frequency").select_option("always")
    page.locator("#id_ev-user_agent").fill(CHROME_UA)
    page.keyboard.press("Tab")  # leaving the field parses it; the focus moves on to Browser
    expect(page.locator("#id_ev-browser")).to_have_value("Chrome")
    expect(page.locator("#id_ev-browser")).to_be_focused()  # the swap-in keeps the keyboard user's place
    expect(page.locator("#id_ev-os")).to_have_value("Windows 10")
    expect(page.locator("#id_ev-device")).to_have_value("desktop")
    page.locator("#id_ev-screenshot").set_input_files(str(screenshot))
    page.get_by_label("Find the customer").fill("acme")
    page.get_by_label("Acme Corp").check()
    expect(page.locator("#customer-card")).to_contain_text("Enterprise · Business · $12,500 MRR")
    expect(page.locator("#completeness")).to_have_text("100%")
    page.screenshot(path=artifact_path("report-form-filled.png"), full_page=True)

    page.get_by_role("button", name="File report").click()
    expect(page.get_by_role("heading", name="My reports")).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard charts stay empty")).to_be_visible()
    ticket = Ticket.objects.get()
    assert ticket.agent == agent and ticket.customer.name == "Acme Corp"
    assert ticket.evidence["browser"] == "Chrome" and ticket.evidence["frequency"] == "always"
    assert ticket.evidence["screenshot"] == "dashboard.png" and ticket.evidence_completeness == 1.0
    attachment = Attachment.objects.get(ticket=ticket)
    assert attachment.evidence_key == "screenshot" and attachment.kind == Attachment.Kind.SCREENSHOT
    assert attachment.file.read() == PNG_1PX


def test_known_bugs_panel_appears_and_same_bug_links_the_ticket(page, login, agent):
    cluster = ClusterFactory(
        title="Checkout error 4001 with PayPal",
        status=ClusterStatus.IN_PROGRESS,
        priority="P1",
        workaround="Pay by card until the fix ships.",
        ticket_count=12,
    )
    ClusterFactory(title="Dark mode colours are off", status=ClusterStatus.NEW)
    open_form(page, login, agent)
    choose_type(page, "Payment failure")
    page.locator("#id_ev-payment_method").select_option("paypal")
    page.locator("#id_ev-amount").fill("USD 20")
    page.locator("#id_ev-error_code").fill("4001")
    page.get_by_label("Subject").press_sequentially("PayPal checkout error", delay=20)

    panel = page.locator("#known-bugs")
    expect(panel).to_contain_text("Checkout error 4001 with PayPal")
    expect(panel).to_contain_text("Pay by card until the fix ships.")
    expect(panel).to_contain_text("12 tickets")
    expect(panel).not_to_contain_text("Dark mode")
    panel.get_by_role("button", name="Same bug: file it here").click()

    expect(page.get_by_text(f"added to known bug #{cluster.pk}")).to_be_visible()
    ticket = Ticket.objects.get()
    assert ticket.cluster_id == cluster.pk and ticket.assignment_source == AssignmentSource.AGENT


def test_agent_answers_a_product_question_on_my_reports(page, login, agent, product_lead):
    cluster = ClusterFactory(title="Export to CSV times out", status=ClusterStatus.IN_PROGRESS)
    TicketFactory(agent=agent, cluster=cluster, subject="CSV export never finishes")
    login(product_lead)
    page.goto(f"/clusters/{cluster.pk}/")
    page.get_by_label("Response to support").fill("How many rows does the customer export?")
    page.get_by_label("This is a question for support").check()
    page.get_by_role("button", name="Post").click()
    expect(page.get_by_text("Question sent to support.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    login(agent)
    page.get_by_role("link", name="My reports").click()
    expect(page.get_by_role("status")).to_contain_text("Product is waiting for your answer on 1 bug")
    row = page.locator("article.report-row", has_text="CSV export never finishes")
    expect(row).to_have_class("card report-row highlight")
    expect(row.locator(".question-text")).to_have_text("How many rows does the customer export?")
    row.get_by_label("Your answer").fill("About 2 million rows")
    row.get_by_role("button", name="Send answer to product").click()

    expect(page.get_by_text("your answer was sent to product")).to_be_visible()
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.IN_PROGRESS
    assert cluster.events.filter(kind=ClusterEvent.Kind.ANSWER, message="About 2 million rows").exists()
    expect(page.locator("article.report-row", has_text="CSV export never finishes")).to_contain_text(
        "About 2 million rows"
    )
