"""The hostile-input suite's fixtures: reproducible hypothesis profiles, the web app without
Temporal (a refusal must never need it), and the database's row counts, so that a refused
request can be shown to have written nothing at all."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, func, select
from sqlmodel import SQLModel

from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings
from tests.support.web import RowCounts, web_client

# Derandomized by default: every run (CI, a colleague's machine) tries the same examples, and
# no example database is written into the working tree. HYPOTHESIS_PROFILE=hostile-explore
# looks further, with fresh random examples (500 a test) each run.
hypothesis_settings.register_profile(
    "hostile", max_examples=100, deadline=None, derandomize=True, database=None,
    print_blob=True,
    # The fixtures (one database, one app) are shared by a test's examples on purpose: each
    # example compares row counts before and after, so it needs no fresh database.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
hypothesis_settings.register_profile(
    "hostile-explore", parent=hypothesis_settings.get_profile("hostile"), max_examples=500,
    derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "hostile"))


@pytest.fixture
def hostile_settings(settings: Settings) -> Settings:
    """The test settings, with rate limits no property run comes near."""
    return settings.model_copy(update={"rate_limit_intake": "100000/second",
                                       "rate_limit_sign_in": "100000/second"})


@pytest.fixture
async def web(hostile_settings: Settings, org: Organisation, engine: Engine
              ) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(hostile_settings, org, engine) as client:
        yield client


@pytest.fixture
def rows(engine: Engine) -> RowCounts:
    """How many rows each table holds now."""

    def count() -> dict[str, int]:
        with session_for(engine) as session:
            return {table.name: session.execute(select(func.count()).select_from(table))
                    .scalar_one() for table in SQLModel.metadata.sorted_tables}

    return count
