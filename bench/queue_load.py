"""The queue benchmark's cases: the same rows bulk-loaded into a SQLite file (sqlite3) or a
PostgreSQL database (COPY), and a throw-away PostgreSQL server to load them into."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Protocol

import psycopg
from sqlalchemy import create_engine, make_url, text

from kringloop.database import make_engine
from kringloop.migrations import ensure_schema, upgrade_to_head
from kringloop.org.organisation import load_organisation
from kringloop.resources import CHECKOUT
from kringloop.settings import Settings

BATCH = 50_000
# Most cases of a long-running programme are closed; a few percent are still being worked.
STATUSES = (["closed"] * 88 + ["awaiting_resurvey"] * 4 + ["resolved"] * 2 + ["assigned"] * 4
            + ["escalated"] * 1 + ["open"] * 1)
THROWAWAY_POSTGRES = CHECKOUT / "scripts" / "throwaway-postgres"

# What is loaded, table by table: a case, the answer that opened it, and (when the callback
# was tried) the attempt on its timeline, which the queue page shows as the last attempt.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("case", ("id", "response_id", "program", "score", "status", "team_id", "assignee_email",
              "assignee_name", "assigned_at", "opened_at", "callback_due_at",
              "first_attempt_at", "attempts", "escalations")),
    ("survey_response", ("id", "program", "score", "category", "comment", "respondent_id",
                         "name", "email", "phone", "language", "answered_at", "received_at",
                         "source", "meta", "case_id")),
    ("timeline_entry", ("case_id", "key", "at", "actor", "kind", "detail")),
)

Row = tuple[object, ...]
Stamp = Callable[[datetime], object]


def _rows(count: int, members: list[tuple[str, str, str]], stamp: Stamp
          ) -> Iterator[tuple[Row, Row, Row | None]]:
    """(case, response, attempt) rows: spread over every member and three years, most closed;
    every closed one was called, a third of the open ones tried once without reaching anyone."""
    start = datetime.now(UTC) - timedelta(days=3 * 365)
    step = timedelta(days=3 * 365) / count
    for i in range(count):
        email, name, team = members[i % len(members)]
        status = STATUSES[(i * 7919) % len(STATUSES)]
        score = i % 7
        opened = start + i * step
        active = status in ("open", "assigned", "escalated")
        tried = None if active and i % 3 else opened + timedelta(hours=20)
        case = (f"case-r{i:07d}", f"r{i:07d}", "customer", score, status, team, email, name,
                stamp(opened), stamp(opened), stamp(opened + timedelta(days=2)),
                None if tried is None else stamp(tried), 0 if tried is None else 1, 0)
        response = (f"r{i:07d}", "customer", score, "detractor",
                    "De bestelling kwam te laat en niemand liet iets weten.", f"klant-{i}",
                    f"Klant {i}", f"klant{i}@bench.example", f"+31 6 {10_000_000 + i:08d}",
                    "nl", stamp(opened), stamp(opened), "api", "{}", f"case-r{i:07d}")
        attempt = None if tried is None else (
            f"case-r{i:07d}", "attempt-1", stamp(tried), email, "callback_attempt",
            "no_answer: voicemail")
        yield case, response, attempt


class _Destination(Protocol):
    """Where the rows go: the database's own bulk path, in one transaction."""

    def stamp(self, moment: datetime) -> object: ...
    def indexes(self) -> list[tuple[str, str]]: ...  # (name, its CREATE statement)
    def run(self, sql: str) -> None: ...
    def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None: ...


def _fill(destination: _Destination, settings: Settings, count: int) -> None:
    """Load `count` cases with their answers and attempts, building the indexes afterwards
    (once, instead of row by row)."""
    org = load_organisation(settings.org_file)
    members = [(m.email, m.name, t.id) for t in org.teams for m in t.members]
    indexes = destination.indexes()
    for name, _ in indexes:
        destination.run(f'DROP INDEX "{name}"')
    rows = _rows(count, members, destination.stamp)
    while chunk := list(islice(rows, BATCH)):
        for number, (table, columns) in enumerate(TABLES):
            # A case nobody tried to call has no attempt (None) on its timeline.
            destination.write(table, columns, [r[number] for r in chunk if r[number]])
    for _, create in indexes:
        destination.run(create)


class _SQLiteFile:
    """sqlite3's executemany straight into the file, unsynced (a failed load is thrown away)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def stamp(self, moment: datetime) -> object:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's DateTime text on SQLite

    def indexes(self) -> list[tuple[str, str]]:
        # Indexes without SQL back a primary key or a unique constraint: they stay.
        return self.connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN (?, ?, ?)", [table for table, _ in TABLES]).fetchall()

    def run(self, sql: str) -> None:
        self.connection.execute(sql)

    def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        self.connection.executemany(
            f'INSERT INTO "{table}" ({", ".join(columns)}) '
            f'VALUES ({", ".join("?" * len(columns))})', rows)


class _PostgreSQLDatabase:
    """COPY, PostgreSQL's bulk path."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection

    def stamp(self, moment: datetime) -> object:
        return moment  # psycopg sends an aware datetime as timestamptz

    def indexes(self) -> list[tuple[str, str]]:
        # Indexes behind a constraint (the primary keys, unique ones) stay.
        return self.connection.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(%s) "
            "AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            ([table for table, _ in TABLES],)).fetchall()

    def run(self, sql: str) -> None:
        self.connection.execute(sql)

    def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        with self.connection.cursor().copy(
                f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)


def bulk_load(database: Path, settings: Settings, count: int) -> float:
    """Migrate a fresh SQLite file (as `kringloop up` does) and load `count` cases into it;
    returns the seconds it took."""
    begin = time.perf_counter()
    engine = make_engine(f"sqlite:///{database}")
    ensure_schema(engine)
    engine.dispose()
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("BEGIN")
        _fill(_SQLiteFile(connection), settings, count)
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    finally:
        connection.close()
    return time.perf_counter() - begin


def bulk_load_postgres(url: str, settings: Settings, count: int) -> float:
    """Migrate an empty PostgreSQL database (as an operator's `kringloop db upgrade` does; the
    app's `ensure_schema` then finds it at head) and COPY `count` cases into it; returns the
    seconds it took."""
    begin = time.perf_counter()
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection:
        _fill(_PostgreSQLDatabase(connection), settings, count)
        connection.commit()
        # As autovacuum would leave it: statistics for the planner, the visibility map for
        # index-only scans.
        connection.autocommit = True
        tables = ", ".join(f'"{table}"' for table, _ in TABLES)
        connection.execute(f"VACUUM ANALYZE {tables}")
    return time.perf_counter() - begin


class PostgreSQLUnavailable(Exception):
    """No PostgreSQL server could be started on this machine."""


@asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    """A PostgreSQL cluster of our own (scripts/throwaway-postgres), stopped and removed
    afterwards; yields the server's URL."""
    try:
        started = await asyncio.to_thread(
            subprocess.run, [str(THROWAWAY_POSTGRES)], capture_output=True, text=True,
            timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PostgreSQLUnavailable(f"{THROWAWAY_POSTGRES.name}: {error}") from error
    words = started.stdout.split()
    if started.returncode != 0 or len(words) != 2:
        why = (started.stderr.strip().splitlines() or [f"exit status {started.returncode}"])
        raise PostgreSQLUnavailable(f"{THROWAWAY_POSTGRES.name}: {why[-1]}")
    url, cluster = words
    try:
        yield url
    finally:
        await asyncio.to_thread(subprocess.run, [str(THROWAWAY_POSTGRES), "stop", cluster],
                                capture_output=True, check=False)
        if Path(cluster).name.startswith("kringloop-pg."):  # the script's own folder
            await asyncio.to_thread(shutil.rmtree, cluster, ignore_errors=True)


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A database of its own on the PostgreSQL server at `server`, dropped afterwards."""
    name = f"kringloop_bench_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
