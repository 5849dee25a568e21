"""REST API of the metrics app: fix impact per cluster (as of now), mark fixed, verify; success metrics.

Registered on the shared router in triage/api_urls.py:
    /api/v1/fix-impacts/                       measured fixes (filters: verdict, priority, status, dates)
    /api/v1/fix-impacts/{cluster_id}/          one fix as of now, with the daily series
    /api/v1/fix-impacts/{cluster_id}/recompute/   POST: measure again now
    /api/v1/fix-impacts/{cluster_id}/mark-fixed/  POST {"deployed_at": ...}
    /api/v1/fix-impacts/{cluster_id}/verify/      POST {"support_confirmation": true}
    /api/v1/success-metrics/                   organisation success metrics by week and month
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.filters import FixImpactFilterSet
from metrics.models import FixImpact
from metrics.selectors import fix_impact_get, fix_impact_list
from metrics.services import (
    cluster_verify,
    fix_impact_recompute,
)
from metrics.success import success_metrics
from tickets.api.auth import api_key_allows, request_actor
from tickets.clusters.services import cluster_mark_fixed
from tickets.models import BugCluster


class HasPerm(permissions.BasePermission):
    """Reads need `tickets.view_bugcluster`; each write action names its permission in `action_perms`.

    API keys: any key reads, a write key may also mark fixed, recompute and verify (a help desk confirms
    a fix from its side)."""

    def has_permission(self, request, view) -> bool:
        allowed = api_key_allows(request)
        if allowed is not None:
            return allowed
        if not (request.user and request.user.is_authenticated):
            return False
        needed = getattr(view, "action_perms", {}).get(view.action, "tickets.view_bugcluster")
        return request.user.has_perm(needed)


class FixImpactSerializer(serializers.ModelSerializer):
    cluster = serializers.IntegerField(source="cluster_id", read_only=True)
    cluster_title = serializers.CharField(source="cluster.title", read_only=True)
    cluster_status = serializers.CharField(source="cluster.status", read_only=True)
    cluster_priority = serializers.CharField(source="cluster.priority", read_only=True)
    current_verdict = serializers.CharField(read_only=True)

    class Meta:
        model = FixImpact
        fields = [
            "cluster", "cluster_title", "cluster_status", "cluster_priority", "deployed_at", "deploy_day",
            "verdict", "provisional_verdict", "current_verdict", "reason", "days_observed", "is_final",
            "baseline_tickets", "after_tickets", "min_baseline_tickets", "before_per_day", "after_per_day",
            "expected_after", "change_pct", "change_low_pct", "change_high_pct", "first_week_change_pct",
            "first_week_low_pct", "first_week_high_pct", "late_change_pct", "dow_profile", "dispersion",
            "control_used", "computed_through", "computed_at",
        ]  # fmt: skip
        read_only_fields = fields


class FixImpactDetailSerializer(FixImpactSerializer):
    series = serializers.JSONField(
        read_only=True, help_text="61 days: day, period (before/deploy/after), tickets, expected, low, high."
    )

    class Meta(FixImpactSerializer.Meta):
        fields = [*FixImpactSerializer.Meta.fields, "series"]
        read_only_fields = fields


class MarkFixedSerializer(serializers.Serializer):
    deployed_at = serializers.DateTimeField(help_text="When the fix reached customers; may be in the past.")
    message = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class VerifySerializer(serializers.Serializer):
    support_confirmation = serializers.BooleanField(
        help_text="Support confirms customers no longer report the problem."
    )


def _as_drf(error: DjangoValidationError) -> ValidationError:
    return ValidationError(error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages})


class FixImpactViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Fix impact of clusters, addressed by cluster id."""

    permission_classes = [HasPerm]
    action_perms = {
        "recompute": "tickets.triage_cluster",
        "mark_fixed": "tickets.triage_cluster",
        "verify": "metrics.verify_fix",
    }
    filterset_class = FixImpactFilterSet
    serializer_class = FixImpactSerializer
    ordering_fields = ["deployed_at", "change_pct"]
    lookup_field = "cluster_id"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return fix_impact_list(request=self.request).order_by("-deployed_at", "-id")

    def _cluster(self) -> BugCluster:
        return get_object_or_404(BugCluster, pk=self.kwargs["cluster_id"])

    def _current(self, cluster: BugCluster, *, force: bool = False) -> FixImpact:
        """The measurement as last taken (`computed_at` says when), or taken now when asked (a POST)."""
        row = fix_impact_recompute(cluster=cluster) if force else fix_impact_get(cluster=cluster)
        if row is None:
            raise NotFound("This cluster has no deployed fix to measure; mark it fixed with the deploy time first.")
        return row

    @extend_schema(responses=FixImpactDetailSerializer)
    def retrieve(self, request: Request, cluster_id: str) -> Response:
        return Response(FixImpactDetailSerializer(self._current(self._cluster())).data)

    @extend_schema(request=None, responses=FixImpactDetailSerializer)
    @action(detail=True, methods=["post"])
    def recompute(self, request: Request, cluster_id: str) -> Response:
        return Response(FixImpactDetailSerializer(self._current(self._cluster(), force=True)).data)

    @extend_schema(request=MarkFixedSerializer, responses={201: FixImpactDetailSerializer})
    @action(detail=True, methods=["post"], url_path="mark-fixed")
    def mark_fixed(self, request: Request, cluster_id: str) -> Response:
        cluster = self._cluster()
        data = MarkFixedSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            cluster_mark_fixed(cluster=cluster, actor=request_actor(request), **data.validated_data)
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        return Response(
            FixImpactDetailSerializer(self._current(cluster, force=True)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=VerifySerializer,
        responses={200: FixImpactDetailSerializer, 400: OpenApiResponse(description="Refused, with the reason")},
    )
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, cluster_id: str) -> Response:
        cluster = self._cluster()
        data = VerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            cluster_verify(cluster=cluster, by=request_actor(request), **data.validated_data)
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        return Response(
            FixImpactDetailSerializer(FixImpact.objects.select_related("cluster").get(cluster=cluster)).data
        )


class MetricCellSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="A share (0-1) or a number of days.")
    n = serializers.IntegerField(help_text="Items the value is computed from.")
    on_target = serializers.BooleanField(allow_null=True, help_text="Against the metric's target; null without one.")


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    definition = serializers.CharField()
    unit = serializers.ChoiceField(choices=["share", "days"])
    target = serializers.CharField()
    by_week = MetricCellSerializer(many=True)
    by_month = MetricCellSerializer(many=True)


@extend_schema_serializer(many=False)  # one report, though served by the list route
class SuccessMetricsSerializer(serializers.Serializer):
    weeks = serializers.ListField(child=serializers.DateField(), help_text="Monday of each week, oldest first.")
    months = serializers.ListField(child=serializers.CharField(), help_text="YYYY-MM, oldest first.")
    metrics = MetricSerializer(many=True)


class SuccessMetricsViewSet(viewsets.ViewSet):
    """Organisation success metrics for the last 12 weeks and 7 months, each with its definition and target."""

    permission_classes = [HasPerm]

    @extend_schema(responses=SuccessMetricsSerializer)
    def list(self, request: Request) -> Response:
        return Response(success_metrics())
