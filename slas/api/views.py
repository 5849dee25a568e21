from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from slas.api.serializers import (
    AlertSerializer,
    BusinessCalendarSerializer,
    ComplianceQuerySerializer,
    ComplianceReportSerializer,
    SlaPolicySerializer,
    SlaTimerSerializer,
)
from slas.filters import AlertFilter, SlaTimerFilter
from slas.models import Alert, BusinessCalendar, Holiday, SlaPolicy
from slas.selectors import compliance_report, timer_list, working_times
from slas.services import policy_changed
from tickets.api.auth import api_key_allows


class SlaPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ModelPermissionsWithView(permissions.DjangoModelPermissions):
    """Reads need the model's view permission too, not just a login. Any API key reads (a help desk
    follows SLA state); SLA configuration is changed by people, so keys never write here."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}

    def has_permission(self, request, view) -> bool:
        allowed = api_key_allows(request, writes=False)
        return super().has_permission(request, view) if allowed is None else allowed


class CanViewClocks(permissions.BasePermission):
    message = "You need permission to view SLA clocks."

    def has_permission(self, request, view) -> bool:
        allowed = api_key_allows(request, writes=False)
        if allowed is not None:
            return allowed
        return bool(request.user and request.user.has_perm("slas.view_slatimer"))


class SlaPolicyViewSet(viewsets.ModelViewSet):
    """SLA policies in matching order; a change applies to open clusters from the change on."""

    serializer_class = SlaPolicySerializer
    permission_classes = [ModelPermissionsWithView]
    queryset = SlaPolicy.objects.prefetch_related("ticket_types").order_by("position", "id")
    filterset_fields = ["is_active"]

    def perform_create(self, serializer):
        serializer.save()
        policy_changed(policy=serializer.instance)

    def perform_update(self, serializer):
        serializer.save()
        policy_changed(policy=serializer.instance)

    def perform_destroy(self, instance):
        instance.delete()
        policy_changed()


class BusinessCalendarViewSet(viewsets.ModelViewSet):
    """Working-time calendars with their holidays (replaced as a whole when given)."""

    serializer_class = BusinessCalendarSerializer
    permission_classes = [ModelPermissionsWithView]
    queryset = BusinessCalendar.objects.prefetch_related("holidays").order_by("name")

    def _save(self, serializer):
        holidays = serializer.validated_data.pop("holidays", None)
        calendar = serializer.save()
        if holidays is not None:
            calendar.holidays.all().delete()
            Holiday.objects.bulk_create(Holiday(calendar=calendar, **h) for h in holidays)
        policy_changed()

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer)


class SlaClockViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Open SLA clocks (running or paused) with business time left; `urgency=breached|due_soon|paused`."""

    serializer_class = SlaTimerSerializer
    permission_classes = [ModelPermissionsWithView]
    pagination_class = SlaPagination
    filterset_class = SlaTimerFilter
    ordering_fields = ["deadline_at", "next_fire_at"]

    def get_queryset(self):
        return timer_list()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "working_times": working_times(), "now": timezone.now()}


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every alert fired (the log): filter by cluster, kind, target, status."""

    serializer_class = AlertSerializer
    permission_classes = [ModelPermissionsWithView]
    pagination_class = SlaPagination
    filterset_class = AlertFilter
    queryset = Alert.objects.order_by("-created_at", "-id")


class ComplianceViewSet(viewsets.ViewSet):
    """Weekly SLA compliance: share acknowledged within SLA, median/p90 hours, resolution by priority."""

    permission_classes = [CanViewClocks]

    @extend_schema(
        parameters=[OpenApiParameter("weeks", int, description="1-104, default 12")],
        responses=ComplianceReportSerializer,
    )
    def list(self, request):
        query = ComplianceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(compliance_report(weeks=query.validated_data["weeks"]))
