"""URLs of the agent-facing pages."""

from django.urls import path

from tickets.views import clusters, corrections, feedback, filing, reports, requests, triage

app_name = "tickets"

urlpatterns = [
    path("reports/new/", filing.report_new, name="report_new"),
    path("reports/new/fields/", filing.report_fields, name="report_fields"),
    path("reports/new/autofill/", filing.report_autofill, name="report_autofill"),
    path("reports/new/known-bugs/", filing.report_known_bugs, name="report_known_bugs"),
    path("reports/new/customers/", filing.customer_results, name="customer_results"),
    path("reports/", reports.my_reports, name="my_reports"),
    path("clusters/", triage.cluster_list_page, name="cluster_list"),
    path("clusters/patterns/", triage.patterns_page, name="patterns"),
    path("clusters/<int:pk>/", clusters.cluster_detail, name="cluster_detail"),
    path("clusters/<int:pk>/answer/", clusters.cluster_answer, name="cluster_answer"),
    path("clusters/<int:pk>/triage/", clusters.cluster_triage_view, name="cluster_triage"),
    path("clusters/<int:pk>/respond/", clusters.cluster_post_response, name="cluster_respond"),
    path("clusters/<int:pk>/details/", clusters.cluster_edit_details, name="cluster_edit_details"),
    path("clusters/<int:pk>/merge/", corrections.cluster_merge_view, name="cluster_merge"),
    path("clusters/<int:pk>/split/", corrections.cluster_split_view, name="cluster_split"),
    path("clusters/<int:pk>/corrections/", corrections.cluster_corrections, name="cluster_corrections"),
    path("tickets/<int:pk>/move/", corrections.ticket_move_view, name="ticket_move"),
    path("corrections/<int:pk>/undo/", corrections.correction_undo_view, name="correction_undo"),
    path("feedback/", feedback.queue_index, name="feedback_queues"),
    path("feedback/tickets/<int:pk>/", feedback.item_detail, name="feedback_item"),
    path("feedback/tickets/<int:pk>/acknowledge/", feedback.item_acknowledge, name="feedback_acknowledge"),
    path("feedback/tickets/<int:pk>/respond/", feedback.item_respond, name="feedback_respond"),
    path("feedback/tickets/<int:pk>/close/", feedback.item_close, name="feedback_close"),
    path("feedback/<slug:kind>/", feedback.queue_detail, name="feedback_queue"),
    path("feature-requests/", requests.request_list, name="feature_requests"),
    path("feature-requests/<int:pk>/", requests.request_detail, name="feature_request"),
    path("feature-requests/<int:pk>/decide/", requests.request_decide, name="feature_request_decide"),
    path("feature-requests/<int:pk>/export.md", requests.request_export, name="feature_request_export"),
]
