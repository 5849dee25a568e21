from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.static import serve

from triage import views

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
]

if settings.USING_EMBEDDED_DATABASE or settings.DEBUG:
    # First-run default: serve uploaded attachments from MEDIA_ROOT. Production serves
    # them from the storage backend (S3-compatible) or the reverse proxy.
    urlpatterns += [path(f"{settings.MEDIA_URL.lstrip('/')}<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
