"""Product leads keep a cluster's descriptive fields up to date; agents read the result in the story."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets import signals
from tickets.clusters.details import cluster_update_details
from tickets.clusters.services import cluster_respond
from tickets.models import ClusterEvent, ClusterStatus

pytestmark = pytest.mark.django_db


def _errors(**changes):
    cluster = ClusterFactory(title="Checkout fails")
    with pytest.raises(ValidationError) as exc:
        cluster_update_details(cluster=cluster, actor=None, **changes)
    cluster.refresh_from_db()
    assert cluster.title == "Checkout fails" and not cluster.events.exists()  # nothing stored
    return exc.value.message_dict


def test_refused_values_name_their_field_and_what_is_allowed():
    assert _errors(title="  ") == {"title": ["A title is required: one line saying what the bug is."]}
    assert _errors(title="x" * 256) == {"title": ["The title must be at most 255 characters (got 256)."]}
    assert "full http(s) address" in _errors(engineering_url="ftp://example.com/issue/1")["engineering_url"][0]
    assert "(got 'JIRA-42')" in _errors(engineering_url="JIRA-42")["engineering_url"][0]
    assert _errors(fix_eta="12/03/2027") == {
        "fix_eta": ["The fix ETA must be a date written YYYY-MM-DD, e.g. 2027-03-12 (got '12/03/2027')."]
    }
    yesterday = timezone.localdate() - timedelta(days=1)
    assert _errors(fix_eta=yesterday)["fix_eta"][0].startswith("The fix ETA cannot be in the past (today is ")
    assert _errors(reproduced="yes") == {"reproduced": ["Reproduced must be true or false."]}
    assert "cannot be changed here" in _errors(status="fixed")["status"][0]
    both = _errors(title="", engineering_url="nope", summary="fine")
    assert set(both) == {"title", "engineering_url"}


def test_any_http_or_https_issue_link_is_accepted_and_a_past_eta_already_set_is_kept(product_lead):
    past = timezone.localdate() - timedelta(days=3)
    cluster = ClusterFactory(fix_eta=past)
    cluster = cluster_update_details(
        cluster=cluster, actor=product_lead, engineering_url="http://tracker.internal:8080/browse/PAY-7", fix_eta=past
    )
    cluster.refresh_from_db()
    assert cluster.engineering_url == "http://tracker.internal:8080/browse/PAY-7" and cluster.fix_eta == past


def test_changes_are_saved_logged_for_agents_and_count_as_a_product_update(
    product_lead, django_capture_on_commit_callbacks
):
    cluster = ClusterFactory(title="PayPal 4001", summary="Old summary")
    received = []
    receiver = lambda **kw: received.append((kw["cluster"].pk, kw["actor"]))  # noqa: E731
    signals.cluster_updated.connect(receiver, weak=False)
    eta = timezone.localdate() + timedelta(days=10)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            cluster_update_details(
                cluster=cluster,
                actor=product_lead,
                title="PayPal declines business accounts",
                summary="Old summary",  # unchanged: not listed
                root_cause="Token scope missing",
                workaround="Pay by card until the fix ships.",
                fix_eta=eta.isoformat(),
                engineering_url="https://github.com/acme/shop/issues/42",
                reproduced=True,
            )
    finally:
        signals.cluster_updated.disconnect(receiver)
    cluster.refresh_from_db()
    assert cluster.title == "PayPal declines business accounts" and cluster.root_cause == "Token scope missing"
    assert cluster.fix_eta == eta and cluster.reproduced_at is not None
    assert cluster.acknowledged_at is not None and cluster.last_product_update_at is not None
    assert received == [(cluster.pk, product_lead)]

    workaround, details = cluster.events.order_by("-id")[:2]
    assert (workaround.kind, workaround.message) == (ClusterEvent.Kind.WORKAROUND, "Pay by card until the fix ships.")
    assert details.kind == ClusterEvent.Kind.RESPONSE and details.actor == product_lead
    assert details.data["details"] == ["title", "root_cause", "fix_eta", "engineering_url", "reproduced"]
    assert details.data["to"]["fix_eta"] == eta.isoformat()
    assert details.message.splitlines() == [
        "Title: PayPal declines business accounts",
        "Suspected root cause added.",
        f"Fix ETA: {eta.day} {eta:%b %Y}.",
        "Engineering issue: https://github.com/acme/shop/issues/42",
        "Product reproduced the bug.",
    ]


def test_nothing_changed_writes_nothing_and_clearing_is_logged(product_lead):
    reproduced_at = timezone.now() - timedelta(days=2)
    cluster = ClusterFactory(title="T", workaround="Clear cookies", reproduced_at=reproduced_at)
    cluster_update_details(cluster=cluster, actor=product_lead, title="T", reproduced=True, workaround="Clear cookies")
    cluster.refresh_from_db()
    assert cluster.reproduced_at == reproduced_at and cluster.last_product_update_at is None
    assert not cluster.events.exists()

    cluster_update_details(cluster=cluster, actor=product_lead, workaround="", reproduced=False, fix_eta=None)
    cluster.refresh_from_db()
    assert cluster.workaround == "" and cluster.reproduced_at is None
    event = cluster.events.get()
    assert event.kind == ClusterEvent.Kind.RESPONSE
    assert event.message == "Workaround removed.\nNo longer marked as reproduced."


DETAIL_FIELDS = ("title", "summary", "root_cause", "workaround", "fix_eta", "engineering_url", "reproduced")


def _post_data(cluster, **edits):
    """The form as the page shows it (hidden initials included), with `edits` typed over it."""
    shown = {
        "title": cluster.title,
        "summary": cluster.summary,
        "root_cause": cluster.root_cause,
        "workaround": cluster.workaround,
        "fix_eta": cluster.fix_eta.isoformat() if cluster.fix_eta else "",
        "engineering_url": cluster.engineering_url,
    }
    data = {f"initial-details-{k}": v for k, v in shown.items()}
    data["initial-details-reproduced"] = str(cluster.reproduced_at is not None)
    typed = {**shown, **edits}
    data.update({f"details-{k}": v for k, v in typed.items() if k != "reproduced" or v})
    return data


def test_agents_cannot_edit_details(client, agent):
    cluster = ClusterFactory(title="Login loop")
    client.force_login(agent)
    assert "Edit details" not in client.get(reverse("tickets:cluster_detail", args=[cluster.pk])).content.decode()
    response = client.post(reverse("tickets:cluster_edit_details", args=[cluster.pk]), _post_data(cluster, title="x"))
    assert response.status_code == 403
    cluster.refresh_from_db()
    assert cluster.title == "Login loop" and not cluster.events.exists()


def test_a_lead_edits_details_and_the_agent_sees_them_in_my_reports(client, product_lead, agent):
    cluster = ClusterFactory(title="Login loop", status=ClusterStatus.IN_PROGRESS)
    TicketFactory(agent=agent, cluster=cluster)
    url = reverse("tickets:cluster_edit_details", args=[cluster.pk])
    client.force_login(product_lead)
    assert "Save details" in client.get(reverse("tickets:cluster_detail", args=[cluster.pk])).content.decode()
    eta = timezone.localdate() + timedelta(days=7)
    response = client.post(url, _post_data(cluster, workaround="Use Chrome", fix_eta=eta.isoformat(), reproduced="on"))
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert (cluster.workaround, cluster.fix_eta, cluster.title) == ("Use Chrome", eta, "Login loop")
    assert cluster.reproduced_at is not None

    client.force_login(agent)
    html = client.get(reverse("tickets:my_reports")).content.decode()
    assert "Use Chrome" in html and "Details updated" in html and "Product reproduced the bug." in html


def test_errors_show_next_to_their_field_and_keep_what_was_typed(client, product_lead):
    cluster = ClusterFactory(title="Login loop")
    client.force_login(product_lead)
    response = client.post(
        reverse("tickets:cluster_edit_details", args=[cluster.pk]),
        _post_data(cluster, title="", summary="Safari 17 only", engineering_url="JIRA-42", fix_eta="soon"),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "A title is required" in html and 'id="id_details-title_error"' in html
    assert "full http(s) address" in html and 'value="JIRA-42"' in html
    assert "YYYY-MM-DD" in html and 'value="soon"' in html
    assert "Safari 17 only</textarea>" in html and "<details" in html and " open>" in html
    cluster.refresh_from_db()
    assert cluster.title == "Login loop" and cluster.summary == ""


def test_only_what_the_lead_changed_is_saved(client, product_lead):
    """A second lead's edit made while this form was open survives this lead's save of another field."""
    cluster = ClusterFactory(title="Login loop", summary="Shown summary")
    data = _post_data(cluster, root_cause="Cookie SameSite")
    cluster_update_details(cluster=cluster, actor=None, summary="Someone else's better summary")
    client.force_login(product_lead)
    assert client.post(reverse("tickets:cluster_edit_details", args=[cluster.pk]), data).status_code == 302
    cluster.refresh_from_db()
    assert (cluster.summary, cluster.root_cause) == ("Someone else's better summary", "Cookie SameSite")


def test_cluster_page_with_edited_details_is_a_bounded_number_of_queries(
    client, agent, product_lead, django_assert_max_num_queries
):
    cluster = ClusterFactory()
    for _ in range(8):
        TicketFactory(agent=agent, cluster=cluster)
    for n in range(5):
        cluster_update_details(
            cluster=cluster, actor=product_lead, workaround=f"workaround {n}", fix_eta=date.today() + timedelta(days=n)
        )
        cluster_respond(cluster=cluster, actor=product_lead, message=f"update {n}")
    client.force_login(product_lead)
    # 17 for the page, 6 for the possible duplicates (profile, splits, term statistics, postings, candidates,
    # the best clusters)
    with django_assert_max_num_queries(23):
        html = client.get(reverse("tickets:cluster_detail", args=[cluster.pk])).content.decode()
    assert "Save details" in html and "workaround 4" in html
