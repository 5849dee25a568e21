"""The claim step of the beat sweep: lock due timers, decide which stages fire, write the alerts.

Works on plain rows (a small dataclass per timer, a dict per alert) rather than model
instances: at a thousand due timers per minute, building Django models was most of the
sweep's cost. `services.timers_sweep` calls `claim_batch` until nothing is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from slas import bulk, channels
from slas.business_time import ALWAYS, humanize_seconds
from slas.models import STAGE_KIND, AlertKind, SlaPolicy, SlaTimer, Stage, Target, TimerState
from tickets.queue import after_commit, task_enqueue

STAGE_LEVEL = {Stage.ESCALATION_1: 1, Stage.ESCALATION_2: 2, Stage.ESCALATION_3: 3}
TARGET_WORDS = {
    Target.ACKNOWLEDGMENT: "acknowledgment",
    Target.UPDATE: "product update",
    Target.RESOLUTION: "resolution",
}
FIELDS = (
    "pk", "cluster_id", "target", "policy_id", "state", "target_seconds", "cycle", "consumed_seconds",
    "running_since", "deadline_at", "next_stage", "next_fire_at", "breached_at",
    "cluster__title", "cluster__priority", "cluster__status", "cluster__owner_id",
)  # fmt: skip


@dataclass(slots=True)
class DueTimer:
    """The columns of a due timer (and its cluster) that the sweep reads and moves on."""

    pk: int
    cluster_id: int
    target: str
    policy_id: int | None
    state: str
    target_seconds: float | None
    cycle: int
    consumed_seconds: float
    running_since: datetime | None
    deadline_at: datetime | None
    next_stage: int
    next_fire_at: datetime | None
    breached_at: datetime | None
    title: str
    priority: str
    status: str
    owner_id: int | None


def schedule(timer, policy: SlaPolicy, wt) -> None:
    """Set next_stage / next_fire_at from the first stage still to fire (call on a running timer)."""
    thresholds = policy.stage_thresholds(timer.target_seconds)
    stage = timer.next_stage
    while stage < Stage.DONE and thresholds[stage] is None:
        stage += 1
    timer.next_stage = stage
    if stage >= Stage.DONE:
        timer.next_fire_at = None
        return
    remaining = thresholds[stage] - timer.consumed_seconds
    timer.next_fire_at = timer.running_since if remaining <= 0 else wt.add(timer.running_since, remaining)
    if stage > Stage.BREACH and timer.breached_at is not None:
        # Escalation delays count from the breach as it was announced: a breach announced late (after an
        # outage, or on a history loaded at once) still gives the owner, then the leads, their time.
        announced = wt.add(timer.breached_at, thresholds[stage] - thresholds[Stage.BREACH])
        timer.next_fire_at = max(timer.next_fire_at, announced)


def recipients(stage: int, owner_email: str | None, policy: SlaPolicy, leads: list[str]) -> list[str]:
    """Warning, breach and level 1 go to the owner (product leads when there is none); level 2 to
    the product leads; level 3 to the head of product (policy, then SLA_HEAD_OF_PRODUCT_EMAILS)."""
    if stage == Stage.ESCALATION_2:
        return leads
    if stage == Stage.ESCALATION_3:
        head = policy.head_of_product.email if policy.head_of_product and policy.head_of_product.email else None
        return [head] if head else (list(settings.SLA_HEAD_OF_PRODUCT_EMAILS) or leads)
    return [owner_email] if owner_email else leads


def alert_row(timer: DueTimer, stage: int, policy: SlaPolicy, due_at, owner, leads, now) -> dict:
    """The Alert row for one fired stage, with a JSON-ready payload for every channel."""
    owner_email, owner_name = owner
    kind = STAGE_KIND[stage]
    level = STAGE_LEVEL.get(stage, 0)
    what = TARGET_WORDS[timer.target]
    if kind == AlertKind.WARNING:
        headline = f"SLA warning: {what} due soon"
    elif kind == AlertKind.BREACH:
        headline = f"SLA breach: {what} overdue"
    else:
        headline = f"SLA escalation level {level}: {what} overdue"
    window = humanize_seconds(timer.target_seconds)
    return {
        "cluster_id": timer.cluster_id,
        "timer_id": timer.pk,
        "policy_id": policy.pk,
        "kind": kind.value,
        "target": timer.target,
        "stage": stage,
        "level": level,
        "cycle": timer.cycle,
        "due_at": due_at,
        "message": f"{headline} on #{timer.cluster_id} {timer.title}"[:300],
        "recipients": recipients(stage, owner_email, policy, leads),
        "payload": {
            "cluster": {
                "id": timer.cluster_id,
                "title": timer.title,
                "priority": timer.priority,
                "status": timer.status,
                "owner": owner_name,
            },
            "target": timer.target,
            "stage": Stage(stage).label,
            "level": level,
            "policy": policy.name,
            "due_at": timer.deadline_at.isoformat() if timer.deadline_at else None,
            "fired_at": now.isoformat(),
            "detail": f"Policy {policy.name}: {what} within {window} of business time "
            f"(priority {timer.priority or 'not set'}).",
            "url": channels.cluster_url(timer.cluster_id),
        },
        "enqueued_at": now,
    }


def _fire(timer: DueTimer, policy: SlaPolicy, wt, now) -> list[int]:
    """The stage of `timer` that fires now (at most one); moves the timer to its next stage.

    One stage per sweep: when several are overdue (after an outage), the breach says it all and the
    escalation levels follow at their own delays after it, never at the same instant.
    """
    consumed = timer.consumed_seconds + wt.seconds_between(timer.running_since, now)
    thresholds = policy.stage_thresholds(timer.target_seconds)
    due, stage = [], timer.next_stage
    while stage < Stage.DONE:
        if thresholds[stage] is not None:
            # The index said the first stage is due; later ones must be due by the clock.
            if consumed + 1 < thresholds[stage] and (due or consumed + 60 < thresholds[stage]):
                break
            due.append(stage)
            if stage >= Stage.BREACH:
                break  # escalations wait for their delay after this one
        stage += 1
    if Stage.WARNING in due and Stage.BREACH in due:
        due.remove(Stage.WARNING)  # caught up after an outage: the breach says it all
    fired = due[-1:] if due else []
    if fired:
        timer.next_stage = fired[0] + 1
        if fired[0] >= Stage.BREACH and timer.breached_at is None:
            timer.breached_at = now
    else:
        timer.next_stage = stage
    schedule(timer, policy, wt)
    if timer.next_fire_at and timer.next_fire_at <= now:
        timer.next_fire_at = now + timedelta(minutes=1)  # the next stage never shares this instant
    return fired


def claim_batch(*, now, batch_size, times, policies, leads) -> tuple[int, list[int]]:
    """Lock up to `batch_size` due timers (skipping rows another sweep holds), fire their due
    stages and move each to its next stage, all in one transaction. Returns (timers, alert ids)."""
    with transaction.atomic():
        timers = [
            DueTimer(*row)
            for row in SlaTimer.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(next_fire_at__lte=now)
            .order_by("next_fire_at")
            .values_list(*FIELDS)[:batch_size]
        ]
        User = get_user_model()
        owners = {
            pk: (email or None, username)
            for pk, email, username in User.objects.filter(
                pk__in={t.owner_id for t in timers if t.owner_id}
            ).values_list("pk", "email", User.USERNAME_FIELD)
        }
        alerts = []
        for timer in timers:
            policy = policies.get(timer.policy_id)
            if policy is None or timer.target_seconds is None or timer.state != TimerState.RUNNING:
                timer.next_fire_at = None
                continue
            due_at = timer.next_fire_at
            fired = _fire(timer, policy, times.get(policy.calendar_id, ALWAYS), now)
            owner = owners.get(timer.owner_id, (None, None))
            alerts += [alert_row(timer, s, policy, due_at, owner, leads, now) for s in fired]
        ids = bulk.alerts_insert(alerts) if alerts else []
        if timers:
            bulk.timers_move_on(timers)
        if ids:
            after_commit(task_enqueue, "slas.alerts_dispatch", ids)
    return len(timers), ids
