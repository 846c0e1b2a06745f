"""Schema migrations with Alembic: `kringloop db upgrade`, and automatically in `kringloop up`."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from kringloop import tables
from kringloop.resources import MIGRATIONS


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def new_revision(url: str, message: str) -> None:
    """For developers: autogenerate a migration from the difference between models and `url`
    (a database at the current head), numbered after the last one."""
    number = len(list((MIGRATIONS / "versions").glob("[0-9]*.py"))) + 1
    command.revision(alembic_config(url), message=message, autogenerate=True,
                     rev_id=f"{number:04d}")


def is_at_head(engine: Engine) -> bool:
    """True when the database has every migration this code knows about."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(""))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


class SchemaOutOfDate(Exception):
    """A shared database that needs `kringloop db upgrade` before this version can use it."""


def ensure_schema(engine: Engine) -> None:
    """The embedded SQLite database is migrated automatically; a shared production database
    only by an operator's `kringloop db upgrade`, never behind the back of other processes."""
    if engine.dialect.name == "sqlite":
        upgrade_to_head(engine)
    elif not is_at_head(engine):
        raise SchemaOutOfDate(
            f"the database at {engine.url.render_as_string(hide_password=True)} is not at the "
            "newest schema: run `kringloop db upgrade` first")


def create_at_head(engine: Engine) -> None:
    """Create the tables straight from the models and mark them as migrated: the test suite's
    quick path (tests/test_migrations.py proves the migrations give the same schema)."""
    tables.metadata.create_all(engine)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.stamp(config, "head")
