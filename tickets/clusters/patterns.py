"""Evidence patterns: evidence values, alone or in pairs, over-represented among recent tickets.

"47 tickets share iOS 17.2 + biometric login": among the recent tickets of a ticket type (or of
one cluster), a value or a pair of values whose share is well above its share in the baseline
(the type's earlier tickets; for a cluster, the other tickets of its type). Reported with counts,
shares and lift (recent share / baseline share).

Only short categorical evidence is mined: choice fields and short text fields. Long text, money,
numbers, dates, URLs and files are skipped, as are keys that look like identifiers (`*_id`, or a
text key whose values are mostly distinct) and keys with more distinct values than MAX_DISTINCT.
A read: `evidence_patterns()` returns plain, JSON-ready data for the page, the API and the review.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any

from django.db.models import Q
from django.db.models.fields.json import KT
from django.utils import timezone

from tickets.models import BugCluster, EvidenceField, FieldKind, Ticket, TicketType

WINDOW_CHOICES = (1, 7, 14, 30)
DEFAULT_DAYS = 7
MINABLE_KINDS = (FieldKind.CHOICE, FieldKind.TEXT)
MAX_VALUE_LENGTH = 60
MAX_DISTINCT = 30
ID_LIKE_SHARE = 0.5  # a text key whose values are this distinct (per ticket) reads as ids
MIN_COUNT = 5
MIN_SHARE = 0.1
MIN_LIFT = 1.5
MIN_Z = 3.0
PAIR_GAIN = 1.2  # a pair is shown only when it is this much more specific than each of its values
RECENT_CAP = 5_000
BASELINE_CAP = 20_000

Item = tuple[str, str]  # (field key, normalised value)


def baseline_days_for(days: int) -> int:
    """How far back the type's baseline reaches before the window: four windows, 28 to 180 days."""
    return min(max(4 * days, 28), 180)


def _normalise(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = " ".join(str(value).split())
    if not text or len(text) > MAX_VALUE_LENGTH:
        return None
    return text.casefold()


def _minable_fields(type_ids: list[int]) -> tuple[dict[str, str], dict[str, str]]:
    """Evidence keys worth mining for these types, in form order: (key -> label, key -> kind)."""
    fields = EvidenceField.objects.filter(ticket_type_id__in=type_ids, kind__in=MINABLE_KINDS).order_by(
        "ticket_type_id", "order", "id"
    )
    labels: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for key, label, kind in fields.values_list("key", "label", "kind"):
        if key == "id" or key.endswith("_id") or "__" in key:
            continue
        labels.setdefault(key, label)
        kinds.setdefault(key, kind)
    return labels, kinds


def _rows(queryset, keys: list[str], cap: int) -> list[dict[str, Any]]:
    """The evidence values of `keys` of the newest `cap` tickets, fetched as columns (one query)."""
    columns = {f"k{i}": KT(f"evidence__{key}") for i, key in enumerate(keys)}
    rows = queryset.order_by("-reported_at").values(**columns)[:cap]
    return [{key: row[f"k{i}"] for i, key in enumerate(keys)} for row in rows]


def _items(rows: list[dict[str, Any]], keys: list[str], display: dict[Item, Counter]) -> list[frozenset[Item]]:
    out = []
    for row in rows:
        items = set()
        for key in keys:
            normalised = _normalise(row.get(key))
            if normalised is not None:
                items.add((key, normalised))
                display.setdefault((key, normalised), Counter())[" ".join(str(row[key]).split())] += 1
        out.append(frozenset(items))
    return out


def _usable_keys(recent: list[frozenset[Item]], keys: list[str], kinds: dict[str, str]) -> tuple[list[str], dict]:
    """Drop keys with too many distinct values or identifier-like values; say why."""
    values: dict[str, Counter] = {key: Counter() for key in keys}
    for items in recent:
        for key, value in items:
            values[key][value] += 1
    usable, skipped = [], {}
    for key in keys:
        given = sum(values[key].values())
        distinct = len(values[key])
        if distinct > MAX_DISTINCT:
            skipped[key] = f"more than {MAX_DISTINCT} distinct values"
        elif kinds[key] == FieldKind.TEXT and given >= 10 and distinct > ID_LIKE_SHARE * given:
            skipped[key] = "values are mostly distinct (identifiers or free text)"
        else:
            usable.append(key)
    return usable, skipped


def _count(item_sets: list[frozenset[Item]], keys: list[str]) -> Counter:
    """How many tickets hold each value and each pair of values (a pair in the fields' form order)."""
    position = {key: n for n, key in enumerate(keys)}
    counts: Counter = Counter()
    for items in item_sets:
        kept = sorted((i for i in items if i[0] in position), key=lambda i: (position[i[0]], i[1]))
        counts.update((i,) for i in kept)
        counts.update(pair for pair in combinations(kept, 2))
    return counts


def _z(count: int, n: int, p0: float) -> float:
    return (count - n * p0) / math.sqrt(n * p0 * (1 - p0)) if 0 < p0 < 1 else 0.0


def _score(recent_counts: Counter, base_counts: Counter, n: int, n_base: int) -> dict[tuple, dict]:
    """Every combination over-represented enough to report, with its figures."""
    found = {}
    for combo, count in recent_counts.items():
        if count < max(MIN_COUNT, MIN_SHARE * n):
            continue
        base = base_counts.get(combo, 0)
        # Smoothed so a value never seen in the baseline has a finite lift.
        p0 = (base + 0.5) / (n_base + 1)
        share = count / n
        lift = share / p0
        if lift >= MIN_LIFT and _z(count, n, p0) >= MIN_Z:
            found[combo] = {"count": count, "share": share, "baseline_count": base, "baseline_share": p0, "lift": lift}
    return found


def _together(found: dict[tuple, dict], pair: tuple) -> bool:
    """Both values stand out and come almost always together ("iOS 17.2 + biometric")."""
    return all((i,) in found and found[pair]["count"] >= 0.9 * found[(i,)]["count"] for i in pair)


def _more_specific(found: dict[tuple, dict], pair: tuple) -> bool:
    """The pair stands out clearly more than each of its values that stands out alone."""
    return all(found[pair]["lift"] >= PAIR_GAIN * found[(i,)]["lift"] for i in pair if (i,) in found)


def _prune(found: dict[tuple, dict]) -> list[tuple]:
    """Keep pairs that say more than their values; drop values a kept pair already explains."""
    pairs = [c for c in found if len(c) == 2 and (_together(found, c) or _more_specific(found, c))]
    explained = {(i,) for p in pairs for i in p if (i,) in found and found[p]["count"] >= 0.9 * found[(i,)]["count"]}
    singles = [c for c in found if len(c) == 1 and c not in explained]
    return sorted(pairs + singles, key=lambda c: (-found[c]["count"] * math.log(found[c]["lift"]), c))


def _scope(*, ticket_type: TicketType | None, cluster: BugCluster | None, since: datetime, start: datetime, now):
    """(recent tickets, baseline tickets, type ids) for the chosen scope."""
    if cluster is not None:
        recent = Ticket.objects.filter(cluster=cluster, reported_at__gte=since)
        type_ids = [cluster.ticket_type_id] if cluster.ticket_type_id else []
        if not type_ids:
            type_ids = list(recent.exclude(ticket_type=None).values_list("ticket_type_id", flat=True).distinct())
        baseline = Ticket.objects.filter(ticket_type_id__in=type_ids, reported_at__gte=start, reported_at__lt=now)
        return recent, baseline.filter(~Q(cluster=cluster) | Q(cluster__isnull=True)), type_ids
    recent = Ticket.objects.filter(ticket_type=ticket_type, reported_at__gte=since)
    baseline = Ticket.objects.filter(ticket_type=ticket_type, reported_at__gte=start, reported_at__lt=since)
    return recent, baseline, [ticket_type.pk]


def evidence_patterns(
    *,
    ticket_type: TicketType | None = None,
    cluster: BugCluster | None = None,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """Evidence values and pairs over-represented among the last `days` days' tickets.

    Give a ticket type (its recent tickets against its own earlier ones) or a cluster (its recent
    tickets against the other tickets of its type over the same period and before).
    """
    if (ticket_type is None) == (cluster is None):
        raise ValueError("Give exactly one of ticket_type or cluster.")
    now = now or timezone.now()
    since = now - timedelta(days=days)
    baseline_days = baseline_days_for(days)
    start = since - timedelta(days=baseline_days)
    recent_qs, baseline_qs, type_ids = _scope(
        ticket_type=ticket_type, cluster=cluster, since=since, start=start, now=now
    )
    labels, kinds = _minable_fields(type_ids)
    keys = list(labels)
    report: dict[str, Any] = {
        "scope": {
            "ticket_type": ticket_type.key
            if ticket_type
            else (cluster.ticket_type.key if cluster.ticket_type else None),
            "cluster": cluster.pk if cluster else None,
        },
        "days": days,
        "baseline_days": baseline_days,
        "since": since.isoformat(),
        "recent_tickets": 0,
        "baseline_tickets": 0,
        "keys": [],
        "skipped_keys": {},
        "patterns": [],
    }
    if not keys:
        return report
    display: dict[Item, Counter] = {}
    recent = _items(_rows(recent_qs, keys, RECENT_CAP), keys, display)
    baseline = _items(_rows(baseline_qs, keys, BASELINE_CAP), keys, display)
    report["recent_tickets"], report["baseline_tickets"] = len(recent), len(baseline)
    usable, report["skipped_keys"] = _usable_keys(recent, keys, kinds)
    report["keys"] = usable
    if not recent or not baseline or not usable:
        return report
    found = _score(_count(recent, usable), _count(baseline, usable), len(recent), len(baseline))
    for combo in _prune(found)[:limit]:
        figures = found[combo]
        values = [
            {"key": key, "label": labels[key], "value": display[(key, value)].most_common(1)[0][0]}
            for key, value in combo
        ]
        report["patterns"].append(
            {
                "values": values,
                "text": " + ".join(v["value"] for v in values),
                "count": figures["count"],
                "share": round(figures["share"], 4),
                "baseline_count": figures["baseline_count"],
                "baseline_share": round(figures["baseline_share"], 4),
                "lift": round(figures["lift"], 2),
            }
        )
    return report
