"""The survey-fetch activity: ask a tool's API for a notified response's answers, take them in."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client

from kringloop.org.organisation import Organisation
from kringloop.services import Services
from kringloop.settings import Settings
from kringloop.sources.fetching import fetch_and_take_in
from kringloop.sources.messages import FetchOrder


class SourceActivities:
    """One instance per worker; its HTTP client keeps connections to the tools' APIs."""

    def __init__(self, *, client: Client, engine: Engine, org: Organisation,
                 settings: Settings) -> None:
        self.client = client
        self.engine = engine
        self.org = org
        self.settings = settings
        self._http: httpx.AsyncClient | None = None

    @activity.defn
    async def fetch_and_take_in(self, order: FetchOrder) -> str:
        if self._http is None:  # made on the worker's event loop, where it is used
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(20.0))
        return await fetch_and_take_in(order, http=self._http, services=Services(
            settings=self.settings, org=self.org, engine=self.engine, temporal=self.client))
