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


def test_a_status_rule_of_another_app_refuses_whatever_the_route(product_lead):
    """`cluster_status_changing` receivers (the metrics app's verification gate is one) may refuse a move."""
    from tickets import signals

    def needs_confirmation(sender, *, cluster, status, actor, context, **kwargs):
        if status == ClusterStatus.IN_PROGRESS and not context.get("confirmed"):
            raise ValidationError({"status": "Needs support's confirmation."})

    signals.cluster_status_changing.connect(needs_confirmation, dispatch_uid="test-needs-confirmation")
    try:
        cluster = ClusterFactory(status=ClusterStatus.ACKNOWLEDGED)
        with pytest.raises(ValidationError, match="Needs support's confirmation"):
            cluster_set_status(cluster=cluster, status=ClusterStatus.IN_PROGRESS, actor=product_lead)
        cluster.refresh_from_db()
        assert cluster.status == ClusterStatus.ACKNOWLEDGED and not cluster.events.exists()
        cluster_set_status(
            cluster=cluster, status=ClusterStatus.IN_PROGRESS, actor=product_lead, context={"confirmed": True}
        )
        cluster.refresh_from_db()
        assert cluster.status == ClusterStatus.IN_PROGRESS
    finally:
        signals.cluster_status_changing.disconnect(dispatch_uid="test-needs-confirmation")


def test_the_triage_form_is_all_or_nothing_when_the_verification_gate_refuses(client, product_lead):
    """Priority, owner and status are one decision: a refused status leaves priority and owner as they were."""
    cluster = ClusterFactory(status=ClusterStatus.FIXED, priority="P3")
    client.force_login(product_lead)
    response = client.post(
        f"/clusters/{cluster.pk}/triage/",
        {
            "triage-status": ClusterStatus.VERIFIED,
            "triage-priority": "P1",
            "triage-owner": str(product_lead.pk),
            "triage-message": "",
        },
    )
    assert response.status_code == 400
    assert "verify the fix from its Fix impact page" in response.content.decode()
    cluster.refresh_from_db()
    assert (cluster.status, cluster.priority, cluster.owner_id) == (ClusterStatus.FIXED, "P3", None)
    assert not cluster.events.filter(kind__in=["priority_changed", "owner_changed"]).exists()


def test_only_someone_who_can_triage_may_own_a_cluster_whatever_the_route(agent, product_lead):
    from tickets.clusters.services import cluster_assign_owner

    cluster = ClusterFactory()
    with pytest.raises(ValidationError, match="cannot own clusters"):
        cluster_assign_owner(cluster=cluster, owner=agent, actor=product_lead)
    cluster.refresh_from_db()
    assert cluster.owner_id is None
    cluster_assign_owner(cluster=cluster, owner=product_lead, actor=product_lead)
    cluster.refresh_from_db()
    assert cluster.owner_id == product_lead.pk
