"""The database engine and sessions for SQLite (embedded) or PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine

from kringloop import models  # noqa: F401  (registers the tables)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
            # WAL lets the web app read while the worker writes.
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # A server that does not answer fails the request in seconds (and /health says so),
    # instead of holding it until the operating system gives up on the connection.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def create_tables(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


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
