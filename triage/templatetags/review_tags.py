"""Template tags of the weekly review: a cluster's row cell, the small plots and number formats.

{% load review_tags %}
{% review_cell cluster "top" %}      the cluster's state, latest story entry and (for leads) its actions
{{ values|sparkline:labels }}        weekly bars         {{ impact.series|fix_plot }}   a fix's days
{{ n|signed }} {{ pct|percent_change }} {{ amount|money }} {{ share|share }}
"""

from __future__ import annotations

import functools
from decimal import Decimal

from django import template
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from tickets.models import Priority
from triage.review import plots
from triage.review.forms import DATETIME_INPUT, TRIAGE_STATUSES
from triage.review.story import event_actor, event_line

register = template.Library()
_SENTINEL = "987654321"


@functools.lru_cache(maxsize=64)
def _url_pattern(name: str, arity: int, prefix: str) -> str:
    return reverse(name, args=[_SENTINEL] * arity).replace(_SENTINEL, "{}")


def fast_url(name: str, *args) -> str:
    """`reverse(name, args=args)` for the URLs a review page writes hundreds of times: the pattern is
    reversed once per process and filled in (the arguments are ids, week keys and action names)."""
    return _url_pattern(name, len(args), get_script_prefix()).format(*args)


@register.simple_tag
def rurl(name: str, *args) -> str:
    return fast_url(name, *args)


@register.filter
def cluster_url(pk) -> str:
    return fast_url("tickets:cluster_detail", int(pk))


@register.filter
def fix_url(pk) -> str:
    return fast_url("metrics:fix_impact", int(pk))


def _current(cluster) -> dict[str, str]:
    return {
        "priority": cluster.priority or "",
        "owner": str(cluster.owner_id or ""),
        "status": cluster.status,
        "fix_eta": cluster.fix_eta.isoformat() if cluster.fix_eta else "",
        "workaround": cluster.workaround or "",
    }


def cell_values(cluster, outcome) -> dict:
    """The values each of the row's forms shows: the cluster's own, or what was typed when `outcome`
    (an action on this row) was refused, so nothing typed is lost."""
    current = _current(cluster)
    now = timezone.localtime(timezone.now(), timezone.get_default_timezone()).strftime(DATETIME_INPUT)
    values = {
        "triage": {**current, "note": ""},
        "acknowledge": {"priority": current["priority"]},
        "ask": {"question": ""},
        "fixed": {"deployed_at": now, "note": ""},
    }
    failed = outcome is not None and not outcome.ok
    if failed and outcome.action in values:
        for name, default in values[outcome.action].items():
            values[outcome.action][name] = outcome.typed(name, default)
    return {
        "initial": current,
        "values": values,
        "errors": outcome.errors if failed else {},
        "open": outcome.action if failed else "",
    }


PANELS = (("triage", "Triage"), ("ask", "Ask support"), ("fixed", "Mark fixed"), ("merge", "Merge a duplicate"))


def cell_state(*, cluster, section: str, week, user, can_run: bool, people, outcome=None, csrf_token=None) -> dict:
    """Everything a cluster's cell (and each of its action forms) shows."""
    can_merge = bool(user and user.has_perm("tickets.correct_clusters"))
    panels = [
        (action, label)
        for action, label in PANELS
        if (action != "fixed" or cluster.is_open) and (action != "merge" or can_merge)
    ]
    latest = getattr(cluster, "review_latest", None)
    base_url = fast_url("review:cluster_action", week.key, cluster.pk, "triage").rsplit("triage/", 1)[0]
    return {
        "cluster": cluster,
        "section": section,
        "base": f"f-{section}-{cluster.pk}",
        "week": week,
        "can_run": can_run,
        "panels": panels,
        "urls": {"acknowledge": f"{base_url}acknowledge/", "form": f"{base_url}form/"},
        "owners": [p for p in people or [] if p.can_own_clusters],
        "statuses": TRIAGE_STATUSES,
        "priorities": Priority.choices,
        "priority_values": Priority.values,
        "outcome": outcome,
        "latest": latest,
        "latest_line": event_line(latest),
        "latest_actor": event_actor(latest),
        "sla": getattr(cluster, "review_sla", None),
        "csrf_token": csrf_token,
        "time_zone": timezone.get_default_timezone_name(),
        **cell_values(cluster, outcome),
    }


@register.inclusion_tag("triage/review/_cell_body.html", takes_context=True)
def review_cell(context, cluster, section: str) -> dict:
    outcome = context.get("outcome")
    override = context.get("override") or {}
    if outcome is None and override.get("pk") == cluster.pk and override.get("section") == section:
        outcome = override.get("outcome")
    state = cell_state(
        cluster=cluster,
        section=section,
        week=context.get("week"),
        user=context.get("user"),
        can_run=context.get("can_run", False),
        people=context.get("people"),
        outcome=outcome,
        csrf_token=context.get("csrf_token"),
    )
    state["suggestions"] = context.get("suggestions")
    return state


@register.filter
def story_line(event) -> str:
    return event_line(event)


@register.filter
def story_actor(event) -> str:
    return event_actor(event)


@register.filter
def sparkline(values, labels="") -> str:
    names = [w.key for w in labels] if isinstance(labels, list) else []
    return mark_safe(plots.sparkline(values or [], labels=names))  # numbers and escaped labels only


@register.filter
def fix_plot(series, title: str = "") -> str:
    return mark_safe(plots.fix_plot(series or [], title=title))  # numbers and an escaped title only


@register.filter
def signed(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{int(value):+d}"


@register.filter
def percent_change(value) -> str:
    """+12% / -30%, or "new" when there was nothing to compare with."""
    if value is None or value == "":
        return "new"
    return f"{int(value):+d}%"


@register.filter
def money(value) -> str:
    if value in (None, ""):
        return "—"
    return f"{Decimal(value):,.0f}"


@register.filter
def share(value) -> str:
    return "—" if value is None else f"{100 * float(value):.0f}%"


@register.filter
def get(mapping, key):
    return (mapping or {}).get(key)
