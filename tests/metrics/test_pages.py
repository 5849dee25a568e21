"""The fixes overview, a fix's impact page (mark fixed, verify), the success metrics page, the panel tag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from metrics.impact import Verdict
from metrics.models import FixImpact
from metrics.services.rollup import local_day
from tests.metrics.factories import at, history
from tests.metrics.test_fixes import fixed_cluster
from tests.tickets.factories import ClusterFactory
from tickets.models import ClusterStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def measured(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return fixed_cluster(days_ago=40, per_day=15, effect=0.05)


def test_fix_page_shows_the_verdict_the_plot_and_the_figures(client, agent, measured):
    client.force_login(agent)
    response = client.get(reverse("metrics:fix_impact", args=[measured.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Verdict:" in html and "verdict-complete" in html
    assert "<svg" in html and 'class="deploy"' in html and 'class="band"' in html and "fix deployed" in html
    plot, legend = html.split('class="plot-legend"', 1)
    assert plot.count('class="bar after"') == 30 and 'class="bar after"' in legend
    assert "Baseline weekday profile" in html and "95% interval" in html
    assert "Verify the fix" in html  # agents confirm fixes
    assert reverse("metrics:fix_mark_fixed", args=[measured.pk]) not in html  # only product leads


def test_lead_marks_a_cluster_fixed_with_a_past_deploy_time(client, product_lead):
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    deploy_day = local_day(timezone.now()) - timedelta(days=35)
    history(cluster, deploy_day=deploy_day, per_day=12, effect=0.5, days_after=34)
    client.force_login(product_lead)
    response = client.post(
        reverse("metrics:fix_mark_fixed", args=[cluster.pk]),
        {"deployed_at": f"{deploy_day:%Y-%m-%d}T14:30", "message": "release 4.2"},
        follow=True,
    )
    assert response.status_code == 200
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.FIXED and local_day(cluster.fix_deployed_at) == deploy_day
    assert FixImpact.objects.get(cluster=cluster).verdict == Verdict.PARTIAL
    assert "Marked fixed. Verdict so far: partial" in response.content.decode()


def test_bad_deploy_time_is_refused_and_the_input_kept(client, product_lead):
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    client.force_login(product_lead)
    url = reverse("metrics:fix_mark_fixed", args=[cluster.pk])
    response = client.post(url, {"deployed_at": "last tuesday", "message": "hotfix 7"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the deploy date and time" in html and 'value="last tuesday"' in html and "hotfix 7" in html
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"deployed_at": future})
    assert response.status_code == 400 and "cannot be in the future" in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.IN_PROGRESS


def test_agent_cannot_mark_fixed_and_outsider_sees_nothing(client, agent, outsider, measured):
    client.force_login(agent)
    assert client.post(reverse("metrics:fix_mark_fixed", args=[measured.pk]), {}).status_code == 403
    client.force_login(outsider)
    assert client.get(reverse("metrics:fix_impact", args=[measured.pk])).status_code == 403
    assert client.get(reverse("metrics:fix_list")).status_code == 403


def test_verify_refusal_is_shown_with_the_measured_reduction(client, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = fixed_cluster(days_ago=40, per_day=20, effect=1.0, seed=3)
    client.force_login(agent)
    url = reverse("metrics:fix_verify", args=[cluster.pk])
    response = client.post(url, {"support_confirmation": "on"})
    assert response.status_code == 400
    html = response.content.decode()
    reduction = FixImpact.objects.get(cluster=cluster).reduction_pct
    assert f"Measured reduction is {reduction:.0f}%" in html and "at least 50% is required" in html
    assert 'name="support_confirmation"' in html and "checked" in html  # the tick is kept


def test_verify_moves_a_confirmed_fix_to_verified(client, agent, measured):
    client.force_login(agent)
    url = reverse("metrics:fix_verify", args=[measured.pk])
    response = client.post(url, {"support_confirmation": "on"}, follow=True)
    assert "Fix verified" in response.content.decode()
    measured.refresh_from_db()
    assert measured.status == ClusterStatus.VERIFIED


def test_fix_list_shows_every_fix_with_pinned_queries(client, product_lead, django_capture_on_commit_callbacks,
                                                      django_assert_max_num_queries):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        clusters = [
            fixed_cluster(days_ago=40, per_day=10, effect=effect, seed=seed, control_per_day=5)
            for seed, effect in enumerate((0.02, 0.2, 0.5, 1.0))
        ]
    client.force_login(product_lead)
    # session, user, permissions (2), catch-up check (3), count, tally, the page of fixes: no query per row
    with django_assert_max_num_queries(11):
        response = client.get(reverse("metrics:fix_list"))
    html = response.content.decode()
    for verdict in ("verdict-complete", "verdict-effective", "verdict-partial", "verdict-no_change"):
        assert verdict in html
    response = client.get(reverse("metrics:fix_list"), {"verdict": "complete"})
    links = [reverse("metrics:fix_impact", args=[c.pk]) in response.content.decode() for c in clusters]
    assert links == [True, False, False, False]
    assert "1 fix<" in response.content.decode()
    response = client.get(reverse("metrics:fix_list"), {"verdict": "great"})
    assert "Select a valid choice" in response.content.decode()


def test_success_page_shows_figures_with_definitions(client, product_lead, measured):
    client.force_login(product_lead)
    response = client.get(reverse("metrics:success"))
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("Fix success rate", "Time to fix, P1", "Time to acknowledge", "Reproduction rate",
                 "Repetitive-ticket reduction", "Feedback share of tickets", "Product response rate to feedback",
                 "Time to acknowledge feedback"):  # fmt: skip
        assert name in html
    assert "5-10%" in html and "80%+" in html and "under 5 days" in html
    assert "100%" in html  # the one measured fix was a success


def test_panel_tag_renders_the_verdict_for_the_cluster_page(rf, agent, measured, django_assert_max_num_queries):
    request = rf.get("/")
    request.user = agent
    with django_assert_max_num_queries(1):
        html = Template("{% load metrics_tags %}{% fix_impact_panel cluster %}").render(
            Context({"cluster": measured, "request": request})
        )
    assert "Fix impact" in html and "verdict-complete" in html and "<svg" in html
    empty = Template("{% load metrics_tags %}{% fix_impact_panel cluster %}").render(
        Context({"cluster": ClusterFactory()})
    )
    assert "No fix deployed yet" in empty


def test_nav_links_to_fixes_and_success_metrics(client, agent):
    client.force_login(agent)
    html = client.get(reverse("home")).content.decode()
    assert reverse("metrics:fix_list") in html and reverse("metrics:success") in html


def test_a_fix_recorded_without_the_service_is_measured_by_beat_not_by_the_page(client, product_lead):
    from metrics.tasks import fix_impacts_daily_task

    cluster = ClusterFactory(status=ClusterStatus.FIXED)
    deploy_day = local_day(timezone.now()) - timedelta(days=31)
    history(cluster, deploy_day=deploy_day, per_day=8, effect=2.5, days_after=30)
    type(cluster).objects.filter(pk=cluster.pk).update(fix_deployed_at=at(deploy_day))
    client.force_login(product_lead)
    html = client.get(reverse("metrics:fix_impact", args=[cluster.pk])).content.decode()
    assert not FixImpact.objects.filter(cluster=cluster).exists()  # a GET never measures (nor writes)
    assert "verdict-worse" not in html
    fix_impacts_daily_task()  # the hourly beat task
    html = client.get(reverse("metrics:fix_impact", args=[cluster.pk])).content.decode()
    assert "verdict-worse" in html
    assert FixImpact.objects.get(cluster=cluster).verdict == Verdict.WORSE
    response = client.post(reverse("metrics:fix_recompute", args=[cluster.pk]), follow=True)
    assert "Measured again with the latest tickets" in response.content.decode()
