"""The shape of the engine's index, without the database: what a ticket adds to its cluster.

A cluster's *postings* are its word stems (weighted) and fingerprints, which retrieval looks up;
its *profile* keeps a few member tickets as exemplars (the first ones and the most recent ones) and
how often each fingerprint and evidence value occurs among its tickets, which scoring reads. The
term statistics count how many tickets carry each term (inverse document frequency) and each
description line (`features.line_keys`): a line that many tickets carry is a template's
(`template_lines`), and is not read as what the ticket says. Reading and writing these rows is
`storage`'s job; this module only computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tickets.clustering.features import LINE_PREFIX, Features, extract
from tickets.models import BugCluster

STAT_TICKETS = "#tickets"
STAT_LENGTH = "#length"
FINGERPRINT_PREFIX = "f:"
EVIDENCE_PREFIX = "e:"
EXEMPLARS_FIRST = 3  # the cluster's first tickets stay as exemplars...
EXEMPLARS_MAX = 8  # ...with its most recent ones
CLUSTER_TEXT_ID = 0  # the exemplar that holds the cluster's own words (title, summary, root cause)
TERM_MAX = 120  # characters of a term as stored
# A description line is a template's (a form, a signature, a tracker's headings) once at least this many earlier
# tickets carried it: TEMPLATE_MIN_TICKETS, or TEMPLATE_SHARE of all tickets on a larger desk, but never more
# than TEMPLATE_MAX_TICKETS (a line in that many tickets is a template's on any desk).
TEMPLATE_MIN_TICKETS, TEMPLATE_SHARE, TEMPLATE_MAX_TICKETS = 10, 0.005, 200


@dataclass
class Profile:
    """A cluster's profile as the engine folds tickets into it (a `ClusterProfile` row has the same fields)."""

    exemplars: list
    fingerprints: dict
    evidence: dict
    tickets: int


def posting_terms(features: Features) -> dict[str, float]:
    """What a ticket adds to its cluster's postings: its word stems (weighted) and fingerprints."""
    terms = dict(features.terms)
    for key in features.fingerprints:
        terms[FINGERPRINT_PREFIX + key] = 1.0
    return terms


def stat_terms(features: Features) -> list[str]:
    """Terms whose ticket count a ticket raises by one (word stems, fingerprints, evidence values)."""
    return [
        *features.terms,
        *(FINGERPRINT_PREFIX + k for k in features.fingerprints),
        *(EVIDENCE_PREFIX + k for k in features.evidence),
        *features.lines,
    ]


def template_lines(counts: dict[str, float], tickets: float) -> frozenset[str]:
    """Of the line keys in `counts` (key -> tickets that carried the line), the ones of a template."""
    bar = max(TEMPLATE_MIN_TICKETS, min(TEMPLATE_SHARE * tickets, TEMPLATE_MAX_TICKETS))
    return frozenset(key for key, n in counts.items() if key.startswith(LINE_PREFIX) and n >= bar)


def exemplar(ticket_id: int, features: Features) -> dict:
    return {"id": ticket_id, "t": features.terms, "n": features.length, "s": features.subject}


def profile_add(profile, ticket_id: int, features: Features, count: bool = True) -> None:
    """Fold one ticket (or, with count=False, the cluster's own words) into a profile; the caller saves it."""
    exemplars = [e for e in profile.exemplars if e.get("id") != ticket_id]
    exemplars.append(exemplar(ticket_id, features))
    if len(exemplars) > EXEMPLARS_MAX:
        del exemplars[EXEMPLARS_FIRST]  # the oldest of the recent ones
    profile.exemplars = exemplars
    for key in features.fingerprints:
        profile.fingerprints[key] = profile.fingerprints.get(key, 0) + 1
    for key in features.evidence:
        profile.evidence[key] = profile.evidence.get(key, 0) + 1
    if count:
        profile.tickets += 1


def cluster_text_features(cluster: BugCluster) -> Features:
    """The cluster's own words as product wrote them: a better title makes the engine find it better."""
    ticket_type = cluster.ticket_type if cluster.ticket_type_id else None
    return extract(
        subject=cluster.title,
        description="\n".join(t for t in (cluster.summary, cluster.root_cause) if t),
        ticket_type_key=ticket_type.key if ticket_type else None,
        ticket_type_name=ticket_type.name if ticket_type else None,
    )


def features_for_ticket(ticket, template: frozenset[str] = frozenset()) -> Features:
    """A ticket's features, as the engine reads them (its type's key and name count as evidence; the
    description lines in `template` do not count)."""
    ticket_type = ticket.ticket_type if ticket.ticket_type_id else None
    return extract(
        subject=ticket.subject,
        description=ticket.description,
        evidence=ticket.evidence,
        ticket_type_key=ticket_type.key if ticket_type else None,
        ticket_type_name=ticket_type.name if ticket_type else None,
        template=template,
    )
