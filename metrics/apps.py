from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from metrics import receivers
        from metrics.services import fix_verification_guard
        from tickets import signals
        from tickets.clusters.services import cluster_status_guard_register
        from tickets.models import ClusterStatus, Role, Ticket
        from tickets.roles import EXTRA_ROLE_PERMISSIONS

        # New tickets are counted in the organisation's daily volume by the `metrics.rollup_recent_days`
        # beat task (one COUNT per side), not per ticket, so filing a ticket costs this app no query.
        signals.ticket_assigned.connect(receivers.on_ticket_assigned, dispatch_uid="metrics.rollup.assigned")
        signals.tickets_assigned.connect(receivers.on_tickets_assigned, dispatch_uid="metrics.rollup.assigned_many")
        signals.cluster_fix_deployed.connect(receivers.on_fix_deployed, dispatch_uid="metrics.fix_deployed")
        signals.tickets_moved.connect(receivers.on_tickets_moved, dispatch_uid="metrics.rollup.moved")
        post_delete.connect(receivers.on_ticket_deleted, sender=Ticket, dispatch_uid="metrics.rollup.deleted")
        # Every route to VERIFIED (this app's form and API, the cluster page, other services) passes the gate.
        cluster_status_guard_register(status=ClusterStatus.VERIFIED, guard=fix_verification_guard)
        # Support confirms fixes (agents) and product leads move them to verified.
        for role in (Role.AGENT, Role.PRODUCT_LEAD):
            if "metrics.verify_fix" not in EXTRA_ROLE_PERMISSIONS[role]:
                EXTRA_ROLE_PERMISSIONS[role].append("metrics.verify_fix")
        for role in (Role.AGENT, Role.PRODUCT_LEAD, Role.CUSTOMER_SUCCESS):
            if "metrics.view_fiximpact" not in EXTRA_ROLE_PERMISSIONS[role]:
                EXTRA_ROLE_PERMISSIONS[role].append("metrics.view_fiximpact")
