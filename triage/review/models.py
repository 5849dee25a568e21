"""What the weekly review keeps of its own: the meeting's record, the report's sendings, pattern snapshots.

Everything else on the review page is read from the apps below (tickets, slas, metrics); these rows
belong to no lower app because they are about the meeting, not about a ticket, a clock or a fix.
A week is stored as its Monday (the ISO week, in the organisation's time zone).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class MeetingItem(models.Model):
    """One decision or action item recorded in the weekly review of one week.

    An action item has an owner and a due date and is done (or not) by next week's meeting, whose
    page opens with it; an action item not done can be carried over to the next week once, as a new
    item (`carried_from`). A decision is a statement of what was decided.
    """

    class Kind(models.TextChoices):
        DECISION = "decision", "Decision"
        ACTION = "action", "Action item"

    week = models.DateField(help_text="Monday of the week the item was recorded on.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_items"
    )
    due_date = models.DateField(null=True, blank=True)
    cluster = models.ForeignKey(
        "tickets.BugCluster", null=True, blank=True, on_delete=models.SET_NULL, related_name="review_items"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    carried_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried_to"
    )

    class Meta:
        ordering = ["week", "kind", "created_at", "id"]
        indexes = [models.Index(fields=["week", "kind"], name="meeting_item_week")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="action") | Q(done_at__isnull=True), name="meeting_item_only_actions_get_done"
            )
        ]
        permissions = [
            ("view_review", "Can see the weekly review and its reports"),
            ("run_review", "Can triage clusters and record decisions in the weekly review"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of the week of {self.week}: {self.text[:60]}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class ReportDelivery(models.Model):
    """One sending of a week's Voice-of-Customer report by email.

    The Monday send (`trigger=weekly`) exists at most once per week (a unique constraint), and is
    claimed with a lease before sending, so beat running twice sends it once; a person may send the
    report again at any time (`trigger=manual`).
    """

    class Trigger(models.TextChoices):
        WEEKLY = "weekly", "Monday email"
        MANUAL = "manual", "Sent from the review"

    week = models.DateField(help_text="Monday of the week the report is about.")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    recipients = models.JSONField(default=list)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["week"], condition=Q(trigger="weekly"), name="review_report_weekly_once")
        ]
        indexes = [models.Index(fields=["week", "-created_at"], name="report_delivery_week")]
        verbose_name_plural = "report deliveries"

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} for the week of {self.week}"


class WeekPatterns(models.Model):
    """The strongest evidence patterns across every ticket type for one week, and its tickets per type,
    counted by a beat task.

    Both read thousands of the week's tickets, so the review page reads this snapshot instead; the
    current week's is refreshed hourly and a past week's once more after it ended.
    """

    week = models.DateField(unique=True, help_text="Monday of the week.")
    window_end = models.DateTimeField(help_text="End of the 7 days mined (the week's end, or when it was mined).")
    computed_at = models.DateTimeField()
    patterns = models.JSONField(default=list)
    recent_tickets = models.PositiveIntegerField(default=0)
    type_counts = models.JSONField(
        default=list, help_text='Tickets of the week so far per ticket type, most first: [{"name", "tickets"}].'
    )

    class Meta:
        ordering = ["-week"]
        verbose_name_plural = "week patterns"

    def __str__(self) -> str:
        return f"Patterns of the week of {self.week}"
