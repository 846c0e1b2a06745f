"""An anonymous employee's private conversation link (`/e/{token}`): they read the team's replies
and answer, and no one learns who they are. No account, no cookie, no address: the signed link
is the only key, bound to one case, and nobody stores it."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from kringloop.cases import actions as case_actions
from kringloop.cases.schemas import RelayMessageIn
from kringloop.enps.conversation import Conversation, conversation_of
from kringloop.refusal import Refused
from kringloop.security.signed_links import (
    conversation_form_token,
    is_conversation_form_token,
)
from kringloop.services import Services
from kringloop.web.deps import ServicesDep
from kringloop.web.pages.rendering import posted
from kringloop.web.pages.respondent import templates, unknown_reader

router = APIRouter(include_in_schema=False)

# The token is in the address: keep it out of referrers, caches, search engines and frames.
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
           "X-Robots-Tag": "noindex, nofollow", "X-Frame-Options": "DENY"}


def _page(request: Request, services: Services, token: str, conversation: Conversation | None,
          *, status_code: int = 200, problem: str | None = None, text: str = "") -> Response:
    if conversation is None:
        response: Response = templates.TemplateResponse(
            request, "conversation_invalid.html", unknown_reader(request), status_code=404)
    else:
        response = templates.TemplateResponse(request, "conversation.html", {
            "language": conversation.origin.language, "conversation": conversation,
            "organisation": services.org.name, "problem": problem, "text": text,
            "form_token": conversation_form_token(services.settings.signing_key, token),
        }, status_code=status_code)
    response.headers.update(PRIVATE)
    return response


@router.get("/e/{token}", response_class=HTMLResponse)
def read_conversation(token: str, request: Request, services: ServicesDep) -> Response:
    return _page(request, services, token, conversation_of(services, token))


@router.post("/e/{token}", response_class=HTMLResponse)
async def write_in_conversation(token: str, request: Request, services: ServicesDep
                                ) -> Response:
    """The employee's answer goes to the case (a workflow update), then back to the page."""
    conversation = await asyncio.to_thread(conversation_of, services, token)
    if conversation is None:
        return _page(request, services, token, None)
    form = await posted(request)
    text = form.get("text", "")
    if not is_conversation_form_token(services.settings.signing_key, token,
                                      form.get("form_token", "")):
        return _page(request, services, token, conversation, status_code=403,
                     problem="expired_form", text=text)
    try:
        await case_actions.relay_employee_message(
            services, conversation.case.id, RelayMessageIn(text=text))
    except ValidationError as invalid:
        kind = invalid.errors()[0]["type"]
        problem = {"string_too_short": "empty", "string_too_long": "too_long"}.get(kind, "invalid")
        return _page(request, services, token, conversation, status_code=422, problem=problem,
                     text=text)
    except Refused as refused:
        return _page(request, services, token,
                     await asyncio.to_thread(conversation_of, services, token),
                     status_code=refused.status_code, problem="closed", text=text)
    return RedirectResponse(f"/e/{token}#sent", status_code=303,
                            headers={"Referrer-Policy": "no-referrer"})
