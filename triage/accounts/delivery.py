"""Sending a handoff's alert to the CSM through the alert channels SLA alerts use: email, a Slack-compatible
chat webhook and a signed webhook (the one HTTP poster and signer; event `account.at_risk` or
`account.expansion`).

Like SLA alerts: the handoff row is the outbox (written once per window), a worker claims it with a lease
(a conditional UPDATE) before sending, each channel that succeeded is recorded so a retry resends only
what failed, and the beat task re-enqueues handoffs left unsent past their lease.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from slas.delivery import deliver_leased
from tickets.integrations.http import json_body
from tickets.integrations.http import post_json as http_post
from tickets.queue import task_enqueue
from triage.accounts.models import AtRiskRule, Handoff
from triage.accounts.selectors import rule_current

logger = logging.getLogger(__name__)


def _event(handoff: Handoff) -> str:
    return f"account.{handoff.kind}"


def send_email(handoff: Handoff, rule: AtRiskRule) -> None:
    send_mail(f"[Triage] {handoff.message}", handoff.body, settings.DEFAULT_FROM_EMAIL, handoff.recipients)


def _post(url: str, body: bytes, **signing) -> None:
    """POST through the one HTTP poster; raise on failure so the delivery retries just this channel."""
    result = http_post(url, body, timeout=settings.SLA_HTTP_TIMEOUT_SECONDS, **signing)
    if not result.ok:
        raise OSError(f"{url} answered {result.error or result.status_code}")


def send_chat(handoff: Handoff, rule: AtRiskRule) -> None:
    url = handoff.payload.get("url")
    text = f"*{handoff.message}*\n{handoff.handoff_type} · urgency {handoff.urgency}\n<{url}|Open>"
    _post(rule.chat_webhook_url, json_body({"text": text}))


def send_webhook(handoff: Handoff, rule: AtRiskRule) -> None:
    body = json_body({"id": handoff.pk, "event": _event(handoff), **handoff.payload})
    secret = rule.webhook_secret or settings.SLA_WEBHOOK_SECRET
    _post(rule.webhook_url, body, secret=secret, event=_event(handoff), delivery_id=f"handoff-{handoff.pk}")


SENDERS = {"email": send_email, "chat": send_chat, "webhook": send_webhook}


def channels_for(handoff: Handoff, rule: AtRiskRule) -> list[str]:
    names = []
    if handoff.recipients and rule.notify_email:
        names.append("email")
    if rule.chat_webhook_url:
        names.append("chat")
    if rule.webhook_url:
        names.append("webhook")
    return names


def handoff_deliver(*, handoff_id: int) -> str:
    """Send one handoff's alert; returns 'sent', 'skipped', 'retry' or 'failed' (see the module docstring)."""
    rule = rule_current()
    outcome, _ = deliver_leased(
        model=Handoff,
        pk=handoff_id,
        load=lambda pk: Handoff.objects.get(pk=pk),
        senders_for=lambda handoff: {
            name: (lambda h, send=SENDERS[name]: send(h, rule)) for name in channels_for(handoff, rule)
        },
    )
    return outcome


def handoffs_enqueue(*, ids: list[int]) -> None:
    """Hand alerts to Celery; when the broker is down they wait for the beat task's requeue."""
    for handoff_id in ids:
        task_enqueue("triage.handoff_deliver", handoff_id)


def handoffs_requeue_stale(*, now: datetime | None = None, limit: int = 500) -> int:
    """Re-enqueue alerts still unsent a lease after they were enqueued (a lost task, a killed worker)."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.SLA_DELIVERY_LEASE_SECONDS)
    ids = list(
        Handoff.objects.filter(sent_at=None, failed_at=None, enqueued_at__lte=now - lease)
        .filter(Q(lease_until=None) | Q(lease_until__lt=now))
        .order_by("enqueued_at")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        Handoff.objects.filter(pk__in=ids).update(enqueued_at=now)
        handoffs_enqueue(ids=ids)
    return len(ids)
