"""Bad input over the API: every refusal is the documented {error, detail, fields} 400, stores nothing,
and a bulk request answers per item and stores the good ones."""

from __future__ import annotations

import json

import pytest

from tickets.models import Ticket

pytestmark = pytest.mark.django_db

PERF = {
    "source": "zendesk",
    "external_id": "ZD-P1",
    "subject": "Dashboard is slow",
    "ticket_type": "performance_issue",
    "evidence": {"page_action": "Reports > Export CSV", "load_time_seconds": 12},
}
LOGIN = {
    "source": "zendesk",
    "external_id": "ZD-L1",
    "subject": "Cannot sign in",
    "ticket_type": "login_issue",
    "evidence": {"error_message": "Invalid session", "account_status": "active"},
}

# name -> (changes to a valid payment ticket, the field the 400 must name)
PAYMENT_CASES = {
    "nul in subject": ({"subject": "bad \x00 subject"}, "subject"),
    "nul in external id": ({"external_id": "ZD-\x00"}, "external_id"),
    "nul in description": ({"description": "a\x00b"}, "description"),
    "nul in evidence text": (
        {"evidence": {"payment_method": "credit_card", "error_code": "4\x0001"}},
        "evidence.error_code",
    ),
    "lone surrogate in subject": ({"subject": "bad \ud800"}, "subject"),
    "lone surrogate in evidence": (
        {"evidence": {"payment_method": "credit_card", "error_code": "x\udc00"}},
        "evidence.error_code",
    ),
    "nan amount": ({"evidence": {"payment_method": "credit_card", "amount": "NaN"}}, "evidence.amount"),
    "nan amount object": (
        {"evidence": {"payment_method": "credit_card", "amount": {"amount": "NaN"}}},
        "evidence.amount",
    ),
    "negative amount rounding to zero": (
        {"evidence": {"payment_method": "credit_card", "amount": {"amount": "-0.001"}}},
        "evidence.amount",
    ),
    "year one": ({"reported_at": "0001-01-01T00:00:00+14:00"}, "reported_at"),
    "before 1970": ({"reported_at": "1969-12-31T23:00:00Z"}, "reported_at"),
    "unknown top-level field": ({"priority": "P1"}, "priority"),
}
PERF_CASES = {
    "huge load time": ({"load_time_seconds": "1e5000"}, "evidence.load_time_seconds"),
    "infinite load time": ({"load_time_seconds": "Infinity"}, "evidence.load_time_seconds"),
    "negative load time": ({"load_time_seconds": -3}, "evidence.load_time_seconds"),
}
LOGIN_CASES = {
    "impossible day": ({"last_successful_login": "2026-02-30T10:00:00"}, "evidence.last_successful_login"),
    "impossible month": ({"last_successful_login": "2026-13-01T00:00"}, "evidence.last_successful_login"),
    "year one": ({"last_successful_login": "0001-01-01T00:00:00+14:00"}, "evidence.last_successful_login"),
}


def _raw_post(client, url: str, text: str):
    """Send JSON text as is (json.dumps escapes surrogates and NUL as \\u sequences, as a help desk would)."""
    return client.generic("POST", url, text.encode(), content_type="application/json")


def _assert_refused(response, field: str) -> dict:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    payload = response.json()
    assert payload["error"] == "validation_error"
    assert field in payload["fields"], payload
    assert payload["fields"][field][0]
    return payload


@pytest.mark.parametrize("name", sorted(PAYMENT_CASES))
def test_bad_values_are_refused_naming_the_field_and_store_nothing(writer, payment_body, name):
    change, field = PAYMENT_CASES[name]
    _assert_refused(_raw_post(writer, "/api/v1/tickets/", json.dumps({**payment_body, **change})), field)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "name", [("perf", n) for n in sorted(PERF_CASES)] + [("login", n) for n in sorted(LOGIN_CASES)]
)
def test_bad_evidence_values_are_refused(writer, name):
    base, cases = {"perf": (PERF, PERF_CASES), "login": (LOGIN, LOGIN_CASES)}[name[0]]
    change, field = cases[name[1]]
    body = {**base, "evidence": {**base["evidence"], **change}}
    _assert_refused(_raw_post(writer, "/api/v1/tickets/", json.dumps(body)), field)
    assert not Ticket.objects.exists()


def test_a_refused_year_is_not_stored_and_the_list_still_works(writer, payment_body):
    _raw_post(writer, "/api/v1/tickets/", json.dumps({**payment_body, "reported_at": "0001-01-01T00:00:00+14:00"}))
    assert not Ticket.objects.exists()
    assert writer.get("/api/v1/tickets/?ordering=reported_at").status_code == 200


def test_negative_zero_amount_is_stored_as_zero(writer, payment_body):
    payment_body["evidence"]["amount"] = {"amount": "-0", "currency": "EUR"}
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["evidence"]["amount"] == {"amount": "0.00", "currency": "EUR"}


def test_json_nested_100000_levels_is_a_400_in_the_error_shape(writer):
    response = _raw_post(writer, "/api/v1/tickets/", "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"
    assert "nested too deeply" in response.json()["detail"]


def test_nan_literal_is_a_parse_error(writer, payment_body):
    text = json.dumps(payment_body)[:-1] + ', "cluster": NaN}'
    response = _raw_post(writer, "/api/v1/tickets/", text)
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


def test_a_6_mb_body_gets_the_documented_413(writer, settings):
    body = json.dumps({"tickets": [{"subject": "x" * 1000}] * 6000})
    for url in ("/api/v1/tickets/", "/api/v1/tickets/bulk/"):
        response = _raw_post(writer, url, body)
        assert response.status_code == 413, (url, response.content[:200])
        assert response.json()["error"] == "request_too_large"


def test_bulk_answers_per_item_and_stores_the_good_ones(writer, payment_body):
    good = [{**payment_body, "external_id": f"ZD-{n}"} for n in range(3)]
    bad = [
        {**payment_body, "external_id": "ZD-nul", "subject": "x\x00y"},
        {**payment_body, "external_id": "ZD-sur", "description": "bad \ud800"},
        {**payment_body, "external_id": "ZD-ev", "evidence": {"payment_method": "credit_card", "error_code": "\x00"}},
        {**payment_body, "external_id": "ZD-nan", "evidence": {"payment_method": "credit_card", "amount": "NaN"}},
        {**payment_body, "external_id": "ZD-old", "reported_at": "0001-01-01T00:00:00+14:00"},
        {**payment_body, "external_id": "ZD-extra", "priority": "P1"},
        {**PERF, "external_id": "ZD-big", "evidence": {**PERF["evidence"], "load_time_seconds": "1e5000"}},
        {
            **LOGIN,
            "external_id": "ZD-date",
            "evidence": {**LOGIN["evidence"], "last_successful_login": "2026-02-30T10"},
        },
        {**payment_body, "external_id": "ZD-\x00"},
    ]
    items = [good[0], *bad[:4], good[1], *bad[4:], good[2]]
    response = _raw_post(writer, "/api/v1/tickets/bulk/", json.dumps({"tickets": items}))
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert (body["created"], body["failed"]) == (3, len(bad))
    named = {
        "ZD-nul": "subject",
        "ZD-sur": "description",
        "ZD-ev": "evidence.error_code",
        "ZD-nan": "evidence.amount",
        "ZD-old": "reported_at",
        "ZD-extra": "priority",
        "ZD-big": "evidence.load_time_seconds",
        "ZD-date": "evidence.last_successful_login",
        "ZD-\\u0000": "external_id",
    }
    for result in body["results"]:
        if result["result"] == "error":
            assert named[result["external_id"]] in result["errors"], result
    assert sorted(Ticket.objects.values_list("external_id", flat=True)) == ["ZD-0", "ZD-1", "ZD-2"]


@pytest.mark.parametrize(
    "method,url",
    [
        ("post", "/api/v1/tickets/abc/move/"),
        ("get", "/api/v1/fix-impacts/abc/"),
        ("get", "/api/v1/clusters/abc/"),
        ("get", "/api/v1/no-such-thing/"),
    ],
)
def test_unknown_api_paths_get_the_json_error_shape(writer, method, url):
    response = getattr(writer, method)(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "not_found"
