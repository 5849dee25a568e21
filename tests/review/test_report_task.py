"""The Monday email: last week's report to REVIEW_REPORT_RECIPIENTS, once per week however often beat fires."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured

from tests.review.helpers import NOW, full_week
from triage.review.models import ReportDelivery
from triage.review.services import report_delivery_send
from triage.review.tasks import report_weekly_task

pytestmark = pytest.mark.django_db
MONDAY_7AM = NOW + timedelta(days=5, hours=-8)  # Monday 16 March, 07:00 New York


def test_beat_firing_twice_sends_last_weeks_report_once(review_now, settings, mailoutbox, product_lead):
    full_week(product_lead)
    settings.REVIEW_REPORT_RECIPIENTS = ["lead@example.com", "support@example.com"]
    with time_machine.travel(MONDAY_7AM, tick=False):
        assert report_weekly_task() == "sent"
        assert report_weekly_task() == "skipped"
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["lead@example.com", "support@example.com"]
    assert email.subject == "Voice of Customer, week 2026-W11 (09 Mar – 15 Mar 2026)"
    assert "## Top themes" in email.body and "Busy bug 0" in email.body
    delivery = ReportDelivery.objects.get(trigger="weekly")
    assert delivery.sent_at is not None and delivery.week.isoformat() == "2026-03-09"


def test_no_recipients_sends_nothing_and_writes_nothing(review_now, settings, mailoutbox):
    settings.REVIEW_REPORT_RECIPIENTS = []
    assert report_weekly_task() == "no recipients"
    assert mailoutbox == [] and not ReportDelivery.objects.exists()


def test_a_refused_send_is_kept_for_the_retry_and_sent_once_it_works(review_now, settings, mailoutbox, monkeypatch):
    settings.REVIEW_REPORT_RECIPIENTS = ["lead@example.com"]

    def broken(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    with pytest.raises(ConnectionRefusedError):
        report_weekly_task()
    delivery = ReportDelivery.objects.get()
    assert delivery.sent_at is None and "SMTP server down" in delivery.last_error and delivery.lease_until is None
    monkeypatch.undo()
    assert report_delivery_send(delivery_id=delivery.pk) == "sent"
    assert report_delivery_send(delivery_id=delivery.pk) == "skipped"
    assert len(mailoutbox) == 1


def test_recipients_come_from_the_environment_and_bad_addresses_stop_the_app(monkeypatch):
    from triage.env import env_email_list

    monkeypatch.setenv("REVIEW_REPORT_RECIPIENTS", " lead@example.com, ,support@example.com ")
    assert env_email_list("REVIEW_REPORT_RECIPIENTS") == ["lead@example.com", "support@example.com"]
    monkeypatch.setenv("REVIEW_REPORT_RECIPIENTS", "lead@example.com, product team")
    with pytest.raises(ImproperlyConfigured, match="REVIEW_REPORT_RECIPIENTS must be email addresses.*'product team'"):
        env_email_list("REVIEW_REPORT_RECIPIENTS")
    monkeypatch.delenv("REVIEW_REPORT_RECIPIENTS")
    assert env_email_list("REVIEW_REPORT_RECIPIENTS") == []
