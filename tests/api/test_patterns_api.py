"""GET /api/v1/patterns/ and the spike and threshold state on clusters."""

import pytest
from django.utils import timezone

from tests.tickets.factories import ClusterFactory, plant_login_pattern
from tickets.models import TicketType

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted():
    login = TicketType.objects.get(key="login_issue")
    cluster = ClusterFactory(title="Face ID sign-in fails", ticket_type=login)
    plant_login_pattern(login, cluster=cluster, recent=25, baseline_days=10)
    return cluster


def test_patterns_of_a_type_over_a_window(reader, planted, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = reader.get("/api/v1/patterns/", {"ticket_type": "login_issue", "days": 7})
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == {"ticket_type": "login_issue", "cluster": None}
    assert body["days"] == 7 and body["recent_tickets"] == 25 and body["baseline_tickets"] == 90
    top = body["patterns"][0]
    assert top["text"] == "iOS 17.2 + biometric" and top["count"] == 25
    assert top["values"][1] == {"key": "login_method", "label": "Sign-in method", "value": "biometric"}
    assert top["lift"] == pytest.approx(1 / ((0 + 0.5) / 91), abs=0.01)


def test_patterns_of_a_cluster(reader, planted):
    body = reader.get("/api/v1/patterns/", {"cluster": planted.pk, "days": 30}).json()
    assert body["scope"] == {"ticket_type": "login_issue", "cluster": planted.pk}
    assert body["recent_tickets"] == 25 and body["patterns"][0]["text"] == "iOS 17.2 + biometric"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "ticket_type", "Give ticket_type (a type key) or cluster (a cluster id)."),
        ({"ticket_type": "nope"}, "ticket_type", "No ticket type with key 'nope'; see GET /api/v1/ticket-types/."),
        ({"cluster": 987654}, "cluster", "No cluster with id 987654."),
        ({"ticket_type": "login_issue", "days": 5}, "days", '"5" is not a window; use 1, 7, 14 or 30 (days).'),
    ],
)
def test_a_refused_query_names_the_parameter_and_what_is_allowed(reader, params, field, message):
    response = reader.get("/api/v1/patterns/", params)
    assert response.status_code == 400
    assert response.json()["fields"][field] == [message]


def test_only_roles_that_see_clusters_read_patterns(session_client, outsider, agent):
    assert session_client(outsider).get("/api/v1/patterns/", {"ticket_type": "login_issue"}).status_code == 403
    assert session_client(agent).get("/api/v1/patterns/", {"ticket_type": "login_issue"}).status_code == 200


def test_clusters_carry_their_spike_and_threshold_state(reader):
    now = timezone.now()
    ClusterFactory(
        title="Spiking",
        spike_detected_at=now,
        spike_ratio=6.5,
        spike_details={"window": "24h", "count": 26, "baseline": 4.0},
        threshold_crossed_at=now,
    )
    ClusterFactory(title="Calm")
    rows = {c["title"]: c for c in reader.get("/api/v1/clusters/").json()["results"]}
    assert rows["Spiking"]["spiking"] is True and rows["Spiking"]["spike_ratio"] == 6.5
    assert rows["Spiking"]["spike_details"]["count"] == 26 and rows["Spiking"]["threshold_crossed_at"]
    assert rows["Calm"]["spiking"] is False and rows["Calm"]["spike_ratio"] is None
    assert rows["Calm"]["threshold_crossed_at"] is None


def test_the_schema_documents_the_endpoint_with_an_example(reader):
    schema = reader.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/patterns/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"ticket_type", "cluster", "days"}
    example = operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert any(e["value"]["patterns"][0]["count"] == 47 for e in example.values())
    assert "spiking" in schema["components"]["schemas"]["Cluster"]["properties"]
