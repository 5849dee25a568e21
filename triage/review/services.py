"""Every write of the weekly review.

Triage actions on clusters go through the cluster services of `tickets` (the same guards and SLA
effects as the cluster page, each recorded in the cluster's story with who, when, from and to). A row
action is all or nothing: when a guard refuses one of its changes (the verification gate on
"verified", a fix ETA in the past), nothing of that action is kept. The meeting record and the report's
sendings are the review's own rows (triage.models).
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from tickets.clusters.corrections import cluster_merge
from tickets.clusters.details import cluster_update_details
from tickets.clusters.patterns import evidence_patterns
from tickets.clusters.services import (
    cluster_acknowledge,
    cluster_assign_owner,
    cluster_mark_fixed,
    cluster_respond,
    cluster_set_priority,
    cluster_set_status,
)
from tickets.intake.selectors import ticket_list, ticket_type_list_active
from tickets.models import BugCluster, ClusterStatus
from tickets.queue import after_commit, task_enqueue
from triage.review.models import MeetingItem, ReportDelivery, WeekPatterns
from triage.review.report import report_csv, report_filename, report_markdown, report_subject, review_report
from triage.review.weeks import ReviewWeek, week_current, week_of

logger = logging.getLogger(__name__)
TEXT_MAX = 2000
PATTERNS_KEPT = 30
REOPENABLE = (ClusterStatus.FIXED, ClusterStatus.VERIFIED)


def _fresh(cluster: BugCluster) -> BugCluster:
    return BugCluster.objects.select_related("owner", "ticket_type").get(pk=cluster.pk)


def _in_review(week: ReviewWeek, note: str = "") -> str:
    note = (note or "").strip()
    return note or f"Decided in the weekly review ({week.key})."


# --- Triage on clusters ---------------------------------------------------------------------------


def review_cluster_triage(
    *, cluster: BugCluster, by: AbstractBaseUser, week: ReviewWeek, changes: dict[str, Any], note: str = ""
) -> BugCluster:
    """Apply what a lead changed in a cluster's row: priority, owner, fix ETA, workaround and status.

    `changes` holds only the fields changed (priority, owner: a user or None, fix_eta: a date or None,
    workaround, status). Status goes last so its guards see the other changes. ValidationError (keyed
    by field) rolls every change of the action back.
    """
    if changes.get("priority") == "":
        raise ValidationError({"priority": "A priority cannot be removed; choose P1, P2 or P3."})
    with transaction.atomic():
        if "priority" in changes:
            cluster = cluster_set_priority(cluster=cluster, priority=changes["priority"], actor=by)
        if "owner" in changes:
            cluster = cluster_assign_owner(cluster=cluster, owner=changes["owner"], actor=by)
        details = {name: changes[name] for name in ("fix_eta", "workaround") if name in changes}
        if details:
            cluster = cluster_update_details(cluster=cluster, actor=by, **details)
        if "status" in changes:
            if changes["status"] == ClusterStatus.MERGED:
                raise ValidationError({"status": "Merge a cluster with “Merge a duplicate”, not by its status."})
            cluster_set_status(cluster=cluster, status=changes["status"], actor=by, message=_in_review(week, note))
    return _fresh(cluster)


def review_cluster_acknowledge(
    *, cluster: BugCluster, by: AbstractBaseUser, week: ReviewWeek, priority: str = ""
) -> BugCluster:
    """One click on a new bug: set its priority (when given) and acknowledge it (NEW -> ACKNOWLEDGED)."""
    with transaction.atomic():
        if priority:
            cluster = cluster_set_priority(cluster=cluster, priority=priority, actor=by)
        cluster_acknowledge(cluster=cluster, actor=by, message=_in_review(week))
    return _fresh(cluster)


def review_cluster_ask(*, cluster: BugCluster, by: AbstractBaseUser, question: str) -> BugCluster:
    """Ask support a question on the cluster (it waits on support: needs info)."""
    question = (question or "").strip()
    if len(question) > TEXT_MAX * 2:
        raise ValidationError({"question": f"The question must be at most {TEXT_MAX * 2:,} characters."})
    cluster_respond(cluster=cluster, actor=by, message=question, question=True)
    return _fresh(cluster)


def review_cluster_mark_fixed(
    *, cluster: BugCluster, by: AbstractBaseUser, deployed_at: datetime, note: str = ""
) -> BugCluster:
    """Record the deployed fix (the fix-impact measurement starts from `deployed_at`)."""
    cluster_mark_fixed(cluster=cluster, deployed_at=deployed_at, actor=by, message=(note or "").strip())
    return _fresh(cluster)


def review_cluster_reopen(
    *, cluster: BugCluster, by: AbstractBaseUser, week: ReviewWeek, verdict_label: str = ""
) -> BugCluster:
    """Reopen a fixed cluster whose fix did not work: back to in progress, with the reason in its story."""
    cluster = _fresh(cluster)
    if cluster.status not in REOPENABLE:
        now = cluster.get_status_display().lower()
        raise ValidationError({"status": f"Only a fixed cluster can be reopened; #{cluster.pk} is {now}."})
    reason = f"Reopened in the weekly review ({week.key}): the fix did not work"
    reason += f" (measured: {verdict_label.lower()})." if verdict_label else "."
    cluster_set_status(cluster=cluster, status=ClusterStatus.IN_PROGRESS, actor=by, message=reason)
    return _fresh(cluster)


def review_duplicate_merge(
    *, cluster: BugCluster, duplicate: BugCluster, by: AbstractBaseUser, week: ReviewWeek
) -> BugCluster:
    """Merge `duplicate` into `cluster` (its tickets move; the merge can be undone from the cluster page)."""
    cluster_merge(
        source=duplicate, into=cluster, actor=by, reason=f"Duplicate, merged in the weekly review ({week.key})."
    )
    return _fresh(cluster)


# --- The meeting record ---------------------------------------------------------------------------


def _clean_text(text: str, field: str = "text") -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError({field: "Write what was decided or what is to be done; it cannot be empty."})
    if len(text) > TEXT_MAX:
        raise ValidationError({field: f"At most {TEXT_MAX:,} characters (got {len(text):,})."})
    return text


def meeting_item_add(
    *,
    week: ReviewWeek,
    kind: str,
    text: str,
    by: AbstractBaseUser,
    owner: AbstractBaseUser | None = None,
    due_date: date | None = None,
    cluster: BugCluster | None = None,
) -> MeetingItem:
    """Record a decision or an action item on the week (a decision has no due date)."""
    if kind not in MeetingItem.Kind.values:
        raise ValidationError({"kind": f"'{kind}' is not an item kind; choose one of: decision, action."})
    text = _clean_text(text)
    if kind == MeetingItem.Kind.DECISION and due_date is not None:
        raise ValidationError({"due_date": "A decision has no due date; record an action item for what is to be done."})
    if due_date is not None and due_date < week.monday:
        raise ValidationError(
            {"due_date": f"The due date cannot be before the week it is recorded in (from {week.monday:%d %b %Y})."}
        )
    return MeetingItem.objects.create(
        week=week.monday, kind=kind, text=text, owner=owner, due_date=due_date, cluster=cluster, created_by=by
    )


def meeting_item_set_done(*, item: MeetingItem, by: AbstractBaseUser, done: bool) -> MeetingItem:
    """Mark an action item done (or not done again)."""
    if item.kind != MeetingItem.Kind.ACTION:
        raise ValidationError({"done": "Only action items are done; a decision is recorded as it is."})
    if done and item.done_at is None:
        MeetingItem.objects.filter(pk=item.pk, done_at=None).update(done_at=timezone.now(), done_by=by)
    elif not done:
        MeetingItem.objects.filter(pk=item.pk).update(done_at=None, done_by=None)
    item.refresh_from_db()
    return item


def meeting_item_carry_over(*, item: MeetingItem, by: AbstractBaseUser, week: ReviewWeek) -> MeetingItem:
    """Carry an action item not done into `week` (a later week), once: a new item pointing back at it."""
    if item.kind != MeetingItem.Kind.ACTION:
        raise ValidationError({"carry": "Only action items are carried over."})
    if item.done_at is not None:
        raise ValidationError({"carry": "This action item is done; there is nothing to carry over."})
    if item.week >= week.monday:
        raise ValidationError({"carry": "An item is carried into a later week than the one it was recorded in."})
    with transaction.atomic():
        locked = MeetingItem.objects.select_for_update().get(pk=item.pk)
        if MeetingItem.objects.filter(carried_from=locked).exists():
            raise ValidationError({"carry": "This action item was already carried over."})
        return MeetingItem.objects.create(
            week=week.monday,
            kind=locked.kind,
            text=locked.text,
            owner=locked.owner,
            due_date=locked.due_date if locked.due_date and locked.due_date >= week.monday else None,
            cluster=locked.cluster,
            created_by=by,
            carried_from=locked,
        )


def meeting_item_remove(*, item: MeetingItem, week: ReviewWeek) -> None:
    """Delete an item recorded by mistake on `week` (items of other weeks stay as they were)."""
    if item.week != week.monday:
        raise ValidationError({"remove": "Only items recorded this week can be removed here."})
    item.delete()


# --- The report by email --------------------------------------------------------------------------

DELIVERY_LEASE = timedelta(minutes=10)


def report_send_request(*, week: ReviewWeek, by: AbstractBaseUser, recipients: list[str]) -> ReportDelivery:
    """A person sends the week's report now; a worker emails it after commit."""
    with transaction.atomic():
        delivery = ReportDelivery.objects.create(
            week=week.monday, trigger=ReportDelivery.Trigger.MANUAL, recipients=recipients, requested_by=by
        )
        after_commit(_send_soon, delivery.pk)
    return delivery


def report_weekly_send(*, now: datetime | None = None) -> str:
    """The Monday email: last week's report to settings.REVIEW_REPORT_RECIPIENTS, once per week.

    The week's one `weekly` row (a unique constraint) is created or found, then claimed with a lease
    before sending, so beat running the task twice, or two workers at once, send it once. Nothing is
    sent, and nothing written, while no recipients are configured. Returns what happened.
    """
    recipients = list(settings.REVIEW_REPORT_RECIPIENTS)
    if not recipients:
        return "no recipients"
    week = week_current(now=now).previous
    try:
        with transaction.atomic():
            delivery = ReportDelivery.objects.create(
                week=week.monday, trigger=ReportDelivery.Trigger.WEEKLY, recipients=recipients
            )
    except IntegrityError:
        delivery = ReportDelivery.objects.get(week=week.monday, trigger=ReportDelivery.Trigger.WEEKLY)
    return report_delivery_send(delivery_id=delivery.pk, now=now)


def report_delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """Email one delivery of a report: 'sent', or 'skipped' when it is sent or another worker holds it.

    Claimed with a conditional UPDATE (a lease); a failure clears the lease, keeps the error and raises
    so the task retries.
    """
    now = now or timezone.now()
    claimed = (
        ReportDelivery.objects.filter(pk=delivery_id, sent_at=None)
        .filter(Q(lease_until=None) | Q(lease_until__lt=now))
        .update(lease_until=now + DELIVERY_LEASE, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "skipped"
    delivery = ReportDelivery.objects.get(pk=delivery_id)
    week = week_of(delivery.week, now=now)
    try:
        report = review_report(week=week)
        message = EmailMessage(
            subject=report_subject(report),
            body=report_markdown(report),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=delivery.recipients,
        )
        message.attach(report_filename(week, "md"), report_markdown(report), "text/markdown")
        message.attach(report_filename(week, "csv"), report_csv(report), "text/csv")
        message.send()
    except Exception as exc:
        ReportDelivery.objects.filter(pk=delivery_id).update(
            lease_until=None, last_error=f"{type(exc).__name__}: {exc}"[:500]
        )
        raise
    ReportDelivery.objects.filter(pk=delivery_id).update(sent_at=timezone.now(), lease_until=None, last_error="")
    logger.info("Review report of %s sent to %s", week.key, ", ".join(delivery.recipients))
    return "sent"


def _send_soon(delivery_id: int) -> None:
    """Hand the email to a worker, or send it now when the broker is down (a person is waiting for it)."""
    if not task_enqueue("review.report_delivery_send", delivery_id):
        logger.warning("Broker unavailable; sending the review report %s inline", delivery_id)
        report_delivery_send(delivery_id=delivery_id)


# --- Pattern snapshots ----------------------------------------------------------------------------


def week_patterns_refresh(*, week: ReviewWeek) -> WeekPatterns:
    """Mine the week's strongest evidence patterns across every active ticket type, count its tickets per
    type, and store both.

    Each type's tickets of the 7 days up to the week's end (or up to now, for the current week) are
    compared with the type's earlier tickets (tickets.patterns); the findings of all types are ranked
    together by strength (tickets x log lift).
    """
    window_end = week.until
    found, recent = [], 0
    for ticket_type in ticket_type_list_active():
        report = evidence_patterns(ticket_type=ticket_type, now=window_end, days=7)
        recent += report["recent_tickets"]
        for pattern in report["patterns"]:
            strength = pattern["count"] * math.log(max(pattern["lift"], 1.0))
            found.append(
                {**pattern, "ticket_type": ticket_type.name, "ticket_type_key": ticket_type.key, "strength": strength}
            )
    found = _merge_together(found)
    found.sort(key=lambda p: (-p["strength"], p["ticket_type_key"], p["text"]))
    per_type = (
        ticket_list()
        .filter(reported_at__gte=week.start, reported_at__lt=window_end, ticket_type__isnull=False)
        .order_by()
        .values("ticket_type__name")
        .annotate(n=Count("id"))
        .order_by("-n", "ticket_type__name")
    )
    snapshot, _ = WeekPatterns.objects.update_or_create(
        week=week.monday,
        defaults={
            "window_end": window_end,
            "computed_at": timezone.now(),
            "patterns": found[:PATTERNS_KEPT],
            "recent_tickets": recent,
            "type_counts": [{"name": row["ticket_type__name"], "tickets": row["n"]} for row in per_type],
        },
    )
    return snapshot


def _merge_together(patterns: list[dict]) -> list[dict]:
    """Patterns of one type that hold the same tickets (same count, a value in common) read as one:
    "apple_pay + 5012 + iOS 17.4 + Safari 17.4" rather than six pairs of it."""
    groups: list[dict] = []
    for pattern in sorted(patterns, key=lambda p: (-p["strength"], p["text"])):
        values = [(v["key"], v["value"]) for v in pattern["values"]]
        home = next(
            (
                g
                for g in groups
                if g["ticket_type_key"] == pattern["ticket_type_key"]
                and g["count"] == pattern["count"]
                and set(values) & {(v["key"], v["value"]) for v in g["values"]}
            ),
            None,
        )
        if home is None:
            groups.append({**pattern, "values": list(pattern["values"])})
            continue
        known = {(v["key"], v["value"]) for v in home["values"]}
        home["values"] += [v for v in pattern["values"] if (v["key"], v["value"]) not in known]
        home["lift"] = max(home["lift"], pattern["lift"])
        home["strength"] = max(home["strength"], pattern["strength"])
    for group in groups:
        group["text"] = " + ".join(v["value"] for v in group["values"])
    return groups


def week_patterns_refresh_due(*, now: datetime | None = None) -> list[str]:
    """The hourly task: the current week's patterns, and last week's once more if mined before it ended."""
    current = week_current(now=now)
    done = [week_patterns_refresh(week=current).week.isoformat()]
    previous = current.previous
    final = WeekPatterns.objects.filter(week=previous.monday, window_end__gte=previous.end).exists()
    if not final:
        done.append(week_patterns_refresh(week=previous).week.isoformat())
    return done
