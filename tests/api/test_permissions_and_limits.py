import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.api.conftest import make_key
from tests.tickets.factories import ClusterFactory
from tickets.models import ApiKey, Ticket

pytestmark = pytest.mark.django_db

READS = ["/api/v1/tickets/", "/api/v1/clusters/", "/api/v1/customers/", "/api/v1/ticket-types/"]


@pytest.mark.parametrize("url", READS)
def test_anonymous_gets_401_naming_the_scheme(url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Api-Key"


def test_read_key_reads_but_cannot_write(reader, payment_body):
    for url in READS:
        assert reader.get(url).status_code == 200
    response = reader.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    cluster = ClusterFactory()
    assert reader.post(f"/api/v1/clusters/{cluster.pk}/acknowledge/", {}, format="json").status_code == 403
    assert reader.put("/api/v1/customers/c/", {"name": "C"}, format="json").status_code == 403
    assert not Ticket.objects.exists()


def test_revoked_unknown_and_malformed_keys_get_401(payment_body):
    _key, secret = make_key(ApiKey.Scope.WRITE, revoked=True)
    for header in (f"Api-Key {secret}", f"Api-Key {secret[:-2]}xx", "Api-Key nonsense"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.post("/api/v1/tickets/", payment_body, format="json")
        assert response.status_code == 401, header
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert "revoked" in client.get("/api/v1/tickets/").json()["detail"]


def test_x_api_key_header_and_no_basic_auth(write_key, agent):
    client = APIClient()
    assert client.get("/api/v1/tickets/", HTTP_X_API_KEY=write_key[1]).status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Basic " + "YWdlbnQuYW15OnBhc3N3b3Jk")  # agent.amy:password
    assert client.get("/api/v1/tickets/").status_code == 401


def test_keys_are_stored_hashed(write_key):
    api_key, secret = write_key
    assert secret not in (api_key.key_hash, api_key.prefix) and len(api_key.key_hash) == 64


def test_session_roles(session_client, agent, product_lead, csm, outsider, payment_body):
    cluster = ClusterFactory()
    ack = f"/api/v1/clusters/{cluster.pk}/acknowledge/"
    assert session_client(outsider).get("/api/v1/tickets/").status_code == 403
    assert session_client(agent).get("/api/v1/tickets/").status_code == 200
    assert session_client(agent).post("/api/v1/tickets/", payment_body, format="json").status_code == 201
    assert session_client(agent).post(ack, {}, format="json").status_code == 403
    assert session_client(csm).post(ack, {}, format="json").status_code == 403
    assert session_client(csm).put("/api/v1/customers/c-1/", {"name": "C"}, format="json").status_code == 201
    assert session_client(agent).put("/api/v1/customers/c-2/", {"name": "C"}, format="json").status_code == 403
    lead = session_client(product_lead)
    assert lead.post(ack, {}, format="json").json()["status"] == "acknowledged"
    cluster.refresh_from_db()
    assert cluster.events.filter(kind="status_changed", actor=product_lead).exists()


def test_session_writes_need_csrf(agent, payment_body):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.post("/api/v1/tickets/", payment_body, format="json").status_code == 403


def test_oversize_body_gets_413(writer, settings, payment_body):
    settings.API_MAX_BODY_BYTES = 2048
    payment_body["description"] = "x" * 5000
    response = writer.post("/api/v1/tickets/", payment_body, format="json")
    assert response.status_code == 413 and "2048 bytes" in response.json()["detail"]
    assert not Ticket.objects.exists()


def test_throttle_per_key_with_retry_after(write_key, read_key):
    from tickets.api.throttling import ApiKeyRateThrottle

    cache.clear()
    original = ApiKeyRateThrottle.THROTTLE_RATES
    ApiKeyRateThrottle.THROTTLE_RATES = {"api": "3/minute"}
    try:
        busy = APIClient()
        busy.credentials(HTTP_AUTHORIZATION=f"Api-Key {write_key[1]}")
        codes = [busy.get("/api/v1/ticket-types/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        response = busy.get("/api/v1/ticket-types/")
        assert int(response.headers["Retry-After"]) > 0 and response.json()["error"] == "throttled"
        other = APIClient()
        other.credentials(HTTP_AUTHORIZATION=f"Api-Key {read_key[1]}")
        assert other.get("/api/v1/ticket-types/").status_code == 200
    finally:
        ApiKeyRateThrottle.THROTTLE_RATES = original
        cache.clear()


def test_malformed_json_is_a_clear_400(writer):
    response = writer.post("/api/v1/tickets/", "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["detail"]


def test_a_get_with_an_api_key_writes_nothing(reader, django_assert_num_queries):
    from tickets.models import ApiKey

    with django_assert_num_queries(3):  # the key, the types, their fields: no UPDATE of the key
        assert reader.get("/api/v1/ticket-types/").status_code == 200
    assert ApiKey.objects.get().last_used_at is None
