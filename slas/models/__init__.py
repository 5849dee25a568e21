"""Service levels: calendars, policies, the clocks on each cluster and the alerts they fire."""

from slas.models.calendars import WEEKDAYS, BusinessCalendar, Holiday
from slas.models.policies import SlaPolicy, Stage, Target
from slas.models.timers import STAGE_KIND, VOLUME_ALERT_KINDS, Alert, AlertKind, SlaTimer, TimerState

__all__ = [
    "VOLUME_ALERT_KINDS",
    "STAGE_KIND",
    "WEEKDAYS",
    "Alert",
    "AlertKind",
    "BusinessCalendar",
    "Holiday",
    "SlaPolicy",
    "SlaTimer",
    "Stage",
    "Target",
    "TimerState",
]
