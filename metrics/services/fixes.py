"""Fix-impact measurements and the verification gate."""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from metrics import impact
from metrics.impact import WINDOW_DAYS, Verdict
from metrics.models import FixImpact
from metrics.selectors import daily_volumes, fixed_cluster_volumes
from metrics.services.regressions import fix_regressions_flag
from metrics.services.rollup import local_day, rollup_ensure, rollup_rebuild
from metrics.services.verdicts import fix_verdict_changes_record, verdict_state
from metrics.success import success_window
from tickets.clusters.services import cluster_set_status
from tickets.models import BugCluster, ClusterStatus, Ticket

logger = logging.getLogger(__name__)


def last_complete_day(now: datetime | None = None) -> date:
    """Yesterday in the organisation's time zone: today is still filling up."""
    return local_day(now or timezone.now()) - timedelta(days=1)


def fix_impact_register(*, cluster: BugCluster, deployed_at: datetime) -> FixImpact:
    """Start (or restart, for a new deploy time) the measurement of a cluster's fix; computed by a task."""
    with transaction.atomic():
        impact_row, created = FixImpact.objects.select_for_update().get_or_create(
            cluster=cluster, defaults={"deployed_at": deployed_at, "deploy_day": local_day(deployed_at)}
        )
        if not created and impact_row.deployed_at != deployed_at:
            impact_row.deployed_at = deployed_at
            impact_row.deploy_day = local_day(deployed_at)
            impact_row.verdict, impact_row.provisional_verdict = Verdict.PENDING, ""
            impact_row.is_final, impact_row.computed_through = False, None
            impact_row.regression_flagged_at = None  # a new deploy is a new fix: it may regress again
            impact_row.save()
    return impact_row


def fix_impacts_discover() -> int:
    """Register fixed clusters that have no measurement, or one for an older deploy time.

    Catches fixes recorded while no worker was listening, or written without the service.
    """
    fixed = BugCluster.objects.filter(fix_deployed_at__isnull=False)
    missing = list(fixed.filter(fix_impact__isnull=True)) + list(
        fixed.filter(fix_impact__isnull=False).exclude(fix_impact__deployed_at=F("fix_deployed_at"))
    )
    for cluster in missing:
        fix_impact_register(cluster=cluster, deployed_at=cluster.fix_deployed_at)
    return len(missing)


def fix_impacts_catch_up(*, limit: int = 100) -> int:
    """Measure fixes that were recorded but never measured (no worker ran yet, or written in bulk).

    Cheap when there is nothing to do (three small queries); pages call it so a fresh install
    or a just-loaded history never shows an empty list while the hourly sweep is still to come.
    """
    fix_impacts_discover()
    rows = list(FixImpact.objects.filter(computed_at__isnull=True).order_by("deploy_day")[:limit])
    if not rows:
        return 0
    now = timezone.now()
    with transaction.atomic():
        _load_and_measure(rows, last_complete_day(now), now, reconcile=True)
        for row in rows:
            FixImpact.objects.filter(pk=row.pk).update(updated_at=now, **{name: getattr(row, name) for name in _FIELDS})
        fix_regressions_flag(rows=rows, now=now)
    return len(rows)


def _windows(row: FixImpact, first_reported_at: datetime | None, through: date) -> tuple[list[date], list[date]]:
    start = row.deploy_day - timedelta(days=WINDOW_DAYS)
    if first_reported_at is not None:
        start = max(start, local_day(first_reported_at))
    before = [start + timedelta(days=i) for i in range((row.deploy_day - start).days)]
    observed = max(0, min(WINDOW_DAYS, (through - row.deploy_day).days))
    after = [row.deploy_day + timedelta(days=i + 1) for i in range(observed)]
    return before, after


def inputs_digest(days: list[date], cluster_days: dict, control_days: dict) -> str:
    """A fingerprint of what a measurement read: each day of its windows with the cluster's and the control's
    count. Equal fingerprints mean a recompute would give the same figures."""
    text = ";".join(f"{d.isoformat()}:{cluster_days.get(d, 0)}:{control_days.get(d, 0)}" for d in days)
    return hashlib.sha256(text.encode()).hexdigest()


def series_load(*, cluster_ids: list[int], day_from: date, day_to: date) -> tuple[dict, dict, dict]:
    """(per-cluster daily counts, the control series, first report time per cluster) from the rollup.

    The control series is every ticket outside clusters that have a fix of their own: their
    volume moves by design (and fixes shipped in the same release would otherwise hide each
    other), while the rest carries the weekly rhythm, holidays and company-wide surges. It
    changes when a fix is recorded or tickets are backfilled: `fix_impacts_remeasure_changed`
    then measures again every fix whose windows it touches.
    """
    per_cluster, totals = daily_volumes(cluster_ids=cluster_ids, day_from=day_from, day_to=day_to)
    fixed = fixed_cluster_volumes(day_from=day_from, day_to=day_to)
    control = {day: total - fixed.get(day, 0) for day, total in totals.items()}
    first = dict(BugCluster.objects.filter(pk__in=cluster_ids).values_list("pk", "first_reported_at"))
    return per_cluster, control, first


def _measure(row: FixImpact, first_reported_at, cluster_days: dict, control_days: dict, through: date, now) -> None:
    """Fill `row` from the daily counts of its cluster and of the control series (not saved)."""
    before, after = _windows(row, first_reported_at, through)

    def counts(days, source):
        return [source.get(d, 0) for d in days]

    cb, ca = counts(before, cluster_days), counts(after, cluster_days)
    row.inputs_digest = inputs_digest(before + after, cluster_days, control_days)
    result = impact.estimate(
        cb,
        ca,
        deploy_weekday=row.deploy_day.weekday(),
        control_before=counts(before, control_days),
        control_after=counts(after, control_days),
        min_baseline=settings.METRICS_MIN_BASELINE_TICKETS or None,
    )
    for name in (
        "verdict", "provisional_verdict", "reason", "days_observed", "baseline_tickets", "after_tickets",
        "min_baseline_tickets", "before_per_day", "after_per_day", "expected_after", "change_pct",
        "change_low_pct", "change_high_pct", "first_week_change_pct", "first_week_low_pct",
        "first_week_high_pct", "late_change_pct", "dow_profile", "dispersion", "control_used",
    ):  # fmt: skip
        setattr(row, name, getattr(result, name))
    series = []
    window_start = row.deploy_day - timedelta(days=WINDOW_DAYS)
    fitted = dict(zip(before, zip(result.expected_before, result.band_before, strict=True), strict=True))
    fitted |= dict(zip(after, zip(result.expected_after_series, result.band_after, strict=True), strict=True))
    for i in range(2 * WINDOW_DAYS + 1):
        day = window_start + timedelta(days=i)
        period = "before" if day < row.deploy_day else "deploy" if day == row.deploy_day else "after"
        expected, band = fitted.get(day, (None, (None, None)))
        observed = day <= through
        series.append(
            {
                "day": day.isoformat(),
                "period": period,
                "tickets": cluster_days.get(day, 0) if observed else None,
                "expected": expected,
                "low": band[0],
                "high": band[1],
            }
        )
    row.series = series
    row.is_final = len(after) >= WINDOW_DAYS
    row.computed_through = through
    row.computed_at = now


def _load_and_measure(rows: list[FixImpact], through: date, now: datetime, reconcile: bool) -> int:
    """Measure `rows` from the rollup, recounting their windows from the tickets first when `reconcile`;
    records each verdict reached or changed (FixVerdictChange) and returns how many."""
    if not rows:
        return 0
    day_from, day_to = windows_span(rows, through)
    cluster_ids = [r.cluster_id for r in rows]
    if reconcile:
        rollup_rebuild(day_from=day_from, day_to=day_to, cluster_ids=cluster_ids if len(rows) == 1 else None)
    per_cluster, control, first = series_load(cluster_ids=cluster_ids, day_from=day_from, day_to=day_to)
    before = {row.pk: verdict_state(row) for row in rows}
    for row in rows:
        _measure(row, first.get(row.cluster_id), per_cluster.get(row.cluster_id, {}), control, through, now)
    return fix_verdict_changes_record(rows=rows, before=before, now=now)


def windows_span(rows: list[FixImpact], through: date) -> tuple[date, date]:
    """The first and last day any of `rows`' windows covers (up to `through`)."""
    span = timedelta(days=WINDOW_DAYS)
    day_from = min(r.deploy_day for r in rows) - span
    day_to = max(min(max(r.deploy_day for r in rows) + span, through), day_from)
    return day_from, day_to


_FIELDS = [
    f.name
    for f in FixImpact._meta.concrete_fields
    if f.name not in ("id", "cluster", "deployed_at", "deploy_day", "created_at", "updated_at", "regression_flagged_at")
]


def fix_impact_recompute(*, cluster: BugCluster, now: datetime | None = None) -> FixImpact | None:
    """Measure a cluster's fix as of now (recounting its window from the tickets first); None if never fixed."""
    now = now or timezone.now()
    with transaction.atomic():
        row = FixImpact.objects.select_for_update().filter(cluster=cluster).first()
        if row is None:
            deployed_at = BugCluster.objects.filter(pk=cluster.pk).values_list("fix_deployed_at", flat=True).first()
            if deployed_at is None:
                return None
            row = fix_impact_register(cluster=cluster, deployed_at=deployed_at)
        _load_and_measure([row], last_complete_day(now), now, reconcile=True)
        row.save()
        fix_regressions_flag(rows=[row], now=now)
    return row


def _backfilled(computed_at_ref):
    """Tickets of the cluster that arrived after the measurement but were reported before it (imports, moves)."""
    return (Q(created_at__gt=computed_at_ref) | Q(cluster_assigned_at__gt=computed_at_ref)) & Q(
        reported_at__lt=computed_at_ref
    )


def fix_impact_current(*, cluster: BugCluster) -> FixImpact | None:
    """The measurement as of now: measured again when a day was completed or tickets were backfilled since."""
    row = FixImpact.objects.filter(cluster=cluster).first()
    if row is None:
        return fix_impact_recompute(cluster=cluster) if cluster.fix_deployed_at else None
    stale = (
        row.computed_at is None
        or (not row.is_final and row.computed_through != last_complete_day())
        or Ticket.objects.filter(_backfilled(row.computed_at), cluster_id=row.cluster_id).exists()
    )
    return fix_impact_recompute(cluster=cluster) if stale else row


def fix_impacts_reopen_backfilled() -> int:
    """Make final measurements due again when tickets were backfilled into their cluster since."""
    late = Ticket.objects.filter(_backfilled(OuterRef("computed_at")), cluster_id=OuterRef("cluster_id"))
    return (
        FixImpact.objects.filter(is_final=True, computed_at__isnull=False)
        .filter(Exists(late))
        .update(is_final=False, computed_through=None)
    )


def fix_impacts_recompute_due(*, now: datetime | None = None, batch_size: int = 200, reconcile: bool = True) -> int:
    """Measure every fix not yet measured through yesterday and not final; returns how many were measured.

    The daily beat task. Rows are claimed with row locks (skipped when another worker holds
    them) and marked measured through yesterday in the same transaction, so two runs on the
    same day measure each fix once.
    """
    now = now or timezone.now()
    through = last_complete_day(now)
    due = FixImpact.objects.filter(is_final=False).filter(
        Q(computed_through__isnull=True) | Q(computed_through__lt=through)
    )
    done = 0
    while True:
        with transaction.atomic():
            rows = list(due.select_for_update(skip_locked=True).order_by("deploy_day", "pk")[:batch_size])
            if not rows:
                return done
            _load_and_measure(rows, through, now, reconcile)
            for row in rows:  # one plain UPDATE each: bulk_update's CASE WHEN over 25 columns is far slower
                fields = {name: getattr(row, name) for name in _FIELDS}
                FixImpact.objects.filter(pk=row.pk).update(updated_at=now, **fields)
            fix_regressions_flag(rows=rows, now=now)
        done += len(rows)


def _refusal(row: FixImpact | None, threshold: float) -> str | None:
    if row is None:
        return "No deploy time is recorded for this fix; mark it fixed with the time the fix was deployed first."
    if row.days_observed < impact.PROVISIONAL_AFTER_DAYS:
        seen = row.days_observed
        return (
            f"The reduction cannot be measured yet: {seen} complete day(s) since the deploy, "
            f"{impact.PROVISIONAL_AFTER_DAYS} needed for a first read."
        )
    if row.verdict == Verdict.INSUFFICIENT_DATA:
        return (
            f"Too few tickets to measure a reduction: {row.baseline_tickets} in the 30 days before the fix, "
            f"{row.min_baseline_tickets} needed."
        )
    verdict = row.current_verdict
    reduction = row.reduction_pct or 0.0
    interval = f"95% interval {-(row.change_high_pct or 0):.0f}% to {-(row.change_low_pct or 0):.0f}% fewer"
    if verdict == Verdict.REGRESSED:
        return (
            f"Tickets came back after the first week: measured reduction {reduction:.0f}% overall, "
            f"{-(row.late_change_pct or 0):.0f}% from day {impact.LATE_FROM_DAY}; "
            f"at least {threshold:.0f}% is required."
        )
    if reduction < threshold:
        return (
            f"Measured reduction is {reduction:.0f}% ({interval}); at least {threshold:.0f}% is required, "
            f"{threshold - reduction:.0f} points short."
        )
    if verdict not in (Verdict.COMPLETE, Verdict.EFFECTIVE, Verdict.PARTIAL):
        return (
            f"Measured reduction of {reduction:.0f}% is not distinguishable from no change ({interval}); "
            "wait for more days."
        )
    return None


def fix_verification_guard(*, cluster: BugCluster, actor=None, context: dict) -> None:
    """Decide every move of a cluster into VERIFIED, whatever the route (this page, the API, the cluster page).

    Called by `metrics.receivers.on_status_changing` (the `cluster_status_changing` signal). Runs
    inside cluster_set_status's transaction with the cluster row locked; `context["support_confirmation"]`
    must be true. Raises ValidationError({"status": reason}) saying why and by how much.
    """
    if cluster.status != ClusterStatus.FIXED:
        raise ValidationError(
            {"status": f"Only a fixed cluster can be verified; this one is {cluster.get_status_display().lower()}."}
        )
    if not context.get("support_confirmation"):
        raise ValidationError(
            {
                "status": "Support must confirm that customers no longer report this problem: "
                "verify the fix from its Fix impact page."
            }
        )
    refusal = _refusal(fix_impact_current(cluster=cluster), float(settings.METRICS_VERIFY_MIN_REDUCTION))
    if refusal:
        raise ValidationError({"status": refusal})


def cluster_verify(*, cluster: BugCluster, by: AbstractBaseUser | None, support_confirmation: bool) -> BugCluster:
    """Move a fixed cluster to VERIFIED: support confirms, and the measured reduction meets the bar.

    The bar is settings.METRICS_VERIFY_MIN_REDUCTION percent (default 50), checked by
    `fix_verification_guard` on a measurement refreshed first. Raises ValidationError saying
    why and by how much when refused.
    """
    cluster.refresh_from_db()
    if cluster.status != ClusterStatus.FIXED:
        raise ValidationError(
            {"status": f"Only a fixed cluster can be verified; this one is {cluster.get_status_display().lower()}."}
        )
    if not support_confirmation:
        raise ValidationError(
            {"support_confirmation": "Support must confirm that customers no longer report this problem."}
        )
    row = fix_impact_recompute(cluster=cluster)
    message = ""
    if row is not None and row.reduction_pct is not None:
        message = (
            f"Verified: support confirmed, tickets {row.reduction_pct:.0f}% below baseline "
            f"over {row.days_observed} days ({row.current_verdict.replace('_', ' ')})."
        )
    return cluster_set_status(
        cluster=cluster,
        status=ClusterStatus.VERIFIED,
        actor=by,
        message=message,
        context={"support_confirmation": True},
    )


def metrics_catch_up() -> int:
    """Measure never-measured fixes and make the daily counts the success metrics read agree with the tickets.

    Returns how many fixes were measured.
    """
    measured = fix_impacts_catch_up()
    day_from, day_to = success_window()
    rollup_ensure(day_from=day_from, day_to=day_to)
    return measured
