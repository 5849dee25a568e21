"""FilterSets shared by the SLA pages, the API and the tests."""

from datetime import timedelta

import django_filters
from django.db.models import Q
from django.utils import timezone

from slas.models import Alert, AlertKind, SlaTimer, Target, TimerState
from tickets.models import Priority


class SlaTimerFilter(django_filters.FilterSet):
    """Open SLA clocks: by target, priority, owner, and by urgency (breached or due within N hours)."""

    URGENCY = (("breached", "Breached"), ("due_soon", "Due within 24 h"), ("paused", "Paused"))

    cluster = django_filters.NumberFilter(field_name="cluster_id")
    target = django_filters.ChoiceFilter(choices=Target.choices)
    state = django_filters.ChoiceFilter(choices=TimerState.choices)
    priority = django_filters.ChoiceFilter(field_name="cluster__priority", choices=Priority.choices)
    policy = django_filters.NumberFilter(field_name="policy_id")
    urgency = django_filters.ChoiceFilter(choices=URGENCY, method="filter_urgency", label="Urgency")

    class Meta:
        model = SlaTimer
        fields = ["cluster", "target", "state", "priority", "policy", "urgency"]

    def filter_urgency(self, queryset, name, value):
        now = timezone.now()
        if value == "breached":
            return queryset.filter(state=TimerState.RUNNING, deadline_at__lte=now)
        if value == "due_soon":
            return queryset.filter(
                state=TimerState.RUNNING, deadline_at__gt=now, deadline_at__lte=now + timedelta(hours=24)
            )
        return queryset.filter(state=TimerState.PAUSED)


class AlertFilter(django_filters.FilterSet):
    cluster = django_filters.NumberFilter(field_name="cluster_id")
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)
    target = django_filters.ChoiceFilter(choices=Target.choices)
    status = django_filters.ChoiceFilter(
        choices=(("sent", "Sent"), ("sending", "Sending"), ("failed", "Failed")), method="filter_status"
    )

    class Meta:
        model = Alert
        fields = ["cluster", "kind", "target", "status"]

    def filter_status(self, queryset, name, value):
        if value == "sent":
            return queryset.filter(sent_at__isnull=False)
        if value == "failed":
            return queryset.filter(failed_at__isnull=False)
        return queryset.filter(Q(sent_at__isnull=True) & Q(failed_at__isnull=True))
