from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from triage import media, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("triage.api_urls")),
    path("", include("tickets.urls")),
    path("slas/", include("slas.urls")),
    path("metrics/", include("metrics.urls")),
    path("accounts/", include("triage.accounts.urls")),
    path("review/", include("triage.review.urls")),
]

if settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage":
    # Attachments on the local disk are served by the app, to signed-in users who may see tickets (HAR
    # files can hold session cookies). S3-compatible storage serves its own (signed) URLs.
    urlpatterns += [path(f"{settings.MEDIA_URL.lstrip('/')}<path:path>", media.attachment, name="attachment")]
