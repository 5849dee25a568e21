"""The Celery application: workers and beat load every app's tasks.py."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import beat_init, worker_ready

from triage.env import env_int

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")

app = Celery("triage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def every(seconds: float, task: str, **options) -> dict:
    """A beat entry that runs `task` every `seconds`; a missed run expires instead of piling up."""
    options.setdefault("expires", seconds)
    return {"task": task, "schedule": seconds, "options": options}


# Periodic work lives here, in code, in one place. Every entry's `expires` is no
# longer than its interval, and every task it names is safe to run twice.
app.conf.beat_schedule = {
    "tickets-purge-stale-uploads": every(24 * 3600, "tickets.uploads_purge_stale"),
    # SLA clocks: fire due warnings, breaches and escalations; re-enqueue alerts left unsent.
    "slas-sweep": every(env_int("SLA_SWEEP_SECONDS", 60, minimum=1), "slas.timers_sweep"),
    # Hourly so a fix recorded while no worker listened is picked up soon; each fix is measured once a day.
    "metrics-fix-impacts-daily": every(60 * 60, "metrics.fix_impacts_daily"),
    # New tickets join the organisation's daily volume here, in one set-based step, not per ticket.
    "metrics-rollup-recent-days": every(5 * 60, "metrics.rollup_recent_days"),
    # Catch-up after a broker or worker outage (shorter in the fault scripts through the environment).
    "webhook-deliveries-sweep": every(
        env_int("WEBHOOK_SWEEP_SECONDS", 60, minimum=1), "tickets.webhook_deliveries_sweep"
    ),
    # Announcements to other apps (SLA clocks, alerts, rollups) that no process sent after its commit.
    "outbox-sweep": every(15, "tickets.outbox_sweep"),
    "outbox-purge": every(24 * 3600, "tickets.outbox_purge"),
    "clusters-assign-pending": every(
        env_int("CLUSTERS_SWEEP_SECONDS", 30, minimum=1), "tickets.clusters_assign_pending"
    ),
    "idempotency-records-purge": every(3600, "tickets.idempotency_records_purge"),
    # The clustering engine's counts of description lines: forget the ones a single ticket carried.
    "template-lines-prune": every(7 * 24 * 3600, "tickets.template_lines_prune", expires=24 * 3600),
    # Volume alerts: re-arm clusters back under their ticket threshold (and catch missed crossings);
    # flag clusters spiking above their own baseline.
    "clusters-thresholds-sweep": every(5 * 60, "tickets.cluster_thresholds_sweep", expires=4 * 60),
    "clusters-spike-detect": every(15 * 60, "tickets.clusters_spike_detect", expires=10 * 60),
    # Customer success: assess accounts, raise at-risk handoffs once per window, resend alerts left unsent.
    "accounts-assess": every(15 * 60, "triage.accounts_assess", expires=10 * 60),
    # The weekly review: last week's Voice-of-Customer report every Monday at 07:00 in the organisation's
    # time zone (sent once per week however often this fires), and this week's evidence patterns hourly.
    "review-report-weekly": {
        "task": "review.report_weekly",
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
        "options": {"expires": 6 * 3600},
    },
    "review-patterns-refresh": every(60 * 60, "review.patterns_refresh"),
}


def _announce_embedded(sender=None, **kwargs) -> None:
    from django.conf import settings

    if settings.USING_EMBEDDED_BROKER:
        print(
            "Celery is using the embedded file-system broker in var/celery (first-run default). "
            "Set CELERY_BROKER_URL=redis://HOST:6379/0 for production.",
            flush=True,
        )


worker_ready.connect(_announce_embedded)
beat_init.connect(_announce_embedded)
