"""How the SLA app hears what happened in `tickets`: the outbox sends these signals after the commit.

Connected in `SlasConfig.ready()`. The outbox calls each receiver on its own and calls it again later
if it raises, so a receiver raises when its work failed and is idempotent: a clock sync reads the
cluster as it is, whatever it heard before.
"""

from __future__ import annotations

import logging

from slas.selectors import policy_conditions_in_use
from slas.services import clock_sync, spike_alert_create, threshold_alert_create
from tickets import signals
from tickets.models import BugCluster, ClusterKind, FeedbackKind
from tickets.queue import task_enqueue

logger = logging.getLogger(__name__)


def _sync_later(cluster: BugCluster) -> None:
    """Re-sync in a task (the sender is often the engine's worker); inline when the broker is down."""
    if not task_enqueue("slas.clock_sync", cluster.pk):
        logger.warning("Broker unavailable; syncing the SLA clocks of cluster %s inline", cluster.pk)
        clock_sync(cluster_id=cluster.pk)


def on_cluster_changed(sender, cluster=None, **kwargs) -> None:
    """A new cluster, or a product-side change to one: its clocks are synced by a task right after."""
    if cluster is not None:
        _sync_later(cluster)


# The feedback kind a cluster's tickets have unless told otherwise; any other one may match another policy.
_USUAL_FEEDBACK_KIND = {
    ClusterKind.BUG: FeedbackKind.BUG_REPORT,
    ClusterKind.FEATURE_REQUEST: FeedbackKind.FEATURE_REQUEST,
}


def _may_change_policy(ticket, cluster) -> bool:
    """A new ticket can change the matching policy only through what some policy looks at (its customer's
    segment, tier or MRR, its type, its kind); otherwise nothing is re-synced, which keeps the clustering
    engine's hot path free of SLA work."""
    used = policy_conditions_in_use()
    if used.customer and ticket.customer_id:
        return True
    if used.ticket_type and ticket.ticket_type_id and ticket.ticket_type_id != cluster.ticket_type_id:
        return True
    return used.feedback_kind and ticket.feedback_kind != _USUAL_FEEDBACK_KIND.get(cluster.kind)


def on_ticket_assigned(sender, ticket=None, cluster=None, previous_cluster_id=None, **kwargs) -> None:
    """A person placed or moved a ticket: its new cluster may match another policy, its old one too."""
    if cluster is not None and ticket is not None and _may_change_policy(ticket, cluster):
        _sync_later(cluster)
    left = previous_cluster_id and (cluster is None or previous_cluster_id != cluster.pk)
    if left and BugCluster.objects.filter(pk=previous_cluster_id).exists():
        clock_sync(cluster_id=previous_cluster_id)


def on_tickets_assigned(sender, assignments=(), **kwargs) -> None:
    """A batch of new tickets the engine assigned: each cluster whose policy may change is re-synced once."""
    clusters = {
        cluster.pk: cluster for ticket, cluster in assignments if cluster and _may_change_policy(ticket, cluster)
    }
    for cluster in clusters.values():
        _sync_later(cluster)


def on_threshold_reached(sender, cluster=None, count=0, window_days=0, **kwargs) -> None:
    threshold_alert_create(cluster=cluster, count=count, window_days=window_days)


def on_spike_detected(sender, cluster=None, ratio=0.0, details=None, message="", **kwargs) -> None:
    spike_alert_create(cluster=cluster, ratio=ratio, details=details or {}, message=message or "Spike")


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
