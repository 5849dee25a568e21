"""The whole first start, as quickstart runs it: `seed_demo` (the history, the clustering engine, the customer-
success demo and the weekly review's story), then one run of every beat task. A new organisation gets the
handful of emails of that day, in order; what happened on past days was sent on those days."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from celery import current_app
from celery.app.task import Task
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command

from metrics.models import DailyTicketVolume
from metrics.services.rollup import day_start
from slas.models import Alert, AlertKind, SlaTimer
from tickets.models import OutboxMessage
from triage.accounts.models import AccountHealth, Handoff
from triage.celery import app
from triage.demo.review import PAYMENT_BUG
from triage.demo.seed import demo_reset
from triage.review.models import MeetingItem, ReportDelivery, WeekPatterns
from triage.tasks import accounts_assess_task

END = datetime(2026, 11, 4, 15, 30, tzinfo=UTC)  # a Wednesday afternoon: the demo is loaded
START = END + timedelta(minutes=2)  # the worker and beat start
HANDFUL = 8


@pytest.fixture(scope="module")
def first_start(django_db_setup, django_db_blocker):
    """`seed_demo` as quickstart runs it, with no worker yet: the tasks it enqueues wait in the queue. Then the
    worker starts (it runs them) and beat runs each of its entries once. Every email counts, from the first."""
    queued = []

    def enqueue(task, args=None, kwargs=None, **options):
        queued.append((task.name, tuple(args or ()), dict(kwargs or {})))

    with django_db_blocker.unblock():
        mail.outbox = []
        with pytest.MonkeyPatch.context() as patch, time_machine.travel(END, tick=False):
            patch.setattr(Task, "apply_async", enqueue)
            call_command(
                "seed_demo", until=END.isoformat(), no_progress=True, allow_production_database=True, stdout=StringIO()
            )
        seeded = len(mail.outbox)
        with time_machine.travel(START, tick=False):
            for name, args, kwargs in queued:
                current_app.tasks[name].apply(args, kwargs)
            for _, entry in sorted(app.conf.beat_schedule.items()):
                current_app.tasks[entry["task"]].apply()
        yield {"emails": list(mail.outbox), "seeded": seeded, "queued": len(queued)}
        demo_reset()
        # What the demo wrote outside the tables `demo_reset` empties: later tests start from nothing.
        for model in (
            Handoff,
            AccountHealth,
            DailyTicketVolume,
            MeetingItem,
            ReportDelivery,
            WeekPatterns,
            OutboxMessage,
        ):
            model.objects.all().delete()
        get_user_model().objects.filter(email__endswith="@planwise.example").delete()


def subjects(emails) -> list[str]:
    return [email.subject for email in emails]


@pytest.mark.django_db
def test_the_first_start_sends_a_handful_of_emails(first_start):
    emails = first_start["emails"]
    assert first_start["seeded"] == 0 and first_start["queued"]  # loading sends nothing itself
    assert 1 <= len(emails) <= HANDFUL, "\n".join(subjects(emails))
    assert len(set(subjects(emails))) == len(emails), subjects(emails)  # nothing sent twice


@pytest.mark.django_db
def test_escalation_levels_of_one_breach_never_fire_at_the_same_instant(first_start):
    by_timer = defaultdict(list)
    for alert in Alert.objects.exclude(timer=None).order_by("created_at", "id"):
        by_timer[alert.timer_id].append(alert)
    for alerts in by_timer.values():
        assert [a.stage for a in alerts] == sorted(a.stage for a in alerts)  # warning, breach, then levels
        moments = [(a.cycle, a.created_at) for a in alerts]
        assert len(set(moments)) == len(moments), [a.message for a in alerts]
    assert not Alert.objects.filter(kind=AlertKind.ESCALATION, created_at__lte=START).exclude(
        timer__breached_at__lt=START - timedelta(minutes=1)
    )


@pytest.mark.django_db
def test_past_days_were_alerted_and_handed_off_on_their_days_not_at_the_first_start(first_start):
    today = day_start(END.date())
    # The history keeps its crossings, spikes and handoffs, each delivered on its own day.
    past_alerts = Alert.objects.filter(created_at__lt=today, kind__in=[AlertKind.THRESHOLD, AlertKind.SPIKE])
    assert past_alerts.exists() and not past_alerts.filter(sent_at=None).exists()
    assert all(a.sent_at == a.created_at and a.deliveries.get("email") == "sent" for a in past_alerts)
    past_handoffs = Handoff.objects.filter(created_at__lt=today)
    assert past_handoffs.count() >= 10 and not past_handoffs.filter(sent_at=None).exists()
    assert len({h.created_at.date() for h in past_handoffs}) >= 5  # raised on the days they crossed, not at once
    emailed = " ".join(subjects(first_start["emails"]))
    assert emailed.count("At risk:") + emailed.count("Expansion lead:") <= 3


@pytest.mark.django_db
def test_the_review_demos_new_p1_was_acknowledged_in_time(first_start):
    ack = SlaTimer.objects.get(cluster__title=PAYMENT_BUG["title"], target="ack")
    assert ack.state == "met" and ack.met_within
    assert not Alert.objects.filter(cluster__title=PAYMENT_BUG["title"], kind__in=[AlertKind.BREACH])


@pytest.mark.django_db
def test_the_next_assessment_hands_off_no_account_again(first_start):
    with time_machine.travel(START + timedelta(minutes=15), tick=False):
        mail.outbox = []
        assert accounts_assess_task()["handoffs"] == 0
    assert mail.outbox == []
