"""At-risk accounts over REST, for a CRM or the help desk: each account over the rule with its reasons."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from triage.accounts.filters import AtRiskFilterSet
from triage.accounts.selectors import at_risk_accounts


class EvidenceSerializer(serializers.Serializer):
    ticket_id = serializers.IntegerField()
    external_id = serializers.CharField()
    subject = serializers.CharField()
    reported_at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)


class SignalSerializer(serializers.Serializer):
    trigger = serializers.CharField()
    name = serializers.CharField()
    weight = serializers.IntegerField()
    summary = serializers.CharField()
    evidence = EvidenceSerializer(many=True)


class AtRiskAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="customer_id")
    external_id = serializers.CharField(source="customer.external_id")
    name = serializers.CharField(source="customer.name")
    segment = serializers.CharField(source="customer.segment")
    plan_tier = serializers.CharField(source="customer.plan_tier")
    mrr = serializers.DecimalField(source="customer.mrr", max_digits=12, decimal_places=2)
    csm = serializers.CharField(source="customer.csm_owner.username", default=None, allow_null=True)
    renewal_date = serializers.DateField(source="customer.renewal_date", allow_null=True)
    score = serializers.IntegerField(help_text="Sum of the weights of its risk triggers.")
    assessed_at = serializers.DateTimeField()
    window_days = serializers.IntegerField()
    signals = SignalSerializer(many=True, help_text="Each trigger seen, with the tickets that show it.")
    open_handoff = serializers.IntegerField(source="open_handoff_id", allow_null=True)


EXAMPLE = OpenApiExample(
    "An enterprise account at risk",
    value={
        "id": 17,
        "external_id": "ORG-40119",
        "name": "Northwind Labs GmbH",
        "segment": "enterprise",
        "plan_tier": "enterprise",
        "mrr": "38400.00",
        "csm": "csm",
        "renewal_date": "2027-01-15",
        "score": 5,
        "assessed_at": "2026-11-02T15:30:00Z",
        "window_days": 30,
        "signals": [
            {
                "trigger": "churn_language",
                "name": "Churn or cancellation language",
                "weight": 3,
                "summary": "Churn or cancellation language",
                "evidence": [
                    {
                        "ticket_id": 5512,
                        "external_id": "ZD-105512",
                        "subject": "Renewal at risk - Northwind Labs",
                        "reported_at": "2026-10-30T10:12:00Z",
                        "note": '"… they will move to Asana …"',
                    }
                ],
            }
        ],
        "open_handoff": 3,
    },
    response_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="Accounts at risk, riskiest first, each with its reasons and their evidence",
        description=(
            "Accounts whose risk triggers (churn language, competitor mentioned, executive complaint, negative "
            "CSAT trend, champion departure, open P1 or major incident, feature blocker, multiple escalations) "
            "add up to the at-risk rule's score within its window, as of the last assessment (every 15 minutes)."
        ),
        examples=[EXAMPLE],
    )
)
class AtRiskAccountViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = AtRiskAccountSerializer
    filterset_class = AtRiskFilterSet
    ordering_fields = ("score",)
    ordering = ("-score", "-id")
    read_permissions = ("triage.view_accounthealth",)

    def get_queryset(self):
        return at_risk_accounts()
