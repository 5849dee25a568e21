from django.urls import path

from metrics import views

app_name = "metrics"

urlpatterns = [
    path("fixes/", views.fix_list, name="fix_list"),
    path("fixes/<int:cluster_id>/", views.fix_impact, name="fix_impact"),
    path("fixes/<int:cluster_id>/mark-fixed/", views.fix_mark_fixed, name="fix_mark_fixed"),
    path("fixes/<int:cluster_id>/recompute/", views.fix_recompute, name="fix_recompute"),
    path("fixes/<int:cluster_id>/verify/", views.fix_verify, name="fix_verify"),
    path("success/", views.success, name="success"),
]
