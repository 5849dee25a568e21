"""Bug clusters over REST: list, detail with tickets, and the product side's triage actions."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from tickets.api.cluster_create import ClusterCreateSerializer
from tickets.api.corrections import CORRECTION_WRITES, ClusterCorrectionActions
from tickets.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from tickets.api.serializers import (
    ClusterActionSerializer,
    ClusterAssignSerializer,
    ClusterDetailSerializer,
    ClusterFixedSerializer,
    ClusterPrioritySerializer,
    ClusterSerializer,
    PatternQuerySerializer,
    PatternReportSerializer,
    PossibleDuplicateSerializer,
)
from tickets.api.views import ERRORS
from tickets.clustering.selectors import cluster_possible_duplicates
from tickets.clusters import services
from tickets.clusters.patterns import evidence_patterns
from tickets.clusters.selectors import cluster_detail_queryset, cluster_list
from tickets.filters import ClusterFilterSet

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
class ClusterViewSet(
    ClusterCorrectionActions,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = ClusterFilterSet
    ordering_fields = ("last_reported_at", "first_reported_at", "ticket_count", "priority", "created_at", "id")
    ordering = ("-last_reported_at", "-id")
    read_permissions = ("tickets.view_bugcluster",)
    write_permissions = {
        "create": ("tickets.add_bugcluster",),
        "acknowledge": TRIAGE,
        "set_priority": TRIAGE,
        "assign": TRIAGE,
        "mark_fixed": TRIAGE,
        **CORRECTION_WRITES,
    }

    def get_queryset(self):
        return cluster_detail_queryset() if self.action == "retrieve" else cluster_list()

    def get_serializer_class(self):
        return ClusterDetailSerializer if self.action == "retrieve" else ClusterSerializer

    @extend_schema(
        summary="Open a cluster (to mirror a known incident); file tickets into it with `cluster`",
        request=ClusterCreateSerializer,
        responses={201: ClusterSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[
            OpenApiExample(
                "Known incident",
                value={"title": "EU checkout outage 2026-11-02", "ticket_type": "payment_failure", "priority": "P1"},
                request_only=True,
            )
        ],
    )
    @idempotent
    def create(self, request):
        data = ClusterCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cluster = services.cluster_create(actor=_actor(request), **data.validated_data)
        return Response(ClusterSerializer(cluster_list().get(pk=cluster.pk)).data, status=201)

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
            owner = get_user_model().objects.filter(username=data["owner"]).first()
            if owner is None:
                raise ValidationError({"owner": [f"No user '{data['owner']}'; give the username of a product lead."]})
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

    @extend_schema(
        summary="Possible duplicates: other clusters that look like the same bug",
        description=(
            "Open or fixed clusters of the same kind ranked by the clustering engine against this one, best "
            "first, with a score (0..1) and the reasons in words. Halves of a split are never offered."
        ),
        responses={200: PossibleDuplicateSerializer(many=True), **ERRORS},
        examples=[
            OpenApiExample(
                "A likely duplicate",
                value=[
                    {
                        "cluster": {"id": 412, "title": "PayPal checkout fails, error 4001", "status": "new"},
                        "score": 0.83,
                        "reasons": ["text similar 0.71", "same error code 4001"],
                    }
                ],
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["get"], url_path="possible-duplicates", pagination_class=None, filter_backends=[])
    def possible_duplicates(self, request, pk=None):
        found = cluster_possible_duplicates(cluster=self.get_object())
        return Response(PossibleDuplicateSerializer(found, many=True).data)

    def _valid(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


PATTERNS_EXAMPLE = OpenApiExample(
    "A planted pattern among login issues",
    value={
        "scope": {"ticket_type": "login_issue", "cluster": None},
        "days": 7,
        "baseline_days": 28,
        "since": "2026-11-16T09:00:00+00:00",
        "recent_tickets": 60,
        "baseline_tickets": 240,
        "keys": ["browser", "os", "device", "error_message", "account_status", "login_method"],
        "skipped_keys": {},
        "patterns": [
            {
                "values": [
                    {"key": "os", "label": "Operating system", "value": "iOS 17.2"},
                    {"key": "login_method", "label": "Sign-in method", "value": "biometric"},
                ],
                "text": "iOS 17.2 + biometric",
                "count": 47,
                "share": 0.7833,
                "baseline_count": 8,
                "baseline_share": 0.0353,
                "lift": 22.2,
            }
        ],
    },
    response_only=True,
)


class OneReportSchema(AutoSchema):
    """The collection URL answers one report object, not a list of them."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class PatternViewSet(viewsets.ViewSet):
    """Evidence values and pairs over-represented among recent tickets of a type or a cluster."""

    read_permissions = ("tickets.view_bugcluster",)
    schema = OneReportSchema()

    @extend_schema(
        summary="Evidence patterns of a ticket type or a cluster",
        description=(
            "Evidence values (choice and short text fields), alone or in pairs, whose share among the last "
            "`days` days' tickets is well above their share in the baseline: the type's earlier tickets, or "
            "for a cluster the other tickets of its type. Give `ticket_type` or `cluster`."
        ),
        parameters=[PatternQuerySerializer],
        responses={200: PatternReportSerializer, **ERRORS},
        examples=[PATTERNS_EXAMPLE],
    )
    def list(self, request):
        query = PatternQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        report = evidence_patterns(
            ticket_type=data.get("ticket_type"), cluster=data.get("cluster"), days=int(data["days"])
        )
        return Response(PatternReportSerializer(report).data)
