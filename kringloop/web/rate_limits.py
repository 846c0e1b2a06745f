"""Rate limits on intake and sign-in: a flood (a misbehaving survey tool, someone guessing
passwords or filling an inbox with sign-in links) gets 429 with Retry-After, and our capacity
and our members' inboxes stay for everyone else. Counting is the `limits` library's work."""

from __future__ import annotations

import hashlib
import hmac
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
                       "sign_in": parse_many(settings.rate_limit_sign_in),
                       "sign_in_mail": parse_many(settings.rate_limit_sign_in),
                       "sign_in_client": parse_many(settings.rate_limit_sign_in_client)}

    async def count(self, purpose: str, key: str) -> None:
        """Count one request of `purpose` by `key`; raise TooManyRequests past any limit."""
        for rate in self._rates[purpose]:
            if not await self._limiter.hit(rate, purpose, key):
                raise TooManyRequests(await self._retry_after(rate, purpose, key))

    async def allows(self, purpose: str, key: str) -> bool:
        """Count one more of `purpose` by `key`: False past any limit."""
        try:
            await self.count(purpose, key)
        except TooManyRequests:
            return False
        return True

    async def _retry_after(self, rate: RateLimitItem, purpose: str, key: str) -> int:
        stats = await self._limiter.get_window_stats(rate, purpose, key)
        return max(1, math.ceil(stats.reset_time - time.time()))


def client_of(request: Request) -> str:
    """The client's address: the connection's, or what a configured proxy says it is."""
    return "address:" + (request.client.host if request.client else "unknown")


def intake_sender(request: Request, settings: Settings) -> str:
    """Who is sending: a token the intake accepts (the intake token or the admin token, never
    kept), or else the client's address. A made-up token is the address's too, so it cannot
    open a bucket of its own."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        for name, known in (("intake", settings.intake_token),
                            ("admin", settings.api_admin_token)):
            if known and hmac.compare_digest(token.encode(), known.encode()):
                return f"token:{name}"
    return client_of(request)


async def limit_intake(request: Request) -> None:
    """FastAPI dependency for the intake routes."""
    limits: RateLimits = request.app.state.rate_limits
    await limits.count("intake", intake_sender(request, request.app.state.services.settings))


def _person(email: str) -> str:
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


async def limit_sign_in(request: Request, email: str) -> None:
    """Links asked for and passwords tried count together, per person from one client and per
    client over everyone: a client guessing many people's passwords is slowed down, and one
    that hammers Bram's address slows down only itself, never Bram signing in elsewhere."""
    limits: RateLimits = request.app.state.rate_limits
    client = client_of(request)
    await limits.count("sign_in_client", client)
    await limits.count("sign_in", f"{_person(email)}:{client}")


async def may_mail_sign_in_link(request: Request, email: str) -> bool:
    """Whether one more sign-in link may go to this inbox: across all clients, so that many
    clients together cannot fill it either. Past the limit the link is not sent, and the
    visitor is told nothing else (the answer is the same for anyone)."""
    limits: RateLimits = request.app.state.rate_limits
    return await limits.allows("sign_in_mail", _person(email))


def install_rate_limits(app: FastAPI, settings: Settings) -> None:
    app.state.rate_limits = RateLimits(settings)

    @app.exception_handler(TooManyRequests)
    async def _slow_down(request: Request, error: TooManyRequests) -> Response:
        headers = {"Retry-After": str(error.retry_after_s)}
        if wants_json(request):
            return refusal(429, str(error), headers=headers)
        from kringloop.web.pages.rendering import problem, reader

        services = request.app.state.services
        answer = problem(request, services, reader(request, services), "too_many_attempts",
                         status_code=429)
        answer.headers.update(headers)
        return answer
