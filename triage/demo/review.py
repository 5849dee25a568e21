"""The weekly review's part of the demo organisation: a story for the week of the demo's end and the week before.

Run by `seed_demo` once it loaded and clustered the history, so that every
section of the review has something real to show for the current week and the previous one:

- two new bugs reported this week (a P1 payment failure support escalated, which product acknowledged
  within its SLA, gave a workaround the same morning and updates daily; and a feature bug with full
  reproduction steps);
- two fixes shipped eight days before the end, so their first read arrives this week: one worked (most
  of its tickets stop), one did not (its tickets keep coming at the same rate) and is flagged Reopen;
- every fix's verdict history replayed day by day, as the daily task would have measured it;
- the volume alerts, spikes and regressions beat raised on each past day, delivered that day (see
  `triage.demo.history`), and what beat finds new today: the first start sends only today's alerts;
- the meetings of the last two weeks: decisions and action items, some done, one carried over;
- the week's evidence patterns across every ticket type;
- the at-risk handoffs dated when the signal that raised each one came in (within the quarter hour, as beat would
  have raised it), and the two biggest of last week's already acknowledged and acted on by their CSM.

Everything goes through the apps' services; only timestamps of the story (when a fix went out, when the
P1 was acknowledged, when the meeting took place) are set to their moment in the history, as the rest of
the demo does.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from metrics.services import fix_verdict_history_rebuild, rollup_rebuild
from metrics.services.rollup import local_day
from slas.services import clock_sync, timers_sweep
from tickets.clusters.alerts import cluster_thresholds_sweep, clusters_spike_detect
from tickets.clusters.details import cluster_update_details
from tickets.clusters.services import (
    cluster_create,
    cluster_mark_fixed,
    cluster_refresh_counters,
    cluster_respond,
    cluster_triage,
)
from tickets.intake.services import ticket_create
from tickets.models import (
    AssignmentSource,
    BugCluster,
    ClusterEvent,
    ClusterKind,
    ClusterStatus,
    Customer,
    Role,
    Ticket,
    TicketType,
)
from triage.accounts.models import Handoff, HandoffKind
from triage.accounts.services import handoff_record_intervention
from triage.demo.history import accounts_replay, regressions_replay, volume_alerts_replay, volume_claims_withdraw
from triage.review.models import MeetingItem
from triage.review.services import meeting_item_add, meeting_item_carry_over, week_patterns_refresh
from triage.review.weeks import ReviewWeek, week_of

SEED = 20262
FIX_DAYS_AGO = 8  # the first read of a fix comes after 7 complete days: this week's
WORKED_KEEP_EVERY = 8
RECENT_DAILY = (1, 2, 2, 3)  # extra reports a day of the two bugs fixed recently (enough for a first read)

PAYMENT_BUG = {
    "title": "Apple Pay checkout fails with error 5012 on iOS 17.4",
    "summary": "Since Monday, Apple Pay payments on iPhones running iOS 17.4 are declined with error 5012.",
    "type": "payment_failure",
    "priority": "P1",
    "tickets": 24,
    "subjects": (
        "Apple Pay declined at checkout (5012)",
        "Customer can't pay with Apple Pay on iPhone",
        "Error 5012 when paying with Apple Pay",
        "apple pay not working since the update",
    ),
    "bodies": (
        "The customer taps Apple Pay, confirms with Face ID and then sees 'Payment declined (5012)'. Card works "
        "when typed in by hand.",
        "Renewal failed twice with Apple Pay on an iPhone 15. They had to switch to the card form to pay.",
        "Since this week Apple Pay gives error 5012 right after the Face ID prompt. Safari on iOS 17.4.",
    ),
}
FEATURE_BUG = {
    "title": "Timesheet export drops entries logged after midnight",
    "summary": "CSV exports of timesheets leave out time entries that start after 00:00 in the user's zone.",
    "type": "feature_bug",
    "priority": "",
    "tickets": 9,
    "subjects": (
        "Timesheet CSV is missing night shift hours",
        "Export leaves out entries after midnight",
        "Hours missing from timesheet export",
    ),
    "bodies": (
        "Our night team logs from 23:00 to 03:00; the export only shows the part before midnight.",
        "The totals in the export are lower than on screen. The missing rows all start after 00:00.",
    ),
}


def review_demo_seed(*, end: datetime | None = None) -> str:
    """Add the review's story to a loaded demo history ending at `end` (default now); returns a summary line."""
    end = end or timezone.now()
    now = timezone.now()
    week = week_of(end, now=now)
    rng = random.Random(SEED)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["lead", "omar", "agent", "csm"])}
    lead = users.get("lead") or get_user_model().objects.filter(groups__name=Role.PRODUCT_LEAD).first()
    tickets_from = Ticket.objects.aggregate(n=Max("pk"))["n"] or 0
    with transaction.atomic():
        new = [_new_bug(spec, week=week, end=end, rng=rng) for spec in (PAYMENT_BUG, FEATURE_BUG)]
        worked, failed = _recent_fixes(end=end, by=lead, rng=rng)
        if lead is not None:  # in the same transaction: the SLA clocks start on the story as told
            _handled_in_time(new[0], by=lead, end=end, message="Escalated by support; reproduced on iOS 17.4.")
            _handled_in_time(
                new[1], by=users.get("omar") or lead, end=end, message="Reproduced from the steps.", updates=False
            )
    # The accounts these reports came from: their customer-success story, told again with them.
    touched = Ticket.objects.filter(pk__gt=tickets_from, customer__isnull=False).values_list("customer_id", flat=True)
    accounts_replay(end=end, customer_ids=sorted(set(touched)))
    # The rollup and the fixes' verdicts, as the beat tasks keep them (tickets were written in bulk).
    first = Ticket.objects.aggregate(first=Min("reported_at"))["first"] or end
    rollup_rebuild(day_from=local_day(first), day_to=local_day(now))
    verdicts = fix_verdict_history_rebuild(now=now)
    regressions_replay()  # a fix that regressed on a past day was flagged, and its owner told, that day
    # What beat raised on the past days, delivered then; then today's run: what is new today goes out now.
    volume_claims_withdraw(since=now - LOAD_TOLERANCE)
    volume_alerts_replay(end=end)
    cluster_thresholds_sweep(now=end)
    clusters_spike_detect(now=end)
    timers_sweep()  # as of the moment it runs: the new clusters' clocks were started after `now`
    items = _meetings(week=week, users=users, lead=lead, clusters=[worked, failed])
    handoffs = _handoffs_when_raised(week=week, end=end)
    for shown in (week, week.previous):
        week_patterns_refresh(week=shown)
    return (
        f"Weekly review: {len(new)} new bugs in {week.key}, fixes shipped {FIX_DAYS_AGO} days ago on "
        f"'{worked.title if worked else '-'}' and '{failed.title if failed else '-'}', {verdicts} verdicts "
        f"replayed, {items} meeting items over two weeks, {handoffs} at-risk accounts flagged in {week.key}.\n"
    )


# --- New bugs of the week ---------------------------------------------------------------------------


def _evidence(kind: str, rng: random.Random) -> dict:
    if kind == "payment_failure":
        return {
            "payment_method": "apple_pay",
            "amount": f"USD {rng.choice(['49.00', '99.00', '249.00', '19.00'])}",
            "error_code": "5012",
            "transaction_id": f"txn_{rng.randrange(16**10):010x}",
            "checkout_step": rng.choice(["payment_details", "renewal", "confirmation"]),
            "browser": "Safari 17.4",
            "os": "iOS 17.4",
            "device": "mobile",
        }
    return {
        "component": "reports",
        "steps_to_reproduce": "1. Log time from 23:00 to 02:00 on a timesheet\n2. Open Reports > Timesheets\n"
        "3. Export the week as CSV",
        "expected_behavior": "The export lists every entry with its full duration.",
        "actual_behavior": "Entries that start after midnight are missing and the weekly total is short.",
        "frequency": "always",
        "browser": rng.choice(["Chrome 122", "Firefox 123", "Edge 122"]),
        "os": rng.choice(["Windows 11", "macOS 14.3"]),
    }


def _new_bug(spec: dict, *, week: ReviewWeek, end: datetime, rng: random.Random) -> BugCluster:
    """A cluster opened this week with its tickets, each filed by an agent through the filing service."""
    ticket_type = TicketType.objects.get(key=spec["type"])
    start = max(week.start + timedelta(minutes=5), end - timedelta(days=3))
    span = max((end - start).total_seconds() - 600, 60)
    moments = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(spec["tickets"]))
    opened = moments[0]
    cluster = cluster_create(
        title=spec["title"],
        kind=ClusterKind.BUG,
        ticket_type=ticket_type,
        summary=spec["summary"],
        priority=spec["priority"],
    )
    BugCluster.objects.filter(pk=cluster.pk).update(created_at=opened)
    ClusterEvent.objects.filter(cluster=cluster, kind=ClusterEvent.Kind.CREATED).update(created_at=opened)
    customers = list(Customer.objects.order_by("pk"))
    agents = list(get_user_model().objects.filter(groups__name=Role.AGENT).order_by("pk"))
    for moment in moments:
        ticket_create(
            subject=rng.choice(spec["subjects"]),
            description=rng.choice(spec["bodies"]),
            ticket_type=ticket_type,
            evidence=_evidence(spec["type"], rng),
            customer=rng.choice(customers) if customers else None,
            agent=rng.choice(agents) if agents else None,
            reported_at=moment,
            source="zendesk",
            cluster=cluster,
        )
    return cluster


LOAD_TOLERANCE = timedelta(hours=2)  # `seed_demo` loads and clusters the history within this before the review
ACK_AFTER = timedelta(minutes=40)  # product acknowledged the P1 well inside its 4 hours
WORKAROUND_AFTER = timedelta(hours=2)
LAST_UPDATE_BEFORE_END = timedelta(hours=4)  # the daily update of today, well inside its 24 hours
WORKAROUND = "Customers can pay with the card form (tap 'Pay with card' instead of Apple Pay) until the fix is out."


def _handled_in_time(cluster: BugCluster, *, by, end: datetime, message: str, updates: bool = True) -> None:
    """A new bug as product handled it: triaged and owned 40 minutes after it opened; with `updates` (the P1) a
    workaround two hours later (which meets its same-day resolution target) and a daily update since. Each step
    goes through its service and is dated to its moment in one transaction, so the SLA clocks read the story's
    times."""
    opened = BugCluster.objects.filter(pk=cluster.pk).values_list("created_at", flat=True).get()
    acknowledged = opened + ACK_AFTER
    steps = [
        (acknowledged, lambda c: cluster_triage(cluster=c, actor=by, status=ClusterStatus.ACKNOWLEDGED, owner=by,
                                                message=message)),
        (acknowledged + WORKAROUND_AFTER, lambda c: cluster_update_details(cluster=c, actor=by, workaround=WORKAROUND)),
    ]  # fmt: skip
    last_update = end - LAST_UPDATE_BEFORE_END
    day = acknowledged + timedelta(days=1)
    while updates and day < last_update:
        steps.append((day, _daily_update(by)))
        day += timedelta(days=1)
    if updates and last_update > steps[-1][0]:
        steps.append((last_update, _daily_update(by)))
    steps = steps if updates else steps[:1]
    for at, step in steps:
        with transaction.atomic():
            events_from = ClusterEvent.objects.filter(cluster=cluster).aggregate(n=Max("pk"))["n"] or 0
            step(BugCluster.objects.get(pk=cluster.pk))
            ClusterEvent.objects.filter(cluster=cluster, pk__gt=events_from).update(created_at=at)
            dated = {"last_product_update_at": at, "updated_at": at}
            if at == acknowledged:
                dated |= {"acknowledged_at": at, "status_changed_at": at}
            BugCluster.objects.filter(pk=cluster.pk).update(**dated)
    clock_sync(cluster_id=cluster.pk)


def _daily_update(by):
    message = (
        "Daily update: the payment provider confirmed the 5012 declines; the fix is in testing. "
        "Next update within 24 hours."
    )
    return lambda c: cluster_respond(cluster=c, actor=by, message=message)


# --- Two fixes whose first read is this week -------------------------------------------------------


def _deploy_time(end: datetime) -> datetime:
    day = local_day(end) - timedelta(days=FIX_DAYS_AGO)
    return timezone.make_aware(datetime.combine(day, time(17, 30)), timezone.get_default_timezone())


def _refile(cluster: BugCluster, *, start: datetime, stop: datetime, rng: random.Random) -> int:
    """More reports of `cluster` between `start` and `stop` (RECENT_DAILY a day), each worded like one of its
    own tickets, for other customers. Written in bulk as the rest of the demo's history is (their evidence
    is a copy of evidence already validated), then the cluster's counters are refreshed."""
    models = list(Ticket.objects.filter(cluster=cluster).exclude(ticket_type=None).order_by("-reported_at")[:12])
    customers = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    agents = list(get_user_model().objects.filter(groups__name=Role.AGENT).order_by("pk").values_list("pk", flat=True))
    rows, day = [], start
    while day < stop and models:
        for _ in range(rng.choice(RECENT_DAILY)):
            moment = day + timedelta(hours=rng.uniform(0, 24))
            if moment >= stop:
                continue
            model = rng.choice(models)
            rows.append(
                Ticket(
                    source="intercom",
                    external_id=f"IC-{cluster.pk}-{len(rows) + 1}-{int(moment.timestamp())}",
                    subject=model.subject,
                    description=model.description,
                    feedback_kind=model.feedback_kind,
                    ticket_type_id=model.ticket_type_id,
                    evidence=model.evidence,
                    evidence_completeness=model.evidence_completeness,
                    customer_id=rng.choice(customers) if customers else None,
                    agent_id=rng.choice(agents) if agents else None,
                    reported_at=moment,
                    cluster=cluster,
                    cluster_assigned_at=moment + timedelta(minutes=20),
                    assignment_source=AssignmentSource.IMPORT,
                    assignment_reasons=["linked to this bug in the help desk history"],
                )
            )
        day += timedelta(days=1)
    Ticket.objects.bulk_create(rows)
    cluster_refresh_counters(cluster=cluster)
    return len(rows)


def _recent_fixes(*, end: datetime, by, rng: random.Random) -> tuple[BugCluster | None, BugCluster | None]:
    """The two open bugs with the most tickets in the month before get a fix deployed (bugs with a fix date
    promised are left alone). Both were reported more often that month; after the fix, the first one's
    reports all but stop (the fix worked: its later reports are removed but one in WORKED_KEEP_EVERY) and
    the other's keep coming at the same rate (it did not)."""
    deployed_at = _deploy_time(end)
    busiest = (
        Ticket.objects.filter(
            cluster__kind=ClusterKind.BUG,
            cluster__status__in=(ClusterStatus.ACKNOWLEDGED, ClusterStatus.IN_PROGRESS),
            cluster__fix_deployed_at=None,
            cluster__fix_eta=None,
            reported_at__gte=deployed_at - timedelta(days=30),
            reported_at__lt=deployed_at,
        )
        .values("cluster_id")
        .annotate(n=Count("id"))
        .order_by("-n", "cluster_id")
        .values_list("cluster_id", flat=True)[:2]
    )
    candidates = [BugCluster.objects.get(pk=pk) for pk in busiest]
    if len(candidates) < 2:
        return None, None
    worked, failed = candidates
    month_before = deployed_at - timedelta(days=30)
    _refile(worked, start=month_before, stop=deployed_at, rng=rng)
    _refile(failed, start=month_before, stop=end, rng=rng)
    # The fix worked: from the day after it went out, only one report in WORKED_KEEP_EVERY still comes.
    after = timezone.make_aware(
        datetime.combine(local_day(deployed_at) + timedelta(days=1), time.min), timezone.get_default_timezone()
    )
    later = Ticket.objects.filter(cluster=worked, reported_at__gte=after).order_by("reported_at", "pk")
    gone = [pk for i, pk in enumerate(later.values_list("pk", flat=True)) if i % WORKED_KEEP_EVERY]
    Ticket.objects.filter(pk__in=gone).delete()
    cluster_refresh_counters(cluster=worked)
    for cluster in (worked, failed):
        cluster_mark_fixed(cluster=cluster, deployed_at=deployed_at, actor=by or cluster.owner)
        # The story tells when the fix went out, not when the demo was loaded.
        ClusterEvent.objects.filter(cluster=cluster, kind=ClusterEvent.Kind.FIX_DEPLOYED).update(created_at=deployed_at)
        ClusterEvent.objects.filter(
            cluster=cluster, kind=ClusterEvent.Kind.STATUS_CHANGED, data__to=ClusterStatus.FIXED
        ).update(created_at=deployed_at)
        BugCluster.objects.filter(pk=cluster.pk).update(status_changed_at=deployed_at)
    return worked, failed


# --- The meetings of the last two weeks --------------------------------------------------------------


def _at(week: ReviewWeek, weekday: int, hour: int) -> datetime:
    return timezone.make_aware(
        datetime.combine(week.monday + timedelta(days=weekday), time(hour)), timezone.get_default_timezone()
    )


def _meetings(*, week: ReviewWeek, users: dict, lead, clusters: list[BugCluster | None]) -> int:
    """Decisions and action items of the two weeks before `week` (last week's open the current page)."""
    if lead is None:
        return 0
    busiest = list(
        BugCluster.objects.filter(
            kind=ClusterKind.BUG, status__in=(ClusterStatus.ACKNOWLEDGED, ClusterStatus.IN_PROGRESS)
        ).order_by("-ticket_count", "pk")[:4]
    )
    fixed = [c for c in clusters[:2] if c is not None]
    pick = (fixed + [c for c in busiest if c not in fixed] + [None] * 4)[:4]
    omar, agent, csm = users.get("omar") or lead, users.get("agent"), users.get("csm")
    two_ago, last = week.previous.previous, week.previous
    plan = [
        (two_ago, "action", "Collect request IDs from customers reporting “{}”", agent, pick[2], True),
        (two_ago, "action", "Call the enterprise accounts hit by “{}”", csm, pick[0], False),
        (two_ago, "decision", "“{}” stays P1 until the fix is out", lead, pick[0], None),
        (last, "decision", "Ship the fix for “{}” this week and watch its tickets", omar, pick[1], None),
        (last, "action", "Confirm with support that tickets about “{}” stopped", agent, pick[0], True),
        (last, "action", "Publish the workaround for “{}” in the help centre", agent, pick[1], True),
        (last, "action", "Get a HAR file from a customer on “{}”", csm, pick[3], False),
    ]
    created = 0
    with transaction.atomic():
        # A demo loaded again replaces its meetings instead of adding a second copy.
        MeetingItem.objects.filter(week__in=[two_ago.monday, last.monday]).delete()
        for shown, kind, template, owner, cluster, done in plan:
            text = template.format(cluster.title if cluster else "the busiest bug")
            item = meeting_item_add(
                week=shown,
                kind=kind,
                text=text,
                by=lead,
                owner=owner,
                due_date=shown.monday + timedelta(days=4) if kind == "action" else None,
                cluster=cluster,
            )
            meeting_at = _at(shown, 1, 10)
            MeetingItem.objects.filter(pk=item.pk).update(
                created_at=meeting_at,
                done_at=_at(shown, 3, 16) if done else None,
                done_by=owner if done else None,
            )
            created += 1
        open_item = MeetingItem.objects.filter(week=two_ago.monday, kind="action", done_at=None).first()
        if open_item is not None:
            carried = meeting_item_carry_over(item=open_item, by=lead, week=last)
            MeetingItem.objects.filter(pk=carried.pk).update(created_at=_at(last, 1, 10), done_at=_at(last, 2, 12))
            created += 1
    return created


# --- At-risk handoffs in their week --------------------------------------------------------------------------

HANDOFF_DELAY = timedelta(minutes=15)  # beat assesses accounts every quarter of an hour
INTERVENTIONS = (
    "Called their VP Operations with our support lead; agreed a fix date for the bugs hitting them.",
    "Booked an executive sponsor call and a training session for their new admin.",
)


def _handoffs_when_raised(*, week: ReviewWeek, end: datetime) -> int:
    """Date each handoff (raised by the history's daily replay of the assessment) when its newest evidence
    came in, as the assessment beat runs every quarter of an hour would have raised it; the two biggest
    accounts raised last week have since been acknowledged and acted on by their CSM. Returns how many
    accounts were flagged at risk in `week`."""
    reported = dict(Ticket.objects.values_list("pk", "reported_at").filter(pk__in=_evidence_ids()))
    for handoff in Handoff.objects.order_by("pk"):
        moments = [reported[pk] for pk in handoff.evidence_ids if pk in reported]
        raised = min(end, max(moments) + HANDOFF_DELAY) if moments else end
        when = {"created_at": raised}
        if handoff.sent_at is not None:  # sent on its day by the history's replay: sent when raised
            when.update(enqueued_at=raised, sent_at=raised)
        Handoff.objects.filter(pk=handoff.pk).update(**when)
    last_week = (
        Handoff.objects.filter(
            kind=HandoffKind.AT_RISK, created_at__gte=week.previous.start, created_at__lt=week.start, csm__isnull=False
        )
        .select_related("csm")
        .order_by("-customer__mrr", "pk")[: len(INTERVENTIONS)]
    )
    for handoff, words in zip(list(last_week), INTERVENTIONS, strict=False):
        handoff_record_intervention(handoff=handoff, actor=handoff.csm, intervention=words)
        # The story tells when the CSM acted, not when the demo was loaded.
        Handoff.objects.filter(pk=handoff.pk).update(
            acknowledged_at=handoff.created_at + timedelta(hours=3),
            intervention_at=min(end, handoff.created_at + timedelta(days=1, hours=2)),
        )
    return Handoff.objects.filter(kind=HandoffKind.AT_RISK, created_at__gte=week.start, created_at__lt=week.end).count()


def _evidence_ids() -> set[int]:
    return {pk for ids in Handoff.objects.values_list("evidence_ids", flat=True) for pk in ids}
