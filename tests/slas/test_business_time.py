"""Business-time arithmetic across weekends, holidays, time zones and daylight-saving changes."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from slas.business_time import ALWAYS, WorkingTime

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600


def nine_to_five(tz=UTC, holidays=()):
    return WorkingTime(tz=tz, always_open=False, start=time(9), end=time(17), holidays=frozenset(holidays))


def test_always_open_counts_every_second():
    start = datetime(2026, 3, 6, 22, 0, tzinfo=UTC)
    assert ALWAYS.add(start, 4 * HOUR) == datetime(2026, 3, 7, 2, 0, tzinfo=UTC)
    assert ALWAYS.seconds_between(start, datetime(2026, 3, 9, 22, 0, tzinfo=UTC)) == 72 * HOUR


def test_a_friday_afternoon_window_continues_on_monday():
    wt = nine_to_five()
    friday_4pm = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    assert wt.add(friday_4pm, 4 * HOUR) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert wt.seconds_between(friday_4pm, datetime(2026, 3, 9, 12, 0, tzinfo=UTC)) == 4 * HOUR


def test_started_out_of_hours_the_clock_starts_at_opening():
    wt = nine_to_five()
    saturday = datetime(2026, 3, 7, 11, 0, tzinfo=UTC)
    assert wt.add(saturday, HOUR) == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert wt.seconds_between(saturday, datetime(2026, 3, 8, 23, 0, tzinfo=UTC)) == 0


def test_holidays_are_skipped():
    wt = nine_to_five(holidays=[date(2026, 3, 9)])  # the Monday
    friday_4pm = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    assert wt.add(friday_4pm, 4 * HOUR) == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_hours_are_local_to_the_calendars_time_zone():
    wt = nine_to_five(tz=NEW_YORK)  # EST = UTC-5 in January
    start = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert wt.add(start, HOUR) == datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # 10:00 local


def test_daylight_saving_change_keeps_nine_to_five_local():
    wt = nine_to_five(tz=BERLIN)
    # Berlin moves to summer time on Sunday 29 March 2026: Friday opens 08:00 UTC, Monday 07:00 UTC.
    friday_5pm_local = datetime(2026, 3, 27, 16, 0, tzinfo=UTC)
    due = wt.add(friday_5pm_local, 2 * HOUR)
    assert due == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).hour == 11


def test_whole_day_calendar_across_a_dst_night_counts_the_real_hours():
    wt = WorkingTime(tz=BERLIN, always_open=False, work_days=frozenset(range(7)), start=time(0), end=None)
    sunday = date(2026, 3, 29)
    start = datetime.combine(sunday, time(0), tzinfo=BERLIN)
    end = datetime.combine(date(2026, 3, 30), time(0), tzinfo=BERLIN)
    assert wt.seconds_between(start, end) == 23 * HOUR


@pytest.mark.parametrize("seconds", [0, 1, HOUR, 8 * HOUR, 8 * HOUR + 1, 40 * HOUR, 200 * HOUR])
def test_add_and_seconds_between_agree(seconds):
    wt = nine_to_five(tz=BERLIN, holidays=[date(2026, 4, 3)])
    start = datetime(2026, 3, 26, 15, 30, tzinfo=UTC)
    assert wt.seconds_between(start, wt.add(start, seconds)) == pytest.approx(seconds)
