"""Template tags of the metrics app: the fix-impact panel for the cluster page, and number formats.

{% load metrics_tags %}
{% fix_impact_panel cluster %}
"""

from __future__ import annotations

from django import template

from metrics.models import FixImpact
from metrics.plot import impact_plot

register = template.Library()


@register.inclusion_tag("metrics/_fix_impact_panel.html", takes_context=True)
def fix_impact_panel(context, cluster) -> dict:
    """A card with the fix's verdict, change and interval, and a small plot; one query at most.

    Reads the stored measurement (kept current by the daily task); it never measures on render.
    """
    try:
        impact = cluster.fix_impact  # no query when the caller used select_related("fix_impact")
    except FixImpact.DoesNotExist:
        impact = None
    plot = impact_plot(impact.series, verdict_label=impact.get_verdict_display(), compact=True) if impact else None
    return {"cluster": cluster, "impact": impact, "plot": plot, "request": context.get("request")}


@register.filter
def change(value) -> str:
    """-80.4 -> "80% fewer", 25 -> "25% more"."""
    if value is None or value == "":
        return "—"
    value = float(value)
    if round(value) == 0:
        return "no change"
    return f"{abs(value):.0f}% {'fewer' if value < 0 else 'more'}"


@register.filter
def share(value) -> str:
    return "—" if value is None else f"{100 * float(value):.0f}%"


@register.filter
def days(value) -> str:
    """A duration in days, shown in hours below a day."""
    if value is None:
        return "—"
    value = float(value)
    return f"{value * 24:.0f} h" if value < 1 else f"{value:.1f} d"
