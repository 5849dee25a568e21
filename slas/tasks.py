"""Celery tasks of the slas app: thin entry points that call a service.

Services enqueue these by name (`tickets.queue.task_enqueue`), as beat does, so no service imports
this module.
"""

from celery import shared_task

from slas.services import alert_deliver, clock_sync, clocks_resync_open, timers_sweep
from tickets.queue import task_enqueue


@shared_task(name="slas.timers_sweep", ignore_result=True)
def timers_sweep_task() -> dict:
    """Beat task: fire due SLA warnings, breaches and escalations once each; re-enqueue stale alerts."""
    return timers_sweep()


@shared_task(name="slas.alerts_dispatch", ignore_result=True)
def alerts_dispatch_task(alert_ids: list[int]) -> int:
    """Fan a sweep's batch of new alerts out to one delivery task each."""
    for alert_id in alert_ids:
        if not task_enqueue("slas.alert_deliver", alert_id):
            break  # broker down: the sweep re-enqueues alerts left unsent
    return len(alert_ids)


@shared_task(name="slas.alert_deliver", bind=True, max_retries=8, ignore_result=True)
def alert_deliver_task(self, alert_id: int) -> str:
    """Send one alert; retried with backoff when a channel fails (the sweep re-enqueues after that)."""
    outcome = alert_deliver(alert_id=alert_id)
    if outcome == "retry" and self.request.retries < self.max_retries:
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600))
    return outcome


@shared_task(name="slas.clock_sync", ignore_result=True)
def clock_sync_task(cluster_id: int) -> None:
    """Re-sync one cluster's SLA clocks (after a change the outbox announced)."""
    clock_sync(cluster_id=cluster_id)


@shared_task(name="slas.clocks_resync_open", ignore_result=True)
def clocks_resync_open_task() -> int:
    """Apply policy or calendar changes to every open cluster from now on."""
    return clocks_resync_open()
