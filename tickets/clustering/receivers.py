"""Keep the engine in step with tickets and clusters: assign what is filed, follow status changes."""

from __future__ import annotations

import logging
import time

from tickets import signals
from tickets.models import ASSIGNABLE_CLUSTER_STATUSES

logger = logging.getLogger(__name__)


DRAIN_WINDOW_SECONDS = 0.2
_window_opened_at = [float("-inf")]


def on_ticket_filed(sender, ticket=None, **kwargs) -> None:
    """Have the ticket assigned by a worker (the signal is sent after the ticket's transaction committed).

    Filings coalesce: the first ticket of a 0.2 s window enqueues one drain task, due at the window's
    end, that assigns every ticket then waiting; the others of the window enqueue nothing, so a busy
    help desk does not pay a broker round trip per ticket and the ticket still shows its cluster within
    a second. When the broker is down the ticket waits (`cluster_assigned_at` empty) and the
    `tickets.clusters_assign_pending` beat task assigns it later: nothing is lost.
    """
    from celery import current_app

    from tickets.tasks import cluster_assign_task, clusters_drain_task

    if ticket.cluster_id is not None:  # a person placed it ("same bug"): read it into that cluster
        try:
            cluster_assign_task.delay(ticket.pk)
        except Exception:  # noqa: BLE001 - `clustering_rebuild` reads it later; its cluster is already right
            logger.warning("Could not enqueue the indexing of ticket %s", ticket.pk)
        return
    eager = current_app.conf.task_always_eager
    now = time.monotonic()
    if not eager and now - _window_opened_at[0] < DRAIN_WINDOW_SECONDS:
        return  # the drain enqueued at this window's start runs after this ticket's commit
    _window_opened_at[0] = now
    try:
        clusters_drain_task.apply_async(countdown=0 if eager else DRAIN_WINDOW_SECONDS)
    except Exception:  # noqa: BLE001 - the sweep catches up
        _window_opened_at[0] = float("-inf")
        logger.warning("Could not enqueue the assignment of ticket %s; the pending sweep will assign it", ticket.pk)


ASSIGN_BATCH = 200


def on_tickets_filed(sender, ticket_ids=(), **kwargs) -> None:
    """A bulk create or import: one assignment task per 200 tickets instead of one each."""
    from tickets.tasks import cluster_assign_many_task

    ids = list(ticket_ids)
    for start in range(0, len(ids), ASSIGN_BATCH):
        try:
            cluster_assign_many_task.delay(ids[start : start + ASSIGN_BATCH])
        except Exception:  # noqa: BLE001 - the sweep catches up
            logger.warning("Could not enqueue the assignment of %s tickets; the pending sweep will", len(ids))
            return


def on_cluster_status_changed(sender, cluster=None, old_status=None, new_status=None, **kwargs) -> None:
    """A cluster leaves retrieval when it stops being assignable, and comes back when reopened."""
    from tickets.clustering.services import cluster_index_rebuild
    from tickets.clustering.storage import index_drop as cluster_index_drop

    was = old_status in ASSIGNABLE_CLUSTER_STATUSES
    now = new_status in ASSIGNABLE_CLUSTER_STATUSES
    if was and not now:
        cluster_index_drop(cluster_id=cluster.pk)
    elif now and not was:
        cluster_index_rebuild(cluster=cluster)


def on_ticket_assigned(sender, ticket=None, cluster=None, **kwargs) -> None:
    """Every way into a cluster (the engine, "same bug", the help desk's known cluster) may cross its
    alert threshold; the check costs nothing while the cluster is small or already alerted."""
    from tickets.clusters.alerts import cluster_threshold_check

    if cluster is None:
        return
    try:
        cluster_threshold_check(cluster=cluster)
    except Exception:  # noqa: BLE001 - the beat sweep re-checks; never break the other receivers
        logger.exception("Threshold check failed for cluster %s", cluster.pk)


def on_tickets_assigned(sender, assignments=(), **kwargs) -> None:
    """A batch of the engine's assignments: each cluster it grew is checked once, with its new count."""
    from tickets.clusters.alerts import clusters_threshold_check

    clusters = {cluster.pk: cluster for _, cluster in assignments if cluster is not None}
    try:
        clusters_threshold_check(clusters=clusters.values())
    except Exception:  # noqa: BLE001 - the beat sweep re-checks; never break the other receivers
        logger.exception("Threshold check failed for clusters %s", sorted(clusters))


_TEXT_FIELDS = frozenset({"title", "summary", "root_cause", "kind", "ticket_type"})


def on_cluster_saved(sender, instance=None, created=False, update_fields=None, raw=False, **kwargs) -> None:
    """A new cluster, or new words for one (a better title, a summary), is (re)indexed at once.

    Whatever creates the cluster (the engine, a person in the admin, a split) goes through here, so
    the cluster can be found by the next ticket. Counter updates (`update_fields` without text) skip it.
    """
    from tickets.clustering.services import cluster_index_rebuild

    if raw:
        return
    if created or update_fields is None or _TEXT_FIELDS.intersection(update_fields):
        cluster_index_rebuild(cluster=instance)


def connect() -> None:
    from django.db.models.signals import post_save

    from tickets.models import BugCluster

    post_save.connect(on_cluster_saved, sender=BugCluster, dispatch_uid="tickets.clustering.cluster_saved")
    signals.ticket_filed.connect(on_ticket_filed, dispatch_uid="tickets.clustering.filed")
    signals.tickets_filed.connect(on_tickets_filed, dispatch_uid="tickets.clustering.filed_many")
    signals.cluster_status_changed.connect(on_cluster_status_changed, dispatch_uid="tickets.clustering.status")
    signals.ticket_assigned.connect(on_ticket_assigned, dispatch_uid="tickets.clustering.threshold")
    signals.tickets_assigned.connect(on_tickets_assigned, dispatch_uid="tickets.clustering.threshold_many")
