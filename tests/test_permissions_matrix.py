"""Who may use what: every page and API endpoint against every role and key, from one table.

Each row names a URL (by its name in triage/urls.py or triage/api_urls.py), a method, and the roles
that get through (the others get 401/403, or the login page). A URL name missing from the table fails
`test_every_url_is_in_the_matrix`, so a new view is added here with its intended audience.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import get_resolver, reverse
from django.urls.resolvers import URLResolver
from rest_framework.test import APIClient

from tests.api.conftest import make_key
from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.models import ApiKey, ClusterStatus

ROLES = ("anonymous", "agent", "product_lead", "csm", "admin", "read_key", "write_key")
EVERYONE = frozenset(ROLES)
PEOPLE = frozenset({"agent", "product_lead", "csm", "admin"})
KEYS = frozenset({"read_key", "write_key"})
READERS = PEOPLE | KEYS  # every signed-in role and any API key
LEAD = frozenset({"product_lead", "admin"})
ADMIN = frozenset({"admin"})
FILERS = PEOPLE  # every role files reports (customer success files at-risk signals and feedback)
ACCOUNT_READERS = frozenset({"product_lead", "csm", "admin"})  # accounts and revenue at stake
ACCOUNT_KEEPERS = frozenset({"csm", "admin"})  # customer success acts on its accounts
VERIFIERS = frozenset({"agent", "product_lead", "admin"})  # support confirms a fix; leads and admins too

# (url name, method, url kwargs from the world, who gets through)
MATRIX: list[tuple[str, str, str, frozenset]] = [
    # pages
    ("home", "get", "", PEOPLE),
    ("healthz", "get", "", EVERYONE),
    ("login", "get", "", EVERYONE),
    ("logout", "post", "", EVERYONE),
    ("attachment", "get", "path", PEOPLE),
    ("tickets:my_reports", "get", "", FILERS),
    ("tickets:report_new", "get", "", FILERS),
    ("tickets:report_fields", "get", "", FILERS),
    ("tickets:report_known_bugs", "get", "", FILERS),
    ("tickets:report_autofill", "post", "", FILERS),
    ("tickets:customer_results", "get", "", FILERS),
    ("tickets:cluster_list", "get", "", PEOPLE),
    ("tickets:patterns", "get", "", PEOPLE),
    ("tickets:cluster_detail", "get", "cluster", PEOPLE),
    ("tickets:cluster_triage", "post", "cluster", LEAD),
    ("tickets:cluster_respond", "post", "cluster", LEAD),
    ("tickets:cluster_answer", "post", "cluster", frozenset({"agent", "product_lead", "admin"})),
    ("tickets:cluster_edit_details", "post", "cluster", LEAD),
    ("tickets:cluster_corrections", "get", "cluster", PEOPLE),
    ("tickets:cluster_merge", "post", "cluster", LEAD),
    ("tickets:cluster_split", "post", "cluster", LEAD),
    ("tickets:ticket_move", "post", "ticket", LEAD),
    ("tickets:correction_undo", "post", "missing", LEAD),
    ("tickets:feedback_queues", "get", "", PEOPLE),
    ("tickets:feedback_queue", "get", "kind", PEOPLE),
    ("tickets:feedback_item", "get", "ticket", PEOPLE),
    # Signed-in people pass the gate; the item must then be in one of their queues (404 otherwise).
    ("tickets:feedback_acknowledge", "post", "ticket", PEOPLE),
    ("tickets:feedback_respond", "post", "ticket", PEOPLE),
    ("tickets:feedback_close", "post", "ticket", PEOPLE),
    ("tickets:feature_requests", "get", "", PEOPLE),
    ("tickets:feature_request", "get", "cluster", PEOPLE),
    ("tickets:feature_request_decide", "post", "cluster", LEAD),
    ("tickets:feature_request_export", "get", "cluster", PEOPLE),
    ("accounts:list", "get", "", ACCOUNT_READERS),
    ("accounts:at_risk", "get", "", ACCOUNT_READERS),
    ("accounts:assess", "post", "", ACCOUNT_KEEPERS),
    ("accounts:detail", "get", "account", ACCOUNT_READERS),
    ("accounts:handoff", "get", "missing", ACCOUNT_READERS),
    ("accounts:handoff_acknowledge", "post", "missing", ACCOUNT_KEEPERS),
    ("accounts:handoff_intervene", "post", "missing", ACCOUNT_KEEPERS),
    ("accounts:handoff_result", "post", "missing", ACCOUNT_KEEPERS),
    # The weekly review: everyone signed in reads it (and its report); product leads run it.
    ("review:current", "get", "", PEOPLE),
    ("review:week", "get", "week", PEOPLE),
    ("review:fixes_more", "get", "week", PEOPLE),
    ("review:report_md", "get", "week", PEOPLE),
    ("review:report_csv", "get", "week", PEOPLE),
    ("review:report_print", "get", "week", PEOPLE),
    ("review:report_send", "post", "week", LEAD),
    ("review:cluster_form", "get", "week_cluster", PEOPLE),
    ("review:cluster_action", "post", "week_cluster", LEAD),
    ("review:item_create", "post", "week", LEAD),
    ("review:item_change", "post", "week_item", LEAD),
    ("slas:overview", "get", "", PEOPLE),
    ("slas:compliance", "get", "", PEOPLE),
    ("metrics:fix_list", "get", "", PEOPLE),
    ("metrics:fix_impact", "get", "cluster_id", PEOPLE),
    ("metrics:fix_mark_fixed", "post", "cluster_id", LEAD),
    ("metrics:fix_recompute", "post", "cluster_id", LEAD),
    ("metrics:fix_verify", "post", "cluster_id", VERIFIERS),
    ("metrics:success", "get", "", PEOPLE),
    # API: documents
    ("api-root", "get", "", READERS),
    ("api-schema", "get", "", EVERYONE),
    ("api-docs", "get", "", EVERYONE),
    ("api-redoc", "get", "", EVERYONE),
    ("api-redoc-bundle", "get", "", EVERYONE),
    ("favicon", "get", "", EVERYONE),
    # API: tickets and customers
    ("tickettype-list", "get", "", READERS),
    ("tickettype-detail", "get", "type_key", READERS),
    ("ticket-list", "get", "", READERS),
    ("ticket-list", "post", "", FILERS | {"write_key"}),
    ("ticket-detail", "get", "pk_ticket", READERS),
    ("ticket-bulk", "post", "", FILERS | {"write_key"}),
    ("ticket-by-key", "put", "by_key", FILERS | {"write_key"}),
    ("ticket-move", "post", "pk_ticket", LEAD | {"write_key"}),
    ("customer-list", "get", "", READERS),
    ("customer-detail", "get", "customer", READERS),
    ("customer-detail", "put", "customer", {"csm", "admin", "write_key"}),
    ("inbound-webhook", "post", "slug", FILERS | {"write_key"}),
    # API: clusters and corrections
    ("cluster-list", "get", "", READERS),
    ("cluster-list", "post", "", ADMIN | {"write_key"}),
    ("cluster-detail", "get", "pk_cluster", READERS),
    ("cluster-acknowledge", "post", "pk_cluster", LEAD | {"write_key"}),
    ("cluster-set-priority", "post", "pk_cluster", LEAD | {"write_key"}),
    ("cluster-assign", "post", "pk_cluster", LEAD | {"write_key"}),
    ("cluster-mark-fixed", "post", "pk_cluster", LEAD | {"write_key"}),
    ("cluster-merge", "post", "pk_cluster", LEAD | {"write_key"}),
    ("cluster-split", "post", "pk_cluster", LEAD | {"write_key"}),
    ("cluster-possible-duplicates", "get", "pk_cluster", READERS),
    ("correction-list", "get", "", READERS),
    ("correction-detail", "get", "pk_missing", READERS),
    ("correction-undo", "post", "pk_missing", LEAD | {"write_key"}),
    ("pattern-list", "get", "", READERS),
    ("feature-request-list", "get", "", READERS),
    ("feature-request-detail", "get", "pk_cluster", READERS),
    ("feature-request-decide", "post", "pk_cluster", LEAD | {"write_key"}),
    ("at-risk-account-list", "get", "", READERS - {"agent"}),
    # API: service levels
    ("sla-policy-list", "get", "", READERS),
    ("sla-policy-list", "post", "", ADMIN),
    ("sla-policy-detail", "get", "pk_missing", READERS),
    ("sla-policy-detail", "patch", "pk_missing", ADMIN),
    ("sla-calendar-list", "get", "", READERS),
    ("sla-calendar-list", "post", "", ADMIN),
    ("sla-calendar-detail", "get", "pk_missing", READERS),
    ("sla-clock-list", "get", "", READERS),
    ("sla-clock-detail", "get", "pk_missing", READERS),
    ("sla-alert-list", "get", "", READERS),
    ("sla-alert-detail", "get", "pk_missing", READERS),
    ("sla-compliance-list", "get", "", READERS),
    # API: fix impact and success metrics
    ("fix-impact-list", "get", "", READERS),
    ("fix-impact-detail", "get", "cluster_id", READERS),
    ("fix-impact-mark-fixed", "post", "cluster_id", LEAD | {"write_key"}),
    ("fix-impact-recompute", "post", "cluster_id", LEAD | {"write_key"}),
    ("fix-impact-verify", "post", "cluster_id", VERIFIERS | {"write_key"}),
    ("success-metrics-list", "get", "", READERS),
    ("review-week", "get", "week", READERS),
]

# URL names outside the matrix on purpose: the admin site has its own staff check (tested in
# tests/api/test_docs_and_admin.py).
NOT_IN_MATRIX = {"admin"}


def _names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _names(pattern.url_patterns, inner)
        elif pattern.name:
            yield f"{namespace}{pattern.name}"


def test_every_url_is_in_the_matrix():
    listed = {name for name, *_ in MATRIX}
    unlisted = sorted(set(_names(get_resolver().url_patterns)) - listed)
    assert not unlisted, f"add these URL names to MATRIX with who may use them: {unlisted}"


@pytest.fixture
def world(db):
    cluster = ClusterFactory(title="Checkout error 4001", status=ClusterStatus.FIXED)
    ticket = TicketFactory(cluster=cluster, subject="Card declined", source="zendesk", external_id="ZD-9")
    from tests.tickets.factories import CustomerFactory

    account = CustomerFactory(external_id="acme")
    return {
        "": {},
        "cluster": {"pk": cluster.pk},
        "ticket": {"pk": ticket.pk},
        "missing": {"pk": 999_999},
        "cluster_id": {"cluster_id": cluster.pk},
        "path": {"path": "attachments/none.txt"},
        "type_key": {"key": "payment_failure"},
        "pk_ticket": {"pk": ticket.pk},
        "pk_cluster": {"pk": cluster.pk},
        "pk_missing": {"pk": 999_999},
        "by_key": {"source": "zendesk", "external_id": "ZD-9"},
        "customer": {"external_id": "acme"},
        "slug": {"slug": "zendesk"},
        "kind": {"kind": "feature_request"},
        "week": {"week": "2026-W07"},
        "week_cluster": {"week": "2026-W07", "pk": cluster.pk, "action": "acknowledge"},
        "week_item": {"week": "2026-W07", "pk": 999_999, "op": "done"},
        "account": {"pk": account.pk},
    }


def _client(role, request):
    client = APIClient()
    if role in ("read_key", "write_key"):
        _key, secret = make_key(ApiKey.Scope.READ if role == "read_key" else ApiKey.Scope.WRITE, name=role)
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    elif role != "anonymous":
        client.force_login(request.getfixturevalue({"admin": "admin_user"}.get(role, role)))
    return client


def _denied(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 302 and "/login/" in response.get("Location", "") and "next=" in response["Location"]


@pytest.mark.parametrize(("name", "method", "kwargs", "allowed"), MATRIX, ids=[f"{m} {n}" for n, m, _, _ in MATRIX])
def test_permission_matrix(request, world, name, method, kwargs, allowed):
    """Each role in turn, each request rolled back so one role's write does not change the next one's answer."""
    url = reverse(name, kwargs=world[kwargs])
    wrong = []
    for role in ROLES:
        with transaction.atomic():
            client = _client(role, request)
            response = getattr(client, method)(url, {}, format="json") if method != "get" else client.get(url)
            transaction.set_rollback(True)
        assert response.status_code < 500, (role, method, url, response.status_code)
        if _denied(response) == (role in allowed):
            wrong.append(
                f"{role}: {response.status_code} ({'should get through' if role in allowed else 'must be refused'})"
            )
    assert not wrong, f"{method.upper()} {url}: " + "; ".join(wrong)
