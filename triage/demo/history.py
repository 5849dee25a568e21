"""What beat would have raised on the days before the demo's end, raised on those days and delivered then.

The demo writes months of history at once. Beat's tasks, run over that history for the first time, would find
every threshold crossing, spike, regression and at-risk account of the past at once and send them all on the
first start. Instead the demo runs the same services as of each past day (their `now`), and records what they
raised as delivered that day: the delivery fields the delivery services set, and the alert's entry in the
cluster's story dated that day. What is new on the demo's last day is left to the worker: a real organisation
gets it that day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from metrics.models import FixImpact, FixVerdictChange
from metrics.services.regressions import REGRESSION_VERDICTS, fix_regressions_flag
from metrics.services.rollup import day_start
from slas.channels import SENDERS, channels_for
from slas.models import Alert, AlertKind
from tickets.clusters.alerts import cluster_thresholds_sweep, clusters_spike_detect
from tickets.models import BugCluster, ClusterEvent, OutboxMessage
from tickets.outbox import outbox_dispatch
from triage.accounts.delivery import channels_for as handoff_channels_for
from triage.accounts.models import AccountHealth, Handoff
from triage.accounts.selectors import rule_current
from triage.accounts.services import accounts_assess

VOLUME_DAYS = 21  # volume sweeps replayed over the last three weeks (spikes look back 28 days on their own)
ACCOUNT_DAYS = 60  # at-risk assessments replayed over two windows of the default rule
BEAT_HOUR = time(9)  # the moment of each past day the replay stands for
STORY_CHANNELS = ("event",)  # written for real, dated; the others (email, chat...) went out that day


def _last_pk(model) -> int:
    return model.objects.aggregate(last=Max("pk"))["last"] or 0


def past_days(*, end: datetime, days: int) -> list[datetime]:
    """BEAT_HOUR of each of the `days` days before the day of `end`, oldest first."""
    today = timezone.localdate(end)
    return [day_start(today - timedelta(days=n)) + timedelta(hours=BEAT_HOUR.hour) for n in range(days, 0, -1)]


def delivered_then(step: Callable[[], object], *, at: datetime) -> None:
    """Run `step` (services as of `at`) and record the alerts it raised as delivered at `at`.

    One transaction: the announcements `step` wrote go to their receivers inside it (the alerts are
    written), the alerts are recorded as delivered, and only then, after the commit, are their delivery
    tasks enqueued: they find nothing left to send.
    """
    with transaction.atomic():
        alerts_from, events_from, messages_from = _last_pk(Alert), _last_pk(ClusterEvent), _last_pk(OutboxMessage)
        step()
        outbox_dispatch(ids=list(OutboxMessage.objects.filter(pk__gt=messages_from).values_list("pk", flat=True)))
        for alert in Alert.objects.filter(pk__gt=alerts_from).select_related("cluster", "policy", "timer"):
            names = channels_for(alert)
            for name in STORY_CHANNELS:
                if name in names and alert.deliveries.get(name) != "sent":
                    SENDERS[name](alert)
            Alert.objects.filter(pk=alert.pk).update(
                created_at=at, enqueued_at=at, sent_at=at, attempts=1, deliveries=dict.fromkeys(names, "sent")
            )
        ClusterEvent.objects.filter(pk__gt=events_from).update(created_at=at)


def volume_claims_withdraw(*, since: datetime) -> int:
    """Withdraw the crossings and spikes claimed since `since` while the history was being loaded (the
    clustering engine and the filing service check them as of the load, when the history arrives at once)
    with their alerts, none of them sent yet; the replay then claims each on the day it happened."""
    alerts = Alert.objects.filter(
        kind__in=[AlertKind.THRESHOLD, AlertKind.SPIKE], sent_at=None, attempts=0, created_at__gte=since
    )
    clusters = set(alerts.values_list("cluster_id", flat=True))
    withdrawn, _ = alerts.delete()
    BugCluster.objects.filter(pk__in=clusters, threshold_crossed_at__gte=since).update(threshold_crossed_at=None)
    BugCluster.objects.filter(pk__in=clusters, spike_detected_at__gte=since).update(
        spike_detected_at=None, spike_ratio=None, spike_details={}
    )
    ClusterEvent.objects.filter(
        cluster_id__in=clusters, kind=ClusterEvent.Kind.ALERT, created_at__gte=since, message__startswith="Spike:"
    ).delete()
    return withdrawn


def volume_alerts_replay(*, end: datetime, days: int = VOLUME_DAYS) -> None:
    """The threshold and spike sweeps as beat ran them each past day, each crossing and spike sent that day."""
    for at in past_days(end=end, days=days):
        delivered_then(lambda at=at: (cluster_thresholds_sweep(now=at), clusters_spike_detect(now=at)), at=at)


def regressions_replay() -> int:
    """Fixes whose replayed verdict history turned regressed (or worse) on a past day are flagged on that day,
    their owner alerted then; returns how many."""
    flagged = 0
    for row in FixImpact.objects.filter(regression_flagged_at=None).order_by("pk"):
        if row.current_verdict not in REGRESSION_VERDICTS:
            continue
        changes = FixVerdictChange.objects.filter(fix_impact=row).order_by("measured_at", "pk")
        turned = next((c for c in changes if c.current_verdict in REGRESSION_VERDICTS), None)
        if turned is None:
            continue  # regressed only in today's read: the worker flags it
        delivered_then(
            lambda row=row, at=turned.measured_at: fix_regressions_flag(rows=[row], now=at), at=turned.measured_at
        )
        flagged += 1
    return flagged


def accounts_replay(*, end: datetime, days: int = ACCOUNT_DAYS, customer_ids: list[int] | None = None) -> dict:
    """The at-risk assessment as beat ran it each past day, each handoff sent to its CSM that day; then
    today's assessment as of `end`, whose new handoffs (if any) the worker sends.

    With `customer_ids`: those accounts' story is told again from the start (more of their tickets were
    written since), replacing the assessments and handoffs the demo gave them before.
    """
    rule = rule_current()
    if customer_ids is not None:
        Handoff.objects.filter(customer_id__in=customer_ids).delete()
        AccountHealth.objects.filter(customer_id__in=customer_ids).delete()
    for at in past_days(end=end, days=days):
        with transaction.atomic():
            handoffs_from = _last_pk(Handoff)
            accounts_assess(now=at, customer_ids=customer_ids)
            for handoff in Handoff.objects.filter(pk__gt=handoffs_from):
                names = handoff_channels_for(handoff, rule)
                Handoff.objects.filter(pk=handoff.pk).update(
                    created_at=at, enqueued_at=at, sent_at=at, attempts=1, deliveries=dict.fromkeys(names, "sent")
                )
    return accounts_assess(now=end, customer_ids=customer_ids)
