"""The meeting's record: this week's decisions and action items, last week's action items and whether each
was done, and the report's sendings."""

from __future__ import annotations

from dataclasses import dataclass, field

from triage.review.models import MeetingItem, ReportDelivery
from triage.review.weeks import ReviewWeek


@dataclass
class MeetingSection:
    week: ReviewWeek
    decisions: list[MeetingItem] = field(default_factory=list)
    actions: list[MeetingItem] = field(default_factory=list)
    last_week_actions: list[MeetingItem] = field(default_factory=list)
    deliveries: list[ReportDelivery] = field(default_factory=list)

    @property
    def last_week_open(self) -> int:
        return sum(1 for item in self.last_week_actions if not item.is_done)


def meeting_items(week: ReviewWeek) -> list[MeetingItem]:
    """Items of the week and the week before, with owner, cluster and where each was carried; one query."""
    return list(
        MeetingItem.objects.filter(week__in=[week.monday, week.previous.monday])
        .select_related("owner", "cluster", "carried_to", "carried_from")
        .order_by("created_at", "id")
    )


def meeting_record(week: ReviewWeek, shared=None, *, with_deliveries: bool = True) -> MeetingSection:
    section = MeetingSection(week=week)
    for item in meeting_items(week):
        if item.week == week.monday:
            (section.decisions if item.kind == MeetingItem.Kind.DECISION else section.actions).append(item)
        elif item.kind == MeetingItem.Kind.ACTION:
            section.last_week_actions.append(item)
    if with_deliveries:
        section.deliveries = report_deliveries(week)
    return section


def report_deliveries(week: ReviewWeek, limit: int = 5) -> list[ReportDelivery]:
    """The latest sendings of the week's report, newest first; one query."""
    return list(ReportDelivery.objects.filter(week=week.monday).select_related("requested_by")[:limit])


def meeting_item_get(*, pk: int, week: ReviewWeek) -> MeetingItem | None:
    """An item shown on `week`'s page: recorded that week, or an action item of the week before."""
    return (
        MeetingItem.objects.filter(pk=pk, week__in=[week.monday, week.previous.monday])
        .select_related("owner", "cluster", "carried_to")
        .first()
    )
