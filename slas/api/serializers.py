from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from slas.models import Alert, BusinessCalendar, Holiday, SlaPolicy, SlaTimer
from slas.models.policies import WEBHOOK_SECRET_REQUIRED
from slas.selectors import timer_remaining
from tickets.models import ClusterKind, FeedbackKind, Priority, TicketType


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name"]


@extend_schema_field(
    {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$", "example": "09:00:00"}
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in the calendar's own time zone, such as "09:00:00". Documented as a pattern, not as
    `format: time`: that format is RFC 3339's time with an offset ("09:00:00Z"), which a local time has not."""


class BusinessCalendarSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.TimeField: LocalTimeField,
    }
    holidays = HolidaySerializer(many=True, required=False)

    class Meta:
        model = BusinessCalendar
        fields = [
            "id", "name", "time_zone", "always_open", "monday", "tuesday", "wednesday", "thursday", "friday",
            "saturday", "sunday", "day_start", "day_end", "holidays", "updated_at",
        ]  # fmt: skip

    def validate(self, attrs):
        instance = BusinessCalendar(**{k: v for k, v in attrs.items() if k != "holidays"})
        if self.instance:
            for field in BusinessCalendar._meta.concrete_fields:
                if field.name not in attrs:
                    setattr(instance, field.attname, getattr(self.instance, field.attname))
        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


class SlaPolicySerializer(serializers.ModelSerializer):
    priorities = serializers.ListField(child=serializers.ChoiceField(choices=Priority.choices), required=False)
    cluster_kinds = serializers.ListField(child=serializers.ChoiceField(choices=ClusterKind.choices), required=False)
    feedback_kinds = serializers.ListField(child=serializers.ChoiceField(choices=FeedbackKind.choices), required=False)
    ticket_types = serializers.SlugRelatedField(
        slug_field="key", many=True, required=False, queryset=TicketType.objects.all()
    )
    warning_percent = serializers.IntegerField(min_value=0, max_value=99, required=False)

    class Meta:
        model = SlaPolicy
        fields = [
            "id", "name", "description", "position", "is_active", "no_clocks", "priorities", "cluster_kinds",
            "feedback_kinds", "ticket_types", "min_segment", "min_plan_tier", "min_mrr_at_stake", "ack_minutes",
            "update_minutes", "resolution_minutes", "warning_percent", "calendar", "escalation_1_minutes",
            "escalation_2_minutes", "escalation_3_minutes", "head_of_product", "notify_email", "chat_webhook_url",
            "webhook_url", "webhook_secret", "label_on_breach", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs = {"webhook_secret": {"write_only": True}}

    def validate(self, attrs):
        merged = {
            name: attrs.get(name, getattr(self.instance, name, None))
            for name in ("ack_minutes", "update_minutes", "resolution_minutes")
        }
        no_clocks = attrs.get("no_clocks", getattr(self.instance, "no_clocks", False))
        if no_clocks and any(merged.values()):
            raise serializers.ValidationError(
                {
                    "no_clocks": "A policy with no clocks sets no targets; clear ack_minutes, update_minutes and "
                    "resolution_minutes."
                }
            )
        if not any(merged.values()) and not no_clocks:
            raise serializers.ValidationError(
                {"ack_minutes": "Set at least one target (ack_minutes, update_minutes or resolution_minutes)."}
            )
        webhook_url = attrs.get("webhook_url", getattr(self.instance, "webhook_url", ""))
        secret = attrs.get("webhook_secret", getattr(self.instance, "webhook_secret", ""))
        if webhook_url and not (secret or settings.SLA_WEBHOOK_SECRET):
            raise serializers.ValidationError({"webhook_secret": WEBHOOK_SECRET_REQUIRED})
        return attrs


class SlaTimerSerializer(serializers.ModelSerializer):
    policy_name = serializers.CharField(source="policy.name", default=None, read_only=True)
    remaining_seconds = serializers.SerializerMethodField(help_text="Business seconds left; negative = breached by.")

    class Meta:
        model = SlaTimer
        fields = [
            "id", "cluster", "target", "state", "policy", "policy_name", "target_seconds", "opened_at", "cycle",
            "consumed_seconds", "deadline_at", "remaining_seconds", "next_stage", "next_fire_at", "breached_at",
            "met_at", "met_within", "elapsed_seconds",
        ]  # fmt: skip

    def get_remaining_seconds(self, timer) -> float | None:
        return timer_remaining(timer, self.context["working_times"], self.context["now"])


class AlertSerializer(serializers.ModelSerializer):
    event = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id", "cluster", "event", "kind", "target", "level", "cycle", "message", "recipients", "payload",
            "deliveries", "status", "attempts", "due_at", "created_at", "sent_at", "failed_at", "last_error",
        ]  # fmt: skip


class ComplianceQuerySerializer(serializers.Serializer):
    weeks = serializers.IntegerField(min_value=1, max_value=104, default=12)


class ResolutionShareSerializer(serializers.Serializer):
    within = serializers.IntegerField()
    missed = serializers.IntegerField()
    pending = serializers.IntegerField()
    share_within = serializers.FloatField(allow_null=True)


class ComplianceWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    acknowledged_within = serializers.IntegerField()
    acknowledged_late = serializers.IntegerField()
    ack_pending = serializers.IntegerField()
    share_acknowledged_within = serializers.FloatField(allow_null=True)
    median_hours_to_acknowledge = serializers.FloatField(allow_null=True)
    p90_hours_to_acknowledge = serializers.FloatField(allow_null=True)
    resolution_by_priority = serializers.DictField(child=ResolutionShareSerializer())


@extend_schema_serializer(many=False)  # one report, though served by the list route
class ComplianceReportSerializer(serializers.Serializer):
    weeks = ComplianceWeekSerializer(many=True)
    generated_at = serializers.DateTimeField()
