"""/api/v1/: one router for every app's API, plus the OpenAPI document and its docs page.

triage is the top layer, so it may import each app's api module; the apps never
import each other's.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from metrics import api as metrics_api
from slas.api import views as slas_api
from tickets.api import clusters as tickets_clusters_api
from tickets.api import corrections as tickets_corrections_api
from tickets.api import feature_requests as tickets_feature_requests_api
from tickets.api import inbound as tickets_inbound_api
from tickets.api import views as tickets_api
from triage import views as triage_views
from triage.accounts import api as accounts_api

router = DefaultRouter()
# Each app registers its viewsets here, e.g.:
#   router.register("tickets", tickets_api.TicketViewSet, basename="ticket")
router.register("sla-policies", slas_api.SlaPolicyViewSet, basename="sla-policy")
router.register("sla-calendars", slas_api.BusinessCalendarViewSet, basename="sla-calendar")
router.register("sla-clocks", slas_api.SlaClockViewSet, basename="sla-clock")
router.register("sla-alerts", slas_api.AlertViewSet, basename="sla-alert")
router.register("sla-compliance", slas_api.ComplianceViewSet, basename="sla-compliance")
router.register("fix-impacts", metrics_api.FixImpactViewSet, basename="fix-impact")
router.register("success-metrics", metrics_api.SuccessMetricsViewSet, basename="success-metrics")
router.register("ticket-types", tickets_api.TicketTypeViewSet, basename="tickettype")
router.register("tickets", tickets_api.TicketViewSet, basename="ticket")
router.register("customers", tickets_api.CustomerViewSet, basename="customer")
router.register("clusters", tickets_clusters_api.ClusterViewSet, basename="cluster")
router.register("corrections", tickets_corrections_api.CorrectionViewSet, basename="correction")
router.register("patterns", tickets_clusters_api.PatternViewSet, basename="pattern")
router.register("accounts/at-risk", accounts_api.AtRiskAccountViewSet, basename="at-risk-account")
router.register("feature-requests", tickets_feature_requests_api.FeatureRequestViewSet, basename="feature-request")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("redoc/redoc.standalone.js", triage_views.redoc_bundle, name="api-redoc-bundle"),
    path("inbound/<slug:slug>/", tickets_inbound_api.InboundWebhookView.as_view(), name="inbound-webhook"),
    path("tickets/<int:pk>/move/", tickets_corrections_api.TicketMoveView.as_view(), name="ticket-move"),
    path("", include(router.urls)),
]
