"""Assignment: put each waiting ticket in the best assignable cluster of its kind, or open one.

Tickets waiting for the engine are assigned in batches (`tickets_assign`): one retrieval query,
one read of the candidates' profiles and one write transaction for the whole batch, each ticket
still decided in arrival order and seeing what the batch's earlier tickets did. The ranking is
`ranking`'s, the SQL `storage`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import OperationalError, transaction
from django.utils import timezone

from tickets.clustering import index, openings, ranking, semantic, storage
from tickets.clustering.features import Features
from tickets.clustering.openings import openings_claim as claim_openings
from tickets.clustering.ranking import JOIN_THRESHOLD, Match
from tickets.clustering.storage import Candidate, Join
from tickets.clusters.alerts import clusters_threshold_check
from tickets.clusters.services import (
    cluster_counters_statement,
    clusters_announce_opened,
    clusters_open,
    count_in,
)
from tickets.models import (
    ASSIGNABLE_CLUSTER_STATUSES,
    BugCluster,
    ClusterEvent,
    ClusterProfile,
    Ticket,
    cluster_kind_for,
)
from tickets.outbox import outbox_put
from tickets.queue import after_commit
from tickets.retry import is_retryable
from tickets.sql import execute_statements

logger = logging.getLogger(__name__)


@dataclass
class Assignment:
    ticket_id: int
    cluster: BugCluster | None
    created: bool = False
    matches: list[Match] = field(default_factory=list)
    skipped: str = ""


_TICKET_FIELDS = (
    "id",
    "subject",
    "description",
    "evidence",
    "feedback_kind",
    "reported_at",
    "cluster_id",
    "customer_id",
    "ticket_type_id",
    "cluster_assigned_at",
    "assignment_source",
    "match_features",
    "ticket_type__key",
    "ticket_type__name",
)
BATCH_SIZE = 50  # tickets a worker ranks and writes together when many wait


def ticket_assign(*, ticket_id: int, rank_limit: int = 1) -> Assignment:
    """Assign one ticket (the Celery task's body). Safe to run twice: the second run changes nothing."""
    return tickets_assign([ticket_id], rank_limit=rank_limit)[0]


def tickets_assign(ticket_ids: list[int], *, rank_limit: int = 1) -> list[Assignment]:
    """Assign tickets in the order given, as a batch; one Assignment per id, in that order.

    A batch costs a constant number of queries whatever its size: the tickets, the term statistics,
    the retrieval of every ticket's candidates, their profiles, then one transaction for all joins
    (lock the profiles, claim the tickets, one batch of writes). Tickets are decided one after the
    other, each seeing what the earlier ones of the batch did: a ticket that joined a cluster is one of
    its exemplars for the next, and a cluster one of them opened is a candidate for the rest. Opening
    a cluster is written at once (it is rare, and a later ticket may join it).

    A ticket a person placed (agent's "same bug", a move, the help desk's known cluster) keeps its
    cluster; the engine only reads it into that cluster's index. Safe to run twice.
    """
    if not ticket_ids:
        return []
    loaded, results = _load_readable(ticket_ids)
    waiting: list[tuple[Ticket, Features, str]] = []
    for ticket_id in dict.fromkeys(ticket_ids):
        ticket = loaded.get(ticket_id)
        if ticket_id in results:
            continue
        if ticket is None:
            results[ticket_id] = Assignment(ticket_id=ticket_id, cluster=None, skipped="ticket not found")
        elif ticket.cluster_id is not None:
            if ticket.match_features:
                results[ticket_id] = Assignment(ticket_id=ticket_id, cluster=None, skipped="already assigned")
            else:
                results[ticket_id] = _index_placed_ticket(ticket)
        else:
            waiting.append((ticket, index.features_for_ticket(ticket), cluster_kind_for(ticket.feedback_kind)))
    if waiting:
        results.update(_assign_deciding_openings_once(waiting, rank_limit=max(rank_limit, 1)))
    return [results[ticket_id] for ticket_id in ticket_ids]


OPTIMISTIC_ATTEMPTS = 3


def _assign_deciding_openings_once(waiting, *, rank_limit: int) -> dict[int, Assignment]:
    """`_assign_waiting`, decided again when another worker opened a cluster of the same kind meanwhile
    (see `openings`) or PostgreSQL aborted the write to break a deadlock; the last attempt holds the
    kinds' lock throughout, so it always completes."""
    kinds = {kind for _, _, kind in waiting}
    for _attempt in range(OPTIMISTIC_ATTEMPTS):
        try:
            return _assign_waiting(waiting, rank_limit=rank_limit, watermark=openings.openings_watermark(kinds))
        except openings.StaleOpenings:
            continue
        except OperationalError as exc:  # a deadlock with a bulk upsert: nothing was written, decide again
            if not is_retryable(exc):
                raise
            logger.warning("Assignment batch aborted by PostgreSQL (%s); deciding it again", exc)
    with openings.openings_exclusive(kinds):
        return _assign_waiting(waiting, rank_limit=rank_limit, watermark=openings.openings_watermark(kinds))


def _load_readable(ticket_ids: list[int]) -> tuple[dict[int, Ticket], dict[int, Assignment]]:
    """The tickets by id; a row the database holds but Python cannot read (a date out of range written
    before validation refused it) is skipped and reported, so one bad row never stops the engine."""
    tickets = Ticket.objects.select_related("ticket_type").only(*_TICKET_FIELDS)
    try:
        return tickets.in_bulk(ticket_ids), {}
    except (ValueError, OverflowError):
        pass
    loaded: dict[int, Ticket] = {}
    skipped: dict[int, Assignment] = {}
    for ticket_id in ticket_ids:
        try:
            ticket = tickets.filter(pk=ticket_id).first()
        except (ValueError, OverflowError) as exc:
            logger.error("Ticket %s cannot be read and is left unassigned: %s", ticket_id, exc)
            skipped[ticket_id] = Assignment(ticket_id=ticket_id, cluster=None, skipped=f"unreadable row: {exc}")
            continue
        if ticket is not None:
            loaded[ticket_id] = ticket
    return loaded, skipped


@dataclass
class _Opening:
    """A cluster a batch opens: not written until the batch's end, a candidate for its later tickets."""

    key: int  # below zero: stands for the cluster's id until it is written
    candidate: Candidate
    text: Features  # the cluster's own words (its title), indexed with it
    postings: dict[str, float]


def _assign_waiting(
    waiting: list[tuple[Ticket, Features, str]], *, rank_limit: int, watermark: int
) -> dict[int, Assignment]:
    stats = storage.stats_read(ranking.terms_for([features for _, features, _ in waiting]))
    waiting = _template_left_out(waiting, stats)
    queries = [ranking.query_for(features, kind, stats) for _, features, kind in waiting]
    found_all = iter(storage.retrieve([q for q in queries if q is not None]))
    founds = [next(found_all) if q is not None else {} for q in queries]
    meaning = semantic.Meaning.for_tickets(
        [ticket for ticket, _, _ in waiting],
        {ticket.pk: frozenset(features.template) for ticket, features, _ in waiting},
    )
    if meaning is not None:  # semantic neighbours are candidates too
        keys = [ticket.pk if q is not None else None for (ticket, _, _), q in zip(waiting, queries, strict=True)]
        meaning.candidates(keys, [kind for _, _, kind in waiting], founds)
    candidates = storage.candidates({cluster_id for found in founds for cluster_id in found})
    if meaning is not None:
        meaning.load(candidates)
    opened: list[_Opening] = []
    opened_by: dict[int, _Opening] = {}  # id() of an unwritten cluster -> its opening
    results: dict[int, Assignment] = {}
    joins: list[Join] = []
    for (ticket, features, kind), query, found in zip(waiting, queries, founds, strict=True):
        matches: list[Match] = []
        if query is not None:
            found = dict(found)
            for opening in opened:
                covered = ranking.covered(query, opening.postings)
                if covered is None and meaning is not None and meaning.near(ticket.pk, opening.key):
                    covered = 0.0  # no word in common, but the same meaning
                if opening.candidate.cluster.kind == kind and covered is not None:
                    found[opening.key] = (covered, 0.0)
                    candidates[opening.key] = opening.candidate
            scorer, only, centre = (None, False, None)
            if meaning is not None:
                scorer, only, centre = meaning.scorer(ticket.pk), meaning.semantic_only, meaning.centre(ticket.pk)
            matches = ranking.score(
                query, found, candidates, stats, ticket.reported_at, rank_limit, scorer, only, centre
            )
        best = matches[0] if matches and matches[0].score >= JOIN_THRESHOLD else None
        if best is not None:
            opening = opened_by.get(id(best.cluster))
            candidate = opening.candidate if opening else candidates[best.cluster.pk]
            if opening:
                for term, weight in index.posting_terms(features).items():
                    opening.postings[term] = opening.postings.get(term, 0.0) + weight
            joins.append(Join(ticket, features, best))
            results[ticket.pk] = Assignment(ticket_id=ticket.pk, cluster=best.cluster, matches=matches)
        else:
            opening = _opening(-1 - len(opened), ticket, kind)
            opened.append(opening)
            opened_by[id(opening.candidate.cluster)] = opening
            candidate = opening.candidate
            best = ranking.open_match(opening.candidate.cluster, matches)
            joins.append(Join(ticket, features, best))
            results[ticket.pk] = Assignment(
                ticket_id=ticket.pk, cluster=opening.candidate.cluster, created=True, matches=matches
            )
        index.profile_add(candidate, ticket.pk, features)
        if meaning is not None:  # later tickets of the batch see its vector in its cluster
            opening = opened_by.get(id(best.cluster))
            meaning.fold(opening.key if opening else best.cluster.pk, ticket.pk, kind)
    for ticket_id in _write(joins, opened, watermark, meaning):
        # The cluster stopped taking tickets (merged, closed) or the ticket was placed meanwhile.
        results[ticket_id] = ticket_assign(ticket_id=ticket_id, rank_limit=rank_limit)
    return results


def _template_left_out(waiting: list[tuple[Ticket, Features, str]], stats: ranking.Stats) -> list:
    """The waiting tickets read again without the description lines of a template (a form's headings, a
    signature: lines many tickets carry, `index.template_lines`), which say nothing of the bug.

    The statistics were read for the whole tickets, lines included, so no query is added: what is left
    is a part of what was read.
    """
    template = index.template_lines(stats.df, stats.tickets)
    if not template:
        return waiting
    return [
        (ticket, index.features_for_ticket(ticket, template), kind)
        if template.intersection(features.lines)
        else (ticket, features, kind)
        for ticket, features, kind in waiting
    ]


def _opening(key: int, ticket: Ticket, kind: str) -> _Opening:
    """A new cluster titled by the ticket, with its own words as its first exemplar (as on a rebuild)."""
    cluster = BugCluster(
        title=ticket.subject[:255], kind=kind, ticket_type=ticket.ticket_type if ticket.ticket_type_id else None
    )
    text = index.cluster_text_features(cluster)
    candidate = Candidate(exemplars=[], fingerprints={}, evidence={}, tickets=0, cluster=cluster)
    index.profile_add(candidate, index.CLUSTER_TEXT_ID, text, count=False)
    return _Opening(key, candidate, text, index.posting_terms(text))


def _write(
    joins: list[Join], openings: list[_Opening], watermark: int, meaning: semantic.Meaning | None = None
) -> list[int]:
    """Write a batch in one transaction; returns the tickets that could not be assigned as decided.

    On PostgreSQL, a constant number of round trips whatever the batch's size: the new clusters,
    their events and profiles (when the batch opens any), lock the profiles (of clusters still
    taking tickets), claim the tickets nobody assigned meanwhile, then the counters, the profiles,
    the postings and the term statistics in one batch of statements, and the commit.
    """
    retry: list[int] = []
    with transaction.atomic():
        if openings:
            claim_openings({o.candidate.cluster.kind for o in openings}, watermark)
            clusters_open(clusters=[o.candidate.cluster for o in openings])
            ClusterProfile.objects.bulk_create(
                ClusterProfile(
                    cluster=o.candidate.cluster,
                    kind=o.candidate.cluster.kind,
                    exemplars=o.candidate.exemplars[:1],
                    fingerprints=dict.fromkeys(o.text.fingerprints, 1),
                    evidence=dict.fromkeys(o.text.evidence, 1),
                )
                for o in openings
            )
        profiles = storage.lock_profiles(sorted({j.match.cluster.pk for j in joins}))
        retry += [j.ticket.pk for j in joins if j.match.cluster.pk not in profiles]
        joins = [j for j in joins if j.match.cluster.pk in profiles]
        claimed = storage.claim_many(joins)
        retry += [j.ticket.pk for j in joins if j.ticket.pk not in claimed]
        joins = [j for j in joins if j.ticket.pk in claimed]
        by_cluster: dict[int, list[Join]] = {}
        for join in joins:
            by_cluster.setdefault(join.match.cluster.pk, []).append(join)
            index.profile_add(profiles[join.match.cluster.pk], join.ticket.pk, join.features)
        if meaning is not None:  # the tickets' vectors, and their clusters' under the same locks
            members = {cid: (ms[0].match.cluster.kind, [m.ticket.pk for m in ms]) for cid, ms in by_cluster.items()}
            meaning.write(members, {o.candidate.cluster.pk for o in openings})
        empty = [o.candidate.cluster.pk for o in openings if o.candidate.cluster.pk not in by_cluster]
        if empty:  # every ticket of a cluster the batch opened was assigned meanwhile
            BugCluster.objects.filter(pk__in=empty).delete()
        opened = [o.candidate.cluster for o in openings if o.candidate.cluster.pk in by_cluster]
        if opened:
            clusters_announce_opened(clusters=opened)
        if not joins:
            return retry
        now = timezone.now()
        statements = []
        for cluster_id, members in sorted(by_cluster.items()):
            statements += [
                cluster_counters_statement(cluster_id, [m.ticket.reported_at for m in members], now),
                storage.profile_statement(cluster_id, profiles[cluster_id], now),
            ]
            for member in members:
                count_in(member.match.cluster, member.ticket.reported_at)
        texts = {o.candidate.cluster.pk: o.text for o in openings}
        statements += storage.postings_statements(
            (
                cluster_id,
                members[0].match.cluster.kind,
                [m.features for m in members] + ([texts[cluster_id]] if cluster_id in texts else []),
            )
            for cluster_id, members in by_cluster.items()
        )
        statements += storage.stats_statements([j.features for j in joins])
        execute_statements(statements)
        ClusterEvent.objects.bulk_create(
            ClusterEvent(
                cluster_id=cluster_id,
                kind=ClusterEvent.Kind.TICKET_ADDED,
                message=f"{len(members)} ticket{'s' if len(members) != 1 else ''} added by the clustering engine",
                data={"source": "engine", "ticket_ids": [m.ticket.pk for m in members]},
            )
            for cluster_id, members in sorted(by_cluster.items())
        )
        outbox_put(topic="tickets.assigned", pairs=[[j.ticket.pk, j.match.cluster.pk] for j in joins])
        grown = list({j.match.cluster.pk: j.match.cluster for j in joins}.values())
        after_commit(clusters_threshold_check, clusters=grown)
    return retry


def _index_placed_ticket(ticket: Ticket) -> Assignment:
    """Read a ticket that a person put in its cluster into that cluster's profile and postings."""
    features = index.features_for_ticket(ticket, storage.template_read([ticket.description]))
    with transaction.atomic():
        cluster = BugCluster.objects.filter(pk=ticket.cluster_id).first()
        if cluster is None:
            return Assignment(ticket_id=ticket.pk, cluster=None, skipped="cluster gone")
        updated = Ticket.objects.filter(pk=ticket.pk, match_features={}).update(match_features=features.as_json())
        if not updated:
            return Assignment(ticket_id=ticket.pk, cluster=None, skipped="already indexed")
        profile, _ = ClusterProfile.objects.select_for_update().get_or_create(
            cluster=cluster, defaults={"kind": cluster.kind}
        )
        index.profile_add(profile, ticket.pk, features)
        profile.save()
        semantic.placed_ticket_add(ticket=ticket, cluster=cluster, template=frozenset(features.template))
        if cluster.status in ASSIGNABLE_CLUSTER_STATUSES:
            storage.postings_add(cluster_id=cluster.pk, kind=cluster.kind, features_list=[features])
        storage.stats_add([features])
    return Assignment(ticket_id=ticket.pk, cluster=cluster, skipped="placed by a person")


def tickets_assign_pending(*, older_than_seconds: int = 30, limit: int = 500) -> int:
    """Assign tickets whose assignment task was lost (broker outage, worker crash); returns how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        Ticket.objects.filter(cluster_assigned_at__isnull=True, cluster__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return tickets_assign_in_batches(ids)


def tickets_assign_in_batches(ticket_ids: list[int]) -> int:
    """Assign tickets in arrival order, `BATCH_SIZE` at a time; returns how many were assigned."""
    done = 0
    for start in range(0, len(ticket_ids), BATCH_SIZE):
        done += sum(1 for a in tickets_assign(ticket_ids[start : start + BATCH_SIZE]) if a.cluster is not None)
    return done


def tickets_assign_all_pending() -> int:
    """Assign every ticket waiting for the engine, oldest first, in batches; returns how many joined."""
    done = 0
    while assigned := tickets_assign_pending(older_than_seconds=0, limit=200):
        done += assigned
    return done
