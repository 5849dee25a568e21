"""How the metrics app hears `tickets`: daily counts, fix measurement, and the verification gate.

Connected in `MetricsConfig.ready()`. The outbox signals arrive after the commit; a receiver raises
when its work failed and the outbox calls it again later (the others it does not call twice).
`cluster_status_changing` arrives inside the status change's transaction: raising refuses the move.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete

from metrics.services import (
    fix_impact_register,
    fix_verification_guard,
    rollup_ticket_deleted,
    rollup_ticket_moved,
    rollup_tickets_assigned,
)
from metrics.services.backdated import rollup_backdated_tickets
from metrics.services.fixes import last_complete_day
from metrics.services.rollup import local_day
from tickets import signals
from tickets.models import ClusterStatus, Ticket
from tickets.queue import task_enqueue


def on_ticket_assigned(sender, ticket, cluster, previous_cluster_id=None, **kwargs) -> None:
    rollup_ticket_moved(ticket=ticket, cluster_id=cluster.pk, previous_cluster_id=previous_cluster_id)
    if not previous_cluster_id:
        rollup_backdated_tickets(tickets=[ticket])
    _remeasure_if_backfilled([ticket])


def on_tickets_assigned(sender, assignments=(), **kwargs) -> None:
    """The engine assigned a batch of new tickets: their counts in one statement."""
    rollup_tickets_assigned(assignments)
    rollup_backdated_tickets(tickets=[ticket for ticket, _ in assignments])
    _remeasure_if_backfilled([ticket for ticket, _ in assignments])


def _remeasure_if_backfilled(tickets) -> None:
    """Tickets reported on a day a measurement may already have read (before yesterday) change the counts of
    past days: a task measures again the fixes whose windows they touch (the hourly beat task does if not)."""
    through = last_complete_day()
    if any(ticket.reported_at and local_day(ticket.reported_at) <= through for ticket in tickets):
        task_enqueue("metrics.fix_impacts_remeasure_changed")


def on_tickets_moved(sender, cluster_ids=(), **kwargs) -> None:
    """People moved many tickets (merge, split, undo): recount those clusters' days in a task."""
    if cluster_ids and not task_enqueue("metrics.rollup_clusters", list(cluster_ids)):
        raise RuntimeError("broker unavailable; the outbox will ask again")


def on_ticket_deleted(sender, instance, **kwargs) -> None:
    transaction.on_commit(lambda: rollup_ticket_deleted(ticket=instance), robust=True)


def on_fix_deployed(sender, cluster, deployed_at, **kwargs) -> None:
    """Write the measurement row, then ask a worker to compute it (the hourly beat task measures it if not)."""
    fix_impact_register(cluster=cluster, deployed_at=deployed_at)
    task_enqueue("metrics.fix_impact_recompute", cluster.pk)


def on_status_changing(sender, cluster, status, actor=None, context=None, **kwargs) -> None:
    """Every route into VERIFIED (the fix page, the API, the cluster page) passes the verification gate."""
    if status == ClusterStatus.VERIFIED:
        fix_verification_guard(cluster=cluster, actor=actor, context=context or {})


def connect() -> None:
    signals.ticket_assigned.connect(on_ticket_assigned, dispatch_uid="metrics.rollup.assigned")
    signals.tickets_assigned.connect(on_tickets_assigned, dispatch_uid="metrics.rollup.assigned_many")
    signals.tickets_moved.connect(on_tickets_moved, dispatch_uid="metrics.rollup.moved")
    signals.cluster_fix_deployed.connect(on_fix_deployed, dispatch_uid="metrics.fix_deployed")
    signals.cluster_status_changing.connect(on_status_changing, dispatch_uid="metrics.verification_gate")
    # New tickets are counted in the organisation's daily volume by the `metrics.rollup_recent_days`
    # beat task (one COUNT per side), not per ticket, so filing a ticket costs this app no query.
    post_delete.connect(on_ticket_deleted, sender=Ticket, dispatch_uid="metrics.rollup.deleted")
