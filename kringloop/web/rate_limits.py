"""Rate limits on intake and sign-in: a flood (a misbehaving survey tool, someone guessing
passwords or filling an inbox with sign-in links) gets 429 with Retry-After, and our capacity
and our members' inboxes stay for everyone else. Counting is the `limits` library's work."""

from __future__ import annotations

import hashlib
import math
import time

from fastapi import FastAPI, Request
from fastapi.responses import Response
from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from kringloop.settings import Settings
from kringloop.web.errors import refusal, wants_json


class TooManyRequests(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many requests; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class RateLimits:
    """The limits from the settings, counted per key in the configured storage."""

    def __init__(self, settings: Settings) -> None:
        storage = storage_from_string(settings.rate_limit_storage)
        assert isinstance(storage, Storage), "rate_limit_storage must be an async+ storage"
        self._limiter = MovingWindowRateLimiter(storage)
        self._rates = {"intake": parse_many(settings.rate_limit_intake),
                       "sign_in": parse_many(settings.rate_limit_sign_in)}

    async def count(self, purpose: str, key: str) -> None:
        """Count one request of `purpose` by `key`; raise TooManyRequests past any limit."""
        for rate in self._rates[purpose]:
            if not await self._limiter.hit(rate, purpose, key):
                raise TooManyRequests(await self._retry_after(rate, purpose, key))

    async def _retry_after(self, rate: RateLimitItem, purpose: str, key: str) -> int:
        stats = await self._limiter.get_window_stats(rate, purpose, key)
        return max(1, math.ceil(stats.reset_time - time.time()))


def sender_of(request: Request) -> str:
    """Who is sending: the bearer token (hashed, never kept) or else the client's address."""
    authorization = request.headers.get("authorization", "")
    if authorization:
        return "token:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return "address:" + (request.client.host if request.client else "unknown")


async def limit_intake(request: Request) -> None:
    """FastAPI dependency for the intake routes."""
    limits: RateLimits = request.app.state.rate_limits
    await limits.count("intake", sender_of(request))


async def limit_sign_in(request: Request, email: str) -> None:
    """Per person signing in (whatever address they try from): links asked for and passwords
    tried count together, so neither an inbox nor a password can be hammered."""
    limits: RateLimits = request.app.state.rate_limits
    await limits.count("sign_in", "email:" + hashlib.sha256(email.lower().encode()).hexdigest())


def install_rate_limits(app: FastAPI, settings: Settings) -> None:
    app.state.rate_limits = RateLimits(settings)

    @app.exception_handler(TooManyRequests)
    async def _slow_down(request: Request, error: TooManyRequests) -> Response:
        headers = {"Retry-After": str(error.retry_after_s)}
        if wants_json(request):
            return refusal(429, str(error), headers=headers)
        from kringloop.web.routes.pages import problem, reader

        services = request.app.state.services
        answer = problem(request, services, reader(request, services), "too_many_attempts",
                         status_code=429)
        answer.headers.update(headers)
        return answer
