"""Corrections over REST: merge and split a cluster, move a ticket, list corrections, undo one.

Input serializer -> `tickets.clusters.corrections` service -> output serializer. Writes take a write-scope API
key or a signed-in user with `tickets.correct_clusters`, and honour `Idempotency-Key`.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from tickets.api.serializers import (
    ClusterCorrectedSerializer,
    ClusterMergeSerializer,
    ClusterSplitSerializer,
    CorrectionSerializer,
    TicketMovedSerializer,
    TicketMoveSerializer,
)
from tickets.api.views import ERRORS
from tickets.clusters.corrections import (
    cluster_merge,
    cluster_split,
    correction_blockers,
    correction_list,
    correction_undo,
    ticket_move,
)
from tickets.clusters.selectors import cluster_list
from tickets.intake.selectors import ticket_list
from tickets.models import BugCluster, ClusterCorrection

CORRECT = ("tickets.correct_clusters",)
CORRECTION_WRITES = {"merge": CORRECT, "split": CORRECT}

_CORRECTION_EXAMPLE = {
    "id": 31,
    "action": "merge",
    "source_cluster": 12,
    "target_cluster": 7,
    "actor": "lead.lee",
    "reason": "Same decline code 4001",
    "summary": "Merged #12 into #7 by Lee Lead: 14 tickets moved",
    "ticket_ids": [881, 884, 902],
    "created_at": "2026-11-23T10:15:00Z",
    "undone_at": None,
    "undone_by": None,
    "undo_blocked_by": None,
}


def _actor(request):
    return request.user if request.user and request.user.is_authenticated else None


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _cluster(pk: int, field: str = "into") -> BugCluster:
    cluster = BugCluster.objects.filter(pk=pk).first()
    if cluster is None:
        raise ValidationError({field: f"There is no cluster {pk}; see GET /api/v1/clusters/."})
    return cluster


def _corrected(cluster_pk: int, correction: ClusterCorrection) -> dict:
    cluster = cluster_list().get(pk=cluster_pk)
    cluster.correction = correction
    return ClusterCorrectedSerializer(cluster).data


class ClusterCorrectionActions:
    """The `merge` and `split` actions of ClusterViewSet (its `get_object` finds the cluster)."""

    @extend_schema(
        summary="Merge this cluster into another",
        description="Every ticket moves to `into` (and is never moved back by the engine); this cluster becomes "
        "`merged`. Refused: into itself, into a merged or verified cluster, across kinds. Returns the cluster "
        "that kept the tickets, with the correction (undo it with POST /api/v1/corrections/{id}/undo/).",
        request=ClusterMergeSerializer,
        responses={200: ClusterCorrectedSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[
            OpenApiExample("Merge into #7", value={"into": 7, "reason": "Same decline code 4001"}, request_only=True)
        ],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def merge(self, request, pk=None):
        data = _valid(ClusterMergeSerializer, request)
        correction = cluster_merge(
            source=self.get_object(), into=_cluster(data["into"]), actor=_actor(request), reason=data["reason"]
        )
        return Response(_corrected(correction.target_cluster_id, correction))

    @extend_schema(
        summary="Split tickets off into a new cluster",
        description="The given tickets (some, not all, of this cluster's) move to a new cluster of the same kind "
        "and ticket type, titled `title` or by the first ticket's subject. Returns the new cluster (201).",
        request=ClusterSplitSerializer,
        responses={201: ClusterCorrectedSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[
            OpenApiExample(
                "Safari tickets are another bug",
                value={"ticket_ids": [881, 902], "title": "Checkout button dead on Safari 17", "reason": "Safari only"},
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def split(self, request, pk=None):
        data = _valid(ClusterSplitSerializer, request)
        correction = cluster_split(cluster=self.get_object(), actor=_actor(request), **data)
        return Response(_corrected(correction.target_cluster_id, correction), status=status.HTTP_201_CREATED)


class TicketMoveView(APIView):
    """POST /api/v1/tickets/{id}/move/: put one ticket in another cluster, as a person's decision."""

    read_permissions = ()
    write_permissions = {"*": CORRECT}

    @extend_schema(
        operation_id="tickets_move_create",
        summary="Move a ticket to another cluster",
        description="The ticket is marked as placed by a person: the clustering engine never moves it back.",
        request=TicketMoveSerializer,
        responses={200: TicketMovedSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[OpenApiExample("Move to #7", value={"into": 7, "reason": "Same error code"}, request_only=True)],
    )
    @idempotent
    def post(self, request, pk: int):
        ticket = ticket_list().filter(pk=pk).first()
        if ticket is None:
            return Response(
                {"error": "not_found", "detail": f"There is no ticket {pk}.", "fields": {}},
                status=status.HTTP_404_NOT_FOUND,
            )
        data = _valid(TicketMoveSerializer, request)
        correction = ticket_move(
            ticket=ticket, into=_cluster(data["into"]), actor=_actor(request), reason=data["reason"]
        )
        moved = ticket_list().get(pk=pk)
        moved.correction = correction
        return Response(TicketMovedSerializer(moved).data)


class CorrectionFilterSet(django_filters.FilterSet):
    cluster = django_filters.NumberFilter(method="filter_cluster", help_text="Cluster id (as source or target).")
    action = django_filters.ChoiceFilter(
        choices=ClusterCorrection.Action.choices, help_text="One of: merge, split, move."
    )
    undone = django_filters.BooleanFilter(
        field_name="undone_at", lookup_expr="isnull", exclude=True, help_text="true: only undone ones."
    )

    class Meta:
        model = ClusterCorrection
        fields = ("cluster", "action", "undone")

    def filter_cluster(self, queryset, name, value):
        return queryset.filter(Q(source_cluster_id=value) | Q(target_cluster_id=value))


@extend_schema_view(
    list=extend_schema(summary="List corrections (merges, splits, moves), newest first; filter by cluster"),
    retrieve=extend_schema(summary="One correction"),
)
class CorrectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CorrectionSerializer
    filterset_class = CorrectionFilterSet
    ordering_fields = ("created_at", "id")
    ordering = ("-created_at", "-id")
    read_permissions = ("tickets.view_bugcluster",)
    write_permissions = {"undo": CORRECT}

    def get_queryset(self):
        return correction_list()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "blockers": correction_blockers(page)}
        return self.get_paginated_response(CorrectionSerializer(page, many=True, context=context).data)

    def retrieve(self, request, *args, **kwargs):
        correction = self.get_object()
        context = {**self.get_serializer_context(), "blockers": correction_blockers([correction])}
        return Response(CorrectionSerializer(correction, context=context).data)

    @extend_schema(
        summary="Undo a correction exactly",
        description="Every moved ticket gets its previous cluster and assignment back, every changed cluster its "
        "previous status. Refused when already undone, or while a later correction of the same clusters stands "
        "(`fields.correction` names the one to undo first).",
        request=None,
        responses={200: CorrectionSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[
            OpenApiExample(
                "Undone",
                value={**_CORRECTION_EXAMPLE, "undone_at": "2026-11-23T10:20:00Z", "undone_by": "lead.lee"},
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def undo(self, request, pk=None):
        correction = correction_undo(correction=self.get_object(), actor=_actor(request))
        return Response(CorrectionSerializer(correction, context={"blockers": {}}).data)
