"""The database engine and sessions for SQLite (embedded) or PostgreSQL (production)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, DateTime, Engine, TypeDecorator, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Field, Session, SQLModel, create_engine

log = logging.getLogger("kringloop")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        keep_private(Path(url.removeprefix("sqlite:///")))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
            # WAL lets the web app read while the worker writes.
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Deleted and overwritten text is zeroed, not left in free space: an erased
            # person's name must not linger in the file (see wipe_erased_traces).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    # A server that does not answer fails the request in seconds (and /health says so),
    # instead of holding it until the operating system gives up on the connection.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def keep_private(database: Path) -> None:
    """The SQLite file (and its folder) readable by this user only: it holds people's names,
    addresses and comments. SQLite gives its -wal and -shm files the database file's mode, so
    the file is made (or set) 0600 before the first connection; an older, wider one is narrowed."""
    if str(database) in ("", ":memory:"):
        return
    if not database.parent.exists():
        database.parent.mkdir(parents=True, mode=0o700)
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (database, database.with_name(database.name + "-wal"),
                 database.with_name(database.name + "-shm")):
        if path.exists():
            path.chmod(0o600)


def wipe_erased_traces(engine: Engine) -> None:
    """After an erasure: the old versions of the changed pages, still in SQLite's write-ahead
    log, are folded into the database and the log emptied, so no file keeps the erased text.
    (PostgreSQL keeps dead row versions until its autovacuum reclaims them.)"""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        log.warning("the write-ahead log could not be emptied after an erasure (a reader "
                    "held it); the next erasure or checkpoint empties it")


@contextmanager
def session_for(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


Row = TypeVar("Row", bound=SQLModel)


def change_once(*, session: Session, model: type[Row], key: str, step: SQLModel,
                change: Callable[[Row], None]) -> bool:
    """Change one row and add the step that records it, in one transaction, unless the step
    is there already: activities are retried, and the step's unique key makes each step
    happen once. False when it had happened before (or a concurrent attempt won the race)."""
    row = session.get(model, key)
    if row is None:
        raise LookupError(f"no {model.__name__} {key}")
    change(row)
    session.add(row)
    session.add(step)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True



def send_commit(connection: Connection) -> Callable[[], None]:
    """Send the COMMIT of `connection`'s transaction and return before the database answers,
    with what reads that answer (raising OperationalError if the commit failed). Whatever the
    caller does in between follows the COMMIT as closely as two system calls: the database
    completes a COMMIT it has received even when the process that sent it is killed. SQLite
    commits in this process, so there the commit is done when this returns."""
    if connection.dialect.name != "postgresql":
        connection.commit()
        return lambda: None
    # Imported here: a process on SQLite never loads the PostgreSQL driver.
    import psycopg
    from psycopg import generators, pq

    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    pgconn = driver.pgconn
    pgconn.send_query(b"COMMIT")
    driver.wait(generators.send(pgconn))

    def answered() -> None:
        try:
            results = driver.wait(generators.fetch_many(pgconn))
            connection.commit()  # the server's transaction is over: this ends SQLAlchemy's only
            for result in results:
                if result.status != pq.ExecStatus.COMMAND_OK:
                    raise psycopg.OperationalError(
                        (result.error_message or b"COMMIT failed").decode(errors="replace"))
        except psycopg.Error as error:
            raise OperationalError("COMMIT", None, error) from error

    return answered


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC and always gives back aware datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def moment_column(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UtcDateTime(), **kwargs))


class HealthProbe(SQLModel, table=True):
    """One row that /health writes: a database that can no longer store anything (a full
    disk, a read-only file system) is reported before intake starts failing."""

    __tablename__ = "health_probe"

    id: int = Field(default=1, primary_key=True)
    checked_at: datetime = moment_column(nullable=False)
