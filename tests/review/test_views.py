"""The review page: who sees it, what it says, weeks that do not exist, row actions in place, the query count."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from slas.selectors import working_times_forget
from tests.review.helpers import full_week
from tests.tickets.factories import ClusterFactory
from tickets.models import BugCluster, ClusterEvent, ClusterStatus
from triage.review.models import MeetingItem

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
WEEK = "2026-W11"


def action_url(cluster, action, week=WEEK):
    return reverse("review:cluster_action", args=[week, cluster.pk, action])


def test_product_leads_and_admins_land_on_this_week_others_keep_their_home(client, product_lead, admin_user, agent):
    for user in (product_lead, admin_user):
        client.force_login(user)
        assert client.get("/").headers["Location"] == "/review/"
    client.force_login(agent)
    response = client.get("/")
    assert response.status_code == 200 and "Your recent reports" in response.content.decode()


def test_the_page_shows_every_section_of_the_week_in_at_most_25_queries(
    client, product_lead, review_now, django_assert_max_num_queries
):
    data = full_week(product_lead)
    client.force_login(product_lead)
    working_times_forget()  # the worst case: SLA calendars not read yet in this process
    # Eight sections: 25 queries now, 23 once the calendars are cached; a new section must find its own room.
    with django_assert_max_num_queries(25), CaptureQueriesContext(connection) as queries:
        response = client.get("/review/")
    page = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Week 11, 2026",
        "Busy bug 0",  # top clusters
        "Brand new bug",  # new bugs
        "Fixed but not working",  # did the fixes work
        "The fix did not work",
        'class="fix-plot"',  # its daily tickets around the deploy
        "iOS 17.2 + biometric",  # patterns
        "Breaches that happened this week",
        "Call Globex",  # last week's action items
        "Ship behind a flag",
        "Feedback share",
        "Dark mode",  # feature requests trending
        "Planned for 2027-Q1",
        "Our night shift needs it.",
        "Acme Retail",  # at-risk accounts
        "Churn or cancellation language: in 1 ticket",
    ):
        assert text in page, text
    assert 'action="' + action_url(data["fixed"], "reopen") + '"' in page
    writes = [q["sql"] for q in queries.captured_queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"])]
    assert writes == []  # a GET never writes


def test_weeks_without_requests_or_flagged_accounts_say_so(client, product_lead, review_now):
    client.force_login(product_lead)
    page = client.get("/review/2026-W09/").content.decode()
    assert "No feature request was asked for this week." in page
    assert "No account was flagged at risk this week." in page


def test_agents_and_customer_success_read_it_without_actions_and_others_are_refused(
    client, agent, csm, outsider, product_lead, review_now
):
    full_week(product_lead)
    for user in (agent, csm):
        client.force_login(user)
        page = client.get("/review/").content.decode()
        assert "Busy bug 0" in page
        assert page.count('method="post"') == 1  # signing out; no triage, meeting or report form
        assert "hx-post" not in page and "Merge a duplicate" not in page
        cluster = BugCluster.objects.get(title="Busy bug 0")
        assert client.post(action_url(cluster, "triage"), {"priority": "P1"}).status_code == 403
    client.force_login(outsider)
    assert client.get("/review/").status_code == 403
    assert client.get(reverse("review:report_md", args=[WEEK])).status_code == 403
    client.logout()
    assert client.get("/review/").headers["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/review/last-week/", "write it as YEAR-Wweek"),
        ("/review/2025-W53/", "2025 has no week 53"),
        ("/review/?week=2026-13", "write it as YEAR-Wweek"),
        ("/review/2026-W99/report.md", "has no week 99"),
    ],
)
def test_an_unknown_week_is_404_with_a_link_to_this_week(client, product_lead, review_now, path, says):
    client.force_login(product_lead)
    response = client.get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert says in page and 'href="/review/"' in page and "2026-W11" in page


def test_the_week_picker_goes_to_the_week_and_a_future_week_has_nothing_yet(client, product_lead, review_now):
    client.force_login(product_lead)
    assert client.get("/review/?week=2026-W10").headers["Location"] == "/review/2026-W10/"
    assert client.get("/review/2026-w10/").headers["Location"] == "/review/2026-W10/"
    response = client.get("/review/2026-W12/")
    assert response.status_code == 200
    assert "Nothing yet" in response.content.decode() and "starts on Monday 16 March 2026" in response.content.decode()
    assert client.get(reverse("review:report_md", args=["2026-W12"])).status_code == 404


def test_a_priority_change_answers_with_the_row_and_its_story(client, product_lead, review_now):
    cluster = ClusterFactory(title="Checkout fails", priority="P3")
    client.force_login(product_lead)
    response = client.post(
        action_url(cluster, "triage"),
        {"section": "top", "priority": "P1", "initial-priority": "P3", "status": "new", "initial-status": "new"},
        **HTMX,
    )
    assert response.status_code == 200
    cell = response.content.decode()
    assert cell.lstrip().startswith(f'<div class="cell" id="cell-top-{cluster.pk}"')
    assert "Priority P3 → P1" in cell and "saved priority" in cell
    cluster.refresh_from_db()
    assert cluster.priority == "P1"
    event = ClusterEvent.objects.get(cluster=cluster, kind=ClusterEvent.Kind.PRIORITY_CHANGED)
    assert (event.actor, event.data) == (product_lead, {"from": "P3", "to": "P1"})


def test_a_refused_action_shows_in_the_row_keeps_what_was_typed_and_changes_nothing(client, product_lead, review_now):
    cluster = ClusterFactory(title="Fixed, unconfirmed", status=ClusterStatus.FIXED, priority="P2")
    client.force_login(product_lead)
    posted = {
        "section": "fixes",
        "priority": "P1",
        "initial-priority": "P2",
        "status": "verified",
        "initial-status": "fixed",
        "workaround": "Retry the payment.",
        "initial-workaround": "",
    }
    response = client.post(action_url(cluster, "triage"), posted, **HTMX)
    assert response.status_code == 422
    cell = response.content.decode()
    assert "Not saved: Support must confirm" in cell
    assert '<option value="P1" selected>' in cell and "Retry the payment.</textarea>" in cell
    assert 'aria-invalid="true"' in cell
    cluster.refresh_from_db()
    assert (cluster.priority, cluster.status, cluster.workaround) == ("P2", ClusterStatus.FIXED, "")
    # Without JavaScript: the whole page again, with the refusal in that row.
    response = client.post(action_url(cluster, "triage"), posted)
    assert response.status_code == 400
    assert f'Not saved on <a href="#row-fixes-{cluster.pk}">#{cluster.pk}</a>: Support must confirm' in (
        response.content.decode()
    )


def test_without_javascript_an_action_redirects_back_to_its_row(client, product_lead, review_now):
    cluster = ClusterFactory()
    client.force_login(product_lead)
    response = client.post(action_url(cluster, "acknowledge"), {"section": "new", "priority": "P2"})
    assert response.headers["Location"] == f"/review/{WEEK}/#row-new-{cluster.pk}"
    cluster.refresh_from_db()
    assert (cluster.status, cluster.priority) == (ClusterStatus.ACKNOWLEDGED, "P2")


def test_bad_input_in_an_action_names_the_field(client, product_lead, review_now):
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    client.force_login(product_lead)
    response = client.post(action_url(cluster, "fixed"), {"section": "top", "deployed_at": "yesterday"}, **HTMX)
    assert response.status_code == 422 and "Write the deploy time as YYYY-MM-DDTHH:MM" in response.content.decode()
    assert 'value="yesterday"' in response.content.decode()
    response = client.post(action_url(cluster, "ask"), {"section": "top", "question": " "}, **HTMX)
    assert response.status_code == 422 and "Write the question for support" in response.content.decode()
    assert client.post(action_url(cluster, "explode"), {}).status_code == 404
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.IN_PROGRESS


def test_forms_load_on_demand_and_merge_answers_in_place(client, product_lead, review_now):
    keep, dup = ClusterFactory(title="Checkout fails"), ClusterFactory(title="Payment spinner")
    client.force_login(product_lead)
    form = client.get(reverse("review:cluster_form", args=[WEEK, keep.pk, "triage"]) + "?section=top")
    assert form.status_code == 200 and 'name="initial-status" value="new"' in form.content.decode()
    merge = client.get(reverse("review:cluster_form", args=[WEEK, keep.pk, "merge"]))
    assert "No cluster looks like the same bug" in merge.content.decode()
    response = client.post(action_url(keep, "merge"), {"section": "top", "duplicate": dup.pk}, **HTMX)
    assert response.status_code == 200 and f"Merged #{dup.pk} into #{keep.pk}" in response.content.decode()
    dup.refresh_from_db()
    assert dup.merged_into == keep


def test_the_meeting_record_is_kept_and_last_week_items_carry_over(client, product_lead, review_now):
    client.force_login(product_lead)
    url = reverse("review:item_create", args=["2026-W10"])
    response = client.post(url, {"kind": "action", "text": "Call Globex", "owner": product_lead.pk}, **HTMX)
    assert response.status_code == 200 and 'hx-swap-oob="true"' in response.content.decode()
    item = MeetingItem.objects.get(text="Call Globex")
    assert item.week.isoformat() == "2026-03-02" and item.owner == product_lead
    this_week = client.get("/review/").content.decode()
    assert "Last week's action items" in this_week and "Call Globex" in this_week
    response = client.post(reverse("review:item_change", args=[WEEK, item.pk, "carry"]), **HTMX)
    assert response.status_code == 200
    carried = MeetingItem.objects.get(carried_from=item)
    assert carried.week.isoformat() == "2026-03-09"
    response = client.post(url, {"kind": "action", "text": "", "cluster": "99999"}, **HTMX)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Write what was decided" in page and "There is no cluster #99999" in page and 'value="99999"' in page


def test_reports_download_and_send(client, product_lead, review_now, mailoutbox, django_capture_on_commit_callbacks):
    full_week(product_lead)
    client.force_login(product_lead)
    md = client.get(reverse("review:report_md", args=[WEEK]))
    assert md.headers["Content-Disposition"] == 'attachment; filename="voice-of-customer-2026-W11.md"'
    body = md.content.decode()
    assert body.startswith("# Voice of Customer — week 2026-W11") and "Busy bug 0" in body
    assert "| Busy bug 0 | 10 | 1 |" in body and "“It breaks every time I try.” — Globex, SMB" in body
    assert (
        "## Feature requests trending" in body
        and "| Dark mode | 2 | +1 (+100%) | 1 | 9,000 | Planned for 2027-Q1 |" in body
    )
    assert "- Dark mode: “Our night shift needs it.” — Globex, SMB" in body
    assert "## At-risk accounts" in body and "1 accounts flagged at risk this week (last week 0)." in body
    assert "| Acme Retail | SMB | 4,200 | Lee Lead | Churn or cancellation language: in 1 ticket | 1 | Open |" in body
    csv = client.get(reverse("review:report_csv", args=[WEEK])).content.decode()
    assert "Top themes" in csv and "Busy bug 0" in csv
    assert "Dark mode,2,1,1,1,9000.00,Planned for 2027-Q1,Our night shift needs it." in csv
    assert "Acme Retail,SMB,4200.00,Lee Lead,Churn or cancellation language: in 1 ticket,1,Open" in csv
    printed = client.get(reverse("review:report_print", args=[WEEK])).content.decode()
    assert "Print or save as PDF" in printed and "Dark mode" in printed and "Acme Retail" in printed
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("review:report_send", args=[WEEK]), {"recipients": "a@example.com, b@example.com"}, **HTMX
        )
    assert response.status_code == 200 and "on its way to a@example.com, b@example.com" in response.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["a@example.com", "b@example.com"]
    assert "## Feature requests trending" in mailoutbox[0].body and "Acme Retail" in mailoutbox[0].body
    assert [name for name, _, _ in mailoutbox[0].attachments] == [
        "voice-of-customer-2026-W11.md",
        "voice-of-customer-2026-W11.csv",
    ]
    response = client.post(reverse("review:report_send", args=[WEEK]), {"recipients": "lead@, b@example.com"}, **HTMX)
    assert response.status_code == 422 and "Not an email address: lead@" in response.content.decode()


def test_the_rest_of_the_weeks_fixes_load_when_asked(client, product_lead, agent, review_now, monkeypatch):
    monkeypatch.setattr("triage.review.selectors.fixes.FULL_ROWS", 0)
    full_week(product_lead)
    client.force_login(agent)
    page = client.get("/review/").content.decode()
    assert "1 more fix changed verdict this week" in page and 'id="row-fixes-' not in page
    more = client.get(reverse("review:fixes_more", args=[WEEK])).content.decode()
    assert "Fixed but not working" in more and "No change" in more


def test_the_review_counts_and_shows_times_in_the_organisations_zone_whatever_the_browsers(
    client, product_lead, review_now
):
    full_week(product_lead)
    client.force_login(product_lead)
    client.cookies["tz"] = "Asia/Tokyo"  # 14 hours ahead of New York: Thursday already there
    page = client.get("/review/").content.decode()
    assert "America/New_York" in page and "This week so far (3 of 7 days)" in page
    assert "Mon 9 Mar 10:00" in page  # the breach, in New York time
