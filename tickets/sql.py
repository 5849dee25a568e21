"""Portable SQL for the hot write paths: several statements in one round trip to the server."""

from __future__ import annotations

from django.db import connection

Statement = tuple[str, list]


def execute_statements(statements: list[Statement]) -> None:
    """Run statements in order; on PostgreSQL (psycopg2) in one round trip to the server."""
    statements = [s for s in statements if s]
    if not statements:
        return
    with connection.cursor() as cursor:
        raw = getattr(cursor, "cursor", None)
        if connection.vendor == "postgresql" and hasattr(raw, "mogrify") and len(statements) > 1:
            cursor.execute(b";".join(raw.mogrify(sql, params) for sql, params in statements).decode())
            return
        for sql, params in statements:
            cursor.execute(sql, params)
