"""The weekly review in a real browser, on the demo's data: the meeting run from the page, without reloads."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone
from playwright.sync_api import expect

from tickets.clusters.services import cluster_create
from tickets.intake.services import ticket_create
from tickets.models import BugCluster, ClusterEvent, ClusterKind, ClusterStatus, Ticket
from triage.accounts.models import Handoff
from triage.review.weeks import ReviewWeek, week_current, week_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LEAD = SimpleNamespace(username="lead")
DEMO_TICKETS = 6000


def seed_last_week(tickets: int = 400) -> ReviewWeek:
    """The demo, ending last Thursday afternoon: its "this week" is last week, complete, and the week after it
    is the current one."""
    end = week_current().previous.start + timedelta(days=3, hours=15)
    call_command("seed_demo", tickets=tickets, until=end.isoformat(), no_progress=True, stdout=StringIO())
    return week_of(end)


def busiest(week: ReviewWeek) -> list[BugCluster]:
    """The week's five busiest bug clusters, counted from the tickets themselves (not the page's rollup)."""
    in_week = Q(tickets__reported_at__gte=week.start, tickets__reported_at__lt=week.end)
    return list(
        BugCluster.objects.filter(kind=ClusterKind.BUG)
        .exclude(status=ClusterStatus.MERGED)
        .annotate(n=Count("tickets", filter=in_week))
        .filter(n__gt=0)
        .order_by("-n", "pk")[:5]
    )


def most_asked(week: ReviewWeek) -> BugCluster:
    """The week's most-asked feature request, counted from the tickets themselves."""
    in_week = Q(tickets__reported_at__gte=week.start, tickets__reported_at__lt=week.end)
    return (
        BugCluster.objects.filter(kind=ClusterKind.FEATURE_REQUEST)
        .exclude(status=ClusterStatus.MERGED)
        .annotate(n=Count("tickets", filter=in_week))
        .filter(n__gt=0)
        .order_by("-n", "pk")
        .first()
    )


def flagged_this_week(week: ReviewWeek) -> list[Handoff]:
    """The at-risk handoffs raised in the week, the biggest accounts first."""
    return list(
        Handoff.objects.filter(kind="at_risk", created_at__gte=week.start, created_at__lt=week.end)
        .select_related("customer")
        .order_by("-customer__mrr", "-score", "-id")
    )


def open_panel(cell, name: str):
    cell.locator("summary", has_text=name).click()
    return cell.locator("details.action", has=cell.page.locator("summary", has_text=name)).locator(".slot")


def test_a_lead_runs_the_meeting_top_clusters_priority_merge_and_a_refusal(page, login, artifact_path):
    week = seed_last_week(tickets=DEMO_TICKETS)  # the demo's size: a week of feature requests and at-risk alerts
    top = busiest(week)
    first = top[0]
    twin_ticket = Ticket.objects.filter(cluster=first).order_by("-reported_at").first()
    twin = cluster_create(title=twin_ticket.subject, kind=ClusterKind.BUG, ticket_type=first.ticket_type)
    ticket_create(
        subject=twin_ticket.subject,
        description=twin_ticket.description,
        ticket_type=twin_ticket.ticket_type,
        evidence=twin_ticket.evidence,
        cluster=twin,
        reported_at=timezone.now() - timedelta(days=9),
    )

    login(LEAD, password="demo-password")
    expect(page).to_have_url(f"{page.url.split('/review/')[0]}/review/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Week {week_current().number}")
    page.goto(f"/review/{week.key}/")
    rows = page.locator('[data-section="top"] > li h3')
    expect(rows).to_have_count(len(top))
    assert rows.all_inner_texts() == [f"#{c.pk} {c.title}" for c in top]
    asked = most_asked(week)
    assert asked is not None
    requests = page.locator('[data-section="requests"] tbody tr')
    expect(requests.first).to_contain_text(f"#{asked.pk} {asked.title}")
    expect(requests.first.locator('[data-field="decision"]')).not_to_be_empty()
    flagged = page.locator('[data-section="accounts"] tbody tr')
    expect(flagged.first).to_be_visible()
    biggest = flagged_this_week(week)[0]
    expect(flagged.first.get_by_role("rowheader")).to_have_text(biggest.customer.name)
    expect(page.locator('[data-field="at-risk-total"]')).to_contain_text(f"{len(flagged_this_week(week))} accounts")
    page.evaluate("window.reviewMarker = 'no reload'")

    cell = page.locator(f"#cell-top-{first.pk}")
    new_priority = "P1" if first.priority != "P1" else "P3"
    form = open_panel(cell, "Triage")
    form.locator(f"#f-top-{first.pk}-priority").select_option(new_priority)
    form.get_by_role("button", name="Save").click()
    cell = page.locator(f"#cell-top-{first.pk}")
    expect(cell.locator('[data-field="priority"]')).to_have_text(new_priority)
    expect(cell.locator('[data-field="latest"]')).to_contain_text(f"→ {new_priority}")
    expect(cell.get_by_role("status")).to_contain_text("saved priority")

    slot = open_panel(cell, "Merge a duplicate")
    slot.get_by_role("button", name=f"Merge #{twin.pk} into this").click()
    cell = page.locator(f"#cell-top-{first.pk}")
    expect(cell.get_by_role("status")).to_contain_text(f"Merged #{twin.pk} into #{first.pk}")
    expect(cell.locator('[data-field="latest"]')).to_contain_text(f"Merged #{twin.pk} into #{first.pk} by Lena Fischer")
    assert page.evaluate("window.reviewMarker") == "no reload"

    fixed = page.locator('[data-section="fixes"] > li').first
    fixed_pk = int(fixed.get_attribute("data-cluster"))
    fix_cell = page.locator(f"#cell-fixes-{fixed_pk}")
    status_before = fix_cell.locator('[data-field="status"]').inner_text()
    form = open_panel(fix_cell, "Triage")
    form.locator(f"#f-fixes-{fixed_pk}-status").select_option("verified")
    form.get_by_role("button", name="Save").click()
    fix_cell = page.locator(f"#cell-fixes-{fixed_pk}")
    expect(fix_cell.get_by_role("alert")).to_contain_text("Not saved: Support must confirm")
    expect(fix_cell.locator('[data-field="status"]')).to_have_text(status_before)
    expect(fix_cell.locator(f"#f-fixes-{fixed_pk}-status")).to_have_value("verified")  # what was chosen stays
    assert BugCluster.objects.get(pk=fixed_pk).status != ClusterStatus.VERIFIED
    page.screenshot(path=artifact_path("weekly-review.png"), full_page=True)

    page.goto(f"/clusters/{first.pk}/")
    story = page.locator(".timeline")
    expect(story).to_contain_text(f"Merged #{twin.pk} into #{first.pk}")
    kinds = set(ClusterEvent.objects.filter(cluster=first, actor__username="lead").values_list("kind", flat=True))
    assert {ClusterEvent.Kind.PRIORITY_CHANGED, ClusterEvent.Kind.CORRECTION} <= kinds


def test_an_action_item_carries_over_to_next_week_and_the_markdown_report_downloads(page, login, artifact_path):
    week = seed_last_week()
    login(LEAD, password="demo-password")
    page.goto(f"/review/{week.key}/")

    record = page.locator("#meeting")
    record.get_by_label("What").fill("Ask Globex for a HAR file of the slow export")
    record.get_by_label("Owner").select_option(label="Chloe Dubois")
    record.get_by_label("Due").fill((week.monday + timedelta(days=4)).isoformat())
    record.get_by_role("button", name="Record").click()
    expect(page.locator("#actions")).to_contain_text("Ask Globex for a HAR file of the slow export")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download Markdown").click()
    path = download.value.path()
    assert download.value.suggested_filename == f"voice-of-customer-{week.key}.md"
    text = Path(path).read_text(encoding="utf-8")
    assert text.startswith(f"# Voice of Customer — week {week.key}")
    assert "## Top themes" in text and busiest(week)[0].title in text
    assert "Ask Globex for a HAR file of the slow export — Chloe Dubois" in text

    page.locator('a[rel="next"]').click()
    expect(page).to_have_url(f"{page.url.split('/review/')[0]}/review/{week.next.key}/")
    last_week = page.locator("#last-week")
    item = last_week.locator("li", has_text="Ask Globex for a HAR file")
    expect(item.locator('[data-field="done"]')).to_have_text("Not done")
    item.get_by_role("button", name="Carry over to this week").click()
    expect(page.locator("#actions")).to_contain_text("Ask Globex for a HAR file of the slow export")
    expect(page.locator("#actions")).to_contain_text("carried over from")
    expect(page.locator("#last-week").locator("li", has_text="Ask Globex")).to_contain_text(
        f"Carried to {week.next.key}"
    )
    page.screenshot(path=artifact_path("weekly-review-next-week.png"), full_page=True)
