"""URLs of customer success's pages."""

from django.urls import path

from triage.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_list, name="list"),
    path("at-risk/", views.at_risk, name="at_risk"),
    path("assess/", views.assess_now, name="assess"),
    path("<int:pk>/", views.account_detail, name="detail"),
    path("handoffs/<int:pk>/", views.handoff_detail, name="handoff"),
    path("handoffs/<int:pk>/acknowledge/", views.handoff_acknowledge, name="handoff_acknowledge"),
    path("handoffs/<int:pk>/intervention/", views.handoff_intervene, name="handoff_intervene"),
    path("handoffs/<int:pk>/result/", views.handoff_result, name="handoff_result"),
]
