"""Celery tasks of the slas app: thin wrappers that call a service."""

from celery import shared_task


@shared_task(name="slas.timers_sweep", ignore_result=True)
def timers_sweep_task() -> dict:
    """Beat task: fire due SLA warnings, breaches and escalations once each; re-enqueue stale alerts."""
    from slas.services import timers_sweep

    return timers_sweep()


@shared_task(name="slas.alerts_dispatch", ignore_result=True)
def alerts_dispatch_task(alert_ids: list[int]) -> int:
    """Fan a sweep's batch of new alerts out to one delivery task each."""
    for alert_id in alert_ids:
        alert_deliver_task.delay(alert_id)
    return len(alert_ids)


@shared_task(name="slas.alert_deliver", bind=True, max_retries=8, ignore_result=True)
def alert_deliver_task(self, alert_id: int) -> str:
    """Send one alert; retried with backoff when a channel fails (the sweep re-enqueues after that)."""
    from slas.services import alert_deliver

    outcome = alert_deliver(alert_id=alert_id)
    if outcome == "retry" and self.request.retries < self.max_retries:
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600))
    return outcome


@shared_task(name="slas.clock_sync", ignore_result=True)
def clock_sync_task(cluster_id: int) -> None:
    """Re-sync one cluster's SLA clocks (used when the in-request sync failed)."""
    from slas.services import clock_sync

    clock_sync(cluster_id=cluster_id)


@shared_task(name="slas.clocks_resync_open", ignore_result=True)
def clocks_resync_open_task() -> int:
    """Apply policy or calendar changes to every open cluster from now on."""
    from slas.services import clocks_resync_open

    return clocks_resync_open()
