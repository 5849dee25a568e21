"""POST /api/v1/inbound/<slug>/: a help desk's own ticket webhook, mapped by an InboundMapping."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api import examples
from tickets.api.serializers import TicketSerializer, ticket_data
from tickets.api.views import ERRORS
from tickets.intake.inbound import inbound_ticket_upsert
from tickets.models import InboundMapping


class InboundWebhookView(APIView):
    """Accepts the help desk's JSON as it is; the mapping (admin) says where each value is."""

    write_permissions = {"*": ("tickets.add_ticket",)}

    @extend_schema(
        summary="Inbound help-desk ticket webhook (Zendesk-style payload)",
        description="Point the help desk's webhook here with an API key of write scope (header "
        "`Authorization: Api-Key ...` or `X-API-Key`). The mapping with this slug, edited in the admin, maps "
        "payload paths to ticket type, evidence and customer. Re-sent webhooks update the same ticket.",
        request=OpenApiTypes.OBJECT,
        responses={201: TicketSerializer, 200: TicketSerializer, 404: None, **ERRORS},
        examples=[examples.INBOUND_ZENDESK],
    )
    def post(self, request, slug: str):
        mapping = get_object_or_404(
            InboundMapping.objects.select_related("default_ticket_type"), slug=slug, is_active=True
        )
        outcome = inbound_ticket_upsert(mapping=mapping, payload=request.data)
        return Response(
            ticket_data(outcome.ticket),
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        )
