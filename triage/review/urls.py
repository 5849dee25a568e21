"""URLs of the weekly review: /review/ is this week; /review/2026-W07/ a chosen one."""

from django.urls import path

from triage.review import views

app_name = "review"

urlpatterns = [
    path("", views.review_current, name="current"),
    path("<str:week>/", views.review_week, name="week"),
    path("<str:week>/fixes/", views.fixes_more, name="fixes_more"),
    path("<str:week>/report.md", views.report_md, name="report_md"),
    path("<str:week>/report.csv", views.report_csv_view, name="report_csv"),
    path("<str:week>/report/", views.report_print, name="report_print"),
    path("<str:week>/report/send/", views.report_send, name="report_send"),
    path("<str:week>/clusters/<int:pk>/form/<slug:action>/", views.cluster_form, name="cluster_form"),
    path("<str:week>/clusters/<int:pk>/<slug:action>/", views.cluster_action, name="cluster_action"),
    path("<str:week>/items/", views.item_create, name="item_create"),
    path("<str:week>/items/<int:pk>/<slug:op>/", views.item_change, name="item_change"),
]
