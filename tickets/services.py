"""Every write to tickets, customers and clusters goes through these functions."""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.dateformat import format as date_format

from tickets import signals
from tickets.evidence import EvidenceResult, evidence_validate
from tickets.models import (
    AssignmentSource,
    BugCluster,
    ClusterEvent,
    ClusterKind,
    ClusterStatus,
    Customer,
    FeedbackKind,
    Priority,
    Ticket,
    TicketStatus,
    TicketType,
)

WEB_SOURCE = "web"


def ticket_create(
    *,
    subject: str,
    feedback_kind: str = FeedbackKind.BUG_REPORT,
    ticket_type: TicketType | None = None,
    evidence: dict[str, Any] | None = None,
    description: str = "",
    source: str = WEB_SOURCE,
    external_id: str | None = None,
    customer: Customer | None = None,
    agent: AbstractBaseUser | None = None,
    reported_at: datetime | None = None,
    status: str = TicketStatus.NEW,
    cluster: BugCluster | None = None,
    assignment_source: str = AssignmentSource.AGENT,
    evidence_fields: list | None = None,
) -> Ticket:
    """File one ticket after validating its evidence against its type.

    `evidence_fields` (the type's fields, already loaded) saves a query for callers that have them.

    Raises ValidationError keyed by field (`subject`, `ticket_type`,
    `evidence.<key>`) and stores nothing when any value is refused. A given
    `cluster` is a person's decision ("same bug") and is kept; otherwise the
    clustering engine assigns the ticket after commit.
    """
    subject, result = ticket_validate(
        subject=subject, feedback_kind=feedback_kind, ticket_type=ticket_type, evidence=evidence, fields=evidence_fields
    )
    now = timezone.now()
    # A lone INSERT is its own transaction; wrapping it in BEGIN/COMMIT would cost two more round
    # trips on the busiest write path. Inside a caller's transaction a savepoint keeps a refused
    # insert from breaking it; with a cluster, the insert and the attach commit together.
    needs_atomic = cluster is not None or transaction.get_connection().in_atomic_block
    with transaction.atomic() if needs_atomic else contextlib.nullcontext():
        ticket = Ticket.objects.create(
            source=source,
            external_id=external_id or f"{source}-{uuid.uuid4().hex[:12]}",
            subject=subject,
            description=description or "",
            feedback_kind=feedback_kind,
            ticket_type=ticket_type,
            evidence=result.values,
            evidence_completeness=result.completeness,
            customer=customer,
            agent=agent,
            status=status,
            reported_at=reported_at or now,
        )
        if cluster is not None:
            ticket_attach_to_cluster(ticket=ticket, cluster=cluster, source=assignment_source, actor=agent)
        transaction.on_commit(lambda: signals.ticket_filed.send(sender=Ticket, ticket=ticket), robust=True)
    return ticket


_FEEDBACK_KINDS = frozenset(FeedbackKind.values)


def ticket_validate(
    *,
    subject: str,
    feedback_kind: str,
    ticket_type: TicketType | None,
    evidence: dict[str, Any] | None,
    fields: list | None = None,
) -> tuple[str, EvidenceResult]:
    """Check what a ticket is filed with; return the clean subject and evidence or raise ValidationError.

    `fields` (the type's evidence fields) may be given by callers that validate many tickets of one type.
    """
    errors: dict[str, list[str]] = {}
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = ["A subject is required: one line saying what the customer sees."]
    elif len(subject) > 255:
        errors["subject"] = [f"The subject must be at most 255 characters (got {len(subject)})."]
    if feedback_kind not in _FEEDBACK_KINDS:
        errors["feedback_kind"] = [
            f"'{feedback_kind}' is not a feedback kind; choose one of: {', '.join(FeedbackKind.values)}."
        ]
    if ticket_type is not None and not ticket_type.is_active:
        errors["ticket_type"] = [f"The ticket type '{ticket_type.key}' is retired; choose an active type."]
    if fields is None:
        fields = list(ticket_type.fields.all()) if ticket_type is not None else []
    result = None
    try:
        result = evidence_validate(fields=fields, values=evidence)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return subject, result


def ticket_attach_to_cluster(
    *,
    ticket: Ticket,
    cluster: BugCluster,
    source: str,
    actor: AbstractBaseUser | None = None,
    confidence: float | None = None,
    reasons: list[str] | None = None,
) -> Ticket:
    """Put `ticket` in `cluster` and keep the cluster's counters true.

    Call inside a transaction; the cluster's counters of the previous cluster
    (if any) are refreshed too.
    """
    previous_cluster_id = ticket.cluster_id
    ticket.cluster = cluster
    ticket.cluster_assigned_at = timezone.now()
    ticket.assignment_source = source
    ticket.assignment_confidence = confidence
    ticket.assignment_reasons = reasons or (
        ["added by a person as the same bug"] if source != AssignmentSource.ENGINE else []
    )
    ticket.save(
        update_fields=[
            "cluster",
            "cluster_assigned_at",
            "assignment_source",
            "assignment_confidence",
            "assignment_reasons",
            "updated_at",
        ]
    )
    cluster_refresh_counters(cluster=cluster)
    if previous_cluster_id and previous_cluster_id != cluster.pk:
        cluster_refresh_counters(cluster=BugCluster.objects.get(pk=previous_cluster_id))
    ClusterEvent.objects.create(
        cluster=cluster,
        ticket=ticket,
        actor=actor,
        kind=ClusterEvent.Kind.TICKET_ADDED,
        message=f"Ticket {ticket.external_id} added",
        data={"source": source, "previous_cluster_id": previous_cluster_id},
    )
    transaction.on_commit(
        lambda: signals.ticket_assigned.send(
            sender=Ticket, ticket=ticket, cluster=cluster, previous_cluster_id=previous_cluster_id
        ),
        robust=True,
    )
    return ticket


def cluster_refresh_counters(*, cluster: BugCluster) -> BugCluster:
    """Recompute ticket count and first/last report time from the cluster's tickets."""
    stats = Ticket.objects.filter(cluster=cluster).aggregate(
        n=Count("id"), first=Min("reported_at"), last=Max("reported_at")
    )
    cluster.ticket_count = stats["n"]
    cluster.first_reported_at = stats["first"]
    cluster.last_reported_at = stats["last"]
    cluster.save(update_fields=["ticket_count", "first_reported_at", "last_reported_at", "updated_at"])
    return cluster


# --- Clusters: the product side's actions ------------------------------------
# Every action writes a ClusterEvent (the cluster's story, shown to agents) and
# sends its signal after commit so `slas` and `metrics` can react.


def cluster_create(
    *,
    title: str,
    kind: str = ClusterKind.BUG,
    ticket_type: TicketType | None = None,
    summary: str = "",
    actor: AbstractBaseUser | None = None,
    **fields: Any,
) -> BugCluster:
    """Open a new cluster (by the engine or a person)."""
    with transaction.atomic():
        cluster = BugCluster.objects.create(
            title=title[:255], kind=kind, ticket_type=ticket_type, summary=summary, **fields
        )
        ClusterEvent.objects.create(cluster=cluster, actor=actor, kind=ClusterEvent.Kind.CREATED, message=title)
        transaction.on_commit(lambda: signals.cluster_created.send(sender=BugCluster, cluster=cluster), robust=True)
    return cluster


def clusters_open(clusters: list[BugCluster]) -> list[BugCluster]:
    """Write many new clusters at once (the clustering engine's batches), each with its "created" event.

    Unlike `cluster_create`, no `post_save` is sent, so the clusters are not indexed here: the
    engine writes their profiles and postings with their first tickets. `cluster_created` goes out
    for each after commit, as for one.
    """
    with transaction.atomic():
        BugCluster.objects.bulk_create(clusters)
        ClusterEvent.objects.bulk_create(
            ClusterEvent(cluster=cluster, kind=ClusterEvent.Kind.CREATED, message=cluster.title) for cluster in clusters
        )
        for cluster in clusters:
            transaction.on_commit(
                partial(signals.cluster_created.send, sender=BugCluster, cluster=cluster), robust=True
            )
    return clusters


def _lock(cluster: BugCluster) -> BugCluster:
    return BugCluster.objects.select_for_update().get(pk=cluster.pk)


def _product_touched(cluster: BugCluster, now: datetime, actor) -> list[str]:
    """Record a product-side update; the first one also acknowledges the cluster."""
    cluster.last_product_update_at = now
    changed = ["last_product_update_at"]
    if cluster.acknowledged_at is None:
        cluster.acknowledged_at = now
        changed.append("acknowledged_at")
    transaction.on_commit(
        lambda: signals.cluster_updated.send(sender=BugCluster, cluster=cluster, actor=actor), robust=True
    )
    return changed


StatusGuard = Callable[..., None]
# Rules other apps add (from AppConfig.ready) for entering a status; a guard raises
# ValidationError({"status": reason}) to refuse. The metrics app, for one, refuses
# VERIFIED until support confirmed the fix and its measured reduction is enough.
_STATUS_GUARDS: dict[str, list[StatusGuard]] = defaultdict(list)


def cluster_status_guard_register(*, status: str, guard: StatusGuard) -> None:
    """Make `guard(cluster=, actor=, context=)` decide every move into `status`, whatever the route."""
    if guard not in _STATUS_GUARDS[status]:
        _STATUS_GUARDS[status].append(guard)


def cluster_set_status(
    *,
    cluster: BugCluster,
    status: str,
    actor: AbstractBaseUser | None = None,
    message: str = "",
    context: dict[str, Any] | None = None,
) -> BugCluster:
    """Move a cluster to `status` (product side).

    Refuses unknown statuses and anything a registered status guard refuses;
    `context` carries what a guard may need (e.g. support's confirmation).
    """
    if status not in ClusterStatus.values:
        raise ValidationError(
            {"status": f"'{status}' is not a status; choose one of: {', '.join(ClusterStatus.values)}."}
        )
    with transaction.atomic():
        cluster = _lock(cluster)
        old = cluster.status
        if old == status:
            return cluster
        for guard in _STATUS_GUARDS.get(status, []):
            guard(cluster=cluster, actor=actor, context=context or {})
        now = timezone.now()
        cluster.status = status
        cluster.status_changed_at = now
        changed = ["status", "status_changed_at", "updated_at"] + _product_touched(cluster, now, actor)
        cluster.save(update_fields=changed)
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.STATUS_CHANGED,
            message=message,
            data={"from": old, "to": status},
        )
        transaction.on_commit(
            lambda: signals.cluster_status_changed.send(
                sender=BugCluster, cluster=cluster, old_status=old, new_status=status, actor=actor
            ),
            robust=True,
        )
    return cluster


def cluster_acknowledge(*, cluster: BugCluster, actor: AbstractBaseUser | None, message: str = "") -> BugCluster:
    """Product has seen it: NEW becomes ACKNOWLEDGED (the SLA acknowledgment clock stops)."""
    if cluster.status == ClusterStatus.NEW:
        return cluster_set_status(cluster=cluster, status=ClusterStatus.ACKNOWLEDGED, actor=actor, message=message)
    return cluster


def cluster_set_priority(*, cluster: BugCluster, priority: str, actor: AbstractBaseUser | None = None) -> BugCluster:
    if priority not in Priority.values:
        raise ValidationError(
            {"priority": f"'{priority}' is not a priority; choose one of: {', '.join(Priority.values)}."}
        )
    with transaction.atomic():
        cluster = _lock(cluster)
        old = cluster.priority
        if old == priority:
            return cluster
        cluster.priority = priority
        changed = ["priority", "updated_at"] + _product_touched(cluster, timezone.now(), actor)
        cluster.save(update_fields=changed)
        ClusterEvent.objects.create(
            cluster=cluster, actor=actor, kind=ClusterEvent.Kind.PRIORITY_CHANGED, data={"from": old, "to": priority}
        )
    return cluster


def cluster_assign_owner(
    *, cluster: BugCluster, owner: AbstractBaseUser | None, actor: AbstractBaseUser | None = None
) -> BugCluster:
    with transaction.atomic():
        cluster = _lock(cluster)
        if cluster.owner_id == (owner.pk if owner else None):
            return cluster
        old = cluster.owner_id
        cluster.owner = owner
        changed = ["owner", "updated_at"] + _product_touched(cluster, timezone.now(), actor)
        cluster.save(update_fields=changed)
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.OWNER_CHANGED,
            message=f"Owner: {owner.get_full_name() or owner.get_username()}" if owner else "Owner removed",
            data={"from": old, "to": owner.pk if owner else None},
        )
    return cluster


def cluster_respond(
    *, cluster: BugCluster, actor: AbstractBaseUser, message: str, question: bool = False
) -> ClusterEvent:
    """Post a product response on the cluster; a question asks support for more and sets NEEDS_INFO."""
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": "Write the response or question; it cannot be empty."})
    with transaction.atomic():
        if question:
            cluster = cluster_set_status(cluster=cluster, status=ClusterStatus.NEEDS_INFO, actor=actor)
        cluster = _lock(cluster)
        cluster.save(update_fields=["updated_at", *_product_touched(cluster, timezone.now(), actor)])
        return ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.QUESTION if question else ClusterEvent.Kind.RESPONSE,
            message=message,
        )


def cluster_answer_question(*, cluster: BugCluster, actor: AbstractBaseUser, message: str) -> ClusterEvent:
    """Support answers product's question; the cluster goes back to product (the status before NEEDS_INFO)."""
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": "Write your answer; it cannot be empty."})
    with transaction.atomic():
        cluster = _lock(cluster)
        answer = ClusterEvent.objects.create(
            cluster=cluster, actor=actor, kind=ClusterEvent.Kind.ANSWER, message=message
        )
        if cluster.status == ClusterStatus.NEEDS_INFO:
            before = (
                ClusterEvent.objects.filter(
                    cluster=cluster, kind=ClusterEvent.Kind.STATUS_CHANGED, data__to=ClusterStatus.NEEDS_INFO
                )
                .order_by("-created_at", "-id")
                .values_list("data__from", flat=True)
                .first()
            )
            back_to = (
                before
                if before in ClusterStatus.values and before != ClusterStatus.NEEDS_INFO
                else ClusterStatus.ACKNOWLEDGED
            )
            cluster.status = back_to
            cluster.status_changed_at = timezone.now()
            cluster.save(update_fields=["status", "status_changed_at", "updated_at"])
            ClusterEvent.objects.create(
                cluster=cluster,
                actor=actor,
                kind=ClusterEvent.Kind.STATUS_CHANGED,
                message="Support answered; back to product",
                data={"from": ClusterStatus.NEEDS_INFO, "to": back_to},
            )
            transaction.on_commit(
                lambda: signals.cluster_status_changed.send(
                    sender=BugCluster,
                    cluster=cluster,
                    old_status=ClusterStatus.NEEDS_INFO,
                    new_status=back_to,
                    actor=actor,
                ),
                robust=True,
            )
        transaction.on_commit(
            lambda: signals.cluster_question_answered.send(
                sender=BugCluster, cluster=cluster, actor=actor, message=message
            ),
            robust=True,
        )
    return answer


def cluster_mark_fixed(
    *, cluster: BugCluster, deployed_at: datetime, actor: AbstractBaseUser | None = None, message: str = ""
) -> BugCluster:
    """Record that a fix was deployed at `deployed_at` (may be in the past) and set FIXED."""
    if deployed_at > timezone.now():
        raise ValidationError({"deployed_at": "The deploy time cannot be in the future; mark it fixed once deployed."})
    with transaction.atomic():
        cluster = cluster_set_status(cluster=cluster, status=ClusterStatus.FIXED, actor=actor, message=message)
        cluster = _lock(cluster)
        cluster.fix_deployed_at = deployed_at
        cluster.save(update_fields=["fix_deployed_at", "updated_at"])
        ClusterEvent.objects.create(
            cluster=cluster,
            actor=actor,
            kind=ClusterEvent.Kind.FIX_DEPLOYED,
            message=message or f"Fix deployed {deployed_at:%Y-%m-%d %H:%M} UTC",
            data={"deployed_at": deployed_at.isoformat()},
        )
        transaction.on_commit(
            lambda: signals.cluster_fix_deployed.send(
                sender=BugCluster, cluster=cluster, deployed_at=deployed_at, actor=actor
            ),
            robust=True,
        )
    return cluster


# --- Clusters: the descriptive fields product keeps up to date -------------------

DETAIL_FIELDS = ("title", "summary", "root_cause", "workaround", "fix_eta", "engineering_url", "reproduced")
DETAIL_LABELS = {
    "title": "Title",
    "summary": "Summary",
    "root_cause": "Suspected root cause",
    "workaround": "Workaround",
    "fix_eta": "Fix ETA",
    "engineering_url": "Engineering issue",
    "reproduced": "Reproduced",
}
DETAIL_TEXT_MAX = 10_000
_TEXT_FIELDS = ("summary", "root_cause", "workaround")
_http_url = URLValidator(schemes=["http", "https"])


def _details_clean(cluster: BugCluster, changes: dict[str, Any]) -> dict[str, Any]:
    """Each given detail in its stored form; ValidationError naming every refused field."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, raw in changes.items():
        if name not in DETAIL_FIELDS:
            errors[name] = [f"'{name}' cannot be changed here; the details are: {', '.join(DETAIL_FIELDS)}."]
            continue
        label = DETAIL_LABELS[name]
        if name == "reproduced":
            if not isinstance(raw, bool):
                errors[name] = ["Reproduced must be true or false."]
            values[name] = raw
            continue
        if name == "fix_eta":
            try:
                values[name] = eta = _as_date(raw)
            except ValueError:
                errors[name] = [
                    f"The fix ETA must be a date written YYYY-MM-DD, e.g. 2027-03-12 (got '{str(raw)[:40]}')."
                ]
                continue
            today = timezone.localdate()
            if eta is not None and eta != cluster.fix_eta and eta < today:
                errors[name] = [f"The fix ETA cannot be in the past (today is {today:%Y-%m-%d}); choose a later date."]
            continue
        if raw is not None and not isinstance(raw, str):
            errors[name] = [f"{label} must be text."]
            continue
        text = (raw or "").replace("\r\n", "\n").strip()
        values[name] = text
        if name == "title" and not text:
            errors[name] = ["A title is required: one line saying what the bug is."]
        elif name == "title" and len(text) > 255:
            errors[name] = [f"The title must be at most 255 characters (got {len(text)})."]
        elif name == "engineering_url" and len(text) > 500:
            errors[name] = [f"The engineering issue link must be at most 500 characters (got {len(text)})."]
        elif name == "engineering_url" and text:
            try:
                _http_url(text)
            except ValidationError:
                errors[name] = [
                    "The engineering issue link must be a full http(s) address of the issue, "
                    f"e.g. https://github.com/acme/app/issues/42 (got '{text[:80]}')."
                ]
        elif name in _TEXT_FIELDS and len(text) > DETAIL_TEXT_MAX:
            errors[name] = [f"{label} must be at most {DETAIL_TEXT_MAX:,} characters (got {len(text):,})."]
    if errors:
        raise ValidationError(errors)
    return values


def _as_date(raw: Any) -> date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        return date.fromisoformat(raw.strip())
    raise ValueError(raw)


def _detail_line(name: str, old: Any, new: Any) -> str:
    """One line of the "details updated" entry agents read in the story."""
    if name == "reproduced":
        return "Product reproduced the bug." if new else "No longer marked as reproduced."
    if name == "fix_eta":
        return f"Fix ETA: {date_format(new, 'j M Y')}." if new else "Fix ETA removed."
    if name in ("title", "engineering_url"):
        return f"{DETAIL_LABELS[name]}: {new}" if new else f"{DETAIL_LABELS[name]} removed."
    if not new:
        return f"{DETAIL_LABELS[name]} removed."
    return f"{DETAIL_LABELS[name]} {'updated' if old else 'added'}."


def _json_ready(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def cluster_update_details(*, cluster: BugCluster, actor: AbstractBaseUser | None, **changes: Any) -> BugCluster:
    """Set a cluster's descriptive fields (product side): any of title, summary, root_cause,
    workaround, fix_eta, engineering_url, and reproduced (True stamps `reproduced_at`, False clears it).

    Raises ValidationError keyed by field and stores nothing when any value is refused; a fix
    ETA may not be newly set in the past (an unchanged past ETA is kept). Saves only what
    changed and counts as a product update (acknowledgment, last update, `cluster_updated`
    after commit). The story gets a WORKAROUND entry with the text of a new workaround, and
    one "details updated" product response listing the other changes. Nothing changed: no write.
    """
    values = _details_clean(cluster, changes)
    with transaction.atomic():
        cluster = _lock(cluster)
        now = timezone.now()
        diff: dict[str, tuple[Any, Any]] = {}
        for name, new in values.items():
            old = cluster.reproduced_at is not None if name == "reproduced" else getattr(cluster, name)
            if new != old:
                diff[name] = (old, new)
        if not diff:
            return cluster
        for name, (_, new) in diff.items():
            if name == "reproduced":
                cluster.reproduced_at = now if new else None
            else:
                setattr(cluster, name, new)
        fields = ["reproduced_at" if name == "reproduced" else name for name in diff]
        cluster.save(update_fields=[*fields, "updated_at", *_product_touched(cluster, now, actor)])
        others = {name: change for name, change in diff.items() if not (name == "workaround" and change[1])}
        if others:
            ClusterEvent.objects.create(
                cluster=cluster,
                actor=actor,
                kind=ClusterEvent.Kind.RESPONSE,
                message="\n".join(_detail_line(name, old, new) for name, (old, new) in others.items()),
                data={
                    "details": list(others),
                    "from": {name: _json_ready(old) for name, (old, _) in others.items()},
                    "to": {name: _json_ready(new) for name, (_, new) in others.items()},
                },
            )
        if "workaround" in diff and diff["workaround"][1]:
            ClusterEvent.objects.create(
                cluster=cluster,
                actor=actor,
                kind=ClusterEvent.Kind.WORKAROUND,
                message=diff["workaround"][1],
                data={"replaces": diff["workaround"][0]},
            )
    return cluster
