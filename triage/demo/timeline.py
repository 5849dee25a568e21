"""When tickets arrive: daily Poisson rates per ticket stream, weekly seasonality, fix effects.

The history is `DAYS` calendar days (UTC) ending at `end`. Each stream (one
recurring bug, one feature theme, the one-off bugs of a type, one other
feedback kind) has a daily rate; the counts of all (stream, day) cells are
drawn together as a multinomial of the requested total, which is a set of
independent Poisson counts conditioned on their sum, so `--tickets N` gives
exactly N tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from triage.demo.bugs import (
    COMPANY_DIP,
    COMPANY_DIP_DAYS,
    COMPANY_DIP_FACTOR,
    EFFECT_MULTIPLIER,
    GRADUAL_DAYS,
    PARTIAL_GRADUAL,
    REGRESSION,
    REGRESSION_DAYS,
    RecurringBug,
)

DAYS = 180
# Monday .. Sunday: support is quiet at weekends.
WEEKDAY_FACTOR = (1.12, 1.10, 1.06, 1.02, 0.92, 0.42, 0.38)
# UTC hour of day: Europe's morning, then the Americas' day.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 12, 13, 14, 14, 13, 11, 9, 7, 5, 3, 2, 1)
DEPLOY_HOUR = 17  # deploys go out at 17:30 UTC on Tuesday to Thursday


@dataclass
class Stream:
    """One source of tickets with its own daily rate."""

    key: str
    family: str
    weight: float
    start_day: int = 0
    bug: RecurringBug | None = None
    payload: object = None


class Calendar:
    """The days of the history and the dates of the fixes, relative to `end`."""

    def __init__(self, end: datetime):
        self.end = end.astimezone(UTC).replace(microsecond=0)
        self.first_date: date = self.end.date() - timedelta(days=DAYS - 1)

    def day_start(self, day: int) -> datetime:
        return datetime.combine(self.first_date + timedelta(days=day), time(0), tzinfo=UTC)

    def day_of(self, days_ago: int) -> int:
        return DAYS - 1 - days_ago

    def deploy_at(self, days_ago: int) -> datetime:
        """The deploy time of a fix made `days_ago`, moved back to a Tuesday-Thursday."""
        day = self.end.date() - timedelta(days=days_ago)
        while day.weekday() not in (1, 2, 3):
            day -= timedelta(days=1)
        return datetime.combine(day, time(DEPLOY_HOUR, 30), tzinfo=UTC)

    def effect_start_day(self, days_ago: int) -> int:
        """First whole day after the deploy: the first day with the fix's effect."""
        return (self.deploy_at(days_ago).date() - self.first_date).days + 1

    def today_fraction(self) -> float:
        """Share of a day's tickets that have arrived by `end` on the last day."""
        elapsed = self.end - self.day_start(DAYS - 1)
        hours, rest = divmod(int(elapsed.total_seconds()), 3600)
        done = sum(HOUR_WEIGHTS[:hours]) + (HOUR_WEIGHTS[hours] * rest / 3600 if hours < 24 else 0)
        return done / sum(HOUR_WEIGHTS)


def fix_multiplier(effect: str, days_since_fix: int) -> float:
    """The true change of a bug's daily rate `days_since_fix` whole days after its fix went out."""
    if effect == PARTIAL_GRADUAL:
        return 1.0 - 0.5 * min(1.0, (days_since_fix + 1) / GRADUAL_DAYS)
    if effect == REGRESSION:
        return 0.1 if days_since_fix < REGRESSION_DAYS else 1.05
    return EFFECT_MULTIPLIER[effect]


def daily_rates(streams: list[Stream], calendar: Calendar, bugs: list[RecurringBug]) -> np.ndarray:
    """Expected relative ticket rate of each stream (rows) on each day (columns)."""
    days = np.arange(DAYS)
    weekday = np.array([WEEKDAY_FACTOR[(calendar.first_date + timedelta(days=int(d))).weekday()] for d in days])
    growth = 0.85 + 0.3 * days / DAYS  # the customer base grows over the half-year
    company = weekday * growth
    for bug in bugs:
        if bug.fix_effect == COMPANY_DIP:
            start = calendar.effect_start_day(bug.fix_days_ago)
            company[start : start + COMPANY_DIP_DAYS] *= COMPANY_DIP_FACTOR
    company[-1] *= calendar.today_fraction()

    rates = np.zeros((len(streams), DAYS))
    for row, stream in enumerate(streams):
        rate = np.where(days >= stream.start_day, stream.weight, 0.0) * company
        bug = stream.bug
        if bug is not None and bug.fix_effect:
            start = calendar.effect_start_day(bug.fix_days_ago)
            for day in range(start, DAYS):
                rate[day] *= fix_multiplier(bug.fix_effect, day - start)
        if bug is not None and bug.surge_days:
            rate *= surge_multiplier(bug)
        rates[row] = rate
    return rates


def surge_multiplier(bug: RecurringBug) -> np.ndarray:
    """Per-day factor of a surging bug: 1 until `surge_days` before the end, then up to `surge_factor`."""
    factor = np.ones(DAYS)
    first = DAYS - bug.surge_days
    for day in range(first, DAYS):
        reached = 1.0 if not bug.surge_ramp_days else min(1.0, (day - first + 1) / bug.surge_ramp_days)
        factor[day] = 1.0 + (bug.surge_factor - 1.0) * reached
    return factor


def draw_counts(rates: np.ndarray, total: int, seed: int, steady_rows=()) -> np.ndarray:
    """Ticket counts per (stream, day), summing to exactly `total`.

    Most streams are Poisson counts conditioned on their sum (one multinomial). `steady_rows` follow
    their expected counts closely: each week's total is its expectation rounded (systematic rounding,
    so any run of weeks is within one ticket of it), spread over the week's days as a multinomial.
    The demo's fixed bugs are drawn so, so that every fix's measured effect is its documented true
    effect, not a lucky or unlucky draw; their days still vary like real ones.
    """
    rng = np.random.default_rng(seed)
    expected = rates / rates.sum() * total
    counts = np.zeros(rates.shape, dtype=np.int64)
    steady = sorted(set(steady_rows))
    for row in steady:
        counts[row] = _steady_counts(expected[row], rng)
    rest = np.ones(len(rates), dtype=bool)
    rest[steady] = False
    flat = rates[rest].ravel()
    counts[rest] = rng.multinomial(max(0, total - int(counts.sum())), flat / flat.sum()).reshape(rates[rest].shape)
    return counts


def _steady_counts(expected: np.ndarray, rng) -> np.ndarray:
    weekly = np.add.reduceat(expected, np.arange(0, len(expected), 7))
    cumulative = np.floor(np.cumsum(weekly) + rng.random())
    totals = np.diff(cumulative, prepend=0.0).astype(np.int64)
    counts = np.zeros(len(expected), dtype=np.int64)
    for week, total in enumerate(totals):
        days = expected[week * 7 : week * 7 + 7]
        if total > 0 and days.sum() > 0:
            counts[week * 7 : week * 7 + 7] = rng.multinomial(total, days / days.sum())
    return counts


def sample_time(rng, calendar: Calendar, day: int) -> datetime:
    """A moment in `day` following the hourly profile; never after `calendar.end`."""
    start = calendar.day_start(day)
    limit = (calendar.end - start).total_seconds() if day == DAYS - 1 else 86400.0
    for _ in range(20):
        hour = rng.choices(_HOURS, cum_weights=_CUM_HOURS)[0]
        offset = hour * 3600 + rng.randrange(3600)
        if offset < limit:
            return start + timedelta(seconds=offset)
    return start + timedelta(seconds=rng.randrange(max(1, int(limit))))


_HOURS = list(range(24))
_CUM_HOURS = list(np.cumsum(HOUR_WEIGHTS))
