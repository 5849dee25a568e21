"""Listeners for the tickets app's signals: keep the rollup current and start fix measurements.

Every receiver swallows and logs its own errors: signals are sent with `send()`, so an
exception here would stop the receivers of other apps. Anything missed is caught by the
rollup rebuild that precedes every measurement and by the periodic sweep.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def on_ticket_assigned(sender, ticket, cluster, previous_cluster_id=None, **kwargs) -> None:
    from metrics.services import rollup_ticket_moved

    try:
        rollup_ticket_moved(ticket=ticket, cluster_id=cluster.pk, previous_cluster_id=previous_cluster_id)
    except Exception:
        logger.exception("Could not count ticket %s in cluster %s", ticket.pk, cluster.pk)
    _remeasure_if_backfilled([ticket])


def on_tickets_assigned(sender, assignments=(), **kwargs) -> None:
    """The engine assigned a batch of new tickets: their counts in one statement."""
    from metrics.services import rollup_tickets_assigned

    try:
        rollup_tickets_assigned(assignments)
    except Exception:
        logger.exception("Could not count %s newly assigned tickets", len(assignments))
    _remeasure_if_backfilled([ticket for ticket, _ in assignments])


def _remeasure_if_backfilled(tickets) -> None:
    """Tickets reported on a day some measurement may already have read (before yesterday) change the counts
    of past days: measure again, in a task after commit, the fixes whose windows they touch."""
    from metrics.services.fixes import last_complete_day
    from metrics.services.rollup import local_day
    from metrics.tasks import fix_impacts_remeasure_task

    through = last_complete_day()
    if not any(ticket.reported_at and local_day(ticket.reported_at) <= through for ticket in tickets):
        return

    def enqueue() -> None:
        try:
            fix_impacts_remeasure_task.delay()
        except Exception:  # noqa: BLE001 - the hourly beat task re-measures what this missed
            logger.warning("Could not enqueue the re-measurement of fixes; the hourly sweep will do it")

    transaction.on_commit(enqueue, robust=True)


def on_tickets_moved(sender, cluster_ids=(), **kwargs) -> None:
    """People moved many tickets (merge, split, undo): recount those clusters' days in a task."""
    from metrics.tasks import rollup_clusters_task

    if not cluster_ids:
        return
    try:
        rollup_clusters_task.delay(list(cluster_ids))
    except Exception:  # noqa: BLE001 - broker down: recount now rather than leave the counts wrong
        logger.warning("Broker unavailable; recounting clusters %s inline", cluster_ids)
        try:
            rollup_clusters_task(list(cluster_ids))
        except Exception:
            logger.exception("Could not recount clusters %s", cluster_ids)


def on_ticket_deleted(sender, instance, **kwargs) -> None:
    from metrics.services import rollup_ticket_deleted

    def uncount() -> None:
        try:
            rollup_ticket_deleted(ticket=instance)
        except Exception:
            logger.exception("Could not uncount deleted ticket %s", instance.pk)

    transaction.on_commit(uncount, robust=True)


def on_fix_deployed(sender, cluster, deployed_at, **kwargs) -> None:
    """Write the measurement row first, then ask a worker to compute it; the sweep retries if that fails."""
    from metrics.services import fix_impact_register
    from metrics.tasks import fix_impact_recompute_task

    try:
        fix_impact_register(cluster=cluster, deployed_at=deployed_at)
    except Exception:
        logger.exception("Could not register the fix of cluster %s", cluster.pk)
        return
    try:
        fix_impact_recompute_task.delay(cluster.pk)
    except Exception:
        logger.exception("Could not enqueue the fix measurement of cluster %s; the sweep will do it", cluster.pk)
