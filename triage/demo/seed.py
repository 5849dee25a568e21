"""Create (or replace) the demo history: users, customers, clusters, tickets and the clusters' story.

Everything happens in one transaction, so an interrupted run leaves nothing
half-made. Tickets are streamed (see `triage.demo.writer`), so memory stays
bounded up to a million tickets.
"""

from __future__ import annotations

import logging
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from metrics.models import DailyTicketVolume
from tickets.intake.evidence import evidence_validate
from tickets.models import (
    Attachment,
    BugCluster,
    ClusterCorrection,
    ClusterEvent,
    ClusterProfile,
    ClusterTerm,
    Customer,
    OutboxMessage,
    PlanTier,
    Requirement,
    Role,
    Segment,
    TermStat,
    Ticket,
    TicketType,
)
from tickets.outbox import outbox_put_many
from triage.demo import feedback as fb
from triage.demo.catalog import RECURRING_BUGS, STEADY_BUGS
from triage.demo.clusters import ClusterStory, demo_cluster_assignment, demo_counters_refresh
from triage.demo.customer_success import demo_customer_success
from triage.demo.generate import DemoCustomer, TicketMaker
from triage.demo.timeline import DAYS, Calendar, Stream, daily_rates, draw_counts, sample_time
from triage.demo.vocab import (
    COMPANY_FIRST,
    COMPANY_FORM,
    COMPANY_SECOND,
    CURRENCY_BY_FORM,
    DEMO_PASSWORD,
    DEMO_USERS,
    PLAN_PRICE,
    REGION_BY_CURRENCY,
)
from triage.demo.writer import TicketWriter, indexes_rebuilt_after

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20261
DEFAULT_TICKETS = 6000
CUSTOMERS = {Segment.ENTERPRISE: 30, Segment.MID_MARKET: 70, Segment.SMB: 100}
UNASSIGNED_HOURS = 48  # the newest tickets wait for the clustering engine
VALIDATED_TICKETS = 20_000  # evidence of about this many tickets is re-validated during a run
BULK_INDEX_THRESHOLD = 100_000  # from this size on PostgreSQL, indexes are built once after loading
TAIL_TYPES = {"login_issue": 0.25, "payment_failure": 0.2, "feature_bug": 0.4, "performance_issue": 0.15}
SEGMENT_TIERS = {
    Segment.ENTERPRISE: ([PlanTier.ENTERPRISE, PlanTier.BUSINESS], [4, 1]),
    Segment.MID_MARKET: ([PlanTier.BUSINESS, PlanTier.PROFESSIONAL], [2, 3]),
    Segment.SMB: ([PlanTier.PROFESSIONAL, PlanTier.STARTER, PlanTier.FREE], [3, 5, 2]),
}
SEATS = {Segment.ENTERPRISE: (80, 900), Segment.MID_MARKET: (20, 150), Segment.SMB: (2, 25)}


@dataclass
class DemoResult:
    """What a run created, for the command's summary line."""

    tickets: int
    customers: int
    clusters: int
    users: int
    seconds: float


def demo_is_loaded() -> bool:
    return Ticket.objects.exists() or BugCluster.objects.exists()


def demo_reset() -> None:
    """Delete all tickets, clusters, their events and customers (the demo's data; users are kept), and what was
    derived from them: the organisation's daily counts (no foreign key leads there from a ticket, so no cascade
    would empty them: a later history would show the deleted tickets on the days it does not recount) and the
    announcements of their changes (cluster ids start again at 1, so an unsent one would name a new cluster)."""
    models = [
        ClusterEvent,
        ClusterCorrection,
        ClusterTerm,
        ClusterProfile,
        TermStat,
        Attachment,
        Ticket,
        BugCluster,
        Customer,
        DailyTicketVolume,
        OutboxMessage,
    ]
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        with transaction.atomic(), connection.cursor() as cursor:
            # Run foreign-key checks still pending in this transaction now: TRUNCATE refuses tables with any.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # CASCADE also empties later apps' tables that point at these (SLA clocks, measurements).
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        return
    for model in models:
        model.objects.all().delete()


def demo_users_create(*, reset_passwords: bool) -> dict[str, object]:
    """The demo cast, all with DEMO_PASSWORD; existing users keep theirs unless `reset_passwords`."""
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow on purpose
    users = {}
    for username, first, last, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@planwise.example"},
        )
        if created or reset_passwords:
            user.password = password
        user.first_name, user.last_name, user.is_active = first, last, True
        if role == Role.ADMIN:
            user.is_staff = user.is_superuser = True
        user.save()
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        users[username] = user
    return users


def _company_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    combos = [(a, b) for a in COMPANY_FIRST for b in COMPANY_SECOND]
    rng.shuffle(combos)
    names = []
    for first, second in combos[:count]:
        form = rng.choice(COMPANY_FORM)
        names.append((f"{first} {second} {form}".strip(), form))
    return names


def demo_customers_create(*, rng: random.Random, end: datetime, csm) -> list[DemoCustomer]:
    """About 200 accounts over the segments, with plan tier, MRR, renewal date and CSM owner."""
    names = iter(_company_names(rng, sum(CUSTOMERS.values())))
    rows, extra = [], {}
    number = 0
    for segment, count in CUSTOMERS.items():
        tiers, weights = SEGMENT_TIERS[segment]
        for _ in range(count):
            number += 1
            name, form = next(names)
            tier = rng.choices(tiers, weights=weights)[0]
            seats = rng.randint(*SEATS[segment])
            mrr = PLAN_PRICE[tier] * seats * rng.uniform(0.75, 1.0)
            currency = CURRENCY_BY_FORM.get(form, "USD")
            renewal = end.date() + timedelta(days=rng.randint(3, 365))
            external_id = f"ORG-{40000 + number * 7}"
            rows.append(
                Customer(
                    name=name,
                    external_id=external_id,
                    segment=segment,
                    plan_tier=tier,
                    mrr=round(mrr, 2),
                    renewal_date=renewal,
                    csm_owner=csm if segment != Segment.SMB else None,
                )
            )
            extra[external_id] = (currency, rng.choice(REGION_BY_CURRENCY[currency]))
    Customer.objects.bulk_create(rows)
    customers = []
    for c in Customer.objects.filter(external_id__in=extra).order_by("external_id"):
        currency, region = extra[c.external_id]
        renewal = datetime.combine(c.renewal_date, datetime.min.time(), tzinfo=UTC)
        customers.append(DemoCustomer(c.pk, c.name, c.segment, c.plan_tier, currency, region, renewal))
    return customers


def demo_streams(calendar: Calendar) -> list[Stream]:
    """Every source of tickets with its share of the total."""
    streams = []
    bug_total = sum(b.weight for b in RECURRING_BUGS)
    for bug in RECURRING_BUGS:
        start = max(0, calendar.day_of(bug.started_days_ago))
        weight = fb.MIX["recurring"] * bug.weight / bug_total
        streams.append(Stream(f"bug:{bug.key}", "recurring", weight, start, bug=bug))
    for type_key, share in TAIL_TYPES.items():
        streams.append(Stream(f"tail:{type_key}", "tail_bug", fb.MIX["tail_bug"] * share, payload=type_key))
    theme_total = sum(t.weight for t in fb.FEATURE_THEMES)
    for theme in fb.FEATURE_THEMES:
        weight = fb.MIX["feature_request"] * theme.weight / theme_total
        start = max(0, calendar.day_of(theme.started_days_ago))
        streams.append(Stream(f"fr:{theme.key}", "feature_request", weight, start, payload=theme))
    for kind in fb.OTHER_FEEDBACK:
        streams.append(Stream(f"other:{kind}", kind, fb.MIX[kind]))
    return streams


def demo_seed(
    *, tickets: int = DEFAULT_TICKETS, seed: int = DEFAULT_SEED, end: datetime | None = None, progress=None
) -> DemoResult:
    """Create the whole demo history ending at `end` (default: now). Deterministic for a seed and `end`.

    Call on an empty database (see `demo_reset`). `progress(n)` is called after
    every batch of n tickets written.
    """
    started = time.monotonic()
    calendar = Calendar(end or timezone.now())
    rng = random.Random(seed)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Check each row's foreign keys as it is copied instead of queueing millions of checks
                # until COMMIT (memory in the server grows with the queue).
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        users = demo_users_create(reset_passwords=True)
        leads = [u for u in users.values() if u.groups.filter(name=Role.PRODUCT_LEAD).exists()]
        agents = [u for u in users.values() if u.groups.filter(name=Role.AGENT).exists()]
        customers = demo_customers_create(rng=rng, end=calendar.end, csm=users["csm"])
        types = {t.key: t for t in TicketType.objects.prefetch_related("fields")}
        story = ClusterStory(calendar=calendar, types=types, leads=leads)
        clusters = story.create(RECURRING_BUGS, fb.FEATURE_THEMES)
        cluster_ids = {key: cluster.pk for key, cluster in clusters.items()}
        written = _write_tickets(
            calendar=calendar,
            rng=rng,
            seed=seed,
            tickets=tickets,
            customers=customers,
            agents=agents,
            demo_agent=users["agent"],
            types=types,
            cluster_ids=cluster_ids,
            progress=progress,
        )
        story.tell(RECURRING_BUGS, clusters, users["agent"])
        written += demo_customer_success(users=users, end=calendar.end)["told"]
        demo_counters_refresh()
        _announce([cluster.pk for cluster in clusters.values()])
    return DemoResult(written, len(customers), len(clusters), len(users), time.monotonic() - started)


def _announce(cluster_ids) -> None:
    """Tell the apps above `tickets` about the imported clusters, in the seed's transaction, as the services
    do for new ones: SLA clocks start, and fix-impact measurement learns about the historical fixes."""
    clusters = BugCluster.objects.filter(pk__in=cluster_ids).order_by("pk")
    messages = [("cluster.created", {"cluster_id": pk}) for pk in clusters.values_list("pk", flat=True)]
    messages += [
        ("cluster.fix_deployed", {"cluster_id": pk, "deployed_at": deployed_at.isoformat(), "actor_id": owner_id})
        for pk, deployed_at, owner_id in clusters.exclude(fix_deployed_at=None).values_list(
            "pk", "fix_deployed_at", "owner_id"
        )
    ]
    outbox_put_many(messages)


def _write_tickets(*, calendar, rng, seed, tickets, customers, agents, demo_agent, types, cluster_ids, progress):
    fields = {key: list(t.fields.all()) for key, t in types.items()}
    counted = {
        key: [f.key for f in fs if f.requirement in (Requirement.REQUIRED, Requirement.RECOMMENDED)]
        for key, fs in fields.items()
    }
    maker = TicketMaker(
        rng=rng,
        customers=customers,
        agent_ids=[a.pk for a in agents],
        demo_agent_id=demo_agent.pk,
        type_ids={key: t.pk for key, t in types.items()},
        counted_keys=counted,
        end=calendar.end,
    )
    streams = demo_streams(calendar)
    steady = [row for row, stream in enumerate(streams) if stream.bug and stream.bug.key in STEADY_BUGS]
    counts = draw_counts(daily_rates(streams, calendar, RECURRING_BUGS), tickets, seed, steady_rows=steady)
    cutoff = calendar.end - timedelta(hours=UNASSIGNED_HOURS)
    stride = max(1, tickets // VALIDATED_TICKETS)
    type_keys = {pk: key for key, pk in maker.type_ids.items()}
    writer = TicketWriter(on_flush=progress)
    with indexes_rebuilt_after(Ticket) if tickets >= BULK_INDEX_THRESHOLD else nullcontext():
        for day in range(DAYS):
            for row_index, stream in enumerate(streams):
                for _ in range(int(counts[row_index, day])):
                    row = maker.make(stream, sample_time(rng, calendar, day))
                    row.update(
                        demo_cluster_assignment(
                            stream_key=stream.key, created_at=row["created_at"], clusters=cluster_ids, cutoff=cutoff
                        )
                    )
                    row["updated_at"] = row["cluster_assigned_at"] or row["created_at"]
                    if maker.sequence % stride == 0 and row["ticket_type_id"]:
                        _check_evidence(fields[type_keys[row["ticket_type_id"]]], row)
                    writer.add(row)
        writer.flush()
    return writer.written


def _check_evidence(fields, row) -> None:
    """The generator must only write evidence the filing form would accept, already normalised."""
    cleaned = evidence_validate(fields=fields, values=row["evidence"]).values
    if cleaned != row["evidence"]:
        raise AssertionError(f"demo evidence is not normalised: {row['evidence']!r} != {cleaned!r}")
