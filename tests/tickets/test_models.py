import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from tests.tickets.factories import TicketFactory
from tickets.models import EvidenceField, Role, Ticket, TicketType

pytestmark = pytest.mark.django_db


def test_source_and_external_id_are_unique_together():
    TicketFactory(source="zendesk", external_id="ZD-1")
    TicketFactory(source="freshdesk", external_id="ZD-1")  # same id, other help desk: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(source="zendesk", external_id="ZD-1")
    assert Ticket.objects.filter(external_id="ZD-1").count() == 2


@pytest.mark.parametrize(
    ("type_key", "evidence_keys"),
    [
        ("login_issue", ["browser", "os", "error_message", "account_status", "last_successful_login"]),
        ("payment_failure", ["payment_method", "amount", "error_code", "transaction_id"]),
        ("feature_bug", ["steps_to_reproduce", "expected_behavior", "actual_behavior", "frequency"]),
        ("performance_issue", ["page_action", "load_time_seconds", "network_conditions"]),
    ],
)
def test_seeded_types_ask_for_the_contract_evidence(type_key, evidence_keys):
    ticket_type = TicketType.objects.get(key=type_key)
    keys = list(ticket_type.fields.values_list("key", flat=True))
    assert set(evidence_keys) <= set(keys)
    assert all(EvidenceField.objects.get(ticket_type=ticket_type, key=k).help_text for k in evidence_keys)


def test_roles_exist_with_their_permissions():
    agent = Group.objects.get(name=Role.AGENT)
    lead = Group.objects.get(name=Role.PRODUCT_LEAD)
    assert agent.permissions.filter(codename="add_ticket").exists()
    assert not agent.permissions.filter(codename="triage_cluster").exists()
    assert lead.permissions.filter(codename="triage_cluster").exists()
    assert Group.objects.filter(name__in=Role.values).count() == 4
