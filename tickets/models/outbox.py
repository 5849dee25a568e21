"""The outbox: announcements of committed changes, for the other apps' receivers."""

from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """One announcement of a change to tickets or clusters that other apps react to.

    Written in the same transaction as the change, so it exists exactly when the change does; sent
    as its signal (`tickets.signals`) after the commit, by the process that made the change and, for
    anything left unsent (a process that died after the commit, a receiver that failed), by the
    `tickets.outbox_sweep` beat task. Delivery is at least once: receivers are idempotent.
    """

    topic = models.CharField(max_length=40)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claim_token = models.UUIDField(null=True, blank=True, help_text="The dispatcher that holds the message.")
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="Another dispatcher may take it after this.")
    attempts = models.PositiveIntegerField(default=0)
    receivers_done = models.JSONField(
        default=list, blank=True, help_text="Receivers that handled it already; a retry skips them."
    )
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["claimed_until", "id"], name="outbox_unsent", condition=Q(sent_at=None))]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
