"""Celery tasks of the tickets app: thin wrappers that load by id and call a service."""

import contextlib

from celery import shared_task


@shared_task(name="tickets.cluster_refresh_counters")
def cluster_refresh_counters_task(cluster_id: int) -> int | None:
    """Recompute a cluster's ticket count and first/last report time; returns the count."""
    from tickets.clusters.services import cluster_refresh_counters
    from tickets.models import BugCluster

    cluster = BugCluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        return None
    return cluster_refresh_counters(cluster=cluster).ticket_count


@shared_task(name="tickets.cluster_assign", ignore_result=True, acks_late=True)
def cluster_assign_task(ticket_id: int) -> int | None:
    """Put one filed ticket in its cluster (safe to run twice); returns the cluster's id."""
    from tickets.clustering.assignment import ticket_assign

    result = ticket_assign(ticket_id=ticket_id)
    return result.cluster.pk if result.cluster else None


@shared_task(name="tickets.cluster_assign_many", ignore_result=True, acks_late=True)
def cluster_assign_many_task(ticket_ids: list[int]) -> int:
    """Assign tickets created in bulk, in arrival order, in batches (safe to run twice); returns how many."""
    from tickets.clustering.assignment import tickets_assign_in_batches

    return tickets_assign_in_batches(list(ticket_ids))


@shared_task(name="tickets.clusters_drain", ignore_result=True)
def clusters_drain_task() -> int:
    """Assign every ticket waiting for the engine, oldest first (filings coalesce into this); returns how many."""
    from tickets.clustering.assignment import tickets_assign_all_pending

    return tickets_assign_all_pending()


@shared_task(name="tickets.clusters_assign_pending", ignore_result=True)
def clusters_assign_pending_task() -> int:
    """Assign tickets whose assignment task never ran (broker outage, worker crash); returns how many."""
    from tickets.clustering.assignment import tickets_assign_pending

    return tickets_assign_pending()


@shared_task(name="tickets.uploads_purge_stale")
def uploads_purge_stale_task() -> int:
    """Delete report-form uploads that never became an attachment (safe to run twice); returns how many."""
    from tickets.intake.uploads import upload_purge_stale

    return upload_purge_stale()


@shared_task(name="tickets.webhook_deliver", ignore_result=True)
def webhook_deliver(delivery_id: int) -> str | None:
    """POST one webhook delivery; on failure schedule the next try with exponential backoff."""
    from tickets.integrations.webhooks import webhook_delivery_attempt

    outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome is None:
        return None
    if outcome.retry_in is not None:
        # Broker down: the row stays pending and the sweep sends it when due.
        with contextlib.suppress(Exception):
            webhook_deliver.apply_async((delivery_id,), countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="tickets.webhook_deliveries_sweep", ignore_result=True)
def webhook_deliveries_sweep() -> int:
    """Enqueue webhook deliveries that are due but not in flight (after an outage or a crash)."""
    from tickets.integrations.webhooks import webhook_deliveries_sweep as sweep

    return sweep()


@shared_task(name="tickets.idempotency_records_purge", ignore_result=True)
def idempotency_records_purge() -> int:
    """Forget stored API responses older than the idempotency window (24 hours)."""
    from tickets.intake.ingest import idempotency_records_purge as purge

    return purge()


@shared_task(name="tickets.cluster_thresholds_sweep", ignore_result=True)
def cluster_thresholds_sweep_task() -> dict:
    """Re-arm clusters back under their ticket threshold; claim crossings the hot path missed."""
    from tickets.clusters.alerts import cluster_thresholds_sweep

    return cluster_thresholds_sweep()


@shared_task(name="tickets.clusters_spike_detect", ignore_result=True)
def clusters_spike_detect_task() -> dict:
    """Flag clusters whose volume spikes above their own baseline (alerting once), clear calm ones."""
    from tickets.clusters.alerts import clusters_spike_detect

    return clusters_spike_detect()
