import re

import pytest
from django.contrib.messages import get_messages

from tickets.models import ApiKey
from tickets.models.integrations import api_key_hash

pytestmark = pytest.mark.django_db


def test_openapi_document_is_public_and_complete(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    doc = response.json()
    for path in (
        "/api/v1/tickets/",
        "/api/v1/tickets/bulk/",
        "/api/v1/tickets/by-key/{source}/{external_id}/",
        "/api/v1/customers/{external_id}/",
        "/api/v1/clusters/{id}/mark-fixed/",
        "/api/v1/inbound/{slug}/",
        "/api/v1/ticket-types/{key}/",
    ):
        assert path in doc["paths"], path
    create = doc["paths"]["/api/v1/tickets/"]["post"]
    assert "examples" in create["requestBody"]["content"]["application/json"]
    assert {"201", "200", "400", "401", "403", "413", "429"} <= set(create["responses"])
    assert "ApiKeyAuth" in doc["components"]["securitySchemes"]
    assert "basicAuth" not in doc["components"]["securitySchemes"]


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_their_assets_locally(client, url):
    html = client.get(url).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|svg|png))"', html)
    assert assets and all(a.startswith(("/static/", "/api/v1/")) for a in assets), assets
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    for asset in assets:  # nothing they load reaches outside either (Redoc's logo was on its CDN)
        if asset.startswith("/api/v1/"):
            body = client.get(asset).content.decode()
            assert "https://cdn." not in body and "fonts.googleapis" not in body


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith(".svg")


def test_admin_creates_a_key_shown_once_and_revokes_it(admin_client_for, admin_user):
    client = admin_client_for(admin_user)
    response = client.post("/admin/tickets/apikey/add/", {"name": "Freshdesk", "scope": "write"}, follow=True)
    shown = [str(m) for m in get_messages(response.wsgi_request)] or [response.content.decode()]
    key = re.search(r"trg_[0-9a-f]{8}_[A-Za-z0-9_-]+", " ".join(shown)).group(0)
    api_key = ApiKey.objects.get(name="Freshdesk")
    assert api_key.key_hash == api_key_hash(key) and key not in str(api_key.__dict__.values())
    assert client.get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200
    client.post("/admin/tickets/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 401


@pytest.fixture
def admin_client_for():
    from django.test import Client

    def _make(user):
        c = Client()
        c.force_login(user)
        return c

    return _make


@pytest.mark.parametrize(
    "url",
    ["/api/v1/", "/api/v1/tickets/", "/api/v1/clusters/", "/api/v1/customers/", "/api/v1/ticket-types/"],
)
def test_browsable_api_pages_for_a_signed_in_agent(client, agent, url):
    client.force_login(agent)
    response = client.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"<html" in response.content
