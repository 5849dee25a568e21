"""SLA state on any page: `{% load sla_tags %}`, then

{% sla_prefetch clusters %}              one set of queries for a whole list (no N+1)
{% sla_prefetch tickets attr="cluster" %} the same for a list of tickets
{% sla_badge cluster %}                  compact: policy, time left or breached by
{% sla_panel cluster %}                  every clock of the cluster and its recent alerts
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from slas.business_time import humanize_seconds
from slas.selectors import ClusterSla, alerts_for_cluster, sla_states

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
