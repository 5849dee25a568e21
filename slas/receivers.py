"""Listeners for the signals `tickets` sends, connected in SlasConfig.ready()."""

from __future__ import annotations

import logging

from tickets import signals

logger = logging.getLogger(__name__)


def _sync(cluster) -> None:
    from slas.services import _enqueue, clock_sync
    from slas.tasks import clock_sync_task

    if cluster is None:
        return
    try:
        clock_sync(cluster_id=cluster.pk)
    except Exception:  # noqa: BLE001 - never break the sender's other receivers
        logger.exception("SLA clock sync failed for cluster %s; retrying in a task", cluster.pk)
        _enqueue(clock_sync_task, cluster.pk)


def on_cluster_changed(sender, cluster=None, **kwargs) -> None:
    """A new cluster, or a product-side change to one: its clocks are synced by a task right after."""
    if cluster is not None:
        _sync_later(cluster)


def on_ticket_assigned(sender, ticket=None, cluster=None, previous_cluster_id=None, **kwargs) -> None:
    """A new ticket can change the matching policy, but only through what some policy looks at
    (its customer's segment, tier or MRR, its type, its kind); otherwise nothing is re-synced, which
    keeps the clustering engine's hot path free of SLA work."""
    if cluster is not None and ticket is not None and _may_change_policy(ticket, cluster):
        _sync_later(cluster)
    if previous_cluster_id and (cluster is None or previous_cluster_id != cluster.pk):
        from tickets.models import BugCluster

        _sync(BugCluster.objects.filter(pk=previous_cluster_id).first())


def on_tickets_assigned(sender, assignments=(), **kwargs) -> None:
    """A batch of new tickets the engine assigned: each cluster whose policy may change is re-synced once."""
    clusters = {
        cluster.pk: cluster for ticket, cluster in assignments if cluster and _may_change_policy(ticket, cluster)
    }
    for cluster in clusters.values():
        _sync_later(cluster)


_DEFAULT_FEEDBACK_KIND = {"bug": "bug_report", "feature_request": "feature_request"}


def _may_change_policy(ticket, cluster) -> bool:
    from slas.selectors import policy_conditions_in_use

    used = policy_conditions_in_use()
    if used.customer and ticket.customer_id:
        return True
    if used.ticket_type and ticket.ticket_type_id and ticket.ticket_type_id != cluster.ticket_type_id:
        return True
    return used.feedback_kind and ticket.feedback_kind != _DEFAULT_FEEDBACK_KIND.get(cluster.kind)


def _sync_later(cluster) -> None:
    """Re-sync in a task (the sender is often the engine's worker); inline when the broker is down."""
    from slas.tasks import clock_sync_task

    try:
        clock_sync_task.delay(cluster.pk)
    except Exception:  # noqa: BLE001 - broker down: do it now rather than lose it
        logger.warning("Broker unavailable; syncing the SLA clocks of cluster %s inline", cluster.pk)
        _sync(cluster)


def on_threshold_reached(sender, cluster=None, count=0, window_days=0, **kwargs) -> None:
    from slas.services import threshold_alert_create

    try:
        threshold_alert_create(cluster=cluster, count=count, window_days=window_days)
    except Exception:  # noqa: BLE001
        logger.exception("Could not record the threshold alert for cluster %s", getattr(cluster, "pk", None))


def on_spike_detected(sender, cluster=None, ratio=0.0, details=None, message="", **kwargs) -> None:
    from slas.services import spike_alert_create

    try:
        spike_alert_create(cluster=cluster, ratio=ratio, details=details or {}, message=message or "Spike")
    except Exception:  # noqa: BLE001
        logger.exception("Could not record the spike alert for cluster %s", getattr(cluster, "pk", None))


def connect() -> None:
    for signal in (
        signals.cluster_created,
        signals.cluster_status_changed,
        signals.cluster_updated,
        signals.cluster_question_answered,
        signals.cluster_fix_deployed,
    ):
        signal.connect(on_cluster_changed, dispatch_uid=f"slas.sync.{id(signal)}")
    signals.ticket_assigned.connect(on_ticket_assigned, dispatch_uid="slas.ticket_assigned")
    signals.tickets_assigned.connect(on_tickets_assigned, dispatch_uid="slas.tickets_assigned")
    signals.cluster_threshold_reached.connect(on_threshold_reached, dispatch_uid="slas.threshold")
    signals.cluster_spike_detected.connect(on_spike_detected, dispatch_uid="slas.spike")
