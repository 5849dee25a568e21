"""Shared fixtures: a cast of users per role, and gates for the real services.

Tests marked `postgres`, `redis` or `browser` need a real PostgreSQL, Redis or
Chromium. Locally they skip with a reason when the service is missing; in CI
(CI=true) a missing service fails the run instead, so nothing skips there.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Group

from tests.tickets.factories import UserFactory
from tickets.models import Role

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI must run this test, not skip it)")
    pytest.skip(reason)


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _service_gates(request):
    if request.node.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            _unavailable("needs PostgreSQL: set DATABASE_URL=postgres://...")
    if request.node.get_closest_marker("redis") and not _reachable(REDIS_URL):
        _unavailable(f"needs Redis at {REDIS_URL}")
    if request.node.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        _unavailable(f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if request.node.get_closest_marker("embedding_model"):
        request.getfixturevalue("embedding_model")


@pytest.fixture
def embedding_model(settings):
    """The sentence-embedding model switched on for one test (and off again after it)."""
    from tickets.clustering.embeddings import encoder_reset, encoder_status
    from tickets.clustering.vectors import open_clusters_reset

    if not settings.TEST_EMBEDDING_MODEL:
        _unavailable(
            "needs the sentence-embedding model: set CLUSTERING_EMBEDDING_MODEL=../shared/models/all-MiniLM-L6-v2"
        )
    settings.CLUSTERING_EMBEDDING_MODEL = settings.TEST_EMBEDDING_MODEL
    encoder_reset()
    open_clusters_reset()
    found, reason = encoder_status()
    if found is None:
        _unavailable(reason)
    yield found
    settings.CLUSTERING_EMBEDDING_MODEL = ""
    encoder_reset()
    open_clusters_reset()


@pytest.fixture(autouse=True)
def _seed_data_after_flush(request):
    """Transactional tests (browser, worker) flush the tables after each test, and with them the rows the
    migrations seed (ticket types, service levels, handoff triggers); put them back, so a test sees the same
    rows whether it runs first or after another transactional test. (Django's serialized_rollback cannot be
    used: Playwright's event loop gives the test a different connection object than the one serialized.)"""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    if not apps.get_model("tickets", "TicketType").objects.exists():
        importlib.import_module("tickets.migrations.0002_seed_ticket_types_and_roles").seed(apps, None)
        importlib.import_module("tickets.migrations.0008_seed_feedback_evidence_and_queues").seed(apps, None)
    if not apps.get_model("slas", "SlaPolicy").objects.exists():
        importlib.import_module("slas.migrations.0002_seed_default_policies").seed(apps, None)
        importlib.import_module("slas.migrations.0005_seed_feedback_kind_policies").seed(apps, None)
    if not apps.get_model("triage", "HandoffTrigger").objects.exists():
        importlib.import_module("triage.migrations.0002_seed_handoff_triggers").seed(apps, None)


def _user_in(role: str, **kwargs):
    user = UserFactory(**kwargs)
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


@pytest.fixture
def agent(db):
    return _user_in(Role.AGENT, username="agent.amy", first_name="Amy", last_name="Agent")


@pytest.fixture
def product_lead(db):
    return _user_in(Role.PRODUCT_LEAD, username="lead.lee", first_name="Lee", last_name="Lead")


@pytest.fixture
def csm(db):
    return _user_in(Role.CUSTOMER_SUCCESS, username="csm.cass", first_name="Cass", last_name="Success")


@pytest.fixture
def admin_user(db):
    return _user_in(Role.ADMIN, username="admin.ada", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider.otto")


# --- Browser -----------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        _unavailable(f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page):
    """Sign in through the real login form; returns the page on the home screen."""

    def _login(user, password: str = "password"):
        page.goto("/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        return page

    return _login


ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "test-artifacts")


@pytest.fixture
def artifact_path():
    os.makedirs(ARTIFACTS, exist_ok=True)
    return lambda name: os.path.join(ARTIFACTS, name)
