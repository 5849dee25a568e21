from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from tickets.models import ClusterKind, FeedbackKind, PlanTier, Priority, Segment


class Target(models.TextChoices):
    ACKNOWLEDGMENT = "ack", "Acknowledgment"
    UPDATE = "update", "Update cadence"
    RESOLUTION = "resolution", "Resolution"


class Stage(models.IntegerChoices):
    WARNING = 0, "Warning"
    BREACH = 1, "Breach"
    ESCALATION_1 = 2, "Escalation level 1 (owner)"
    ESCALATION_2 = 3, "Escalation level 2 (product leads)"
    ESCALATION_3 = 4, "Escalation level 3 (head of product)"
    DONE = 5, "Nothing left to fire"


def _validate_list(values, allowed, field: str) -> None:
    if not isinstance(values, list) or any(v not in allowed for v in values):
        raise ValidationError({field: f"Choose from: {', '.join(allowed)} (a list; empty means any)."})


WEBHOOK_SECRET_REQUIRED = (
    "A signed webhook needs a secret: set one here (a long random string, shared with the receiver), "
    "or SLA_WEBHOOK_SECRET for every policy."
)


class SlaPolicy(models.Model):
    """One service level product commits to, for the clusters its conditions match.

    Policies are tried in `position` order and the first active one whose every
    condition holds applies (an empty condition matches anything). Targets are in
    minutes of business time on the policy's calendar (24/7 when none).
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=100, help_text="Lower first; the first match wins.")
    is_active = models.BooleanField(default=True)

    priorities = models.JSONField(default=list, blank=True, help_text="Cluster priorities; empty = any.")
    cluster_kinds = models.JSONField(default=list, blank=True, help_text="Cluster kinds; empty = any.")
    feedback_kinds = models.JSONField(default=list, blank=True, help_text="Any ticket of these kinds; empty = any.")
    ticket_types = models.ManyToManyField(
        "tickets.TicketType", blank=True, related_name="+", help_text="The cluster's or any ticket's type."
    )
    min_segment = models.CharField(
        max_length=20, choices=Segment.choices, blank=True, help_text="Highest segment among its customers, at least."
    )
    min_plan_tier = models.CharField(
        max_length=20, choices=PlanTier.choices, blank=True, help_text="Highest plan tier among its customers."
    )
    min_mrr_at_stake = models.DecimalField(
        "MRR at stake above",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Sum of the affected accounts' MRR must exceed this.",
    )

    no_clocks = models.BooleanField(
        "no clocks",
        default=False,
        help_text="Exempt what the conditions match from every clock (praise, competitive intel); no targets.",
    )
    ack_minutes = models.PositiveIntegerField("acknowledge within (min)", null=True, blank=True)
    update_minutes = models.PositiveIntegerField("update at least every (min)", null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField("resolve within (min)", null=True, blank=True)
    warning_percent = models.PositiveSmallIntegerField(
        default=75, help_text="Warn when this share of a window has passed (1-99; 0 = no warning)."
    )
    calendar = models.ForeignKey(
        "slas.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
        help_text="Empty means 24/7 in UTC.",
    )
    escalation_1_minutes = models.PositiveIntegerField(
        "escalate to owner after (min)", null=True, blank=True, default=60, help_text="After the breach; empty = never."
    )
    escalation_2_minutes = models.PositiveIntegerField(
        "escalate to product leads after (min)", null=True, blank=True, default=240
    )
    escalation_3_minutes = models.PositiveIntegerField(
        "escalate to head of product after (min)", null=True, blank=True, default=1440
    )
    head_of_product = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Level 3; SLA_HEAD_OF_PRODUCT_EMAILS is used when empty.",
    )

    notify_email = models.BooleanField("send email", default=True)
    chat_webhook_url = models.URLField(
        "chat webhook URL", max_length=500, blank=True, help_text="Slack-compatible incoming webhook."
    )
    webhook_url = models.URLField("signed webhook URL", max_length=500, blank=True)
    webhook_secret = models.CharField(
        max_length=200, blank=True, help_text="HMAC-SHA256 key for X-Triage-Signature; SLA_WEBHOOK_SECRET if empty."
    )
    label_on_breach = models.BooleanField(default=True, help_text="Put sla-breached:<target> labels on the cluster.")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        _validate_list(self.priorities, Priority.values, "priorities")
        _validate_list(self.cluster_kinds, ClusterKind.values, "cluster_kinds")
        _validate_list(self.feedback_kinds, FeedbackKind.values, "feedback_kinds")
        if self.warning_percent is not None and self.warning_percent > 99:
            raise ValidationError({"warning_percent": "Use 1-99 (percent of the window), or 0 for no warning."})
        has_target = bool(self.ack_minutes or self.update_minutes or self.resolution_minutes)
        if self.no_clocks and has_target:
            raise ValidationError(
                {"no_clocks": "A policy with no clocks sets no targets: clear acknowledgment, update and resolution."}
            )
        if self.no_clocks and not self.has_conditions:
            raise ValidationError(
                {"no_clocks": "Give conditions: without any, a policy with no clocks would stop every clock."}
            )
        if not has_target and not self.no_clocks:
            raise ValidationError({"ack_minutes": "Set at least one target (acknowledgment, update or resolution)."})
        if self.webhook_url and not (self.webhook_secret or settings.SLA_WEBHOOK_SECRET):
            raise ValidationError({"webhook_secret": WEBHOOK_SECRET_REQUIRED})

    @property
    def has_conditions(self) -> bool:
        return bool(
            self.priorities
            or self.cluster_kinds
            or self.feedback_kinds
            or self.min_segment
            or self.min_plan_tier
            or self.min_mrr_at_stake is not None
            or (self.pk and self.ticket_types.exists())
        )

    def target_seconds(self, target: str) -> float | None:
        minutes = {
            Target.ACKNOWLEDGMENT: self.ack_minutes,
            Target.UPDATE: self.update_minutes,
            Target.RESOLUTION: self.resolution_minutes,
        }[target]
        return minutes * 60.0 if minutes else None

    def stage_thresholds(self, target_seconds: float) -> list[float | None]:
        """Business seconds into the window at which each stage fires (None = the stage is off)."""
        warn = target_seconds * self.warning_percent / 100 if 0 < (self.warning_percent or 0) < 100 else None
        escalations = [self.escalation_1_minutes, self.escalation_2_minutes, self.escalation_3_minutes]
        return [warn, target_seconds] + [target_seconds + m * 60 if m is not None else None for m in escalations]
