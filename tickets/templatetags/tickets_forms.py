"""Template helpers for the report form: bound evidence fields rendered accessibly."""

from __future__ import annotations

from django import template
from django.urls import reverse

from tickets.forms import EVIDENCE_PREFIX
from tickets.labels import choice_label, evidence_label
from tickets.models import ClusterStatus

register = template.Library()

_AUTOFILL_SOURCES = ("user_agent",)
_KNOWN_BUG_SOURCES = ("subject", "description", "error_message", "error_code")


@register.filter
def bound(form, key: str):
    """The bound field of evidence key `key` (`{{ form|bound:field.key }}`)."""
    return form[EVIDENCE_PREFIX + key]


@register.filter
def upload_for(form, key: str):
    return form.upload_for(key)


@register.simple_tag
def accessible_widget(bf, key: str = ""):
    """Render a widget with its help and error text tied to it (aria-describedby) and aria-invalid on error."""
    attrs = {}
    described = []
    if bf.help_text:
        described.append(f"{bf.auto_id}_help")
    if bf.errors:
        described.append(f"{bf.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if key in _AUTOFILL_SOURCES:
        attrs.update(
            {
                "hx-post": reverse("tickets:report_autofill"),
                "hx-trigger": "change",
                "hx-swap": "none",
                "hx-include": "#report-form",
            }
        )
    if key in _KNOWN_BUG_SOURCES:
        attrs.update(
            {
                "hx-post": reverse("tickets:report_known_bugs"),
                "hx-trigger": "input changed delay:500ms",
                "hx-target": "#known-bugs",
                "hx-swap": "innerHTML",
                "hx-include": "#report-form",
                "hx-sync": "#known-bugs:replace",
            }
        )
    return bf.as_widget(attrs=attrs)


@register.filter
def percent(value) -> str:
    try:
        return f"{round(float(value) * 100)}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def person(user, fallback: str = "—") -> str:
    """A user's full name, else username; `fallback` when there is no user."""
    if user is None:
        return fallback
    return user.get_full_name() or user.get_username()


@register.filter
def evidence_items(ticket) -> list[tuple[str, str]]:
    """(label, value) pairs of a ticket's evidence in its type's field order, values as people read them
    (choice labels, local times); unknown keys last."""
    evidence = ticket.evidence or {}
    fields = list(ticket.ticket_type.fields.all()) if ticket.ticket_type_id else []
    by_key = {f.key: f for f in fields}
    order = [f.key for f in fields if f.key in evidence] + sorted(k for k in evidence if k not in by_key)
    items = []
    for key in order:
        field = by_key.get(key)
        items.append((field.label if field else key, evidence_label(field.kind if field else "", evidence[key])))
    return items


@register.filter
def choice(value) -> str:
    """A stored choice value as people read it ("sso_managed" -> "SSO managed")."""
    return choice_label(value)


@register.filter
def status_label(value) -> str:
    """The display name of a cluster status value ("needs_info" -> "Needs info")."""
    try:
        return ClusterStatus(value).label
    except ValueError:
        return value or "—"
