"""`Idempotency-Key` for writes that have no natural key (cluster actions, bulk, customers).

The first request with a key stores its response; a retry with the same key
and the same body gets the stored response back (header `Idempotent-Replayed:
true`) and changes nothing. The same key with a different body is refused (422);
a retry while the first is still running gets 409 with Retry-After. Responses
are kept for 24 hours. A 5xx is not stored, so the retry runs again.
"""

from __future__ import annotations

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.response import Response

from tickets.api.auth import is_api_key
from tickets.intake.ingest import IDEMPOTENCY_WINDOW
from tickets.models import IdempotencyRecord

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description="Any unique string (a UUID) up to 255 characters; a retry with the same key replays the first "
    "response instead of acting twice. Kept 24 hours.",
)


def _owner(request) -> str:
    return f"key:{request.auth.pk}" if is_api_key(request) else f"user:{request.user.pk}"


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _problem(status_code: int, code: str, detail: str, **headers) -> Response:
    return Response({"error": code, "detail": detail, "fields": {}}, status=status_code, headers=headers)


def idempotent(view_method):
    """Decorate a viewset action so an `Idempotency-Key` header makes it safe to retry."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 255:
            return Response(
                {
                    "error": "validation_error",
                    "detail": "1 field(s) were refused: Idempotency-Key.",
                    "fields": {"Idempotency-Key": ["At most 255 characters; a UUID is a good key."]},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        owner, fingerprint = _owner(request), _fingerprint(request)
        IdempotencyRecord.objects.filter(
            owner=owner, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner, key=key, method=request.method, path=request.path[:500], request_hash=fingerprint
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(owner=owner, key=key)
            if record.request_hash != fingerprint:
                return _problem(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used for a different request; use a new key for a new request.",
                )
            if record.status_code is None:
                return _problem(
                    409,
                    "request_in_progress",
                    "The first request with this key is still running.",
                    **{"Retry-After": "1"},
                )
            return Response(record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"})
        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()
        else:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=response.status_code, response_body=json.loads(json.dumps(response.data, default=str))
            )
        return response

    return wrapper
