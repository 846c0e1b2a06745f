"""The load driver: a survey tool's webhook posting low scores to Kringloop's intake, and retrying
each delivery until Kringloop acknowledges it, as real survey tools do."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


def detractors(scenario: str, count: int) -> list[dict[str, Any]]:
    """`count` low scores, each from its own contactable customer."""
    return [{"response_id": f"{scenario}-{n}", "program": "customer", "score": n % 7,
             "comment": "De fiets werd te laat bezorgd.",
             "respondent": {"id": f"{scenario}-klant-{n}", "name": f"Klant {n}",
                            "email": respondent_email(scenario, n), "language": "nl"}}
            for n in range(count)]


def respondent_email(scenario: str, n: int) -> str:
    return f"klant{n}@{scenario}.example"


@dataclass
class SurveyTool:
    """Delivers each response until it is acknowledged (200 or 201): after `Retry-After` on a
    429, and after a pause on a 5xx, a timeout or a dropped connection."""

    web_url: str
    answers: Counter[int] = field(default_factory=Counter)  # acknowledged: 200 or 201
    retried: Counter[str] = field(default_factory=Counter)  # why: a status code, or "no answer"

    @property
    def deliveries(self) -> int:
        return self.answers.total() + self.retried.total()

    async def deliver_all(self, bodies: Sequence[dict[str, Any]], *, concurrency: int = 16,
                          per_second: float | None = None) -> list[str]:
        """Deliver every body (at most `concurrency` at once, and no faster than `per_second`
        if given, as answers trickle in); the case id of each."""
        limit = asyncio.Semaphore(concurrency)
        pool = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=self.web_url, timeout=60, limits=pool) as web:

            async def one(n: int, body: dict[str, Any]) -> str:
                if per_second:
                    await asyncio.sleep(n / per_second)
                async with limit:
                    return await self._deliver(web, body)

            return await asyncio.gather(*(one(n, body) for n, body in enumerate(bodies)))

    async def _deliver(self, web: httpx.AsyncClient, body: dict[str, Any]) -> str:
        pause = 0.5
        while True:
            try:
                answer = await web.post("/api/responses", json=body)
            except httpx.TransportError:  # a timeout or a dropped connection: send it again
                answer = None
            if answer is not None and answer.status_code in (200, 201):
                self.answers[answer.status_code] += 1
                return str(answer.json()["case_id"])
            if answer is not None and answer.status_code == 429:
                await asyncio.sleep(float(answer.headers["Retry-After"]))
            elif answer is None or answer.status_code >= 500:
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5)
            else:
                raise AssertionError(f"intake refused a valid response: {answer.text}")
            self.retried[str(answer.status_code) if answer is not None else "no answer"] += 1
