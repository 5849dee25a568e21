"""At-least-once delivery of one notification row through its channels, shared by SLA alerts and
customer-success handoffs (any model with `sent_at`, `failed_at`, `lease_until`, `attempts`,
`deliveries` and `last_error`).

The row is claimed with a lease (a conditional UPDATE), so a second worker, or the same task delivered
twice, does nothing; each channel that succeeds is recorded at once, so a retry resends only the failed
ones; the row is marked sent at the end, or failed after SLA_DELIVERY_MAX_ATTEMPTS. A worker killed
mid-send leaves the lease to expire and the sweep enqueues the row again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger(__name__)


def deliver_leased(
    *,
    model: type[models.Model],
    pk: int,
    load: Callable[[int], Any],
    senders_for: Callable[[Any], Mapping[str, Callable[[Any], None]]],
) -> tuple[str, Any]:
    """Send row `pk` of `model` through the channels `senders_for(row)` names; returns the outcome
    ('sent', 'skipped', 'retry' or 'failed') and the row (None when skipped)."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.SLA_DELIVERY_LEASE_SECONDS)
    claimed = (
        model.objects.filter(pk=pk, sent_at=None, failed_at=None)
        .filter(Q(lease_until=None) | Q(lease_until__lt=now))
        .update(lease_until=lease_until, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "skipped", None
    row = load(pk)
    rows = model.objects.filter(pk=pk)
    errors = {}
    for name, send in senders_for(row).items():
        if row.deliveries.get(name) == "sent":
            continue
        try:
            send(row)
        except Exception as exc:  # noqa: BLE001 - a failed channel is retried, not fatal
            errors[name] = f"{type(exc).__name__}: {exc}"[:400]
            logger.warning("%s %s: %s failed: %s", model.__name__, pk, name, errors[name])
            continue
        row.deliveries[name] = "sent"
        rows.update(deliveries=row.deliveries)
    if errors:
        failed = row.attempts >= settings.SLA_DELIVERY_MAX_ATTEMPTS
        rows.update(
            lease_until=None,
            last_error="; ".join(f"{k}: {v}" for k, v in errors.items()),
            failed_at=now if failed else None,
        )
        return ("failed" if failed else "retry"), row
    rows.update(sent_at=timezone.now(), lease_until=None, last_error="")
    return "sent", row
