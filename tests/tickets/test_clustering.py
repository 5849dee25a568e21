"""The clustering engine: similar tickets land together with reasons, unrelated ones do not, people win."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from tests.processes import json_printed_by
from tests.tickets.factories import ClusterFactory, TicketFactory
from tickets.clustering import features as feats
from tickets.clustering.assignment import ticket_assign, tickets_assign_pending
from tickets.clusters.services import cluster_set_status
from tickets.intake.services import ticket_create
from tickets.models import (
    AssignmentSource,
    BugCluster,
    ClusterKind,
    ClusterStatus,
    ClusterTerm,
    FeedbackKind,
    Ticket,
    TicketType,
)

pytestmark = pytest.mark.django_db

CHECKOUT_4001 = [
    ("Checkout error 4001 with PayPal", "Customer sees error 4001 when paying."),
    ("Can't pay - error code 4001", "PayPal window closes and the page shows code 4001."),
    ("Payment fails at checkout (4001)", "Tried twice, error 4001 both times."),
    ("URGENT: checkout broken, error 4001", "Whole team cannot pay their invoice, error 4001."),
    ("Error 4001 on payment page", "After choosing PayPal the payment step fails with 4001."),
]


def file(subject, description="", *, type_key="payment_failure", evidence=None, kind=FeedbackKind.BUG_REPORT):
    ticket = TicketFactory(
        subject=subject,
        description=description,
        ticket_type=TicketType.objects.get(key=type_key) if type_key else None,
        evidence=evidence or {},
        feedback_kind=kind,
    )
    result = ticket_assign(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    return ticket, result


def test_five_tickets_with_error_4001_land_in_one_cluster_with_reasons():
    tickets = [file(s, d, evidence={"error_code": "4001", "payment_method": "paypal"})[0] for s, d in CHECKOUT_4001]
    assert len({t.cluster_id for t in tickets}) == 1
    cluster = BugCluster.objects.get()
    assert cluster.ticket_count == 5 and cluster.title == CHECKOUT_4001[0][0]
    joined = tickets[-1]
    assert joined.assignment_source == AssignmentSource.ENGINE
    assert 0.5 <= joined.assignment_confidence <= 1
    assert "same error code 4001" in joined.assignment_reasons
    assert any(r.startswith("text similar") for r in joined.assignment_reasons)
    assert any("payment method paypal" in r for r in joined.assignment_reasons)


def test_unrelated_tickets_open_their_own_clusters():
    a, _ = file("Checkout error 4001 with PayPal", evidence={"error_code": "4001"})
    b, _ = file("Okta SSO sign-in loops back to the login page", type_key="login_issue")
    c, result = file("Dashboard takes 20 seconds to load", type_key="performance_issue")
    assert len({a.cluster_id, b.cluster_id, c.cluster_id}) == 3
    assert result.created and c.assignment_reasons[0].startswith("opened a new cluster")


def test_a_different_error_code_keeps_tickets_apart():
    a, _ = file("Card payment fails at checkout", evidence={"error_code": "4001"})
    for _ in range(2):
        file("Card payment fails at checkout", evidence={"error_code": "4001"})
    b, _ = file("Card payment fails at checkout", evidence={"error_code": "5003"})
    assert a.cluster_id != b.cluster_id


def test_fingerprints_are_read_from_messages_stack_traces_and_urls():
    prints = feats.fingerprints(
        "Request to https://app.example.com/api/orders/84412/pay?x=1 failed: HTTP 502 Bad Gateway\n"
        "java.lang.NullPointerException\n\tat com.acme.billing.Invoice.render(Invoice.java:42)\n"
        "\tat java.base/java.lang.Thread.run(Thread.java:833)",
        {"error_message": "Token 9f8e7d6c5b4a3f2e expired for user 123 at 2026-11-20"},
    )
    assert prints["http:502"] == "same HTTP status 502"
    assert prints["exc:nullpointerexception"] == "same exception NullPointerException"
    assert prints["frame:com.acme.billing.invoice.render"] == "same top stack frame Invoice.render"
    assert "url:/api/orders/:id/pay" in prints
    message = next(v for k, v in prints.items() if k.startswith("msg:"))
    assert message == 'same error message "token <hex> expired for user <n> at <n>-<n>-<n>"'
    # The same message with other ids gives the same fingerprint.
    again = feats.fingerprints("", {"error_message": "Token 0a1b2c3d4e5f6a7b expired for user 9 at 2025-01-02"})
    assert set(again) & {k for k in prints if k.startswith("msg:")}


def test_feature_requests_cluster_apart_from_bugs_with_the_same_words():
    bug, _ = file("Export to Excel loses formatting", type_key="feature_bug")
    request, _ = file("Export to Excel loses formatting", type_key="feature_request", kind=FeedbackKind.FEATURE_REQUEST)
    assert bug.cluster_id != request.cluster_id
    assert request.cluster.kind == ClusterKind.FEATURE_REQUEST
    again, _ = file("Excel export loses the formatting", type_key="feature_request", kind=FeedbackKind.FEATURE_REQUEST)
    assert again.cluster_id == request.cluster_id


def test_running_the_assignment_twice_changes_nothing():
    ticket = TicketFactory(subject="Checkout error 4001", evidence={"error_code": "4001"})
    first = ticket_assign(ticket_id=ticket.pk)
    second = ticket_assign(ticket_id=ticket.pk)
    assert first.cluster is not None and second.cluster is None and second.skipped == "already assigned"
    assert BugCluster.objects.count() == 1 and BugCluster.objects.get().ticket_count == 1


def test_a_ticket_a_person_placed_is_never_moved_by_the_engine():
    file(*CHECKOUT_4001[0], evidence={"error_code": "4001"})
    elsewhere = ClusterFactory(title="Unrelated login bug")
    ticket = TicketFactory(
        subject=CHECKOUT_4001[1][0],
        evidence={"error_code": "4001"},
        cluster=elsewhere,
        assignment_source=AssignmentSource.PERSON,
    )
    result = ticket_assign(ticket_id=ticket.pk)
    call_command("clustering_rebuild", no_progress=True, stdout=io.StringIO())
    ticket.refresh_from_db()
    assert result.skipped == "placed by a person"
    assert ticket.cluster == elsewhere and ticket.assignment_source == AssignmentSource.PERSON
    assert ticket.match_features  # read into its cluster, so that cluster learns its words


def test_filing_enqueues_the_assignment_after_commit(django_capture_on_commit_callbacks):
    payment = TicketType.objects.get(key="payment_failure")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_create(
            subject="Checkout error 4001",
            ticket_type=payment,
            evidence={"payment_method": "paypal", "amount": "EUR 10.00", "error_code": "4001"},
        )
    ticket.refresh_from_db()
    assert ticket.cluster is not None and ticket.assignment_source == AssignmentSource.ENGINE


def test_a_ticket_whose_task_was_lost_is_assigned_by_the_sweep(monkeypatch, django_capture_on_commit_callbacks):
    from tickets import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.clusters_drain_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_create(subject="Okta SSO loop", ticket_type=None)
    ticket.refresh_from_db()
    assert ticket.cluster is None  # kept, waiting
    assert tickets_assign_pending(older_than_seconds=0) == 1
    ticket.refresh_from_db()
    assert ticket.cluster is not None


def test_a_verified_cluster_leaves_retrieval_and_a_reopened_one_comes_back(
    product_lead, django_capture_on_commit_callbacks
):
    ticket, _ = file("Checkout error 4001 with PayPal", evidence={"error_code": "4001"})
    cluster = ticket.cluster
    cluster.status = ClusterStatus.FIXED
    cluster.save(update_fields=["status"])
    assert ClusterTerm.objects.filter(cluster=cluster).exists()  # fixed: later tickets still count against the fix
    from tickets.tasks import cluster_index_rebuild_task

    cluster.status = ClusterStatus.VERIFIED
    cluster.save(update_fields=["status"])
    cluster_index_rebuild_task([cluster.pk])  # what a status change enqueues after its commit
    assert not ClusterTerm.objects.filter(cluster=cluster).exists()
    other, _ = file("Checkout error 4001 with PayPal again", evidence={"error_code": "4001"})
    assert other.cluster_id != cluster.pk
    cluster_set_status(cluster=other.cluster, status=ClusterStatus.ACKNOWLEDGED, actor=product_lead)
    with django_capture_on_commit_callbacks(execute=True):
        cluster_set_status(cluster=cluster, status=ClusterStatus.ACKNOWLEDGED, actor=product_lead)
    assert ClusterTerm.objects.filter(cluster=cluster).exists()


def test_a_better_title_makes_the_cluster_easier_to_find(product_lead, django_capture_on_commit_callbacks):
    from tickets.clustering.selectors import cluster_suggestions
    from tickets.clusters.details import cluster_update_details

    cluster = ClusterFactory(title="Bug 17")
    assert cluster.pk not in {s.cluster.pk for s in cluster_suggestions(subject="Invoice PDF renders blank")}
    with django_capture_on_commit_callbacks(execute=True):  # product's words are indexed right after the commit
        cluster_update_details(cluster=cluster, actor=product_lead, title="Invoice PDF renders blank page")
    found = cluster_suggestions(subject="Invoice PDF renders blank")
    assert found[0].cluster.pk == cluster.pk
    again, _ = file("Invoice PDF renders a blank page")
    assert again.cluster_id == cluster.pk


@pytest.mark.postgres  # the writes are one round trip on PostgreSQL
def test_assignment_costs_a_fixed_number_of_queries(django_assert_max_num_queries):
    for subject, description in CHECKOUT_4001[:3]:
        file(subject, description, evidence={"error_code": "4001"})
    for n in range(20):
        file(f"Unrelated problem number {n} in reports module {n * 7}", type_key="feature_bug")
    ticket = TicketFactory(
        subject=CHECKOUT_4001[3][0], description=CHECKOUT_4001[3][1], evidence={"error_code": "4001"}
    )
    # load, statistics, retrieval, profiles, then lock, claim, counters + profile + postings + statistics
    # (one round trip on PostgreSQL), the story event, the outbox message (+ savepoint and release)
    with django_assert_max_num_queries(14):
        result = ticket_assign(ticket_id=ticket.pk)
    assert result.cluster is not None and not result.created


def test_evaluate_clustering_replays_a_csv_and_prints_its_figures(tmp_path):
    path = tmp_path / "reports.csv"
    rows = ["id,project,group_id,dup_of,title,description,created,product,component"]
    rows += [
        "1,demo,g1,,Checkout error 4001 with PayPal,customer sees error 4001,,Shop,Payments",
        "2,demo,g2,,Okta SSO sign-in loops,redirect loop on login,,Auth,SSO",
        "3,demo,g1,1,Error 4001 at checkout,paypal payment fails with 4001,,Shop,Payments",
        "4,demo,g2,2,SSO login loop with Okta,users bounce between okta and login,,Auth,SSO",
        "5,other,g9,,Unrelated row of another project,nothing,,X,Y",
    ]
    path.write_text("\n".join(rows) + "\n")
    figures = json_printed_by(
        ["manage.py", "evaluate_clustering", str(path), "--project", "demo", "--json"], var_dir=tmp_path / "var"
    )
    assert figures["reports"] == 4
    assert figures["recall_at_1"] == 1.0 and figures["bcubed_f1"] == 1.0
    assert set(figures) >= {"recall_at_5", "recall_at_10", "bcubed_precision", "bcubed_recall", "tickets_per_second"}


def test_evaluate_clustering_names_a_missing_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,title\n1,x\n")
    with pytest.raises(CommandError, match="group_id"):
        call_command("evaluate_clustering", str(path))


def test_the_cluster_page_lists_possible_duplicates_with_reasons(client, agent):
    first = ClusterFactory(title="PayPal checkout fails with error 4001")
    second = ClusterFactory(title="Checkout with PayPal fails, error 4001 shown")
    ClusterFactory(title="Dark mode colours are off")
    client.force_login(agent)
    html = client.get(reverse("tickets:cluster_detail", args=[first.pk])).content.decode()
    section = html[html.index('id="possible-duplicates"') :]
    assert f"#{second.pk} Checkout with PayPal fails" in section
    assert "same error code 4001" in section
    assert "Dark mode" not in section


def test_the_engine_alerts_leads_once_when_a_cluster_reaches_its_threshold(
    product_lead, django_capture_on_commit_callbacks
):
    from django.core import mail

    from slas.models import Alert
    from tickets.tasks import cluster_assign_task

    product_lead.email = "lead@example.com"
    product_lead.save()
    TicketType.objects.filter(key="payment_failure").update(alert_threshold_count=3, alert_threshold_days=7)
    payment = TicketType.objects.get(key="payment_failure")
    evidence = {"payment_method": "paypal", "amount": "EUR 10.00", "error_code": "4001"}
    for subject, _ in CHECKOUT_4001[:3]:
        with django_capture_on_commit_callbacks(execute=True):
            last = ticket_create(subject=subject, ticket_type=payment, evidence=evidence)
    with django_capture_on_commit_callbacks(execute=True):
        cluster_assign_task.delay(last.pk)  # a retried task
    last.refresh_from_db()
    alerts = Alert.objects.filter(cluster=last.cluster, kind="threshold")
    assert last.cluster.ticket_count == 3 and alerts.count() == 1
    assert [m.to for m in mail.outbox if "3 tickets" in m.subject or "threshold" in m.subject.lower()] == [
        ["lead@example.com"]
    ]


def test_after_a_split_the_engine_never_offers_the_halves_as_duplicates(product_lead):
    from tickets.clustering.selectors import cluster_possible_duplicates
    from tickets.clusters.corrections import cluster_split

    tickets = [file(s, d, evidence={"error_code": "4001"})[0] for s, d in CHECKOUT_4001[:4]]
    cluster = tickets[0].cluster
    correction = cluster_split(cluster=cluster, ticket_ids=[t.pk for t in tickets[2:]], actor=product_lead)
    new = BugCluster.objects.get(pk=correction.data["created_cluster_id"])
    assert cluster_possible_duplicates(cluster=cluster) == []
    assert cluster_possible_duplicates(cluster=new) == []
    again, _ = file(*CHECKOUT_4001[4], evidence={"error_code": "4001"})
    assert again.cluster_id in {cluster.pk, new.pk}  # joins one half; nothing merges the halves
    assert BugCluster.objects.filter(pk__in=[cluster.pk, new.pk], status=ClusterStatus.MERGED).count() == 0
    for ticket in tickets[2:]:
        ticket.refresh_from_db()
        assert ticket.cluster_id == new.pk and ticket.assignment_source == AssignmentSource.PERSON


@pytest.mark.django_db(transaction=True)
def test_a_bulk_create_enqueues_one_assignment_task_per_batch_and_every_ticket_is_assigned(monkeypatch):
    from tickets import tasks
    from tickets.intake.ingest import ticket_bulk_upsert

    calls = []
    original = tasks.cluster_assign_many_task.apply_async
    monkeypatch.setattr(
        tasks.cluster_assign_many_task,
        "apply_async",
        lambda args, **options: calls.append(args[0]) or original(args, **options),
    )
    items = [
        {"source": "zendesk", "external_id": f"B-{n}", "subject": f"Checkout error 4001 case {n}"} for n in range(5)
    ]
    ticket_bulk_upsert(items=items)
    assert len(calls) == 1 and len(calls[0]) == 5
    assert not Ticket.objects.filter(cluster__isnull=True).exists()


def test_filings_in_the_same_instant_share_one_drain_task(monkeypatch, django_capture_on_commit_callbacks):
    from celery import current_app

    from tickets import tasks
    from tickets.clustering import services

    enqueued = []
    monkeypatch.setattr(services, "_window_opened_at", [float("-inf")])
    monkeypatch.setattr(tasks.clusters_drain_task, "apply_async", lambda *args, **options: enqueued.append(options))
    eager = current_app.conf.task_always_eager
    # As with a real broker. Django-namespaced settings win over lowercase ones in celery 5.6: set both.
    current_app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = ticket_create(subject="Checkout error 4001 with PayPal")
        with django_capture_on_commit_callbacks(execute=True):
            second = ticket_create(subject="PayPal checkout error 4001 again")
    finally:
        current_app.conf.update(task_always_eager=eager, CELERY_TASK_ALWAYS_EAGER=eager)
    assert enqueued == [{"countdown": services.DRAIN_WINDOW_SECONDS}]  # due after both commits
    assert tasks.clusters_drain_task() == 2
    first.refresh_from_db(), second.refresh_from_db()
    assert first.cluster_id is not None and first.cluster_id == second.cluster_id


# --- batches -----------------------------------------------------------------------


def _waiting(rows, *, evidence=None):
    return [
        TicketFactory(
            subject=subject,
            description=description,
            ticket_type=TicketType.objects.get(key="payment_failure"),
            evidence=evidence or {},
        )
        for subject, description in rows
    ]


def test_a_batch_decides_in_arrival_order_and_later_tickets_join_the_cluster_an_earlier_one_opened():
    from tickets.clustering.assignment import tickets_assign

    unrelated = ("Calendar export shows the wrong week number", "The exported iCal file starts on Sunday.")
    tickets = _waiting([*CHECKOUT_4001, unrelated], evidence={"error_code": "4001"})
    tickets[-1].evidence = {}
    tickets[-1].save()
    results = tickets_assign([t.pk for t in tickets])

    assert [r.ticket_id for r in results] == [t.pk for t in tickets]
    assert [r.created for r in results] == [True, False, False, False, False, True]
    checkout = results[0].cluster
    assert {r.cluster.pk for r in results[:5]} == {checkout.pk} and results[5].cluster.pk != checkout.pk
    checkout.refresh_from_db()
    assert checkout.ticket_count == 5 and checkout.title == CHECKOUT_4001[0][0]
    joined = Ticket.objects.get(pk=tickets[4].pk)
    assert joined.assignment_source == AssignmentSource.ENGINE
    assert "same error code 4001" in joined.assignment_reasons
    # The cluster was indexed with its tickets: the next filing finds it.
    again, result = file("Checkout fails with error 4001 on PayPal", evidence={"error_code": "4001"})
    assert again.cluster_id == checkout.pk and not result.created


def test_a_batch_gives_the_same_clusters_as_one_ticket_at_a_time():
    from tickets.clustering.assignment import tickets_assign

    rows = [
        *CHECKOUT_4001[:3],
        ("Login loop on Safari after SSO", "Safari 17 keeps redirecting back to the login page."),
        ("SSO login redirects forever in Safari", "After SSO the login page reloads again and again."),
        *CHECKOUT_4001[3:],
        ("Invoice PDF shows the wrong VAT rate", "The PDF invoice uses 19% instead of 7%."),
    ]
    one_by_one = [file(s, d)[0] for s, d in rows]
    groups_alone = sorted(
        sorted(i for i, t in enumerate(one_by_one) if t.cluster_id == c) for c in {t.cluster_id for t in one_by_one}
    )
    Ticket.objects.all().delete()
    BugCluster.objects.all().delete()
    call_command("clustering_rebuild", verbosity=0)

    batch = _waiting(rows)
    results = tickets_assign([t.pk for t in batch])
    ids = [r.cluster.pk for r in results]
    groups_batched = sorted(sorted(i for i, c in enumerate(ids) if c == cluster) for cluster in set(ids))
    assert groups_batched == groups_alone
    assert [0, 1, 2, 5, 6] in groups_batched and [3, 4] in groups_batched


def test_a_ticket_a_person_placed_while_its_batch_was_ranked_stays_where_the_person_put_it(monkeypatch):
    from tickets.clustering import assignment, storage

    home = ClusterFactory(title="Where support put it")
    tickets = _waiting(CHECKOUT_4001[:3], evidence={"error_code": "4001"})
    lock = storage.lock_profiles

    def person_moves_first_then_lock(cluster_ids):
        Ticket.objects.filter(pk=tickets[1].pk).update(
            cluster=home, assignment_source=AssignmentSource.PERSON, match_features={"t": {"x": 1.0}}
        )
        return lock(cluster_ids)

    monkeypatch.setattr(storage, "lock_profiles", person_moves_first_then_lock)
    results = assignment.tickets_assign([t.pk for t in tickets])

    assert results[1].cluster is None and results[1].skipped == "already assigned"
    placed = Ticket.objects.get(pk=tickets[1].pk)
    assert placed.cluster_id == home.pk and placed.assignment_source == AssignmentSource.PERSON
    cluster = results[0].cluster
    cluster.refresh_from_db()
    assert results[2].cluster.pk == cluster.pk and cluster.ticket_count == 2


def test_a_ticket_whose_cluster_was_merged_while_its_batch_was_ranked_is_assigned_again(monkeypatch):
    from tickets.clustering import assignment, storage

    first, _ = file(*CHECKOUT_4001[0], evidence={"error_code": "4001"})
    merged = first.cluster
    later = _waiting(CHECKOUT_4001[1:3], evidence={"error_code": "4001"})
    lock = storage.lock_profiles
    calls = []

    def merge_first_then_lock(cluster_ids):
        if not calls:
            BugCluster.objects.filter(pk=merged.pk).update(status=ClusterStatus.MERGED)
            ClusterTerm.objects.filter(cluster=merged).delete()
        calls.append(cluster_ids)
        return lock(cluster_ids)

    monkeypatch.setattr(storage, "lock_profiles", merge_first_then_lock)
    results = assignment.tickets_assign([t.pk for t in later])

    assert calls[0] == [merged.pk]
    assert all(r.cluster is not None and r.cluster.pk != merged.pk for r in results)
    assert Ticket.objects.filter(cluster=merged).count() == 1


def test_a_batch_counts_each_cluster_day_once_and_alerts_a_crossing_once(
    product_lead, django_capture_on_commit_callbacks
):
    from metrics.models import DailyClusterVolume
    from slas.models import Alert
    from tickets.clustering.assignment import tickets_assign

    TicketType.objects.filter(key="payment_failure").update(alert_threshold_count=4, alert_threshold_days=7)
    tickets = _waiting(CHECKOUT_4001, evidence={"error_code": "4001"})
    with django_capture_on_commit_callbacks(execute=True):
        results = tickets_assign([t.pk for t in tickets])

    cluster = results[0].cluster
    assert sum(DailyClusterVolume.objects.filter(cluster=cluster).values_list("count", flat=True)) == 5
    assert Alert.objects.filter(cluster=cluster, kind="threshold").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        tickets_assign([t.pk for t in tickets])  # run again: nothing changes
    assert sum(DailyClusterVolume.objects.filter(cluster=cluster).values_list("count", flat=True)) == 5
    assert Alert.objects.filter(cluster=cluster, kind="threshold").count() == 1


@pytest.mark.postgres
def test_a_batch_costs_the_same_number_of_queries_whatever_its_size():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.clustering.assignment import tickets_assign

    for subject, description in CHECKOUT_4001[:2]:
        file(subject, description, evidence={"error_code": "4001"})

    def cost(n):
        rows = [(f"{CHECKOUT_4001[i % 5][0]} #{n}-{i}", CHECKOUT_4001[i % 5][1]) for i in range(n)]
        batch = _waiting(rows, evidence={"error_code": "4001"})
        with CaptureQueriesContext(connection) as captured:
            results = tickets_assign([t.pk for t in batch])
        assert all(r.cluster is not None for r in results)
        return len(captured)

    assert cost(3) == cost(30)


READ_IN_A_PROCESS = """
import json, sys
import django
django.setup()
from tickets.clustering import features, ranking
found = features.extract(subject="Dashboard widgets vanish", description=sys.argv[1])
query = ranking.query_for(found, "bug", ranking.Stats({"#tickets": 100.0, "#length": 1000.0}))
print(json.dumps({"terms": list(found.terms), "looked_up": sorted(query.text_terms)}))
"""


def test_every_process_reads_a_ticket_alike_and_looks_up_the_same_words(tmp_path):
    """Which of a ticket's equally telling words are looked up must not depend on the process's string
    hashing: the web process (Known-bugs panel) and every worker rank the same ticket the same way."""
    description = (
        "After the upgrade: amber birch cedar delta ember fjord grove harbor island jasper kettle lantern "
        "meadow nectar orchard pepper quartz river saddle timber umber velvet willow yonder zephyr."
    )
    assert len(feats.words(description)) > 16  # more equally telling words than a ranking looks up
    seen = [
        json_printed_by(
            ["-c", READ_IN_A_PROCESS, description],
            var_dir=tmp_path / "var",
            env={"DJANGO_SETTINGS_MODULE": "triage.settings", "PYTHONHASHSEED": seed},
        )
        for seed in ("1", "2", "3")
    ]
    assert len(seen[0]["looked_up"]) == 16
    assert seen[1] == seen[0] and seen[2] == seen[0]
