"""Survey tools' webhooks from the terminal: `kringloop sources test` shows what a sample
delivery maps to (storing nothing); `kringloop hooks replay` takes in again the deliveries
kept because they could not be mapped, once the organisation file is mended."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from kringloop.cli.common import checked_settings, console, database, joining_up, refuse, require
from kringloop.org.organisation import SurveySource, load_organisation
from kringloop.settings import Settings

sources_app = typer.Typer(help="The survey tools that post to Kringloop ([[sources]]).",
                          no_args_is_help=True)
hooks_app = typer.Typer(help="Deliveries the survey tools posted.", no_args_is_help=True)


def _source(settings: Settings, name: str) -> SurveySource:
    org = load_organisation(settings.org_file)
    source = org.source(name)
    if source is None:
        known = ", ".join(s.name for s in org.sources) or "none"
        raise refuse(f"no source {name!r} in {settings.org_file} (sources: {known})")
    return source


@sources_app.command("test")
def test_sample(
    name: Annotated[str, typer.Argument(help="the source's name in the organisation file")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="a delivery as the tool sends it (JSON, or "
                                              "Qualtrics' form-encoded notification)")],
) -> None:
    """Show what a sample delivery maps to, without storing anything or checking a signature.
    Exit code 1 when it cannot be mapped, with the field that is missing."""
    from kringloop.sources.mapping import UnmappedAnswers
    from kringloop.sources.reading import UnreadableDelivery
    from kringloop.sources.service import try_sample

    source = _source(checked_settings(), name)
    body = file.read_bytes()
    content_type = ("application/json" if body.lstrip()[:1] in (b"{", b"[")
                    else "application/x-www-form-urlencoded")
    try:
        mapped = try_sample(source, body, content_type=content_type)
    except (UnreadableDelivery, UnmappedAnswers) as problem:
        said = str(problem)
        where = "" if said.startswith(f"{problem.field}:") else f"{problem.field}: "
        raise refuse(f"{file}: {where}{said}", code=1) from None
    console.print_json(json.dumps(mapped, ensure_ascii=False))


@hooks_app.command("replay")
def replay(
    name: Annotated[str, typer.Argument(help="the source's name in the organisation file")],
) -> None:
    """Take in again every delivery of the source kept because it could not be mapped (after
    mending its [sources.fields]); each one's outcome is printed. Exit code 1 when some still
    cannot be mapped."""
    settings = joining_up(checked_settings())
    require(settings, "temporal_address")
    source = _source(settings, name)
    with database(settings):
        pass  # the schema is ready before anything is read
    raise typer.Exit(asyncio.run(_replay(source, settings)))


async def _replay(source: SurveySource, settings: Settings) -> int:
    from kringloop.database import make_engine
    from kringloop.services import Services
    from kringloop.sources.service import replay_unmapped
    from kringloop.temporal_client import connect_temporal

    engine = make_engine(settings.database_url)
    try:
        services = Services(settings=settings, org=load_organisation(settings.org_file),
                            engine=engine, temporal=await connect_temporal(settings))
        replayed = await replay_unmapped(source, services=services)
    finally:
        engine.dispose()
    still = 0
    for row, answer in replayed:
        outcome = answer.body.get("status", answer.status)
        detail = answer.body.get("case_id") or answer.body.get("message") or ""
        console.print(f"{row.received_at:%Y-%m-%d %H:%M} {row.id}: {outcome} {detail}".rstrip(),
                      markup=False, highlight=False)
        still += answer.status == 422
    console.print(f"{len(replayed)} replayed, {still} still unmapped", markup=False)
    return 1 if still else 0
