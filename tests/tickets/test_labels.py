"""Pages show people's words for stored values: choice labels and local times (the API keeps the values)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.labels import choice_label, datetime_label
from tickets.models import TicketType


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("sso_managed", "SSO managed"),
        ("paypal", "PayPal"),
        ("sepa_debit", "SEPA debit"),
        ("3ds_challenge", "3-D Secure challenge"),
        ("smb", "SMB"),
        ("desktop", "Desktop"),
        ("active", "Active"),
        ("mid_market", "Mid-market"),
        ("mobile_app", "Mobile app"),
    ],
)
def test_choice_values_read_as_words(value, label):
    assert choice_label(value) == label


def test_evidence_times_are_shown_in_the_readers_time_zone():
    with timezone.override("Asia/Tokyo"):
        assert datetime_label("2026-11-20T15:15:00+00:00") == "21 Nov 2026 00:15 JST"


@pytest.mark.django_db
def test_the_cluster_page_shows_labels_and_local_times_and_the_api_keeps_values(client, product_lead):
    ticket_type = TicketType.objects.get(key="login_issue")
    cluster = ClusterFactory(ticket_type=ticket_type)
    TicketFactory(
        cluster=cluster,
        ticket_type=ticket_type,
        evidence={"account_status": "sso_managed", "last_successful_login": "2026-11-20T15:15:00+00:00"},
    )
    client.force_login(product_lead)
    client.cookies["tz"] = "America/New_York"
    html = client.get(reverse("tickets:cluster_detail", args=[cluster.pk])).content.decode()
    assert "<dd>SSO managed</dd>" in html and "20 Nov 2026 10:15 EST" in html
    assert "sso_managed" not in html and "2026-11-20T15:15" not in html
    api = client.get(f"/api/v1/clusters/{cluster.pk}/").json()
    assert "sso_managed" in str(api) or "tickets" not in api
