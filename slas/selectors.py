"""Reads of SLA policies, calendars and clocks: policy matching, state for lists, overview, compliance."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from slas.business_time import ALWAYS, WorkingTime
from slas.filters import SlaTimerFilter
from slas.models import Alert, BusinessCalendar, Holiday, SlaPolicy, SlaTimer, Target, TimerState
from tickets.models import Customer, Role, Ticket, cluster_kind_for
from tickets.models.choices import SEGMENT_RANK, TIER_RANK


def working_times() -> dict[int | None, WorkingTime]:
    """Every calendar as a WorkingTime, keyed by id (None = 24/7 UTC); two queries."""
    holidays: dict[int, list] = defaultdict(list)
    for calendar_id, day in Holiday.objects.values_list("calendar_id", "date"):
        holidays[calendar_id].append(day)
    result: dict[int | None, WorkingTime] = {None: ALWAYS}
    for calendar in BusinessCalendar.objects.all():
        result[calendar.pk] = calendar.working_time(holidays[calendar.pk])
    return result


def policies_active() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.filter(is_active=True).prefetch_related("ticket_types").order_by("position", "id"))


@dataclass(frozen=True)
class ConditionsInUse:
    """Which ticket facts any active policy looks at (so a new ticket without them changes nothing)."""

    customer: bool
    ticket_type: bool
    feedback_kind: bool


_conditions_cache: dict[str, tuple[float, ConditionsInUse]] = {}
CONDITIONS_CACHE_SECONDS = 30.0


def policy_conditions_in_use() -> ConditionsInUse:
    """Cached for a few seconds per process; policy changes clear it (see slas.apps)."""
    cached = _conditions_cache.get("value")
    if cached and time.monotonic() - cached[0] < CONDITIONS_CACHE_SECONDS:
        return cached[1]
    policies = policies_active()
    value = ConditionsInUse(
        customer=any(p.min_segment or p.min_plan_tier or p.min_mrr_at_stake is not None for p in policies),
        ticket_type=any(p.ticket_types.all() for p in policies),
        feedback_kind=any(p.feedback_kinds for p in policies),
    )
    _conditions_cache["value"] = (time.monotonic(), value)
    return value


def policy_conditions_forget(**kwargs) -> None:
    _conditions_cache.clear()


@dataclass(frozen=True)
class ClusterFacts:
    """What the policy conditions look at, gathered from a cluster and its tickets."""

    priority: str
    kind: str
    ticket_type_ids: frozenset[int]
    feedback_kinds: frozenset[str]
    segment_rank: int
    tier_rank: int
    mrr_at_stake: Decimal


def cluster_facts(*, cluster) -> ClusterFacts:
    """Two queries: the tickets' types and kinds, and the distinct affected customers."""
    pairs = set(Ticket.objects.filter(cluster=cluster).values_list("ticket_type_id", "feedback_kind").distinct())
    customers = list(
        Customer.objects.filter(tickets__cluster=cluster).distinct().values_list("segment", "plan_tier", "mrr")
    )
    type_ids = {t for t, _ in pairs if t} | ({cluster.ticket_type_id} if cluster.ticket_type_id else set())
    return ClusterFacts(
        priority=cluster.priority or "",
        kind=cluster.kind,
        ticket_type_ids=frozenset(type_ids),
        feedback_kinds=frozenset(k for _, k in pairs),
        segment_rank=max((SEGMENT_RANK.get(s, 0) for s, _, _ in customers), default=0),
        tier_rank=max((TIER_RANK.get(t, 0) for _, t, _ in customers), default=0),
        mrr_at_stake=sum((m or Decimal(0) for _, _, m in customers), Decimal(0)),
    )


def policy_matches(policy: SlaPolicy, facts: ClusterFacts) -> bool:
    """True when every condition of `policy` holds for the cluster (empty conditions hold)."""
    if policy.priorities and facts.priority not in policy.priorities:
        return False
    if policy.cluster_kinds and facts.kind not in policy.cluster_kinds:
        return False
    if policy.feedback_kinds and not (
        facts.feedback_kinds & set(policy.feedback_kinds)
        or (facts.kind == "feature_request" and "feature_request" in policy.feedback_kinds)
    ):
        return False
    type_ids = {t.pk for t in policy.ticket_types.all()}
    if type_ids and not (facts.ticket_type_ids & type_ids):
        return False
    if policy.min_segment and facts.segment_rank < SEGMENT_RANK[policy.min_segment]:
        return False
    if policy.min_plan_tier and facts.tier_rank < TIER_RANK[policy.min_plan_tier]:
        return False
    return not (policy.min_mrr_at_stake is not None and facts.mrr_at_stake <= policy.min_mrr_at_stake)


def policy_match(*, cluster, policies: list[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The first active policy, in position order, whose conditions hold for `cluster`."""
    policies = policies_active() if policies is None else policies
    facts = cluster_facts(cluster=cluster)
    return next((p for p in policies if policy_matches(p, facts)), None)


def product_lead_emails() -> list[str]:
    User = get_user_model()
    return sorted(
        set(
            User.objects.filter(groups__name=Role.PRODUCT_LEAD, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


# --- What people see ------------------------------------------------------------


@dataclass
class TimerView:
    """One timer as shown to people: remaining (negative = breached by) business seconds."""

    timer: SlaTimer
    remaining: float | None

    @property
    def breached(self) -> bool:
        return self.timer.state == TimerState.RUNNING and self.remaining is not None and self.remaining < 0

    @property
    def share_used(self) -> float | None:
        if self.remaining is None or not self.timer.target_seconds:
            return None
        return 1 - self.remaining / self.timer.target_seconds


@dataclass
class ClusterSla:
    """The SLA in force on one cluster and its clocks, most urgent first."""

    policy: SlaPolicy | None
    timers: list[TimerView]

    @property
    def headline(self) -> TimerView | None:
        """The clock people should look at: the running one with the least time left, else a paused one."""
        running = [t for t in self.timers if t.timer.state == TimerState.RUNNING and t.remaining is not None]
        if running:
            return min(running, key=lambda t: t.remaining)
        return next((t for t in self.timers if t.timer.state == TimerState.PAUSED), None)


TARGET_ORDER = {Target.ACKNOWLEDGMENT: 0, Target.UPDATE: 1, Target.RESOLUTION: 2}


def timer_remaining(timer: SlaTimer, times: dict[int | None, WorkingTime], now: datetime) -> float | None:
    """Business seconds left before breach at `now` (negative once breached); None without a running window."""
    if timer.target_seconds is None or timer.state not in (TimerState.RUNNING, TimerState.PAUSED):
        return None
    consumed = timer.consumed_seconds
    if timer.running_since:
        calendar_id = timer.policy.calendar_id if timer.policy else None
        consumed += times.get(calendar_id, ALWAYS).seconds_between(timer.running_since, now)
    return timer.target_seconds - consumed


def sla_states(clusters, *, now: datetime | None = None) -> dict[int, ClusterSla]:
    """SLA state for many clusters in three queries (timers with policies, calendars, holidays)."""
    now = now or timezone.now()
    ids = [c.pk for c in clusters if c is not None]
    if not ids:
        return {}
    times = working_times()
    by_cluster: dict[int, list[SlaTimer]] = defaultdict(list)
    for timer in SlaTimer.objects.filter(cluster_id__in=ids).select_related("policy"):
        by_cluster[timer.cluster_id].append(timer)
    result = {}
    for cluster_id in ids:
        timers = sorted(by_cluster.get(cluster_id, []), key=lambda t: TARGET_ORDER.get(t.target, 9))
        policy = next((t.policy for t in timers if t.policy), None)
        views = [TimerView(t, timer_remaining(t, times, now)) for t in timers if t.state != TimerState.NONE]
        result[cluster_id] = ClusterSla(policy=policy, timers=views)
    return result


def alerts_for_cluster(*, cluster_id: int, limit: int = 20) -> list[Alert]:
    return list(Alert.objects.filter(cluster_id=cluster_id).order_by("-created_at", "-id")[:limit])


def timer_list(*, filters: dict | None = None) -> QuerySet[SlaTimer]:
    """Timers with a window (running or paused), soonest deadline first, filtered by SlaTimerFilter."""
    qs = (
        SlaTimer.objects.filter(state__in=(TimerState.RUNNING, TimerState.PAUSED), target_seconds__isnull=False)
        .select_related("cluster", "cluster__owner", "policy")
        .order_by("deadline_at", "id")
    )
    return SlaTimerFilter(filters or {}, queryset=qs).qs


def overview_counts(*, now: datetime | None = None, soon_hours: int = 24) -> dict[str, int]:
    now = now or timezone.now()
    running = SlaTimer.objects.filter(state=TimerState.RUNNING)
    return {
        "breached": running.filter(deadline_at__lte=now).count(),
        "due_soon": running.filter(deadline_at__gt=now, deadline_at__lte=now + timedelta(hours=soon_hours)).count(),
        "paused": SlaTimer.objects.filter(state=TimerState.PAUSED, target_seconds__isnull=False).count(),
    }


# --- Compliance ---------------------------------------------------------------------


def _week_start(moment: datetime) -> datetime:
    moment = timezone.localtime(moment)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def _outcome(row: dict, now: datetime) -> str:
    """'within', 'missed' or 'pending' for one timer row."""
    if row["met_at"] is not None:
        return "within" if row["met_within"] else "missed"
    if row["breached_at"] is not None or (row["deadline_at"] is not None and row["deadline_at"] <= now):
        return "missed"
    return "pending"


def compliance_report(*, weeks: int = 12, now: datetime | None = None) -> dict[str, Any]:
    """Per week (by when the window opened): share acknowledged within SLA, median and p90 business
    hours to acknowledge, and share resolved within SLA by priority. Pending windows are left out
    of the shares (they have not been decided yet)."""
    now = now or timezone.now()
    since = _week_start(now) - timedelta(weeks=weeks - 1)
    fields = ("opened_at", "met_at", "met_within", "breached_at", "deadline_at", "elapsed_seconds", "cluster__priority")
    rows = SlaTimer.objects.filter(
        target__in=(Target.ACKNOWLEDGMENT, Target.RESOLUTION), target_seconds__isnull=False, opened_at__gte=since
    ).values("target", *fields)
    weeks_data: dict[datetime, dict] = {}
    for i in range(weeks):
        start = since + timedelta(weeks=i)
        weeks_data[start] = {"ack": {"within": 0, "missed": 0, "pending": 0, "elapsed": []}, "res": defaultdict(dict)}
    for row in rows:
        bucket = weeks_data.get(_week_start(row["opened_at"]))
        if bucket is None:
            continue
        outcome = _outcome(row, now)
        if row["target"] == Target.ACKNOWLEDGMENT:
            bucket["ack"][outcome] += 1
            if row["met_at"] is not None and row["elapsed_seconds"] is not None:
                bucket["ack"]["elapsed"].append(row["elapsed_seconds"] / 3600)
        else:
            counts = bucket["res"][row["cluster__priority"] or "none"]
            counts[outcome] = counts.get(outcome, 0) + 1
    report = []
    for start, bucket in weeks_data.items():
        ack = bucket["ack"]
        decided = ack["within"] + ack["missed"]
        elapsed = sorted(ack["elapsed"])
        resolution = {}
        for priority in sorted(bucket["res"]):
            c = bucket["res"][priority]
            done = c.get("within", 0) + c.get("missed", 0)
            resolution[priority] = {
                "within": c.get("within", 0),
                "missed": c.get("missed", 0),
                "pending": c.get("pending", 0),
                "share_within": round(c.get("within", 0) / done, 4) if done else None,
            }
        report.append(
            {
                "week_start": start.date().isoformat(),
                "acknowledged_within": ack["within"],
                "acknowledged_late": ack["missed"],
                "ack_pending": ack["pending"],
                "share_acknowledged_within": round(ack["within"] / decided, 4) if decided else None,
                "median_hours_to_acknowledge": round(statistics.median(elapsed), 2) if elapsed else None,
                "p90_hours_to_acknowledge": round(_percentile(elapsed, 0.9), 2) if elapsed else None,
                "resolution_by_priority": resolution,
            }
        )
    return {"weeks": report, "generated_at": now.isoformat()}


# --- Acknowledgment targets of feedback in its queue ------------------------------------


@dataclass(frozen=True)
class FeedbackAckTarget:
    """When an owner should acknowledge one ticket of feedback, by the first SLA policy its facts match."""

    policy: SlaPolicy | None
    due_at: datetime | None  # None: the policy sets no acknowledgment clock (praise, competitive intel)
    met_at: datetime | None

    @property
    def has_clock(self) -> bool:
        return self.due_at is not None


def feedback_ack_target(*, ticket, policies: list[SlaPolicy], times: dict) -> FeedbackAckTarget:
    """The acknowledgment target of a ticket in its feedback queue, through the SLA policies: its kind, its
    type, its customer's segment, tier and MRR, and its cluster's priority, like a cluster's policy; the
    window runs on the policy's calendar from when the customer reported it. No query when the ticket's
    customer, cluster and feedback row are loaded."""
    customer = ticket.customer
    cluster = ticket.cluster
    facts = ClusterFacts(
        priority=(cluster.priority if cluster else "") or "",
        kind=cluster_kind_for(ticket.feedback_kind),
        ticket_type_ids=frozenset([ticket.ticket_type_id] if ticket.ticket_type_id else []),
        feedback_kinds=frozenset([ticket.feedback_kind]),
        segment_rank=SEGMENT_RANK.get(customer.segment, 0) if customer else 0,
        tier_rank=TIER_RANK.get(customer.plan_tier, 0) if customer else 0,
        mrr_at_stake=(customer.mrr or Decimal(0)) if customer else Decimal(0),
    )
    policy = next((p for p in policies if policy_matches(p, facts)), None)
    item = getattr(ticket, "feedback", None) if hasattr(ticket, "feedback") else None
    met_at = item.acknowledged_at if item else None
    if policy is None or not policy.ack_minutes:
        return FeedbackAckTarget(policy=policy, due_at=None, met_at=met_at)
    due_at = times.get(policy.calendar_id, ALWAYS).add(ticket.reported_at, policy.ack_minutes * 60.0)
    return FeedbackAckTarget(policy=policy, due_at=due_at, met_at=met_at)
