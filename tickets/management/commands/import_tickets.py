"""Import historical tickets from a CSV file so baselines exist from day one.

    python manage.py import_tickets tickets.csv [--source zendesk] [--dry-run] [--report rejected.csv]

Columns (header row required): external_id, subject, and optionally source, description, ticket_type
(a type key), feedback_kind, status, reported_at (ISO 8601), customer_external_id, customer_name,
cluster (id), evidence (a JSON object) and/or one `evidence.<key>` column per evidence field.
Rows are upserted by (source, external_id): running the import again updates, never duplicates.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from tickets.intake.ingest import ticket_bulk_upsert

CHUNK = 500


class DryRunRollback(Exception):
    pass


def row_to_item(row: dict[str, str], default_source: str) -> tuple[dict, dict[str, list[str]]]:
    """One CSV row as a bulk item, or the errors that stop it before validation."""
    errors: dict[str, list[str]] = {}
    get = lambda name: (row.get(name) or "").strip()  # noqa: E731
    evidence: dict = {}
    if get("evidence"):
        try:
            evidence = json.loads(get("evidence"))
            if not isinstance(evidence, dict):
                raise ValueError
        except ValueError:
            errors["evidence"] = ['Must be a JSON object such as {"error_code": "4001"}.']
            evidence = {}
    for column, value in row.items():
        if column and column.startswith("evidence.") and value not in (None, ""):
            evidence[column.removeprefix("evidence.")] = value.strip()
    reported_at = None
    if get("reported_at"):
        reported_at = parse_datetime(get("reported_at"))
        if reported_at is None:
            errors["reported_at"] = [f"'{get('reported_at')}' is not a date and time such as 2026-03-01T09:30:00Z."]
        elif timezone.is_naive(reported_at):
            reported_at = timezone.make_aware(reported_at)
    cluster_id = None
    if get("cluster"):
        if not get("cluster").isdigit():
            errors["cluster"] = [f"'{get('cluster')}' is not a cluster id (a whole number)."]
        else:
            cluster_id = int(get("cluster"))
    source = get("source") or default_source
    if not get("external_id"):
        errors["external_id"] = ["The ticket's id in the help desk is required (it makes re-imports safe)."]
    item = {
        "source": source,
        "external_id": get("external_id"),
        "subject": get("subject"),
        "description": get("description"),
        "ticket_type_key": get("ticket_type") or None,
        "feedback_kind": get("feedback_kind") or None,
        "evidence": evidence,
        "customer_external_id": get("customer_external_id") or None,
        "customer_name": get("customer_name") or None,
        "status": get("status") or None,
        "reported_at": reported_at,
        "cluster_id": cluster_id,
    }
    return item, errors


class Command(BaseCommand):
    help = "Import historical tickets from CSV (upsert by source and external id; safe to re-run)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", default="import", help="Source for rows without a source column.")
        parser.add_argument("--dry-run", action="store_true", help="Validate everything, store nothing.")
        parser.add_argument("--report", type=Path, help="Write rejected rows with their reasons to this CSV.")

    def handle(self, *args, path: Path, source: str, dry_run: bool, report: Path | None, **options):
        if not path.exists():
            raise CommandError(f"No file at {path}.")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        if rows and not {"external_id", "subject"} <= set(rows[0]):
            raise CommandError("The header must name at least the columns external_id and subject.")
        counts = {"created": 0, "updated": 0, "error": 0}
        rejected: list[tuple[int, str, str]] = []
        try:
            with transaction.atomic():
                with tqdm(total=len(rows), unit="row", disable=None, file=self.stderr._out) as bar:
                    for start in range(0, len(rows), CHUNK):
                        self._chunk(rows, start, source, counts, rejected)
                        bar.update(min(CHUNK, len(rows) - start))
                if dry_run:
                    raise DryRunRollback
        except DryRunRollback:
            pass
        for line, external_id, reason in rejected:
            self.stdout.write(f"row {line} ({external_id or 'no id'}): {reason}")
        if report:
            with report.open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["row", "external_id", "reasons"])
                writer.writerows(rejected)
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(rows)} rows: {counts['created']} {verb} created, {counts['updated']} {verb} updated, "
                f"{counts['error']} rejected" + (" (dry run: nothing stored)" if dry_run else "") + "."
            )
        )

    def _chunk(self, rows, start, source, counts, rejected) -> None:
        items, lines = [], []
        for offset, row in enumerate(rows[start : start + CHUNK]):
            line = start + offset + 2  # the header is line 1
            item, errors = row_to_item(row, source)
            if errors:
                counts["error"] += 1
                rejected.append((line, item["external_id"], _reasons(errors)))
                continue
            items.append(item)
            lines.append(line)
        for result in ticket_bulk_upsert(items=items):
            if result.result == "error":
                rejected.append((lines[result.index], items[result.index]["external_id"], _reasons(result.errors)))
            counts[result.result] += 1


def _reasons(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in sorted(errors.items()))
