import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.tickets.factories import ClusterFactory
from tickets import signals
from tickets.clusters.services import (
    cluster_answer_question,
    cluster_mark_fixed,
    cluster_respond,
    cluster_set_priority,
    cluster_set_status,
)
from tickets.models import ClusterEvent, ClusterStatus

pytestmark = pytest.mark.django_db


def test_first_product_update_acknowledges_and_is_logged(product_lead, django_capture_on_commit_callbacks):
    cluster = ClusterFactory()
    received = []
    signals.cluster_status_changed.connect(lambda **kw: received.append(kw["new_status"]), weak=False)
    with django_capture_on_commit_callbacks(execute=True):
        cluster_set_status(cluster=cluster, status=ClusterStatus.IN_PROGRESS, actor=product_lead)
    cluster.refresh_from_db()
    assert cluster.acknowledged_at is not None and cluster.status == ClusterStatus.IN_PROGRESS
    assert received == [ClusterStatus.IN_PROGRESS]
    assert cluster.events.filter(kind=ClusterEvent.Kind.STATUS_CHANGED).count() == 1


def test_question_then_answer_moves_the_cluster_back_to_product(product_lead, agent):
    cluster = ClusterFactory(status=ClusterStatus.IN_PROGRESS)
    cluster_respond(cluster=cluster, actor=product_lead, message="Which PayPal account type?", question=True)
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.NEEDS_INFO
    cluster_answer_question(cluster=cluster, actor=agent, message="Business accounts only")
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.IN_PROGRESS
    kinds = list(cluster.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [ClusterEvent.Kind.ANSWER, ClusterEvent.Kind.STATUS_CHANGED]


def test_bad_values_are_refused_with_the_allowed_ones():
    cluster = ClusterFactory()
    with pytest.raises(ValidationError, match="choose one of: P1, P2, P3"):
        cluster_set_priority(cluster=cluster, priority="P0")
    with pytest.raises(ValidationError, match="cannot be in the future"):
        cluster_mark_fixed(cluster=cluster, deployed_at=timezone.now() + timezone.timedelta(days=1))


def test_mark_fixed_records_the_deploy_time():
    cluster = ClusterFactory()
    deployed = timezone.now() - timezone.timedelta(days=3)
    cluster_mark_fixed(cluster=cluster, deployed_at=deployed)
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.FIXED and cluster.fix_deployed_at == deployed


def test_a_registered_status_guard_refuses_whatever_the_route(product_lead, monkeypatch):
    from tickets.clusters import services

    monkeypatch.setitem(services._STATUS_GUARDS, ClusterStatus.VERIFIED, [])  # only this test's guard (metrics has one)

    def needs_confirmation(*, cluster, actor, context):
        if not context.get("confirmed"):
            raise ValidationError({"status": "Needs support's confirmation."})

    services.cluster_status_guard_register(status=ClusterStatus.VERIFIED, guard=needs_confirmation)
    try:
        cluster = ClusterFactory(status=ClusterStatus.FIXED)
        with pytest.raises(ValidationError, match="Needs support's confirmation"):
            cluster_set_status(cluster=cluster, status=ClusterStatus.VERIFIED, actor=product_lead)
        cluster.refresh_from_db()
        assert cluster.status == ClusterStatus.FIXED
        cluster_set_status(
            cluster=cluster, status=ClusterStatus.VERIFIED, actor=product_lead, context={"confirmed": True}
        )
        cluster.refresh_from_db()
        assert cluster.status == ClusterStatus.VERIFIED
    finally:
        services._STATUS_GUARDS[ClusterStatus.VERIFIED].remove(needs_confirmation)
