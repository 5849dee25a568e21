"""Models of the triage layer (it composes the apps below): customer success's accounts and handoffs, and the
weekly review's meeting record, report sendings and pattern snapshots."""

from triage.accounts.models import (  # noqa: F401  (registers them under the "triage" app label)
    AccountHealth,
    AtRiskRule,
    Handoff,
    HandoffTrigger,
)
from triage.review.models import (  # noqa: F401  (the weekly review's meeting record, sendings and snapshots)
    MeetingItem,
    ReportDelivery,
    WeekPatterns,
)
