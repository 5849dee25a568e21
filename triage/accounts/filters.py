"""FilterSets of customer success, shared by the pages, the REST API and the tests."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from tickets.models import Customer, PlanTier, Segment
from triage.accounts.models import TriggerKey


class AccountFilterSet(django_filters.FilterSet):
    """Customer accounts."""

    q = django_filters.CharFilter(method="search", label="Name or account id")
    segment = django_filters.ChoiceFilter(choices=Segment.choices, empty_label="Any", label="Segment")
    plan_tier = django_filters.ChoiceFilter(choices=PlanTier.choices, empty_label="Any", label="Tier")
    csm = django_filters.CharFilter(field_name="csm_owner__username", label="CSM (username)")
    at_risk = django_filters.BooleanFilter(field_name="health__at_risk", label="At risk")

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(external_id__icontains=value)) if value else queryset


class AtRiskFilterSet(django_filters.FilterSet):
    """At-risk accounts (AccountHealth rows)."""

    segment = django_filters.ChoiceFilter(
        field_name="customer__segment",
        choices=Segment.choices,
        empty_label="Any",
        label="Segment",
        help_text="The account's segment.",
    )
    csm = django_filters.CharFilter(
        field_name="customer__csm_owner__username", label="CSM (username)", help_text="CSM username."
    )
    min_score = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", label="Score at least", help_text="Risk score at least."
    )
    trigger = django_filters.ChoiceFilter(
        method="with_trigger",
        choices=TriggerKey.choices,
        empty_label="Any",
        label="Showing",
        help_text="Accounts showing this trigger.",
    )

    class Meta:
        fields: list[str] = []

    def with_trigger(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The JSON text of the signals (the same on PostgreSQL and SQLite); `value` is one of the trigger keys.
        return queryset.filter(signals__icontains=f'"trigger": "{value}"')
