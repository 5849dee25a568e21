"""Evidence patterns: combinations of evidence values that recent tickets share far more than usual."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.tickets.factories import ClusterFactory
from tickets.clusters.patterns import evidence_patterns
from tickets.models import Ticket, TicketType

pytestmark = pytest.mark.django_db

OSES = ["iOS 17.2", "Android 14", "Windows 11", "macOS 14", "iOS 16.7"]
METHODS = ["password", "sso", "magic_link", "social", "biometric", "two_factor"]
NOW = timezone.now()


def tickets(ticket_type, evidences, *, days_ago: float, cluster=None) -> None:
    start = Ticket.objects.count()
    Ticket.objects.bulk_create(
        Ticket(
            source="zendesk",
            external_id=f"P-{start + i}",
            subject="Cannot sign in",
            ticket_type=ticket_type,
            cluster=cluster,
            evidence=evidence,
            reported_at=NOW - timedelta(days=days_ago, minutes=i),
        )
        for i, evidence in enumerate(evidences)
    )


def uniform(n: int, offset: int = 0) -> list[dict]:
    """Every os with every sign-in method equally often (i % 5, i % 6 run through all 30 pairs)."""
    return [
        {"os": OSES[(i + offset) % 5], "login_method": METHODS[(i + offset) % 6], "device": "mobile"} for i in range(n)
    ]


@pytest.fixture
def login():
    return TicketType.objects.get(key="login_issue")


@pytest.fixture
def baseline(login):
    tickets(login, uniform(240), days_ago=15)  # 8 tickets of each (os, method) pair


def test_a_planted_pair_is_found_with_its_count_and_lift(login, baseline):
    planted = [{"os": "ios 17.2 ", "login_method": "biometric", "device": "mobile"}] * 47
    # The other 13 share neither value, so the pair's count is exactly 47.
    others = [{"os": OSES[1 + i % 4], "login_method": METHODS[i % 4], "device": "mobile"} for i in range(13)]
    tickets(login, planted + others, days_ago=1)

    report = evidence_patterns(ticket_type=login, days=7, now=NOW)

    assert report["recent_tickets"] == 60 and report["baseline_tickets"] == 240
    top = report["patterns"][0]
    assert top["text"] == "iOS 17.2 + biometric"  # shown as most often written
    assert [(v["key"], v["label"]) for v in top["values"]] == [
        ("os", "Operating system"),
        ("login_method", "Sign-in method"),
    ]
    assert top["count"] == 47 and top["share"] == pytest.approx(47 / 60, abs=1e-4)
    assert top["baseline_count"] == 8
    assert top["lift"] == pytest.approx((47 / 60) / (8.5 / 241), abs=0.01)
    # The pair explains each of its values: they are not listed again on their own.
    assert all(p["text"] not in ("iOS 17.2", "biometric") for p in report["patterns"])
    # A value every ticket shares, recent or not, is not a pattern.
    assert all("mobile" not in p["text"] for p in report["patterns"])


def test_recent_tickets_like_the_usual_mix_show_no_pattern(login, baseline):
    tickets(login, uniform(60, offset=3), days_ago=1)
    report = evidence_patterns(ticket_type=login, days=7, now=NOW)
    assert report["recent_tickets"] == 60
    assert report["patterns"] == []


def test_free_text_ids_and_long_values_are_not_mined(login, baseline):
    payment = TicketType.objects.get(key="payment_failure")
    tickets(payment, [{"error_code": "4001", "payment_method": "paypal", "transaction_id": "txn_1"}] * 30, days_ago=20)
    recent = [
        {"error_code": f"E{i}", "transaction_id": f"txn_{i}", "amount": {"amount": "49.00", "currency": "EUR"}}
        for i in range(30)
    ]
    tickets(payment, recent, days_ago=1)
    report = evidence_patterns(ticket_type=payment, days=7, now=NOW)
    assert "transaction_id" not in report["keys"] and "amount" not in report["keys"]
    assert report["skipped_keys"] == {"error_code": "values are mostly distinct (identifiers or free text)"}
    assert report["patterns"] == []


def test_a_clusters_patterns_compare_it_with_the_other_tickets_of_its_type(login, baseline):
    cluster = ClusterFactory(ticket_type=login)
    tickets(login, [{"os": "Android 14", "login_method": "sso", "device": "tablet"}] * 12, days_ago=2, cluster=cluster)
    tickets(login, uniform(30), days_ago=2)  # the rest of the type goes on as usual
    report = evidence_patterns(cluster=cluster, days=7, now=NOW)
    assert report["scope"] == {"ticket_type": "login_issue", "cluster": cluster.pk}
    assert report["recent_tickets"] == 12 and report["baseline_tickets"] == 270
    texts = {p["text"]: p for p in report["patterns"]}
    # Three values that always come together: shown as pairs, not again one by one.
    assert set(texts) == {"Android 14 + tablet", "Android 14 + sso", "tablet + sso"}
    assert texts["tablet + sso"]["count"] == 12 and texts["tablet + sso"]["baseline_count"] == 0
    # With the type's 270 other tickets, Android 14 + sso is over-represented 20-fold.
    assert texts["Android 14 + sso"]["lift"] == pytest.approx(1 / ((9 + 0.5) / 271), abs=0.01)
