"""Each role walks its main pages on a laptop (1280 px) and a phone (375 px): nothing overflows sideways, the
console stays clean and every request the page makes succeeds."""

from __future__ import annotations

import pytest

from tickets.models import BugCluster, Role
from triage.demo.seed import demo_seed
from triage.demo.vocab import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 375)


@pytest.fixture
def demo(transactional_db):
    demo_seed(tickets=700)
    fixed = BugCluster.objects.filter(fix_deployed_at__isnull=False).order_by("pk").first()
    waiting = BugCluster.objects.filter(status="needs_info").order_by("pk").first()
    return {"cluster": waiting.pk, "fixed": fixed.pk}


def pages_for(role: str, demo: dict) -> list[str]:
    cluster, fixed = f"/clusters/{demo['cluster']}/", demo["fixed"]
    return {
        Role.AGENT: ["/", "/reports/new/", "/reports/", "/reports/?show=waiting", "/clusters/", cluster],
        Role.PRODUCT_LEAD: [
            "/",
            "/clusters/",
            cluster,
            "/clusters/patterns/",
            "/metrics/fixes/",
            f"/metrics/fixes/{fixed}/",
            "/metrics/success/",
            "/slas/",
            "/slas/compliance/",
        ],
        Role.CUSTOMER_SUCCESS: ["/", "/clusters/", cluster, "/metrics/success/", "/slas/"],
        Role.ADMIN: ["/", "/clusters/", "/admin/", "/api/v1/docs/", "/api/v1/redoc/"],
    }[role]


USERS = {Role.AGENT: "agent", Role.PRODUCT_LEAD: "lead", Role.CUSTOMER_SUCCESS: "csm", Role.ADMIN: "admin"}


@pytest.mark.parametrize("role", list(USERS))
def test_each_role_walks_its_pages_on_a_laptop_and_a_phone(role, demo, browser, live_server):
    problems: list[str] = []
    for width in WIDTHS:
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text} at {m.location}"))
        page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
        # A load the next navigation cancels (net::ERR_ABORTED) is not a failure; a 4xx/5xx is caught below.
        page.on(
            "requestfailed",
            lambda r: "ERR_ABORTED" not in (r.failure or "") and problems.append(f"failed: {r.url} ({r.failure})"),
        )
        page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status}: {r.url}"))
        page.goto("/login/")
        page.get_by_label("Username").fill(USERS[role])
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        for url in pages_for(role, demo):
            page.goto(url)
            page.wait_for_load_state("networkidle")
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 1:
                wide = page.evaluate(
                    """() => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                        .filter(e => !e.parentElement.closest('.scroll, .table-scroll'))
                        .slice(0, 3).map(e => e.tagName + '.' + e.className).join(', ')"""
                )
                problems.append(f"{url} at {width} px is {overflow} px too wide ({wide})")
        context.close()
    assert not problems, "\n".join(problems)
