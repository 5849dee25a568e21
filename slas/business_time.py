"""Business-time arithmetic: how much working time lies between two instants, and when N seconds of it end.

Pure functions over a frozen `WorkingTime` value, so the sweep can build one per calendar
and reuse it for thousands of timers without touching the database. Working hours are
local wall-clock hours in the calendar's time zone, so a 09:00-17:00 day stays 09:00-17:00
across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS_SCANNED = 366 * 5


@dataclass(frozen=True)
class WorkingTime:
    """When the clock runs: always, or on working days between start and end (end None = midnight)."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    always_open: bool = True
    work_days: frozenset[int] = frozenset(range(5))  # 0 = Monday
    start: time = time(9)
    end: time | None = time(17)
    holidays: frozenset[date] = frozenset()

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.work_days or day in self.holidays:
            return None
        opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
        if self.end is None:
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz).astimezone(UTC)
        else:
            closes = datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)
        return (opens, closes) if closes > opens else None

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Working seconds in [start, end); 0 when end is not after start."""
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        total = 0.0
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date() + timedelta(days=1)
        while day <= last:
            window = self._window(day)
            if window:
                lo, hi = max(window[0], start), min(window[1], end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant at which `seconds` of working time have passed since `start`."""
        if self.always_open:
            return start + timedelta(seconds=max(seconds, 0))
        remaining = max(seconds, 0.0)
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        for _ in range(MAX_DAYS_SCANNED):
            window = self._window(day)
            day += timedelta(days=1)
            if not window or window[1] <= start:
                continue
            lo = max(window[0], start)
            available = (window[1] - lo).total_seconds()
            if remaining <= available:
                if remaining == 0:
                    return lo
                return lo + timedelta(seconds=remaining)
            remaining -= available
        raise ValueError("The calendar has no working time within five years; check its working days and holidays.")


ALWAYS = WorkingTime()


def humanize_seconds(seconds: float) -> str:
    """'2 d 3 h', '3 h 20 min', '45 min', 'under a minute' (business time, days of 24 h)."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return "under a minute"
