"""My reports and the cluster page: what product said reaches the agent, and who may change what."""

import pytest
from django.urls import reverse

from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.clusters.services import cluster_respond, cluster_set_priority, cluster_set_status
from tickets.models import ClusterEvent, ClusterStatus

pytestmark = pytest.mark.django_db

MY_REPORTS = reverse("tickets:my_reports")


def test_my_reports_lists_my_tickets_with_cluster_facts_and_responses_newest_first(client, agent, product_lead):
    cluster = ClusterFactory(title="Login loop on Safari", workaround="Clear cookies", owner=product_lead)
    TicketFactory(agent=agent, cluster=cluster, subject="Signed out every minute")
    TicketFactory(subject="Someone else's ticket")
    cluster_set_priority(cluster=cluster, priority="P1", actor=product_lead)
    cluster_respond(cluster=cluster, actor=product_lead, message="Reproduced on Safari 17")
    cluster_respond(cluster=cluster, actor=product_lead, message="Fix is in review")
    client.force_login(agent)
    html = client.get(MY_REPORTS).content.decode()
    assert "Signed out every minute" in html and "Someone else" not in html
    assert "Clear cookies" in html and "Lee Lead" in html and "P1 - blocks revenue" in html
    assert html.index("Fix is in review") < html.index("Reproduced on Safari 17")


def test_a_question_from_product_is_highlighted_and_answered_on_the_page(client, agent, product_lead):
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    TicketFactory(agent=agent, cluster=cluster)
    cluster_respond(cluster=cluster, actor=product_lead, message="Which plan is the customer on?", question=True)
    client.force_login(agent)
    html = client.get(MY_REPORTS).content.decode()
    assert "Product is waiting for your answer on 1 bug" in html and "highlight" in html
    assert "Which plan is the customer on?" in html and "Send answer to product" in html

    response = client.post(
        reverse("tickets:cluster_answer", args=[cluster.pk]), {"message": "Business plan", "next": MY_REPORTS}
    )
    assert response.status_code == 302 and response["Location"] == MY_REPORTS
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.IN_PROGRESS
    assert cluster.events.filter(kind=ClusterEvent.Kind.ANSWER, actor=agent, message="Business plan").exists()


def test_an_empty_answer_is_refused_and_an_answer_without_question_changes_nothing(client, agent, product_lead):
    cluster = ClusterFactory(status=ClusterStatus.NEEDS_INFO)
    client.force_login(agent)
    response = client.post(reverse("tickets:cluster_answer", args=[cluster.pk]), {"message": "  "})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    cluster_set_status(cluster=cluster, status=ClusterStatus.IN_PROGRESS, actor=product_lead)
    response = client.post(reverse("tickets:cluster_answer", args=[cluster.pk]), {"message": "late"}, follow=True)
    assert "no open question on this bug any more" in response.content.decode()
    assert not cluster.events.filter(kind=ClusterEvent.Kind.ANSWER).exists()


def test_next_cannot_send_the_agent_to_another_site(client, agent):
    cluster = ClusterFactory(status=ClusterStatus.NEEDS_INFO)
    client.force_login(agent)
    response = client.post(
        reverse("tickets:cluster_answer", args=[cluster.pk]), {"message": "ok", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("tickets:cluster_detail", args=[cluster.pk])


def test_agents_cannot_change_priority_or_status(client, agent):
    cluster = ClusterFactory(status=ClusterStatus.NEW)
    client.force_login(agent)
    html = client.get(reverse("tickets:cluster_detail", args=[cluster.pk])).content.decode()
    assert "Save triage" not in html
    response = client.post(
        reverse("tickets:cluster_triage", args=[cluster.pk]), {"triage-status": "wont_fix", "triage-priority": "P3"}
    )
    assert response.status_code == 403
    response = client.post(
        reverse("tickets:cluster_respond", args=[cluster.pk]), {"respond-message": "x", "respond-question": "on"}
    )
    assert response.status_code == 403
    cluster.refresh_from_db()
    assert (cluster.status, cluster.priority) == (ClusterStatus.NEW, "")


def test_a_product_lead_triages_on_the_cluster_page(client, product_lead):
    cluster = ClusterFactory(status=ClusterStatus.NEW)
    client.force_login(product_lead)
    assert "Save triage" in client.get(reverse("tickets:cluster_detail", args=[cluster.pk])).content.decode()
    response = client.post(
        reverse("tickets:cluster_triage", args=[cluster.pk]),
        {
            "triage-status": "in_progress",
            "triage-priority": "P2",
            "triage-owner": product_lead.pk,
            "triage-message": "Looking into it",
        },
    )
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert (cluster.status, cluster.priority, cluster.owner) == ("in_progress", "P2", product_lead)
    response = client.post(reverse("tickets:cluster_triage", args=[cluster.pk]), {"triage-status": "bogus"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_cluster_page_tells_the_whole_story_with_its_tickets(client, agent, product_lead):
    cluster = ClusterFactory(title="PayPal 4001", summary="PayPal declines business accounts")
    TicketFactory(cluster=cluster, subject="First customer", agent=agent)
    TicketFactory(cluster=cluster, subject="Second customer", evidence={"frequency": "always", "extra": "x"})
    cluster_set_status(cluster=cluster, status=ClusterStatus.IN_PROGRESS, actor=product_lead, message="On it")
    client.force_login(agent)
    html = client.get(reverse("tickets:cluster_detail", args=[cluster.pk])).content.decode()
    assert "PayPal declines business accounts" in html and "On it" in html
    assert "First customer" in html and "Second customer" in html and "Tickets (2)" in html
    assert "<dt>Frequency</dt><dd>Always</dd>" in html and "<dt>extra</dt><dd>x</dd>" in html


def test_outsider_sees_neither_cluster_nor_reports(client, outsider):
    cluster = ClusterFactory()
    client.force_login(outsider)
    assert client.get(reverse("tickets:cluster_detail", args=[cluster.pk])).status_code == 403
    assert client.get(MY_REPORTS).status_code == 403


def test_my_reports_is_a_bounded_number_of_queries(client, agent, product_lead, django_assert_max_num_queries):
    for n in range(6):
        cluster = ClusterFactory(owner=product_lead)
        for _ in range(2):
            TicketFactory(agent=agent, cluster=cluster)
        cluster_respond(cluster=cluster, actor=product_lead, message=f"update {n}", question=n % 2 == 0)
    client.force_login(agent)
    with django_assert_max_num_queries(12):
        response = client.get(MY_REPORTS)
    assert response.content.decode().count("report-row") >= 12


def test_cluster_page_is_a_bounded_number_of_queries(client, agent, product_lead, django_assert_max_num_queries):
    cluster = ClusterFactory()
    for _ in range(8):
        TicketFactory(agent=agent, cluster=cluster)
    for n in range(5):
        cluster_respond(cluster=cluster, actor=product_lead, message=f"update {n}")
    client.force_login(product_lead)
    with django_assert_max_num_queries(23):  # 17 for the page, 6 for the possible duplicates
        assert client.get(reverse("tickets:cluster_detail", args=[cluster.pk])).status_code == 200
