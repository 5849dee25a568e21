"""OpenAPI post-processing: every operation documents the error responses it can really return."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every 4xx has this shape; `fields` maps a dotted path (e.g. `evidence.amount`) to messages.",
    "properties": {
        "error": {"type": "string", "examples": ["validation_error", "not_authenticated", "throttled"]},
        "detail": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "retry_after_seconds": {"type": "integer", "description": "Only on 429."},
    },
    "required": ["error", "detail", "fields"],
}

_DESCRIPTIONS = {
    "400": "Refused input: `fields` names each failing field (or query parameter) and what is allowed.",
    "401": "No API key or session, or an unknown, malformed or revoked key.",
    "403": "A read-only key tried to write, or the signed-in user's role lacks the permission.",
    "404": "No such object (or, on a list, an invalid cursor).",
    "405": "Method not allowed here.",
    "409": "A request with the same Idempotency-Key is still running; retry after Retry-After seconds.",
    "413": "The body is larger than API_MAX_BODY_BYTES.",
    "415": "The body must be JSON (Content-Type: application/json).",
    "422": "The Idempotency-Key was already used for a different request.",
    "429": "This key's rate limit is reached; retry after Retry-After seconds.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOK."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            # 404 on lists too: a cursor that was tampered with is "not found".
            codes = ["400", "401", "403", "404", "405", "429"]
            if method in ("post", "put", "patch"):
                codes += ["413", "415"]
            if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
                codes += ["409", "422"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                response = responses.setdefault(code, {"description": _DESCRIPTIONS[code]})
                response["content"] = content
                if code in ("409", "429"):
                    response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}
    return result
