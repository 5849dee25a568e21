"""SLA state on any page: `{% load sla_tags %}`, then

{% sla_prefetch clusters %}              one set of queries for a whole list (no N+1)
{% sla_prefetch tickets attr="cluster" %} the same for a list of tickets
{% sla_badge cluster %}                  compact: policy, time left or breached by
{% sla_panel cluster %}                  every clock of the cluster and its recent alerts
{% feedback_ack_target ticket %}         when an owner should acknowledge a ticket in its feedback queue
"""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html

from slas.business_time import humanize_seconds
from slas.selectors import (
    ClusterSla,
    alerts_for_cluster,
    policies_active,
    sla_states,
    working_times,
)
from slas.selectors import (
    feedback_ack_target as ack_target_of,
)

register = template.Library()
STATE_ATTR = "_sla_state"


@register.simple_tag
def sla_prefetch(objects, attr: str = "") -> str:
    """Compute SLA state for every cluster in `objects` (or `obj.<attr>`) in three queries."""
    clusters = [getattr(o, attr, None) if attr else o for o in objects]
    clusters = [c for c in clusters if c is not None and not hasattr(c, STATE_ATTR)]
    states = sla_states(clusters)
    for cluster in clusters:
        setattr(cluster, STATE_ATTR, states.get(cluster.pk, ClusterSla(policy=None, timers=[])))
    return ""


def _state(cluster) -> ClusterSla | None:
    if cluster is None:
        return None
    if not hasattr(cluster, STATE_ATTR):
        sla_prefetch([cluster])
    return getattr(cluster, STATE_ATTR)


@register.filter
def sla_duration(seconds) -> str:
    return "" if seconds is None else humanize_seconds(seconds)


@register.inclusion_tag("slas/_badge.html")
def sla_badge(cluster) -> dict:
    state = _state(cluster)
    return {"cluster": cluster, "state": state, "headline": state.headline if state else None}


@register.inclusion_tag("slas/_panel.html", takes_context=True)
def sla_panel(context, cluster, alerts: int = 10) -> dict:
    state = _state(cluster)
    return {
        "cluster": cluster,
        "state": state,
        "alerts": alerts_for_cluster(cluster_id=cluster.pk, limit=alerts) if cluster else [],
        "now": timezone.now(),
        "request": context.get("request"),
    }


@register.simple_tag(takes_context=True)
def feedback_ack_target(context, ticket) -> str:
    """"Acknowledge by ...", "overdue by ...", "acknowledged in time" or "no clock", from the SLA policies.

    Policies and calendars are read once per page render, whatever the number of rows."""
    cache = context.render_context
    if "_feedback_sla" not in cache:
        cache["_feedback_sla"] = (policies_active(), working_times())
    policies, times = cache["_feedback_sla"]
    target = ack_target_of(ticket=ticket, policies=policies, times=times)
    name = target.policy.name if target.policy else "no policy"
    if not target.has_clock:
        return format_html('<span class="muted small" title="{}">no clock</span>', name)
    if target.met_at:
        on_time = target.met_at <= target.due_at
        css, words = ("sla-ok", "acknowledged in time") if on_time else ("sla-warning", "acknowledged late")
        return format_html('<span class="badge {}" title="{}">{}</span>', css, name, words)
    left = (target.due_at - timezone.now()).total_seconds()
    if left < 0:
        return format_html(
            '<span class="badge sla-breached" title="{}">overdue by {}</span>', name, humanize_seconds(-left)
        )
    due = timezone.localtime(target.due_at).strftime("%-d %b %H:%M")
    return format_html('<span class="badge sla-ok" title="{}">by {}</span>', name, due)
