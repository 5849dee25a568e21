"""The shape of a recurring bug in the demo history, and the catalog of all of them.

Each bug is one real underlying problem that customers describe in many ways.
The catalog lives in `bugs_access` (sign-in and payments) and `bugs_product`
(feature bugs and performance); `RECURRING_BUGS` joins them in a stable order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The true effect of each fix on its bug's ticket volume (see docs/demo-data.md).
COMPLETE = "complete"  # volume drops ~95%
EFFECTIVE = "effective"  # ~80%
PARTIAL = "partial"  # ~50% at once
PARTIAL_GRADUAL = "partial_gradual"  # declines over two weeks to ~50%
FAILED = "failed"  # no change
REGRESSION = "regression"  # ~90% down for a week, then back
COMPANY_DIP = "company_dip"  # no change; every ticket stream dips the week of the deploy

EFFECT_MULTIPLIER = {COMPLETE: 0.05, EFFECTIVE: 0.2, PARTIAL: 0.5, FAILED: 1.0, COMPANY_DIP: 1.0}
GRADUAL_DAYS = 14
REGRESSION_DAYS = 7
COMPANY_DIP_DAYS = 7
COMPANY_DIP_FACTOR = 0.5


@dataclass(frozen=True)
class RecurringBug:
    """One underlying problem: how customers describe it, its evidence, and its life in product."""

    key: str
    title: str
    type_key: str
    weight: float
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    summary: str
    root_cause: str = ""
    status: str = "acknowledged"
    priority: str = "P2"
    workaround: str = ""
    engineering: str = ""
    eta_days: int | None = None
    started_days_ago: int = 400
    fix_days_ago: int | None = None
    fix_effect: str | None = None
    labels: tuple[str, ...] = ()
    # A surge of reports in the last `surge_days` days: the rate grows to `surge_factor` times its usual
    # level over `surge_ramp_days` days (0: at once, a spike), for the volume alerts to find.
    surge_days: int = 0
    surge_factor: float = 1.0
    surge_ramp_days: int = 0
    # Evidence hints; empty means "any".
    envs: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    http: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    account_statuses: tuple[str, ...] = ("active",)
    login_methods: tuple[str, ...] = ("password",)
    methods: tuple[str, ...] = ("credit_card", "debit_card")
    steps: tuple[str, ...] = ("payment_details",)
    component: str = "other"
    repro: str = ""
    expected: str = ""
    actual: tuple[str, ...] = ()
    frequency: tuple[str, ...] = ("always", "often")
    page_actions: tuple[str, ...] = ()
    load_range: tuple[float, float] = (8.0, 30.0)
    segments: tuple[str, ...] = ()
    context: tuple[str, ...] = field(default=())
