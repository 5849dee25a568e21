"""ISO weeks (Monday to Sunday) in the organisation's time zone: the unit of the weekly review."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

FIRST_YEAR, LAST_YEAR = 1900, 9998
_WEEK_RE = re.compile(r"^(?P<year>\d{4})-W(?P<week>\d{1,2})$", re.IGNORECASE)


class BadWeek(ValueError):
    """A week written wrongly (not YYYY-Www) or one that does not exist (week 53 of most years)."""


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


@dataclass(frozen=True)
class ReviewWeek:
    """One ISO week: its Monday, its bounds as moments in the organisation's time zone, and where `now` is."""

    monday: date
    now: datetime

    # --- naming ---------------------------------------------------------------------------------
    @property
    def year(self) -> int:
        return self.monday.isocalendar().year

    @property
    def number(self) -> int:
        return self.monday.isocalendar().week

    @property
    def key(self) -> str:
        """How the week is written in URLs and files: 2026-W07."""
        return f"{self.year}-W{self.number:02d}"

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        return f"Week {self.number}, {self.year}"

    # --- bounds ---------------------------------------------------------------------------------
    @property
    def start(self) -> datetime:
        return _midnight(self.monday)

    @property
    def end(self) -> datetime:
        """The next Monday at midnight (exclusive); a DST change makes the week 167 or 169 hours long."""
        return _midnight(self.monday + timedelta(days=7))

    @property
    def today(self) -> date:
        return timezone.localtime(self.now, timezone.get_default_timezone()).date()

    @property
    def is_current(self) -> bool:
        return self.monday <= self.today <= self.sunday

    @property
    def is_future(self) -> bool:
        return self.monday > self.today

    @property
    def last_day(self) -> date:
        """The last day with figures: today for the current week, Sunday for a past one."""
        return min(self.sunday, self.today)

    @property
    def days_covered(self) -> int:
        """Days of the week with figures so far (1-7)."""
        return max(1, (self.last_day - self.monday).days + 1)

    @property
    def until(self) -> datetime:
        """The end of what is known about the week: now for the current week, its end otherwise."""
        return min(self.end, self.now)

    # --- neighbours -----------------------------------------------------------------------------
    @property
    def previous(self) -> ReviewWeek:
        return ReviewWeek(self.monday - timedelta(days=7), self.now)

    @property
    def next(self) -> ReviewWeek:
        return ReviewWeek(self.monday + timedelta(days=7), self.now)

    @property
    def compare_last_day(self) -> date:
        """Last day of the previous week compared with this one: the same weekdays as are covered so far."""
        return self.previous.monday + timedelta(days=self.days_covered - 1)

    @property
    def compare_end(self) -> datetime:
        """The end (exclusive) of the days of the previous week compared with this one."""
        return _midnight(self.compare_last_day + timedelta(days=1))

    def weeks_back(self, count: int) -> list[ReviewWeek]:
        """The `count` weeks ending with this one, oldest first."""
        return [ReviewWeek(self.monday - timedelta(days=7 * i), self.now) for i in range(count - 1, -1, -1)]


def week_of(moment: datetime | date, *, now: datetime | None = None) -> ReviewWeek:
    """The week holding `moment` (a date, or a moment read in the organisation's time zone)."""
    now = now or timezone.now()
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment, timezone.get_default_timezone()).date()
    return ReviewWeek(moment - timedelta(days=moment.weekday()), now)


def week_current(*, now: datetime | None = None) -> ReviewWeek:
    now = now or timezone.now()
    return week_of(now, now=now)


def week_parse(text: str, *, now: datetime | None = None) -> ReviewWeek:
    """`2026-W07` (or `2026-w7`) as a ReviewWeek; BadWeek says what is wrong."""
    match = _WEEK_RE.match((text or "").strip())
    if not match:
        raise BadWeek(f"'{(text or '')[:40]}' is not a week; write it as YEAR-Wweek, e.g. 2026-W07.")
    year, number = int(match["year"]), int(match["week"])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadWeek(f"{year} is out of range; weeks of the years {FIRST_YEAR} to {LAST_YEAR} exist here.")
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        last = date(year, 12, 28).isocalendar().week
        raise BadWeek(f"{year} has no week {number}; its weeks are 1 to {last}.") from None
    return ReviewWeek(monday, now or timezone.now())
