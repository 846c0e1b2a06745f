"""Running Kringloop: `kringloop up` (everything on one machine), a worker or the web app alone,
the codec server, and `kringloop db upgrade` for the schema they need."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from kringloop.cli.common import checked_settings, console, errors, joining_up, refuse, require
from kringloop.database import make_engine, session_for
from kringloop.migrations import SchemaOutOfDate, upgrade_to_head
from kringloop.runtime.heartbeat import health_problems, heartbeat_file
from kringloop.runtime.observability import configure_logging
from kringloop.runtime.running_stack import RunningStack, forget_running_stack, record_running_stack
from kringloop.runtime.stack import Running, run_stack
from kringloop.security.credentials import OPERATOR_LINK_LIFETIME, create_magic_link
from kringloop.settings import Settings
from kringloop.temporal_client import TemporalUnreachable

commands = typer.Typer()  # joins `kringloop` itself, as commands of its own (see __init__)


def _print_urls(running: Running) -> None:
    console.print("[bold green]Kringloop is running[/] (Ctrl-C stops it)")
    if running.web_url:
        console.print(f"  web app      {running.web_url}   (API docs: {running.web_url}/docs)")
    if running.temporal_ui_url:
        console.print(f"  Temporal UI  {running.temporal_ui_url}")
    if running.outbox:
        console.print(f"  outbox       {running.outbox}   (every email as an .eml file)")
    if running.inbound_url:
        console.print(f"  replies      {running.inbound_url}   ({running.inbound_for})",
                      markup=False, highlight=False)
    if not running.settings.admin_token:
        # Where it is, never the token itself: whatever collects this output (a terminal's
        # scrollback, a service's log) must not hold a key to every case.
        _ = running.settings.api_admin_token  # made now if this is the first start
        console.print(f"  admin token  in {(running.settings.home / 'admin_token').resolve()}"
                      "   (or set KRINGLOOP_ADMIN_TOKEN)", markup=False, highlight=False)


def _print_admin_sign_in(running: Running) -> None:
    """The first admin's way in, as Jupyter prints its token URL: a one-time sign-in link, so
    nobody has to read anyone's mail (the outbox keeps sign-in links from all but their owner)."""
    if not running.web_url or not running.org.admins:
        return
    admin = running.org.admins[0]
    with session_for(running.engine) as session:
        secret = create_magic_link(session=session, email=admin.email,
                                   lifetime=OPERATOR_LINK_LIFETIME)
    hours = int(OPERATOR_LINK_LIFETIME.total_seconds() // 3600)
    console.print(f"  sign in      {running.settings.base_url}/login/magic/{secret}   "
                  f"(for {admin.email}: works once, for {hours} h; `kringloop member "
                  "sign-in-link EMAIL` makes another)", markup=False, highlight=False)


def _record_where(running: Running) -> None:
    """Tell the commands run beside this `up` where its parts are (see common.joining_up)."""
    record_running_stack(RunningStack(
        pid=os.getpid(), temporal_address=running.client.service_client.config.target_host,
        temporal_namespace=running.client.namespace, task_queue=running.settings.task_queue,
        database_url=running.settings.database_url, web_url=running.web_url),
        home=running.settings.home)


def _run(settings: Settings, *, worker: bool, web: bool, inbound: bool | None = None,
         on_ready: Callable[[Running], None] = _print_urls, heartbeat: Path | None = None
         ) -> None:
    configure_logging(json=settings.log_format == "json")
    try:
        asyncio.run(run_stack(settings, worker=worker, web=web, inbound=inbound,
                              on_ready=on_ready, heartbeat=heartbeat))
    except SchemaOutOfDate as behind:
        raise refuse(str(behind)) from None
    except TemporalUnreachable as error:
        raise refuse(f"cannot reach Temporal at {settings.temporal_address}: {error}") from None
    console.print("Kringloop stopped.")


@commands.command()
def up() -> None:
    """Run everything on one machine: Temporal dev server, worker, web app and SMTP sink
    (each embedded part only where no external one is configured), and the SMTP listener
    that takes respondents' replies."""
    settings = checked_settings()

    def ready(running: Running) -> None:
        _record_where(running)  # first: whoever reads the URLs may run `import` at once
        _print_urls(running)
        _print_admin_sign_in(running)

    try:
        _run(settings, worker=True, web=True, on_ready=ready)
    finally:
        forget_running_stack(home=settings.home)


@commands.command()
def worker() -> None:
    """Run a worker alone against external Temporal, database and SMTP (scale-out)."""
    settings = joining_up(checked_settings())
    require(settings, "temporal_address", "smtp_host")
    _run(settings, worker=True, web=False, heartbeat=heartbeat_file())


@commands.command()
def web() -> None:
    """Run the web app alone against external Temporal and database (scale-out)."""
    settings = joining_up(checked_settings())
    require(settings, "temporal_address")
    _run(settings, worker=False, web=True, heartbeat=heartbeat_file())


@commands.command()
def health() -> None:
    """Exit 0 when the `kringloop worker` or `kringloop web` running here (as this user) is
    well: it beat within the last seconds, and a web app's /health answers 200. For a
    container's health check; it reads no settings."""
    problems = health_problems()
    for problem in problems:
        errors.print(f"kringloop: {problem}", markup=False, highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print("healthy")


@commands.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8081,
) -> None:
    """Decrypt workflow payloads for an operator with the admin token: Temporal's codec server
    (POST /encode, /decode) for the Temporal UI (KRINGLOOP_TEMPORAL_UI_ORIGINS) and CLI."""
    import uvicorn

    from kringloop.web.codec_server import create_codec_app

    settings = checked_settings()
    if not settings.payload_encryption:
        raise refuse("KRINGLOOP_PAYLOAD_ENCRYPTION is off: there is nothing to decode")
    console.print(f"Codec server on http://{host}:{port} (Authorization: Bearer <admin token>)."
                  f" For example: temporal workflow show -w case-… --codec-endpoint "
                  f"http://{host}:{port} --codec-auth 'Bearer …'", markup=False)
    uvicorn.run(create_codec_app(settings), host=host, port=port, log_level="warning",
                access_log=False)


# The schema: `kringloop db upgrade` ------------------------------------------------------------

db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the configured database to the newest schema; safe to run again."""
    settings = checked_settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    console.print("database schema is up to date")
