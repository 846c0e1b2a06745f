"""Sending a member their one-time sign-in link by email."""

from __future__ import annotations

import asyncio
import secrets

from kringloop.database import session_for
from kringloop.mail.delivery import Recipient, build_message, deliver, message_id_for
from kringloop.mail.identity import sender_of
from kringloop.mail.rendering import render
from kringloop.org.access import Principal
from kringloop.security.credentials import MAGIC_LINK_LIFETIME, create_magic_link
from kringloop.services import Services


async def send_sign_in_link(services: Services, principal: Principal) -> None:
    secret = await asyncio.to_thread(_new_link, services, principal.email)
    settings = services.settings
    email = render("sign_in", principal.language, {
        "organisation": services.org.name, "time_zone": "Europe/Amsterdam",
        "base_url": settings.base_url, "member_name": principal.name,
        "link": f"{settings.base_url}/login/magic/{secret}",
        "minutes": int(MAGIC_LINK_LIFETIME.total_seconds() // 60)})
    sender = sender_of(settings, services.org)
    message = build_message(
        email, kind="sign_in", sender=sender,
        to=Recipient(principal.name, principal.email, principal.language),
        message_id=message_id_for(f"sign-in:{secrets.token_hex(8)}", sender.address))
    await deliver(message, settings)


def _new_link(services: Services, email: str) -> str:
    with session_for(services.engine) as session:
        return create_magic_link(session=session, email=email)
