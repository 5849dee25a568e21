"""The demo's recurring bugs, all of them, and the true effect of each one's fix."""

from __future__ import annotations

from triage.demo.bugs import RecurringBug
from triage.demo.bugs_access import ACCESS_BUGS
from triage.demo.bugs_product import PRODUCT_BUGS


def _catalog() -> list[RecurringBug]:
    bugs = ACCESS_BUGS + PRODUCT_BUGS
    keys = [b.key for b in bugs]
    assert len(keys) == len(set(keys)), "demo bug keys must be unique"
    return bugs


RECURRING_BUGS: list[RecurringBug] = _catalog()

# bug key -> the TRUE effect of its fix on ticket volume. Tests and the fix-impact
# metrics use this to check that what they measure is what really happened.
DEMO_FIX_EFFECTS: dict[str, str] = {b.key: b.fix_effect for b in RECURRING_BUGS if b.fix_effect}

# Bugs whose ticket counts are drawn to follow their rate closely (see timeline.draw_counts): the fixed
# ones, so each fix's measured verdict is its true effect whatever the seed and date, and the surging ones.
STEADY_BUGS: frozenset[str] = frozenset(b.key for b in RECURRING_BUGS if b.fix_effect or b.surge_days)
