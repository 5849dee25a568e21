"""The history of each fix's verdict, recorded as measurements reach new verdicts (`metrics.services.history`
rebuilds it for imported fixes)."""

from __future__ import annotations

from datetime import datetime

from metrics.impact import Verdict
from metrics.models import FixImpact, FixVerdictChange

NO_READ = (Verdict.PENDING, "")


def verdict_state(row: FixImpact) -> tuple[str, str]:
    return row.verdict, row.provisional_verdict or ""


def fix_verdict_changes_record(*, rows: list[FixImpact], before: dict[int, tuple[str, str]], now: datetime) -> int:
    """Write one FixVerdictChange for each measured row whose verdict or provisional read differs from
    `before` (its state before this measurement); a plain "pending, no read yet" is never recorded.

    Call inside the measurement's transaction, after the rows were measured (saved or not).
    """
    changes = []
    for row in rows:
        old = before.get(row.pk, NO_READ)
        new = verdict_state(row)
        if new in (old, NO_READ):
            continue
        changes.append(
            FixVerdictChange(
                fix_impact_id=row.pk,
                measured_at=now,
                verdict=new[0],
                provisional_verdict=new[1],
                previous_verdict="" if old == NO_READ else old[0],
                previous_provisional_verdict="" if old == NO_READ else old[1],
                change_pct=row.change_pct,
                days_observed=row.days_observed,
            )
        )
    FixVerdictChange.objects.bulk_create(changes)
    return len(changes)
