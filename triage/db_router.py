"""Dashboards read from a PostgreSQL read replica; everything else (and every write) uses the primary.

Set DATABASE_REPLICA_URL to a streaming replica of DATABASE_URL: requests that only read for dashboards
(GET under REPLICA_READ_PATHS: the weekly review, fix impact, success metrics, SLA compliance, their API
twins) then send their reads to the `replica` alias. A dashboard may lag the primary by the replica's delay (seconds);
filing, triage and the workers never read from it, so nobody acts on a stale row.

To route another page: add its path prefix to REPLICA_READ_PATHS in settings, or wrap its view in
`replica_reads` / use `with reading_from_replica():`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

from django.conf import settings

REPLICA_ALIAS = "replica"
_on_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("reads_on_replica", default=False)


def replica_enabled() -> bool:
    return getattr(settings, "REPLICA_READS", False) and REPLICA_ALIAS in settings.DATABASES


@contextlib.contextmanager
def reading_from_replica():
    """Reads inside this block go to the replica (when one is configured); writes still go to the primary."""
    token = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(token)


def replica_reads(view):
    """A view whose reads may come from the replica: a dashboard page."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with reading_from_replica():
            return view(request, *args, **kwargs)

    return wrapper


# Who is asking is always read from the primary: a session or key created a moment ago may not have
# reached the replica yet, and reading it there would sign the user out.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "contenttypes", "admin"})
PRIMARY_ONLY_MODELS = frozenset({"tickets.apikey", "tickets.idempotencyrecord"})


class ReplicaRouter:
    """Reads of a dashboard request to the replica; all writes, migrations and other reads to the primary."""

    def db_for_read(self, model, **hints):
        if not (_on_replica.get() and replica_enabled()):
            return None
        meta = model._meta
        if meta.app_label in PRIMARY_ONLY_APPS or meta.label_lower in PRIMARY_ONLY_MODELS:
            return None
        return REPLICA_ALIAS

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaReadsMiddleware:
    """GET and HEAD requests under settings.REPLICA_READ_PATHS read from the replica."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefixes = tuple(getattr(settings, "REPLICA_READ_PATHS", ()))

    def __call__(self, request):
        if request.method in ("GET", "HEAD") and request.path.startswith(self.prefixes) and replica_enabled():
            with reading_from_replica():
                return self.get_response(request)
        return self.get_response(request)
