"""FilterSets of feedback routing, shared by the queue and request pages, the REST API and the tests."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from tickets.feedback.selectors import STATE_FILTERS
from tickets.models import (
    OPEN_CLUSTER_STATUSES,
    ClusterStatus,
    FeatureDecision,
    FeedbackOutcome,
    FeedbackStatus,
    Segment,
    Ticket,
)

OPEN = "open"


def _help(choices) -> str:
    return "One of: " + ", ".join(value for value, _label in choices) + "."


def _words(queryset: QuerySet, fields: tuple[str, ...], value: str) -> QuerySet:
    for word in value.split()[:8]:
        query = Q()
        for name in fields:
            query |= Q(**{f"{name}__icontains": word})
        queryset = queryset.filter(query)
    return queryset


class FeedbackItemFilterSet(django_filters.FilterSet):
    """Tickets in a feedback queue."""

    state = django_filters.ChoiceFilter(
        method="in_state",
        label="State",
        empty_label="Any",
        choices=[(OPEN, "Open (not closed)"), *FeedbackStatus.choices],
        help_text="open: new, acknowledged or responded; or one state.",
    )
    segment = django_filters.MultipleChoiceFilter(
        field_name="customer__segment", choices=Segment.choices, label="Segment", help_text=_help(Segment.choices)
    )
    outcome = django_filters.ChoiceFilter(
        field_name="feedback__outcome", choices=FeedbackOutcome.choices, empty_label="Any", label="Outcome"
    )
    customer = django_filters.CharFilter(
        field_name="customer__external_id", label="Customer account id", help_text="Customer external id."
    )
    reported_after = django_filters.DateFilter(
        field_name="reported_at", lookup_expr="date__gte", label="Reported from", help_text="YYYY-MM-DD."
    )
    q = django_filters.CharFilter(method="search", label="Words", help_text="Words in the subject or description.")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def in_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == OPEN:
            return queryset.exclude(feedback__status=FeedbackStatus.CLOSED)
        return queryset.filter(STATE_FILTERS[value])

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _words(queryset, ("subject", "description"), value)


NO_DECISION = "none"


class FeatureRequestFilterSet(django_filters.FilterSet):
    """Feature requests (clusters annotated by `feature_request_list`)."""

    status = django_filters.MultipleChoiceFilter(
        choices=[(s, label) for s, label in ClusterStatus.choices if s != ClusterStatus.MERGED],
        help_text="Status of the request's cluster.",
    )
    open = django_filters.BooleanFilter(method="only_open", label="Open only", help_text="true: not decided yet.")
    decision = django_filters.ChoiceFilter(
        field_name="decision",
        choices=[(NO_DECISION, "No decision yet"), *FeatureDecision.choices],
        empty_label="Any",
        method="decided",
        help_text="The latest decision; `none` for requests nobody decided yet.",
    )
    segment = django_filters.ChoiceFilter(
        choices=Segment.choices, method="asked_by_segment", empty_label="Any", help_text="Asked by a customer of it."
    )
    customer = django_filters.CharFilter(method="asked_by_customer", help_text="Asked by this customer (external id).")
    csm = django_filters.CharFilter(
        method="asked_by_csm_accounts", label="CSM", help_text="Asked by an account this CSM (username) owns."
    )
    min_revenue = django_filters.NumberFilter(
        field_name="revenue", lookup_expr="gte", label="Revenue at least", help_text="MRR represented, at least."
    )
    q = django_filters.CharFilter(method="search", label="Words", help_text="Words in the title or summary.")

    class Meta:
        fields: list[str] = []

    def only_open(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(status__in=OPEN_CLUSTER_STATUSES) if value else queryset

    def decided(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == NO_DECISION:
            return queryset.filter(decision=None)
        return queryset.filter(decision=value)

    def _asked(self, queryset: QuerySet, **customer) -> QuerySet:
        return queryset.filter(Exists(Ticket.objects.filter(cluster_id=OuterRef("pk"), **customer)))

    def asked_by_segment(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._asked(queryset, customer__segment=value)

    def asked_by_customer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._asked(queryset, customer__external_id=value)

    def asked_by_csm_accounts(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._asked(queryset, customer__csm_owner__username=value)

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _words(queryset, ("title", "summary"), value)
