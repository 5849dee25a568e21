"""What each form of the review page does: validate what was posted, call the service, say how it went.

Kept out of the views so each view stays a few lines: a handler returns an Outcome (ok, the message,
the bound form and its errors keyed by field) that the view renders in the row, or in the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from metrics.selectors import fix_impact_for
from tickets.models import BugCluster
from triage.review import services
from triage.review.forms import (
    AcknowledgeForm,
    AskForm,
    MarkFixedForm,
    MeetingItemForm,
    MergeForm,
    RowTriageForm,
    SendReportForm,
)
from triage.review.selectors.common import people_list
from triage.review.selectors.meeting import meeting_item_get, meeting_record
from triage.review.weeks import ReviewWeek

FIELD_LABELS = {
    "priority": "priority",
    "owner": "owner",
    "status": "status",
    "fix_eta": "fix ETA",
    "workaround": "workaround",
}


@dataclass
class Outcome:
    """How one action went: `ok` with a message, or refused with errors keyed by field (None: the form)."""

    ok: bool
    action: str
    message: str = ""
    form: forms.Form | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    cluster: BugCluster | None = None

    @property
    def error_text(self) -> str:
        return " ".join(message for messages in self.errors.values() for message in messages)

    def typed(self, name: str, default: str = "") -> str:
        """What was posted for `name`, to show it again after a refusal."""
        if self.form is None or not self.form.is_bound:
            return default
        return str(self.form.data.get(name, default))


def _refused(action: str, form: forms.Form | None, error: ValidationError | dict) -> Outcome:
    if isinstance(error, ValidationError):
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    else:
        errors = {name: list(messages) for name, messages in error.items()}
    return Outcome(ok=False, action=action, form=form, errors=errors)


@dataclass(frozen=True)
class Handler:
    permission: str
    run: Callable[..., Outcome]


def _triage(*, request: HttpRequest, week: ReviewWeek, cluster: BugCluster) -> Outcome:
    form = RowTriageForm(request.POST, people=people_list(), cluster=cluster)
    if not form.is_valid():
        return _refused("triage", form, form.errors)
    changes = form.changes()
    if not changes:
        return Outcome(ok=True, action="triage", message="Nothing to save: nothing was changed.", cluster=cluster)
    try:
        cluster = services.review_cluster_triage(
            cluster=cluster, by=request.user, week=week, changes=changes, note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        return _refused("triage", form, exc)
    saved = ", ".join(FIELD_LABELS[name] for name in changes)
    return Outcome(ok=True, action="triage", message=f"#{cluster.pk}: saved {saved}.", cluster=cluster)


def _acknowledge(*, request: HttpRequest, week: ReviewWeek, cluster: BugCluster) -> Outcome:
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return _refused("acknowledge", form, form.errors)
    try:
        cluster = services.review_cluster_acknowledge(
            cluster=cluster, by=request.user, week=week, priority=form.cleaned_data["priority"]
        )
    except ValidationError as exc:
        return _refused("acknowledge", form, exc)
    return Outcome(ok=True, action="acknowledge", message=f"#{cluster.pk} acknowledged.", cluster=cluster)


def _ask(*, request: HttpRequest, week: ReviewWeek, cluster: BugCluster) -> Outcome:
    form = AskForm(request.POST)
    if not form.is_valid():
        return _refused("ask", form, form.errors)
    try:
        cluster = services.review_cluster_ask(cluster=cluster, by=request.user, question=form.cleaned_data["question"])
    except ValidationError as exc:
        return _refused("ask", form, {"question": exc.messages})
    return Outcome(ok=True, action="ask", message=f"Question sent to support on #{cluster.pk}.", cluster=cluster)


def _fixed(*, request: HttpRequest, week: ReviewWeek, cluster: BugCluster) -> Outcome:
    form = MarkFixedForm(request.POST)
    if not form.is_valid():
        return _refused("fixed", form, form.errors)
    try:
        cluster = services.review_cluster_mark_fixed(
            cluster=cluster,
            by=request.user,
            deployed_at=form.cleaned_data["deployed_at"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        return _refused("fixed", form, exc)
    return Outcome(
        ok=True, action="fixed", message=f"#{cluster.pk} marked fixed; its impact is measured daily.", cluster=cluster
    )


def _reopen(*, request: HttpRequest, week: ReviewWeek, cluster: BugCluster) -> Outcome:
    impact = fix_impact_for(cluster_id=cluster.pk)
    label = impact.get_provisional_verdict_display() if impact and impact.provisional_verdict else ""
    label = label or (impact.get_verdict_display() if impact else "")
    try:
        cluster = services.review_cluster_reopen(cluster=cluster, by=request.user, week=week, verdict_label=label)
    except ValidationError as exc:
        return _refused("reopen", None, exc)
    return Outcome(ok=True, action="reopen", message=f"#{cluster.pk} reopened: back in progress.", cluster=cluster)


def _merge(*, request: HttpRequest, week: ReviewWeek, cluster: BugCluster) -> Outcome:
    form = MergeForm(request.POST)
    if not form.is_valid():
        return _refused("merge", form, form.errors)
    duplicate = form.cleaned_data["duplicate"]
    try:
        cluster = services.review_duplicate_merge(cluster=cluster, duplicate=duplicate, by=request.user, week=week)
    except ValidationError as exc:
        return _refused("merge", form, exc)
    return Outcome(ok=True, action="merge", message=f"Merged #{duplicate.pk} into #{cluster.pk}.", cluster=cluster)


TRIAGE = "tickets.triage_cluster"
ACTIONS: dict[str, Handler] = {
    "triage": Handler(TRIAGE, _triage),
    "acknowledge": Handler(TRIAGE, _acknowledge),
    "ask": Handler(TRIAGE, _ask),
    "fixed": Handler(TRIAGE, _fixed),
    "reopen": Handler(TRIAGE, _reopen),
    "merge": Handler("tickets.correct_clusters", _merge),
}


# --- The meeting record ---------------------------------------------------------------------------


def item_create(*, request: HttpRequest, week: ReviewWeek) -> Outcome:
    form = MeetingItemForm(request.POST, people=people_list())
    if not form.is_valid():
        return _refused("item", form, form.errors)
    data = form.cleaned_data
    try:
        item = services.meeting_item_add(
            week=week,
            kind=data["kind"],
            text=data["text"],
            by=request.user,
            owner=data["owner"],
            due_date=data["due_date"],
            cluster=data["cluster"],
        )
    except ValidationError as exc:
        return _refused("item", form, exc)
    return Outcome(ok=True, action="item", message=f"{item.get_kind_display()} recorded.")


ITEM_OPS = {"done", "undo", "carry", "remove"}


def item_change(*, request: HttpRequest, week: ReviewWeek, pk: int, op: str) -> Outcome:
    item = meeting_item_get(pk=pk, week=week)
    if item is None or op not in ITEM_OPS:
        return _refused("change", None, {"__all__": ["That item is not on this week's review any more; reload."]})
    try:
        if op in ("done", "undo"):
            services.meeting_item_set_done(item=item, by=request.user, done=op == "done")
            message = "Marked done." if op == "done" else "Marked not done."
        elif op == "carry":
            services.meeting_item_carry_over(item=item, by=request.user, week=week)
            message = "Carried over to this week."
        else:
            services.meeting_item_remove(item=item, week=week)
            message = "Removed."
    except ValidationError as exc:
        return _refused("change", None, exc)
    return Outcome(ok=True, action="change", message=message)


def meeting_context(*, request: HttpRequest, week: ReviewWeek, outcome: Outcome | None = None) -> dict:
    return {
        "week": week,
        "meeting": meeting_record(week, with_deliveries=False),
        "can_run": request.user.has_perm("triage.run_review"),
        "people": people_list(),
        "item_outcome": outcome,
    }


# --- The report -----------------------------------------------------------------------------------


def report_send(*, request: HttpRequest, week: ReviewWeek) -> Outcome:
    form = SendReportForm(request.POST)
    if not form.is_valid():
        return _refused("send", form, form.errors)
    recipients = form.cleaned_data["recipients"]
    services.report_send_request(week=week, by=request.user, recipients=recipients)
    return Outcome(
        ok=True, action="send", message=f"The report of {week.key} is on its way to {', '.join(recipients)}."
    )


def default_recipients() -> str:
    return ", ".join(settings.REVIEW_REPORT_RECIPIENTS)
