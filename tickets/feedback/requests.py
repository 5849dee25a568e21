"""Reads of feature requests: each request cluster weighed by the revenue that asks for it, with the mix of
its evidence and the customers' own words, its decisions, its export, and what was asked in a week.

Revenue represented is the MRR of the distinct customers with a ticket in the cluster, each customer
counted once however often it asked (ARR = 12 x MRR). A list selector returns a queryset annotated for
sorting and filtering (`FeatureRequestFilterSet`), and `feature_request_details` adds what only a page's
rows need in a fixed number of queries.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, JSONField, OuterRef, QuerySet, Subquery, Sum, TextField, Value, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, JSONObject, NullIf, RowNumber

from tickets.feedback.selectors import revenue_annotations
from tickets.models import BugCluster, ClusterKind, Customer, FeatureRequestDecision, Ticket

MIX_KEYS = ("need_frequency", "workaround_difficulty", "revenue_impact")
QUOTES_PER_REQUEST = 3


def _latest_decision(column: str) -> Subquery:
    newest = FeatureRequestDecision.objects.filter(cluster=OuterRef("pk")).order_by("-decided_at", "-id")
    return Subquery(newest.values(column)[:1])


def feature_request_list() -> QuerySet[BugCluster]:
    """Feature-request clusters annotated with `revenue` (MRR represented), `customers`, `requests`,
    `last_requested` and the latest `decision`; filter and order with FeatureRequestFilterSet."""
    revenue = revenue_annotations()
    return (
        BugCluster.objects.filter(kind=ClusterKind.FEATURE_REQUEST)
        .exclude(status="merged")
        .select_related("owner")
        .annotate(
            revenue=Coalesce(revenue["mrr_at_stake"], Decimal(0)),
            customers=Coalesce(revenue["customers_affected"], 0),
            requests=F("ticket_count"),
            last_requested=F("last_reported_at"),
            decision=_latest_decision("decision"),
            decision_quarter=_latest_decision("quarter"),
        )
    )


@dataclass
class RequestDetails:
    """What a feature request's row shows beyond its totals."""

    segments: dict[str, int] = field(default_factory=dict)  # segment -> distinct customers
    mixes: dict[str, dict[str, int]] = field(default_factory=dict)  # evidence key -> value -> tickets
    churn_risk: int = 0  # customers saying they would leave without it
    expansion_blocker: int = 0  # customers whose upsell it blocks
    blockers: int = 0  # customers calling it a revenue blocker
    competitors: list[str] = field(default_factory=list)  # competitors said to have it (a competitive gap)
    quotes: list[dict] = field(default_factory=list)  # the customers' own words, newest first


def feature_request_details(*, clusters: list[BugCluster]) -> dict[int, RequestDetails]:
    """Segments, evidence mixes, churn/expansion/competitive flags and quotes for `clusters`, in six queries."""
    ids = [c.pk for c in clusters]
    details = {pk: RequestDetails(mixes={key: {} for key in MIX_KEYS}) for pk in ids}
    if not ids:
        return details
    tickets = Ticket.objects.filter(cluster_id__in=ids).order_by()
    for cluster_id, segment, n in (
        tickets.exclude(customer=None)
        .values("cluster_id", "customer__segment")
        .annotate(n=Count("customer_id", distinct=True))
        .values_list("cluster_id", "customer__segment", "n")
    ):
        details[cluster_id].segments[segment] = n
    for key in MIX_KEYS:
        for cluster_id, value, n in (
            tickets.annotate(v=KT(f"evidence__{key}"))
            .filter(v__isnull=False)
            .values("cluster_id", "v")
            .annotate(n=Count("id"))
            .values_list("cluster_id", "v", "n")
        ):
            if value:
                details[cluster_id].mixes[key][value] = n
    flags = tickets.annotate(
        churn_v=KT("evidence__churn_risk"),
        expansion_v=KT("evidence__expansion_blocker"),
        impact_v=KT("evidence__revenue_impact"),
    )
    # Distinct customers per flag, counted here: comparing a JSON key's text in SQL differs between backends.
    flagged: dict[int, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for cluster_id, customer_id, churn, expansion, impact in (
        flags.exclude(customer_id=None)
        .values_list("cluster_id", "customer_id", "churn_v", "expansion_v", "impact_v")
        .distinct()
    ):
        flagged[cluster_id]["churn"].update([customer_id] if churn == "yes" else [])
        flagged[cluster_id]["expansion"].update([customer_id] if expansion == "yes" else [])
        flagged[cluster_id]["blockers"].update([customer_id] if impact == "blocker" else [])
    for cluster_id, sets in flagged.items():
        found = details[cluster_id]
        found.churn_risk, found.expansion_blocker = len(sets["churn"]), len(sets["expansion"])
        found.blockers = len(sets["blockers"])
    named: dict[int, Counter] = defaultdict(Counter)
    for cluster_id, competitor in tickets.annotate(c=KT("evidence__competitor_has_it")).values_list("cluster_id", "c"):
        if competitor and competitor.strip():
            named[cluster_id][competitor.strip()] += 1
    for cluster_id, counter in named.items():
        details[cluster_id].competitors = [name for name, _ in counter.most_common(5)]
    words = Coalesce(KT("evidence__use_case"), KT("evidence__customer_words"))
    newest_first = [F("reported_at").desc(), F("id").desc()]
    for row in (
        tickets.annotate(words=words)
        .filter(words__isnull=False)
        .annotate(rank=Window(RowNumber(), partition_by=[F("cluster_id")], order_by=newest_first))
        .filter(rank__lte=QUOTES_PER_REQUEST)
        .values("cluster_id", "words", "reported_at", "customer__name", "customer__segment")
    ):
        if not str(row["words"]).strip():
            continue
        details[row["cluster_id"]].quotes.append(
            {
                "words": row["words"],
                "customer": row["customer__name"] or "",
                "segment": row["customer__segment"] or "",
                "reported_at": row["reported_at"],
            }
        )
    for found in details.values():
        found.quotes.sort(key=lambda q: q["reported_at"], reverse=True)
    return details


def feature_request_decisions(*, cluster: BugCluster) -> list[FeatureRequestDecision]:
    """Every decision on the request, newest first."""
    return list(cluster.decisions.select_related("decided_by").order_by("-decided_at", "-id"))


def feature_request_get(*, pk: int) -> BugCluster:
    """One feature request with its totals; raises BugCluster.DoesNotExist."""
    return feature_request_list().get(pk=pk)


# --- The weekly review's section ---------------------------------------------------


def _latest_decision_json() -> Subquery:
    newest = FeatureRequestDecision.objects.filter(cluster=OuterRef("pk")).order_by("-decided_at", "-id")
    fields = JSONObject(decision=F("decision"), quarter=F("quarter"), reason=F("reason"))
    return Subquery(newest.annotate(d=fields).values("d")[:1], output_field=JSONField())


def decision_text(decision: dict | None) -> str:
    """The latest decision (as annotated by `feature_requests_asked`) in a sentence; "" when none was taken."""
    if not decision:
        return ""
    found = {key: decision.get(key) or "" for key in ("decision", "quarter", "reason")}
    return FeatureRequestDecision(**found).text


def customer_words() -> Coalesce:
    """What the customer said on a ticket: their words from the evidence, else the ticket's description."""
    said = NullIf(KT("evidence__customer_words"), Value(""))
    return Coalesce(said, NullIf(F("description"), Value("")), output_field=TextField())


def feature_requests_asked(*, start: datetime, end: datetime) -> QuerySet[BugCluster]:
    """Feature-request clusters (not merged) annotated with what was asked between `start` and `end`:
    `asked_customers` (distinct customers), `asked_mrr` (their MRR, each customer once), `asked_quote`
    (the newest ticket in the customer's words: {words, customer, segment}), and `latest_decision`
    ({decision, quarter, reason}, see `decision_text`). Each is a subquery over the request's own tickets of
    the period (the cluster/reported_at index), so read only the few requests a page shows."""
    period = Ticket.objects.filter(reported_at__gte=start, reported_at__lt=end)
    in_period = period.filter(cluster_id=OuterRef("pk"))
    askers = (
        Customer.objects.filter(pk__in=period.filter(cluster_id=OuterRef(OuterRef("pk"))).values("customer_id"))
        .order_by()
        .annotate(one=Value(1))
        .values("one")
    )
    quote = (
        in_period.annotate(words=customer_words())
        .filter(words__isnull=False)
        .order_by("-reported_at", "-id")
        .annotate(q=JSONObject(words=F("words"), customer=F("customer__name"), segment=F("customer__segment")))
        .values("q")[:1]
    )
    return (
        BugCluster.objects.filter(kind=ClusterKind.FEATURE_REQUEST)
        .exclude(status="merged")
        .select_related("owner")
        .annotate(
            asked_customers=Coalesce(Subquery(askers.annotate(n=Count("pk")).values("n")[:1]), 0),
            asked_mrr=Coalesce(Subquery(askers.annotate(s=Sum("mrr")).values("s")[:1]), Decimal(0)),
            asked_quote=Subquery(quote, output_field=JSONField()),
            latest_decision=_latest_decision_json(),
        )
    )
