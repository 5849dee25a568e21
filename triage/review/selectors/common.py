"""What every section of the review shares: the clusters shown, their SLA state and latest story entry,
the week's alerts and the people who can own things. Each is read once per page, whatever the sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from slas.models import SlaTimer
from slas.selectors import breaches_in_weeks, sla_states, timers_due, volume_alerts_in_period
from tickets.models import BugCluster, ClusterEvent, Role
from triage.review.models import WeekPatterns
from triage.review.weeks import ReviewWeek

BREACHES_SHOWN = 8
VOLUME_ALERTS_SHOWN = 6
# What people did or said on a cluster (alerts and ticket additions are left out of the row's "latest").
STORY_KINDS = tuple(
    k for k in ClusterEvent.Kind.values if k not in (ClusterEvent.Kind.TICKET_ADDED, ClusterEvent.Kind.ALERT)
)
DUE_DAYS = 7
DUE_SHOWN = 8


@dataclass
class Person:
    """Someone who can own a cluster (product leads, admins) or an action item (anyone with a role)."""

    pk: int
    name: str
    can_own_clusters: bool


@dataclass
class Shared:
    """Reads shared by the sections of one page, each done at most once.

    Sections `show()` the clusters they list; `finish()` then reads SLA state and the latest story entry
    of all of them in one go (the page calls it after every section was built, before rendering).
    """

    week: ReviewWeek
    can_run: bool = False
    shown: dict[int, list[BugCluster]] = field(default_factory=dict)
    due: list[SlaTimer] = field(default_factory=list)
    due_total: int = 0
    finished: bool = False
    _breaches: tuple | None = None
    _volume_alerts: list | None = None
    _snapshot: object = False
    _people: list[Person] | None = None

    @property
    def now(self) -> datetime:
        return self.week.now

    def show(self, clusters) -> None:
        for cluster in clusters:
            self.shown.setdefault(cluster.pk, []).append(cluster)

    def breaches(self) -> tuple[list, int, int]:
        """This week's SLA breaches (the newest few), how many this week and how many last week (one query)."""
        if self._breaches is None:
            self._breaches = breaches_in_weeks(
                start=self.week.previous.start, middle=self.week.start, end=self.week.end, limit=BREACHES_SHOWN
            )
        return self._breaches

    def volume_alerts(self) -> list:
        """This week's threshold crossings and spikes, the newest few of each (one query)."""
        if self._volume_alerts is None:
            self._volume_alerts = volume_alerts_in_period(
                start=self.week.start, end=self.week.end, per_kind=VOLUME_ALERTS_SHOWN
            )
        return self._volume_alerts

    def snapshot(self):
        """The week's mined patterns and ticket counts per type (one query), or None before the first mining."""
        if self._snapshot is False:
            self._snapshot = WeekPatterns.objects.filter(week=self.week.monday).first()
        return self._snapshot

    def people(self) -> list[Person]:
        if self._people is None:
            self._people = people_list()
        return self._people

    def finish(self) -> None:
        """SLA state and latest story entry of every shown cluster, and the clocks due in the next days."""
        if self.finished:
            return
        self.finished = True
        if self.week.is_current:
            self.due, self.due_total = timers_due(
                start=self.now, end=self.now + timedelta(days=DUE_DAYS), limit=DUE_SHOWN
            )
        if not self.shown:
            return
        clusters = [copies[0] for copies in self.shown.values()]
        states = sla_states(clusters, now=self.now, cached_calendars=True)
        latest = latest_events(cluster_ids=list(self.shown))
        for cluster_id, copies in self.shown.items():
            for cluster in copies:
                cluster.review_sla = states.get(cluster_id)
                cluster.review_latest = latest.get(cluster_id)


def people_list() -> list[Person]:
    """Active users with a role (or superusers), by name; one query."""
    User = get_user_model()
    leads = User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name=Role.PRODUCT_LEAD)
    users = (
        User.objects.filter(Q(groups__name__in=Role.values) | Q(is_superuser=True), is_active=True)
        .annotate(is_lead=Exists(leads))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
    return [
        Person(pk=u.pk, name=u.get_full_name() or u.get_username(), can_own_clusters=u.is_lead or u.is_superuser)
        for u in users
    ]


def latest_events(*, cluster_ids: list[int]) -> dict[int, ClusterEvent]:
    """The newest thing people did or said on each cluster (its story without ticket additions and alerts),
    with its actor; one query."""
    if not cluster_ids:
        return {}
    newest = (
        ClusterEvent.objects.filter(cluster_id__in=cluster_ids, kind__in=STORY_KINDS)
        .annotate(
            position=Window(
                RowNumber(), partition_by=F("cluster_id"), order_by=[F("created_at").desc(), F("id").desc()]
            )
        )
        .filter(position=1)
        .select_related("actor")
    )
    return {event.cluster_id: event for event in newest}


def change(current: int, previous: int) -> dict[str, Any]:
    """A count against the one before: difference and percentage (None when there was nothing before)."""
    diff = current - previous
    return {"diff": diff, "pct": round(100 * diff / previous) if previous else None}


def local_now() -> datetime:
    return timezone.localtime(timezone.now(), timezone.get_default_timezone())
