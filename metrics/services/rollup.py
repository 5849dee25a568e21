"""The daily-count rollup: kept current ticket by ticket, and rebuilt from the tickets table on demand.

Days are calendar days in the organisation's time zone (settings.TIME_ZONE) of `Ticket.reported_at`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Model, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from metrics.models import DailyClusterVolume, DailyTicketVolume
from tickets.models import Ticket

BATCH = 2000


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def _bump(model: type[Model], lookup: dict, delta: int) -> None:
    """Add `delta` to one counter row, creating it on first use; safe against a concurrent first insert."""
    if delta < 0:
        model.objects.filter(**lookup, count__gte=-delta).update(count=F("count") + delta)
        return
    if model.objects.filter(**lookup).update(count=F("count") + delta):
        return
    try:
        with transaction.atomic():
            model.objects.create(**lookup, count=delta)
    except IntegrityError:
        model.objects.filter(**lookup).update(count=F("count") + delta)


def rollup_ticket_moved(*, ticket: Ticket, cluster_id: int | None, previous_cluster_id: int | None) -> None:
    """Move a ticket's count from its previous cluster (if any) to its new one."""
    if cluster_id == previous_cluster_id:
        return
    day = local_day(ticket.reported_at)
    if not previous_cluster_id:  # a newly assigned ticket: one counter, one statement (the engine's hot path)
        if cluster_id:
            _bump(DailyClusterVolume, {"cluster_id": cluster_id, "day": day}, 1)
        return
    with transaction.atomic():
        _bump(DailyClusterVolume, {"cluster_id": previous_cluster_id, "day": day}, -1)
        if cluster_id:
            _bump(DailyClusterVolume, {"cluster_id": cluster_id, "day": day}, 1)


def rollup_tickets_assigned(assignments: Iterable[tuple[Ticket, Any]]) -> None:
    """Count newly assigned tickets, (ticket, cluster) pairs, into their clusters' days: one statement.

    An upsert that adds to the row already there, so it is safe against a concurrent first insert.
    """
    counts = Counter((cluster.pk, local_day(ticket.reported_at)) for ticket, cluster in assignments if cluster)
    if not counts:
        return
    qn, ops = connection.ops.quote_name, connection.ops
    table = qn(DailyClusterVolume._meta.db_table)
    rows = sorted(counts.items())
    sql = (
        f"INSERT INTO {table} ({qn('cluster_id')}, {qn('day')}, {qn('count')}) "
        f"VALUES {', '.join(['(%s, %s, %s)'] * len(rows))} "
        f"ON CONFLICT ({qn('cluster_id')}, {qn('day')}) DO UPDATE SET {qn('count')} = {table}.{qn('count')} + "
        f"excluded.{qn('count')}"
    )
    params = [value for (cluster_id, day), n in rows for value in (cluster_id, ops.adapt_datefield_value(day), n)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def rollup_ticket_deleted(*, ticket: Ticket) -> None:
    """Take a deleted ticket out of the counts."""
    day = local_day(ticket.reported_at)
    with transaction.atomic():
        _bump(DailyTicketVolume, {"day": day, "feedback_kind": ticket.feedback_kind}, -1)
        if ticket.cluster_id:
            _bump(DailyClusterVolume, {"cluster_id": ticket.cluster_id, "day": day}, -1)


def _sync(model: type[Model], keys: tuple[str, str], existing, truth: dict) -> int:
    """Make the rows of `model` in scope equal `truth` ({(k1, k2): count}); returns rows written."""
    current = {(row[1], row[2]): (row[0], row[3]) for row in existing}
    create, update, delete = [], [], []
    for key, count in truth.items():
        if key not in current:
            create.append(model(**{keys[0]: key[0], keys[1]: key[1], "count": count}))
        elif current[key][1] != count:
            update.append(model(pk=current[key][0], count=count))
    delete = [pk for key, (pk, _) in current.items() if key not in truth]
    for start in range(0, len(delete), BATCH):
        model.objects.filter(pk__in=delete[start : start + BATCH]).delete()
    model.objects.bulk_create(create, batch_size=BATCH)
    model.objects.bulk_update(update, ["count"], batch_size=BATCH)
    return len(create) + len(update) + len(delete)


def rollup_rebuild(
    *, day_from: date, day_to: date, cluster_ids: Iterable[int] | None = None, totals: bool = True
) -> int:
    """Recount days `day_from`..`day_to` (inclusive) from the tickets table; returns the rows changed.

    `cluster_ids` limits the cluster rows recounted (None: every cluster); `totals` also recounts
    the organisation's daily volume. Idempotent: a second run changes nothing.
    """
    tz = timezone.get_default_timezone()
    in_range = Ticket.objects.filter(
        reported_at__gte=day_start(day_from), reported_at__lt=day_start(day_to) + timedelta(days=1)
    )
    day = TruncDate("reported_at", tzinfo=tz)
    changed = 0
    with transaction.atomic():
        clustered = in_range.filter(cluster__isnull=False)
        existing = DailyClusterVolume.objects.filter(day__gte=day_from, day__lte=day_to)
        if cluster_ids is not None:
            cluster_ids = list(cluster_ids)
            clustered = clustered.filter(cluster_id__in=cluster_ids)
            existing = existing.filter(cluster_id__in=cluster_ids)
        truth = {
            (row["cluster_id"], row["d"]): row["n"]
            for row in clustered.annotate(d=day).values("cluster_id", "d").annotate(n=Count("id")).order_by()
        }
        changed += _sync(
            DailyClusterVolume,
            ("cluster_id", "day"),
            existing.values_list("pk", "cluster_id", "day", "count"),
            truth,
        )
        if totals:
            truth = {
                (row["d"], row["feedback_kind"]): row["n"]
                for row in in_range.annotate(d=day).values("d", "feedback_kind").annotate(n=Count("id")).order_by()
            }
            changed += _sync(
                DailyTicketVolume,
                ("day", "feedback_kind"),
                DailyTicketVolume.objects.filter(day__gte=day_from, day__lte=day_to).values_list(
                    "pk", "day", "feedback_kind", "count"
                ),
                truth,
            )
    return changed


def rollup_ensure(*, day_from: date, day_to: date) -> bool:
    """Rebuild days `day_from`..`day_to` if the organisation's daily counts disagree with the tickets table.

    One COUNT on each side; catches tickets written without the services (bulk imports, demo data).
    Returns whether a rebuild was needed.
    """
    tickets = Ticket.objects.filter(
        reported_at__gte=day_start(day_from), reported_at__lt=day_start(day_to) + timedelta(days=1)
    ).count()
    counted = DailyTicketVolume.objects.filter(day__gte=day_from, day__lte=day_to).aggregate(n=Sum("count"))["n"] or 0
    if tickets == counted:
        return False
    rollup_rebuild(day_from=day_from, day_to=day_to)
    return True
