"""Celery tasks of the triage layer: thin entry points that call a service."""

from celery import shared_task

from triage.accounts.delivery import handoff_deliver, handoffs_requeue_stale
from triage.accounts.services import accounts_assess


@shared_task(name="triage.accounts_assess", ignore_result=True)
def accounts_assess_task() -> dict:
    """Beat: assess every account, raise each handoff once per window, re-enqueue alerts left unsent."""
    result = accounts_assess()
    result["requeued"] = handoffs_requeue_stale()
    return result


@shared_task(name="triage.handoff_deliver", bind=True, max_retries=8, ignore_result=True)
def handoff_deliver_task(self, handoff_id: int) -> str:
    """Send one handoff's alert; retried with backoff when a channel fails."""
    outcome = handoff_deliver(handoff_id=handoff_id)
    if outcome == "retry" and self.request.retries < self.max_retries:
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600))
    return outcome
