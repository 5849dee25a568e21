from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.db import models

from slas.business_time import WorkingTime

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"'{value}' is not a time zone; use an IANA name such as Europe/Berlin or America/New_York."
        ) from None
    if value not in available_timezones() and value != "UTC":
        raise ValidationError(f"'{value}' is not a time zone; use an IANA name such as Europe/Berlin.")


class BusinessCalendar(models.Model):
    """When SLA clocks run: always (24/7), or on working days between opening and closing hours,
    in one time zone, minus the calendar's holidays."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    always_open = models.BooleanField("24/7", default=False, help_text="Every hour counts; days and hours are ignored.")
    monday = models.BooleanField(default=True)
    tuesday = models.BooleanField(default=True)
    wednesday = models.BooleanField(default=True)
    thursday = models.BooleanField(default=True)
    friday = models.BooleanField(default=True)
    saturday = models.BooleanField(default=False)
    sunday = models.BooleanField(default=False)
    day_start = models.TimeField(default=time(9), help_text="Local opening time.")
    day_end = models.TimeField(default=time(17), help_text="Local closing time; 00:00 means midnight (whole days).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def work_days(self) -> frozenset[int]:
        return frozenset(i for i, name in enumerate(WEEKDAYS) if getattr(self, name))

    def clean(self) -> None:
        if self.always_open:
            return
        if not self.work_days:
            raise ValidationError({"monday": "Tick at least one working day, or make the calendar 24/7."})
        if self.day_end != time(0) and self.day_end <= self.day_start:
            raise ValidationError(
                {"day_end": "The closing time must be after the opening time (00:00 means midnight)."}
            )

    def working_time(self, holidays=None) -> WorkingTime:
        """The calendar as a WorkingTime value; pass `holidays` (dates) to avoid a query."""
        if holidays is None:
            holidays = self.holidays.values_list("date", flat=True)
        return WorkingTime(
            tz=ZoneInfo(self.time_zone),
            always_open=self.always_open,
            work_days=self.work_days,
            start=self.day_start,
            end=None if self.day_end == time(0) else self.day_end,
            holidays=frozenset(holidays),
        )


class Holiday(models.Model):
    """One day on which a calendar's clock does not run (a public holiday, a company day off)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_per_calendar")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()
