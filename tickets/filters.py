"""One FilterSet per model, shared by the browser lists, the REST API and the tests."""

from __future__ import annotations

import re

import django_filters
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field

from tickets.models import (
    BugCluster,
    ClusterKind,
    ClusterStatus,
    Customer,
    FeedbackKind,
    PlanTier,
    Priority,
    Segment,
    Ticket,
    TicketStatus,
    TicketType,
)

_EVIDENCE_RE = re.compile(r"^(?P<key>[a-z0-9_]{1,50}):(?P<value>.{1,200})$", re.S)
_EVIDENCE_HELP = (
    "Use evidence=<field key>:<value>, e.g. evidence=error_code:4001 (key: lowercase letters, digits and _)."
)


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TicketTypeKeyFilter(django_filters.ModelMultipleChoiceFilter):
    """Ticket type by key (repeat the parameter for several)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("to_field_name", "key")
        kwargs.setdefault("queryset", TicketType.objects.all())
        super().__init__(**kwargs)


def _choices_help(choices) -> str:
    return "One of: " + ", ".join(value for value, _label in choices) + "."


class EvidenceFilter(django_filters.CharFilter):
    """`key:value`: tickets whose evidence field `key` equals `value` (text as stored; money by amount)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [RegexValidator(_EVIDENCE_RE, _EVIDENCE_HELP)])
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        match = _EVIDENCE_RE.match(value or "")
        if not match:
            return qs
        key, wanted = match["key"], match["value"]
        prefix = f"{self.field_name}__{key}"
        query = Q(**{prefix: wanted}) | Q(**{f"{prefix}__amount": wanted})
        if re.fullmatch(r"-?\d+", wanted):
            query |= Q(**{prefix: int(wanted)})
        return qs.filter(query)


class TicketFilterSet(django_filters.FilterSet):
    type = TicketTypeKeyFilter(
        field_name="ticket_type__key",
        help_text="Ticket type key(s), e.g. type=login_issue.",
    )
    kind = django_filters.MultipleChoiceFilter(
        field_name="feedback_kind", choices=FeedbackKind.choices, help_text=_choices_help(FeedbackKind.choices)
    )
    status = django_filters.MultipleChoiceFilter(
        choices=TicketStatus.choices, help_text=_choices_help(TicketStatus.choices)
    )
    priority = django_filters.MultipleChoiceFilter(
        field_name="cluster__priority", choices=Priority.choices, help_text="Priority of the ticket's cluster."
    )
    cluster = django_filters.NumberFilter(field_name="cluster_id", help_text="Cluster id.")
    unclustered = django_filters.BooleanFilter(
        field_name="cluster", lookup_expr="isnull", help_text="true: only tickets not in a cluster yet."
    )
    customer = django_filters.CharFilter(field_name="customer__external_id", help_text="Customer external id.")
    segment = django_filters.MultipleChoiceFilter(
        field_name="customer__segment", choices=Segment.choices, help_text=_choices_help(Segment.choices)
    )
    source = django_filters.CharFilter(help_text='Help desk, e.g. "zendesk".')
    external_id = django_filters.CharFilter(help_text="Ticket id in the help desk.")
    reported_after = django_filters.IsoDateTimeFilter(
        field_name="reported_at", lookup_expr="gte", help_text="Reported at or after (ISO 8601)."
    )
    reported_before = django_filters.IsoDateTimeFilter(
        field_name="reported_at", lookup_expr="lt", help_text="Reported before (ISO 8601)."
    )
    evidence = EvidenceFilter(field_name="evidence", help_text="key:value, e.g. error_code:4001.")

    class Meta:
        model = Ticket
        fields: list[str] = []


class ClusterFilterSet(django_filters.FilterSet):
    type = TicketTypeKeyFilter(
        field_name="ticket_type__key",
        help_text="Ticket type key(s) of the cluster.",
    )
    kind = django_filters.MultipleChoiceFilter(
        choices=ClusterKind.choices, help_text=_choices_help(ClusterKind.choices)
    )
    status = django_filters.MultipleChoiceFilter(
        choices=ClusterStatus.choices, help_text=_choices_help(ClusterStatus.choices)
    )
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, help_text=_choices_help(Priority.choices))
    cluster = django_filters.NumberFilter(field_name="id", help_text="Cluster id.")
    customer = django_filters.CharFilter(
        field_name="tickets__customer__external_id", distinct=True, help_text="Clusters with a ticket of this customer."
    )
    segment = django_filters.MultipleChoiceFilter(
        field_name="tickets__customer__segment",
        choices=Segment.choices,
        distinct=True,
        help_text="Clusters with a ticket from a customer of this segment.",
    )
    source = django_filters.CharFilter(
        field_name="tickets__source", distinct=True, help_text="Clusters with a ticket from this help desk."
    )
    reported_after = django_filters.IsoDateTimeFilter(
        field_name="last_reported_at", lookup_expr="gte", help_text="Last ticket reported at or after (ISO 8601)."
    )
    reported_before = django_filters.IsoDateTimeFilter(
        field_name="first_reported_at", lookup_expr="lt", help_text="First ticket reported before (ISO 8601)."
    )
    evidence = EvidenceFilter(
        field_name="tickets__evidence",
        distinct=True,
        help_text="Clusters with a ticket whose evidence key:value matches.",
    )
    q = django_filters.CharFilter(
        method="search", label="Search", help_text="Words in the title or summary (every word must appear)."
    )
    flag = django_filters.ChoiceFilter(
        method="flagged",
        label="Alerts",
        empty_label="Any",
        choices=(("spiking", "Spiking now"), ("over_threshold", "Over its ticket threshold")),
        help_text="`spiking`: flagged as spiking now; `over_threshold`: over its ticket type's alert threshold.",
    )

    class Meta:
        model = BugCluster
        fields: list[str] = []

    def search(self, queryset, name: str, value: str):
        for word in value.split()[:8]:
            queryset = queryset.filter(Q(title__icontains=word) | Q(summary__icontains=word))
        return queryset

    def flagged(self, queryset, name: str, value: str):
        if value == "spiking":
            return queryset.filter(spike_ratio__isnull=False)
        return queryset.filter(threshold_crossed_at__isnull=False)


class CustomerFilterSet(django_filters.FilterSet):
    segment = django_filters.MultipleChoiceFilter(choices=Segment.choices, help_text=_choices_help(Segment.choices))
    plan_tier = django_filters.MultipleChoiceFilter(choices=PlanTier.choices, help_text=_choices_help(PlanTier.choices))
    external_id = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = Customer
        fields: list[str] = []


class TicketTypeFilterSet(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(
        field_name="feedback_kind", choices=FeedbackKind.choices, help_text=_choices_help(FeedbackKind.choices)
    )
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = TicketType
        fields: list[str] = []
