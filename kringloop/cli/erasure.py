"""`kringloop erase`: one person's personal data erased, for the operator at the terminal."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kringloop.cli.common import checked_settings, console, database, joining_up, refuse
from kringloop.database import make_engine
from kringloop.privacy.footprints import ErasureSummary
from kringloop.settings import Settings

commands = typer.Typer()  # joins `kringloop` itself, as commands of its own (see __init__)


@commands.command()
def erase(
    respondent: Annotated[str, typer.Option(
        help="the person's respondent id (for an applicant: their id in the rejections)")],
    yes: Annotated[bool, typer.Option("--yes", help="erase without asking (scripts)")] = False,
) -> None:
    """Erase one person's personal data: their answers, what their cases and rejections say
    about them, the outbox's addresses and (embedded) copies. Scores, teams and timings stay for
    the reports. With KRINGLOOP_TEMPORAL_ADDRESS (or beside `kringloop up`) their running cases
    stop contacting them."""
    from kringloop.privacy.footprints import footprint_of

    settings = joining_up(checked_settings())
    with database(settings) as session:
        found = footprint_of(session=session, respondent_id=respondent).summary()
    if not found.found:
        raise refuse(f"no personal data found for respondent {respondent} "
                      "(an unknown id, or erased before)", code=1)
    console.print(_counts(f"Personal data of respondent {respondent}", found))
    if not yes and not typer.confirm("Erase it? This cannot be undone"):
        raise refuse("nothing erased", code=1)
    console.print(_counts("Erased", asyncio.run(_erase(settings, respondent))))
    if settings.temporal_address is None:
        console.print("No KRINGLOOP_TEMPORAL_ADDRESS and no `kringloop up` running here: "
                      "running cases were not told, but have no address left to write to. "
                      "The admin API (DELETE /api/respondents/ID) tells them too.",
                      markup=False)


async def _erase(settings: Settings, respondent_id: str) -> ErasureSummary:
    from kringloop.privacy.erasure import erase_respondent
    from kringloop.temporal_client import connect_temporal

    client = None
    if settings.temporal_address:
        try:
            client = await connect_temporal(settings)
        except RuntimeError as error:
            raise refuse(
                f"cannot reach Temporal at {settings.temporal_address}: {error}") from None
    engine = make_engine(settings.database_url)
    try:
        return await erase_respondent(
            respondent_id, engine=engine, temporal=client, actor="operator",
            outbox=settings.outbox_dir if settings.smtp_host is None else None)
    finally:
        engine.dispose()


def _counts(title: str, summary: ErasureSummary) -> Table:
    table = Table(title=escape(title))
    table.add_column("records")
    table.add_column("count", justify="right")
    for name, count in summary.model_dump().items():
        if count:
            table.add_row(name.replace("_", " "), str(count))
    return table
