"""FilterSets shared by the pages, the API and the tests."""

import django_filters

from metrics.impact import Verdict
from metrics.models import FixImpact
from tickets.models import ClusterStatus, Priority


class FixImpactFilterSet(django_filters.FilterSet):
    """Filter measured fixes by verdict, the cluster's priority and status, and deploy dates."""

    verdict = django_filters.MultipleChoiceFilter(choices=Verdict.CHOICES)
    priority = django_filters.MultipleChoiceFilter(field_name="cluster__priority", choices=Priority.choices)
    status = django_filters.MultipleChoiceFilter(field_name="cluster__status", choices=ClusterStatus.choices)
    deployed_after = django_filters.DateFilter(field_name="deploy_day", lookup_expr="gte")
    deployed_before = django_filters.DateFilter(field_name="deploy_day", lookup_expr="lte")
    is_final = django_filters.BooleanFilter(label="30 days complete")

    class Meta:
        model = FixImpact
        fields = ["verdict", "priority", "status", "deployed_after", "deployed_before", "is_final"]
