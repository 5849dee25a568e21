from django.core.exceptions import ValidationError
from django.db import models

from tickets.models.choices import CollectionMethod, FeedbackKind, FieldKind, Requirement


class TicketType(models.Model):
    """A kind of report (login issue, payment failure, ...) and the evidence product needs for it."""

    key = models.SlugField(max_length=50, unique=True, help_text="Stable identifier used by the API.")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    feedback_kind = models.CharField(
        max_length=30,
        choices=FeedbackKind.choices,
        default=FeedbackKind.BUG_REPORT,
        help_text="The feedback kind this type is offered for in the filing form.",
    )
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)
    alert_threshold_count = models.PositiveIntegerField(
        default=20, help_text="Alert product leads when a cluster of this type reaches this many tickets..."
    )
    alert_threshold_days = models.PositiveIntegerField(default=7, help_text="...within this many days.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class EvidenceField(models.Model):
    """One piece of evidence a ticket type asks for, with how to collect it and how to validate it."""

    ticket_type = models.ForeignKey(TicketType, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(
        max_length=50,
        help_text="Stable identifier; fields with the same key in two types share the agent's input.",
    )
    label = models.CharField(max_length=100)
    help_text = models.TextField(blank=True, help_text="How to collect this evidence.")
    kind = models.CharField(max_length=20, choices=FieldKind.choices, default=FieldKind.TEXT)
    choices = models.JSONField(
        default=list, blank=True, help_text='For "choice" fields: the allowed values, as a JSON list.'
    )
    requirement = models.CharField(max_length=20, choices=Requirement.choices, default=Requirement.RECOMMENDED)
    collection_method = models.CharField(
        max_length=20, choices=CollectionMethod.choices, default=CollectionMethod.AGENT
    )
    order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["ticket_type", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["ticket_type", "key"], name="evidence_field_key_per_type")]

    def __str__(self) -> str:
        return f"{self.ticket_type.key}.{self.key}"

    @property
    def is_required(self) -> bool:
        return self.requirement == Requirement.REQUIRED

    @property
    def is_recommended(self) -> bool:
        return self.requirement == Requirement.RECOMMENDED

    def clean(self) -> None:
        if self.kind == FieldKind.CHOICE:
            if not isinstance(self.choices, list) or not self.choices:
                raise ValidationError({"choices": "A choice field needs a non-empty JSON list of values."})
            if not all(isinstance(c, str) and c.strip() for c in self.choices):
                raise ValidationError({"choices": "Every choice must be a non-empty string."})
        elif self.choices:
            raise ValidationError({"choices": "Only choice fields take a list of choices."})
