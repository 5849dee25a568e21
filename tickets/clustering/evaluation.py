"""Replay real bug reports through the engine and score it (online Recall@k, B-cubed).

The CSV has the columns of the duplicate-reports datasets: `id, project, group_id, dup_of, title,
description, created, product, component` (extra columns are ignored). Reports are replayed in
arrival order (`created` when every row has one, else `id`), each through `ticket_assign`, the code
path a filed ticket takes; candidates are only the reports that arrived earlier.

`signal` chooses what the text similarity is made of: "lexical" (words only, as without a model),
"semantic" (sentence embeddings only: candidates from the open clusters nearest in meaning, text
similarity from the cosine), or "fused" (both, as the engine runs with a model). Fingerprints,
evidence and recency count in all three. `CachedEncoder` keeps the vectors of replayed reports on
disk, so tuning runs encode each report once.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.utils.dateparse import parse_datetime

from tickets.clustering import embeddings, semantic
from tickets.clustering.assignment import ticket_assign
from tickets.models import FeedbackKind, Ticket

EVAL_SOURCE = "replay"
REQUIRED_COLUMNS = {"id", "group_id", "title"}


@dataclass
class Report:
    id: str
    group: str
    title: str
    description: str
    created: datetime | None
    product: str
    component: str


def reports_read(path: str, project: str | None = None) -> list[Report]:
    """Rows of `path` (of one project when given), in arrival order."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = REQUIRED_COLUMNS - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
        rows = [r for r in reader if not project or r.get("project") == project]
    reports = []
    for row in rows:
        created = parse_datetime(row["created"]) if row.get("created") else None
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        reports.append(
            Report(
                id=row["id"],
                group=row.get("group_id") or f"single:{row['id']}",
                title=row.get("title") or "",
                description=row.get("description") or "",
                created=created,
                product=(row.get("product") or "").strip(),
                component=(row.get("component") or "").strip(),
            )
        )
    if reports and all(r.created for r in reports):
        reports.sort(key=lambda r: (r.created, _numeric(r.id)))
    else:
        reports.sort(key=lambda r: _numeric(r.id))
    return reports


def _numeric(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)


class CachedEncoder:
    """An encoder whose vectors are kept in `directory` (one file per text and model), for repeated replays."""

    def __init__(self, inner: embeddings.Encoder, directory: str):
        from pathlib import Path

        self.inner, self.directory = inner, Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.identity, self.dimension = inner.identity, inner.dimension
        self.encoded, self.seconds = 0, 0.0

    def _path(self, text: str):
        key = f"{self.identity}|{self.inner.max_tokens}|{text}".encode()
        return self.directory / f"{hashlib.sha1(key).hexdigest()}.npy"

    def encode(self, texts: list[str]) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = []
        for text in texts:
            path = self._path(text)
            if path.exists():
                vector = np.load(path)
                out.append(vector if vector.size else None)
                continue
            began = time.perf_counter()
            vector = self.inner.encode_one(text)
            self.seconds += time.perf_counter() - began
            self.encoded += 1
            np.save(path, vector if vector is not None else np.zeros(0, dtype=np.float32))
            out.append(vector)
        return out

    def encode_one(self, text: str) -> np.ndarray | None:
        return self.encode([text])[0]


def replay_with(
    reports: list[Report],
    *,
    signal: str = "fused",
    cache: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """`replay` with one signal; fused and semantic need a loadable CLUSTERING_EMBEDDING_MODEL."""
    encoder = None
    if signal != "lexical":
        encoder, reason = embeddings.encoder_status()
        if encoder is None:
            raise ValueError(f"The {signal} signal needs a model: {reason}")
        if cache:
            encoder = CachedEncoder(encoder, cache)
    with semantic.signal_used(signal, encoder):
        figures = replay(reports, progress=progress)
    figures["signal"] = signal
    if isinstance(encoder, CachedEncoder) and encoder.encoded:
        figures["encoding_ms_per_ticket"] = round(1000 * encoder.seconds / encoder.encoded, 1)
    return figures


def replay(reports: list[Report], progress: Callable[[int], None] | None = None) -> dict:
    """Feed `reports` to the engine one by one and return the figures."""
    ks = (1, 5, 10)
    hits = Counter()
    queries = 0
    cluster_of_report: dict[str, int] = {}
    clusters_of_group: dict[str, set[int]] = defaultdict(set)
    seen_groups: set[str] = set()
    elapsed = 0.0
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for n, report in enumerate(reports):
        reported_at = report.created or start + timedelta(minutes=10 * n)
        evidence = {k: v for k, v in (("product", report.product), ("component", report.component)) if v}
        ticket = Ticket.objects.create(
            source=EVAL_SOURCE,
            external_id=report.id,
            subject=report.title[:255] or "(no title)",
            description=report.description,
            feedback_kind=FeedbackKind.BUG_REPORT,
            evidence=evidence,
            reported_at=reported_at,
        )
        began = time.perf_counter()
        result = ticket_assign(ticket_id=ticket.pk, rank_limit=max(ks))
        elapsed += time.perf_counter() - began
        if report.group in seen_groups:
            queries += 1
            # The clusters now holding the group's earlier reports (people never moved them here).
            expected = clusters_of_group[report.group]
            ranked = [m.cluster.pk for m in result.matches]
            for k in ks:
                if expected.intersection(ranked[:k]):
                    hits[k] += 1
        seen_groups.add(report.group)
        if result.cluster is not None:
            cluster_of_report[report.id] = result.cluster.pk
            clusters_of_group[report.group].add(result.cluster.pk)
        if progress:
            progress(n + 1)
    gold = {r.id: r.group for r in reports}
    precision, recall, f1 = bcubed(cluster_of_report, gold)
    multi = {g for g, n in Counter(gold.values()).items() if n > 1}
    _, multi_recall, _ = bcubed(
        {k: v for k, v in cluster_of_report.items() if gold[k] in multi}, {k: g for k, g in gold.items() if g in multi}
    )
    return {
        "reports": len(reports),
        "recall_queries": queries,
        "recall_at_1": round(hits[1] / queries, 4) if queries else None,
        "recall_at_5": round(hits[5] / queries, 4) if queries else None,
        "recall_at_10": round(hits[10] / queries, 4) if queries else None,
        "bcubed_precision": round(precision, 4),
        "bcubed_recall": round(recall, 4),
        "bcubed_f1": round(f1, 4),
        "bcubed_recall_multi_report_groups": round(multi_recall, 4) if multi else None,
        "clusters": len(set(cluster_of_report.values())),
        "groups": len(set(gold.values())),
        "tickets_per_second": round(len(reports) / elapsed, 1) if elapsed else None,
    }


def bcubed(assigned: dict[str, int], gold: dict[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of `assigned` (item -> cluster) against `gold` (item -> group)."""
    items = [i for i in assigned if i in gold]
    if not items:
        return 0.0, 0.0, 0.0
    by_cluster: dict[int, list[str]] = defaultdict(list)
    by_group: dict[str, list[str]] = defaultdict(list)
    for item in items:
        by_cluster[assigned[item]].append(item)
        by_group[gold[item]].append(item)
    precision = recall = 0.0
    for item in items:
        cluster = by_cluster[assigned[item]]
        group = by_group[gold[item]]
        both = sum(1 for other in cluster if gold[other] == gold[item])
        precision += both / len(cluster)
        recall += both / len(group)
    precision /= len(items)
    recall /= len(items)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
