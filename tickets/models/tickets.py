import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from tickets.models.choices import AssignmentSource, FeedbackKind, TicketStatus


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    return f"attachments/{instance.uploaded_at:%Y/%m}/{uuid.uuid4().hex}/{filename}"


class Ticket(models.Model):
    """One customer contact as filed by support (in the form, over the API or by import).

    `evidence` holds the values of the ticket type's evidence fields, keyed by
    field key, already validated and normalised by `tickets.intake.evidence`.
    """

    source = models.CharField(max_length=50, help_text='The help desk it came from ("zendesk", "web", ...).')
    external_id = models.CharField(max_length=100, help_text="The ticket's id in that help desk.")
    subject = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    feedback_kind = models.CharField(max_length=30, choices=FeedbackKind.choices, default=FeedbackKind.BUG_REPORT)
    ticket_type = models.ForeignKey(
        "tickets.TicketType", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    evidence = models.JSONField(default=dict, blank=True)
    evidence_completeness = models.FloatField(
        default=1.0, help_text="Share of required and recommended evidence that was given (0-1)."
    )
    customer = models.ForeignKey(
        "tickets.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="filed_tickets",
        help_text="The support agent who filed it.",
    )
    status = models.CharField(max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    reported_at = models.DateTimeField(help_text="When the customer reported it, in the help desk's time.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    cluster = models.ForeignKey(
        "tickets.BugCluster", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    cluster_assigned_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty while the ticket waits for the clustering engine."
    )
    assignment_source = models.CharField(max_length=20, choices=AssignmentSource.choices, blank=True, default="")
    assignment_confidence = models.FloatField(null=True, blank=True)
    assignment_reasons = models.JSONField(
        default=list, blank=True, help_text='Why it is in its cluster, in words ("same error code 4001").'
    )
    match_features = models.JSONField(
        default=dict,
        db_default=models.Value({}, output_field=models.JSONField()),
        blank=True,
        help_text="What the clustering engine read from the ticket (weighted terms, fingerprints, evidence).",
    )

    class Meta:
        ordering = ["-reported_at", "-id"]
        permissions = [("file_any_feedback", "Can file every kind of feedback (others: at-risk signals and praise)")]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="ticket_unique_source_external_id")
        ]
        indexes = [
            models.Index(fields=["cluster", "reported_at"]),
            models.Index(fields=["customer", "reported_at"]),
            models.Index(fields=["status"]),
            models.Index(fields=["reported_at"]),
            models.Index(fields=["agent", "-reported_at"]),
            models.Index(
                fields=["created_at"],
                name="ticket_awaiting_cluster",
                condition=Q(cluster_assigned_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id} {self.subject}"

    @property
    def assignment_is_locked(self) -> bool:
        """A person decided where this ticket belongs; the engine must not move it."""
        return self.assignment_source in (
            AssignmentSource.AGENT,
            AssignmentSource.PERSON,
            AssignmentSource.IMPORT,
        )


class Attachment(models.Model):
    """A file evidence for a ticket: a screenshot, console log or HAR file."""

    class Kind(models.TextChoices):
        SCREENSHOT = "screenshot", "Screenshot"
        CONSOLE_LOG = "console_log", "Console log"
        HAR = "har", "HAR file"
        OTHER = "other", "Other"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    evidence_key = models.SlugField(
        max_length=50, blank=True, help_text="The file evidence field this attachment answers, if any."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
