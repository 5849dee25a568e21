"""Transactions that PostgreSQL aborted to break a deadlock (or a serialization conflict) are safe to
run again: nothing of them was written. `is_retryable` recognises them; `retry_transaction` runs a
transaction again a few times, after a short random pause so the two sides do not meet again."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def is_retryable(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure (the transaction was rolled back whole)."""
    cause = exc.__cause__ or exc
    return getattr(cause, "pgcode", None) in RETRYABLE_SQLSTATES


def retry_transaction(work: Callable[[], T], *, attempts: int = 4, what: str = "transaction") -> T:
    """Run `work` in transaction.atomic(); run it again when PostgreSQL aborted it to break a deadlock."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return work()
        except OperationalError as exc:
            if not is_retryable(exc) or attempt == attempts:
                raise
            logger.warning("%s aborted by PostgreSQL (%s); running it again (attempt %s)", what, exc, attempt + 1)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")
