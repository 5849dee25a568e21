"""People correct the clustering engine: merge clusters, split one, move a ticket, and undo any of it.

Every correction is a `ClusterCorrection` row holding what it changed (each moved ticket's previous
assignment, each changed cluster's previous status) so `correction_undo` restores exactly that. Moved
tickets become `AssignmentSource.PERSON`: the engine never moves them again, so a split is not undone
by the next assignment run. Ticket writes are set-based (one UPDATE per action, batched on undo).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError, Q, QuerySet
from django.utils import timezone

from tickets.clusters.selectors import cluster_list_open
from tickets.clusters.services import (
    cluster_create,
    cluster_refresh_counters,
    index_rebuild_later,
    status_changed_record,
)
from tickets.models import (
    AssignmentSource,
    BugCluster,
    ClusterCorrection,
    ClusterEvent,
    ClusterProfile,
    ClusterStatus,
    Ticket,
)
from tickets.outbox import outbox_put

REASON_MAX = 2000
TICKET_FIELDS = (
    "cluster_id",
    "assignment_source",
    "assignment_confidence",
    "assignment_reasons",
    "cluster_assigned_at",
)
CLOSED_TARGETS = (ClusterStatus.MERGED, ClusterStatus.VERIFIED)
_UPDATE_BATCH = 500
Action = ClusterCorrection.Action


# --- Helpers ---------------------------------------------------------------------------------


def _who(actor: AbstractBaseUser | None) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "an integration"
    return actor.get_full_name() or actor.get_username()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _lock_clusters(*pks: int, field: str = "into") -> dict[int, BugCluster]:
    """Row-lock the clusters in id order (so two corrections never deadlock); returns them by id.

    Their engine profiles are locked first, in the order the clustering engine takes them (profile, then
    cluster), so a correction and an assignment to the same cluster wait for each other instead of deadlocking.
    """
    list(ClusterProfile.objects.select_for_update().filter(pk__in=set(pks)).order_by("pk").values_list("pk"))
    found = {c.pk: c for c in BugCluster.objects.select_for_update().filter(pk__in=set(pks)).order_by("pk")}
    missing = [pk for pk in pks if pk not in found]
    if missing:
        raise ValidationError({field: f"Cluster #{missing[0]} does not exist any more."})
    return found


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {"reason": f"The reason must be at most {REASON_MAX:,} characters (got {len(reason):,})."}
        )
    return reason


def _ticket_snapshot(tickets: QuerySet[Ticket]) -> list[dict[str, Any]]:
    """Each ticket's assignment as it is now, JSON-ready (one query)."""
    rows = tickets.order_by("pk").values("pk", *TICKET_FIELDS)
    return [
        {
            "id": row["pk"],
            **{name: row[name] for name in TICKET_FIELDS if name != "cluster_assigned_at"},
            "cluster_assigned_at": _iso(row["cluster_assigned_at"]),
        }
        for row in rows
    ]


def _cluster_snapshot(cluster: BugCluster) -> dict[str, Any]:
    return {
        "id": cluster.pk,
        "status": cluster.status,
        "merged_into_id": cluster.merged_into_id,
        "status_changed_at": _iso(cluster.status_changed_at),
    }


def _move_tickets(tickets: QuerySet[Ticket], *, into: BugCluster, reason_text: str, now: datetime) -> int:
    """One UPDATE: the tickets now belong to `into` by a person's decision."""
    return tickets.update(
        cluster=into,
        assignment_source=AssignmentSource.PERSON,
        assignment_confidence=None,
        assignment_reasons=[reason_text],
        cluster_assigned_at=now,
        updated_at=now,
    )


def _after_move(clusters: Iterable[BugCluster]) -> None:
    """Counters follow the tickets inside the correction's transaction; the engine's index is rebuilt by a
    worker after the commit (not while the correction holds its locks), and the other apps' per-day counts
    follow in one message, not one per ticket."""
    ids = []
    for cluster in clusters:
        cluster_refresh_counters(cluster=cluster)
        ids.append(cluster.pk)
    index_rebuild_later(cluster_ids=ids)
    outbox_put(topic="tickets.moved", cluster_ids=ids)


def _events(clusters: Iterable[BugCluster], *, actor, message: str, correction: ClusterCorrection) -> None:
    data = {"correction_id": correction.pk, "action": correction.action}
    ClusterEvent.objects.bulk_create(
        [
            ClusterEvent(cluster=c, actor=actor, kind=ClusterEvent.Kind.CORRECTION, message=message, data=data)
            for c in clusters
        ]
    )


def _announce(
    *, actor, updated: Iterable[BugCluster] = (), status_changes: Iterable[tuple[BugCluster, str, str]] = ()
) -> None:
    """Each status change's webhooks and message (SLA timers stop or start), `cluster.updated` for the rest;
    inside the correction's transaction."""
    changed_ids = set()
    for cluster, old, new in status_changes:
        changed_ids.add(cluster.pk)
        status_changed_record(cluster=cluster, old=old, new=new, actor=actor)
    for cluster in updated:
        if cluster.pk not in changed_ids:
            outbox_put(topic="cluster.updated", cluster_id=cluster.pk, actor_id=getattr(actor, "pk", None))


def _with_reason(message: str, reason: str) -> str:
    return f"{message}\nReason: {reason}" if reason else message


# --- Merge ------------------------------------------------------------------------------------


def merge_refusal(source: BugCluster, into: BugCluster) -> dict[str, str]:
    if source.pk == into.pk:
        return {"into": f"Cluster #{source.pk} cannot be merged into itself; choose another cluster."}
    if source.status == ClusterStatus.MERGED:
        return {"cluster": f"Cluster #{source.pk} was already merged into #{source.merged_into_id}."}
    if into.status == ClusterStatus.MERGED:
        return {"into": f"Cluster #{into.pk} was itself merged into #{into.merged_into_id}; merge into that one."}
    if into.status == ClusterStatus.VERIFIED:
        return {"into": f"Cluster #{into.pk} is verified (closed); reopen it first or choose an open cluster."}
    if into.kind != source.kind:
        return {
            "into": f"Cluster #{into.pk} is a {into.get_kind_display().lower()} cluster and #{source.pk} a "
            f"{source.get_kind_display().lower()} cluster; only clusters of the same kind can be merged."
        }
    return {}


def cluster_merge(
    *, source: BugCluster, into: BugCluster, actor: AbstractBaseUser | None, reason: str = ""
) -> ClusterCorrection:
    """Move every ticket of `source` into `into`, mark `source` MERGED into it, and record how to undo it.

    Refuses (ValidationError naming the field) a merge into itself, into a merged or verified cluster,
    or across kinds. Constant number of queries whatever the number of tickets.
    """
    reason = _clean_reason(reason)
    with transaction.atomic():
        locked = _lock_clusters(source.pk, into.pk)
        source, into = locked[source.pk], locked[into.pk]
        refusal = merge_refusal(source, into)
        if refusal:
            raise ValidationError(refusal)
        now = timezone.now()
        members = Ticket.objects.filter(cluster=source)
        tickets = _ticket_snapshot(members)
        before = _cluster_snapshot(source)
        summary = f"Merged #{source.pk} into #{into.pk} by {_who(actor)}: {_plural(len(tickets), 'ticket')} moved"
        _move_tickets(members, into=into, reason_text=f"merged from #{source.pk} by {_who(actor)}", now=now)
        old_status = source.status
        source.status, source.merged_into, source.status_changed_at = ClusterStatus.MERGED, into, now
        source.save(update_fields=["status", "merged_into", "status_changed_at", "updated_at"])
        correction = ClusterCorrection.objects.create(
            action=Action.MERGE,
            source_cluster=source,
            target_cluster=into,
            actor=actor,
            reason=reason,
            data={"summary": summary, "moved_to": into.pk, "tickets": tickets, "clusters": [before]},
        )
        _after_move([source, into])
        _events([source, into], actor=actor, message=_with_reason(summary, reason), correction=correction)
        _announce(actor=actor, updated=[into], status_changes=[(source, old_status, ClusterStatus.MERGED)])
    return correction


# --- Split ------------------------------------------------------------------------------------


def _split_ticket_ids(ticket_ids: Sequence[Any]) -> list[int]:
    ids: list[int] = []
    for raw in ticket_ids or ():
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            raise ValidationError({"ticket_ids": f"'{str(raw)[:40]}' is not a ticket id; ids are numbers."}) from None
    ids = sorted(set(ids))
    if not ids:
        raise ValidationError({"ticket_ids": "Select at least one ticket to split off into a new cluster."})
    return ids


def cluster_split(
    *,
    cluster: BugCluster,
    ticket_ids: Sequence[int],
    actor: AbstractBaseUser | None,
    title: str = "",
    reason: str = "",
) -> ClusterCorrection:
    """Move the given tickets of `cluster` into a new cluster of the same kind and ticket type.

    The new cluster is titled `title`, or by the subject of the earliest reported ticket moved; it is
    the correction's `target_cluster`. Refuses no tickets, all of them, or tickets not in the cluster.
    """
    ids = _split_ticket_ids(ticket_ids)
    reason = _clean_reason(reason)
    title = (title or "").strip()
    if len(title) > 255:
        raise ValidationError({"title": f"The title must be at most 255 characters (got {len(title)})."})
    with transaction.atomic():
        cluster = _lock_clusters(cluster.pk)[cluster.pk]
        if cluster.status == ClusterStatus.MERGED:
            raise ValidationError(
                {"cluster": f"Cluster #{cluster.pk} was merged into #{cluster.merged_into_id}; split that one instead."}
            )
        members = Ticket.objects.filter(cluster=cluster, pk__in=ids)
        found = set(members.values_list("pk", flat=True))
        strangers = [pk for pk in ids if pk not in found]
        if strangers:
            listed = ", ".join(str(pk) for pk in strangers[:10])
            raise ValidationError({"ticket_ids": f"Not in cluster #{cluster.pk}: ticket(s) {listed}."})
        if len(found) >= Ticket.objects.filter(cluster=cluster).count():
            raise ValidationError(
                {
                    "ticket_ids": f"Leave at least one ticket in #{cluster.pk}; to move them all, merge the "
                    "cluster into another one instead."
                }
            )
        first = members.order_by("reported_at", "pk").values_list("subject", flat=True).first()
        new = cluster_create(title=title or first, kind=cluster.kind, ticket_type=cluster.ticket_type, actor=actor)
        now = timezone.now()
        tickets = _ticket_snapshot(members)
        summary = (
            f"Split {_plural(len(tickets), 'ticket')} off #{cluster.pk} into new cluster #{new.pk} by {_who(actor)}"
        )
        _move_tickets(members, into=new, reason_text=f"split off #{cluster.pk} by {_who(actor)}", now=now)
        correction = ClusterCorrection.objects.create(
            action=Action.SPLIT,
            source_cluster=cluster,
            target_cluster=new,
            actor=actor,
            reason=reason,
            data={"summary": summary, "moved_to": new.pk, "created_cluster_id": new.pk, "tickets": tickets},
        )
        _after_move([cluster, new])
        _events([cluster, new], actor=actor, message=_with_reason(summary, reason), correction=correction)
        _announce(actor=actor, updated=[cluster, new])
    return correction


# --- Move -------------------------------------------------------------------------------------


def ticket_move(
    *, ticket: Ticket, into: BugCluster, actor: AbstractBaseUser | None, reason: str = ""
) -> ClusterCorrection:
    """Put one ticket in `into` as a person's decision (the engine never moves it back)."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        previous_id = Ticket.objects.values_list("cluster_id", flat=True).get(pk=ticket.pk)
        locked = _lock_clusters(*(pk for pk in (previous_id, into.pk) if pk))  # clusters before tickets, always
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.cluster_id != previous_id:
            raise ValidationError({"into": f"Ticket {ticket.external_id} was just moved by someone else; reload."})
        into = locked[into.pk]
        if previous_id == into.pk:
            raise ValidationError({"into": f"Ticket {ticket.external_id} is already in cluster #{into.pk}."})
        if into.status in CLOSED_TARGETS:
            where = f" into #{into.merged_into_id}" if into.merged_into_id else ""
            raise ValidationError(
                {"into": f"Cluster #{into.pk} is {into.get_status_display().lower()}{where}; choose an open cluster."}
            )
        previous = locked.get(previous_id)
        now = timezone.now()
        members = Ticket.objects.filter(pk=ticket.pk)
        tickets = _ticket_snapshot(members)
        origin = f"#{previous_id}" if previous_id else "no cluster"
        summary = f"Moved ticket {ticket.external_id} from {origin} to #{into.pk} by {_who(actor)}"
        _move_tickets(members, into=into, reason_text=f"moved from {origin} by {_who(actor)}", now=now)
        correction = ClusterCorrection.objects.create(
            action=Action.MOVE,
            source_cluster=previous,
            target_cluster=into,
            actor=actor,
            reason=reason,
            data={"summary": summary, "moved_to": into.pk, "tickets": tickets},
        )
        affected = [c for c in (previous, into) if c is not None]
        _after_move(affected)
        _events(affected, actor=actor, message=_with_reason(summary, reason), correction=correction)
        ticket.refresh_from_db()
        outbox_put(topic="ticket.assigned", ticket_id=ticket.pk, cluster_id=into.pk, previous_cluster_id=previous_id)
        _announce(actor=actor, updated=affected)
    return correction


# --- Undo -------------------------------------------------------------------------------------


def correction_clusters(correction: ClusterCorrection) -> set[int]:
    """Ids of the clusters a correction touched."""
    ids = {correction.source_cluster_id, correction.target_cluster_id, correction.data.get("created_cluster_id")}
    ids.update(c["id"] for c in correction.data.get("clusters", []))
    return {pk for pk in ids if pk}


def correction_blockers(corrections: Sequence[ClusterCorrection]) -> dict[int, ClusterCorrection]:
    """For each correction that cannot be undone yet, the latest later one that must be undone first.

    One query for any number of corrections (for the history list and the undo check alike).
    """
    pending = [c for c in corrections if c.undone_at is None]
    if not pending:
        return {}
    touched = set().union(*(correction_clusters(c) for c in pending))
    later = list(
        ClusterCorrection.objects.filter(undone_at__isnull=True, pk__gt=min(c.pk for c in pending))
        .filter(Q(source_cluster_id__in=touched) | Q(target_cluster_id__in=touched))
        .select_related("actor")
        .order_by("-pk")
    )
    blockers: dict[int, ClusterCorrection] = {}
    for correction in pending:
        mine = correction_clusters(correction)
        for other in later:
            if other.pk > correction.pk and correction_clusters(other) & mine:
                blockers[correction.pk] = other
                break
    return blockers


def correction_describe(correction: ClusterCorrection) -> str:
    return correction.data.get("summary") or str(correction)


def _refuse_undo(correction: ClusterCorrection) -> None:
    if correction.undone_at is not None:
        raise ValidationError(
            {
                "correction": f"This correction was already undone on {correction.undone_at:%Y-%m-%d %H:%M} UTC"
                f" by {_who(correction.undone_by)}."
            }
        )
    blocker = correction_blockers([correction]).get(correction.pk)
    if blocker is not None:
        raise ValidationError(
            {
                "correction": f"Undo correction #{blocker.pk} first ({correction_describe(blocker)}): it came later "
                "and changed the same clusters."
            }
        )


def _tickets_elsewhere(correction: ClusterCorrection) -> list[str]:
    """External ids of moved tickets that are no longer where the correction put them."""
    ids = {t["id"] for t in correction.data.get("tickets", [])}
    still = set(Ticket.objects.filter(cluster_id=correction.data.get("moved_to")).values_list("pk", flat=True))
    gone = ids - still
    if not gone:
        return []
    return list(Ticket.objects.filter(pk__in=gone).order_by("pk").values_list("external_id", flat=True)[:5])


def _restore_tickets(rows: list[dict[str, Any]], now: datetime) -> None:
    """Put each ticket's previous assignment back: one `UPDATE ... FROM (VALUES ...)` per 500 tickets.

    Portable SQL (PostgreSQL, and SQLite 3.33+ both name VALUES columns column1, column2, ...);
    Django's bulk_update would build a CASE per column and take seconds for a merge of 2,000 tickets.
    """
    meta = Ticket._meta
    fields = [meta.pk, *(meta.get_field(name.removesuffix("_id")) for name in TICKET_FIELDS)]
    qn = connection.ops.quote_name
    cast = connection.vendor == "postgresql"  # PostgreSQL types the VALUES columns from their casts
    row_sql = "(" + ", ".join(f"CAST(%s AS {f.db_type(connection)})" if cast else "%s" for f in fields) + ")"
    table = qn(meta.db_table)
    assignments = ", ".join(f"{qn(f.column)} = v.column{i}" for i, f in enumerate(fields[1:], start=2))
    stamp = meta.get_field("updated_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _UPDATE_BATCH):
            batch = rows[start : start + _UPDATE_BATCH]
            params: list[Any] = [stamp]
            for row in batch:
                values = [row["id"], *(row[name] for name in TICKET_FIELDS)]
                values[-1] = _from_iso(values[-1])
                params += [f.get_db_prep_value(v, connection) for f, v in zip(fields, values, strict=True)]
            cursor.execute(
                f"UPDATE {table} SET {assignments}, {qn('updated_at')} = %s "
                f"FROM (VALUES {', '.join([row_sql] * len(batch))}) AS v "
                f"WHERE {table}.{qn(meta.pk.column)} = v.column1",
                params,
            )


def _split_cluster_removable(new: BugCluster, correction: ClusterCorrection) -> bool:
    """A split's cluster may go when nothing but the split refers to it (no tickets, no product work)."""
    if Ticket.objects.filter(cluster=new).exists() or BugCluster.objects.filter(merged_into=new).exists():
        return False
    if (
        ClusterCorrection.objects.filter(Q(source_cluster=new) | Q(target_cluster=new))
        .exclude(pk=correction.pk)
        .exists()
    ):
        return False
    own = (ClusterEvent.Kind.CREATED, ClusterEvent.Kind.CORRECTION, ClusterEvent.Kind.TICKET_ADDED)
    return not new.events.exclude(kind__in=own).exists() and new.status == ClusterStatus.NEW


def _undo_split_cluster(new: BugCluster, into: BugCluster, correction: ClusterCorrection, actor, now) -> bool:
    """Delete the split's cluster, or (when something refers to it) mark it merged back. True if deleted."""
    if _split_cluster_removable(new, correction):
        try:
            with transaction.atomic():
                new.delete()
            return True
        except (ProtectedError, IntegrityError):
            pass
    leftovers = Ticket.objects.filter(cluster=new)
    _move_tickets(leftovers, into=into, reason_text=f"#{new.pk} merged back into #{into.pk} by {_who(actor)}", now=now)
    new.status, new.merged_into, new.status_changed_at = ClusterStatus.MERGED, into, now
    new.save(update_fields=["status", "merged_into", "status_changed_at", "updated_at"])
    return False


def correction_undo(*, correction: ClusterCorrection, actor: AbstractBaseUser | None) -> ClusterCorrection:
    """Restore every moved ticket's previous assignment and every changed cluster's previous status.

    Refuses (ValidationError keyed `correction`) a second undo, an undo while a later correction of the
    same clusters stands (naming the one to undo first), or when a moved ticket was moved again since.
    A split's new cluster is deleted when nothing else refers to it, else marked merged back.
    """
    with transaction.atomic():
        correction = ClusterCorrection.objects.select_for_update().get(pk=correction.pk)
        _refuse_undo(correction)
        priors = {t["cluster_id"] for t in correction.data.get("tickets", []) if t["cluster_id"]}
        locked = _lock_clusters(*sorted(correction_clusters(correction) | priors), field="correction")
        moved_elsewhere = _tickets_elsewhere(correction)
        if moved_elsewhere:
            raise ValidationError(
                {
                    "correction": f"Ticket(s) {', '.join(moved_elsewhere)} moved to another cluster since; "
                    "move them back first."
                }
            )
        now = timezone.now()
        _restore_tickets(correction.data.get("tickets", []), now)
        status_changes = []
        for before in correction.data.get("clusters", []):
            cluster = locked[before["id"]]
            old = cluster.status
            cluster.status = before["status"]
            cluster.merged_into_id = before["merged_into_id"]
            cluster.status_changed_at = _from_iso(before["status_changed_at"])
            cluster.save(update_fields=["status", "merged_into", "status_changed_at", "updated_at"])
            if old != cluster.status:
                status_changes.append((cluster, old, cluster.status))
        deleted = False
        new_id = correction.data.get("created_cluster_id")
        if new_id and new_id in locked:
            new_status = locked[new_id].status
            deleted = _undo_split_cluster(locked[new_id], locked[correction.source_cluster_id], correction, actor, now)
            if not deleted and new_status != ClusterStatus.MERGED:
                status_changes.append((locked[new_id], new_status, ClusterStatus.MERGED))
        remaining = [c for pk, c in locked.items() if not (deleted and pk == new_id)]
        summary = f"Undid: {correction_describe(correction)} (undone by {_who(actor)})"
        correction.undone_at, correction.undone_by = now, actor
        correction.data = {**correction.data, "undo": {"deleted_cluster": deleted, "summary": summary}}
        correction.save(update_fields=["undone_at", "undone_by", "data"])
        _after_move(remaining)
        _events(remaining, actor=actor, message=summary, correction=correction)
        _announce(actor=actor, updated=remaining, status_changes=status_changes)
    return correction


# --- Reads ------------------------------------------------------------------------------------


def correction_list(*, cluster: BugCluster | int | None = None) -> QuerySet[ClusterCorrection]:
    """Corrections newest first, optionally those that touched one cluster (as source or target)."""
    qs = ClusterCorrection.objects.select_related("actor", "undone_by", "source_cluster", "target_cluster")
    if cluster is not None:
        pk = cluster.pk if isinstance(cluster, BugCluster) else cluster
        qs = qs.filter(Q(source_cluster_id=pk) | Q(target_cluster_id=pk))
    return qs.order_by("-created_at", "-pk")


MERGE_CANDIDATES = 10
_CLUSTER_NUMBER = re.compile(r"#?\s*(\d{1,12})")


def correction_merge_candidates(*, cluster: BugCluster, query: str) -> tuple[BugCluster | None, list[BugCluster]]:
    """What "Merge into..." means: a cluster number gives that cluster; words give open clusters of the same
    kind whose title has all of them (most tickets first). Raises ValidationError for an unknown number."""
    query = (query or "").strip()
    number = _CLUSTER_NUMBER.fullmatch(query)
    if number:
        target = BugCluster.objects.filter(pk=int(number[1])).first()
        if target is None:
            raise ValidationError({"into": f"There is no cluster #{number[1]}."})
        return target, []
    matches = cluster_list_open().filter(kind=cluster.kind).exclude(pk=cluster.pk)
    for word in query.split()[:6]:
        matches = matches.filter(title__icontains=word)
    return None, list(matches.order_by("-ticket_count", "-pk")[:MERGE_CANDIDATES])
