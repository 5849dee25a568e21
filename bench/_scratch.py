"""Scratch PostgreSQL databases for the benchmarks: created next to DATABASE_URL's, dropped after.

The database named in DATABASE_URL is never touched; each benchmark works in `<name><suffix>`.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse, urlunparse


def _admin(url: str):
    import psycopg2

    connection = psycopg2.connect(urlunparse(urlparse(url)._replace(path="/postgres")))
    connection.autocommit = True
    return connection


def scratch_database(suffix: str) -> str:
    """Create (or re-create) `<DATABASE_URL's name><suffix>` and return its URL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL=postgres://USER@HOST:5432/NAME: this benchmark runs on PostgreSQL.")
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") + suffix
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunparse(parsed._replace(path=f"/{name}"))


def drop_database(url: str) -> None:
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{urlparse(url).path.lstrip("/")}"')
    admin.close()
