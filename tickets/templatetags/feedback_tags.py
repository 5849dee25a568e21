"""Feedback routing on any page: `{% load feedback_tags %}`, then `{% feedback_state_badge ticket %}`."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html

from tickets.feedback.selectors import cluster_revenue_at_stake, clusters_revenue_at_stake
from tickets.models import FeedbackStatus

register = template.Library()


@register.simple_tag
def feedback_state_badge(ticket) -> str:
    """The ticket's state in its queue (new when nobody acted on it yet), with the outcome once closed."""
    item = getattr(ticket, "feedback", None) if hasattr(ticket, "feedback") else None
    status = item.status if item else FeedbackStatus.NEW
    label = FeedbackStatus(status).label
    if item and item.status == FeedbackStatus.CLOSED and item.outcome:
        label = f"{label}: {item.get_outcome_display()}"
    return format_html('<span class="badge feedback-{}">{}</span>', status, label)


@register.filter
def arr(mrr) -> Decimal:
    """Annual recurring revenue of a monthly figure."""
    return (mrr or Decimal(0)) * 12


@register.filter
def label(value) -> str:
    """A stored choice value as words: "mid_market" -> "Mid market", "nice_to_have" -> "Nice to have"."""
    return str(value or "").replace("_", " ").capitalize()


@register.filter
def feedback_of(ticket):
    """The ticket's handling in its queue, or None when nobody acted on it (no query when select_related)."""
    return getattr(ticket, "feedback", None) if hasattr(ticket, "feedback") else None


@register.inclusion_tag("tickets/_revenue_panel.html")
def revenue_at_stake_panel(cluster) -> dict:
    """The customers a cluster affects and their MRR (each customer counted once), biggest accounts first."""
    return {"cluster": cluster, "revenue": cluster_revenue_at_stake(cluster=cluster)}


@register.simple_tag
def revenue_prefetch(clusters) -> str:
    """Set `customers_affected` and `mrr_at_stake` on every cluster of a list, in one query."""
    clusters = list(clusters)
    found = clusters_revenue_at_stake(cluster_ids=[c.pk for c in clusters])
    for cluster in clusters:
        cluster.customers_affected, cluster.mrr_at_stake = found.get(cluster.pk, (0, Decimal(0)))
    return ""
