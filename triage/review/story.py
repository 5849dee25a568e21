"""One line in words for an entry of a cluster's story (the row's "latest" line and the report's actions)."""

from __future__ import annotations

from tickets.models import ClusterEvent, ClusterStatus, Priority

E = ClusterEvent.Kind
STATUS = dict(ClusterStatus.choices)
LINE_CHARS = 160


def _short(text: str, limit: int = LINE_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status(value) -> str:
    return STATUS.get(value, value or "—")


def _priority(value) -> str:
    return value if value in Priority.values else "—"


def event_line(event: ClusterEvent | None) -> str:
    """What happened, with from and to where there are: "Priority P2 → P1", "Status Fixed → In progress"."""
    if event is None:
        return ""
    data = event.data or {}
    if event.kind == E.STATUS_CHANGED:
        line = f"Status {_status(data.get('from'))} → {_status(data.get('to'))}"
        return f"{line}: {_short(event.message, 100)}" if event.message else line
    if event.kind == E.PRIORITY_CHANGED:
        return f"Priority {_priority(data.get('from'))} → {_priority(data.get('to'))}"
    if event.kind == E.QUESTION:
        return f"Asked support: {_short(event.message)}"
    if event.kind == E.ANSWER:
        return f"Support answered: {_short(event.message)}"
    if event.kind == E.WORKAROUND:
        return f"Workaround: {_short(event.message)}"
    if event.kind == E.CREATED:
        return "Cluster opened"
    return _short(event.message) or event.get_kind_display()


def event_actor(event: ClusterEvent | None) -> str:
    if event is None or event.actor is None:
        return ""
    return event.actor.get_full_name() or event.actor.get_username()
