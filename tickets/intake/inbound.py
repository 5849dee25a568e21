"""Inbound help-desk webhooks: map a Zendesk-style ticket payload to a ticket with an InboundMapping."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from tickets.intake.ingest import TicketUpsert, customer_upsert, ticket_types_with_fields, ticket_upsert
from tickets.models import InboundMapping

_MISSING = object()


def payload_get(payload: Any, path: str) -> Any:
    """Follow a dotted path; in a list of objects a segment picks the element with that `id` (its `value`)."""
    node = payload
    if not path:
        return _MISSING
    segments = path.split(".")
    for position, segment in enumerate(segments):
        if isinstance(node, dict):
            if segment not in node:
                return _MISSING
            node = node[segment]
        elif isinstance(node, list):
            match = next((e for e in node if isinstance(e, dict) and str(e.get("id")) == segment), None)
            if match is None:
                return _MISSING
            last = position == len(segments) - 1
            node = match.get("value") if last else match
        else:
            return _MISSING
    return node


def _text(value: Any) -> str:
    return "" if value is _MISSING or value is None else str(value).strip()


def inbound_ticket_upsert(*, mapping: InboundMapping, payload: Any) -> TicketUpsert:
    """Create or update the ticket a help desk's webhook describes; errors name the mapped field and path."""
    if not isinstance(payload, dict):
        raise ValidationError({"body": ["Send the help desk's ticket as a JSON object."]})
    errors: dict[str, list[str]] = {}
    external_id = _text(payload_get(payload, mapping.external_id_path))
    if not external_id:
        errors["external_id"] = [f"No ticket id at '{mapping.external_id_path}' in the payload."]
    subject = _text(payload_get(payload, mapping.subject_path))
    ticket_type = mapping.default_ticket_type
    if mapping.ticket_type_path:
        raw_type = _text(payload_get(payload, mapping.ticket_type_path))
        type_key = mapping.ticket_type_values.get(raw_type, raw_type) if raw_type else None
        if type_key:
            ticket_type = next(iter(ticket_types_with_fields([type_key])), None)
            if ticket_type is None:
                errors["ticket_type"] = [
                    f"'{raw_type}' at '{mapping.ticket_type_path}' maps to no ticket type; add it to the "
                    "mapping's ticket type values in the admin."
                ]
    evidence = {}
    for key, path in (mapping.evidence_paths or {}).items():
        value = payload_get(payload, path)
        if value is not _MISSING and value not in (None, ""):
            evidence[key] = value
    reported_at = None
    if mapping.reported_at_path:
        raw = _text(payload_get(payload, mapping.reported_at_path))
        reported_at = parse_datetime(raw) if raw else None
        if raw and reported_at is None:
            errors["reported_at"] = [f"'{raw}' at '{mapping.reported_at_path}' is not an ISO 8601 date and time."]
    if errors:
        raise ValidationError(errors)
    customer_id = _text(payload_get(payload, mapping.customer_external_id_path))
    with transaction.atomic():
        customer = None
        if customer_id:
            name = _text(payload_get(payload, mapping.customer_name_path)) or None
            customer = customer_upsert(external_id=customer_id, name=name)[0]
        return ticket_upsert(
            source=mapping.source,
            external_id=external_id,
            subject=subject,
            ticket_type=ticket_type,
            evidence=evidence,
            description=_text(payload_get(payload, mapping.description_path)),
            customer=customer,
            reported_at=reported_at,
        )
