"""Replies from respondents through Mailgun's inbound routes (a route whose action forwards to
this URL; a URL ending in /mime gets the raw MIME, which keeps a bounce's report whole)."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kringloop.inbound.mailgun import (
    FormRefused,
    SignatureRefused,
    SigningKeyNotSet,
    check_signature,
    posted_form,
    raw_email,
    recipients_of,
)
from kringloop.inbound.service import receive
from kringloop.refusal import Refused
from kringloop.web.deps import ServicesDep

router = APIRouter(prefix="/api/inbound", tags=["inbound"])
log = logging.getLogger("kringloop")

# Mailgun retries anything but 200 and 406 for hours; 406 says "never send this again".
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "taken in on its case, or quarantined (`status` says which)"},
    401: {"description": "not signed with the Mailgun signing key, or the timestamp is stale"},
    406: {"description": "not an email Kringloop takes (not for the reply domain, too large, "
                         "unwritable); Mailgun does not retry it"},
    503: {"description": "KRINGLOOP_MAILGUN_SIGNING_KEY is not set, or the email cannot be "
                         "stored now; Mailgun retries"},
}


@router.post("/mailgun", responses=_ANSWERS)
@router.post("/mailgun/mime", responses=_ANSWERS)
async def post_mailgun(request: Request, services: ServicesDep) -> JSONResponse:
    """One email from a Mailgun route (`forward("https://…/api/inbound/mailgun/mime")`, or
    store-and-notify): the signature checked, then taken in as the SMTP listener takes it."""
    settings = services.settings
    try:
        fields, files = posted_form(await request.body(),
                                    request.headers.get("content-type", ""))
    except FormRefused as refused:
        log.warning("a Mailgun post was not taken: %s", refused)
        return JSONResponse({"status": "refused", "message": str(refused)}, status_code=406)
    key = settings.mailgun_signing_key
    try:
        check_signature(fields, key=key.get_secret_value() if key else None, now=time.time(),
                        tolerance_s=settings.webhook_tolerance_s)
    except SigningKeyNotSet as missing:
        raise Refused(503, f"{missing}; nothing was stored: Mailgun retries later") from None
    except SignatureRefused as refused:
        log.warning("a Mailgun post was refused: %s", refused)
        raise Refused(401, str(refused), field="signature") from None
    try:
        raw = raw_email(fields, files)
    except FormRefused as refused:
        log.warning("a Mailgun post was not taken: %s", refused)
        return JSONResponse({"status": "refused", "message": str(refused)}, status_code=406)
    received = await receive(raw, recipients=recipients_of(fields), engine=services.engine,
                             client=services.temporal, settings=settings, org=services.org,
                             via="mailgun")
    if received.status == "refused":
        return JSONResponse({"status": "refused", "message": received.reason}, status_code=406)
    return JSONResponse({"status": received.status})
