"""Team members' sign-in secrets: `kringloop member ...` (a password, a one-time link) and
`kringloop token ...` (personal API tokens)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from kringloop.cli.common import checked_settings, console, database, refuse
from kringloop.org.access import Principal, principal_for
from kringloop.org.organisation import load_organisation
from kringloop.runtime.running_stack import running_stack
from kringloop.security.credentials import (
    OPERATOR_LINK_LIFETIME,
    api_tokens_of,
    create_api_token,
    create_magic_link,
    revoke_api_token,
    set_password,
)
from kringloop.settings import Settings

member_app = typer.Typer(help="Team members' sign-in: a password, or a one-time link.",
                         no_args_is_help=True)
token_app = typer.Typer(help="Personal API tokens for the JSON API.", no_args_is_help=True)


def _person(settings: Settings, email: str) -> Principal:
    """The member or admin with this email in the organisation file; exit 2 for anyone else."""
    person = principal_for(load_organisation(settings.org_file), email)
    if person is None:
        raise refuse(f"{email} is not a member or admin in {settings.org_file}")
    return person


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


@member_app.command("set-password")
def member_set_password(
    email: Annotated[str, typer.Argument(help="the member's email, as in the organisation file")],
    stdin: Annotated[bool, typer.Option(
        "--stdin", help="read the password from standard input instead of prompting")] = False,
) -> None:
    """Set (or replace) a member's password for password sign-in; at least 12 characters."""
    settings = checked_settings()
    person = _person(settings, email)
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"New password for {person.email}", hide_input=True,
                                confirmation_prompt=True)
    with database(settings) as session:
        try:
            set_password(session=session, email=person.email, password=password)
        except ValueError as refused:  # too short: the rule lives in one place
            raise refuse(str(refused)) from None
    console.print(f"Password set for {person.name} <{person.email}>.", markup=False,
                  highlight=False)


@member_app.command("sign-in-link")
def member_sign_in_link(
    email: Annotated[str, typer.Argument(help="the member's email, as in the organisation file")],
) -> None:
    """A one-time sign-in link for a member, printed here: for the first sign-in of a team
    without a mail server (the embedded outbox shows sign-in links to nobody but their owner)."""
    settings = checked_settings()
    person = _person(settings, email)
    with database(settings) as session:
        secret = create_magic_link(session=session, email=person.email,
                                   lifetime=OPERATOR_LINK_LIFETIME)
    hours = int(OPERATOR_LINK_LIFETIME.total_seconds() // 3600)
    console.print(f"One-time sign-in link for {person.name} <{person.email}> (works once, for "
                  f"{hours} h; give it to them only):", markup=False, highlight=False)
    stack = running_stack(home=settings.home)  # the `up` here may listen on a port of its own
    base_url = stack.web_url if stack and stack.web_url else settings.base_url
    console.print(f"{base_url}/login/magic/{secret}", markup=False, highlight=False)


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="the member's email, as in the organisation file")],
    label: Annotated[str, typer.Option(help="what the token is for, e.g. 'laptop script'")] = "",
) -> None:
    """Create a personal API token; the secret is shown this once and never stored."""
    settings = checked_settings()
    person = _person(settings, email)
    with database(settings) as session:
        token_id, secret = create_api_token(session=session, email=person.email, label=label)
    console.print(f"Token {token_id} for {person.name} <{person.email}> "
                  "(shown only now; use it as 'Authorization: Bearer <token>'):",
                  markup=False, highlight=False)
    console.print(secret, markup=False, highlight=False)


@token_app.command("list")
def token_list(
    email: Annotated[str, typer.Argument(help="the member's email, as in the organisation file")],
) -> None:
    """A member's API tokens: when made, last used, revoked. Secrets are never shown."""
    settings = checked_settings()
    person = _person(settings, email)
    with database(settings) as session:
        tokens = api_tokens_of(session=session, email=person.email)
    # Light borders and bare times: a used and revoked token's row still fits 80 columns.
    table = Table(title=escape(f"API tokens of {person.name} <{person.email}> (times in UTC)"),
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column in ("id", "label", "created", "last used", "revoked"):
        table.add_column(column, no_wrap=column != "label")
    for token in tokens:
        table.add_row(token.id, escape(token.label), _when(token.created_at),
                      _when(token.last_used_at), _when(token.revoked_at))
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="the token's id, as `token list` shows it")],
) -> None:
    """Revoke a token at once: the JSON API refuses it from the next request on."""
    settings = checked_settings()
    with database(settings) as session:
        if not revoke_api_token(session=session, token_id=token_id):
            raise refuse(f"no such active token: {token_id}", code=1)
    console.print(f"Token {token_id} revoked.", markup=False, highlight=False)
