"""Property-based: the evidence validator and the HTML report form never fail with a 5xx or store a partial
ticket, whatever they are sent (NUL, lone surrogates, huge or non-finite numbers, impossible dates)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tickets.factories import TicketFactory
from tickets.intake.evidence import evidence_validate, unstorable
from tickets.models import Ticket, TicketType

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["\x00", "bad \ud800", "NaN", "-0", "-0.001", "1e5000", "Infinity", "-3", "2026-02-30T10:00:00",
         "2026-13-01T00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "EUR 49.00", "x" * 25_000,
         "https://app.example.com/a", "javascript:alert(1)", " ", ""]
    ),
)  # fmt: skip
values = st.recursive(
    st.one_of(
        nasty_text,
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.decimals(allow_nan=True, allow_infinity=True),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(nasty_text, inner, max_size=3)),
    max_leaves=6,
)


def _types():
    return list(TicketType.objects.prefetch_related("fields"))


@FUZZ
@given(data=st.data())
def test_evidence_validator_refuses_with_messages_or_returns_what_can_be_stored(data):
    ticket_type = data.draw(st.sampled_from(_types()))
    fields = list(ticket_type.fields.all())
    keys = st.one_of(st.sampled_from([f.key for f in fields] or ["x"]), nasty_text)
    evidence = data.draw(st.dictionaries(keys, values, max_size=6))
    try:
        result = evidence_validate(fields=fields, values=evidence)
    except ValidationError as refused:
        assert refused.message_dict and all(key.startswith("evidence.") for key in refused.message_dict)
        return
    assert set(result.values) <= {f.key for f in fields}
    assert unstorable(result.values) == ""
    json.dumps(result.values, allow_nan=False)
    with transaction.atomic():  # and the database takes it (PostgreSQL refuses NUL and bad escapes in jsonb)
        TicketFactory(ticket_type=ticket_type, evidence=result.values)
        transaction.set_rollback(True)


@FUZZ
@given(data=st.data())
def test_the_report_form_never_fails_and_never_stores_a_partial_ticket(client, agent, data):
    ticket_type = data.draw(st.sampled_from([t for t in _types() if t.fields.exists()]))
    form = {
        "feedback_kind": ticket_type.feedback_kind,
        "ticket_type": ticket_type.key,
        "subject": data.draw(nasty_text),
        "description": data.draw(nasty_text),
        "reported_at": data.draw(st.one_of(nasty_text, st.just("2026-11-20T10:15"))),
        "submission_id": data.draw(st.sampled_from(["a" * 32, "not-an-id", ""])),
        "action": "file",
    }
    for field in ticket_type.fields.all():
        if field.kind != "file":
            form[f"ev-{field.key}"] = data.draw(nasty_text)
    client.force_login(agent)
    with transaction.atomic():
        before = Ticket.objects.count()
        response = client.post(reverse("tickets:report_new"), {k: v.replace("\ud800", "?") for k, v in form.items()})
        assert response.status_code < 500, response.status_code
        filed = list(Ticket.objects.order_by("-pk")[: Ticket.objects.count() - before])
        if response.status_code == 302:  # filed: one whole ticket, as typed
            assert len(filed) == 1
            ticket = filed[0]
            assert ticket.subject == form["subject"].strip() and ticket.ticket_type_id == ticket_type.pk
            assert unstorable(ticket.evidence) == "" and unstorable(ticket.subject) == ""
        else:  # refused: nothing stored, the form shown again
            assert filed == []
        transaction.set_rollback(True)
