"""The SLA pages: an overview of open clocks (breached, due soon, paused) and weekly compliance."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from slas.filters import SlaTimerFilter
from slas.forms import ComplianceForm
from slas.selectors import compliance_report, overview_counts, timer_list, timer_remaining, working_times


@login_required
@permission_required("slas.view_slatimer", raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    """Open clusters' SLA clocks, soonest deadline first; filter by urgency, target, priority."""
    filterset = SlaTimerFilter(request.GET or None, queryset=timer_list())
    timers = filterset.qs if filterset.is_bound and filterset.is_valid() else timer_list()
    page = Paginator(timers, 50).get_page(request.GET.get("page"))
    times = working_times()
    now = timezone.now()
    # "Due within 24 h" means one thing on the page: the deadline is less than 24 hours of clock time away.
    # Rows say when that is; the business time left (which stops at weekends) is the smaller figure beside it.
    rows = [
        (t, timer_remaining(t, times, now), (t.deadline_at - now).total_seconds() if t.deadline_at else None)
        for t in page.object_list
    ]
    return render(
        request,
        "slas/overview.html",
        {"filterset": filterset, "page": page, "rows": rows, "counts": overview_counts(now=now)},
    )


@login_required
@permission_required("slas.view_slatimer", raise_exception=True)
def compliance(request: HttpRequest) -> HttpResponse:
    """How product keeps its commitments, week by week (no names, no blame)."""
    form = ComplianceForm(request.GET or None)
    weeks = form.cleaned_data["weeks"] if form.is_bound and form.is_valid() else 12
    report = compliance_report(weeks=weeks)
    priorities = sorted({p for w in report["weeks"] for p in w["resolution_by_priority"]})
    return render(request, "slas/compliance.html", {"form": form, "report": report, "priorities": priorities})
