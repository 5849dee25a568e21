"""FilterSets shared by the pages, the API and the tests."""

import django_filters
from django import forms
from django_filters.widgets import BooleanWidget

from metrics.impact import Verdict
from metrics.models import FixImpact
from tickets.models import ClusterStatus, Priority


class FinalWidget(BooleanWidget):
    """`true`/`false` as the API takes them; on the page "Any" by default, not Django's "Unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("", "Any"), ("true", "Yes: all 30 days measured"), ("false", "No: still measuring"))


class FixImpactFilterSet(django_filters.FilterSet):
    """Filter measured fixes by verdict, the cluster's priority and status, and deploy dates."""

    verdict = django_filters.MultipleChoiceFilter(
        label="Verdict", choices=Verdict.CHOICES, widget=forms.CheckboxSelectMultiple
    )
    priority = django_filters.MultipleChoiceFilter(
        label="Priority", field_name="cluster__priority", choices=Priority.choices, widget=forms.CheckboxSelectMultiple
    )
    status = django_filters.MultipleChoiceFilter(
        label="Cluster status",
        field_name="cluster__status",
        choices=ClusterStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    deployed_after = django_filters.DateFilter(
        label="Deployed on or after",
        field_name="deploy_day",
        lookup_expr="gte",
        widget=forms.DateInput({"type": "date"}),
    )
    deployed_before = django_filters.DateFilter(
        label="Deployed on or before",
        field_name="deploy_day",
        lookup_expr="lte",
        widget=forms.DateInput({"type": "date"}),
    )
    is_final = django_filters.BooleanFilter(label="30 days complete", widget=FinalWidget)

    class Meta:
        model = FixImpact
        fields = ["verdict", "priority", "status", "deployed_after", "deployed_before", "is_final"]
