"""Feature requests over REST: each request with the revenue that asks for it, and product's decision."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from tickets.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from tickets.api.views import ERRORS
from tickets.feedback.filters import FeatureRequestFilterSet
from tickets.feedback.requests import feature_request_decisions, feature_request_details, feature_request_list
from tickets.feedback.services import feature_request_decide
from tickets.models import FeatureDecision


class QuoteSerializer(serializers.Serializer):
    words = serializers.CharField()
    customer = serializers.CharField()
    segment = serializers.CharField()
    reported_at = serializers.DateTimeField()


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=FeatureDecision.choices)
    quarter = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    text = serializers.CharField(help_text='The decision in words, e.g. "Planned for 2027-Q1".')
    decided_at = serializers.DateTimeField()
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)


class FeatureRequestSerializer(serializers.Serializer):
    """A feature request with its totals; the `details` of its page's rows come from the serializer context."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    summary = serializers.CharField()
    status = serializers.CharField()
    revenue_mrr = serializers.DecimalField(
        source="revenue", max_digits=14, decimal_places=2, help_text="MRR of the distinct customers who asked."
    )
    revenue_arr = serializers.SerializerMethodField(help_text="12 x revenue_mrr.")
    customers = serializers.IntegerField(help_text="Distinct customers who asked.")
    requests = serializers.IntegerField(help_text="Tickets asking for it.")
    last_requested = serializers.DateTimeField(allow_null=True)
    segments = serializers.SerializerMethodField(help_text="Segment -> distinct customers.")
    need_frequency = serializers.SerializerMethodField(help_text="Frequency of need -> tickets.")
    workaround_difficulty = serializers.SerializerMethodField(help_text="Workaround difficulty -> tickets.")
    revenue_impact = serializers.SerializerMethodField(help_text="Revenue impact -> tickets.")
    churn_risk = serializers.SerializerMethodField(help_text="Customers who would leave without it.")
    expansion_blocker = serializers.SerializerMethodField(help_text="Customers whose expansion it blocks.")
    revenue_blockers = serializers.SerializerMethodField(help_text='Customers calling it a revenue "blocker".')
    competitive_gap = serializers.SerializerMethodField(help_text="Competitors said to offer it.")
    quotes = serializers.SerializerMethodField(help_text="The customers' own words, newest first (up to 3).")
    decision = serializers.SerializerMethodField(help_text="The latest decision, or null.")

    def _details(self, obj):
        return self.context["details"][obj.pk]

    def get_revenue_arr(self, obj) -> str:
        return f"{obj.revenue * 12:.2f}"

    def get_segments(self, obj) -> dict[str, int]:
        return self._details(obj).segments

    def get_need_frequency(self, obj) -> dict[str, int]:
        return self._details(obj).mixes["need_frequency"]

    def get_workaround_difficulty(self, obj) -> dict[str, int]:
        return self._details(obj).mixes["workaround_difficulty"]

    def get_revenue_impact(self, obj) -> dict[str, int]:
        return self._details(obj).mixes["revenue_impact"]

    def get_churn_risk(self, obj) -> int:
        return self._details(obj).churn_risk

    def get_expansion_blocker(self, obj) -> int:
        return self._details(obj).expansion_blocker

    def get_revenue_blockers(self, obj) -> int:
        return self._details(obj).blockers

    def get_competitive_gap(self, obj) -> list[str]:
        return self._details(obj).competitors

    def get_quotes(self, obj) -> list[dict]:
        return QuoteSerializer(self._details(obj).quotes, many=True).data

    def get_decision(self, obj) -> dict | None:
        decisions = self.context.get("decisions", {}).get(obj.pk)
        if decisions is None:
            newest = obj.decisions.select_related("decided_by").order_by("-decided_at", "-id").first()
            return DecisionSerializer(newest).data if newest else None
        return DecisionSerializer(decisions[0]).data if decisions else None


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=FeatureDecision.choices)
    quarter = serializers.CharField(required=False, allow_blank=True, default="", help_text="Planned: YYYY-QN.")
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required when rejected.")


LIST_EXAMPLE = OpenApiExample(
    "The request worth the most",
    value={
        "id": 12,
        "title": "SCIM user provisioning with Okta and Azure AD",
        "summary": "Customers ask for: scim user provisioning with okta and azure ad.",
        "status": "acknowledged",
        "revenue_mrr": "184230.00",
        "revenue_arr": "2210760.00",
        "customers": 41,
        "requests": 96,
        "last_requested": "2026-11-02T09:14:00Z",
        "segments": {"enterprise": 22, "mid_market": 15, "smb": 4},
        "need_frequency": {"daily": 50, "weekly": 38, "one_time": 8},
        "workaround_difficulty": {"impossible": 20, "complex": 51, "simple": 25},
        "revenue_impact": {"blocker": 24, "friction": 44, "nice_to_have": 28},
        "churn_risk": 6,
        "expansion_blocker": 9,
        "revenue_blockers": 17,
        "competitive_gap": ["Asana"],
        "quotes": [
            {
                "words": "Our security team requires deprovisioning within 24 hours.",
                "customer": "Northwind Labs GmbH",
                "segment": "enterprise",
                "reported_at": "2026-11-02T09:14:00Z",
            }
        ],
        "decision": None,
    },
    response_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="Feature requests weighed by revenue (filters; ordering=-revenue)",
        description=(
            "Each feature-request cluster with times requested, distinct customers, revenue represented (MRR and "
            "ARR of the distinct customers who asked, each counted once), segments, frequency, workaround and "
            "revenue-impact mixes, churn risk, expansion blockers, the competitive gap, the customers' words and "
            "the latest decision. `ordering`: revenue, customers, requests, last_requested (prefix - for "
            "descending); the default is -revenue."
        ),
        examples=[LIST_EXAMPLE],
    ),
    retrieve=extend_schema(summary="One feature request with its totals, evidence mix and latest decision"),
)
class FeatureRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = FeatureRequestSerializer
    filterset_class = FeatureRequestFilterSet
    ordering_fields = ("revenue", "customers", "requests", "last_requested")
    ordering = ("-revenue", "-id")
    read_permissions = ("tickets.view_bugcluster",)
    write_permissions = {"decide": ("tickets.triage_cluster",)}

    def get_queryset(self):
        return feature_request_list()

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = list(self.paginate_queryset(queryset))
        context = {**self.get_serializer_context(), "details": feature_request_details(clusters=page)}
        return self.get_paginated_response(FeatureRequestSerializer(page, many=True, context=context).data)

    def retrieve(self, request, *args, **kwargs):
        cluster = self.get_object()
        context = {
            **self.get_serializer_context(),
            "details": feature_request_details(clusters=[cluster]),
            "decisions": {cluster.pk: feature_request_decisions(cluster=cluster)},
        }
        return Response(FeatureRequestSerializer(cluster, context=context).data)

    @extend_schema(
        summary="Record product's decision (reaches the filing agents and the feature_request.decided webhook)",
        request=DecideSerializer,
        responses={200: FeatureRequestSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        examples=[
            OpenApiExample("Planned", value={"decision": "planned", "quarter": "2027-Q1"}, request_only=True),
            OpenApiExample(
                "Rejected", value={"decision": "rejected", "reason": "Conflicts with sharing."}, request_only=True
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def decide(self, request, pk=None):
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actor = request.user if request.user and request.user.is_authenticated else None
        feature_request_decide(cluster=self.get_object(), actor=actor, **body.validated_data)
        return self.retrieve(request, pk=pk)
