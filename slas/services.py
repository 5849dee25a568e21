"""Every write of the slas app: keeping clocks in sync, the sweep that fires alerts, and delivery."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from slas import channels
from slas.business_time import ALWAYS
from slas.delivery import deliver_leased
from slas.models import Alert, AlertKind, SlaPolicy, SlaTimer, Stage, Target, TimerState
from slas.selectors import (
    policies_active,
    policy_conditions_forget,
    policy_match,
    product_lead_emails,
    working_times,
    working_times_forget,
)
from slas.sweep import claim_batch, schedule
from tickets.models import OPEN_CLUSTER_STATUSES, BugCluster, ClusterKind, ClusterStatus
from tickets.queue import after_commit, task_enqueue

logger = logging.getLogger(__name__)

# --- Clocks ---------------------------------------------------------------------


def _window(cluster: BugCluster, target: str) -> tuple[datetime | None, bool, datetime | None]:
    """(window start, whether the window is open, when its target was met) for one target."""
    if target == Target.ACKNOWLEDGMENT:
        return cluster.created_at, cluster.is_open, cluster.acknowledged_at
    if target == Target.UPDATE:
        start = cluster.last_product_update_at or cluster.acknowledged_at
        return start, cluster.is_open and start is not None, None
    decided = cluster.kind == ClusterKind.FEATURE_REQUEST and cluster.status == ClusterStatus.IN_PROGRESS
    resolved = not cluster.is_open or bool(cluster.workaround.strip()) or decided
    done_at = (cluster.fix_deployed_at or cluster.status_changed_at or cluster.updated_at) if resolved else None
    return cluster.created_at, not resolved, done_at


def _sync_timer(timer, *, cluster, policy, times, calendar_of, now) -> None:
    start, active, done_at = _window(cluster, timer.target)
    if timer.pk is None:
        timer.opened_at = start or now
        timer.running_since = timer.opened_at if start else None
    elif timer.target == Target.UPDATE and start and start != timer.opened_at:
        # A product update: a new cadence window starts.
        timer.cycle += 1
        timer.opened_at, timer.running_since, timer.consumed_seconds = start, start, 0.0
        timer.next_stage, timer.breached_at = Stage.WARNING, None
        timer.met_at = timer.met_within = timer.elapsed_seconds = None
    if timer.running_since:
        # A clock started on an existing cluster (sla_sync, an import) counts its past on its policy's calendar.
        calendar_id = calendar_of.get(timer.policy_id) if timer.pk else (policy.calendar_id if policy else None)
        old = times.get(calendar_id, ALWAYS)
        end = min(now, done_at) if done_at else now
        timer.consumed_seconds += old.seconds_between(timer.running_since, end)
    timer.running_since = timer.deadline_at = timer.next_fire_at = None
    timer.policy = policy
    timer.target_seconds = policy.target_seconds(timer.target) if policy else None
    if timer.target_seconds is None:
        timer.state = TimerState.NONE
        return
    if done_at:
        if timer.met_at is None:
            timer.met_at, timer.elapsed_seconds = done_at, timer.consumed_seconds
            timer.met_within = timer.consumed_seconds <= timer.target_seconds
        timer.state = TimerState.MET
        return
    timer.met_at = timer.met_within = timer.elapsed_seconds = None
    if not active:
        timer.state = TimerState.STOPPED
    elif cluster.status == ClusterStatus.NEEDS_INFO:
        timer.state = TimerState.PAUSED
    else:
        wt = times.get(policy.calendar_id, ALWAYS)
        timer.state, timer.running_since = TimerState.RUNNING, now
        left = timer.target_seconds - timer.consumed_seconds
        timer.deadline_at = now + timedelta(seconds=left) if left <= 0 else wt.add(now, left)
        schedule(timer, policy, wt)


def clock_sync(*, cluster_id: int, now: datetime | None = None, policies: list[SlaPolicy] | None = None) -> list:
    """Bring the cluster's three SLA timers in line with its state and its first matching policy.

    Idempotent: called after every cluster change (signal receivers), after policy or calendar
    changes (for every open cluster) and by `manage.py sla_sync`. Business time already consumed
    is kept; a new policy's targets and calendar apply from now on. Pauses while NEEDS_INFO.
    """
    now = now or timezone.now()
    with transaction.atomic():
        cluster = BugCluster.objects.select_for_update().filter(pk=cluster_id).first()
        if cluster is None:
            return []
        policy = policy_match(cluster=cluster, policies=policies)
        times = working_times()
        calendar_of = dict(SlaPolicy.objects.values_list("id", "calendar_id"))
        existing = {t.target: t for t in SlaTimer.objects.select_for_update().filter(cluster=cluster)}
        timers = []
        for target in Target.values:
            timer = existing.get(target) or SlaTimer(cluster=cluster, target=target)
            _sync_timer(timer, cluster=cluster, policy=policy, times=times, calendar_of=calendar_of, now=now)
            timer.save()
            timers.append(timer)
        still_breached = {
            channels.LABEL_PREFIX + t.target
            for t in timers
            if t.breached_at and t.state in (TimerState.RUNNING, TimerState.PAUSED)
        }
        labels = [x for x in cluster.labels if not x.startswith(channels.LABEL_PREFIX) or x in still_breached]
        if labels != cluster.labels:
            BugCluster.objects.filter(pk=cluster.pk).update(labels=labels)
    return timers


def clocks_resync_open(*, batch_size: int = 200) -> int:
    """Re-sync every open cluster (after a policy or calendar change); returns how many."""
    ids = BugCluster.objects.filter(status__in=OPEN_CLUSTER_STATUSES).order_by("pk").values_list("pk", flat=True)
    policies = policies_active()
    count = 0
    for cluster_id in ids.iterator(chunk_size=batch_size):
        clock_sync(cluster_id=cluster_id, policies=policies)
        count += 1
    return count


def policy_changed(*, policy: SlaPolicy | None = None) -> None:
    """A policy, calendar or holiday changed (the admin, the API): this process forgets which conditions
    are in use and the calendars pages show (others within `CONDITIONS_CACHE_SECONDS`), and open clusters
    are re-synced after commit in a task."""
    policy_conditions_forget()
    working_times_forget()
    after_commit(task_enqueue, "slas.clocks_resync_open")


# --- The sweep: claim due stages, write alerts (the outbox) -----------------------


def alerts_requeue_stale(*, now: datetime | None = None, limit: int = 500) -> int:
    """Re-enqueue alerts still unsent a lease after they were enqueued (a lost task, a killed worker)."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.SLA_DELIVERY_LEASE_SECONDS)
    ids = list(
        Alert.objects.filter(sent_at=None, failed_at=None, enqueued_at__lte=now - lease)
        .filter(Q(lease_until=None) | Q(lease_until__lt=now))
        .order_by("enqueued_at")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        Alert.objects.filter(pk__in=ids).update(enqueued_at=now)
        after_commit(task_enqueue, "slas.alerts_dispatch", ids)
    return len(ids)


def timers_sweep(*, now: datetime | None = None, batch_size: int = 1000, max_batches: int = 200) -> dict[str, int]:
    """Fire every due SLA stage exactly once and re-enqueue stale alerts (the beat task).

    Safe to run concurrently and repeatedly: due timers are claimed under row locks with
    SKIP LOCKED (PostgreSQL) and moved to their next stage in the same transaction that
    writes the Alert rows, and a unique constraint refuses a second alert for a stage.
    Catches up after an outage by working through every overdue timer in batches.
    """
    now = now or timezone.now()
    times = working_times()
    policies = {p.pk: p for p in SlaPolicy.objects.select_related("head_of_product")}
    leads = product_lead_emails()
    claimed = fired = 0
    for _ in range(max_batches):
        n, ids = claim_batch(now=now, batch_size=batch_size, times=times, policies=policies, leads=leads)
        claimed, fired = claimed + n, fired + len(ids)
        if n < batch_size:
            break
    requeued = alerts_requeue_stale(now=now)
    return {"timers": claimed, "alerts": fired, "requeued": requeued}


# --- Delivery ------------------------------------------------------------------------


def alert_deliver(*, alert_id: int) -> str:
    """Send one alert through its channels; returns 'sent', 'skipped', 'retry' or 'failed'.

    Claims the alert with a lease (a conditional UPDATE) so a second worker, or the same task
    delivered twice, does nothing; records each channel that succeeded so a retry resends only
    the failed ones; marks the alert sent at the end. A worker killed mid-send leaves the lease
    to expire and the sweep re-enqueues the alert.
    """
    outcome, alert = deliver_leased(
        model=Alert,
        pk=alert_id,
        load=lambda pk: Alert.objects.select_related("cluster", "policy", "timer").get(pk=pk),
        senders_for=lambda alert: {name: channels.SENDERS[name] for name in channels.channels_for(alert)},
    )
    if outcome == "sent":
        logger.info("Alert %s sent (%s): %s", alert.pk, ", ".join(alert.deliveries), alert.message)
    return outcome


def threshold_alert_create(*, cluster: BugCluster, count: int, window_days: int) -> Alert:
    """Tell product leads that a cluster reached its ticket threshold, through the SLA channels."""
    return _volume_alert_create(
        cluster=cluster,
        message=f"{count} tickets in {window_days} days on #{cluster.pk} {cluster.title}",
        payload={
            "alert": "threshold",
            "count": count,
            "window_days": window_days,
            "detail": f"The cluster reached {count} tickets within {window_days} days.",
        },
    )


def spike_alert_create(*, cluster: BugCluster, ratio: float, details: dict, message: str) -> Alert:
    """Tell product leads that a cluster's volume spiked, through the same channels as a threshold alert.

    The tickets app already wrote the spike into the cluster's story, so the "event" channel is
    recorded as done and the story gets no second entry.
    """
    return _volume_alert_create(
        cluster=cluster,
        message=f"{message} on #{cluster.pk} {cluster.title}",
        payload={
            "alert": "spike",
            "ratio": ratio,
            "spike": details,
            "detail": (
                f"{details.get('count')} tickets against a usual {details.get('baseline')} "
                f"(ceiling {details.get('ceiling')}: baseline plus {details.get('k')} standard deviations)."
            ),
        },
        deliveries={"event": "sent"},
        kind=AlertKind.SPIKE,
    )


def regression_alert_create(*, cluster: BugCluster, verdict: str, reason: str) -> Alert:
    """Tell the cluster's owner (product leads when it has none) that its fix did not hold; the tickets
    app already wrote the regression into the cluster's story."""
    owner_email = cluster.owner.email if cluster.owner_id and cluster.owner.email else ""
    return _volume_alert_create(
        cluster=cluster,
        message=f"Fix {verdict} on #{cluster.pk} {cluster.title}",
        payload={"alert": "regression", "verdict": verdict, "detail": reason or f"The fix's verdict is {verdict}."},
        deliveries={"event": "sent"},
        kind=AlertKind.REGRESSION,
        recipients=[owner_email] if owner_email else None,
    )


def _volume_alert_create(
    *,
    cluster: BugCluster,
    message: str,
    payload: dict,
    deliveries=None,
    kind: str = AlertKind.THRESHOLD,
    recipients: list[str] | None = None,
) -> Alert:
    """Write a product-lead alert about a cluster's volume (threshold or spike) and send it after commit."""
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.create(
            cluster=cluster,
            policy=policy_match(cluster=cluster),
            kind=kind,
            message=message[:300],
            recipients=recipients or product_lead_emails(),
            payload={
                "cluster": {"id": cluster.pk, "title": cluster.title, "priority": cluster.priority},
                **payload,
                "url": channels.cluster_url(cluster.pk),
            },
            deliveries=deliveries or {},
            enqueued_at=now,
        )
        after_commit(task_enqueue, "slas.alerts_dispatch", [alert.pk])
    return alert
