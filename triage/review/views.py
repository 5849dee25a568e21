"""The weekly review page, its row actions (HTMX, in place), the meeting record and the report downloads.

Product leads and admins (`triage.run_review`) run the meeting here; agents and customer success
(`triage.view_review`) read it; anyone else gets 403. A GET never writes.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tickets.models import BugCluster
from triage.review import actions
from triage.review.cells import cell_context, form_context
from triage.review.report import report_csv, report_filename, report_markdown, review_report
from triage.review.sections import SECTION_KEYS, review_page
from triage.review.selectors.fixes import fixes_changed
from triage.review.selectors.meeting import report_deliveries
from triage.review.weeks import BadWeek, ReviewWeek, week_current, week_parse

VIEW_PERM = "triage.view_review"
RUN_PERM = "triage.run_review"
REFUSED = 422  # the review page tells HTMX to swap this status in place (a refusal shown in the row)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _require(request: HttpRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied("The weekly review is for product, support and customer success.")


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    context = {"message": message, "current": week_current()}
    return render(request, "triage/review/not_found.html", context, status=404)


def _week(request: HttpRequest, text: str) -> ReviewWeek:
    try:
        return week_parse(text)
    except BadWeek as exc:
        raise WeekNotFound(str(exc)) from None


class WeekNotFound(Http404):
    pass


def in_org_timezone(view):
    """Run `view` in the organisation's time zone: the review's weeks, its figures and the times it shows
    are the organisation's, whatever zone the reader's browser is in."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with timezone.override(timezone.get_default_timezone()):
            return view(request, *args, **kwargs)

    return wrapper


def week_view(view):
    """Parse the URL's week for `view` (in the organisation's time zone); a malformed or unknown week answers
    404 with a link to the current one."""

    @in_org_timezone
    def wrapper(request, week: str, *args, **kwargs):
        try:
            return view(request, _week(request, week), *args, **kwargs)
        except WeekNotFound as exc:
            return _not_found(request, str(exc))

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def render_page(request: HttpRequest, week: ReviewWeek, *, override=None, status: int = 200) -> HttpResponse:
    can_run = request.user.has_perm(RUN_PERM)
    context = {
        "week": week,
        "can_run": can_run,
        "override": override or {},
        "current": week_current(now=week.now),
        "time_zone": timezone.get_default_timezone_name(),
        "default_recipients": actions.default_recipients(),
    }
    if not week.is_future:
        page = review_page(week=week, can_run=can_run)
        context["page"] = page
        context["people"] = page.shared.people() if can_run else []
        context["shown_clusters"] = [copies[0] for copies in page.shared.shown.values()]
    return render(request, "triage/review/page.html", context, status=status)


@login_required
@require_GET
@in_org_timezone
def review_current(request: HttpRequest) -> HttpResponse:
    """This week's review; `?week=2026-W07` (the week picker) goes to that week."""
    _require(request, VIEW_PERM)
    chosen = request.GET.get("week")
    if chosen is not None:
        try:
            return redirect("review:week", week=week_parse(chosen).key)
        except BadWeek as exc:
            return _not_found(request, str(exc))
    return render_page(request, week_current())


@login_required
@require_GET
@week_view
def review_week(request: HttpRequest, week: ReviewWeek) -> HttpResponse:
    _require(request, VIEW_PERM)
    if request.resolver_match and request.resolver_match.kwargs.get("week") != week.key:
        return redirect("review:week", week=week.key)
    return render_page(request, week)


@login_required
@require_POST
@week_view
def cluster_action(request: HttpRequest, week: ReviewWeek, pk: int, action: str) -> HttpResponse:
    """One row action on a cluster (triage, acknowledge, ask, fixed, reopen, merge); the row answers in place."""
    handler = actions.ACTIONS.get(action)
    if handler is None:
        raise Http404("No such action.")
    _require(request, VIEW_PERM, RUN_PERM, handler.permission)
    cluster = get_object_or_404(BugCluster.objects.select_related("owner", "ticket_type"), pk=pk)
    section = request.POST.get("section") if request.POST.get("section") in SECTION_KEYS else "top"
    outcome = handler.run(request=request, week=week, cluster=cluster)
    if is_htmx(request):
        context = cell_context(
            cluster=outcome.cluster or cluster, section=section, week=week, user=request.user, outcome=outcome
        )
        return render(request, "triage/review/_cell.html", context, status=200 if outcome.ok else REFUSED)
    if outcome.ok:
        messages.success(request, outcome.message)
        return redirect(f"{reverse('review:week', args=[week.key])}#row-{section}-{cluster.pk}")
    override = {"section": section, "pk": cluster.pk, "outcome": outcome, "refused": outcome}
    return render_page(request, week, override=override, status=400)


FORMS = {"triage": "triage", "ask": "ask", "fixed": "fixed", "merge": "merge"}


@login_required
@require_GET
@week_view
def cluster_form(request: HttpRequest, week: ReviewWeek, pk: int, action: str) -> HttpResponse:
    """One action form of a cluster's row, loaded when its panel is opened (the page itself stays light).
    For "merge" it lists the clusters the engine ranks as the same bug, each with a merge button."""
    if action not in FORMS:
        raise Http404("No such form.")
    _require(request, VIEW_PERM, RUN_PERM, "tickets.correct_clusters" if action == "merge" else actions.TRIAGE)
    cluster = get_object_or_404(BugCluster.objects.select_related("owner", "ticket_type"), pk=pk)
    section = request.GET.get("section") if request.GET.get("section") in SECTION_KEYS else "top"
    context = form_context(cluster=cluster, section=section, week=week, request=request, action=action)
    return render(request, f"triage/review/forms/{FORMS[action]}.html", context)


@login_required
@require_GET
@week_view
def fixes_more(request: HttpRequest, week: ReviewWeek) -> HttpResponse:
    """The rest of the week's verdict changes, one line each (loaded when asked: the page shows the first)."""
    _require(request, VIEW_PERM)
    return render(request, "triage/review/sections/fixes_more.html", {"rows": fixes_changed(week).compact})


def _download(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _report_week(request: HttpRequest, week: ReviewWeek) -> ReviewWeek:
    _require(request, VIEW_PERM)
    if week.is_future:
        raise WeekNotFound(f"Week {week.key} has not started yet; there is no report for it.")
    return week


@login_required
@require_GET
@week_view
def report_md(request: HttpRequest, week: ReviewWeek) -> HttpResponse:
    week = _report_week(request, week)
    return _download(report_markdown(review_report(week=week)), "text/markdown", report_filename(week, "md"))


@login_required
@require_GET
@week_view
def report_csv_view(request: HttpRequest, week: ReviewWeek) -> HttpResponse:
    week = _report_week(request, week)
    return _download(report_csv(review_report(week=week)), "text/csv", report_filename(week, "csv"))


@login_required
@require_GET
@week_view
def report_print(request: HttpRequest, week: ReviewWeek) -> HttpResponse:
    """The report as a page for the browser to print (or save as PDF)."""
    week = _report_week(request, week)
    return render(request, "triage/review/report_print.html", {"report": review_report(week=week), "week": week})


@login_required
@require_POST
@week_view
def report_send(request: HttpRequest, week: ReviewWeek) -> HttpResponse:
    """Send the week's report by email now, to the addresses given."""
    _require(request, VIEW_PERM, RUN_PERM)
    week = _report_week(request, week)
    outcome = actions.report_send(request=request, week=week)
    if is_htmx(request):
        context = {
            "week": week,
            "can_run": True,
            "send": outcome,
            "deliveries": report_deliveries(week),
            "default_recipients": actions.default_recipients(),
        }
        return render(request, "triage/review/_report.html", context, status=200 if outcome.ok else REFUSED)
    if outcome.ok:
        messages.success(request, outcome.message)
        return redirect(f"{reverse('review:week', args=[week.key])}#report")
    return render_page(request, week, override={"send": outcome, "refused": outcome}, status=400)


@login_required
@require_POST
@week_view
def item_create(request: HttpRequest, week: ReviewWeek) -> HttpResponse:
    """Record a decision or an action item on the week."""
    _require(request, VIEW_PERM, RUN_PERM)
    outcome = actions.item_create(request=request, week=week)
    return _meeting_answer(request, week, outcome)


@login_required
@require_POST
@week_view
def item_change(request: HttpRequest, week: ReviewWeek, pk: int, op: str) -> HttpResponse:
    """Done / not done, carry over to this week, or remove an item."""
    _require(request, VIEW_PERM, RUN_PERM)
    outcome = actions.item_change(request=request, week=week, pk=pk, op=op)
    return _meeting_answer(request, week, outcome)


def _meeting_answer(request: HttpRequest, week: ReviewWeek, outcome) -> HttpResponse:
    if is_htmx(request):
        context = actions.meeting_context(request=request, week=week, outcome=outcome)
        return render(request, "triage/review/_meeting.html", context, status=200 if outcome.ok else REFUSED)
    if outcome.ok:
        messages.success(request, outcome.message)
        return redirect(f"{reverse('review:week', args=[week.key])}#meeting")
    return render_page(request, week, override={"item": outcome, "refused": outcome}, status=400)
