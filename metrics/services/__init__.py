"""Every write of the metrics app: the daily-count rollup, fix-impact measurements, verification."""

from metrics.services.fixes import (
    cluster_verify,
    fix_impact_current,
    fix_impact_recompute,
    fix_impact_register,
    fix_impacts_catch_up,
    fix_impacts_discover,
    fix_impacts_recompute_due,
    fix_impacts_reopen_backfilled,
    fix_verification_guard,
    metrics_catch_up,
)
from metrics.services.remeasure import fix_impacts_changed, fix_impacts_remeasure_changed
from metrics.services.rollup import (
    rollup_ensure,
    rollup_rebuild,
    rollup_ticket_deleted,
    rollup_ticket_moved,
    rollup_tickets_assigned,
)

__all__ = [
    "cluster_verify",
    "fix_impact_current",
    "fix_impacts_catch_up",
    "fix_impact_recompute",
    "fix_impact_register",
    "fix_impacts_changed",
    "fix_impacts_discover",
    "fix_impacts_recompute_due",
    "fix_impacts_remeasure_changed",
    "fix_impacts_reopen_backfilled",
    "fix_verification_guard",
    "metrics_catch_up",
    "rollup_ensure",
    "rollup_rebuild",
    "rollup_ticket_deleted",
    "rollup_ticket_moved",
    "rollup_tickets_assigned",
]
