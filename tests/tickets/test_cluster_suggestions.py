"""The known-bugs ranking is the engine's: assignable clusters of the kind, fingerprints count, reasons in words."""

import pytest

from tests.tickets.factories import ClusterFactory
from tickets.clustering.selectors import ClusterSuggestion, cluster_suggestions
from tickets.models import ClusterKind, ClusterStatus, TicketType

pytestmark = pytest.mark.django_db


@pytest.fixture
def clusters():
    login_type = TicketType.objects.get(key="login_issue")
    return {
        "paypal": ClusterFactory(title="Checkout fails with PayPal error 4001", status=ClusterStatus.IN_PROGRESS),
        "card": ClusterFactory(title="Card checkout shows spinner forever", status=ClusterStatus.NEW),
        "login": ClusterFactory(
            title="Login loop on Safari", summary="Users bounce between SSO and sign-in", ticket_type=login_type
        ),
        "verified": ClusterFactory(title="Checkout fails with PayPal error 4001 (2025)", status=ClusterStatus.VERIFIED),
        "feature": ClusterFactory(title="Checkout in more currencies", kind=ClusterKind.FEATURE_REQUEST),
    }


def test_best_match_first_and_verified_or_other_kinds_never(clusters):
    found = cluster_suggestions(subject="PayPal checkout fails", evidence={"error_code": "4001"})
    assert isinstance(found[0], ClusterSuggestion)
    assert found[0].cluster == clusters["paypal"]
    ids = {s.cluster.pk for s in found}
    assert clusters["verified"].pk not in ids and clusters["feature"].pk not in ids
    assert "same error code 4001" in found[0].reasons


def test_an_error_code_alone_finds_its_cluster(clusters):
    found = cluster_suggestions(subject="", evidence={"error_code": "4001"})
    assert [s.cluster for s in found] == [clusters["paypal"]]
    assert found[0].reasons == ["same error code 4001"]


def test_words_of_the_summary_and_the_same_type_count(clusters):
    login_type = TicketType.objects.get(key="login_issue")
    found = cluster_suggestions(subject="Customer stuck in SSO sign-in loop", ticket_type=login_type)
    assert found[0].cluster == clusters["login"]
    assert any(r.startswith("text similar") for r in found[0].reasons)
    assert any("type Login issue" in r for r in found[0].reasons)


def test_stems_match_other_forms_of_a_word(clusters):
    found = cluster_suggestions(subject="Failing checkouts")  # no exact word in common, only stems
    assert [s.cluster for s in found][:2] == [clusters["paypal"], clusters["card"]]


def test_feature_requests_match_their_own_kind(clusters):
    found = cluster_suggestions(subject="Checkout currencies", kind=ClusterKind.FEATURE_REQUEST)
    assert [s.cluster for s in found] == [clusters["feature"]]


def test_nothing_typed_or_nothing_similar_suggests_nothing(clusters):
    assert cluster_suggestions(subject="") == []
    assert cluster_suggestions(subject="the and of") == []
    assert cluster_suggestions(subject="Invoices PDF rendering") == []


def test_limit_and_a_bounded_number_of_queries(django_assert_max_num_queries):
    for n in range(30):
        ClusterFactory(title=f"Checkout error page {n}", ticket_count=n)
    with django_assert_max_num_queries(4):  # term statistics, postings, candidate profiles, the best clusters
        found = cluster_suggestions(subject="checkout error page", limit=5)
    assert len(found) == 5
