"""Where an alert goes: email, a Slack-compatible chat webhook, a signed webhook, a cluster label,
and the help desks' own webhook subscriptions (`sla.warning`, `sla.breach`).

Each sender raises on failure so the delivery task can retry just that channel.

Signed webhook: POST of the JSON body with these headers
    X-Triage-Event:     sla.warning | sla.breach | sla.escalation | cluster.threshold
    X-Triage-Delivery:  the alert id (the same on every retry; use it to drop duplicates)
    X-Triage-Timestamp: Unix seconds when this attempt was signed
    X-Triage-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>
Receivers should recompute the signature over the raw body and refuse timestamps older than 5 minutes.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from slas.models import VOLUME_ALERT_KINDS, Alert, AlertKind, TimerState
from tickets.integrations.http import json_body, post_json
from tickets.integrations.webhooks import webhook_sla_alert
from tickets.models import BugCluster, ClusterEvent

LABEL_PREFIX = "sla-breached:"
PLACEHOLDER = 987654321


@functools.cache
def _cluster_url_pattern() -> str:
    try:
        path = reverse("tickets:cluster_detail", args=[PLACEHOLDER])
    except NoReverseMatch:
        path = reverse("admin:tickets_bugcluster_change", args=[PLACEHOLDER])
    return f"{settings.SITE_URL}{path}"


def cluster_url(cluster_id: int) -> str:
    """The cluster's page (its detail page once the tickets app has one; the admin until then)."""
    return _cluster_url_pattern().replace(str(PLACEHOLDER), str(cluster_id))


def _post_json(url: str, body: bytes, **signing) -> None:
    """POST through the one HTTP poster; raise on failure so the delivery retries just this channel."""
    result = post_json(url, body, timeout=settings.SLA_HTTP_TIMEOUT_SECONDS, **signing)
    if not result.ok:
        raise OSError(f"{url} answered {result.error or result.status_code}")


class MissingWebhookSecret(RuntimeError):
    """A webhook alert is never signed with an empty key."""


def webhook_secret(alert: Alert) -> str:
    secret = (alert.policy.webhook_secret if alert.policy else "") or settings.SLA_WEBHOOK_SECRET
    if not secret:
        raise MissingWebhookSecret(
            f"SLA policy {alert.policy_id} has a webhook but no secret and SLA_WEBHOOK_SECRET is empty; "
            "nothing is sent unsigned. Set the policy's webhook secret."
        )
    return secret


def send_email(alert: Alert) -> None:
    body = f"{alert.message}\n\n{alert.payload.get('detail', '')}\n\nOpen the cluster: {alert.payload.get('url', '')}\n"
    send_mail(f"[Triage] {alert.message}", body, settings.DEFAULT_FROM_EMAIL, alert.recipients, fail_silently=False)


def send_chat(alert: Alert) -> None:
    text = f"*{alert.message}*\n{alert.payload.get('detail', '')}\n<{alert.payload.get('url', '')}|Open the cluster>"
    _post_json(alert.policy.chat_webhook_url, json_body({"text": text}))


def send_webhook(alert: Alert) -> None:
    body = json_body({"id": alert.pk, "event": alert.event, **alert.payload})
    _post_json(
        alert.policy.webhook_url, body, secret=webhook_secret(alert), event=alert.event, delivery_id=str(alert.pk)
    )


def apply_label(alert: Alert) -> None:
    """Label the cluster sla-breached:<target> while that clock is still breached."""
    with transaction.atomic():
        cluster = BugCluster.objects.select_for_update().get(pk=alert.cluster_id)
        timer = alert.timer
        if timer is None or timer.breached_at is None or timer.state not in (TimerState.RUNNING, TimerState.PAUSED):
            return
        label = LABEL_PREFIX + alert.target
        if label not in cluster.labels:
            BugCluster.objects.filter(pk=cluster.pk).update(labels=[*cluster.labels, label])


def log_event(alert: Alert) -> None:
    """The alert in the cluster's story, once (the delivery records this channel as done)."""
    ClusterEvent.objects.create(
        cluster_id=alert.cluster_id,
        kind=ClusterEvent.Kind.ALERT,
        message=alert.message,
        data={"alert_id": alert.pk, "event": alert.event, "target": alert.target, "level": alert.level},
    )


def send_to_help_desks(alert: Alert) -> None:
    """Queue the help desks' `sla.warning` / `sla.breach` webhooks (their own subscriptions)."""
    with transaction.atomic():
        webhook_sla_alert(cluster=alert.cluster, event=alert.event, payload={"alert_id": alert.pk, **alert.payload})


SENDERS = {
    "event": log_event,
    "email": send_email,
    "chat": send_chat,
    "webhook": send_webhook,
    "label": apply_label,
    "helpdesk": send_to_help_desks,
    "signal": send_to_help_desks,  # the channel's earlier name, for alerts queued before it was renamed
}


def channels_for(alert: Alert) -> list[str]:
    """The channels this alert goes to, from its policy (email only without one)."""
    policy = alert.policy
    names = ["event"]
    if alert.recipients and (policy is None or policy.notify_email):
        names.append("email")
    if policy and policy.chat_webhook_url:
        names.append("chat")
    if policy and policy.webhook_url:
        names.append("webhook")
    if policy and policy.label_on_breach and alert.kind in (AlertKind.BREACH, AlertKind.ESCALATION):
        names.append("label")
    if alert.kind not in VOLUME_ALERT_KINDS:
        names.append("helpdesk")
    return names
