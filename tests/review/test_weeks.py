"""ISO weeks in the organisation's time zone: written as 2026-W07, Monday to Sunday, the DST week included."""

from datetime import UTC, date, timedelta

import pytest

from tests.review.helpers import LAST_MONDAY, NOW, THIS_MONDAY, local
from triage.review.weeks import BadWeek, week_current, week_of, week_parse


def test_a_week_is_written_year_w_number_and_read_back(review_now):
    week = week_parse("2026-W11")
    assert week.key == "2026-W11" and week.monday == THIS_MONDAY and week.sunday == date(2026, 3, 15)
    assert week_parse("2026-w11").key == "2026-W11"
    assert week_parse("2026-W7").key == "2026-W07"
    assert week_current().key == "2026-W11"
    assert week_of(date(2026, 1, 1)).key == "2026-W01"  # 1 January 2026 is a Thursday: week 1 of 2026
    assert week_of(date(2027, 1, 1)).key == "2026-W53"  # 2026 has 53 ISO weeks


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-13", "write it as YEAR-Wweek"),
        ("last week", "write it as YEAR-Wweek"),
        ("2025-W53", "2025 has no week 53; its weeks are 1 to 52"),
        ("2026-W00", "2026 has no week 0"),
        ("0001-W01", "out of range"),
    ],
)
def test_a_malformed_or_unknown_week_says_what_is_wrong(text, says):
    with pytest.raises(BadWeek, match=says):
        week_parse(text)


def test_bounds_are_local_midnights_and_the_dst_week_is_an_hour_short(review_now):
    this, last = week_parse("2026-W11"), week_parse("2026-W10")
    assert this.start == local(THIS_MONDAY, 0) and this.end == local(THIS_MONDAY + timedelta(days=7), 0)
    assert last.monday == LAST_MONDAY and last.end == this.start
    # Clocks went forward on Sunday 8 March (same-zone subtraction is wall-clock time: compare in UTC).
    assert last.end.astimezone(UTC) - last.start.astimezone(UTC) == timedelta(hours=167)
    assert this.is_current and not last.is_current and week_parse("2026-W12").is_future


def test_the_current_week_is_compared_with_the_same_days_of_last_week(review_now):
    this = week_current()
    assert this.days_covered == 3 and this.last_day == date(2026, 3, 11)
    assert this.compare_last_day == date(2026, 3, 4)  # Monday to Wednesday of last week
    last = this.previous
    assert last.days_covered == 7 and last.compare_last_day == date(2026, 3, 1)
    assert last.until == last.end and this.until == NOW
