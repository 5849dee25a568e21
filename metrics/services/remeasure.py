"""Keep every fix's verdict equal to what a recompute would give when its inputs change after it was measured.

A fix's figures depend on its cluster's daily counts and on the control series (every ticket
outside clusters with a fix of their own). Both change after a measurement: a fix recorded later
(even back-dated) takes its cluster out of the control of every fix whose windows overlap its
tickets, and tickets imported or moved into past days change the counts. Each measurement stores a
fingerprint of the counts it read (`FixImpact.inputs_digest`); this sweep reads the same windows
from the rollup again and measures once more exactly the fixes whose fingerprint no longer matches.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from metrics.models import FixImpact
from metrics.services.fixes import (
    _FIELDS,
    _load_and_measure,
    _windows,
    inputs_digest,
    last_complete_day,
    series_load,
    windows_span,
)
from metrics.services.rollup import rollup_ensure


def fix_impacts_changed(*, through=None) -> list[int]:
    """Ids of measured fixes whose cluster or control counts differ from the ones they were measured on.

    Reconciles the organisation's daily counts with the tickets table first (one COUNT on each side),
    so tickets written without the services (imports, backfills) are seen too.
    """
    rows = list(
        FixImpact.objects.filter(computed_at__isnull=False).only(
            "pk", "cluster_id", "deploy_day", "computed_through", "inputs_digest"
        )
    )
    if not rows:
        return []
    through = through or last_complete_day()
    day_from, day_to = windows_span(rows, through)
    rollup_ensure(day_from=day_from, day_to=day_to)
    per_cluster, control, first = series_load(
        cluster_ids=[r.cluster_id for r in rows], day_from=day_from, day_to=day_to
    )
    changed = []
    for row in rows:
        if row.computed_through is None:
            changed.append(row.pk)
            continue
        before, after = _windows(row, first.get(row.cluster_id), row.computed_through)
        if inputs_digest(before + after, per_cluster.get(row.cluster_id, {}), control) != row.inputs_digest:
            changed.append(row.pk)
    return changed


def fix_impacts_remeasure_changed(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Measure again (through yesterday) every fix whose inputs changed since it was measured; returns how many.

    Called after a fix is recorded, after tickets are backfilled or moved, and by the hourly beat task.
    Rows are claimed with row locks (skipped when another worker holds them), so concurrent runs
    measure each fix once; a second run right after finds nothing to do.
    """
    now = now or timezone.now()
    through = last_complete_day(now)
    changed = fix_impacts_changed(through=through)
    done = 0
    for start in range(0, len(changed), batch_size):
        with transaction.atomic():
            rows = list(
                FixImpact.objects.select_for_update(skip_locked=True)
                .filter(pk__in=changed[start : start + batch_size])
                .order_by("deploy_day", "pk")
            )
            _load_and_measure(rows, through, now, reconcile=False)
            for row in rows:
                FixImpact.objects.filter(pk=row.pk).update(updated_at=now, **{n: getattr(row, n) for n in _FIELDS})
        done += len(rows)
    return done
