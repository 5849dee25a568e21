"""JSON bodies with a size limit: a body over API_MAX_BODY_BYTES is refused with 413 before parsing."""

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def max_body_bytes() -> int:
    return int(getattr(settings, "API_MAX_BODY_BYTES", 5 * 1024 * 1024))


class LimitedJSONParser(JSONParser):
    """JSONParser that reads at most API_MAX_BODY_BYTES (declared length or actual bytes)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        too_large = RequestTooLarge(
            f"The body is larger than {limit} bytes; split a bulk request into smaller ones "
            f"(at most 1000 tickets per request)."
        )
        try:
            if declared and int(declared) > limit:
                raise too_large
        except ValueError:
            pass
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise too_large
        from io import BytesIO

        try:
            return super().parse(BytesIO(data), media_type, parser_context)
        except RecursionError:
            raise ParseError(
                "JSON parse error - the body is nested too deeply; a ticket is an object of at most a few levels."
            ) from None
