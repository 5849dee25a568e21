"""Services for tickets and customers that come from a help desk (API, inbound webhook, CSV import).

A help desk identifies a ticket by (source, external id), so every write here is
an upsert: sending the same ticket twice, or from two processes at once,
leaves one row. The unique constraint decides races; the loser updates.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from tickets.clustering.services import tickets_assignment_enqueue
from tickets.clusters.attach import tickets_attach_to_clusters
from tickets.clusters.services import cluster_refresh_counters, ticket_attach_to_cluster
from tickets.intake.services import ticket_create, ticket_validate
from tickets.models import (
    AssignmentSource,
    BugCluster,
    Customer,
    EvidenceField,
    IdempotencyRecord,
    PlanTier,
    Segment,
    Ticket,
    TicketStatus,
    TicketType,
)
from tickets.queue import after_commit
from tickets.retry import retry_transaction

BULK_MAX = 1000
IDEMPOTENCY_WINDOW = timedelta(hours=24)
_TICKET_STATUSES = tuple(TicketStatus.values)
TICKET_WRITE_FIELDS = (
    "subject",
    "description",
    "feedback_kind",
    "ticket_type",
    "evidence",
    "evidence_completeness",
    "customer",
    "status",
    "reported_at",
)


@dataclass
class TicketUpsert:
    """The outcome of one upsert: the ticket and whether this call created it."""

    ticket: Ticket
    created: bool


@dataclass
class ItemResult:
    """One item of a bulk request: created, updated, or refused with its errors."""

    index: int
    result: str
    ticket_id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def ticket_types_with_fields(keys: Sequence[str] | None = None):
    """Ticket types with their evidence fields prefetched (two queries however many types)."""
    qs = TicketType.objects.prefetch_related(Prefetch("fields", queryset=EvidenceField.objects.order_by("order", "id")))
    return qs.filter(key__in=list(keys)) if keys is not None else qs


def ticket_type_by_key(key: str) -> tuple[TicketType | None, list[EvidenceField]]:
    """The type with this key and its evidence fields, in one query when it has fields."""
    fields = list(
        EvidenceField.objects.filter(ticket_type__key=key).select_related("ticket_type").order_by("order", "id")
    )
    if fields:
        return fields[0].ticket_type, fields
    return TicketType.objects.filter(key=key).first(), []


def customer_upsert(*, external_id: str, name: str | None = None, **fields: Any) -> tuple[Customer, bool]:
    """Create or update the customer the help desk calls `external_id`; returns (customer, created)."""
    external_id = (external_id or "").strip()
    errors: dict[str, list[str]] = {}
    if not external_id:
        errors["external_id"] = ["The customer's id in the help desk is required."]
    if "segment" in fields and fields["segment"] not in Segment.values:
        errors["segment"] = [f"Choose one of: {', '.join(Segment.values)}."]
    if "plan_tier" in fields and fields["plan_tier"] not in PlanTier.values:
        errors["plan_tier"] = [f"Choose one of: {', '.join(PlanTier.values)}."]
    if errors:
        raise ValidationError(errors)
    defaults = dict(fields)
    if name:
        defaults["name"] = name.strip()[:200]
    create_defaults = {"name": external_id, **defaults}
    with transaction.atomic():
        # update_or_create locks the row, and on a lost insert race re-reads it.
        return Customer.objects.update_or_create(
            external_id=external_id, defaults=defaults, create_defaults=create_defaults
        )


def customer_resolve(*, external_id: str, name: str | None = None) -> Customer:
    """The customer for a ticket: found by external id, or created when its name is given."""
    customer = Customer.objects.filter(external_id=external_id).first()
    if customer is not None:
        return customer
    if not name:
        raise ValidationError(
            {
                "customer.external_id": [
                    f"No customer has external id '{external_id}'; send customer.name to create it, "
                    "or create it first with PUT /api/v1/customers/{external_id}/."
                ]
            }
        )
    return customer_upsert(external_id=external_id, name=name)[0]


def ticket_upsert(
    *,
    source: str,
    external_id: str,
    subject: str,
    ticket_type: TicketType | None,
    evidence: dict[str, Any] | None = None,
    description: str = "",
    feedback_kind: str | None = None,
    customer: Customer | None = None,
    reported_at: datetime | None = None,
    status: str | None = None,
    cluster: BugCluster | None = None,
    evidence_fields: list[EvidenceField] | None = None,
) -> TicketUpsert:
    """Create the ticket (source, external_id), or bring the existing one up to date.

    The insert is tried first (one statement on the common path); when the
    unique constraint refuses it, the ticket exists (or another process just
    made it) and is updated under a row lock instead. Nothing is stored when a
    value is refused. A given `cluster` is the help desk's decision and is kept.
    """
    kind = feedback_kind or (ticket_type.feedback_kind if ticket_type else "bug_report")
    try:
        ticket = ticket_create(
            subject=subject,
            feedback_kind=kind,
            ticket_type=ticket_type,
            evidence=evidence,
            description=description,
            source=source,
            external_id=external_id,
            customer=customer,
            reported_at=reported_at,
            status=status or TicketStatus.NEW,
            cluster=cluster,
            assignment_source=AssignmentSource.IMPORT,
            evidence_fields=evidence_fields,
        )
        return TicketUpsert(ticket=ticket, created=True)
    except IntegrityError:
        if not Ticket.objects.filter(source=source, external_id=external_id).exists():
            raise
    subject, result = ticket_validate(
        subject=subject,
        feedback_kind=kind,
        ticket_type=ticket_type,
        evidence=evidence,
        fields=evidence_fields,
        description=description,
        reported_at=reported_at,
        external_id=external_id,
    )
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(source=source, external_id=external_id)
        ticket.subject = subject
        ticket.description = description or ""
        ticket.feedback_kind = kind
        ticket.ticket_type = ticket_type
        ticket.evidence = result.values
        ticket.evidence_completeness = result.completeness
        if customer is not None:
            ticket.customer = customer
        if status:
            ticket.status = status
        reported_changed = reported_at is not None and reported_at != ticket.reported_at
        if reported_at is not None:
            ticket.reported_at = reported_at
        ticket.save(update_fields=[*TICKET_WRITE_FIELDS, "updated_at"])
        if cluster is not None and cluster.pk != ticket.cluster_id:
            ticket_attach_to_cluster(ticket=ticket, cluster=cluster, source=AssignmentSource.IMPORT)
        elif reported_changed and ticket.cluster_id:
            cluster_refresh_counters(cluster=ticket.cluster)
    return TicketUpsert(ticket=ticket, created=False)


def ticket_bulk_upsert(*, items: Sequence[dict[str, Any]]) -> list[ItemResult]:
    """Upsert up to BULK_MAX tickets in a handful of queries; each item succeeds or fails on its own.

    Each item is a dict of ticket_upsert's arguments, with `ticket_type_key`,
    `customer_external_id` / `customer_name` and `cluster_id` in place of objects.
    Items refused by validation are reported and the rest are stored together.
    """
    if len(items) > BULK_MAX:
        raise ValidationError({"tickets": [f"At most {BULK_MAX} tickets per request; got {len(items)}."]})
    for attempt in range(3):
        try:
            # Deadlocks with the clustering engine are retried too (both lock tickets in id order, so
            # they are rare; PostgreSQL may still pick this transaction to break a wider cycle).
            return retry_transaction(lambda: _bulk_upsert_once(items), what="Bulk upsert")
        except IntegrityError:
            # Another request inserted one of these keys between our read and our
            # insert; re-read and go again (those rows are now updates).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _bulk_upsert_once(items: Sequence[dict[str, Any]]) -> list[ItemResult]:
    types = {t.key: t for t in ticket_types_with_fields({i.get("ticket_type_key") for i in items} - {None})}
    fields_by_type = {key: list(t.fields.all()) for key, t in types.items()}
    customer_ids = {i["customer_external_id"] for i in items if i.get("customer_external_id")}
    customers = {c.external_id: c for c in Customer.objects.filter(external_id__in=customer_ids)}
    cluster_ids = {i["cluster_id"] for i in items if i.get("cluster_id")}
    clusters = BugCluster.objects.in_bulk(cluster_ids)
    keys_by_source: dict[str, set[str]] = {}
    for item in items:
        keys_by_source.setdefault(item["source"], set()).add(item["external_id"])
    existing_query = Q(pk__in=[])
    for source, ids in keys_by_source.items():
        existing_query |= Q(source=source, external_id__in=ids)
    existing = {
        (row["source"], row["external_id"]): row
        for row in Ticket.objects.select_for_update()
        .filter(existing_query)
        .order_by("pk")  # the engine claims tickets in id order too: one lock order, no deadlock
        .values("id", "source", "external_id", "customer_id", "status", "reported_at", "cluster_id")
    }

    now = timezone.now()
    results: list[ItemResult] = []
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        result = ItemResult(index=index, result="error")
        results.append(result)
        natural_key = (item["source"], item["external_id"])
        if natural_key in seen:
            result.errors = {"external_id": [f"Same source and external id as item {seen[natural_key]}; send it once."]}
            continue
        seen[natural_key] = index
        errors: dict[str, list[str]] = {}
        type_key = item.get("ticket_type_key")
        ticket_type = types.get(type_key) if type_key else None
        if type_key and ticket_type is None:
            errors["ticket_type"] = [f"Unknown ticket type '{type_key}'; see GET /api/v1/ticket-types/."]
        customer = customers.get(item["customer_external_id"]) if item.get("customer_external_id") else None
        if item.get("customer_external_id") and customer is None and not item.get("customer_name"):
            errors["customer.external_id"] = [
                f"No customer has external id '{item['customer_external_id']}'; send customer.name to create it."
            ]
        cluster = clusters.get(item["cluster_id"]) if item.get("cluster_id") else None
        if item.get("cluster_id") and cluster is None:
            errors["cluster"] = [f"No cluster has id {item['cluster_id']}."]
        if item.get("status") and item["status"] not in _TICKET_STATUSES:
            errors["status"] = [
                f"'{item['status']}' is not a ticket status; choose one of: {', '.join(_TICKET_STATUSES)}."
            ]
        kind = item.get("feedback_kind") or (ticket_type.feedback_kind if ticket_type else "bug_report")
        try:
            subject, evidence = ticket_validate(
                subject=item.get("subject", ""),
                feedback_kind=kind,
                ticket_type=ticket_type,
                evidence=item.get("evidence"),
                fields=fields_by_type.get(type_key, []),
                description=item.get("description") or "",
                reported_at=item.get("reported_at"),
                external_id=item["external_id"],
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            result.errors = errors
            continue
        if customer is None and item.get("customer_external_id"):
            customer = customer_upsert(external_id=item["customer_external_id"], name=item["customer_name"])[0]
            customers[customer.external_id] = customer
        before = existing.get(natural_key)
        result.result = "updated" if before else "created"
        rows.append(
            {
                "result": result,
                "cluster": cluster,
                "before": before,
                "source": item["source"],
                "external_id": item["external_id"],
                "subject": subject,
                "description": item.get("description") or "",
                "feedback_kind": kind,
                "ticket_type_id": ticket_type.pk if ticket_type else None,
                "evidence": evidence.values,
                "evidence_completeness": evidence.completeness,
                "customer_id": customer.pk if customer else (before["customer_id"] if before else None),
                "status": item.get("status") or (before["status"] if before else TicketStatus.NEW),
                "reported_at": item.get("reported_at") or (before["reported_at"] if before else now),
            }
        )
    if not rows:
        return results
    ids = _write_rows(rows, now)
    created_ids = []
    for row in rows:
        row["result"].ticket_id, inserted = ids[(row["source"], row["external_id"])]
        row["result"].result = "created" if inserted else "updated"
        if inserted:
            created_ids.append((row["result"].ticket_id, row["source"], row["external_id"]))
    _bulk_follow_up(rows)
    if created_ids:
        ticket_ids = [pk for pk, _, _ in created_ids]
        after_commit(tickets_assignment_enqueue, ticket_ids=ticket_ids)
    return results


_UPSERT_COLUMNS = (
    "source",
    "external_id",
    "subject",
    "description",
    "feedback_kind",
    "ticket_type_id",
    "evidence",
    "evidence_completeness",
    "customer_id",
    "status",
    "reported_at",
)


def _write_rows(rows: list[dict[str, Any]], now: datetime) -> dict[tuple[str, str], tuple[int, bool]]:
    """Insert or update every row; returns (source, external_id) -> (id, inserted)."""
    if connection.vendor == "postgresql":
        return _write_rows_postgresql(rows, now)
    out: dict[tuple[str, str], tuple[int, bool]] = {}
    new = [r for r in rows if not r["before"]]
    tickets = [Ticket(**{c: r[c] for c in _UPSERT_COLUMNS}, created_at=now, updated_at=now) for r in new]
    Ticket.objects.bulk_create(tickets, batch_size=BULK_MAX)
    for ticket in tickets:
        out[(ticket.source, ticket.external_id)] = (ticket.pk, True)
    old = [r for r in rows if r["before"]]
    if old:
        updates = [Ticket(id=r["before"]["id"], **{c: r[c] for c in _UPSERT_COLUMNS}, updated_at=now) for r in old]
        Ticket.objects.bulk_update(updates, [c.removesuffix("_id") for c in _UPSERT_COLUMNS[2:]] + ["updated_at"])
        for r in old:
            out[(r["source"], r["external_id"])] = (r["before"]["id"], False)
    return out


def _ids_by_key(rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    by_source: dict[str, list[str]] = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(r["external_id"])
    query = Q(pk__in=[])
    for source, external_ids in by_source.items():
        query |= Q(source=source, external_id__in=external_ids)
    return {(s, e): pk for pk, s, e in Ticket.objects.filter(query).values_list("id", "source", "external_id")}


def _csv_rows(rows: list[dict[str, Any]], stamp: str, with_defaults: bool = False) -> io.StringIO:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    for r in rows:
        values = (
            r["source"],
            r["external_id"],
            r["subject"],
            r["description"],
            r["feedback_kind"],
            "" if r["ticket_type_id"] is None else r["ticket_type_id"],
            json.dumps(r["evidence"], cls=DjangoJSONEncoder),
            r["evidence_completeness"],
            "" if r["customer_id"] is None else r["customer_id"],
            r["status"],
            r["reported_at"].isoformat(),
            stamp,
        )
        # New rows also carry what the model's defaults would give: created_at, no assignment yet.
        writer.writerow((*values, stamp, "", "[]") if with_defaults else values)
    buffer.seek(0)
    return buffer


def _write_rows_postgresql(rows: list[dict[str, Any]], now: datetime) -> dict[tuple[str, str], tuple[int, bool]]:
    """New tickets: COPY straight into the table, then read their ids back by key. Known tickets: COPY
    into a temporary table and one INSERT ... ON CONFLICT DO UPDATE.

    A ticket another request inserted after our read makes the COPY fail on the unique constraint;
    ticket_bulk_upsert then rolls back and goes again, and that ticket is an update the second time.
    """
    out: dict[tuple[str, str], tuple[int, bool]] = {}
    columns = ", ".join(_UPSERT_COLUMNS)
    stamp = now.isoformat()
    new = [r for r in rows if not r["before"]]
    old = [r for r in rows if r["before"]]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if new:
            cursor.cursor.copy_expert(
                f"COPY tickets_ticket ({columns}, updated_at, created_at, assignment_source, assignment_reasons) "
                "FROM STDIN WITH (FORMAT csv, FORCE_NULL (ticket_type_id, customer_id))",
                _csv_rows(new, stamp, with_defaults=True),
            )
            out.update({key: (pk, True) for key, pk in _ids_by_key(new).items()})
        if old:
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPSERT_COLUMNS[2:])
            cursor.execute(
                f"CREATE TEMPORARY TABLE ticket_bulk_in ON COMMIT DROP AS "
                f"SELECT {columns}, updated_at FROM tickets_ticket WITH NO DATA"
            )
            cursor.cursor.copy_expert(
                f"COPY ticket_bulk_in ({columns}, updated_at) FROM STDIN "
                "WITH (FORMAT csv, FORCE_NULL (ticket_type_id, customer_id))",
                _csv_rows(old, stamp),
            )
            cursor.execute(
                f"INSERT INTO tickets_ticket ({columns}, updated_at, created_at, assignment_source, assignment_reasons)"
                " "
                f"SELECT {columns}, updated_at, updated_at, '', '[]'::jsonb FROM ticket_bulk_in "
                f"ON CONFLICT (source, external_id) DO UPDATE SET {updates}, updated_at = EXCLUDED.updated_at "
                "RETURNING id, source, external_id, (xmax = 0)"
            )
            out.update({(source, ext): (pk, inserted) for pk, source, ext, inserted in cursor.fetchall()})
            cursor.execute("DROP TABLE ticket_bulk_in")
    return out


def _bulk_follow_up(rows: list[dict[str, Any]]) -> None:
    """Clusters the help desk named, and counters of clusters whose tickets' report times moved."""
    attach = [
        r
        for r in rows
        if r["cluster"] is not None and (not r["before"] or r["before"]["cluster_id"] != r["cluster"].pk)
    ]
    if attach:
        tickets_attach_to_clusters(placements=[(r["result"].ticket_id, r["cluster"]) for r in attach])
    moved = {
        r["before"]["cluster_id"]
        for r in rows
        if r["before"] and r["before"]["cluster_id"] and r["before"]["reported_at"] != r["reported_at"]
    }
    for cluster in BugCluster.objects.filter(pk__in=moved):
        cluster_refresh_counters(cluster=cluster)


def idempotency_records_purge() -> int:
    """Delete stored responses older than the idempotency window; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW).delete()
    return deleted
