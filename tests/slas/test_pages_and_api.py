"""What people see: the overview and compliance pages, the template tags, and the SLA API."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse

from slas.models import SlaPolicy, SlaTimer
from slas.services import clock_sync
from tests.slas.factories import PolicyFactory
from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.clusters import services as tickets_services

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def open_clusters(n, **fields):
    clusters = ClusterFactory.create_batch(n, **fields)
    for c in clusters:
        clock_sync(cluster_id=c.pk)
    return clusters


@pytest.mark.django_db
def test_badge_and_panel_show_time_left_and_breach_in_business_time(product_lead):
    PolicyFactory(name="Fast lane", ack_minutes=240)
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = ClusterFactory(title="Sync stuck")
        clock_sync(cluster_id=cluster.pk)
    template = Template("{% load sla_tags %}{% sla_badge cluster %}|{% sla_panel cluster %}")
    with time_machine.travel(MONDAY_10 + timedelta(hours=1), tick=False):
        html = template.render(Context({"cluster": cluster}))
    assert "Acknowledgment: 3 h left" in html
    assert "Fast lane" in html
    with time_machine.travel(MONDAY_10 + timedelta(hours=6, minutes=30), tick=False):
        html = template.render(Context({"cluster": ClusterFactory._meta.model.objects.get(pk=cluster.pk)}))
    assert "Acknowledgment breached by 2 h 30 min" in html


@pytest.mark.django_db
def test_prefetch_makes_a_list_cost_a_fixed_number_of_queries(django_assert_max_num_queries):
    tickets = [TicketFactory(cluster=c) for c in open_clusters(15, priority="P2")]
    template = Template(
        '{% load sla_tags %}{% sla_prefetch tickets attr="cluster" %}'
        "{% for t in tickets %}<li>{% sla_badge t.cluster %}</li>{% endfor %}"
    )
    from tickets.models import Ticket

    tickets = list(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).select_related("cluster"))
    with django_assert_max_num_queries(3):
        html = template.render(Context({"tickets": tickets}))
    assert html.count("Acknowledgment:") == 15


@pytest.mark.django_db
def test_overview_lists_breached_first_and_filters(client, product_lead, django_assert_max_num_queries):
    PolicyFactory(ack_minutes=60)
    with time_machine.travel(MONDAY_10, tick=False):
        late = ClusterFactory(title="Late one")
        clock_sync(cluster_id=late.pk)
    open_clusters(20, priority="P3")
    client.force_login(product_lead)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("slas:overview"))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Late one") < body.index("Bug ")
    assert "Breached " in body and " ago</strong>" in body
    # One definition of "due within 24 h": the header counts exactly the rows marked so.
    due_soon = int(body.split("</strong> due within 24 h")[0].rsplit("<strong>", 1)[1])
    assert body.count('badge sla-warning">within 24 h') == due_soon
    response = client.get(reverse("slas:overview"), {"urgency": "breached"})
    assert "Late one" in response.content.decode() and "P3" not in response.content.decode().split("<tbody>")[1]
    response = client.get(reverse("slas:overview"), {"urgency": "soon-ish"})
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_pages_need_sign_in_and_permission(client, outsider):
    assert client.get(reverse("slas:overview")).status_code == 302
    client.force_login(outsider)
    assert client.get(reverse("slas:compliance")).status_code == 403


@pytest.mark.django_db
def test_compliance_page_and_api_give_the_same_weekly_figures(client, agent, product_lead):
    now = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)  # Thursday
    PolicyFactory(ack_minutes=120, resolution_minutes=24 * 60, priorities=["P1"])
    for hours_to_ack in (1, 1.5, 3):  # two within 2 h, one late
        with time_machine.travel(datetime(2026, 3, 9, 9, 0, tzinfo=UTC), tick=False):
            cluster = tickets_services.cluster_create(title="x", priority="P1")
            clock_sync(cluster_id=cluster.pk)
        with time_machine.travel(datetime(2026, 3, 9, 9, 0, tzinfo=UTC) + timedelta(hours=hours_to_ack), tick=False):
            tickets_services.cluster_acknowledge(cluster=cluster, actor=product_lead)
            clock_sync(cluster_id=cluster.pk)
    client.force_login(agent)
    with time_machine.travel(now, tick=False):
        api = client.get("/api/v1/sla-compliance/", {"weeks": 2}).json()
        page = client.get(reverse("slas:compliance"), {"weeks": 2}).content.decode()
    week = api["weeks"][-1]
    assert week["week_start"] == "2026-03-09"
    assert week["acknowledged_within"] == 2 and week["acknowledged_late"] == 1
    assert week["share_acknowledged_within"] == pytest.approx(0.6667, abs=1e-4)
    assert week["median_hours_to_acknowledge"] == 1.5
    assert week["p90_hours_to_acknowledge"] == 2.7
    assert week["resolution_by_priority"]["P1"]["pending"] == 0
    assert week["resolution_by_priority"]["P1"]["missed"] == 3  # 24 h passed with no fix
    assert "2 of 3" in page and "67%" in page
    bad = client.get("/api/v1/sla-compliance/", {"weeks": 0})
    assert bad.status_code == 400 and "weeks" in bad.json()["fields"]


@pytest.mark.django_db
def test_policies_are_editable_through_the_api_with_clear_errors(client, admin_user, agent):
    client.force_login(agent)
    assert client.get("/api/v1/sla-policies/").status_code == 200
    assert client.post("/api/v1/sla-policies/", {"name": "x", "ack_minutes": 5}).status_code == 403
    client.force_login(admin_user)
    bad = client.post(
        "/api/v1/sla-policies/",
        {"name": "Enterprise", "priorities": ["P9"], "min_segment": "galactic"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    errors = bad.json()["fields"]
    assert errors["priorities.0"] == ['"P9" is not a valid choice.'] and "min_segment" in errors
    good = client.post(
        "/api/v1/sla-policies/",
        {
            "name": "Enterprise",
            "position": 5,
            "priorities": ["P2"],
            "min_segment": "enterprise",
            "ack_minutes": 120,
            "ticket_types": ["feature_bug"],
            "webhook_url": "https://hooks.example.com/sla",
            "webhook_secret": "k",
        },
        content_type="application/json",
    )
    assert good.status_code == 201, good.json()
    assert "webhook_secret" not in good.json()
    policy = SlaPolicy.objects.get(name="Enterprise")
    assert [t.key for t in policy.ticket_types.all()] == ["feature_bug"]
    no_target = client.patch(
        f"/api/v1/sla-policies/{policy.pk}/", {"ack_minutes": None}, content_type="application/json"
    )
    assert no_target.status_code == 400 and "ack_minutes" in no_target.json()["fields"]
    calendar = client.post(
        "/api/v1/sla-calendars/",
        {"name": "Berlin", "time_zone": "Europe/Berlinn", "holidays": []},
        content_type="application/json",
    )
    assert calendar.status_code == 400 and "Europe/Berlinn" in str(calendar.json()["fields"]["time_zone"])


@pytest.mark.django_db
def test_clocks_and_alerts_api(client, agent):
    PolicyFactory(ack_minutes=60)
    with time_machine.travel(MONDAY_10, tick=False):
        cluster = ClusterFactory()
        clock_sync(cluster_id=cluster.pk)
    client.force_login(agent)
    with time_machine.travel(MONDAY_10 + timedelta(hours=2), tick=False):
        data = client.get("/api/v1/sla-clocks/", {"urgency": "breached"}).json()
    assert data["count"] == 1
    assert [row["cluster"] for row in data["results"]] == [cluster.pk]
    assert data["results"][0]["remaining_seconds"] == -3600
    assert SlaTimer.objects.filter(cluster=cluster).count() == 3
    assert client.get("/api/v1/sla-alerts/", {"cluster": cluster.pk}).status_code == 200


@pytest.mark.django_db
def test_admin_edits_a_policy_and_open_clusters_follow(client, admin_user, django_capture_on_commit_callbacks):
    policy = SlaPolicy.objects.get(name="P1 - blocks revenue")
    cluster = ClusterFactory(priority="P1")
    clock_sync(cluster_id=cluster.pk)
    client.force_login(admin_user)
    url = reverse("admin:slas_slapolicy_change", args=[policy.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Escalation after a breach" in page.content.decode()
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "ticket_types"}
    data.update(priorities=["P1"], ack_minutes=30, calendar=policy.calendar_id)
    for prefix in ("name", "description"):
        data.setdefault(prefix, getattr(policy, prefix))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert SlaTimer.objects.get(cluster=cluster, target="ack").target_seconds == 30 * 60
    assert client.get(reverse("admin:slas_businesscalendar_changelist")).status_code == 200
    assert client.get(reverse("admin:slas_alert_changelist")).status_code == 200
    assert client.get(reverse("admin:slas_slatimer_changelist")).status_code == 200
