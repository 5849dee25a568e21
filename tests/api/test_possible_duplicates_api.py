"""GET /api/v1/clusters/{id}/possible-duplicates/: the engine's ranking of other clusters, with reasons."""

import pytest

from tests.tickets.factories import ClusterFactory

pytestmark = pytest.mark.django_db


def test_possible_duplicates_are_ranked_with_scores_and_reasons(reader):
    first = ClusterFactory(title="PayPal checkout fails with error 4001")
    second = ClusterFactory(title="Checkout with PayPal fails, error 4001 shown")
    ClusterFactory(title="Dark mode colours are off")
    response = reader.get(f"/api/v1/clusters/{first.pk}/possible-duplicates/")
    assert response.status_code == 200
    [found] = response.json()
    assert found["cluster"]["id"] == second.pk and found["cluster"]["title"] == second.title
    assert 0 < found["score"] <= 1 and "same error code 4001" in found["reasons"]


def test_possible_duplicates_of_an_unknown_cluster_is_404(reader):
    assert reader.get("/api/v1/clusters/999999/possible-duplicates/").status_code == 404
