"""Celery tasks of the tickets app: thin entry points that load by id and call a service.

Services enqueue these by name (`tickets.queue.task_enqueue`), as beat does (triage/celery.py), so
no service imports this module and every import here points downwards.
"""

import contextlib

from celery import shared_task

from tickets import outbox
from tickets.clustering import assignment, storage
from tickets.clustering.services import clusters_index_rebuild
from tickets.clusters import alerts
from tickets.clusters.services import cluster_refresh_counters
from tickets.intake.ingest import idempotency_records_purge as purge_idempotency_records
from tickets.intake.uploads import upload_purge_stale
from tickets.integrations import webhooks
from tickets.models import BugCluster


@shared_task(name="tickets.cluster_refresh_counters")
def cluster_refresh_counters_task(cluster_id: int) -> int | None:
    """Recompute a cluster's ticket count and first/last report time; returns the count."""
    cluster = BugCluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        return None
    return cluster_refresh_counters(cluster=cluster).ticket_count


@shared_task(name="tickets.cluster_assign", ignore_result=True, acks_late=True)
def cluster_assign_task(ticket_id: int) -> int | None:
    """Assign one ticket to a cluster (or read a person-placed one into its cluster); returns the cluster id."""
    result = assignment.ticket_assign(ticket_id=ticket_id)
    return result.cluster.pk if result.cluster else None


@shared_task(name="tickets.cluster_assign_many", ignore_result=True, acks_late=True)
def cluster_assign_many_task(ticket_ids: list[int]) -> int:
    """Assign a bulk create's or an import's tickets, in batches; returns how many were assigned."""
    return assignment.tickets_assign_in_batches(ticket_ids)


@shared_task(name="tickets.clusters_drain", ignore_result=True)
def clusters_drain_task() -> int:
    """Assign every ticket waiting for the engine (the coalesced filings of a short window)."""
    return assignment.tickets_assign_all_pending()


@shared_task(name="tickets.clusters_assign_pending", ignore_result=True)
def clusters_assign_pending_task() -> int:
    """Beat: assign tickets whose assignment task was lost (broker outage, worker crash)."""
    return assignment.tickets_assign_pending()


@shared_task(name="tickets.cluster_index_rebuild", ignore_result=True, acks_late=True)
def cluster_index_rebuild_task(cluster_ids: list[int]) -> int:
    """Rebuild these clusters' part of the engine's index (after a status change, new words, moved tickets)."""
    return clusters_index_rebuild(cluster_ids=cluster_ids)


@shared_task(name="tickets.template_lines_prune", ignore_result=True)
def template_lines_prune_task() -> int:
    """Beat, weekly: forget the description lines only one ticket carried (see `storage.template_lines_prune`)."""
    return storage.template_lines_prune()


@shared_task(name="tickets.uploads_purge_stale")
def uploads_purge_stale_task() -> int:
    """Delete files of report forms that were never submitted (older than a day)."""
    return upload_purge_stale()


@shared_task(name="tickets.webhook_deliver", ignore_result=True)
def webhook_deliver(delivery_id: int) -> str | None:
    """POST one webhook delivery; on failure schedule the next try with exponential backoff."""
    outcome = webhooks.webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome is None:
        return None
    if outcome.retry_in is not None:
        # Broker down: the row stays pending and the sweep sends it when due.
        with contextlib.suppress(Exception):
            webhook_deliver.apply_async((delivery_id,), countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="tickets.webhook_deliveries_sweep", ignore_result=True)
def webhook_deliveries_sweep() -> int:
    """Beat: enqueue webhook deliveries that are due but not in flight (after an outage or a crash)."""
    return webhooks.webhook_deliveries_sweep()


@shared_task(name="tickets.outbox_sweep", ignore_result=True)
def outbox_sweep_task() -> int:
    """Beat: send the outbox messages left unsent (a process died after its commit, a receiver failed)."""
    return outbox.outbox_sweep()


@shared_task(name="tickets.outbox_purge", ignore_result=True)
def outbox_purge_task() -> int:
    """Beat: forget outbox messages sent a week ago."""
    return outbox.outbox_purge()


@shared_task(name="tickets.idempotency_records_purge", ignore_result=True)
def idempotency_records_purge() -> int:
    """Beat: forget Idempotency-Key responses older than their window."""
    return purge_idempotency_records()


@shared_task(name="tickets.cluster_thresholds_sweep", ignore_result=True)
def cluster_thresholds_sweep_task() -> dict:
    """Beat: re-arm clusters back under their ticket threshold and catch crossings the hot path missed."""
    return alerts.cluster_thresholds_sweep()


@shared_task(name="tickets.clusters_spike_detect", ignore_result=True)
def clusters_spike_detect_task() -> dict:
    """Beat: flag clusters spiking above their own baseline."""
    return alerts.clusters_spike_detect()
