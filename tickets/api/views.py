"""Ticket types, tickets and customers over REST: input serializer -> service -> output serializer."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from tickets.api import examples
from tickets.api.exceptions import error_response, flatten_errors, printable, printable_errors
from tickets.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from tickets.api.serializers import (
    FUTURE_TOLERANCE,
    BulkResultSerializer,
    BulkTicketsSerializer,
    CustomerSerializer,
    CustomerUpsertSerializer,
    TicketSerializer,
    TicketTypeSerializer,
    TicketUpsertByKeySerializer,
    TicketWriteSerializer,
    ticket_data,
    ticket_item_fast,
)
from tickets.filters import CustomerFilterSet, TicketFilterSet, TicketTypeFilterSet
from tickets.intake.ingest import (
    BULK_MAX,
    customer_upsert,
    ticket_bulk_upsert,
    ticket_type_by_key,
    ticket_types_with_fields,
    ticket_upsert,
)
from tickets.intake.selectors import ticket_list
from tickets.models import BugCluster, Customer, TicketType

ERRORS = {
    400: OpenApiResponse(
        description="Refused: `fields` names each failing field.", examples=[examples.VALIDATION_ERROR]
    ),
    401: OpenApiResponse(description="No or unknown API key, or revoked key."),
    403: OpenApiResponse(description="Read-only key, or the user's role lacks the permission."),
    413: OpenApiResponse(description="Body larger than API_MAX_BODY_BYTES."),
    429: OpenApiResponse(description="Rate limit of this key reached; see the Retry-After header."),
}


@extend_schema_view(
    list=extend_schema(summary="List ticket types with their evidence fields and JSON Schema"),
    retrieve=extend_schema(summary="One ticket type, to render the same evidence form as the product"),
)
class TicketTypeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TicketTypeSerializer
    filterset_class = TicketTypeFilterSet
    lookup_field = "key"
    ordering_fields = ("order", "name", "key", "id")
    ordering = ("order", "id")
    read_permissions = ("tickets.view_tickettype",)

    def get_queryset(self):
        return ticket_types_with_fields()


def resolve_references(data: dict[str, Any]) -> dict[str, Any]:
    """Turn keys in a validated ticket body into objects; raise ValidationError naming the field."""
    errors: dict[str, list[str]] = {}
    resolved = dict(data)
    type_key = resolved.pop("ticket_type", None)
    resolved["ticket_type"] = None
    if type_key:
        resolved["ticket_type"], resolved["evidence_fields"] = ticket_type_by_key(type_key)
        if resolved["ticket_type"] is None:
            keys = ", ".join(TicketType.objects.filter(is_active=True).values_list("key", flat=True))
            errors["ticket_type"] = [f"Unknown ticket type '{type_key}'; choose one of: {keys}."]
    cluster_id = resolved.pop("cluster", None)
    resolved["cluster"] = None
    if cluster_id:
        resolved["cluster"] = BugCluster.objects.filter(pk=cluster_id).first()
        if resolved["cluster"] is None:
            errors["cluster"] = [f"No cluster has id {cluster_id}; omit it to let the clustering engine decide."]
    customer_ref = resolved.pop("customer", None) or {}
    resolved["customer"] = None
    resolved["new_customer"] = None
    if customer_ref:
        resolved["customer"] = Customer.objects.filter(external_id=customer_ref["external_id"]).first()
        if resolved["customer"] is None:
            if not customer_ref.get("name"):
                errors["customer.external_id"] = [
                    f"No customer has external id '{customer_ref['external_id']}'; send customer.name to create it."
                ]
            resolved["new_customer"] = customer_ref
    if errors:
        raise ValidationError(errors)
    return resolved


def upsert_from_api(data: dict[str, Any]) -> Response:
    resolved = resolve_references(data)
    new_customer = resolved.pop("new_customer")
    if new_customer:
        # Customer and ticket together or neither: a refused ticket leaves nothing behind.
        with transaction.atomic():
            resolved["customer"] = customer_upsert(external_id=new_customer["external_id"], name=new_customer["name"])[
                0
            ]
            outcome = ticket_upsert(**resolved)
    else:
        outcome = ticket_upsert(**resolved)
    code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
    return Response(ticket_data(outcome.ticket), status=code)


@extend_schema_view(
    list=extend_schema(summary="List tickets (filters, ordering, cursor pagination)"),
    retrieve=extend_schema(summary="One ticket"),
)
class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TicketSerializer
    filterset_class = TicketFilterSet
    ordering_fields = ("reported_at", "created_at", "updated_at", "id")
    ordering = ("-reported_at", "-id")
    read_permissions = ("tickets.view_ticket",)
    write_permissions = {"*": ("tickets.add_ticket",)}

    def get_queryset(self):
        return ticket_list()

    @extend_schema(
        summary="Create or update a ticket by (source, external_id)",
        description="Upsert: the first POST of a (source, external_id) creates the ticket (201); sending it again "
        "updates it (200), so retries and re-sent webhooks never duplicate. Evidence is validated against the "
        "ticket type; nothing is stored when any value is refused.",
        request=TicketWriteSerializer,
        responses={201: TicketSerializer, 200: TicketSerializer, **ERRORS},
        examples=[examples.TICKET_CREATE],
    )
    def create(self, request):
        data = ticket_item_fast(request.data)
        if data is None:  # not plainly well-formed: the serializer says what is wrong
            serializer = TicketWriteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        return upsert_from_api(data)

    @extend_schema(
        summary="Create or replace the ticket with this source and external id",
        request=TicketUpsertByKeySerializer,
        responses={201: TicketSerializer, 200: TicketSerializer, **ERRORS},
        examples=[examples.TICKET_PUT],
    )
    @action(
        detail=False,
        methods=["put"],
        url_path=r"by-key/(?P<source>[A-Za-z0-9_.-]{1,50})/(?P<external_id>[^/]{1,100})",
        url_name="by-key",
    )
    def by_key(self, request, source: str, external_id: str):
        serializer = TicketUpsertByKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return upsert_from_api({**serializer.validated_data, "source": source, "external_id": external_id})

    @extend_schema(
        summary=f"Create or update up to {BULK_MAX} tickets in one request",
        description="Each item is upserted like POST /tickets/ and gets its own result: created, updated, or its "
        "errors (the other items are still stored). Honours Idempotency-Key.",
        request=BulkTicketsSerializer,
        responses={200: BulkResultSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[examples.BULK_REQUEST, examples.BULK_RESPONSE],
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    @idempotent
    def bulk(self, request):
        raw = request.data.get("tickets") if isinstance(request.data, dict) else None
        if not isinstance(raw, list) or not raw:
            return error_response({"tickets": [f"Send a list of 1 to {BULK_MAX} tickets under 'tickets'."]})
        if len(raw) > BULK_MAX:
            return error_response({"tickets": [f"At most {BULK_MAX} tickets per request; got {len(raw)}."]})
        items, shape_errors = [], {}
        shape = TicketWriteSerializer()  # one instance: building fields per item would dominate the time
        latest = timezone.now() + FUTURE_TOLERANCE
        for index, entry in enumerate(raw):
            try:
                data = ticket_item_fast(entry, latest) or shape.run_validation(entry)
                items.append((index, _bulk_item(data)))
            except DRFValidationError as exc:
                shape_errors[index] = flatten_errors(exc.detail)
        outcomes = {items[r.index][0]: r for r in ticket_bulk_upsert(items=[i for _n, i in items])}
        by_index = dict(items)
        results = []
        for index in range(len(raw)):
            if index in shape_errors:
                sent = raw[index].get("external_id") if isinstance(raw[index], dict) else None
                external_id = printable(sent) if isinstance(sent, (str, int)) and not isinstance(sent, bool) else None
                results.append(
                    {
                        "index": index,
                        "result": "error",
                        "id": None,
                        "external_id": external_id,
                        "errors": shape_errors[index],
                    }
                )
                continue
            r = outcomes[index]
            results.append(
                {
                    "index": index,
                    "result": r.result,
                    "id": r.ticket_id,
                    "external_id": by_index[index]["external_id"],
                    "errors": printable_errors(r.errors),
                }
            )
        counts = {k: sum(1 for r in results if r["result"] == k) for k in ("created", "updated", "error")}
        body = {
            "created": counts["created"],
            "updated": counts["updated"],
            "failed": counts["error"],
            "results": results,
        }
        return Response(body, status=status.HTTP_200_OK)


def _bulk_item(data: dict[str, Any]) -> dict[str, Any]:
    customer = data.get("customer") or {}
    return {
        "source": data["source"],
        "external_id": data["external_id"],
        "subject": data["subject"],
        "description": data.get("description", ""),
        "ticket_type_key": data.get("ticket_type"),
        "feedback_kind": data.get("feedback_kind"),
        "evidence": data.get("evidence") or {},
        "customer_external_id": customer.get("external_id"),
        "customer_name": customer.get("name"),
        "status": data.get("status"),
        "reported_at": data.get("reported_at"),
        "cluster_id": data.get("cluster"),
    }


@extend_schema_view(
    list=extend_schema(summary="List customers"),
    retrieve=extend_schema(summary="One customer by its external id"),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilterSet
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]{1,100}"
    ordering_fields = ("name", "external_id", "mrr", "renewal_date", "id")
    ordering = ("name", "id")
    read_permissions = ("tickets.view_customer",)
    write_permissions = {"update": ("tickets.add_customer", "tickets.change_customer")}
    queryset = Customer.objects.all()

    @extend_schema(
        summary="Create or update the customer with this external id",
        request=CustomerUpsertSerializer,
        responses={201: CustomerSerializer, 200: CustomerSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Customer",
                value={"name": "Acme GmbH", "segment": "enterprise", "plan_tier": "business", "mrr": "12000.00"},
                request_only=True,
            )
        ],
    )
    def update(self, request, external_id: str):
        serializer = CustomerUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer, created = customer_upsert(external_id=external_id, **serializer.validated_data)
        return Response(CustomerSerializer(customer).data, status=201 if created else 200)
