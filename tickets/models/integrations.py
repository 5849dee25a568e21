"""Help-desk integrations: API keys, outbound webhooks (with their outbox), idempotency, inbound mappings."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

API_KEY_PREFIX_LEN = 8


def api_key_hash(secret: str) -> str:
    """SHA-256 of the full key; the key is 256 bits of randomness, so a slow hash adds nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """One integration's credential. Only its SHA-256 is stored; the key is shown once at creation.

    A key reads as `trg_<prefix>_<secret>`; the prefix finds the row, the hash proves the secret.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    name = models.CharField(max_length=100, help_text='The integration, e.g. "Zendesk production".')
    prefix = models.CharField(max_length=API_KEY_PREFIX_LEN, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """A new (full key, prefix, hash)."""
        prefix = secrets.token_hex(API_KEY_PREFIX_LEN // 2)
        key = f"trg_{prefix}_{secrets.token_urlsafe(32)}"
        return key, prefix, api_key_hash(key)


class WebhookEvent(models.TextChoices):
    CLUSTER_CREATED = "cluster.created", "Cluster created"
    CLUSTER_THRESHOLD_REACHED = "cluster.threshold_reached", "Cluster reached its alert threshold"
    CLUSTER_ACKNOWLEDGED = "cluster.acknowledged", "Cluster acknowledged"
    CLUSTER_FIXED = "cluster.fixed", "Cluster fixed"
    CLUSTER_VERIFIED = "cluster.verified", "Fix verified"
    CLUSTER_STATUS_CHANGED = "cluster.status_changed", "Cluster status changed (any status)"
    SLA_WARNING = "sla.warning", "SLA warning"
    SLA_BREACH = "sla.breach", "SLA breach"
    CLUSTER_REGRESSED = "cluster.regressed", "Fix regressed (reopen the customers' tickets)"
    FEATURE_REQUEST_DECIDED = "feature_request.decided", "Feature request decided"


class WebhookSubscription(models.Model):
    """A help-desk URL that receives signed POSTs for the events it subscribed to."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text='Event names, e.g. ["cluster.fixed", "sla.breach"].')
    secret = models.CharField(
        max_length=100, help_text="Shared secret for the X-Triage-Signature HMAC; the receiver keeps a copy."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return event in (self.events or [])


class WebhookDelivery(models.Model):
    """One event for one subscription: the outbox row, written before anything is sent.

    (subscription, event_id) is unique, so an event is never queued twice for a
    subscription; a sender claims the row with a conditional UPDATE before posting.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=50, choices=WebhookEvent.choices)
    event_id = models.CharField(max_length=200, help_text="Stable id of the event; the receiver can dedupe on it.")
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_once_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP POST of a delivery, with the receiver's answer: the delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"


class IdempotencyRecord(models.Model):
    """The stored response of a write sent with an `Idempotency-Key` header, replayed on a retry."""

    owner = models.CharField(max_length=60, help_text='Who sent it: "key:<id>" or "user:<id>".')
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveIntegerField(null=True, blank=True, help_text="Empty while the first try runs.")
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_per_owner")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class InboundMapping(models.Model):
    """How an inbound help-desk webhook (Zendesk-style JSON) maps to a ticket.

    Paths are dotted (`ticket.requester.email`); inside a list of objects a
    segment picks the element whose `id` equals it and yields its `value`
    (`ticket.custom_fields.360001.value` or just `ticket.custom_fields.360001`).
    """

    slug = models.SlugField(max_length=50, unique=True, help_text="Used in the URL: /api/v1/inbound/<slug>/.")
    source = models.CharField(max_length=50, default="zendesk", help_text="Stored as the ticket's source.")
    is_active = models.BooleanField(default=True)
    external_id_path = models.CharField(max_length=200, default="ticket.id")
    subject_path = models.CharField(max_length=200, default="ticket.subject")
    description_path = models.CharField(max_length=200, default="ticket.description", blank=True)
    reported_at_path = models.CharField(max_length=200, default="ticket.created_at", blank=True)
    ticket_type_path = models.CharField(
        max_length=200, blank=True, help_text="Where the help desk's type value is; empty: always the default type."
    )
    ticket_type_values = models.JSONField(
        default=dict, blank=True, help_text='Help-desk value to ticket type key, e.g. {"billing": "payment_failure"}.'
    )
    default_ticket_type = models.ForeignKey(
        "tickets.TicketType", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    evidence_paths = models.JSONField(
        default=dict,
        blank=True,
        help_text='Evidence key to payload path, e.g. {"error_code": "ticket.custom_fields.42"}.',
    )
    customer_external_id_path = models.CharField(max_length=200, default="ticket.organization.id", blank=True)
    customer_name_path = models.CharField(max_length=200, default="ticket.organization.name", blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug
