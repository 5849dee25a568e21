"""The cluster list and the patterns page, for agents and product leads."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import ClusterFactory, plant_login_pattern
from tickets.models import BugCluster, ClusterStatus, Priority, TicketType

pytestmark = pytest.mark.django_db


@pytest.fixture
def clusters():
    login = TicketType.objects.get(key="login_issue")
    now = timezone.now()
    spiking = ClusterFactory(
        title="SSO redirect loop",
        ticket_type=login,
        ticket_count=120,
        priority=Priority.P1,
        last_reported_at=now,
        spike_detected_at=now,
        spike_ratio=7.5,
        spike_details={"window": "24h", "count": 60, "baseline": 8.0},
    )
    over = ClusterFactory(
        title="Export times out",
        ticket_type=TicketType.objects.get(key="performance_issue"),
        ticket_count=25,
        last_reported_at=now - timedelta(hours=1),
        threshold_crossed_at=now,
    )
    quiet = ClusterFactory(
        title="Typo on the settings page",
        ticket_count=2,
        status=ClusterStatus.FIXED,
        last_reported_at=now - timedelta(days=30),
    )
    return spiking, over, quiet


def titles(response) -> list[str]:
    return [c.title for c in response.context["page"].object_list]


@pytest.mark.parametrize("role", ["agent", "product_lead"])
def test_the_list_renders_with_badges_for_agents_and_leads(
    role, request, client, clusters, django_assert_max_num_queries
):
    client.force_login(request.getfixturevalue(role))
    for n in range(60):  # more than a page
        ClusterFactory(title=f"Other bug {n}", ticket_count=1)
    with django_assert_max_num_queries(12):  # the rows, their SLA state in three queries, revenue at stake in one
        response = client.get(reverse("tickets:cluster_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert titles(response)[:2] == ["SSO redirect loop", "Export times out"]
    assert "Typo on the settings page" not in titles(response)  # the fixed cluster comes after every open one
    # Filters are checkboxes with people's labels, not Ctrl-click lists named after keys.
    assert 'type="checkbox" name="status" value="fixed"' in html and "<legend>Ticket type</legend>" in html
    assert "Ticket type key" not in html and "multiple" not in html.split('id="clusters-heading"')[0]
    assert "Spiking ×7.5" in html and "Over threshold" in html
    assert "Page 1 of 2" in html
    assert f'href="{reverse("tickets:cluster_list")}"' in html and ">Patterns</a>" in html  # in the nav
    second = client.get(reverse("tickets:cluster_list"), {"page": 2})
    assert len(second.context["page"].object_list) == 13  # 63 clusters, 50 a page
    assert titles(second)[-1] == "Typo on the settings page"


def test_filters_search_and_sorting(agent, client, clusters):
    client.force_login(agent)
    url = reverse("tickets:cluster_list")
    assert titles(client.get(url, {"status": "fixed"})) == ["Typo on the settings page"]
    assert titles(client.get(url, {"type": "login_issue"})) == ["SSO redirect loop"]
    assert titles(client.get(url, {"priority": "P1"})) == ["SSO redirect loop"]
    assert titles(client.get(url, {"q": "export"})) == ["Export times out"]
    assert titles(client.get(url, {"flag": "spiking"})) == ["SSO redirect loop"]
    assert titles(client.get(url, {"flag": "over_threshold"})) == ["Export times out"]
    assert titles(client.get(url, {"sort": "last_reported"})) == [
        "SSO redirect loop",
        "Export times out",
        "Typo on the settings page",
    ]
    assert titles(client.get(url, {"sort": "spike"}))[0] == "SSO redirect loop"


def test_a_refused_filter_names_the_field_and_keeps_what_was_typed(agent, client, clusters):
    client.force_login(agent)
    response = client.get(reverse("tickets:cluster_list"), {"status": "bogus", "q": "redirect loop"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Status: Select a valid choice. bogus is not one of the available choices." in html
    assert 'value="redirect loop"' in html
    assert titles(response) == []


def test_people_without_access_are_refused(outsider, client):
    client.force_login(outsider)
    assert client.get(reverse("tickets:cluster_list")).status_code == 403
    assert client.get(reverse("tickets:patterns")).status_code == 403


@pytest.mark.parametrize("role", ["agent", "product_lead"])
def test_the_patterns_page_shows_patterns_and_spiking_clusters(
    role, request, client, clusters, django_assert_max_num_queries
):
    login = TicketType.objects.get(key="login_issue")
    plant_login_pattern(login)
    client.force_login(request.getfixturevalue(role))
    with django_assert_max_num_queries(11):
        response = client.get(reverse("tickets:patterns"), {"ticket_type": "login_issue", "days": 7})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>iOS 17.2</strong>" in html and "<strong>biometric</strong>" in html
    assert response.context["report"]["patterns"][0]["count"] == 20
    assert "SSO redirect loop" in html and "×7.5" in html  # the spiking list
    assert "Export times out" not in html


def test_the_patterns_form_says_what_is_wrong(agent, client):
    client.force_login(agent)
    response = client.get(reverse("tickets:patterns"), {"cluster": 99999, "days": 5})
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is no cluster #99999; give the number of an existing cluster." in html
    assert "Select a valid choice. 5 is not one of the available choices." in html
    assert 'value="99999"' in html
    assert client.get(reverse("tickets:patterns")).status_code == 200  # nothing chosen yet: a prompt


def test_the_cluster_page_shows_its_volume_panel_and_loads_its_patterns(agent, client, clusters):
    spiking = clusters[0]
    plant_login_pattern(spiking.ticket_type, cluster=spiking)
    client.force_login(agent)
    page = client.get(reverse("tickets:cluster_detail", args=[spiking.pk])).content.decode()
    assert "Volume and patterns" in page and "Spiking ×7.5" in page
    assert "60 tickets in the last 24 hours against a usual 8.0" in page
    assert f'hx-get="{reverse("tickets:patterns")}?cluster={spiking.pk}&amp;days=30"' in page

    fragment = client.get(reverse("tickets:patterns"), {"cluster": spiking.pk, "days": 30}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "<html" not in body and "<strong>biometric</strong>" in body and "in this cluster" in body

    over = BugCluster.objects.get(title="Export times out")
    page = client.get(reverse("tickets:cluster_detail", args=[over.pk])).content.decode()
    assert "Over threshold" in page and "Reached 20 tickets within 7 days" in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_panel_loads_its_patterns_and_the_list_filters(page, login, product_lead, clusters):
    from playwright.sync_api import expect

    spiking = clusters[0]
    plant_login_pattern(spiking.ticket_type, cluster=spiking)
    login(product_lead)
    page.goto(f"/clusters/{spiking.pk}/")
    panel = page.locator(f"#cluster-patterns-{spiking.pk}")
    expect(panel.locator("table.patterns")).to_contain_text("biometric")  # loaded by HTMX on open
    expect(panel).to_contain_text("20")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clusters").click()
    page.get_by_label("Alerts").select_option("spiking")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("SSO redirect loop")
    expect(rows.first).to_contain_text("Spiking ×7.5")
