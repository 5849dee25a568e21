"""The API answers in its own error shape even before DRF runs.

- A body larger than API_MAX_BODY_BYTES (by its Content-Length) gets the documented JSON 413 before
  anything reads it; without this Django's DATA_UPLOAD_MAX_MEMORY_SIZE check answers an HTML 400.
- A path under /api/ that matches no endpoint (or an id that is not a number) gets a JSON 404
  instead of Django's HTML page.
"""

from __future__ import annotations

from django.http import JsonResponse

from tickets.api.exceptions import printable
from tickets.api.parsers import max_body_bytes

API_PREFIX = "/api/"


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail, "fields": {}}, status=status)


class ApiErrorShapeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        limit = max_body_bytes()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _error(
                413,
                "request_too_large",
                f"The body is larger than {limit} bytes; split a bulk request into smaller ones "
                f"(at most 1000 tickets per request).",
            )
        response = self.get_response(request)
        if response.status_code == 404 and not response.get("Content-Type", "").startswith("application/json"):
            return _error(
                404,
                "not_found",
                f"No API endpoint or object at {printable(request.path)}; ids are numbers, and the endpoints "
                "are listed in /api/v1/schema/ (docs at /api/v1/docs/).",
            )
        return response
