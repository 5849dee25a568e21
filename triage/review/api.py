"""GET /api/v1/review/<year>-W<week>/: the week's Voice-of-Customer report as JSON (what the page and the
Markdown report say). Read keys and signed-in users who may see the review can read it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from triage.review.report import review_report
from triage.review.weeks import BadWeek, week_parse


class QuoteSerializer(serializers.Serializer):
    subject = serializers.CharField()
    text = serializers.CharField(help_text="An excerpt of the ticket in the customer's words.")
    customer = serializers.CharField(allow_blank=True)
    segment = serializers.CharField(allow_blank=True)


class ThemeSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    cluster_id = serializers.IntegerField()
    title = serializers.CharField()
    tickets = serializers.IntegerField(help_text="Tickets this week (so far, for the current week).")
    previous_tickets = serializers.IntegerField(help_text="Tickets on the same weekdays of the week before.")
    change = serializers.IntegerField()
    change_pct = serializers.IntegerField(allow_null=True, help_text="Null when there were none the week before.")
    customers = serializers.IntegerField(help_text="Customers who reported it this week.")
    mrr_at_stake = serializers.CharField(help_text="Their monthly recurring revenue, a decimal string.")
    segments = serializers.DictField(child=serializers.IntegerField())
    sample_quote = QuoteSerializer(allow_null=True)
    action_taken = serializers.CharField()
    priority = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    owner = serializers.CharField(allow_blank=True)
    url = serializers.URLField()


class BugImpactSerializer(serializers.Serializer):
    cluster_id = serializers.IntegerField()
    bug = serializers.CharField()
    tickets = serializers.IntegerField()
    customers = serializers.IntegerField()
    estimated_resolution = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.CharField(allow_blank=True)


class NewBugSerializer(serializers.Serializer):
    cluster_id = serializers.IntegerField()
    title = serializers.CharField()
    tickets = serializers.IntegerField()
    evidence_completeness = serializers.FloatField(allow_null=True, help_text="0-1, the tickets' average.")
    status = serializers.CharField()
    priority = serializers.CharField(allow_blank=True)


class VerdictSerializer(serializers.Serializer):
    cluster_id = serializers.IntegerField()
    title = serializers.CharField()
    verdict = serializers.CharField(help_text="Reached this week (the provisional read while pending).")
    verdict_label = serializers.CharField()
    provisional = serializers.BooleanField()
    previous_verdict = serializers.CharField(allow_blank=True)
    change_pct = serializers.FloatField(allow_null=True, help_text="-80 means 80% fewer tickets than expected.")
    days_observed = serializers.IntegerField()
    url = serializers.URLField()


class WeekRequestQuoteSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="An excerpt of what the customer said.")
    customer = serializers.CharField(allow_blank=True)
    segment = serializers.CharField(allow_blank=True)


class WeekTrendingRequestSerializer(serializers.Serializer):
    cluster_id = serializers.IntegerField()
    title = serializers.CharField()
    tickets = serializers.IntegerField(help_text="Tickets asking for it this week (so far, for the current week).")
    previous_tickets = serializers.IntegerField(help_text="Tickets on the same weekdays of the week before.")
    change = serializers.IntegerField()
    change_pct = serializers.IntegerField(allow_null=True, help_text="Null when there were none the week before.")
    customers = serializers.IntegerField(help_text="Accounts that asked for it this week.")
    mrr = serializers.CharField(help_text="Their monthly recurring revenue, a decimal string.")
    decision = serializers.CharField(allow_blank=True, help_text="Product's latest decision; empty when none yet.")
    status = serializers.CharField()
    status_label = serializers.CharField()
    sample_quote = WeekRequestQuoteSerializer(allow_null=True, help_text="The newest ticket in the customer's words.")
    url = serializers.URLField()


class WeekOpenBugSerializer(serializers.Serializer):
    cluster_id = serializers.IntegerField()
    title = serializers.CharField()
    priority = serializers.CharField(allow_blank=True)


class WeekAtRiskAccountSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    account = serializers.CharField()
    segment = serializers.CharField()
    mrr = serializers.CharField(help_text="A decimal string.")
    csm = serializers.CharField(allow_blank=True, help_text="The account's CSM; empty when it has none.")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="The signals that raised it.")
    open_bugs = serializers.IntegerField(help_text="Open bug clusters holding one of the account's tickets.")
    worst_open_bug = WeekOpenBugSerializer(allow_null=True, help_text="The most urgent of them.")
    handoff_id = serializers.IntegerField()
    handoff_type = serializers.CharField()
    urgency = serializers.CharField()
    raised_at = serializers.DateTimeField()
    handoff_status = serializers.CharField()
    handoff_status_label = serializers.CharField()
    intervention = serializers.CharField(allow_blank=True)
    result = serializers.CharField(allow_blank=True)
    result_label = serializers.CharField(allow_blank=True)
    url = serializers.URLField()


class SlaSummarySerializer(serializers.Serializer):
    breaches = serializers.IntegerField(help_text="SLA breaches that happened this week.")
    breaches_previous_week = serializers.IntegerField()
    share_acknowledged_within = serializers.FloatField(allow_null=True)
    share_acknowledged_within_previous_week = serializers.FloatField(allow_null=True)


class TypeCountSerializer(serializers.Serializer):
    name = serializers.CharField()
    tickets = serializers.IntegerField()


class WeekCountSerializer(serializers.Serializer):
    week = serializers.CharField()
    tickets = serializers.IntegerField()


class TrendsSerializer(serializers.Serializer):
    tickets = serializers.IntegerField()
    previous_week_tickets = serializers.IntegerField()
    change = serializers.IntegerField(allow_null=True)
    change_pct = serializers.IntegerField(allow_null=True)
    bug_tickets = serializers.IntegerField()
    other_feedback = serializers.IntegerField()
    feedback_share = serializers.FloatField(allow_null=True, help_text="0-1; the target is 0.05-0.10.")
    feedback_share_target = serializers.ListField(child=serializers.FloatField())
    top_ticket_types = TypeCountSerializer(many=True)
    weekly_tickets = WeekCountSerializer(many=True, help_text="The last 8 weeks, oldest first.")


class MeetingItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["decision", "action"])
    text = serializers.CharField()
    owner = serializers.CharField(allow_blank=True)
    due_date = serializers.DateField(allow_null=True)
    cluster_id = serializers.IntegerField(allow_null=True)
    done = serializers.BooleanField()


class ReviewReportSerializer(serializers.Serializer):
    week = serializers.CharField(help_text="The ISO week, e.g. 2026-W07.")
    starts_on = serializers.DateField(help_text="Its Monday.")
    ends_on = serializers.DateField(help_text="Its Sunday.")
    time_zone = serializers.CharField(help_text="The organisation's time zone the week is counted in.")
    complete = serializers.BooleanField(help_text="False while the week is still running.")
    days_covered = serializers.IntegerField()
    generated_at = serializers.DateTimeField()
    url = serializers.URLField(help_text="The review page of the week.")
    top_themes = ThemeSerializer(many=True)
    bug_impact = BugImpactSerializer(many=True)
    new_bugs = NewBugSerializer(many=True)
    new_bug_count = serializers.IntegerField()
    feature_requests_trending = WeekTrendingRequestSerializer(many=True, help_text="The week's most-asked requests.")
    wins = VerdictSerializer(many=True, help_text="Fixes that reached a successful verdict this week.")
    fixes_not_working = VerdictSerializer(many=True)
    at_risk_accounts = WeekAtRiskAccountSerializer(
        many=True, help_text="Accounts flagged at risk this week, the biggest first (at most 10)."
    )
    at_risk_count = serializers.IntegerField(help_text="Accounts flagged at risk this week.")
    at_risk_count_previous_week = serializers.IntegerField(help_text="On the same weekdays of the week before.")
    sla = SlaSummarySerializer()
    ticket_trends = TrendsSerializer()
    decisions = MeetingItemSerializer(many=True)
    action_items = MeetingItemSerializer(many=True)
    previous_action_items = MeetingItemSerializer(many=True)


class ReviewWeekView(APIView):
    """The weekly review's report of one ISO week."""

    read_permissions = ("triage.view_review",)

    @extend_schema(
        operation_id="review_week_retrieve",
        parameters=[OpenApiParameter("week", str, OpenApiParameter.PATH, description="ISO week, e.g. 2026-W07.")],
        responses={
            200: ReviewReportSerializer,
            404: OpenApiResponse(description="No such week, or it has not started yet."),
        },
        tags=["review"],
    )
    def get(self, request: Request, week: str) -> Response:
        try:
            chosen = week_parse(week)
        except BadWeek as exc:
            raise NotFound(str(exc)) from None
        if chosen.is_future:
            raise NotFound(f"Week {chosen.key} has not started yet; there is nothing to report.")
        return Response(ReviewReportSerializer(review_report(week=chosen)).data)
