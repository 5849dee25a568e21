"""Uploaded attachments served by the app (the first-run default): only to signed-in users who may see tickets.

HAR files and console logs can hold session cookies and personal data, so they are never public, whatever the
database or DEBUG. Production may serve them from S3-compatible storage instead (FILE_STORAGE_BACKEND).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.views.static import serve


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def attachment(request, path: str):
    return serve(request, path, document_root=settings.MEDIA_ROOT)
