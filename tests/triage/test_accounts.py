"""At-risk accounts: signals with evidence, the rule firing once per window, alerts, the CSM's actions, the API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.api.conftest import make_key
from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory
from tickets.integrations.http import PostResult
from tickets.integrations.signing import signed_headers, verify
from tickets.models import ApiKey, TicketType
from triage.accounts import delivery
from triage.accounts.models import AtRiskRule, Handoff, HandoffStatus
from triage.accounts.selectors import at_risk_accounts_for_week, configuration_warnings
from triage.accounts.services import (
    accounts_assess,
    handoff_record_intervention,
    handoff_record_result,
    window_start_for,
)
from triage.tasks import accounts_assess_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule():
    rule = AtRiskRule.objects.get()
    rule.competitors = ["Asana", "Monday.com"]
    rule.save()
    return rule


@pytest.fixture
def acme(csm):
    csm.email = "cass@example.com"
    csm.save()
    return CustomerFactory(name="Acme Corp", mrr=12500, segment="enterprise", plan_tier="enterprise", csm_owner=csm)


def signal_ticket(customer, words, *, days_ago=1, indicator="churn_language", **kwargs):
    return TicketFactory(
        customer=customer,
        feedback_kind="at_risk_signal",
        ticket_type=TicketType.objects.get(key="at_risk_signal"),
        subject=kwargs.pop("subject", f"Signal from {customer.name}"),
        evidence={"risk_indicator": indicator, "customer_words": words},
        reported_at=timezone.now() - timedelta(days=days_ago),
        **kwargs,
    )


def test_an_account_with_churn_language_and_a_competitor_is_at_risk_with_its_evidence(rule, acme):
    ticket = signal_ticket(acme, "If the export is not fixed by March we will move to Asana.")
    accounts_assess()
    health = acme.health
    assert health.at_risk and health.score == 5  # churn language (3) + competitor mentioned (2)
    reasons = {s["trigger"]: s for s in health.signals}
    assert set(reasons) == {"churn_language", "competitor_mentioned"}
    assert reasons["competitor_mentioned"]["evidence"][0] == {
        "ticket_id": ticket.pk,
        "external_id": ticket.external_id,
        "subject": ticket.subject,
        "reported_at": ticket.reported_at.isoformat(),
        "note": "Asana",
    }
    assert "will move to" in reasons["churn_language"]["evidence"][0]["note"]


def test_negated_churn_language_is_not_a_risk(rule, acme):
    TicketFactory(
        customer=acme, subject="Invoices", description="We are not cancelling, we love it. No plans to leave you."
    )
    accounts_assess()
    assert not acme.health.at_risk and acme.health.signals == []


def test_the_rule_fires_once_per_window_and_not_again_for_the_same_evidence(
    rule, acme, django_capture_on_commit_callbacks
):
    signal_ticket(
        acme, "We will cancel our subscription at renewal; our CEO is furious.", indicator="executive_complaint"
    )
    with django_capture_on_commit_callbacks(execute=True):
        accounts_assess_task()
        accounts_assess_task()  # beat ran twice
    assert Handoff.objects.count() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["cass@example.com"]
    body = mail.outbox[0].body
    for part in (
        "AT-RISK ALERT: Acme Corp",
        "**Tier**: Enterprise",
        "$12,500.00",
        "**CSM**: Cass Success",
        "## Risk indicators",
        "## Recent tickets",
        "## In the customer's words",
        "## Recommended actions",
    ):
        assert part in body, part
    # The next window: the same evidence raises nothing, and neither does new evidence of the same risk while
    # the CSM still holds its handoff; once the CSM closed it, new evidence is a new risk.
    later = timezone.now() + timedelta(days=rule.window_days)
    with django_capture_on_commit_callbacks(execute=True):
        accounts_assess(now=later - timedelta(days=rule.window_days - 2))
    assert Handoff.objects.count() == 1
    signal_ticket(acme, "We are evaluating alternatives now.", days_ago=-(rule.window_days - 3))
    with django_capture_on_commit_callbacks(execute=True):
        assert accounts_assess(now=later)["handoffs"] == 0
    assert Handoff.objects.count() == 1 and len(mail.outbox) == 1
    handoff = Handoff.objects.get()
    handoff_record_intervention(handoff=handoff, actor=acme.csm_owner, intervention="Called their COO.")
    handoff_record_result(handoff=handoff, actor=acme.csm_owner, result="still_at_risk")
    signal_ticket(acme, "We have a call with Asana next week.", days_ago=-(rule.window_days - 1))
    with django_capture_on_commit_callbacks(execute=True):
        result = accounts_assess(now=later + timedelta(hours=1))
    assert result["handoffs"] == 1 and Handoff.objects.count() == 2 and len(mail.outbox) == 2
    assert window_start_for(timezone.localdate(later), rule.window_days) in set(
        Handoff.objects.values_list("window_start", flat=True)
    )


def test_an_alert_is_delivered_once_through_email_chat_and_signed_webhook(rule, acme, monkeypatch, settings):
    settings.SLA_WEBHOOK_SECRET = "hook-secret"
    rule.chat_webhook_url, rule.webhook_url = "https://chat.example/hook", "https://crm.example/hook"
    rule.save()
    posted = []

    def receive(url, body, *, timeout, **signing):
        posted.append((url, body, signed_headers(body=body, **signing) if signing else {}))
        return PostResult(status_code=200, error="", excerpt="", duration_ms=1)

    monkeypatch.setattr(delivery, "http_post", receive)
    signal_ticket(acme, "We will cancel our contract.")
    accounts_assess()
    handoff = Handoff.objects.get()
    assert delivery.handoff_deliver(handoff_id=handoff.pk) == "sent"
    assert delivery.handoff_deliver(handoff_id=handoff.pk) == "skipped"  # a second worker, a redelivered task
    assert len(mail.outbox) == 1
    assert [url for url, _, _ in posted] == ["https://chat.example/hook", "https://crm.example/hook"]
    _, body, headers = posted[1]
    assert headers["X-Triage-Event"] == "account.at_risk" and headers["X-Triage-Delivery"] == f"handoff-{handoff.pk}"
    assert verify("hook-secret", headers["X-Triage-Timestamp"], headers["X-Triage-Signature"], body)
    assert json.loads(body)["account"]["name"] == "Acme Corp"


def test_a_failed_channel_is_retried_and_resent_alone(rule, acme, monkeypatch):
    rule.webhook_url = "https://crm.example/hook"
    rule.save()
    calls = []

    def flaky(url, body, *, timeout, **signing):
        calls.append(url)
        if len(calls) == 1:
            return PostResult(status_code=None, error="ConnectionRefusedError", excerpt="", duration_ms=1)
        return PostResult(status_code=200, error="", excerpt="", duration_ms=1)

    monkeypatch.setattr(delivery, "http_post", flaky)
    signal_ticket(acme, "We will cancel our contract.")
    accounts_assess()
    handoff = Handoff.objects.get()
    assert delivery.handoff_deliver(handoff_id=handoff.pk) == "retry"
    assert delivery.handoff_deliver(handoff_id=handoff.pk) == "sent"
    assert len(mail.outbox) == 1 and len(calls) == 2  # email not sent twice


def test_escalations_p1_clusters_csat_and_expansion_are_read(rule, acme):
    p1 = ClusterFactory(title="Checkout down", priority="P1", status="acknowledged")
    for i in range(3):
        TicketFactory(
            customer=acme,
            subject=f"Bug {i}",
            cluster=p1 if i == 0 else None,
            evidence={"csat": "1"} if i < 2 else {},
            reported_at=timezone.now() - timedelta(days=i + 1),
        )
    TicketFactory(
        customer=acme, subject="Happy before", evidence={"csat": "5"}, reported_at=timezone.now() - timedelta(days=40)
    )
    TicketFactory(customer=acme, subject="Seats", description="They want 40 more seats next quarter.")
    accounts_assess()
    triggers = {s["trigger"] for s in acme.health.signals}
    assert {"repeated_escalations", "incident_impact", "negative_csat", "expansion_interest"} <= triggers
    assert acme.health.expansion and acme.health.at_risk


def test_the_csm_acknowledges_records_the_intervention_and_its_result(client, rule, acme, csm, agent):
    signal_ticket(acme, "We will cancel our contract.")
    accounts_assess()
    handoff = Handoff.objects.get()
    client.force_login(agent)
    assert client.post(reverse("accounts:handoff_acknowledge", args=[handoff.pk])).status_code == 403
    client.force_login(csm)
    page = client.get(reverse("accounts:at_risk")).content.decode()
    assert "Acme Corp" in page and "Churn or cancellation language" in page
    client.post(reverse("accounts:handoff_acknowledge", args=[handoff.pk]))
    refused = client.post(reverse("accounts:handoff_result", args=[handoff.pk]), {"result-result": "retained"})
    assert refused.status_code == 400 and "Record the intervention first" in refused.content.decode()
    client.post(reverse("accounts:handoff_intervene", args=[handoff.pk]), {"intervention-intervention": "Call with VP"})
    client.post(
        reverse("accounts:handoff_result", args=[handoff.pk]),
        {"result-result": "retained", "result-note": "Fix promised"},
    )
    handoff.refresh_from_db()
    assert (handoff.status, handoff.result, handoff.acknowledged_by, handoff.intervention) == (
        HandoffStatus.CLOSED,
        "retained",
        csm,
        "Call with VP",
    )


def test_rules_are_validated_with_clear_messages():
    rule = AtRiskRule(window_days=3, escalation_threshold=1, min_score=0, csat_threshold=7, competitors="Asana")
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    errors = refused.value.message_dict
    assert "7 to 365 days; got 3" in errors["window_days"][0]
    assert "2 to 100 tickets" in errors["escalation_threshold"][0]
    assert "1 to 50" in errors["min_score"][0]
    assert "JSON list of names" in errors["competitors"][0]


def test_an_unusable_competitor_list_or_missing_csm_is_a_visible_warning_not_a_crash(client, csm):
    AtRiskRule.objects.update(competitors={"not": "a list"})
    orphan = CustomerFactory(name="Orphan Inc", csm_owner=None)
    signal_ticket(orphan, "We will cancel our subscription; our CFO is furious.", indicator="executive_complaint")
    accounts_assess()
    warnings = " ".join(configuration_warnings())
    assert "competitor list cannot be read" in warnings and "1 at-risk account has no CSM" in warnings
    client.force_login(csm)
    page = client.get(reverse("accounts:at_risk"))
    assert page.status_code == 200 and "Orphan Inc" in page.content.decode()
    AtRiskRule.objects.update(competitors=[])
    assert "No competitors are configured" in " ".join(configuration_warnings())


def test_the_api_lists_at_risk_accounts_with_reasons_for_keys_and_roles(client, rule, acme, csm, outsider):
    from rest_framework.test import APIClient

    signal_ticket(acme, "We will cancel our contract.")
    accounts_assess()
    _, key = make_key(ApiKey.Scope.READ)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    rows = api.get("/api/v1/accounts/at-risk/").json()["results"]
    assert [r["name"] for r in rows] == ["Acme Corp"]
    assert rows[0]["signals"][0]["trigger"] == "churn_language" and rows[0]["csm"] == csm.username
    api.credentials()
    api.force_login(outsider)
    assert api.get("/api/v1/accounts/at-risk/").status_code == 403
    api.force_login(csm)
    assert api.get("/api/v1/accounts/at-risk/?trigger=churn_language").json()["results"][0]["score"] == 3
    assert api.get("/api/v1/accounts/at-risk/?trigger=executive_complaint").json()["results"] == []


def test_at_risk_accounts_for_a_week(rule, acme):
    signal_ticket(acme, "We will cancel our contract.")
    accounts_assess()
    now = timezone.now()
    week = at_risk_accounts_for_week(week_start=now - timedelta(days=3), week_end=now + timedelta(days=1)).rows
    assert [w.customer.name for w in week] == ["Acme Corp"] and week[0].is_open
    assert week[0].reasons == ["Churn or cancellation language: in 1 ticket"]
    before = at_risk_accounts_for_week(week_start=now - timedelta(days=14), week_end=now - timedelta(days=7))
    assert (before.rows, before.total) == ([], 0)
