"""Filing a report from the browser form: the ticket, its evidence and its attachments, at most once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tickets.intake.services import WEB_SOURCE, ticket_create
from tickets.intake.uploads import StashedUpload, attachment_create
from tickets.models import AssignmentSource, BugCluster, Customer, FieldKind, Ticket, TicketType


def report_file(
    *,
    agent,
    submission_id: str,
    subject: str,
    feedback_kind: str,
    ticket_type: TicketType | None,
    evidence: dict[str, Any],
    description: str = "",
    customer: Customer | None = None,
    reported_at: datetime | None = None,
    uploads: Sequence[StashedUpload] = (),
    cluster: BugCluster | None = None,
) -> tuple[Ticket, bool]:
    """File the agent's report with its uploads as attachments; returns (ticket, created).

    `submission_id` identifies one filled-in form: sending it again (a double
    click, a retried POST) returns the ticket filed the first time instead of a
    duplicate. A `cluster` is the agent's "same bug" choice and is kept as theirs.
    File evidence fields are answered by the upload carrying their key.
    """
    external_id = f"{WEB_SOURCE}-{submission_id}"
    existing = _already_filed(external_id, agent)
    if existing is not None:
        return existing, False
    file_keys = {f.key for f in ticket_type.fields.all() if f.kind == FieldKind.FILE} if ticket_type else set()
    try:
        with transaction.atomic():
            ticket = ticket_create(
                subject=subject,
                feedback_kind=feedback_kind,
                ticket_type=ticket_type,
                evidence=evidence,
                description=description,
                source=WEB_SOURCE,
                external_id=external_id,
                customer=customer,
                agent=agent,
                reported_at=reported_at,
                cluster=cluster,
                assignment_source=AssignmentSource.AGENT,
            )
            for upload in uploads:
                key = upload.evidence_key if upload.evidence_key in file_keys else ""
                attachment_create(ticket=ticket, upload=upload, evidence_key=key, user=agent)
    except IntegrityError:
        existing = _already_filed(external_id, agent)
        if existing is None:
            raise
        return existing, False
    return ticket, True


def _already_filed(external_id: str, agent) -> Ticket | None:
    ticket = Ticket.objects.filter(source=WEB_SOURCE, external_id=external_id).first()
    if ticket is not None and ticket.agent_id != getattr(agent, "pk", None):
        raise ValidationError({"submission_id": "This form was already used by someone else; reload the page."})
    return ticket
