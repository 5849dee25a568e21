"""Did a fix work? The statistics, on plain daily count arrays (no database, no Django).

The question: after a fix was deployed, did the cluster's daily ticket rate fall, by how much, and
can we tell? The model, in the spirit of CausalImpact (Brodersen et al. 2015) but small enough to
read in one sitting:

* The rest of the organisation's tickets (the *control* series) carries what is common to every
  cluster: the weekly rhythm, holidays, a company-wide surge. Each day gets a control factor
  `g_t = control_t / (the control's baseline mean for that weekday)`, so a holiday in the after
  window lowers the *expected* count instead of being read as a fix.
* The cluster's own day-of-week profile is estimated from its 30 baseline days and shrunk towards
  the control's weekly profile (sparse clusters cannot estimate seven weekday levels alone).
* The exposure of day t is `profile[weekday_t] * g_t`; under "no effect" the cluster's expected
  count on day t is `baseline_rate * exposure_t`. The effect is the rate ratio
  RR = (after tickets / after exposure) / (baseline tickets / baseline exposure).
* Interval: Poisson counts with Jeffreys priors give Gamma posteriors for both rates, and the ratio
  of two Gamma variables is a scaled F distribution (`scipy.stats.f`), so the interval is exact for
  the model and handles zero tickets after a fix. Extra-Poisson variation (quasi-Poisson dispersion
  from the baseline, when a chi-square test says there is some) and the noise of the control series
  itself widen the interval by shrinking the effective counts.

Verdicts follow from the interval and the point estimate; see `classify`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

WINDOW_DAYS = 30
PROVISIONAL_AFTER_DAYS = 7
FIRST_WEEK_DAYS = 7
LATE_FROM_DAY = 11  # "later in the 30 days": days 11..30 after the deploy
LATE_MIN_DAYS = 7
CONFIDENCE = 0.95
COMPLETE, EFFECTIVE, PARTIAL = 0.90, 0.70, 0.30
WORSE_MIN_INCREASE = 0.20  # significant *and* at least 20% more, so +4% on a huge cluster is not "worse"
REGRESSION_FIRST_WEEK_DROP = 0.70
PROFILE_PSEUDO_TICKETS = 5.0  # shrinkage of the cluster's weekday profile towards the control's
CONTROL_MIN_PER_DAY = 5.0  # below this the control series is too thin to be useful
DISPERSION_TEST_LEVEL = 0.05


class Verdict:
    COMPLETE = "complete"
    EFFECTIVE = "effective"
    PARTIAL = "partial"
    NO_CHANGE = "no_change"
    WORSE = "worse"
    REGRESSED = "regressed"
    INSUFFICIENT_DATA = "insufficient_data"
    PENDING = "pending"

    CHOICES = [
        (COMPLETE, "Complete (90%+ fewer)"),
        (EFFECTIVE, "Effective (70-90% fewer)"),
        (PARTIAL, "Partial (30-70% fewer)"),
        (NO_CHANGE, "No change"),
        (WORSE, "Worse"),
        (REGRESSED, "Regressed"),
        (INSUFFICIENT_DATA, "Insufficient data"),
        (PENDING, "Pending"),
    ]
    SUCCESSFUL = (COMPLETE, EFFECTIVE)
    MEASURED = (COMPLETE, EFFECTIVE, PARTIAL, NO_CHANGE, WORSE, REGRESSED)


@functools.lru_cache
def min_baseline_tickets(*, confidence: float = CONFIDENCE) -> int:
    """Baseline tickets below which even a fix that removed every ticket could not be shown to work.

    The smallest n for which "n tickets before, none after" (over equal exposure) puts the upper
    end of the rate ratio's interval below 1 - EFFECTIVE, i.e. proves at least 70% fewer.
    With 95% confidence this is 10 tickets. Partial effects need more; with few tickets
    their interval simply includes "no change", and the verdict says so.
    """
    n = 1
    while rate_ratio(0, 1, n, 1, confidence=confidence).high >= 1 - EFFECTIVE:
        n += 1
    return n


@dataclass
class RateRatio:
    """A rate ratio (after / before, adjusted) with its interval; `change` = ratio - 1 (-0.8 is 80% fewer)."""

    ratio: float
    low: float
    high: float
    tickets: int
    expected: float  # tickets expected in the same days had nothing changed

    @property
    def change(self) -> float:
        return self.ratio - 1.0

    @property
    def significantly_fewer(self) -> bool:
        return self.high < 1.0

    @property
    def significantly_more(self) -> bool:
        return self.low > 1.0


@dataclass
class ImpactResult:
    """Everything the page, the API and the verification gate need about one fix."""

    verdict: str
    provisional_verdict: str = ""
    reason: str = ""
    days_observed: int = 0
    baseline_tickets: int = 0
    after_tickets: int = 0
    min_baseline_tickets: int = 0
    before_per_day: float = 0.0
    after_per_day: float = 0.0
    expected_after: float = 0.0
    change_pct: float | None = None
    change_low_pct: float | None = None
    change_high_pct: float | None = None
    first_week_change_pct: float | None = None
    first_week_low_pct: float | None = None
    first_week_high_pct: float | None = None
    late_change_pct: float | None = None
    dow_profile: list[float] = field(default_factory=list)  # Monday..Sunday, mean 1
    dispersion: float = 1.0
    control_used: bool = False
    expected_before: list[float] = field(default_factory=list)  # the fitted baseline level per day
    expected_after_series: list[float] = field(default_factory=list)
    band_before: list[list[int]] = field(default_factory=list)  # 95% range of daily counts, no effect
    band_after: list[list[int]] = field(default_factory=list)

    @property
    def reduction_pct(self) -> float | None:
        return None if self.change_pct is None else -self.change_pct

    def as_dict(self) -> dict:
        return asdict(self)


def _pct(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(100.0 * x, 1)


def rate_ratio(
    tickets_after: float,
    exposure_after: float,
    tickets_before: float,
    exposure_before: float,
    *,
    inflation: float = 1.0,
    confidence: float = CONFIDENCE,
) -> RateRatio:
    """Posterior rate ratio of two Poisson counts with exposures (Jeffreys priors), as a scaled F.

    `inflation` >= 1 divides both counts and exposures (quasi-Poisson effective sample size).
    """
    if exposure_after <= 0 or exposure_before <= 0:
        raise ValueError("exposures must be positive")
    a = tickets_after / inflation + 0.5
    b = tickets_before / inflation + 0.5
    scale = (a / b) * (exposure_before / exposure_after)
    tail = (1 - confidence) / 2
    low, high = stats.f.ppf([tail, 1 - tail], 2 * a, 2 * b) * scale
    ratio = (tickets_after / exposure_after) / (tickets_before / exposure_before) if tickets_before else math.inf
    return RateRatio(
        ratio=float(ratio),
        low=float(low),
        high=float(high),
        tickets=int(round(tickets_after)),
        expected=float(tickets_before * exposure_after / exposure_before),
    )


@dataclass
class _Exposure:
    before: np.ndarray
    after: np.ndarray
    profile: np.ndarray
    control_used: bool
    control_variance: float  # variance of log(control after / control before), 0 without control


def _weekdays(deploy_weekday: int, n_before: int, n_after: int) -> tuple[np.ndarray, np.ndarray]:
    before = (deploy_weekday - n_before + np.arange(n_before)) % 7
    after = (deploy_weekday + 1 + np.arange(n_after)) % 7
    return before, after


def _weekday_means(values: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    return np.array([values[weekdays == d].mean() if np.any(weekdays == d) else np.nan for d in range(7)])


def _exposure(
    before: np.ndarray,
    control_before: np.ndarray | None,
    control_after: np.ndarray | None,
    wd_before: np.ndarray,
    wd_after: np.ndarray,
) -> _Exposure:
    """Per-day exposure under "no effect": the cluster's weekday profile times the control's day factor."""
    n_after = len(wd_after)
    use_control = (
        control_before is not None
        and control_after is not None
        and control_before.mean() >= CONTROL_MIN_PER_DAY
        and (n_after == 0 or control_after.mean() >= CONTROL_MIN_PER_DAY)
    )
    if use_control:
        control_means = _weekday_means(control_before, wd_before)
        control_means = np.where(control_means > 0, control_means, control_before.mean())
        weekly = control_means / control_means.mean()
        g_before = control_before / control_means[wd_before]
        g_after = control_after / control_means[wd_after]
        control_variance = 1 / max(control_before.sum(), 1) + (1 / max(control_after.sum(), 1) if n_after else 0)
    else:
        weekly = np.ones(7)
        g_before, g_after = np.ones(len(wd_before)), np.ones(n_after)
        control_variance = 0.0
    # Shrink the cluster's own weekday pattern towards the weekly pattern of everything else.
    shape = weekly[wd_before] * g_before
    total = before.sum()
    expected_by_shape = total * shape / shape.sum() if shape.sum() > 0 else np.zeros_like(shape)
    observed = np.array([before[wd_before == d].sum() for d in range(7)])
    expected = np.array([expected_by_shape[wd_before == d].sum() for d in range(7)])
    multiplier = (observed + PROFILE_PSEUDO_TICKETS) / (expected + PROFILE_PSEUDO_TICKETS)
    profile = weekly * multiplier
    profile = profile / profile.mean()
    exp_before = profile[wd_before] * g_before
    exp_after = profile[wd_after] * g_after
    norm = len(before) / exp_before.sum() if exp_before.sum() > 0 else 1.0
    return _Exposure(exp_before * norm, exp_after * norm, profile, use_control, control_variance)


def _dispersion(before: np.ndarray, expected: np.ndarray) -> float:
    """Quasi-Poisson scale from the baseline, used only when a chi-square test finds overdispersion."""
    mask = expected > 0
    df = int(mask.sum()) - 1
    if df < 5:
        return 1.0
    chi2 = float((((before - expected) ** 2)[mask] / expected[mask]).sum())
    if stats.chi2.sf(chi2, df) >= DISPERSION_TEST_LEVEL:
        return 1.0
    return max(1.0, chi2 / df)


def _band(mean: np.ndarray, dispersion: float, confidence: float = CONFIDENCE) -> list[list[int]]:
    """Range of daily counts expected with no effect (Poisson, or negative binomial when overdispersed)."""
    tail = (1 - confidence) / 2
    mean = np.maximum(mean, 1e-9)
    if dispersion > 1.0:  # variance = dispersion * mean
        n, p = mean / (dispersion - 1.0), 1.0 / dispersion
        low, high = stats.nbinom.ppf(tail, n, p), stats.nbinom.ppf(1 - tail, n, p)
    else:
        low, high = stats.poisson.ppf(tail, mean), stats.poisson.ppf(1 - tail, mean)
    return np.stack([low, high], axis=1).astype(int).tolist()


def classify(
    overall: RateRatio, first_week: RateRatio | None, late: RateRatio | None, late_vs_first: RateRatio | None
) -> tuple[str, str]:
    """The verdict for a measured window, and a sentence saying why."""
    fewer = -overall.change
    if (
        first_week is not None
        and late is not None
        and late_vs_first is not None
        and first_week.significantly_fewer
        and -first_week.change >= REGRESSION_FIRST_WEEK_DROP
        and -late.change < PARTIAL
        and late_vs_first.significantly_more
    ):
        return Verdict.REGRESSED, (
            f"Tickets fell {-first_week.change:.0%} in the first week, then came back "
            f"(days {LATE_FROM_DAY}+ are {abs(late.change):.0%} "
            f"{'below' if late.change < 0 else 'above'} the baseline)."
        )
    gradual = (
        late is not None
        and first_week is not None
        and late.significantly_fewer
        and -late.change >= PARTIAL
        and first_week.change > late.change
    )
    if overall.significantly_fewer and fewer >= PARTIAL:
        if fewer >= COMPLETE:
            return Verdict.COMPLETE, f"{fewer:.0%} fewer tickets than expected; the interval excludes no change."
        if fewer >= EFFECTIVE:
            return Verdict.EFFECTIVE, f"{fewer:.0%} fewer tickets than expected; the interval excludes no change."
        return Verdict.PARTIAL, f"{fewer:.0%} fewer tickets than expected: a partial fix or a gradual decline."
    if overall.significantly_more and overall.change >= WORSE_MIN_INCREASE:
        return Verdict.WORSE, f"{overall.change:.0%} more tickets than expected; the interval excludes no change."
    if gradual:
        return Verdict.PARTIAL, (
            f"A gradual decline: {-first_week.change:.0%} fewer in the first week, {-late.change:.0%} fewer "
            f"from day {LATE_FROM_DAY} (the interval excludes no change); {fewer:.0%} fewer over the window."
        )
    if overall.significantly_fewer:
        return Verdict.NO_CHANGE, f"Only {fewer:.0%} fewer tickets than expected (less than {PARTIAL:.0%})."
    return Verdict.NO_CHANGE, (
        f"Change of {overall.change:+.0%} is not distinguishable from no change "
        f"(95% interval {overall.low - 1:+.0%} to {overall.high - 1:+.0%})."
    )


def estimate(
    before,
    after,
    *,
    deploy_weekday: int,
    control_before=None,
    control_after=None,
    min_baseline: int | None = None,
    confidence: float = CONFIDENCE,
) -> ImpactResult:
    """Measure one fix from daily counts.

    `before`: the cluster's tickets on the 30 days before the deploy day (oldest first).
    `after`: its tickets on the days after the deploy day observed so far (0 to 30, oldest first;
    the deploy day itself is in neither). `control_*`: all other tickets on the same days.
    `deploy_weekday`: weekday of the deploy day, Monday = 0.
    """
    before = np.asarray(before, dtype=float)
    after = np.asarray(after, dtype=float)[:WINDOW_DAYS]
    cb = None if control_before is None else np.asarray(control_before, dtype=float)
    ca = None if control_after is None else np.asarray(control_after, dtype=float)[: len(after)]
    needed = min_baseline if min_baseline is not None else min_baseline_tickets(confidence=confidence)
    wd_before, wd_after = _weekdays(deploy_weekday, len(before), len(after))
    baseline_total = int(before.sum())
    result = ImpactResult(
        verdict=Verdict.PENDING,
        days_observed=len(after),
        baseline_tickets=baseline_total,
        after_tickets=int(after.sum()),
        min_baseline_tickets=needed,
        before_per_day=round(float(before.mean()), 2) if len(before) else 0.0,
        after_per_day=round(float(after.mean()), 2) if len(after) else 0.0,
    )
    exposure = _exposure(before, cb, ca, wd_before, wd_after)
    result.control_used = exposure.control_used
    result.dow_profile = [round(float(x), 3) for x in exposure.profile]
    rate = baseline_total / exposure.before.sum() if baseline_total else 0.0
    mean_before, mean_after = rate * exposure.before, rate * exposure.after
    dispersion = _dispersion(before, mean_before) if baseline_total else 1.0
    result.dispersion = round(dispersion, 2)
    result.expected_before = [round(float(x), 2) for x in mean_before]
    result.expected_after_series = [round(float(x), 2) for x in mean_after]
    result.expected_after = round(float(mean_after.sum()), 1)
    band = _band(np.concatenate([mean_before, mean_after]), dispersion, confidence)
    result.band_before, result.band_after = band[: len(before)], band[len(before) :]

    if baseline_total < needed:
        result.verdict = Verdict.INSUFFICIENT_DATA
        result.reason = (
            f"Only {baseline_total} tickets in the 30 days before the fix; at least {needed} are needed "
            "(with fewer, even a fix that removed every ticket could not be shown to have worked)."
        )
        return result
    if len(after) == 0 or exposure.after.sum() <= 0:
        result.reason = "No complete day since the deploy yet."
        return result

    def measure(days: slice) -> RateRatio | None:
        tickets, exp = after[days], exposure.after[days]
        if len(tickets) == 0 or exp.sum() <= 0:
            return None
        var_cluster = 1 / (tickets.sum() + 0.5) + 1 / (baseline_total + 0.5)
        inflation = dispersion * (1 + exposure.control_variance / var_cluster)
        return rate_ratio(
            tickets.sum(), exp.sum(), baseline_total, exposure.before.sum(), inflation=inflation, confidence=confidence
        )

    overall = measure(slice(None))
    first_week = measure(slice(0, FIRST_WEEK_DAYS)) if len(after) >= FIRST_WEEK_DAYS else None
    late_days = slice(LATE_FROM_DAY - 1, None)
    late = measure(late_days) if len(after) - (LATE_FROM_DAY - 1) >= LATE_MIN_DAYS else None
    late_vs_first = None
    if first_week is not None and late is not None:
        late_vs_first = rate_ratio(
            after[late_days].sum(),
            exposure.after[late_days].sum(),
            after[:FIRST_WEEK_DAYS].sum(),
            exposure.after[:FIRST_WEEK_DAYS].sum(),
            inflation=dispersion,
            confidence=confidence,
        )
    result.change_pct = _pct(overall.change)
    result.change_low_pct = _pct(overall.low - 1)
    result.change_high_pct = _pct(overall.high - 1)
    if first_week is not None:
        result.first_week_change_pct = _pct(first_week.change)
        result.first_week_low_pct = _pct(first_week.low - 1)
        result.first_week_high_pct = _pct(first_week.high - 1)
    if late is not None:
        result.late_change_pct = _pct(late.change)

    verdict, reason = classify(overall, first_week, late, late_vs_first)
    if len(after) >= WINDOW_DAYS:
        result.verdict, result.reason = verdict, reason
    elif len(after) >= PROVISIONAL_AFTER_DAYS:
        result.provisional_verdict = verdict
        result.reason = f"Provisional after {len(after)} of {WINDOW_DAYS} days: {reason}"
    else:
        result.reason = (
            f"{len(after)} of {WINDOW_DAYS} days observed; a provisional read comes after {PROVISIONAL_AFTER_DAYS}."
        )
    return result
