"""Set-based writes for the sweep: one statement per batch on PostgreSQL, the ORM elsewhere.

The sweep must cost the due rows only, and at a thousand alerts per minute Django's
bulk_update (a CASE per row) and bulk_create are the largest costs; these keep the
same semantics with `UPDATE ... FROM (VALUES ...)` and `INSERT ... ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from slas.models import Alert, SlaTimer

logger = logging.getLogger(__name__)

ALERT_COLUMNS = (
    "cluster_id", "timer_id", "policy_id", "kind", "target", "stage", "level", "cycle", "due_at", "message",
    "recipients", "payload", "deliveries", "attempts", "enqueued_at", "last_error", "created_at",
)  # fmt: skip


def _pg() -> bool:
    return connection.vendor == "postgresql"


def timers_move_on(timers) -> None:
    """Write next_stage, next_fire_at and breached_at of many timers (anything with those and pk)."""
    if not _pg():
        for t in timers:
            SlaTimer.objects.filter(pk=t.pk).update(
                next_stage=t.next_stage,
                next_fire_at=t.next_fire_at,
                breached_at=t.breached_at,
                updated_at=timezone.now(),
            )
        return
    from psycopg2.extras import execute_values

    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            f"UPDATE {SlaTimer._meta.db_table} AS t SET next_stage = v.stage, next_fire_at = v.fire, "
            "breached_at = v.breached, updated_at = now() FROM (VALUES %s) AS v(id, stage, fire, breached) "
            "WHERE t.id = v.id",
            [(t.pk, t.next_stage, t.next_fire_at, t.breached_at) for t in timers],
            template="(%s::bigint, %s::smallint, %s::timestamptz, %s::timestamptz)",
            page_size=max(len(timers), 1),
        )


def alerts_insert(rows: list[dict]) -> list[int]:
    """Insert new alerts (dicts of column values), skipping any whose stage already fired (the
    unique constraint); returns the ids of those inserted."""
    if not _pg():
        return [a.pk for a in _alerts_insert_orm([Alert(**row) for row in rows])]
    from psycopg2.extras import Json, execute_values

    now = timezone.now()
    values = [
        (
            r["cluster_id"],
            r["timer_id"],
            r["policy_id"],
            r["kind"],
            r["target"],
            r["stage"],
            r["level"],
            r["cycle"],
            r["due_at"],
            r["message"],
            Json(r["recipients"]),
            Json(r["payload"]),
            Json({}),
            0,
            r["enqueued_at"],
            "",
            now,
        )  # fmt: skip
        for r in rows
    ]
    with connection.cursor() as cursor:
        inserted = execute_values(
            cursor.cursor,
            f"INSERT INTO {Alert._meta.db_table} ({', '.join(ALERT_COLUMNS)}) VALUES %s "
            "ON CONFLICT DO NOTHING RETURNING id",
            values,
            page_size=max(len(values), 1),
            fetch=True,
        )
    if len(inserted) < len(rows):
        logger.info("%d alert(s) had already fired and were skipped", len(rows) - len(inserted))
    return [pk for (pk,) in inserted]


def _alerts_insert_orm(alerts: list[Alert]) -> list[Alert]:
    try:
        with transaction.atomic():
            return Alert.objects.bulk_create(alerts)
    except IntegrityError:
        created = []
        for alert in alerts:
            try:
                with transaction.atomic():
                    alert.save()
                created.append(alert)
            except IntegrityError:
                logger.info("Stage %s of timer %s already fired; skipped", alert.stage, alert.timer_id)
        return created
