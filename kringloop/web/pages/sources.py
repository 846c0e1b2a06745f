"""The admin's page of survey-tool sources: where each posts, and how its deliveries fared."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kringloop.database import session_for
from kringloop.sources.queries import sources_overview
from kringloop.web.deps import PageUser, ServicesDep
from kringloop.web.pages.rendering import page, problem

router = APIRouter(include_in_schema=False)


@router.get("/sources")
def sources(request: Request, services: ServicesDep, principal: PageUser) -> Response:
    if not principal.is_admin:
        return problem(request, services, principal, "sources_for_admins", 403)
    with session_for(services.engine) as session:
        overview = sources_overview(session=session, org=services.org)
    return page(request, services, principal, "sources.html", overview=overview,
                hooks_url=f"{services.settings.base_url}/api/hooks/",
                secret_set={s.name: bool(s.secret_env and services.settings.named_secret(
                    s.secret_env)) for s in services.org.sources})
