"""`kringloop demo`: the embedded stack with sample responses and simulated team members."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from kringloop.cli.common import checked_settings, console

commands = typer.Typer()  # joins `kringloop` itself, as commands of its own (see __init__)


@commands.command()
def demo(
    responses: Annotated[int, typer.Option(help="how many sample responses")] = 200,
    time_scale: Annotated[float, typer.Option(help="how much faster than real time")] = 20_000,
) -> None:
    """Run the embedded stack with sample responses and simulated team members, then report."""
    from kringloop.demo.loop import run_demo

    settings = checked_settings(time_scale=time_scale)
    raise typer.Exit(asyncio.run(run_demo(settings, responses=responses, console=console)))
