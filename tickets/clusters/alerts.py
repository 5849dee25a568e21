"""Volume alerts on bug clusters: ticket thresholds and spikes.

Threshold: a cluster that reaches its ticket type's `alert_threshold_count` tickets within
`alert_threshold_days` days (by `reported_at`, so imported history counts when it happened) is
claimed once with a conditional UPDATE on `threshold_crossed_at`; in the same transaction the
help desks' `cluster.threshold_reached` webhook and the outbox message for `slas` are written.
The beat sweep re-arms clusters whose windowed count fell below the
threshold, and claims crossings the hot path missed.

Spike: a cluster whose last 24 hours or last 7 days are far above its own trailing baseline (a
recency-weighted average of earlier buckets plus `k` standard deviations, in the manner of
Sentry's escalating issues) is flagged on the cluster, gets an ALERT event in its story, and
`cluster_spike_detected` goes out (through the outbox) once per spike. The flag clears when the
volume is back to normal.

`tickets` never imports `slas`: the SLA app hears both through the outbox and sends the alerts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from tickets.integrations import webhooks
from tickets.models import BugCluster, ClusterEvent, ClusterStatus, Ticket, TicketType
from tickets.outbox import outbox_put

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD_COUNT = 20
DEFAULT_THRESHOLD_DAYS = 7
# Counts are as of the sweep's `now` (a sweep run as of a past moment sees that moment's tickets); a ticket
# dated slightly ahead (a help desk's clock) still counts.
AHEAD = timedelta(minutes=10)

# --- Threshold ------------------------------------------------------------------------


def threshold_for(cluster: BugCluster) -> tuple[int, int]:
    """(tickets, days) of the cluster's ticket type; the defaults (20 in 7 days) without one."""
    if cluster.ticket_type_id is None:
        return DEFAULT_THRESHOLD_COUNT, DEFAULT_THRESHOLD_DAYS
    if BugCluster.ticket_type.is_cached(cluster):
        ticket_type = cluster.ticket_type
        return ticket_type.alert_threshold_count, ticket_type.alert_threshold_days
    row = (
        TicketType.objects.filter(pk=cluster.ticket_type_id)
        .values_list("alert_threshold_count", "alert_threshold_days")
        .first()
    )
    return row or (DEFAULT_THRESHOLD_COUNT, DEFAULT_THRESHOLD_DAYS)


def _windowed_count(cluster_id: int, days: int, now: datetime) -> int:
    # Served by the (cluster, reported_at) index.
    return Ticket.objects.filter(
        cluster_id=cluster_id, reported_at__gte=now - timedelta(days=days), reported_at__lte=now + AHEAD
    ).count()


def _claim_crossing(cluster: BugCluster, count: int, days: int, now: datetime) -> bool:
    """Mark the crossing (once), with its webhook and outbox message in the same transaction."""
    with transaction.atomic():
        claimed = BugCluster.objects.filter(pk=cluster.pk, threshold_crossed_at__isnull=True).update(
            threshold_crossed_at=now
        )
        if claimed != 1:
            return False  # already crossed: another worker (or an earlier run) sent it
        cluster.threshold_crossed_at = now
        webhooks.webhook_threshold_reached(cluster=cluster, count=count, window_days=days)
        outbox_put(topic="cluster.threshold_reached", cluster_id=cluster.pk, count=count, window_days=days)
    logger.info("Cluster %s reached %s tickets in %s days", cluster.pk, count, days)
    return True


def cluster_threshold_check(*, cluster: BugCluster, now: datetime | None = None) -> bool:
    """Alert product leads (once per crossing) when `cluster` reached its ticket threshold.

    Called by the clustering engine after each assignment, inside or outside its transaction;
    the signal goes out after commit. Cheap when nothing can have crossed: no query while the
    cluster is marked crossed or holds fewer tickets in all than the threshold. Returns True
    when this call claimed the crossing.
    """
    if cluster.threshold_crossed_at is not None or cluster.status == ClusterStatus.MERGED:
        return False
    needed, days = threshold_for(cluster)
    if cluster.ticket_count < needed:
        return False
    now = now or timezone.now()
    count = _windowed_count(cluster.pk, days, now)
    if count < needed:
        return False
    return _claim_crossing(cluster, count, days, now)


def clusters_threshold_check(*, clusters, now: datetime | None = None) -> int:
    """`cluster_threshold_check` for the clusters a batch of assignments grew: one windowed count per
    window length, not one per cluster. Returns how many crossings this call claimed."""
    now = now or timezone.now()
    due = []
    for cluster in clusters:
        if cluster.threshold_crossed_at is not None or cluster.status == ClusterStatus.MERGED:
            continue
        needed, days = threshold_for(cluster)
        if cluster.ticket_count >= needed:
            due.append((cluster, needed, days))
    counts: dict[int, int] = {}
    for days in {days for _, _, days in due}:
        counts.update(
            Ticket.objects.filter(
                cluster_id__in=[c.pk for c, _, d in due if d == days],
                reported_at__gte=now - timedelta(days=days),
                reported_at__lte=now + AHEAD,
            )
            .order_by()
            .values("cluster_id")
            .annotate(n=Count("pk"))
            .values_list("cluster_id", "n")
        )
    return sum(
        1
        for cluster, needed, days in due
        if counts.get(cluster.pk, 0) >= needed and _claim_crossing(cluster, counts[cluster.pk], days, now)
    )


def _threshold_groups() -> list[tuple[int | None, int, int]]:
    """(ticket type id, tickets, days) for each type, and (None, defaults) for clusters without one."""
    rows = TicketType.objects.values_list("pk", "alert_threshold_count", "alert_threshold_days")
    return [*rows, (None, DEFAULT_THRESHOLD_COUNT, DEFAULT_THRESHOLD_DAYS)]


def _with_window_count(queryset, days: int, now: datetime):
    since = now - timedelta(days=days)
    window = Q(tickets__reported_at__gte=since, tickets__reported_at__lte=now + AHEAD)
    return queryset.annotate(window_count=Count("tickets", filter=window))


def cluster_thresholds_sweep(*, now: datetime | None = None, batch_size: int = 500) -> dict[str, int]:
    """Beat task body: re-arm crossed clusters whose windowed count fell below the threshold, and
    claim crossings the hot path missed (a broker outage, a bulk import, a changed threshold).

    Set-based, one pair of queries per ticket type; safe to run twice (re-arming is a conditional
    UPDATE and a crossing is claimed once).
    """
    now = now or timezone.now()
    rearmed = crossed = 0
    for type_id, needed, days in _threshold_groups():
        of_type = (
            BugCluster.objects.filter(ticket_type_id=type_id)
            if type_id is not None
            else BugCluster.objects.filter(ticket_type__isnull=True)
        )
        armed_ids = list(
            _with_window_count(of_type.filter(threshold_crossed_at__isnull=False), days, now)
            .filter(window_count__lt=needed)
            .values_list("pk", flat=True)[:batch_size]
        )
        if armed_ids:
            rearmed += BugCluster.objects.filter(pk__in=armed_ids, threshold_crossed_at__isnull=False).update(
                threshold_crossed_at=None
            )
        candidates = (
            of_type.filter(
                threshold_crossed_at__isnull=True,
                ticket_count__gte=needed,
                last_reported_at__gte=now - timedelta(days=days),
            )
            .exclude(status=ClusterStatus.MERGED)
            .select_related("ticket_type")
        )
        for cluster in _with_window_count(candidates, days, now).filter(window_count__gte=needed)[:batch_size]:
            with transaction.atomic():
                crossed += _claim_crossing(cluster, cluster.window_count, days, now)
    return {"rearmed": rearmed, "crossed": crossed}


# --- Spikes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeWindow:
    """One way of looking for a spike: `bucket_days`-long buckets, the newest against `history` older ones."""

    name: str
    bucket_days: int
    history: int
    min_volume: int
    half_life: float  # in buckets: how fast older buckets lose weight in the baseline


SPIKE_WINDOWS = (
    SpikeWindow(name="24h", bucket_days=1, history=28, min_volume=10, half_life=7.0),
    SpikeWindow(name="7d", bucket_days=7, history=7, min_volume=20, half_life=2.0),
)
HISTORY_DAYS = max(w.bucket_days * (w.history + 1) for w in SPIKE_WINDOWS)


def spike_settings() -> tuple[float, float, float]:
    """(k standard deviations, minimum ratio to the baseline, volume multiplier), from the environment
    variables of the same names (see triage/settings.py)."""
    return settings.CLUSTER_SPIKE_K, settings.CLUSTER_SPIKE_MIN_RATIO, settings.CLUSTER_SPIKE_MIN_VOLUME_FACTOR


def weighted_baseline(history: Sequence[int], half_life: float) -> tuple[float, float]:
    """Recency-weighted mean and standard deviation of `history` (newest first)."""
    if not history:
        return 0.0, 0.0
    weights = [0.5 ** (i / half_life) for i in range(len(history))]
    total = sum(weights)
    mean = sum(w * x for w, x in zip(weights, history, strict=True)) / total
    variance = sum(w * (x - mean) ** 2 for w, x in zip(weights, history, strict=True)) / total
    return mean, math.sqrt(variance)


def spike_evaluate(daily: Sequence[int], *, window: SpikeWindow, k: float, min_ratio: float, volume_factor: float):
    """Whether the newest bucket of `daily` counts (newest first) spikes; returns (is_spike, details).

    The ceiling is mean + k * max(std, sqrt(mean), 1): ticket counts are Poisson-like, so a steady
    cluster's noise is at least sqrt(mean) even when its history happens to be flat.
    """
    size = window.bucket_days
    buckets = [sum(daily[i * size : (i + 1) * size]) for i in range(window.history + 1)]
    count, history = buckets[0], buckets[1:]
    mean, std = weighted_baseline(history, window.half_life)
    ceiling = mean + k * max(std, math.sqrt(mean), 1.0)
    ratio = count / max(mean, 1.0)
    min_volume = math.ceil(window.min_volume * volume_factor)
    details = {
        "window": window.name,
        "count": count,
        "baseline": round(mean, 2),
        "std": round(std, 2),
        "k": k,
        "ceiling": round(ceiling, 2),
        "ratio": round(ratio, 2),
        "min_volume": min_volume,
        "history": history,
    }
    return count >= min_volume and count > ceiling and ratio >= min_ratio, details


def _daily_counts(cluster_ids: list[int], now: datetime) -> dict[int, list[int]]:
    """Ticket counts per cluster in HISTORY_DAYS rolling 24-hour buckets (newest first), one query."""
    buckets = {}
    for day in range(HISTORY_DAYS):
        since = now - timedelta(days=day + 1)
        # The newest bucket reaches a little past `now`, so a ticket dated slightly ahead still counts.
        condition = (
            Q(reported_at__gte=since, reported_at__lte=now + AHEAD)
            if day == 0
            else Q(reported_at__gte=since, reported_at__lt=since + timedelta(days=1))
        )
        buckets[f"d{day}"] = Count("id", filter=condition)
    rows = (
        Ticket.objects.filter(cluster_id__in=cluster_ids, reported_at__gte=now - timedelta(days=HISTORY_DAYS))
        .order_by()
        .values("cluster_id")
        .annotate(**buckets)
    )
    return {row["cluster_id"]: [row[f"d{day}"] for day in range(HISTORY_DAYS)] for row in rows}


def _spike_candidates(now: datetime) -> Iterable[int]:
    """Clusters with tickets in the last 7 days, and clusters flagged now (so their flag can clear)."""
    recent = Q(last_reported_at__gte=now - timedelta(days=7)) & ~Q(status=ClusterStatus.MERGED)
    return (
        BugCluster.objects.filter(recent | Q(spike_detected_at__isnull=False))
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator(chunk_size=2000)
    )


def _spike_flag(cluster_id: int, ratio: float, details: dict, now: datetime) -> bool:
    """Flag a spike once: the conditional UPDATE claims it; the ALERT event and signal follow."""
    with transaction.atomic():
        claimed = BugCluster.objects.filter(pk=cluster_id, spike_detected_at__isnull=True).update(
            spike_detected_at=now, spike_ratio=ratio, spike_details=details
        )
        if claimed != 1:
            BugCluster.objects.filter(pk=cluster_id).update(spike_ratio=ratio, spike_details=details)
            return False
        cluster = BugCluster.objects.get(pk=cluster_id)
        window = details["window"]
        message = (
            f"Spike: {details['count']} tickets in the last {'24 hours' if window == '24h' else '7 days'}, "
            f"{ratio:.1f}x its usual {details['baseline']:g}"
        )
        ClusterEvent.objects.create(cluster=cluster, kind=ClusterEvent.Kind.ALERT, message=message, data=details)
        outbox_put(topic="cluster.spike_detected", cluster_id=cluster.pk, ratio=ratio, details=details, message=message)
    logger.info("Cluster %s spiking: %s", cluster_id, message)
    return True


def clusters_spike_detect(*, now: datetime | None = None, batch_size: int = 500) -> dict[str, int]:
    """Beat task body: flag clusters whose recent volume spikes above their own baseline, once per
    spike, update the figures of clusters still spiking, and clear those back to normal.

    Set-based: one counting query per batch of candidate clusters. Safe to run twice.
    """
    now = now or timezone.now()
    k, min_ratio, volume_factor = spike_settings()
    flagged = cleared = still = 0
    ids = list(_spike_candidates(now))
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        counts = _daily_counts(batch, now)
        calm: list[int] = []
        for cluster_id in batch:
            daily = counts.get(cluster_id, [0] * HISTORY_DAYS)
            spiking = []
            for window in SPIKE_WINDOWS:
                is_spike, details = spike_evaluate(
                    daily, window=window, k=k, min_ratio=min_ratio, volume_factor=volume_factor
                )
                if is_spike:
                    spiking.append(details)
            if not spiking:
                calm.append(cluster_id)
                continue
            worst = max(spiking, key=lambda d: d["ratio"])
            worst["windows"] = [d["window"] for d in spiking]
            if _spike_flag(cluster_id, worst["ratio"], worst, now):
                flagged += 1
            else:
                still += 1
        if calm:
            cleared += BugCluster.objects.filter(pk__in=calm, spike_detected_at__isnull=False).update(
                spike_detected_at=None, spike_ratio=None, spike_details={}
            )
    return {"candidates": len(ids), "flagged": flagged, "still_spiking": still, "cleared": cleared}
