"""One error shape for every 4xx/5xx the API returns.

    {"error": "validation_error",
     "detail": "2 fields were refused: evidence.amount, subject.",
     "fields": {"evidence.amount": ["Amount must be an amount such as 49.99 ..."], "subject": ["..."]}}

`fields` maps a dotted path (`evidence.amount`, `tickets.3.subject`,
`customer.external_id`) to messages that say what is allowed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def printable(text: Any) -> str:
    """Text safe to send and store as JSON: a NUL or a lone surrogate echoed from the input is spelled out."""
    text = str(text)
    if text.isascii() and "\x00" not in text:
        return text
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def printable_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {printable(path): [printable(m) for m in messages] for path, messages in errors.items()}


def flatten_errors(data: Any, prefix: str = "") -> dict[str, list[str]]:
    """{"evidence": {"amount": ["x"]}} -> {"evidence.amount": ["x"]}; lists of objects get their index."""
    return printable_errors(_flatten(data, prefix))


def _flatten(data: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" or key == "__all__":
                path = prefix or "non_field_errors"
            for sub, msgs in _flatten(value, path).items():
                out.setdefault(sub, []).extend(msgs)
    elif isinstance(data, list):
        if all(not isinstance(v, (dict, list)) for v in data):
            out[prefix or "non_field_errors"] = [str(v) for v in data]
        else:
            for index, value in enumerate(data):
                if value:
                    out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(data)]
    return out


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {key: list(msgs) for key, msgs in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = (
        "The database is restarting or busy; nothing of this request was kept. Send it again after the "
        "Retry-After seconds: sending the same ticket again never duplicates it."
    )


DATABASE_RETRY_AFTER_SECONDS = 5


def api_exception_handler(exc, context):
    """DRF's handler (which sets Retry-After and WWW-Authenticate) with the body reshaped.

    A lost database connection or an aborted transaction is a retryable 503 with Retry-After, not a 500:
    the request's transaction did not commit, and every write of the API is safe to send again.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_errors(exc))
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("API request answered 503: database unavailable (%s)", exc)
        exc = DatabaseUnavailable()
        exc.wait = DATABASE_RETRY_AFTER_SECONDS
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(response.data)
        names = ", ".join(sorted(fields))
        body = {
            "error": "validation_error",
            "detail": f"{len(fields)} field(s) were refused: {names}." if fields else "The request was refused.",
            "fields": fields,
        }
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        body = {
            "error": getattr(detail, "code", None) or code,
            "detail": printable(detail),
            "fields": {},
        }
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after_seconds"] = int(exc.wait + 0.999)
        if isinstance(exc, DatabaseUnavailable):
            response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
            body["retry_after_seconds"] = DATABASE_RETRY_AFTER_SECONDS
    response.data = body
    return response


def error_response(fields: dict[str, list[str]], status_code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    """The same shape, for views that collect errors themselves."""
    fields = printable_errors(fields)
    names = ", ".join(sorted(fields))
    return Response(
        {"error": "validation_error", "detail": f"{len(fields)} field(s) were refused: {names}.", "fields": fields},
        status=status_code,
    )
