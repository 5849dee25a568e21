"""POST /api/v1/clusters/: a help desk opens a cluster to mirror a known incident, then files tickets into it."""

from __future__ import annotations

from rest_framework import serializers

from tickets.api.serializers import choice
from tickets.models import ClusterKind, Priority, TicketType


class ClusterCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255, help_text="What customers see, in one line.")
    kind = choice(ClusterKind.choices, required=False, default=ClusterKind.BUG)
    ticket_type = serializers.SlugRelatedField(
        slug_field="key",
        queryset=TicketType.objects.all(),
        required=False,
        allow_null=True,
        help_text="A ticket type key from GET /api/v1/ticket-types/.",
        error_messages={"does_not_exist": "No ticket type with key '{value}'; see GET /api/v1/ticket-types/."},
    )
    summary = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    priority = choice(Priority.choices, required=False, allow_blank=True, default="")
    workaround = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    engineering_url = serializers.URLField(required=False, allow_blank=True, max_length=500, default="")

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                allowed = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {str(name): [f"Unknown field '{name}'; a cluster takes: {allowed}."] for name in unknown}
                )
        return super().to_internal_value(data)
