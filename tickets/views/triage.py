"""Product leads' and agents' overview of clusters: the filtered list, and evidence patterns with spikes."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Case, F, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tickets.clusters.patterns import DEFAULT_DAYS, WINDOW_CHOICES, evidence_patterns
from tickets.clusters.selectors import cluster_list
from tickets.filters import ClusterFilterSet
from tickets.models import OPEN_CLUSTER_STATUSES, BugCluster, TicketType
from tickets.views.common import in_agent_timezone, is_htmx

CLUSTERS_PER_PAGE = 50
SORTS = {
    "volume": ("-ticket_count", "-last_reported_at", "-id"),
    "last_reported": (F("last_reported_at").desc(nulls_last=True), "-id"),
    "spike": (F("spike_ratio").desc(nulls_last=True), "-ticket_count", "-id"),
}


class ClusterListFilterSet(ClusterFilterSet):
    """The shared cluster FilterSet (words, alert flags, ...) plus the list page's sorting (the API orders
    with `ordering`)."""

    sort = django_filters.ChoiceFilter(
        method="sorted",
        label="Sort by",
        empty_label=None,
        choices=(("volume", "Most tickets"), ("last_reported", "Last reported"), ("spike", "Biggest spike")),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # On the page, each multi-value filter is a group of checkboxes (no Ctrl-click), with a person's label.
        for name, label in (("status", "Status"), ("kind", "Kind"), ("priority", "Priority"), ("type", "Ticket type")):
            field = self.form.fields[name]
            field.label = label
            field.widget = forms.CheckboxSelectMultiple(choices=field.choices)
        self.form.fields["q"].label = "Words in the title or summary"
        self.form.fields["flag"].label = "Alerts"

    def sorted(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*open_first(SORTS.get(value, SORTS["volume"])))


def open_first(ordering) -> tuple:
    """Open clusters before fixed, verified, won't-fix and merged ones, then the chosen order."""
    closed = Case(When(status__in=OPEN_CLUSTER_STATUSES, then=Value(0)), default=Value(1))
    return (closed.asc(), *ordering)


@login_required
@permission_required("tickets.view_bugcluster", raise_exception=True)
@in_agent_timezone
@require_GET
def cluster_list_page(request: HttpRequest) -> HttpResponse:
    """Every cluster, filtered and sorted, with badges for spiking and over-threshold ones."""
    filterset = ClusterListFilterSet(
        request.GET or None, queryset=cluster_list().order_by(*open_first(SORTS["volume"]))
    )
    valid = not filterset.is_bound or filterset.is_valid()
    clusters = (filterset.qs if filterset.is_bound else filterset.queryset) if valid else BugCluster.objects.none()
    page = Paginator(clusters, CLUSTERS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filterset": filterset, "page": page, "query": query.urlencode()}
    return render(request, "tickets/cluster_list.html", context, status=200 if valid else 400)


class PatternsForm(forms.Form):
    """What to mine: a ticket type or one cluster, over a window of days."""

    ticket_type = forms.ModelChoiceField(
        queryset=TicketType.objects.filter(is_active=True),
        to_field_name="key",
        required=False,
        empty_label="Choose a type",
        label="Ticket type",
    )
    cluster = forms.IntegerField(required=False, min_value=1, label="Or cluster #")
    days = forms.TypedChoiceField(
        choices=[(d, f"Last {d} day{'s' if d > 1 else ''}") for d in WINDOW_CHOICES],
        coerce=int,
        initial=DEFAULT_DAYS,
        required=False,
        empty_value=DEFAULT_DAYS,
        label="Window",
    )

    def clean_cluster(self) -> BugCluster | None:
        pk = self.cleaned_data.get("cluster")
        if pk is None:
            return None
        cluster = BugCluster.objects.select_related("ticket_type").filter(pk=pk).first()
        if cluster is None:
            raise forms.ValidationError(f"There is no cluster #{pk}; give the number of an existing cluster.")
        return cluster

    def clean(self):
        data = super().clean()
        if data.get("ticket_type") and data.get("cluster"):
            self.add_error("cluster", "Choose a ticket type or a cluster, not both.")
        return data


@login_required
@permission_required("tickets.view_bugcluster", raise_exception=True)
@in_agent_timezone
@require_GET
def patterns_page(request: HttpRequest) -> HttpResponse:
    """Evidence patterns per ticket type or cluster, and the clusters spiking now.

    Asked by HTMX with a cluster (the cluster page's panel), it answers with the patterns only.
    """
    form = PatternsForm(request.GET or None)
    report = None
    if form.is_bound and form.is_valid() and (form.cleaned_data["ticket_type"] or form.cleaned_data["cluster"]):
        data = form.cleaned_data
        report = evidence_patterns(ticket_type=data["ticket_type"], cluster=data["cluster"], days=data["days"])
    if is_htmx(request) and report is not None and form.cleaned_data["cluster"]:
        return render(request, "tickets/_cluster_patterns.html", {"report": report, "fragment": True})
    spiking = cluster_list().filter(spike_ratio__isnull=False).order_by("-spike_detected_at", "-id")[:20]
    context = {"form": form, "report": report, "spiking": spiking}
    return render(request, "tickets/patterns.html", context, status=400 if form.errors else 200)
