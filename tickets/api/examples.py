"""OpenAPI examples, kept apart so views stay short."""

from drf_spectacular.utils import OpenApiExample

TICKET_BODY = {
    "source": "zendesk",
    "external_id": "48213",
    "subject": "Card declined at checkout with error 4001",
    "description": "Customer tried twice with the same Visa card.",
    "ticket_type": "payment_failure",
    "evidence": {
        "payment_method": "credit_card",
        "amount": "EUR 49.00",
        "error_code": "4001",
        "transaction_id": "txn_9f8e7d",
        "checkout_step": "payment_details",
    },
    "customer": {"external_id": "org-1182", "name": "Acme GmbH"},
    "status": "open",
    "reported_at": "2026-11-20T09:14:00Z",
}

TICKET_CREATE = OpenApiExample("Payment failure from Zendesk", value=TICKET_BODY, request_only=True)
TICKET_PUT = OpenApiExample(
    "Same ticket, addressed by key",
    value={k: v for k, v in TICKET_BODY.items() if k not in ("source", "external_id")},
    request_only=True,
)
BULK_REQUEST = OpenApiExample(
    "Two tickets",
    value={"tickets": [TICKET_BODY, {**TICKET_BODY, "external_id": "48214", "evidence": {"amount": "lots"}}]},
    request_only=True,
)
BULK_RESPONSE = OpenApiExample(
    "Per-item results",
    value={
        "created": 1,
        "updated": 0,
        "failed": 1,
        "results": [
            {"index": 0, "result": "created", "id": 901, "external_id": "48213", "errors": {}},
            {
                "index": 1,
                "result": "error",
                "id": None,
                "external_id": "48214",
                "errors": {
                    "evidence.amount": ["Amount must be an amount such as 49.99 or 'EUR 49.99'; got 'lots'."],
                    "evidence.payment_method": ["Payment method is required. What the customer paid with."],
                },
            },
        ],
    },
    response_only=True,
)
VALIDATION_ERROR = OpenApiExample(
    "Evidence refused",
    value={
        "error": "validation_error",
        "detail": "1 field(s) were refused: evidence.amount.",
        "fields": {"evidence.amount": ["Amount must be an amount such as 49.99 or 'EUR 49.99'; got 'lots'."]},
    },
    response_only=True,
    status_codes=["400"],
)
INBOUND_ZENDESK = OpenApiExample(
    "Zendesk ticket webhook",
    value={
        "ticket": {
            "id": 35436,
            "subject": "Cannot sign in since this morning",
            "description": "Error: Invalid session",
            "created_at": "2026-11-20T08:00:00Z",
            "organization": {"id": 9001, "name": "Globex"},
            "custom_fields": [{"id": 360001, "value": "login_issue"}, {"id": 360002, "value": "Invalid session"}],
        }
    },
    request_only=True,
)
