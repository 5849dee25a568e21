"""Fixtures of the weekly review's tests: a fixed "now" in New York (see helpers)."""

import pytest
import time_machine

from tests.review.helpers import NOW, ZONE


@pytest.fixture
def review_now(settings):
    """Wednesday 11 March 2026 15:00 in New York, the organisation's time zone; the clock stands still."""
    settings.TIME_ZONE = ZONE
    with time_machine.travel(NOW, tick=False):
        yield NOW
