"""`kringloop inbound`: the inbound SMTP listener for respondents' replies, alone (in production,
behind the MX of the reply address's domain), against the external Temporal and database."""

from __future__ import annotations

import typer

from kringloop.cases.emails import reply_base
from kringloop.cli.common import checked_settings, console, joining_up, refuse, require
from kringloop.cli.running import _run
from kringloop.org.organisation import load_organisation
from kringloop.runtime.heartbeat import heartbeat_file
from kringloop.runtime.stack import Running

commands = typer.Typer()  # joins `kringloop` itself, as a command of its own (see __init__)


@commands.command()
def inbound() -> None:
    """Take respondents' replies over SMTP (KRINGLOOP_INBOUND_HOST and _PORT; the next free
    port when it is taken) alone, against external Temporal and database."""
    settings = joining_up(checked_settings())
    require(settings, "temporal_address")
    if reply_base(settings, load_organisation(settings.org_file)) is None:
        raise refuse("no reply address to take replies for: set reply_address in the "
                     "organisation file, or KRINGLOOP_REPLY_ADDRESS")

    def ready(running: Running) -> None:
        console.print(f"[bold green]Kringloop takes replies[/] at {running.inbound_url} "
                      f"for {running.inbound_for} (Ctrl-C stops it)", highlight=False)

    _run(settings, worker=False, web=False, inbound=True, on_ready=ready,
         heartbeat=heartbeat_file())
