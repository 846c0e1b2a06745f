"""The rejection tests' fixtures: Kringloop as a recruiter and an applicant meet it, on the
time-skipping server or the dev server (tests/support/rejections.py has the rest)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.kringloop import Kringloop
from tests.support.rejections import Recruiting


@pytest.fixture
async def recruiting(simulated: Kringloop) -> AsyncIterator[Recruiting]:
    """On the time-skipping server: days of hold and survey delay pass in moments."""
    recruiting = Recruiting(simulated)
    yield recruiting
    await recruiting.settle()


@pytest.fixture
async def recruiting_live(live: Kringloop) -> AsyncIterator[Recruiting]:
    """On the Temporal dev server, in real time, over real SMTP."""
    recruiting = Recruiting(live)
    yield recruiting
    await recruiting.settle()
