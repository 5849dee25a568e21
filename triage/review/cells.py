"""The context of one cluster's row cell, or of one of its action forms, when answered on its own (HTMX)."""

from __future__ import annotations

from django.middleware.csrf import get_token

from slas.selectors import sla_states
from tickets.clustering.selectors import cluster_possible_duplicates
from tickets.models import BugCluster
from triage.review.selectors.common import latest_events, people_list
from triage.review.weeks import ReviewWeek
from triage.templatetags.review_tags import cell_state


def cell_context(*, cluster: BugCluster, section: str, week: ReviewWeek, user, outcome=None) -> dict:
    """The cluster as it is now, with its SLA state and latest story entry; for `_cell.html`."""
    cluster.review_sla = sla_states([cluster], cached_calendars=True).get(cluster.pk)
    cluster.review_latest = latest_events(cluster_ids=[cluster.pk]).get(cluster.pk)
    can_run = user.has_perm("triage.run_review")
    context = {
        "cluster": cluster,
        "section": section,
        "week": week,
        "can_run": can_run,
        "people": people_list() if can_run else [],
        "outcome": outcome,
    }
    if outcome is not None and not outcome.ok and outcome.action == "merge":
        context["suggestions"] = cluster_possible_duplicates(cluster=cluster)
    return context


def form_context(*, cluster: BugCluster, section: str, week: ReviewWeek, request, action: str) -> dict:
    """What one action form of a cluster's row needs (the merge form: the possible duplicates)."""
    state = cell_state(
        cluster=cluster,
        section=section,
        week=week,
        user=request.user,
        can_run=True,
        people=people_list(),
        csrf_token=get_token(request),
    )
    if action == "merge":
        state["suggestions"] = cluster_possible_duplicates(cluster=cluster)
    return state
