"""Filing one ticket: validate what it is filed with, store it, and hand it to the clustering engine."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tickets.clustering.services import ticket_assignment_enqueue
from tickets.clusters.services import ticket_attach_to_cluster
from tickets.intake.evidence import EARLIEST, EvidenceResult, evidence_validate, unstorable
from tickets.models import (
    AssignmentSource,
    BugCluster,
    Customer,
    FeedbackKind,
    Ticket,
    TicketStatus,
    TicketType,
)
from tickets.queue import after_commit

WEB_SOURCE = "web"
REPORTED_AT_TOLERANCE = timedelta(minutes=5)  # a help desk's clock may run a little ahead


def ticket_create(
    *,
    subject: str,
    feedback_kind: str = FeedbackKind.BUG_REPORT,
    ticket_type: TicketType | None = None,
    evidence: dict[str, Any] | None = None,
    description: str = "",
    source: str = WEB_SOURCE,
    external_id: str | None = None,
    customer: Customer | None = None,
    agent: AbstractBaseUser | None = None,
    reported_at: datetime | None = None,
    status: str = TicketStatus.NEW,
    cluster: BugCluster | None = None,
    assignment_source: str = AssignmentSource.AGENT,
    evidence_fields: list | None = None,
) -> Ticket:
    """File one ticket after validating its evidence against its type.

    `evidence_fields` (the type's fields, already loaded) saves a query for callers that have them.

    Raises ValidationError keyed by field (`subject`, `ticket_type`,
    `evidence.<key>`) and stores nothing when any value is refused. A given
    `cluster` is a person's decision ("same bug") and is kept; otherwise the
    clustering engine assigns the ticket after commit.
    """
    subject, result = ticket_validate(
        subject=subject,
        feedback_kind=feedback_kind,
        ticket_type=ticket_type,
        evidence=evidence,
        fields=evidence_fields,
        description=description,
        reported_at=reported_at,
        external_id=external_id,
    )
    now = timezone.now()
    # A lone INSERT is its own transaction; wrapping it in BEGIN/COMMIT would cost two more round
    # trips on the busiest write path. Inside a caller's transaction a savepoint keeps a refused
    # insert from breaking it; with a cluster, the insert and the attach commit together.
    needs_atomic = cluster is not None or transaction.get_connection().in_atomic_block
    with transaction.atomic() if needs_atomic else contextlib.nullcontext():
        ticket = Ticket.objects.create(
            source=source,
            external_id=external_id or f"{source}-{uuid.uuid4().hex[:12]}",
            subject=subject,
            description=description or "",
            feedback_kind=feedback_kind,
            ticket_type=ticket_type,
            evidence=result.values,
            evidence_completeness=result.completeness,
            customer=customer,
            agent=agent,
            status=status,
            reported_at=reported_at or now,
        )
        if cluster is not None:
            ticket_attach_to_cluster(ticket=ticket, cluster=cluster, source=assignment_source, actor=agent)
        after_commit(ticket_assignment_enqueue, ticket=ticket)
    return ticket


_FEEDBACK_KINDS = frozenset(FeedbackKind.values)


def ticket_validate(
    *,
    subject: str,
    feedback_kind: str,
    ticket_type: TicketType | None,
    evidence: dict[str, Any] | None,
    fields: list | None = None,
    description: str = "",
    reported_at: datetime | None = None,
    external_id: str | None = None,
) -> tuple[str, EvidenceResult]:
    """Check what a ticket is filed with; return the clean subject and evidence or raise ValidationError.

    `fields` (the type's evidence fields) may be given by callers that validate many tickets of one type.
    Every value is checked before anything is written, so a refused ticket is never stored.
    """
    errors: dict[str, list[str]] = {}
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = ["A subject is required: one line saying what the customer sees."]
    elif len(subject) > 255:
        errors["subject"] = [f"The subject must be at most 255 characters (got {len(subject)})."]
    for name, text in (("subject", subject), ("description", description), ("external_id", external_id)):
        problem = unstorable(text)
        if problem:
            errors[name] = [f"The {name.replace('_', ' ')} {problem}"]
    if reported_at is not None and not (EARLIEST <= reported_at <= timezone.now() + REPORTED_AT_TOLERANCE):
        errors["reported_at"] = [
            f"reported_at must be between {EARLIEST:%Y-%m-%d} and now; got {reported_at.isoformat()}."
        ]
    if feedback_kind not in _FEEDBACK_KINDS:
        errors["feedback_kind"] = [
            f"'{feedback_kind}' is not a feedback kind; choose one of: {', '.join(FeedbackKind.values)}."
        ]
    if ticket_type is not None and not ticket_type.is_active:
        errors["ticket_type"] = [f"The ticket type '{ticket_type.key}' is retired; choose an active type."]
    if fields is None:
        fields = list(ticket_type.fields.all()) if ticket_type is not None else []
    result = None
    try:
        result = evidence_validate(fields=fields, values=evidence)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return subject, result
