"""The schema comes from Alembic migrations; migrating an empty database gives the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from kringloop.database import make_engine
from kringloop.migrations import is_at_head, upgrade_to_head


def test_an_empty_database_migrated_to_head_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    assert not is_at_head(engine)
    upgrade_to_head(engine)
    assert is_at_head(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == [], "models changed without a migration: " + repr(differences)


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    upgrade_to_head(engine)
    assert is_at_head(engine)
    engine.dispose()
