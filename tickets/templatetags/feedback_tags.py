"""Feedback routing on any page: `{% load feedback_tags %}`, then `{% feedback_state_badge ticket %}`."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html

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
