"""A fix that did not hold: flag the cluster and tell the help desk which tickets to reopen.

Called by the metrics app (above tickets) when a fix's measured verdict turns *regressed* or *worse*;
metrics claims the transition once per deploy, and the webhook's event id (cluster and deploy time)
makes a second call queue nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tickets.clusters.services import cluster_lock
from tickets.integrations.webhooks import webhook_event_record
from tickets.models import BugCluster, ClusterEvent, Ticket, WebhookEvent

REGRESSED_LABEL = "fix-regressed"


def cluster_affected_ticket_ids(*, cluster: BugCluster) -> list[dict[str, str]]:
    """Every help-desk ticket in the cluster as (source, external_id), oldest first: what to reopen."""
    return list(Ticket.objects.filter(cluster=cluster).order_by("id").values("source", "external_id"))


def cluster_flag_regressed(*, cluster: BugCluster, verdict: str, reason: str = "") -> BugCluster:
    """Label the cluster `fix-regressed`, tell its story, and queue the signed `cluster.regressed` webhook
    with every affected help-desk ticket id (not only the first 500 the cluster payload carries)."""
    deployed = cluster.fix_deployed_at
    with transaction.atomic():
        cluster = cluster_lock(cluster=cluster)
        if REGRESSED_LABEL not in cluster.labels:
            BugCluster.objects.filter(pk=cluster.pk).update(
                labels=[*cluster.labels, REGRESSED_LABEL], updated_at=timezone.now()
            )
            cluster.labels = [*cluster.labels, REGRESSED_LABEL]
        words = "came back after the fix" if verdict == "regressed" else "got worse after the fix"
        ClusterEvent.objects.create(
            cluster=cluster,
            kind=ClusterEvent.Kind.ALERT,
            message=f"Fix {verdict}: tickets {words}. {reason}".strip(),
            data={"event": WebhookEvent.CLUSTER_REGRESSED.value, "verdict": verdict},
        )
        tickets = cluster_affected_ticket_ids(cluster=cluster)
        webhook_event_record(
            event=WebhookEvent.CLUSTER_REGRESSED,
            event_id=f"cluster.regressed:{cluster.pk}:{deployed.isoformat() if deployed else 'none'}",
            cluster=cluster,
            data={
                "verdict": verdict,
                "reason": reason,
                "fix_deployed_at": deployed.isoformat() if deployed else None,
                "affected_ticket_count": len(tickets),
                "affected_tickets": tickets,
            },
        )
    return cluster
