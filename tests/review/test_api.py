"""GET /api/v1/review/<year>-W<week>/: the week's report as JSON, in the OpenAPI document."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import make_key
from tests.review.helpers import full_week
from tickets.models import ApiKey

pytestmark = pytest.mark.django_db


def test_the_report_of_a_week_as_json(review_now, product_lead):
    full_week(product_lead)
    client = APIClient()
    client.force_authenticate(product_lead)
    body = client.get("/api/v1/review/2026-W11/").json()
    assert body["week"] == "2026-W11" and body["starts_on"] == "2026-03-09" and body["time_zone"] == "America/New_York"
    assert not body["complete"] and body["days_covered"] == 3
    theme = body["top_themes"][0]
    assert (theme["title"], theme["tickets"], theme["previous_tickets"], theme["change_pct"]) == (
        "Busy bug 0",
        10,
        5,
        100,
    )
    assert theme["sample_quote"]["customer"] == "Globex" and theme["mrr_at_stake"] == "9000.00"
    assert body["fixes_not_working"][0]["title"] == "Fixed but not working"
    assert body["decisions"][0]["text"] == "Ship behind a flag"
    assert body["previous_action_items"][0]["text"] == "Call Globex"
    assert body["ticket_trends"]["feedback_share_target"] == [0.05, 0.1]
    request = body["feature_requests_trending"][0]
    assert (request["title"], request["tickets"], request["previous_tickets"], request["customers"]) == (
        "Dark mode",
        2,
        1,
        1,
    )
    assert request["mrr"] == "9000.00" and request["decision"] == "Planned for 2027-Q1"
    assert request["sample_quote"] == {"text": "Our night shift needs it.", "customer": "Globex", "segment": "SMB"}
    assert request["url"].endswith(f"/feature-requests/{request['cluster_id']}/")
    assert (body["at_risk_count"], body["at_risk_count_previous_week"]) == (1, 0)
    account = body["at_risk_accounts"][0]
    assert (account["account"], account["mrr"], account["csm"], account["handoff_status"]) == (
        "Acme Retail",
        "4200.00",
        "Lee Lead",
        "open",
    )
    assert account["reasons"] == ["Churn or cancellation language: in 1 ticket"] and account["open_bugs"] == 1
    assert account["worst_open_bug"]["title"] == "Busy bug 5"


def test_weeks_that_do_not_exist_or_have_not_started_are_404(review_now, product_lead):
    client = APIClient()
    client.force_authenticate(product_lead)
    response = client.get("/api/v1/review/2026-13/")
    assert response.status_code == 404 and "write it as YEAR-Wweek" in response.json()["detail"]
    response = client.get("/api/v1/review/2026-W12/")
    assert response.status_code == 404 and "has not started yet" in response.json()["detail"]


def test_read_keys_and_review_roles_may_read_it_others_may_not(review_now, agent, outsider):
    _, key = make_key(ApiKey.Scope.READ, name="BI export")
    client = APIClient()
    client.force_authenticate(agent)
    assert client.get("/api/v1/review/2026-W10/").status_code == 200
    client.force_authenticate(outsider)
    response = client.get("/api/v1/review/2026-W10/")
    assert response.status_code == 403 and "triage.view_review" in response.json()["detail"]
    assert APIClient().get("/api/v1/review/2026-W10/", HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200
    assert APIClient().get("/api/v1/review/2026-W10/").status_code in (401, 403)


def test_the_endpoint_is_in_the_openapi_document(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/review/{week}/"]["get"]
    assert operation["operationId"] == "review_week_retrieve"
    assert "ReviewReport" in operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    report = schema["components"]["schemas"]["ReviewReport"]["properties"]
    assert {"feature_requests_trending", "at_risk_accounts", "at_risk_count"} <= set(report)
    assert "worst_open_bug" in schema["components"]["schemas"]["WeekAtRiskAccount"]["properties"]
