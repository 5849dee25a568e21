"""Feedback routing: a queue per feedback kind with its owners, each ticket's handling in its queue, and
product's decisions on feature requests."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from tickets.models.choices import FeedbackKind, Role

QUARTER_RE = re.compile(r"^(?P<year>20\d\d)-Q(?P<quarter>[1-4])$")


class FeedbackQueue(models.Model):
    """Where one feedback kind goes (bug reports to engineering, praise to customer success/marketing, ...)
    and the people who own what lands there. Seeded by migration; owners are set in the admin."""

    feedback_kind = models.CharField(max_length=30, choices=FeedbackKind.choices, unique=True)
    name = models.CharField(max_length=100, help_text='The destination, e.g. "Product / design".')
    description = models.TextField(blank=True, help_text="What the owners do with what arrives here.")
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="feedback_queues",
        help_text="Who acknowledges, responds to and closes what arrives in this queue.",
    )
    fallback_role = models.CharField(
        max_length=30,
        choices=Role.choices,
        blank=True,
        help_text="While the queue has no owners, people in this role handle it (the queue page warns).",
    )
    order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_feedback_kind_display()})"


class FeedbackStatus(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESPONDED = "responded", "Responded"
    CLOSED = "closed", "Closed"


class FeedbackOutcome(models.TextChoices):
    """How an owner closed a piece of feedback; the filing agent sees it in My reports."""

    ACTED_ON = "acted_on", "Acted on"
    PLANNED = "planned", "Planned"
    ALREADY_EXISTS = "already_exists", "Already possible (answered)"
    DOCUMENTED = "documented", "Documentation updated"
    SHARED = "shared", "Shared with the team"
    RETAINED = "retained", "Customer retained"
    NOT_PLANNED = "not_planned", "Not planned"
    NO_ACTION = "no_action", "No action needed"


class FeedbackItem(models.Model):
    """One ticket's handling by the owners of its kind's queue: acknowledged, answered, closed with an outcome.

    Written on the first action (a ticket nobody touched has no row and reads as new), so filing a
    ticket costs nothing here.
    """

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="feedback")
    status = models.CharField(max_length=20, choices=FeedbackStatus.choices, default=FeedbackStatus.NEW)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    response = models.TextField(blank=True, help_text="What the owner tells the agent (and the customer).")
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=20, choices=FeedbackOutcome.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["status", "-updated_at"])]

    def __str__(self) -> str:
        return f"{self.get_status_display()}: ticket {self.ticket_id}"


class FeatureDecision(models.TextChoices):
    UNDER_CONSIDERATION = "under_consideration", "Under consideration"
    PLANNED = "planned", "Planned"
    REJECTED = "rejected", "Rejected"
    SHIPPED = "shipped", "Shipped"


class FeatureRequestDecision(models.Model):
    """A product decision on a feature request (a cluster of kind feature request); the newest one holds.

    Planned decisions name a quarter ("2027-Q1"); rejections give a reason the help desk can pass on.
    """

    cluster = models.ForeignKey("tickets.BugCluster", on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=30, choices=FeatureDecision.choices)
    quarter = models.CharField(max_length=7, blank=True, help_text='For "planned": the quarter, e.g. 2027-Q1.')
    reason = models.TextField(blank=True, help_text='Why; required for "rejected".')
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["cluster", "-decided_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision="planned") | ~Q(quarter=""), name="feature_decision_planned_has_quarter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} (cluster {self.cluster_id})"

    @property
    def text(self) -> str:
        """The decision in a sentence, as the agents and the help desk read it."""
        if self.decision == FeatureDecision.PLANNED:
            words = f"Planned for {self.quarter}"
        else:
            words = self.get_decision_display()
        return f"{words}: {self.reason}" if self.reason else words

    def clean(self) -> None:
        feature_decision_validate(decision=self.decision, quarter=self.quarter, reason=self.reason)


def feature_decision_validate(*, decision: str, quarter: str, reason: str) -> None:
    """Raise ValidationError naming the field when a decision is incomplete (the one place these rules live)."""
    errors: dict[str, str] = {}
    if decision not in FeatureDecision.values:
        errors["decision"] = f"'{decision}' is not a decision; choose one of: {', '.join(FeatureDecision.values)}."
    if decision == FeatureDecision.PLANNED and not QUARTER_RE.match(quarter or ""):
        errors["quarter"] = f"A planned request needs its quarter as YYYY-QN, e.g. 2027-Q1; got '{quarter or ''}'."
    if decision != FeatureDecision.PLANNED and quarter:
        errors["quarter"] = "Only a planned request has a quarter; leave it empty."
    if decision == FeatureDecision.REJECTED and not (reason or "").strip():
        errors["reason"] = "Say why it is rejected; the help desk passes the reason on to the customers."
    if len(reason or "") > 2000:
        errors["reason"] = f"The reason must be at most 2,000 characters (got {len(reason)})."
    if errors:
        raise ValidationError(errors)
