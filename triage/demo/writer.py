"""Stream ticket rows into the database in batches: COPY on PostgreSQL, executemany elsewhere.

Bypasses the ORM on purpose: a million model instances would not fit the
memory or time budget of `seed_demo`. Column names come from the model, so
a renamed field fails loudly instead of writing to the wrong column.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection

from tickets.models import Ticket

TICKET_COLUMNS = (
    "source",
    "external_id",
    "subject",
    "description",
    "feedback_kind",
    "ticket_type_id",
    "evidence",
    "evidence_completeness",
    "customer_id",
    "agent_id",
    "status",
    "reported_at",
    "created_at",
    "updated_at",
    "cluster_id",
    "cluster_assigned_at",
    "assignment_source",
    "assignment_confidence",
    "assignment_reasons",
)
_JSON = {"evidence", "assignment_reasons"}


def _column(name: str) -> str:
    return Ticket._meta.get_field(name).column  # also resolves attnames such as "customer_id"


def _copy_escape(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    text = value if isinstance(value, str) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class TicketWriter:
    """Collects ticket rows and writes them `batch_size` at a time. Use inside a transaction."""

    def __init__(self, *, batch_size: int | None = None, on_flush=None):
        self.postgres = connection.vendor == "postgresql"
        self.batch_size = batch_size or (20_000 if self.postgres else 2_000)
        self.columns = [_column(name) for name in TICKET_COLUMNS]
        self.table = connection.ops.quote_name(Ticket._meta.db_table)
        self.rows: list[tuple] = []
        self.written = 0
        self.on_flush = on_flush

    def add(self, row: dict[str, Any]) -> None:
        values = []
        for name in TICKET_COLUMNS:
            value = row.get(name)
            if name in _JSON:
                value = json.dumps(value if value is not None else ([] if name == "assignment_reasons" else {}))
            values.append(value)
        self.rows.append(tuple(values))
        if len(self.rows) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        with connection.cursor() as cursor:
            if self.postgres:
                self._copy(cursor)
            else:
                self._insert(cursor)
        self.written += len(self.rows)
        if self.on_flush:
            self.on_flush(len(self.rows))
        self.rows = []

    def _copy(self, cursor) -> None:
        buffer = io.StringIO()
        for row in self.rows:
            buffer.write("\t".join(_copy_escape(v) for v in row))
            buffer.write("\n")
        buffer.seek(0)
        sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
        raw = cursor.cursor
        if hasattr(raw, "copy_expert"):  # psycopg2
            raw.copy_expert(sql, buffer)
        else:  # psycopg 3
            with raw.copy(sql) as copy:
                copy.write(buffer.getvalue())

    def _insert(self, cursor) -> None:
        adapt = connection.ops.adapt_datetimefield_value
        rows = [tuple(adapt(v) if isinstance(v, datetime) else v for v in row) for row in self.rows]
        placeholders = ", ".join(["%s"] * len(self.columns))
        cursor.executemany(f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({placeholders})", rows)


@contextmanager
def indexes_rebuilt_after(model) -> Iterator[None]:
    """On PostgreSQL, drop `model`'s plain indexes for the block and build them again after it.

    Building an index once over a million rows is several times faster than
    updating a dozen indexes row by row. Primary-key and constraint indexes stay
    (uniqueness is still checked while copying). Call inside a transaction: DDL
    is transactional there, so a failure restores every index.
    """
    if connection.vendor != "postgresql":
        yield
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(ix.indexrelid)
            FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
            WHERE ix.indrelid = %s::regclass AND NOT ix.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
            """,
            [table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
