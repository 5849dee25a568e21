"""Reads of customer success: accounts with their clusters and tickets, the at-risk list, handoffs,
configuration warnings, and the weekly review's at-risk section."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, JSONObject
from django.utils import timezone

from tickets.models import OPEN_CLUSTER_STATUSES, BugCluster, ClusterKind, Customer, Role, Ticket
from triage.accounts.models import (
    OPEN_HANDOFF_STATUSES,
    AccountHealth,
    AtRiskRule,
    Handoff,
    HandoffKind,
    competitor_list_problem,
)

RECENT_DAYS = 30


def rule_current() -> AtRiskRule:
    """The organisation's rule: the seeded row, or the defaults (unsaved) when an admin deleted it."""
    return AtRiskRule.objects.order_by("pk").first() or AtRiskRule()


def _open_clusters_of_customer() -> QuerySet[BugCluster]:
    return BugCluster.objects.filter(
        status__in=OPEN_CLUSTER_STATUSES,
        kind=ClusterKind.BUG,
        pk__in=Ticket.objects.filter(customer_id=OuterRef(OuterRef("pk"))).values("cluster_id"),
    )


def account_list() -> QuerySet[Customer]:
    """Customers with `open_clusters` (open bug clusters holding one of their tickets), `recent_tickets` (last 30
    days), and their health; filter with AccountFilterSet."""
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    open_clusters = _open_clusters_of_customer().order_by().annotate(one=Value(1)).values("one")
    recent = Ticket.objects.filter(customer_id=OuterRef("pk"), reported_at__gte=since).order_by()
    recent = recent.annotate(one=Value(1)).values("one")
    return Customer.objects.select_related("csm_owner", "health").annotate(
        open_clusters=Coalesce(Subquery(open_clusters.annotate(n=Count("pk")).values("n")[:1]), 0),
        recent_tickets=Coalesce(Subquery(recent.annotate(n=Count("pk")).values("n")[:1]), 0),
    )


def account_get(*, pk: int) -> Customer:
    """One account with its CSM and health; raises Customer.DoesNotExist."""
    return Customer.objects.select_related("csm_owner", "health").get(pk=pk)


def account_open_clusters(*, customer: Customer) -> list[BugCluster]:
    """Open bug clusters holding one of the account's tickets, highest priority and busiest first."""
    return list(
        BugCluster.objects.filter(status__in=OPEN_CLUSTER_STATUSES, kind=ClusterKind.BUG, tickets__customer=customer)
        .distinct()
        .select_related("owner")
        .order_by("priority", "-ticket_count", "-id")[:20]
    )


def account_recent_tickets(*, customer: Customer, limit: int = 15) -> list[Ticket]:
    return list(
        Ticket.objects.filter(customer=customer)
        .select_related("cluster", "ticket_type")
        .order_by("-reported_at")[:limit]
    )


def at_risk_accounts() -> QuerySet[AccountHealth]:
    """Accounts over the rule, riskiest first (then biggest), with their customer, CSM and open handoff."""
    open_handoff = Handoff.objects.filter(
        customer_id=OuterRef("customer_id"), kind=HandoffKind.AT_RISK, status__in=OPEN_HANDOFF_STATUSES
    ).order_by("-created_at")
    return (
        AccountHealth.objects.filter(at_risk=True)
        .select_related("customer", "customer__csm_owner")
        .annotate(open_handoff_id=Subquery(open_handoff.values("pk")[:1]))
        .order_by("-score", "-customer__mrr", "customer__name")
    )


def handoffs_open(*, csm=None) -> QuerySet[Handoff]:
    """Open handoffs, most urgent and newest first; only `csm`'s accounts when given."""
    handoffs = Handoff.objects.filter(status__in=OPEN_HANDOFF_STATUSES).select_related("customer", "csm")
    if csm is not None:
        handoffs = handoffs.filter(Q(csm=csm) | Q(customer__csm_owner=csm))
    return handoffs.order_by("-created_at", "-id")


def handoff_get(*, pk: int) -> Handoff:
    return Handoff.objects.select_related(
        "customer", "customer__csm_owner", "csm", "acknowledged_by", "intervention_by", "closed_by"
    ).get(pk=pk)


def account_handoffs(*, customer: Customer) -> list[Handoff]:
    return list(customer.handoffs.select_related("csm").order_by("-created_at", "-id")[:20])


def configuration_warnings(*, rule: AtRiskRule | None = None) -> list[str]:
    """What makes the at-risk rule blind or its alerts unheard, in words (shown on the pages, never a crash)."""
    rule = rule or AtRiskRule.objects.order_by("pk").first()
    warnings = []
    if rule is None:
        return ["No at-risk rule is configured; the default one is used. Review it in Admin → At-risk rules."]
    problem = competitor_list_problem(rule.competitors)
    if problem:
        warnings.append(f"The competitor list cannot be read ({problem}) Competitor mentions are not detected.")
    elif not rule.competitors:
        warnings.append(
            "No competitors are configured, so competitor mentions are not detected. "
            "List them in Admin → At-risk rules."
        )
    if not rule.is_active:
        warnings.append("The at-risk rule is switched off: accounts are assessed, but no alerts are sent.")
    no_csm = AccountHealth.objects.filter(at_risk=True, customer__csm_owner=None).count()
    if no_csm:
        team = get_user_model().objects.filter(groups__name=Role.CUSTOMER_SUCCESS, is_active=True).exclude(email="")
        where = "the customer-success team" if team.exists() else "nobody (no customer-success user has an email)"
        warnings.append(
            f"{no_csm} at-risk account{'s have' if no_csm != 1 else ' has'} no CSM: their alerts go to {where}. "
            "Assign a CSM in Admin → Customers."
        )
    return warnings


def last_assessed_at() -> datetime | None:
    return AccountHealth.objects.order_by("-assessed_at").values_list("assessed_at", flat=True).first()


# --- The weekly review's section ---------------------------------------------------------


@dataclass(frozen=True)
class WeeklyAtRisk:
    """An account that was raised as at risk in a week, with why and what customer success did."""

    handoff: Handoff
    customer: Customer
    reasons: list[str]
    is_open: bool
    open_bugs: int = 0  # open bug clusters holding one of the account's tickets
    worst_bug: dict | None = None  # the most urgent of them: {id, title, priority}


@dataclass(frozen=True)
class AtRiskWeek:
    """The at-risk handoffs raised in a week (the biggest accounts first, at most the limit asked for), how many
    were raised that week and how many in the period compared with it."""

    rows: list[WeeklyAtRisk]
    total: int
    previous: int


def _raised(start: datetime, end: datetime) -> Subquery:
    """How many at-risk handoffs were raised in [start, end); an uncorrelated subquery, evaluated once."""
    raised = Handoff.objects.filter(kind=HandoffKind.AT_RISK, created_at__gte=start, created_at__lt=end)
    return Subquery(raised.order_by().values("kind").annotate(n=Count("pk")).values("n")[:1])


def at_risk_accounts_for_week(
    *,
    week_start: datetime,
    week_end: datetime,
    compare_start: datetime | None = None,
    compare_end: datetime | None = None,
    limit: int | None = None,
) -> AtRiskWeek:
    """At-risk accounts for a week: the at-risk handoffs raised between `week_start` and `week_end`, biggest
    accounts first, each with its reasons, whether customer success still has it open and the open bugs
    hitting the account; with the week's count and the count between `compare_start` and `compare_end`.

    One query: the counts ride on every row as uncorrelated subqueries; the rows of the compared period come
    after the week's (so the counts arrive even when the week has none) and are left out of `rows`."""
    compare_start = compare_start or week_start
    compare_end = compare_end or week_start
    this_week = Q(created_at__gte=week_start, created_at__lt=week_end)
    # From the account's tickets (its index) to their clusters (by primary key): a few hundred lookups per row.
    hitting = Ticket.objects.filter(
        customer_id=OuterRef("customer_id"), cluster__kind=ClusterKind.BUG, cluster__status__in=OPEN_CLUSTER_STATUSES
    ).order_by()
    urgency = Case(When(cluster__priority="", then=Value("P9")), default=F("cluster__priority"))
    worst = hitting.order_by(urgency, "-cluster__ticket_count", "cluster_id").annotate(
        b=JSONObject(id=F("cluster_id"), title=F("cluster__title"), priority=F("cluster__priority"))
    )
    counted = hitting.annotate(one=Value(1)).values("one").annotate(n=Count("cluster_id", distinct=True))
    handoffs = (
        Handoff.objects.filter(kind=HandoffKind.AT_RISK)
        .filter(this_week | Q(created_at__gte=compare_start, created_at__lt=compare_end))
        .select_related("customer", "customer__csm_owner")
        .annotate(
            in_week=Case(When(this_week, then=Value(True)), default=Value(False), output_field=BooleanField()),
            week_total=Coalesce(_raised(week_start, week_end), 0),
            compare_total=Coalesce(_raised(compare_start, compare_end), 0),
            open_bugs=Coalesce(Subquery(counted.values("n")[:1]), 0),
            worst_bug=Subquery(worst.values("b")[:1], output_field=JSONField()),
        )
        .order_by("-in_week", "-customer__mrr", "-score", "-id")
    )
    found = list(handoffs[:limit] if limit is not None else handoffs)
    rows = [
        WeeklyAtRisk(
            handoff=h,
            customer=h.customer,
            reasons=[f"{s['name']}: {s['summary']}" for s in h.signals],
            is_open=h.is_open,
            open_bugs=h.open_bugs,
            worst_bug=h.worst_bug,
        )
        for h in found
        if h.in_week
    ]
    totals = (found[0].week_total, found[0].compare_total) if found else (0, 0)
    return AtRiskWeek(rows=rows, total=totals[0], previous=totals[1])


def csm_accounts_at_risk(*, csm) -> list[AccountHealth]:
    """The CSM's own accounts at risk (their home)."""
    return list(at_risk_accounts().filter(customer__csm_owner=csm)[:20])


def feature_requests_of_accounts_filter(*, csm) -> Q:
    """Feature-request clusters asked for by an account `csm` owns (for their home)."""
    return Q(Exists(Ticket.objects.filter(cluster_id=OuterRef("pk"), customer__csm_owner=csm)))
