"""Serializers validate shape and present rows; the rules live in services and tickets.intake.evidence."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework import serializers

from tickets.intake.evidence import EARLIEST, unstorable
from tickets.intake.ingest import BULK_MAX
from tickets.models import (
    AssignmentSource,
    BugCluster,
    ClusterCorrection,
    Customer,
    EvidenceField,
    FeedbackKind,
    FieldKind,
    PlanTier,
    Priority,
    Segment,
    Ticket,
    TicketStatus,
    TicketType,
)

FUTURE_TOLERANCE = timedelta(minutes=5)


def choice(choices, **kwargs) -> serializers.ChoiceField:
    """A ChoiceField whose error lists what is allowed."""
    allowed = ", ".join(str(value) for value, _label in choices)
    return serializers.ChoiceField(
        choices=choices,
        error_messages={"invalid_choice": f'"{{input}}" is not allowed; choose one of: {allowed}.'},
        **kwargs,
    )


# --- Ticket types -------------------------------------------------------------

_JSON_SCHEMA_BY_KIND = {
    FieldKind.TEXT: {"type": "string", "maxLength": 1000},
    FieldKind.LONG_TEXT: {"type": "string", "maxLength": 20000},
    FieldKind.NUMBER: {"type": "number"},
    FieldKind.MONEY: {
        "oneOf": [
            {"type": "string", "examples": ["49.99", "EUR 49.99"]},
            {
                "type": "object",
                "properties": {
                    "amount": {"type": "string"},
                    "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$"},
                },
                "required": ["amount"],
            },
        ]
    },
    FieldKind.DATETIME: {"type": "string", "format": "date-time"},
    FieldKind.URL: {"type": "string", "format": "uri"},
    FieldKind.FILE: {"type": "string", "maxLength": 300, "description": "Attachment name or URL."},
}


class EvidenceFieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = EvidenceField
        fields = ("key", "label", "help_text", "kind", "choices", "requirement", "collection_method", "order")


class TicketTypeSerializer(serializers.ModelSerializer):
    fields = EvidenceFieldSerializer(many=True, read_only=True)
    evidence_schema = serializers.SerializerMethodField(
        help_text="JSON Schema of the `evidence` object this type accepts (required fields listed)."
    )

    class Meta:
        model = TicketType
        fields = (
            "key",
            "name",
            "description",
            "feedback_kind",
            "is_active",
            "order",
            "alert_threshold_count",
            "alert_threshold_days",
            "fields",
            "evidence_schema",
        )

    def get_evidence_schema(self, obj: TicketType) -> dict:
        properties = {}
        for f in obj.fields.all():
            schema = {"enum": list(f.choices)} if f.kind == FieldKind.CHOICE else dict(_JSON_SCHEMA_BY_KIND[f.kind])
            schema.update({"title": f.label, "description": f.help_text, "x-requirement": f.requirement})
            properties[f.key] = schema
        return {
            "type": "object",
            "properties": properties,
            "required": [f.key for f in obj.fields.all() if f.is_required],
            "additionalProperties": False,
        }


# --- Customers ------------------------------------------------------------------


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ("external_id", "name", "segment", "plan_tier", "mrr", "renewal_date", "created_at", "updated_at")
        read_only_fields = fields


class CustomerUpsertSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    segment = choice(Segment.choices, required=False)
    plan_tier = choice(PlanTier.choices, required=False)
    mrr = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    renewal_date = serializers.DateField(required=False, allow_null=True)


class CustomerRefSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100, help_text="The account's id in the help desk or CRM.")
    name = serializers.CharField(
        max_length=200, required=False, help_text="Creates the customer when the external id is new."
    )


# --- Tickets -------------------------------------------------------------------


class TicketSerializer(serializers.ModelSerializer):
    ticket_type = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    customer = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, allow_null=True, help_text="The customer's external id."
    )
    cluster = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="Cluster id, if any.")
    assignment_source = serializers.ChoiceField(
        choices=AssignmentSource.choices, allow_blank=True, read_only=True, help_text="Empty while unclustered."
    )

    class Meta:
        model = Ticket
        fields = (
            "id",
            "source",
            "external_id",
            "subject",
            "description",
            "feedback_kind",
            "ticket_type",
            "evidence",
            "evidence_completeness",
            "customer",
            "status",
            "reported_at",
            "created_at",
            "updated_at",
            "cluster",
            "assignment_source",
        )
        read_only_fields = fields


_TICKET_OUTPUT = TicketSerializer()


def ticket_data(ticket: Ticket) -> dict:
    """TicketSerializer(ticket).data without building the serializer's fields for every response.

    to_representation only reads the (cached) field list, so one instance serves every request.
    """
    return _TICKET_OUTPUT.to_representation(ticket)


class TicketWriteSerializer(serializers.Serializer):
    """A ticket as a help desk sends it; (source, external_id) names it, so resending updates it."""

    source = serializers.RegexField(
        r"^[A-Za-z0-9_.-]{1,50}$",
        max_length=50,
        help_text='The help desk, e.g. "zendesk" (letters, digits, _ . -).',
        error_messages={"invalid": "Use letters, digits, _ . or - (at most 50), e.g. zendesk."},
    )
    external_id = serializers.CharField(max_length=100, help_text="The ticket's id in that help desk.")
    subject = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000, default="")
    ticket_type = serializers.SlugField(
        required=False, allow_null=True, help_text="A ticket type key from GET /api/v1/ticket-types/."
    )
    feedback_kind = choice(FeedbackKind.choices, required=False, help_text="Defaults to the ticket type's kind.")
    evidence = serializers.DictField(
        required=False,
        default=dict,
        help_text="Evidence field key to value, as described by the ticket type's evidence_schema.",
    )
    customer = CustomerRefSerializer(required=False, allow_null=True)
    status = choice(TicketStatus.choices, required=False)
    reported_at = serializers.DateTimeField(
        required=False, help_text="When the customer reported it in the help desk (kept as given); default now."
    )
    cluster = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="A known cluster id (the help desk's decision)."
    )

    def validate_reported_at(self, value):
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError("reported_at cannot be in the future.")
        if value < EARLIEST:
            raise serializers.ValidationError(
                f"reported_at must be after {EARLIEST:%Y-%m-%d}; got {value.isoformat()}."
            )
        return value

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                allowed = ", ".join(name for name, f in self.fields.items() if not f.read_only)
                raise serializers.ValidationError(
                    {str(name): [f"Unknown field '{name}'; a ticket takes: {allowed}."] for name in unknown}
                )
        return super().to_internal_value(data)


class TicketUpsertByKeySerializer(TicketWriteSerializer):
    """PUT body: source and external_id come from the URL."""

    source = None
    external_id = None


class BulkTicketsSerializer(serializers.Serializer):
    tickets = TicketWriteSerializer(many=True, help_text=f"1 to {BULK_MAX} tickets.")


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request.")
    result = serializers.ChoiceField(choices=["created", "updated", "error"])
    id = serializers.IntegerField(allow_null=True)
    external_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Dotted field path to messages (only when result is error).",
    )


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkItemResultSerializer(many=True)


# --- Clusters ------------------------------------------------------------------


class ClusterSerializer(serializers.ModelSerializer):
    ticket_type = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    priority = serializers.ChoiceField(
        choices=Priority.choices, allow_blank=True, read_only=True, help_text="Empty until product sets it."
    )
    engineering_url = serializers.CharField(read_only=True, help_text="Jira, Linear or GitHub issue URL, or empty.")
    spiking = serializers.SerializerMethodField(help_text="True while the cluster's volume spikes above its baseline.")
    spike_ratio = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Recent volume over the cluster's own baseline while spiking."
    )
    spike_details = serializers.JSONField(
        read_only=True,
        help_text="While spiking: window (24h or 7d), count, baseline, std, k, ceiling, ratio, min_volume, history.",
    )
    threshold_crossed_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When it reached its ticket type's alert threshold; null again once it falls back below.",
    )

    class Meta:
        model = BugCluster
        fields = (
            "id",
            "kind",
            "title",
            "summary",
            "status",
            "priority",
            "ticket_type",
            "owner",
            "fix_eta",
            "workaround",
            "engineering_url",
            "fix_deployed_at",
            "acknowledged_at",
            "status_changed_at",
            "ticket_count",
            "first_reported_at",
            "last_reported_at",
            "spiking",
            "spike_detected_at",
            "spike_ratio",
            "spike_details",
            "threshold_crossed_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_spiking(self, obj) -> bool:
        return obj.spike_ratio is not None


class ClusterDetailSerializer(ClusterSerializer):
    tickets = serializers.SerializerMethodField(
        help_text="The most recent 100 tickets; page through all with GET /api/v1/tickets/?cluster=<id>."
    )

    class Meta(ClusterSerializer.Meta):
        fields = (*ClusterSerializer.Meta.fields, "tickets")
        read_only_fields = fields

    def get_tickets(self, obj) -> list[dict]:
        recent = getattr(obj, "recent_tickets", None)
        return TicketSerializer(recent if recent is not None else [], many=True).data


class PatternQuerySerializer(serializers.Serializer):
    """The query of GET /api/v1/patterns/: a ticket type or a cluster, and a window."""

    ticket_type = serializers.SlugRelatedField(
        slug_field="key",
        queryset=TicketType.objects.all(),
        required=False,
        help_text="Ticket type key: its recent tickets against its own earlier ones.",
        error_messages={"does_not_exist": "No ticket type with key '{value}'; see GET /api/v1/ticket-types/."},
    )
    cluster = serializers.PrimaryKeyRelatedField(
        queryset=BugCluster.objects.select_related("ticket_type"),
        required=False,
        help_text="Cluster id: its recent tickets against the other tickets of its type.",
        error_messages={"does_not_exist": "No cluster with id {pk_value}."},
    )
    days = serializers.ChoiceField(
        choices=[1, 7, 14, 30],
        default=7,
        help_text="Window in days: 1, 7, 14 or 30.",
        error_messages={"invalid_choice": '"{input}" is not a window; use 1, 7, 14 or 30 (days).'},
    )

    def validate(self, attrs):
        if bool(attrs.get("ticket_type")) == bool(attrs.get("cluster")):
            raise serializers.ValidationError(
                {"ticket_type": ["Give either ticket_type (a type key) or cluster (a cluster id), not both."]}
                if attrs.get("ticket_type")
                else {"ticket_type": ["Give ticket_type (a type key) or cluster (a cluster id)."]}
            )
        return attrs


class PatternValueSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Evidence field key.")
    label = serializers.CharField()
    value = serializers.CharField()


class PatternSerializer(serializers.Serializer):
    values = PatternValueSerializer(many=True, help_text="One value, or a pair of values of two fields.")
    text = serializers.CharField(help_text='The values joined with " + ".')
    count = serializers.IntegerField(help_text="Recent tickets that share it.")
    share = serializers.FloatField(help_text="Share of recent tickets (0-1).")
    baseline_count = serializers.IntegerField()
    baseline_share = serializers.FloatField(help_text="Share in the baseline (smoothed, 0-1).")
    lift = serializers.FloatField(help_text="share / baseline_share.")


class PatternScopeSerializer(serializers.Serializer):
    ticket_type = serializers.CharField(allow_null=True)
    cluster = serializers.IntegerField(allow_null=True)


class PatternReportSerializer(serializers.Serializer):
    scope = PatternScopeSerializer()
    days = serializers.IntegerField()
    baseline_days = serializers.IntegerField(help_text="How far back the baseline reaches.")
    since = serializers.DateTimeField(help_text="Start of the window.")
    recent_tickets = serializers.IntegerField()
    baseline_tickets = serializers.IntegerField()
    keys = serializers.ListField(child=serializers.CharField(), help_text="Evidence keys compared.")
    skipped_keys = serializers.DictField(child=serializers.CharField(), help_text="Key -> why it was not compared.")
    patterns = PatternSerializer(many=True, help_text="Strongest first.")


class PossibleDuplicateSerializer(serializers.Serializer):
    """Another cluster the engine finds alike, with its match score (0..1) and the reasons in words."""

    cluster = ClusterSerializer()
    score = serializers.FloatField()
    reasons = serializers.ListField(child=serializers.CharField())


class ClusterActionSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ClusterPrioritySerializer(serializers.Serializer):
    priority = choice(Priority.choices)


class ClusterAssignSerializer(serializers.Serializer):
    owner = serializers.CharField(
        allow_null=True, max_length=150, help_text="Username of a product lead or admin; null removes the owner."
    )


class ClusterFixedSerializer(serializers.Serializer):
    deployed_at = serializers.DateTimeField(help_text="When the fix reached production (not in the future).")
    message = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


# --- Corrections by people ----------------------------------------------------------

_REASON = {"required": False, "allow_blank": True, "max_length": 2000, "default": ""}


class ClusterMergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, help_text="Id of the cluster that keeps the tickets.")
    reason = serializers.CharField(**_REASON, help_text="Why (shown in the history).")


class ClusterSplitSerializer(serializers.Serializer):
    ticket_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=10_000,
        help_text="Ids of the cluster's tickets that move to the new cluster (not all of them).",
        error_messages={"empty": "Give at least one ticket id to split off."},
    )
    title = serializers.CharField(
        required=False, allow_blank=True, max_length=255, default="", help_text="Empty: the first ticket's subject."
    )
    reason = serializers.CharField(**_REASON, help_text="Why (shown in the history).")


class TicketMoveSerializer(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, help_text="Id of the cluster the ticket belongs in.")
    reason = serializers.CharField(**_REASON, help_text="Why (shown in the history).")


class CorrectionSerializer(serializers.ModelSerializer):
    """A person's merge, split or move, and whether it was undone."""

    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    undone_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    summary = serializers.SerializerMethodField(help_text='In words: "Merged #12 into #7 by Lee: 14 tickets moved".')
    ticket_ids = serializers.SerializerMethodField(help_text="The tickets it moved.")
    undo_blocked_by = serializers.SerializerMethodField(
        help_text="Id of a later correction of the same clusters to undo first; null when it can be undone now."
    )

    class Meta:
        model = ClusterCorrection
        fields = (
            "id",
            "action",
            "source_cluster",
            "target_cluster",
            "actor",
            "reason",
            "summary",
            "ticket_ids",
            "created_at",
            "undone_at",
            "undone_by",
            "undo_blocked_by",
        )
        read_only_fields = fields

    def get_summary(self, obj) -> str:
        return obj.data.get("summary", "")

    def get_ticket_ids(self, obj) -> list[int]:
        return [t["id"] for t in obj.data.get("tickets", [])]

    def get_undo_blocked_by(self, obj) -> int | None:
        blocker = (self.context.get("blockers") or {}).get(obj.pk)
        return blocker.pk if blocker else None


class ClusterCorrectedSerializer(ClusterSerializer):
    correction = CorrectionSerializer(read_only=True, help_text="The correction, to undo it later.")

    class Meta(ClusterSerializer.Meta):
        fields = (*ClusterSerializer.Meta.fields, "correction")
        read_only_fields = fields


class TicketMovedSerializer(TicketSerializer):
    correction = CorrectionSerializer(read_only=True, help_text="The correction, to undo it later.")

    class Meta(TicketSerializer.Meta):
        fields = (*TicketSerializer.Meta.fields, "correction")
        read_only_fields = fields


# --- Bulk fast path --------------------------------------------------------------

_SOURCE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
_TICKET_KEYS = frozenset(TicketWriteSerializer._declared_fields)
_FEEDBACK_KINDS = frozenset(FeedbackKind.values)
_TICKET_STATUSES = frozenset(TicketStatus.values)


def _plain_text(value, max_length: int, allow_blank: bool = False) -> str | None:
    if type(value) is not str or unstorable(value):
        return None
    value = value.strip()
    if (not value and not allow_blank) or len(value) > max_length:
        return None
    return value


def ticket_item_fast(raw, latest_reported_at: datetime | None = None) -> dict | None:
    """TicketWriteSerializer's validated data for a plainly well-formed item, or None.

    A bulk request runs 1,000 items; DRF's field machinery costs ~0.1 ms per item,
    this ~0.01 ms. Anything it is not sure about (a wrong type, a missing field, an
    unusual date format) returns None and goes through the serializer, which then
    produces the errors, so both paths accept and refuse exactly the same items.
    `latest_reported_at` (now + tolerance) may be computed once per batch.
    """
    if type(raw) is not dict or not raw.keys() <= _TICKET_KEYS:
        return None
    source = raw.get("source")
    external_id = _plain_text(raw.get("external_id"), 100)
    subject = _plain_text(raw.get("subject"), 255)
    if type(source) is not str or not _SOURCE_RE.match(source) or external_id is None or subject is None:
        return None
    data = {"source": source, "external_id": external_id, "subject": subject, "description": "", "evidence": {}}
    if "description" in raw:
        data["description"] = _plain_text(raw["description"], 100_000, allow_blank=True)
        if data["description"] is None:
            return None
    ticket_type = raw.get("ticket_type")
    if ticket_type is not None:
        if type(ticket_type) is not str or not _SLUG_RE.match(ticket_type):
            return None
        data["ticket_type"] = ticket_type
    elif "ticket_type" in raw:
        data["ticket_type"] = None
    for name, allowed in (("feedback_kind", _FEEDBACK_KINDS), ("status", _TICKET_STATUSES)):
        if name in raw:
            if type(raw[name]) is not str or raw[name] not in allowed:
                return None
            data[name] = raw[name]
    if "evidence" in raw:
        if type(raw["evidence"]) is not dict:
            return None
        data["evidence"] = raw["evidence"]
    if "customer" in raw:
        customer = raw["customer"]
        if customer is None:
            data["customer"] = None
        else:
            if type(customer) is not dict or not customer.keys() <= {"external_id", "name"}:
                return None
            ref = {"external_id": _plain_text(customer.get("external_id"), 100)}
            if ref["external_id"] is None:
                return None
            if "name" in customer:
                ref["name"] = _plain_text(customer["name"], 200)
                if ref["name"] is None:
                    return None
            data["customer"] = ref
    if "reported_at" in raw:
        try:
            reported_at = datetime.fromisoformat(raw["reported_at"])
        except (TypeError, ValueError):
            return None
        latest = latest_reported_at or timezone.now() + FUTURE_TOLERANCE
        if reported_at.tzinfo is None or reported_at > latest or reported_at < EARLIEST:
            return None
        data["reported_at"] = reported_at
    if "cluster" in raw:
        cluster = raw["cluster"]
        if cluster is not None and (type(cluster) is not int or cluster < 1):
            return None
        data["cluster"] = cluster
    return data
