"""Models of the triage layer (it composes the apps below): customer success's accounts and handoffs."""

from triage.accounts.models import (  # noqa: F401  (registers them under the "triage" app label)
    AccountHealth,
    AtRiskRule,
    Handoff,
    HandoffTrigger,
)
