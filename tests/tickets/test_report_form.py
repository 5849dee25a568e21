"""The agent's report form over HTTP: progressive fields, server-side evidence rules, nothing lost, no duplicates."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from tests.tickets.factories import ClusterFactory, CustomerFactory
from tickets.models import AssignmentSource, ClusterStatus, EvidenceField, Segment, Ticket, TicketType

pytestmark = pytest.mark.django_db

URL = reverse("tickets:report_new")
SAFARI_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)


def payment_post(**overrides):
    data = {
        "feedback_kind": "bug_report",
        "ticket_type": "payment_failure",
        "subject": "Checkout fails at payment step with PayPal",
        "description": "Customer tried three times.",
        "reported_at": "2026-11-20T10:15",
        "submission_id": "a" * 32,
        "ev-payment_method": "paypal",
        "ev-amount": "EUR 49.00",
        "ev-error_code": "4001",
        "ev-transaction_id": "txn_123",
        "ev-checkout_step": "payment_details",
        "action": "file",
    }
    data.update(overrides)
    return data


def test_step_one_shows_kinds_and_types_but_no_evidence_yet(client, agent):
    client.force_login(agent)
    html = client.get(URL).content.decode()
    assert "Feature request" in html and 'name="ticket_type"' in html
    assert "Login issue" in html and 'id="evidence-fields"' not in html


def test_choosing_a_type_shows_only_its_fields_in_order_with_help(client, agent):
    client.force_login(agent)
    html = client.get(URL, {"type": "login_issue"}).content.decode()
    keys = re.findall(r'id="field-ev-([a-z_]+)"', html)
    expected = list(TicketType.objects.get(key="login_issue").fields.order_by("order").values_list("key", flat=True))
    assert keys == expected
    assert "Look it up in the admin console under Accounts &gt; Status." in html
    assert 'name="ev-amount"' not in html  # a payment field


def test_without_javascript_continue_keeps_what_was_typed(client, agent):
    client.force_login(agent)
    response = client.post(
        URL,
        {
            "feedback_kind": "bug_report",
            "ticket_type": "login_issue",
            "subject": "Cannot sign in",
            "submission_id": "b" * 32,
            "action": "continue",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="field-ev-account_status"' in html and 'value="Cannot sign in"' in html
    assert 'role="alert"' not in html  # choosing a type is not an error
    assert not Ticket.objects.exists()


def test_switching_type_keeps_shared_values_and_carries_the_others(client, agent):
    client.force_login(agent)
    response = client.post(
        reverse("tickets:report_fields"),
        {
            "feedback_kind": "bug_report",
            "ticket_type": "login_issue",
            "ev-browser": "Firefox",
            "ev-error_message": "Invalid token",
            "ev-amount": "EUR 5",
            "submission_id": "c" * 32,
        },
    )
    html = response.content.decode()
    assert re.search(r'name="ev-browser"[^>]*value="Firefox"|value="Firefox"[^>]*name="ev-browser"', html)
    assert 'type="hidden" name="ev-amount" value="EUR 5"' in html  # not a login field: kept for switching back
    assert 'id="field-ev-account_status"' in html


def test_missing_required_evidence_is_refused_next_to_the_field_and_nothing_is_lost(client, agent):
    client.force_login(agent)
    response = client.post(URL, payment_post(**{"ev-error_code": ""}))
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_ev-error_code_error"' in html and "Error code is required." in html
    assert 'aria-invalid="true"' in html and 'role="alert"' in html
    assert 'value="Checkout fails at payment step with PayPal"' in html and 'value="txn_123"' in html
    assert not Ticket.objects.exists()


def test_valid_report_is_filed_with_evidence_and_completeness(client, agent):
    client.force_login(agent)
    response = client.post(URL, payment_post())
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.agent == agent and ticket.source == "web"
    assert ticket.evidence["amount"] == {"amount": "49.00", "currency": "EUR"}
    assert ticket.evidence["error_code"] == "4001" and ticket.evidence_completeness == 1.0


def test_a_retried_submit_does_not_file_twice(client, agent):
    client.force_login(agent)
    client.post(URL, payment_post())
    response = client.post(URL, payment_post(), follow=True)
    assert Ticket.objects.count() == 1
    assert "nothing was filed twice" in response.content.decode()


def test_missing_recommended_evidence_lowers_the_score(client, agent):
    client.force_login(agent)
    client.post(URL, payment_post(**{"ev-transaction_id": "", "ev-checkout_step": ""}))
    assert Ticket.objects.get().evidence_completeness == pytest.approx(0.6)


def test_score_and_missing_recommended_are_shown_before_filing(client, agent):
    client.force_login(agent)
    html = client.post(URL, payment_post(action="check", **{"ev-transaction_id": ""})).content.decode()
    assert 'id="completeness"' in html and ">80%<" in html
    assert "Missing recommended: Transaction ID." in html
    assert not Ticket.objects.exists()


def test_user_agent_fills_browser_version_os_and_device(client, agent):
    client.force_login(agent)
    response = client.post(
        reverse("tickets:report_autofill"),
        {
            "feedback_kind": "bug_report",
            "ticket_type": "login_issue",
            "ev-user_agent": SAFARI_UA,
            "ev-browser_version": "typed by me",
        },
    )
    html = response.content.decode()
    assert 'id="field-ev-browser" data-requirement="required"' in html and 'hx-swap-oob="true"' in html
    assert 'value="Mobile Safari"' in html and 'value="iOS 17.2"' in html
    assert '<option value="mobile" selected>' in html
    assert "typed by me" not in html  # a field the agent filled is not replaced


def test_user_agent_is_parsed_on_submit_without_javascript(client, agent):
    client.force_login(agent)
    client.post(
        URL,
        {
            "feedback_kind": "bug_report",
            "ticket_type": "login_issue",
            "subject": "Signed out",
            "ev-user_agent": SAFARI_UA,
            "ev-error_message": "Session expired",
            "ev-account_status": "active",
            "submission_id": "d" * 32,
            "action": "file",
        },
    )
    evidence = Ticket.objects.get().evidence
    assert (evidence["browser"], evidence["browser_version"], evidence["os"], evidence["device"]) == (
        "Mobile Safari",
        "17.2",
        "iOS 17.2",
        "mobile",
    )


def test_customer_search_shows_segment_tier_mrr_and_choosing_fills_account_fields(client, agent):
    acme = CustomerFactory(name="Acme Corp", segment=Segment.ENTERPRISE, plan_tier="business", mrr=12500)
    CustomerFactory(name="Other Ltd")
    client.force_login(agent)
    html = client.get(reverse("tickets:customer_results"), {"customer_q": "acme"}).content.decode()
    assert "Acme Corp" in html and "Enterprise" in html and "Business" in html and "$12,500 MRR" in html
    assert "Other Ltd" not in html
    html = client.post(
        reverse("tickets:report_autofill"),
        {"feedback_kind": "feature_request", "customer": acme.pk},
    ).content.decode()
    assert '<option value="enterprise" selected>' in html and "Acme Corp" in html


def test_feature_request_asks_for_its_fields(client, agent):
    client.force_login(agent)
    html = client.get(URL, {"kind": "feature_request"}).content.decode()
    for key in ("customer_segment", "need_frequency", "workaround_difficulty", "revenue_impact", "customer_words"):
        assert f'id="field-ev-{key}"' in html
    assert "Nice to have" in html and "One time" in html


def test_a_type_defined_in_the_admin_gets_its_form_and_validation(client, agent):
    kind = TicketType.objects.create(key="data_export", name="Data export", feedback_kind="bug_report", order=60)
    EvidenceField.objects.create(
        ticket_type=kind,
        key="export_format",
        label="Export format",
        kind="choice",
        choices=["csv", "xlsx"],
        requirement="required",
        help_text="Which format the customer chose.",
        order=1,
    )
    client.force_login(agent)
    html = client.get(URL, {"type": "data_export"}).content.decode()
    assert "Which format the customer chose." in html and '<option value="xlsx">Xlsx</option>' in html
    response = client.post(
        URL,
        {
            "feedback_kind": "bug_report",
            "ticket_type": "data_export",
            "subject": "Export empty",
            "ev-export_format": "pdf",
            "submission_id": "e" * 32,
        },
    )
    assert "choose one of: csv, xlsx" in response.content.decode()
    client.post(
        URL,
        {
            "feedback_kind": "bug_report",
            "ticket_type": "data_export",
            "subject": "Export empty",
            "ev-export_format": "csv",
            "submission_id": "e" * 32,
        },
    )
    assert Ticket.objects.get().evidence == {"export_format": "csv"}


def test_same_bug_files_the_ticket_into_the_cluster(client, agent):
    cluster = ClusterFactory(title="Checkout error 4001 with PayPal", status=ClusterStatus.IN_PROGRESS)
    client.force_login(agent)
    client.post(URL, payment_post(same_bug=str(cluster.pk)))
    ticket = Ticket.objects.get()
    assert ticket.cluster == cluster and ticket.assignment_source == AssignmentSource.AGENT
    cluster.refresh_from_db()
    assert cluster.ticket_count == 1


def test_known_bugs_panel_lists_matching_open_clusters(client, agent):
    ClusterFactory(
        title="Checkout error 4001 with PayPal",
        status=ClusterStatus.ACKNOWLEDGED,
        priority="P1",
        workaround="Pay by card meanwhile.",
        ticket_count=7,
    )
    ClusterFactory(title="Checkout error 4001 old", status=ClusterStatus.FIXED)
    client.force_login(agent)
    html = client.post(reverse("tickets:report_known_bugs"), payment_post()).content.decode()
    assert "Checkout error 4001 with PayPal" in html and "Pay by card meanwhile." in html
    assert "7 tickets" in html and "P1" in html and 'name="same_bug"' in html
    assert "old" not in html


def test_only_reported_at_defaults_to_now_in_the_agents_time_zone(client, agent, settings):
    settings.TIME_ZONE = "UTC"
    client.force_login(agent)
    client.cookies["tz"] = "Pacific/Kiritimati"  # UTC+14, so it can never look like UTC's clock
    html = client.get(URL, {"type": "login_issue"}).content.decode()
    local = datetime.now(ZoneInfo("Pacific/Kiritimati"))
    value = re.search(r'name="reported_at" value="([^"]+)"', html).group(1)
    shown = datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=ZoneInfo("Pacific/Kiritimati"))
    assert abs((shown - local).total_seconds()) < 120, value
    # Evidence nobody gave starts empty: "last successful login" is not the time the form was opened.
    field = re.search(r'<input[^>]*name="ev-last_successful_login"[^>]*>', html).group(0)
    assert 'value="' not in field and "data-default-now" not in field


def test_a_date_time_nobody_typed_is_not_stored_nor_counted(client, agent):
    client.force_login(agent)
    data = {
        "feedback_kind": "bug_report",
        "ticket_type": "login_issue",
        "subject": "Cannot sign in",
        "reported_at": "2026-11-20T10:15",
        "submission_id": "b" * 32,
        "ev-error_message": "Invalid credentials",
        "ev-browser": "Firefox",
        "ev-os": "Windows 11",
        "ev-account_status": "sso_managed",
        "action": "file",
    }
    # Switching the type in place (HTMX) does not fill the date-time either.
    html = client.post(reverse("tickets:report_fields"), data).content.decode()
    assert not re.search(r'name="ev-last_successful_login" value="[^"]+"', html)
    client.post(URL, data)
    ticket = Ticket.objects.get()
    assert "last_successful_login" not in ticket.evidence
    assert ticket.evidence["account_status"] == "sso_managed"  # the value is stored; pages show "SSO managed"
    counted = [f for f in ticket.ticket_type.fields.all() if f.requirement in ("required", "recommended")]
    given = [f for f in counted if f.key in ticket.evidence]
    assert ticket.evidence_completeness == pytest.approx(len(given) / len(counted), abs=0.001)
    assert len(given) < len(counted)


def test_feature_requests_get_known_requests_and_no_continue_hint_with_javascript(client, agent):
    client.force_login(agent)
    html = client.post(
        reverse("tickets:report_fields"), {"feedback_kind": "feature_request", "submission_id": "c" * 32}
    ).content.decode()
    assert "Known requests" in html and "Known bugs" not in html
    html = client.get(URL).content.decode()
    assert '<span class="nojs-only"> (then press Continue)</span>' in html
    # The report first, then the customer, then the type's evidence the customer fills.
    assert html.index('name="subject"') < html.index('id="customer-picker"') < html.index('id="type-and-evidence"')


def test_naive_date_times_are_read_in_the_agents_time_zone(client, agent):
    client.force_login(agent)
    client.post(URL, payment_post(tz="America/New_York", reported_at="2026-11-20T10:15"))
    assert Ticket.objects.get().reported_at == datetime(2026, 11, 20, 15, 15, tzinfo=UTC)


def test_outsider_cannot_open_the_form(client, outsider):
    client.force_login(outsider)
    assert client.get(URL).status_code == 403


def test_form_page_renders_in_a_bounded_number_of_queries(client, agent, django_assert_max_num_queries):
    for _ in range(3):
        kind = TicketType.objects.create(key=f"extra{_}", name=f"Extra {_}", order=90 + _)
        EvidenceField.objects.create(ticket_type=kind, key="what", label="What", order=1)
    client.force_login(agent)
    with django_assert_max_num_queries(7):
        assert client.get(URL, {"type": "login_issue"}).status_code == 200


def test_kinds_without_types_file_without_evidence(client, agent):
    TicketType.objects.filter(feedback_kind="praise").update(is_active=False)  # an admin retired praise's type
    client.force_login(agent)
    html = client.get(URL, {"kind": "praise"}).content.decode()
    assert 'name="ticket_type"' not in html and 'id="evidence-fields"' not in html
    client.post(URL, {"feedback_kind": "praise", "subject": "Loves the new editor", "submission_id": "9" * 32})
    ticket = Ticket.objects.get()
    assert (ticket.feedback_kind, ticket.ticket_type, ticket.evidence) == ("praise", None, {})


def test_a_type_is_required_when_the_kind_has_several(client, agent):
    client.force_login(agent)
    response = client.post(URL, {"feedback_kind": "bug_report", "subject": "Broken", "submission_id": "8" * 32})
    assert response.status_code == 400
    assert "Choose the ticket type: Login issue, Payment failure" in response.content.decode()


def test_nonsense_ids_are_ignored_not_crashing(client, agent):
    client.force_login(agent)
    response = client.post(URL, payment_post(customer="9" * 40, same_bug="1" * 40))
    assert response.status_code == 400 and "That known bug is closed or no longer exists" in response.content.decode()
    assert client.get(reverse("tickets:customer_results"), {"customer": "9" * 40, "customer_q": "x"}).status_code == 200


def test_without_javascript_find_customer_lists_matches_and_keeps_the_form(client, agent):
    CustomerFactory(name="Globex Corporation", segment=Segment.MID_MARKET, mrr=3400)
    client.force_login(agent)
    response = client.post(URL, payment_post(action="find_customer", customer_q="globex"))
    html = response.content.decode()
    assert response.status_code == 200 and 'name="customer"' in html and "Globex Corporation" in html
    assert "Mid-market" in html and "$3,400 MRR" in html and 'value="txn_123"' in html
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("name", ["report_fields", "report_autofill", "report_known_bugs"])
def test_form_helpers_refuse_users_who_cannot_file(client, outsider, name):
    client.force_login(outsider)
    assert client.post(reverse(f"tickets:{name}"), payment_post()).status_code == 403
