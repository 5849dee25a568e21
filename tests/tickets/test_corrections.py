"""People's corrections of the clustering: merge, split, move, and an exact undo of each."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets import signals
from tickets.clusters.corrections import cluster_merge, cluster_split, correction_undo, ticket_move
from tickets.clusters.services import cluster_refresh_counters
from tickets.models import (
    AssignmentSource,
    BugCluster,
    ClusterCorrection,
    ClusterEvent,
    ClusterKind,
    ClusterStatus,
    Ticket,
)

pytestmark = pytest.mark.django_db

ASSIGNMENT = ("cluster_id", "assignment_source", "assignment_confidence", "assignment_reasons", "cluster_assigned_at")


def _engine_tickets(cluster, n, start=0):
    """Tickets as the engine left them: each with its own confidence, reasons and assignment time."""
    base = timezone.now() - timedelta(days=3)
    tickets = [
        TicketFactory(
            cluster=cluster,
            reported_at=base + timedelta(minutes=start + i),
            assignment_source=AssignmentSource.ENGINE,
            assignment_confidence=0.6 + i / 100,
            assignment_reasons=[f"same error code 40{i}"],
            cluster_assigned_at=base + timedelta(minutes=start + i, seconds=5),
        )
        for i in range(n)
    ]
    cluster_refresh_counters(cluster=cluster)
    return tickets


def _assignments(tickets):
    return {t["id"]: t for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values("id", *ASSIGNMENT)}


@pytest.fixture
def received():
    got = []

    def status(sender, cluster, old_status, new_status, **kw):
        got.append(("status", cluster.pk, old_status, new_status))

    def updated(sender, cluster, **kw):
        got.append(("updated", cluster.pk))

    signals.cluster_status_changed.connect(status, dispatch_uid="test-corrections-status")
    signals.cluster_updated.connect(updated, dispatch_uid="test-corrections-updated")
    yield got
    signals.cluster_status_changed.disconnect(dispatch_uid="test-corrections-status")
    signals.cluster_updated.disconnect(dispatch_uid="test-corrections-updated")


def test_merge_moves_every_ticket_and_undo_restores_them_exactly(
    product_lead, received, django_capture_on_commit_callbacks
):
    changed_at = timezone.now() - timedelta(days=2)
    source = ClusterFactory(title="Checkout 4001", status=ClusterStatus.IN_PROGRESS, status_changed_at=changed_at)
    into = ClusterFactory(title="Card declined 4001", status=ClusterStatus.ACKNOWLEDGED)
    moved = _engine_tickets(source, 4)
    stays = _engine_tickets(into, 2, start=10)
    before = _assignments(moved + stays)

    with django_capture_on_commit_callbacks(execute=True):
        correction = cluster_merge(source=source, into=into, actor=product_lead, reason="Same decline code")

    source.refresh_from_db()
    into.refresh_from_db()
    assert source.status == ClusterStatus.MERGED and source.merged_into_id == into.pk
    assert (source.ticket_count, into.ticket_count) == (0, 6)
    after = _assignments(moved)
    assert {a["cluster_id"] for a in after.values()} == {into.pk}
    assert {a["assignment_source"] for a in after.values()} == {AssignmentSource.PERSON}
    assert all(Ticket.objects.get(pk=t.pk).assignment_is_locked for t in moved)
    assert ("status", source.pk, ClusterStatus.IN_PROGRESS, ClusterStatus.MERGED) in received
    assert ("updated", into.pk) in received
    story = into.events.get(kind=ClusterEvent.Kind.CORRECTION).message
    assert story.startswith(f"Merged #{source.pk} into #{into.pk} by Lee Lead: 4 tickets moved")
    assert "Reason: Same decline code" in story
    assert correction.actor == product_lead and correction.action == ClusterCorrection.Action.MERGE

    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        correction_undo(correction=correction, actor=product_lead)

    assert _assignments(moved + stays) == before
    source.refresh_from_db()
    into.refresh_from_db()
    assert (source.status, source.merged_into_id, source.status_changed_at) == (
        ClusterStatus.IN_PROGRESS,
        None,
        changed_at,
    )
    assert (source.ticket_count, into.ticket_count) == (4, 2)
    assert ("status", source.pk, ClusterStatus.MERGED, ClusterStatus.IN_PROGRESS) in received
    correction.refresh_from_db()
    assert correction.undone_by == product_lead and correction.undone_at is not None
    assert source.events.filter(kind=ClusterEvent.Kind.CORRECTION, message__startswith="Undid: Merged").exists()

    with pytest.raises(ValidationError, match="already undone"):
        correction_undo(correction=correction, actor=product_lead)


def test_merge_refusals_say_what_is_wrong(product_lead):
    cluster = ClusterFactory()
    _engine_tickets(cluster, 1)
    with pytest.raises(ValidationError, match="cannot be merged into itself") as exc:
        cluster_merge(source=cluster, into=cluster, actor=product_lead)
    assert "into" in exc.value.message_dict
    merged = ClusterFactory(status=ClusterStatus.MERGED, merged_into=ClusterFactory())
    with pytest.raises(ValidationError, match=f"merged into #{merged.merged_into_id}; merge into that one"):
        cluster_merge(source=cluster, into=merged, actor=product_lead)
    with pytest.raises(ValidationError, match="is verified"):
        cluster_merge(source=cluster, into=ClusterFactory(status=ClusterStatus.VERIFIED), actor=product_lead)
    with pytest.raises(ValidationError, match="only clusters of the same kind"):
        cluster_merge(source=cluster, into=ClusterFactory(kind=ClusterKind.FEATURE_REQUEST), actor=product_lead)
    assert not ClusterCorrection.objects.exists()
    assert Ticket.objects.get().cluster_id == cluster.pk


def test_split_makes_a_new_cluster_and_undo_deletes_it(product_lead, agent):
    cluster = ClusterFactory(title="Login problems", kind=ClusterKind.BUG)
    tickets = _engine_tickets(cluster, 5)
    chosen = tickets[1:3]
    before = _assignments(tickets)

    correction = cluster_split(cluster=cluster, ticket_ids=[t.pk for t in chosen], actor=product_lead)

    new = correction.target_cluster
    assert new.title == chosen[0].subject  # the earliest reported of the moved tickets
    assert (new.kind, new.ticket_type_id) == (cluster.kind, cluster.ticket_type_id)
    assert set(new.tickets.values_list("pk", flat=True)) == {t.pk for t in chosen}
    assert set(new.tickets.values_list("assignment_source", flat=True)) == {AssignmentSource.PERSON}
    new.refresh_from_db()
    cluster.refresh_from_db()
    assert (cluster.ticket_count, new.ticket_count) == (3, 2)
    assert "Split 2 tickets off" in new.events.get(kind=ClusterEvent.Kind.CORRECTION).message
    from tickets.clustering.assignment import ticket_assign

    for ticket in chosen:  # the engine runs again over the split tickets: they stay apart
        ticket_assign(ticket_id=ticket.pk)
    assert set(new.tickets.values_list("pk", flat=True)) == {t.pk for t in chosen}

    correction_undo(correction=correction, actor=product_lead)

    assert _assignments(tickets) == before
    assert not BugCluster.objects.filter(pk=new.pk).exists()
    cluster.refresh_from_db()
    assert cluster.ticket_count == 5


def test_split_undo_keeps_the_new_cluster_merged_back_when_product_worked_on_it(product_lead):
    from tickets.clusters.services import cluster_respond

    cluster = ClusterFactory()
    tickets = _engine_tickets(cluster, 3)
    correction = cluster_split(cluster=cluster, ticket_ids=[tickets[0].pk], actor=product_lead, title="Safari only")
    new = correction.target_cluster
    assert new.title == "Safari only"
    cluster_respond(cluster=new, actor=product_lead, message="Reproduced on Safari 17")

    correction_undo(correction=correction, actor=product_lead)

    new.refresh_from_db()
    assert new.status == ClusterStatus.MERGED and new.merged_into_id == cluster.pk
    assert Ticket.objects.get(pk=tickets[0].pk).cluster_id == cluster.pk


def test_split_refusals_name_the_tickets(product_lead):
    cluster = ClusterFactory()
    tickets = _engine_tickets(cluster, 2)
    stranger = TicketFactory(cluster=ClusterFactory())
    with pytest.raises(ValidationError, match="Select at least one ticket"):
        cluster_split(cluster=cluster, ticket_ids=[], actor=product_lead)
    with pytest.raises(ValidationError, match=f"Not in cluster #{cluster.pk}: ticket\\(s\\) {stranger.pk}"):
        cluster_split(cluster=cluster, ticket_ids=[tickets[0].pk, stranger.pk], actor=product_lead)
    with pytest.raises(ValidationError, match="Leave at least one ticket") as exc:
        cluster_split(cluster=cluster, ticket_ids=[t.pk for t in tickets], actor=product_lead)
    assert list(exc.value.message_dict) == ["ticket_ids"]
    assert BugCluster.objects.count() == 2


def test_move_locks_the_ticket_against_the_engine(product_lead):
    from tickets.clustering.assignment import ticket_assign

    origin, target = ClusterFactory(), ClusterFactory()
    ticket, other = _engine_tickets(origin, 2)
    before = _assignments([ticket])

    correction = ticket_move(ticket=ticket, into=target, actor=product_lead, reason="Different error")

    ticket.refresh_from_db()
    assert ticket.cluster_id == target.pk and ticket.assignment_source == AssignmentSource.PERSON
    assert ticket.assignment_is_locked
    assert ticket.assignment_reasons == [f"moved from #{origin.pk} by Lee Lead"]
    ticket_assign(ticket_id=ticket.pk)  # the engine runs again: the person's decision stands
    ticket.refresh_from_db()
    assert ticket.cluster_id == target.pk
    with pytest.raises(ValidationError, match="already in cluster"):
        ticket_move(ticket=ticket, into=target, actor=product_lead)

    correction_undo(correction=correction, actor=product_lead)
    assert _assignments([ticket]) == before


def test_undo_order_is_enforced_and_names_the_correction_to_undo_first(product_lead):
    a, b, c = ClusterFactory(), ClusterFactory(), ClusterFactory()
    _engine_tickets(a, 2)
    _engine_tickets(b, 1, start=5)
    first = cluster_merge(source=a, into=b, actor=product_lead)
    second = cluster_merge(source=b, into=c, actor=product_lead)

    with pytest.raises(ValidationError, match=f"Undo correction #{second.pk} first") as exc:
        correction_undo(correction=first, actor=product_lead)
    assert list(exc.value.message_dict) == ["correction"]

    correction_undo(correction=second, actor=product_lead)
    correction_undo(correction=first, actor=product_lead)
    assert Ticket.objects.filter(cluster=a).count() == 2 and Ticket.objects.filter(cluster=b).count() == 1


def test_merge_queries_do_not_grow_with_the_number_of_tickets(product_lead):
    def merge_queries(n):
        source, into = ClusterFactory(), ClusterFactory()
        _engine_tickets(source, n)
        with CaptureQueriesContext(connection) as ctx:
            correction = cluster_merge(source=source, into=into, actor=product_lead)
        with CaptureQueriesContext(connection) as undo_ctx:
            correction_undo(correction=correction, actor=product_lead)
        return len(ctx.captured_queries), len(undo_ctx.captured_queries)

    small, large = merge_queries(3), merge_queries(60)
    assert large == small


# --- The cluster page -------------------------------------------------------------------------


def test_lead_sees_the_correction_forms_and_agents_get_403(client, product_lead, agent):
    cluster = ClusterFactory(title="Checkout 4001")
    into = ClusterFactory(title="Card declined")
    ticket, _ = _engine_tickets(cluster, 2)
    client.force_login(product_lead)
    page = client.get(f"/clusters/{cluster.pk}/").content.decode()
    assert "Merge into…" in page and "Split selected tickets into a new cluster" in page
    assert f'name="ticket_ids" value="{ticket.pk}" form="cluster-split-form"' in page
    assert "Move ticket to…" in page

    client.force_login(agent)
    page = client.get(f"/clusters/{cluster.pk}/").content.decode()
    assert "Merge into…" not in page and "Move ticket to…" not in page
    posts = [
        (f"/clusters/{cluster.pk}/merge/", {"into": into.pk, "confirm": "yes"}),
        (f"/clusters/{cluster.pk}/split/", {"ticket_ids": [ticket.pk]}),
        (f"/tickets/{ticket.pk}/move/", {"into": into.pk}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403
    correction = ticket_move(ticket=ticket, into=into, actor=product_lead)
    assert client.post(f"/corrections/{correction.pk}/undo/").status_code == 403
    assert ClusterCorrection.objects.count() == 1 and correction.__class__.objects.get().undone_at is None


def test_merge_by_title_search_asks_for_confirmation_then_merges(client, product_lead):
    cluster = ClusterFactory(title="Checkout fails with 4001")
    target = ClusterFactory(title="Card declined 4001 at checkout", status=ClusterStatus.ACKNOWLEDGED)
    ClusterFactory(title="Card declined but merged", status=ClusterStatus.MERGED)
    _engine_tickets(cluster, 2)
    client.force_login(product_lead)

    found = client.get(f"/clusters/{cluster.pk}/merge/", {"into": "card declined", "reason": "dupe"})
    assert found.status_code == 200
    assert f"Choose #{target.pk}" in found.content.decode() and "but merged" not in found.content.decode()
    confirm = client.get(f"/clusters/{cluster.pk}/merge/", {"into": str(target.pk), "reason": "dupe"})
    assert f"Merge #{cluster.pk} into #{target.pk}?" in confirm.content.decode()
    assert not ClusterCorrection.objects.exists()  # nothing happens before the confirmation

    done = client.post(
        f"/clusters/{cluster.pk}/merge/", {"into": target.pk, "confirm": "yes", "reason": "dupe"}, follow=True
    )
    assert done.redirect_chain[-1][0] == f"/clusters/{target.pk}/"
    assert f"Merged #{cluster.pk} into #{target.pk} by Lee Lead: 2 tickets moved" in done.content.decode()
    merged_page = client.get(f"/clusters/{cluster.pk}/").content.decode()
    link = f'<a href="/clusters/{target.pk}/">#{target.pk} Card declined 4001 at checkout</a>'
    assert f"Merged into {link}" in merged_page


def test_refused_merge_and_split_keep_what_was_typed(client, product_lead):
    cluster = ClusterFactory()
    tickets = _engine_tickets(cluster, 2)
    client.force_login(product_lead)

    itself = client.get(f"/clusters/{cluster.pk}/merge/", {"into": f"#{cluster.pk}", "reason": "my words"})
    assert itself.status_code == 400
    assert "cannot be merged into itself" in itself.content.decode() and "my words" in itself.content.decode()
    unknown = client.get(f"/clusters/{cluster.pk}/merge/", {"into": "999999"})
    assert "There is no cluster #999999." in unknown.content.decode()

    split = client.post(
        f"/clusters/{cluster.pk}/split/", {"ticket_ids": [t.pk for t in tickets], "title": "Safari 17 only"}
    )
    body = split.content.decode()
    assert split.status_code == 400 and "Leave at least one ticket" in body
    assert 'value="Safari 17 only"' in body and body.count("checked") == 2
    assert BugCluster.objects.count() == 1


def test_split_and_undo_from_the_page(client, product_lead):
    cluster = ClusterFactory(title="Login problems")
    tickets = _engine_tickets(cluster, 3)
    client.force_login(product_lead)

    done = client.post(
        f"/clusters/{cluster.pk}/split/", {"ticket_ids": [tickets[0].pk], "title": "SSO only"}, follow=True
    )
    new = BugCluster.objects.get(title="SSO only")
    assert done.redirect_chain[-1][0] == f"/clusters/{new.pk}/"
    history = client.get(f"/clusters/{cluster.pk}/corrections/").content.decode()
    correction = ClusterCorrection.objects.get()
    assert f"/corrections/{correction.pk}/undo/" in history and "Lee Lead" in history

    undone = client.post(f"/corrections/{correction.pk}/undo/", follow=True)
    assert undone.redirect_chain[-1][0] == f"/clusters/{cluster.pk}/"
    assert "Undone: Split 1 ticket off" in undone.content.decode()
    assert not BugCluster.objects.filter(pk=new.pk).exists()
    history = client.get(f"/clusters/{cluster.pk}/corrections/").content.decode()
    assert "Undone by Lee Lead" in history and f"/corrections/{correction.pk}/undo/" not in history


def test_move_from_the_page_returns_to_the_cluster(client, product_lead):
    cluster, target = ClusterFactory(), ClusterFactory()
    ticket, _ = _engine_tickets(cluster, 2)
    client.force_login(product_lead)
    bad = client.post(f"/tickets/{ticket.pk}/move/", {"into": "abc", "reason": "keep me"})
    assert bad.status_code == 400 and "digits only" in bad.content.decode() and "keep me" in bad.content.decode()
    done = client.post(f"/tickets/{ticket.pk}/move/", {"into": target.pk, "next": f"/clusters/{cluster.pk}/"})
    assert done.status_code == 302 and done.url == f"/clusters/{cluster.pk}/"
    ticket.refresh_from_db()
    assert ticket.cluster_id == target.pk and ticket.assignment_source == AssignmentSource.PERSON


def test_pages_keep_a_bounded_number_of_queries(client, product_lead, django_assert_max_num_queries):
    cluster, target = ClusterFactory(), ClusterFactory()
    tickets = _engine_tickets(cluster, 12)
    for ticket in tickets[:6]:
        ticket_move(ticket=ticket, into=target, actor=product_lead)
    client.force_login(product_lead)
    client.get(f"/clusters/{cluster.pk}/")  # warm the session and permission caches
    with django_assert_max_num_queries(8):
        history = client.get(f"/clusters/{cluster.pk}/corrections/", HTTP_HX_REQUEST="true")
    assert history.content.decode().count('<li id="correction-') == 6
    with django_assert_max_num_queries(24):
        assert client.get(f"/clusters/{cluster.pk}/").status_code == 200
