from django.db import models
from django.db.models import Q

from slas.models.policies import Stage, Target


class TimerState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused (waiting on support)"
    MET = "met", "Met"
    STOPPED = "stopped", "Stopped"
    NONE = "none", "No target"


class SlaTimer(models.Model):
    """The clock of one SLA target (acknowledgment, update cadence or resolution) on one cluster.

    Business time consumed so far is `consumed_seconds` up to `running_since` (None while the
    clock is paused or stopped). `next_fire_at` is when the next stage (`next_stage`) is due;
    the beat sweep finds due timers through its partial index and claims each stage once.
    The update-cadence timer starts a new `cycle` at every product update.
    """

    cluster = models.ForeignKey("tickets.BugCluster", on_delete=models.CASCADE, related_name="sla_timers")
    target = models.CharField(max_length=12, choices=Target.choices)
    policy = models.ForeignKey(
        "slas.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="timers"
    )
    state = models.CharField(max_length=10, choices=TimerState.choices, default=TimerState.NONE)
    target_seconds = models.FloatField(null=True, blank=True, help_text="The window, in business seconds.")
    opened_at = models.DateTimeField(help_text="When this window started.")
    cycle = models.PositiveIntegerField(default=0)
    consumed_seconds = models.FloatField(default=0)
    running_since = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True, help_text="When it breaches if nothing changes.")
    next_stage = models.PositiveSmallIntegerField(choices=Stage.choices, default=Stage.WARNING)
    next_fire_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    met_within = models.BooleanField(null=True, blank=True)
    elapsed_seconds = models.FloatField(null=True, blank=True, help_text="Business seconds it took, once met.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cluster", "target"]
        constraints = [models.UniqueConstraint(fields=["cluster", "target"], name="sla_timer_one_per_target")]
        indexes = [
            models.Index(fields=["next_fire_at"], name="sla_timer_due", condition=Q(next_fire_at__isnull=False)),
            models.Index(fields=["deadline_at"], name="sla_timer_deadline", condition=Q(deadline_at__isnull=False)),
            models.Index(fields=["target", "opened_at"], name="sla_timer_target_opened"),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()} on cluster {self.cluster_id}"


class AlertKind(models.TextChoices):
    WARNING = "warning", "Warning"
    BREACH = "breach", "Breach"
    ESCALATION = "escalation", "Escalation"
    THRESHOLD = "threshold", "Ticket threshold reached"
    SPIKE = "spike", "Volume spike"
    REGRESSION = "regression", "Fix regressed"


# Alerts about a cluster itself (its ticket volume, its fix), not a service level: no SLA signal,
# and the webhook event is cluster.<kind>.
VOLUME_ALERT_KINDS = (AlertKind.THRESHOLD, AlertKind.SPIKE, AlertKind.REGRESSION)

STAGE_KIND = {
    Stage.WARNING: AlertKind.WARNING,
    Stage.BREACH: AlertKind.BREACH,
    Stage.ESCALATION_1: AlertKind.ESCALATION,
    Stage.ESCALATION_2: AlertKind.ESCALATION,
    Stage.ESCALATION_3: AlertKind.ESCALATION,
}


class Alert(models.Model):
    """One alert, written when the sweep claims a timer's stage (the outbox row) and sent by a task.

    `deliveries` records each channel that succeeded, so a retry resends only what failed;
    `lease_until` keeps a second worker off an alert being sent; the sweep re-enqueues
    alerts left unsent past their lease. The unique constraint makes a stage fire once.
    """

    # Foreign keys without their own index: the composite indexes below cover the lookups.
    cluster = models.ForeignKey(
        "tickets.BugCluster", on_delete=models.CASCADE, related_name="sla_alerts", db_index=False
    )
    timer = models.ForeignKey(
        SlaTimer, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts", db_index=False
    )
    policy = models.ForeignKey(
        "slas.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=12, choices=AlertKind.choices)
    target = models.CharField(max_length=12, choices=Target.choices, blank=True)
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, null=True, blank=True)
    level = models.PositiveSmallIntegerField(default=0, help_text="Escalation level (1-3); 0 otherwise.")
    cycle = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=300)
    recipients = models.JSONField(default=list, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    deliveries = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["timer", "cycle", "stage"], name="sla_alert_once_per_stage", condition=Q(timer__isnull=False)
            )
        ]
        indexes = [
            models.Index(
                fields=["enqueued_at"],
                name="sla_alert_unsent",
                condition=Q(sent_at__isnull=True, failed_at__isnull=True),
            ),
            models.Index(fields=["cluster", "-created_at"], name="sla_alert_cluster"),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def event(self) -> str:
        if self.kind in VOLUME_ALERT_KINDS:
            return f"cluster.{self.kind}"
        return f"sla.{self.kind}"

    @property
    def status(self) -> str:
        if self.sent_at:
            return "sent"
        if self.failed_at:
            return "failed"
        return "sending"
