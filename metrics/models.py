"""Metrics data: daily ticket counts (the rollup) and one fix-impact measurement per fixed cluster."""

from django.db import models
from django.db.models import Q

from metrics.impact import Verdict
from tickets.models import BugCluster, FeedbackKind


class DailyClusterVolume(models.Model):
    """How many tickets of one cluster were reported on one day (in the organisation's time zone).

    Kept up to date as tickets are filed and assigned, and rebuilt from the tickets table
    (`rollup_rebuild`) before every measurement, so it never drifts for long.
    """

    cluster = models.ForeignKey(BugCluster, on_delete=models.CASCADE, related_name="daily_volumes")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["cluster", "day"]
        constraints = [models.UniqueConstraint(fields=["cluster", "day"], name="daily_cluster_volume_unique_day")]

    def __str__(self) -> str:
        return f"cluster {self.cluster_id} on {self.day}: {self.count}"


class DailyTicketVolume(models.Model):
    """How many tickets of one feedback kind were reported on one day: the organisation's volume.

    Summed over kinds it is the control series for fix impact (everything minus the cluster);
    per kind it gives the feedback share of tickets.
    """

    day = models.DateField()
    feedback_kind = models.CharField(max_length=30, choices=FeedbackKind.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "feedback_kind"]
        constraints = [
            models.UniqueConstraint(fields=["day", "feedback_kind"], name="daily_ticket_volume_unique_day_kind")
        ]

    def __str__(self) -> str:
        return f"{self.feedback_kind} on {self.day}: {self.count}"


class FixImpact(models.Model):
    """The measured effect of the fix deployed for one cluster: 30 days before against 30 days after.

    Recomputed daily until the 30 days after the deploy day are complete (`is_final`), and on
    demand. Percentages are changes: -80 means 80% fewer tickets than expected had nothing changed.
    """

    cluster = models.OneToOneField(BugCluster, on_delete=models.CASCADE, related_name="fix_impact")
    deployed_at = models.DateTimeField()
    deploy_day = models.DateField(help_text="Excluded from both windows.")
    verdict = models.CharField(max_length=20, choices=Verdict.CHOICES, default=Verdict.PENDING)
    provisional_verdict = models.CharField(max_length=20, choices=Verdict.CHOICES, blank=True)
    reason = models.TextField(blank=True)
    days_observed = models.PositiveSmallIntegerField(default=0, help_text="Complete days after the deploy day (0-30).")
    is_final = models.BooleanField(default=False, help_text="All 30 days after the deploy are measured.")
    baseline_tickets = models.PositiveIntegerField(default=0)
    after_tickets = models.PositiveIntegerField(default=0)
    min_baseline_tickets = models.PositiveIntegerField(default=0)
    before_per_day = models.FloatField(default=0)
    after_per_day = models.FloatField(default=0)
    expected_after = models.FloatField(
        default=0, help_text="Tickets expected in the observed days had nothing changed."
    )
    change_pct = models.FloatField(null=True, blank=True)
    change_low_pct = models.FloatField(null=True, blank=True)
    change_high_pct = models.FloatField(null=True, blank=True)
    first_week_change_pct = models.FloatField(null=True, blank=True)
    first_week_low_pct = models.FloatField(null=True, blank=True)
    first_week_high_pct = models.FloatField(null=True, blank=True)
    late_change_pct = models.FloatField(null=True, blank=True)
    dow_profile = models.JSONField(default=list, blank=True, help_text="Baseline weekday profile, Monday..Sunday.")
    dispersion = models.FloatField(default=1.0)
    control_used = models.BooleanField(default=False)
    series = models.JSONField(default=dict, blank=True, help_text="Daily counts, expected level and band.")
    computed_through = models.DateField(null=True, blank=True, help_text="Last complete day measured.")
    computed_at = models.DateTimeField(null=True, blank=True)
    inputs_digest = models.CharField(
        max_length=64, blank=True, help_text="Fingerprint of the daily counts measured (cluster and control)."
    )
    regression_flagged_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the verdict first turned regressed or worse for this deploy (the cluster was flagged once).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-deployed_at", "-id"]
        indexes = [
            models.Index(fields=["computed_through"], name="fix_impact_due", condition=Q(is_final=False)),
            models.Index(fields=["verdict", "-deployed_at"]),
            models.Index(fields=["deploy_day"]),
        ]
        permissions = [("verify_fix", "Can confirm a measured fix and move its cluster to verified")]

    def __str__(self) -> str:
        return f"Fix impact of cluster {self.cluster_id}: {self.verdict}"

    @property
    def reduction_pct(self) -> float | None:
        return None if self.change_pct is None else -self.change_pct

    @property
    def current_verdict(self) -> str:
        """The verdict, or the provisional read while the 30 days are not complete."""
        if self.verdict == Verdict.PENDING and self.provisional_verdict:
            return self.provisional_verdict
        return self.verdict
