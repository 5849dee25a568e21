"""Bug clusters over REST: list, detail with tickets, and the product side's triage actions."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from tickets import services
from tickets.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from tickets.api.serializers import (
    ClusterActionSerializer,
    ClusterAssignSerializer,
    ClusterDetailSerializer,
    ClusterFixedSerializer,
    ClusterPrioritySerializer,
    ClusterSerializer,
)
from tickets.api.views import ERRORS
from tickets.filters import ClusterFilterSet
from tickets.selectors import cluster_detail_queryset, cluster_list

TRIAGE = ("tickets.triage_cluster",)


def _actor(request):
    return request.user if request.user and request.user.is_authenticated else None


def _action_schema(summary: str, request, example: dict | None = None):
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: ClusterSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[OpenApiExample(summary, value=example, request_only=True)] if example else None,
    )


@extend_schema_view(
    list=extend_schema(summary="List bug clusters (filters, ordering, cursor pagination)"),
    retrieve=extend_schema(summary="One cluster with its most recent 100 tickets"),
)
class ClusterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filterset_class = ClusterFilterSet
    ordering_fields = ("last_reported_at", "first_reported_at", "ticket_count", "priority", "created_at", "id")
    ordering = ("-last_reported_at", "-id")
    read_permissions = ("tickets.view_bugcluster",)
    write_permissions = {"acknowledge": TRIAGE, "set_priority": TRIAGE, "assign": TRIAGE, "mark_fixed": TRIAGE}

    def get_queryset(self):
        return cluster_detail_queryset() if self.action == "retrieve" else cluster_list()

    def get_serializer_class(self):
        return ClusterDetailSerializer if self.action == "retrieve" else ClusterSerializer

    def _done(self, cluster) -> Response:
        return Response(ClusterSerializer(cluster_list().get(pk=cluster.pk)).data)

    @_action_schema("Acknowledge (product has seen it)", ClusterActionSerializer, {"message": "Looking into it."})
    @action(detail=True, methods=["post"])
    @idempotent
    def acknowledge(self, request, pk=None):
        data = self._valid(ClusterActionSerializer)
        cluster = services.cluster_acknowledge(
            cluster=self.get_object(), actor=_actor(request), message=data["message"]
        )
        return self._done(cluster)

    @_action_schema("Set priority", ClusterPrioritySerializer, {"priority": "P1"})
    @action(detail=True, methods=["post"], url_path="set-priority")
    @idempotent
    def set_priority(self, request, pk=None):
        data = self._valid(ClusterPrioritySerializer)
        cluster = services.cluster_set_priority(
            cluster=self.get_object(), priority=data["priority"], actor=_actor(request)
        )
        return self._done(cluster)

    @_action_schema("Assign an owner", ClusterAssignSerializer, {"owner": "lead.lee"})
    @action(detail=True, methods=["post"])
    @idempotent
    def assign(self, request, pk=None):
        data = self._valid(ClusterAssignSerializer)
        owner = None
        if data["owner"]:
            owner = get_user_model().objects.filter(username=data["owner"], is_active=True).first()
            if owner is None or not owner.has_perm("tickets.triage_cluster"):
                raise ValidationError({"owner": [f"No active user '{data['owner']}' who can triage clusters."]})
        cluster = services.cluster_assign_owner(cluster=self.get_object(), owner=owner, actor=_actor(request))
        return self._done(cluster)

    @_action_schema(
        "Mark fixed (deploy time)", ClusterFixedSerializer, {"deployed_at": "2026-11-21T16:00:00Z", "message": "v4.2.1"}
    )
    @action(detail=True, methods=["post"], url_path="mark-fixed")
    @idempotent
    def mark_fixed(self, request, pk=None):
        data = self._valid(ClusterFixedSerializer)
        cluster = services.cluster_mark_fixed(
            cluster=self.get_object(), deployed_at=data["deployed_at"], actor=_actor(request), message=data["message"]
        )
        return self._done(cluster)

    def _valid(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
