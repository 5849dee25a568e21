"""Work after the commit: hand it to a Celery worker by the task's registered name, or call it.

Services enqueue by name ("tickets.cluster_assign"), as beat does, so they never import the task
modules that call them (tasks are entry points on top of services). When the broker is down the
work is not lost: each caller's beat sweep finds it (waiting tickets, unsent deliveries and alerts,
unsent outbox messages), and `task_enqueue` says so in the log and returns False.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError

# What a publish raises when the broker cannot be reached.
BROKER_ERRORS = (OperationalError, ConnectionError, TimeoutError, OSError)

logger = logging.getLogger(__name__)


def after_commit(func, /, *args, **kwargs) -> None:
    """Call `func(*args, **kwargs)` once the current transaction commits (at once outside one).

    A failure is logged, never raised into the code that committed (Django's robust on_commit).
    """

    def call():
        return func(*args, **kwargs)

    call.__qualname__ = call.__name__ = getattr(func, "__qualname__", repr(func))
    transaction.on_commit(call, robust=True)


def _task(name: str):
    tasks = current_app.tasks
    if name not in tasks:
        current_app.loader.import_default_modules()  # a web process never started a worker: load every tasks.py
    return tasks[name]


def task_enqueue(name: str, *args, countdown: float | None = None) -> bool:
    """Enqueue the task `name` with `args` (run at once when tasks are eager); False if the broker refused."""
    task = _task(name)
    eager = current_app.conf.task_always_eager  # tests and tools: the task runs now
    try:
        task.apply_async(args, countdown=None if eager else countdown)
    except BROKER_ERRORS:
        logger.warning("Could not enqueue %s%s; its beat sweep will do the work", name, args, exc_info=True)
        return False
    return True
