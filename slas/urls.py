from django.urls import path

from slas import views

app_name = "slas"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("compliance/", views.compliance, name="compliance"),
]
