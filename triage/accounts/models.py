"""Customer-success data: the at-risk rule, the handoff triggers table, each account's assessment, and handoffs.

These compose tickets' data (customers, tickets, clusters) with the slas alert channels, so they live in
`triage` (the top layer); `triage/models.py` imports them so Django finds them under the `triage` label.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Urgency(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


URGENCY_RANK = {Urgency.CRITICAL: 4, Urgency.HIGH: 3, Urgency.MEDIUM: 2, Urgency.LOW: 1}


class TriggerKey(models.TextChoices):
    REPEATED_ESCALATIONS = "repeated_escalations", "Multiple escalations to product"
    CHURN_LANGUAGE = "churn_language", "Churn or cancellation language"
    COMPETITOR_MENTIONED = "competitor_mentioned", "Competitor mentioned"
    EXECUTIVE_COMPLAINT = "executive_complaint", "Executive complaint"
    NEGATIVE_CSAT = "negative_csat", "Negative CSAT trend"
    CHAMPION_DEPARTURE = "champion_departure", "Champion departure"
    INCIDENT_IMPACT = "incident_impact", "Affected by an open P1 or major incident"
    FEATURE_BLOCKER = "feature_blocker", "Feature blocker identified"
    EXPANSION_INTEREST = "expansion_interest", "Expansion interest"


_COMPETITOR_RE = re.compile(r"^[\w .&+'-]{2,60}$")


class AtRiskRule(models.Model):
    """The organisation's rule for calling an account at risk, and where its alerts go (one row, in the admin).

    An account is at risk when the weights of its risk triggers (see HandoffTrigger) add up to `min_score`
    within the last `window_days`; an alert is written once per account and window.
    """

    is_active = models.BooleanField(default=True, help_text="Off: accounts are still assessed, no alerts are sent.")
    window_days = models.PositiveSmallIntegerField(
        default=30, help_text="Signals are read from this many days of tickets (7-365); one alert per window."
    )
    escalation_threshold = models.PositiveSmallIntegerField(
        default=3, help_text="Tickets escalated to product within the window that count as multiple escalations."
    )
    min_score = models.PositiveSmallIntegerField(
        default=3, help_text="An account is at risk when its triggers' weights add up to at least this."
    )
    csat_threshold = models.DecimalField(
        "CSAT at or below",
        max_digits=3,
        decimal_places=1,
        default=3,
        help_text="Mean CSAT (1-5) in the window at or below this, and lower than before, is a negative trend.",
    )
    competitors = models.JSONField(
        default=list,
        blank=True,
        help_text='Competitor names to look for in tickets, as a JSON list, e.g. ["Asana", "Monday.com"].',
    )
    notify_email = models.BooleanField("email the CSM", default=True)
    chat_webhook_url = models.URLField(
        "chat webhook URL", max_length=500, blank=True, help_text="Slack-compatible incoming webhook."
    )
    webhook_url = models.URLField("signed webhook URL", max_length=500, blank=True)
    webhook_secret = models.CharField(
        max_length=200, blank=True, help_text="HMAC-SHA256 key for X-Triage-Signature; SLA_WEBHOOK_SECRET if empty."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "at-risk rule"

    def __str__(self) -> str:
        return f"At risk at score {self.min_score} within {self.window_days} days"

    def clean(self) -> None:
        errors = at_risk_rule_problems(
            window_days=self.window_days,
            escalation_threshold=self.escalation_threshold,
            min_score=self.min_score,
            csat_threshold=self.csat_threshold,
            competitors=self.competitors,
        )
        if errors:
            raise ValidationError(errors)


def at_risk_rule_problems(*, window_days, escalation_threshold, min_score, csat_threshold, competitors) -> dict:
    """What is wrong with a rule's values, by field, each message saying what is allowed (empty: fine)."""
    errors: dict[str, str] = {}
    if window_days is None or not 7 <= window_days <= 365:
        errors["window_days"] = f"The window must be 7 to 365 days; got {window_days}."
    if escalation_threshold is None or not 2 <= escalation_threshold <= 100:
        errors["escalation_threshold"] = f"Multiple escalations means 2 to 100 tickets; got {escalation_threshold}."
    if min_score is None or not 1 <= min_score <= 50:
        errors["min_score"] = f"The score to cross must be 1 to 50; got {min_score}."
    if csat_threshold is None or not 1 <= float(csat_threshold) <= 5:
        errors["csat_threshold"] = f"CSAT is rated 1-5; the threshold must be within it; got {csat_threshold}."
    problem = competitor_list_problem(competitors)
    if problem:
        errors["competitors"] = problem
    return errors


def competitor_list_problem(competitors) -> str:
    """Why `competitors` is not a usable list of names, or "" when it is."""
    if not isinstance(competitors, list):
        return 'Competitors must be a JSON list of names, e.g. ["Asana", "Monday.com"].'
    for name in competitors:
        if not isinstance(name, str) or not _COMPETITOR_RE.match(name.strip()):
            return f"Each competitor must be a name of 2-60 letters, digits, spaces or .&+'-; got {name!r}."
    lowered = [n.strip().lower() for n in competitors]
    if len(set(lowered)) != len(lowered):
        return "A competitor is listed twice."
    return ""


class HandoffTrigger(models.Model):
    """One row of the handoff triggers table: a signal, the handoff it calls for and how urgent that is.

    Seeded by migration; admins change weights, urgency and recommended actions.
    """

    key = models.CharField(max_length=30, choices=TriggerKey.choices, unique=True)
    handoff_type = models.CharField(max_length=100, help_text='What customer success does, e.g. "Save play".')
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.HIGH)
    weight = models.PositiveSmallIntegerField(default=1, help_text="Counts towards the at-risk score (0-10).")
    is_risk = models.BooleanField(default=True, help_text="Off for opportunities (expansion interest): no risk.")
    is_active = models.BooleanField(default=True)
    recommended_action = models.TextField(help_text="What the alert recommends the CSM does.")
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["order", "key"]

    def __str__(self) -> str:
        return self.get_key_display()

    def clean(self) -> None:
        if self.weight > 10:
            raise ValidationError({"weight": f"Weights are 0-10; got {self.weight}."})


class AccountHealth(models.Model):
    """The latest assessment of one customer account: its signals, each with the tickets (or clusters) that
    show it, its risk score and whether it crossed the rule. Rewritten by every assessment (beat)."""

    customer = models.OneToOneField("tickets.Customer", on_delete=models.CASCADE, related_name="health")
    assessed_at = models.DateTimeField()
    window_days = models.PositiveSmallIntegerField(default=30)
    score = models.PositiveSmallIntegerField(default=0)
    at_risk = models.BooleanField(default=False)
    expansion = models.BooleanField(default=False, help_text="Shows expansion interest (an upsell lead).")
    signals = models.JSONField(default=list, help_text="[{trigger, name, weight, summary, evidence: [...]}]")

    class Meta:
        ordering = ["-score", "-id"]
        verbose_name_plural = "account health"
        indexes = [models.Index(fields=["-score"], name="account_health_at_risk", condition=Q(at_risk=True))]

    def __str__(self) -> str:
        return f"{self.customer_id}: score {self.score}"


class HandoffKind(models.TextChoices):
    AT_RISK = "at_risk", "At-risk alert"
    EXPANSION = "expansion", "Expansion lead"


class HandoffStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    INTERVENED = "intervened", "Intervention recorded"
    CLOSED = "closed", "Closed"


OPEN_HANDOFF_STATUSES = (HandoffStatus.OPEN, HandoffStatus.ACKNOWLEDGED, HandoffStatus.INTERVENED)


class HandoffResult(models.TextChoices):
    RETAINED = "retained", "Retained"
    STILL_AT_RISK = "still_at_risk", "Still at risk"
    DOWNGRADED = "downgraded", "Downgraded"
    CHURNED = "churned", "Churned"
    EXPANDED = "expanded", "Expanded"
    NO_CHANGE = "no_change", "No change"


class Handoff(models.Model):
    """An account handed to customer success: it crossed the at-risk rule (or showed expansion interest)
    in one window. Carries the At-Risk Alert sent to its CSM exactly once (the outbox row, delivered with a
    lease like SLA alerts) and what the CSM did: acknowledgment, intervention, result.

    (customer, kind, window_start) is unique, so a window alerts once however often beat runs;
    `evidence_ids` keeps the tickets behind it, so the next window does not alert again on the same evidence.
    """

    customer = models.ForeignKey("tickets.Customer", on_delete=models.CASCADE, related_name="handoffs")
    kind = models.CharField(max_length=10, choices=HandoffKind.choices, default=HandoffKind.AT_RISK)
    window_start = models.DateField()
    handoff_type = models.CharField(max_length=100)
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    score = models.PositiveSmallIntegerField(default=0)
    triggers = models.JSONField(default=list, help_text="Trigger keys present when it was raised.")
    signals = models.JSONField(default=list, help_text="The signals with their evidence, as assessed.")
    evidence_ids = models.JSONField(default=list, help_text="Ids of the tickets behind it.")
    csm = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs"
    )
    message = models.CharField(max_length=300)
    body = models.TextField(help_text="The alert, following the At-Risk Alert template (Markdown).")
    recipients = models.JSONField(default=list, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    deliveries = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=HandoffStatus.choices, default=HandoffStatus.OPEN)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    intervention = models.TextField(blank=True, help_text="What the CSM did (call, QBR, executive sponsor, ...).")
    intervention_at = models.DateTimeField(null=True, blank=True)
    intervention_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    result = models.CharField(max_length=20, choices=HandoffResult.choices, blank=True)
    result_note = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "window_start"], name="handoff_once_per_window")
        ]
        indexes = [
            models.Index(
                fields=["enqueued_at"], name="handoff_unsent", condition=Q(sent_at__isnull=True, failed_at__isnull=True)
            ),
            models.Index(fields=["csm", "status"]),
            models.Index(fields=["customer", "-created_at"]),
            # The weekly review reads the at-risk handoffs raised in a week.
            models.Index(fields=["created_at"], name="handoff_at_risk_raised", condition=Q(kind="at_risk")),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_HANDOFF_STATUSES

    @property
    def delivery_status(self) -> str:
        if self.sent_at:
            return "sent"
        if self.failed_at:
            return "failed"
        return "sending"
