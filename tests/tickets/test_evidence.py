"""Evidence is validated against the ticket type; errors name the field and what is allowed."""

import pytest
from django.core.exceptions import ValidationError

from tickets.intake.services import ticket_create
from tickets.models import Ticket, TicketType

pytestmark = pytest.mark.django_db

VALID_PAYMENT = {
    "payment_method": "paypal",
    "amount": "EUR 49.00",
    "error_code": "4001",
    "transaction_id": "txn_123",
}


def payment_type():
    return TicketType.objects.get(key="payment_failure")


def file_payment(evidence, **kwargs):
    return ticket_create(subject="Checkout fails", ticket_type=payment_type(), evidence=evidence, **kwargs)


def test_valid_evidence_is_normalised_and_stored():
    ticket = file_payment(VALID_PAYMENT)
    ticket.refresh_from_db()
    assert ticket.evidence["amount"] == {"amount": "49.00", "currency": "EUR"}
    assert ticket.evidence["payment_method"] == "paypal"
    assert ticket.evidence_completeness < 1.0  # checkout_step (recommended) is missing


def test_missing_required_field_is_refused_and_named():
    evidence = dict(VALID_PAYMENT)
    del evidence["error_code"]
    with pytest.raises(ValidationError) as exc:
        file_payment(evidence)
    errors = exc.value.message_dict
    assert list(errors) == ["evidence.error_code"]
    assert "Error code is required" in errors["evidence.error_code"][0]
    assert Ticket.objects.count() == 0


def test_wrong_choice_lists_the_allowed_values():
    with pytest.raises(ValidationError) as exc:
        file_payment({**VALID_PAYMENT, "payment_method": "bitcoin"})
    message = exc.value.message_dict["evidence.payment_method"][0]
    assert "'bitcoin' is not a valid choice for Payment method" in message
    assert "credit_card" in message and "paypal" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("amount", "forty-nine", "Amount must be an amount such as 49.99"),
        ("amount", {"amount": "-3", "currency": "USD"}, "Amount cannot be negative"),
    ],
)
def test_wrong_type_is_refused_with_what_is_allowed(key, value, expected):
    with pytest.raises(ValidationError) as exc:
        file_payment({**VALID_PAYMENT, key: value})
    assert expected in exc.value.message_dict[f"evidence.{key}"][0]


def test_number_datetime_and_url_kinds():
    perf = TicketType.objects.get(key="performance_issue")
    with pytest.raises(ValidationError) as exc:
        ticket_create(
            subject="Slow",
            ticket_type=perf,
            evidence={"page_action": "Reports", "load_time_seconds": "slow-ish"},
        )
    assert "Load time (seconds) must be a number" in exc.value.message_dict["evidence.load_time_seconds"][0]

    login = TicketType.objects.get(key="login_issue")
    base = {"browser": "Safari 17.2", "os": "iOS 17.2", "error_message": "Invalid token", "account_status": "active"}
    with pytest.raises(ValidationError) as exc:
        ticket_create(
            subject="Cannot sign in", ticket_type=login, evidence={**base, "last_successful_login": "yesterday"}
        )
    assert "must be a date and time" in exc.value.message_dict["evidence.last_successful_login"][0]

    ticket = ticket_create(
        subject="Cannot sign in", ticket_type=login, evidence={**base, "last_successful_login": "2026-11-02T14:30"}
    )
    assert ticket.evidence["last_successful_login"].startswith("2026-11-02T14:30")
    assert ticket.evidence_completeness == pytest.approx(5 / 6, abs=0.001)  # login_method (recommended) missing


def test_unknown_evidence_key_is_refused():
    with pytest.raises(ValidationError) as exc:
        file_payment({**VALID_PAYMENT, "favourite_colour": "blue"})
    assert "Unknown evidence field 'favourite_colour'" in exc.value.message_dict["evidence.favourite_colour"][0]


def test_several_errors_are_reported_together():
    with pytest.raises(ValidationError) as exc:
        ticket_create(subject="", ticket_type=payment_type(), evidence={"payment_method": "cash"})
    errors = exc.value.message_dict
    assert {"subject", "evidence.payment_method", "evidence.amount", "evidence.error_code"} <= set(errors)
