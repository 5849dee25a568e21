"""Celery tasks of the weekly review: thin entry points around its services."""

from celery import shared_task

from triage.review.services import report_delivery_send, report_weekly_send, week_patterns_refresh_due

RETRY_SECONDS = 300


@shared_task(name="review.report_weekly")
def report_weekly_task() -> str:
    """Monday: email last week's Voice-of-Customer report to REVIEW_REPORT_RECIPIENTS, once per week."""
    return report_weekly_send()


@shared_task(name="review.report_delivery_send", bind=True, max_retries=8)
def report_delivery_send_task(self, delivery_id: int) -> str:
    """Email one delivery of a report; retried with backoff while the mail server refuses."""
    try:
        return report_delivery_send(delivery_id=delivery_id)
    except Exception as exc:
        if self.request.called_directly or self.app.conf.task_always_eager:
            raise
        raise self.retry(exc=exc, countdown=RETRY_SECONDS * 2**self.request.retries) from exc


@shared_task(name="review.patterns_refresh")
def patterns_refresh_task() -> list[str]:
    """Hourly: mine this week's evidence patterns across every ticket type (and last week's, once after it ended)."""
    return week_patterns_refresh_due()
