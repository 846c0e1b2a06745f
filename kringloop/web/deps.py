"""What every route needs: the services from app state, and who is calling."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from temporalio.client import Client

from kringloop.org import Organisation
from kringloop.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    org: Organisation
    engine: Engine
    temporal: Client


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]
bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _matches(credentials: HTTPAuthorizationCredentials | None, token: str | None) -> bool:
    return bool(credentials and token and hmac.compare_digest(
        credentials.credentials.encode(), token.encode()))


def _unauthorized() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token",
                         headers={"WWW-Authenticate": "Bearer"})


def require_intake(services: ServicesDep, credentials: Credentials) -> None:
    """Intake is open unless KRINGLOOP_INTAKE_TOKEN is set; the admin token always works."""
    token = services.settings.intake_token
    if token is None:
        return
    if not (_matches(credentials, token)
            or _matches(credentials, services.settings.api_admin_token)):
        raise _unauthorized()


def require_admin(services: ServicesDep, credentials: Credentials) -> str:
    """The caller as an actor name for the timeline."""
    if not _matches(credentials, services.settings.api_admin_token):
        raise _unauthorized()
    return "admin"


Actor = Annotated[str, Depends(require_admin)]
