"""The `kringloop` command: run the stack or its parts, import responses, run the demo, and
give team members their sign-in secrets (passwords, personal API tokens)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session

from kringloop.database import make_engine, session_for
from kringloop.migrations import SchemaOutOfDate, ensure_schema
from kringloop.org.access import Principal, principal_for
from kringloop.org.organisation import OrgFileError, load_organisation
from kringloop.privacy.footprints import ErasureSummary
from kringloop.runtime.observability import configure_logging
from kringloop.runtime.running_stack import (
    RunningStack,
    forget_running_stack,
    record_running_stack,
    running_stack,
)
from kringloop.runtime.stack import Running, run_stack
from kringloop.security.credentials import (
    OPERATOR_LINK_LIFETIME,
    api_tokens_of,
    create_api_token,
    create_magic_link,
    revoke_api_token,
    set_password,
)
from kringloop.settings import Settings, SettingsError, load_settings

app = typer.Typer(help="Kringloop: every low score becomes a case, until the loop is closed.",
                  no_args_is_help=True, add_completion=False)
# soft_wrap: a message stays on one line even when the output is a pipe or a log file.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _settings(**overrides: object) -> Settings:
    """Settings and organisation checked up front: one clear line and exit code 2 if wrong."""
    try:
        settings = load_settings(**overrides)
        load_organisation(settings.org_file)
    except (SettingsError, OrgFileError) as problem:
        errors.print(f"kringloop: {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    return settings


def _require(settings: Settings, *names: str) -> None:
    missing = [n for n in names if getattr(settings, n) in (None, "")]
    if missing:
        if missing == ["temporal_address"]:  # a `kringloop up` on this home has one
            raise _refuse(f"no Temporal to talk to: start `kringloop up` here (its home: "
                          f"{settings.home}) or set KRINGLOOP_TEMPORAL_ADDRESS")
        listed = ", ".join("KRINGLOOP_" + n.upper() for n in missing)
        raise _refuse(f"this part runs against external services: set {listed}")


def _joining_up(settings: Settings) -> Settings:
    """Without KRINGLOOP_TEMPORAL_ADDRESS, a command joins the `kringloop up` running on its home:
    the embedded dev server listens on a port picked at start, found in the running-stack file."""
    if settings.temporal_address:
        return settings
    stack = running_stack(home=settings.home)
    return stack.joined_by(settings) if stack else settings


def _print_urls(running: Running) -> None:
    console.print("[bold green]Kringloop is running[/] (Ctrl-C stops it)")
    if running.web_url:
        console.print(f"  web app      {running.web_url}   (API docs: {running.web_url}/docs)")
    if running.temporal_ui_url:
        console.print(f"  Temporal UI  {running.temporal_ui_url}")
    if running.outbox:
        console.print(f"  outbox       {running.outbox}   (every email as an .eml file)")
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
    """Tell the commands run beside this `up` where its parts are (see _joining_up)."""
    record_running_stack(RunningStack(
        pid=os.getpid(), temporal_address=running.client.service_client.config.target_host,
        temporal_namespace=running.client.namespace, task_queue=running.settings.task_queue,
        database_url=running.settings.database_url, web_url=running.web_url),
        home=running.settings.home)


def _run(settings: Settings, *, worker: bool, web: bool,
         on_ready: Callable[[Running], None] = _print_urls) -> None:
    configure_logging(json=settings.log_format == "json")
    try:
        asyncio.run(run_stack(settings, worker=worker, web=web, on_ready=on_ready))
    except SchemaOutOfDate as behind:
        raise _refuse(str(behind)) from None
    console.print("Kringloop stopped.")


@app.command()
def up() -> None:
    """Run everything on one machine: Temporal dev server, worker, web app and SMTP sink
    (each embedded part only where no external one is configured)."""
    settings = _settings()

    def ready(running: Running) -> None:
        _record_where(running)  # first: whoever reads the URLs may run `import` at once
        _print_urls(running)
        _print_admin_sign_in(running)

    try:
        _run(settings, worker=True, web=True, on_ready=ready)
    finally:
        forget_running_stack(home=settings.home)


@app.command()
def worker() -> None:
    """Run a worker alone against external Temporal, database and SMTP (scale-out)."""
    settings = _joining_up(_settings())
    _require(settings, "temporal_address", "smtp_host")
    _run(settings, worker=True, web=False)


@app.command()
def web() -> None:
    """Run the web app alone against external Temporal and database (scale-out)."""
    settings = _joining_up(_settings())
    _require(settings, "temporal_address")
    _run(settings, worker=False, web=True)


@app.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8081,
) -> None:
    """Decrypt workflow payloads for an operator with the admin token: Temporal's codec server
    (POST /encode, /decode) for the Temporal UI (KRINGLOOP_TEMPORAL_UI_ORIGINS) and CLI."""
    import uvicorn

    from kringloop.web.codec_server import create_codec_app

    settings = _settings()
    if not settings.payload_encryption:
        raise _refuse("KRINGLOOP_PAYLOAD_ENCRYPTION is off: there is nothing to decode")
    console.print(f"Codec server on http://{host}:{port} (Authorization: Bearer <admin token>)."
                  f" For example: temporal workflow show -w case-… --codec-endpoint "
                  f"http://{host}:{port} --codec-auth 'Bearer …'", markup=False)
    uvicorn.run(create_codec_app(settings), host=host, port=port, log_level="warning",
                access_log=False)


@app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="a survey export as CSV")],
) -> None:
    """Import a survey export: bad lines are reported by line number, good ones imported."""
    from kringloop.intake.csv_import import run_import

    raise _spreadsheet_done(run_import, file)


@app.command()
def reject(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="a vacancy's rejections as CSV")],
) -> None:
    """Reject applicants from a spreadsheet, each with one or two concrete reasons: bad lines
    are reported by line number, good ones scheduled (after the hold, in working hours)."""
    from kringloop.rejections.csv_import import run_rejection_import

    raise _spreadsheet_done(run_rejection_import, file)


def _spreadsheet_done(run: Callable[..., Coroutine[Any, Any, int]], file: Path) -> typer.Exit:
    """Run a spreadsheet import against Temporal; its exit code: 0 all done, 1 some lines
    refused, 2 nothing could be done."""
    settings = _joining_up(_settings())
    _require(settings, "temporal_address")
    with _database(settings):
        pass  # the schema is ready (the embedded one migrates itself) before a line goes in
    return typer.Exit(asyncio.run(run(file, settings=settings, console=console)))


@app.command()
def demo(
    responses: Annotated[int, typer.Option(help="how many sample responses")] = 200,
    time_scale: Annotated[float, typer.Option(help="how much faster than real time")] = 20_000,
) -> None:
    """Run the embedded stack with sample responses and simulated team members, then report."""
    from kringloop.demo.loop import run_demo

    settings = _settings(time_scale=time_scale)
    raise typer.Exit(asyncio.run(run_demo(settings, responses=responses, console=console)))


# Sign-in secrets: `kringloop member ...` and `kringloop token ...` -------------------------------

member_app = typer.Typer(help="Team members' sign-in: a password, or a one-time link.",
                         no_args_is_help=True)
token_app = typer.Typer(help="Personal API tokens for the JSON API.", no_args_is_help=True)
app.add_typer(member_app, name="member")
app.add_typer(token_app, name="token")


def _refuse(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"kringloop: {message}", markup=False, highlight=False)
    return typer.Exit(code)


def _person(settings: Settings, email: str) -> Principal:
    """The member or admin with this email in the organisation file; exit 2 for anyone else."""
    person = principal_for(load_organisation(settings.org_file), email)
    if person is None:
        raise _refuse(f"{email} is not a member or admin in {settings.org_file}")
    return person


@contextmanager
def _database(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        with session_for(engine) as session:
            yield session
    except SchemaOutOfDate as behind:
        raise _refuse(str(behind)) from None
    finally:
        engine.dispose()


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


@member_app.command("set-password")
def member_set_password(
    email: Annotated[str, typer.Argument(help="the member's email, as in the organisation file")],
    stdin: Annotated[bool, typer.Option(
        "--stdin", help="read the password from standard input instead of prompting")] = False,
) -> None:
    """Set (or replace) a member's password for password sign-in; at least 12 characters."""
    settings = _settings()
    person = _person(settings, email)
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"New password for {person.email}", hide_input=True,
                                confirmation_prompt=True)
    with _database(settings) as session:
        try:
            set_password(session=session, email=person.email, password=password)
        except ValueError as refused:  # too short: the rule lives in one place
            raise _refuse(str(refused)) from None
    console.print(f"Password set for {person.name} <{person.email}>.", markup=False,
                  highlight=False)


@member_app.command("sign-in-link")
def member_sign_in_link(
    email: Annotated[str, typer.Argument(help="the member's email, as in the organisation file")],
) -> None:
    """A one-time sign-in link for a member, printed here: for the first sign-in of a team
    without a mail server (the embedded outbox shows sign-in links to nobody but their owner)."""
    settings = _settings()
    person = _person(settings, email)
    with _database(settings) as session:
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
    settings = _settings()
    person = _person(settings, email)
    with _database(settings) as session:
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
    settings = _settings()
    person = _person(settings, email)
    with _database(settings) as session:
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
    settings = _settings()
    with _database(settings) as session:
        if not revoke_api_token(session=session, token_id=token_id):
            raise _refuse(f"no such active token: {token_id}", code=1)
    console.print(f"Token {token_id} revoked.", markup=False, highlight=False)


# The schema: `kringloop db upgrade` ------------------------------------------------------------

db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the configured database to the newest schema; safe to run again."""
    from kringloop.database import make_engine
    from kringloop.migrations import upgrade_to_head

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    console.print("database schema is up to date")


# Reports in the terminal: `kringloop report` -----------------------------------------------------

@app.command()
def report(
    program: Annotated[str, typer.Option(help="customer, employee or candidate")] = "customer",
    first: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"], help="first day (UTC), e.g. 2026-01-01")] = None,
    last: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="last day (UTC), included")] = None,
    month: Annotated[str | None, typer.Option(
        help="one calendar month (UTC), e.g. 2026-11, instead of --from/--to; employee: the "
             "only period, a month that has ended; the last one if not given")] = None,
    group_by: Annotated[str | None, typer.Option(
        help="team, segment or week (default team); employee: segment only")] = None,
) -> None:
    """NPS per team, segment or week (small groups hidden) and how each team closes the loop,
    for the whole organisation, as an admin sees it in the workspace's report. eNPS: one
    calendar month, by department (segment)."""
    from datetime import UTC

    from kringloop.reports.nps import (
        ReportRefused,
        adopted_report,
        loop_report,
        nps_report,
        nps_rows,
        report_grouping,
        report_period,
    )

    settings = _settings()
    org = load_organisation(settings.org_file)
    if program not in org.programs:
        raise _refuse(f"--program: {program} is not one of {', '.join(org.programs)}")
    try:
        window = report_period(program=program, today=datetime.now(UTC).date(),
                               first=first.date() if first else None,
                               last=last.date() if last else None, month=month)
        grouping = report_grouping(program=program, group_by=group_by)
    except ReportRefused as refused:
        raise _refuse(f"--{refused.field.replace('_', '-')}: {refused.reason}") from None
    with _database(settings) as session:
        nps = nps_report(session=session, org=org, program=program,  # type: ignore[arg-type]
                         group_by=grouping, window=window)
        loop = loop_report(session=session, org=org, programs=[program],
                           now=datetime.now(UTC), window=window)
        adopted = adopted_report(session=session, org=org, window=window) \
            if program == "customer" else None
    names = {t.id: t.name for t in org.teams}

    def signed(value: int | None) -> str:
        return "-" if value is None else f"{value:+d}" if value else "0"

    def share(pct: int | None, part: int, whole: int) -> str:
        return "-" if pct is None else f"{pct}% ({part}/{whole})"

    def hours(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} h"

    in_month = f" in {window.month}" if month or program == "employee" else ""
    table = Table(title=escape(f"NPS {program} by {grouping}{in_month} (groups under "
                               f"{nps.min_group_size} answers hidden)"))
    for column in (grouping, "answers", "promoters", "passives", "detractors", "NPS"):
        table.add_column(column, justify="left" if column == grouping else "right")
    for kind, key, hidden, n, promoters, passives, detractors, score in nps_rows(nps):
        label = "all" if kind == "overall" else names.get(key, key) if grouping == "team" \
            else key or "(no segment)"
        if hidden:
            table.add_row(escape(label), "hidden", "", "", "", "")
        else:
            table.add_row(escape(label), str(n), str(promoters), str(passives),
                          str(detractors), signed(score))
        if kind == "overall":
            table.add_section()
    console.print(table)

    # One column per team: the figures read down, and the table fits a terminal.
    health = Table(title=escape(f"Closing the loop: {program} cases opened in the period"
                                f"{in_month}"))
    health.add_column("")
    for row in loop.rows:
        health.add_column(escape(names.get(row.team or "", row.team or "no team yet")),
                          justify="right")
    figures = {
        "cases opened": [str(r.cases_opened) for r in loop.rows],
        "called back within SLA": [share(r.pct_within_sla, r.contacted_within_sla,
                                         r.sla_decided) for r in loop.rows],
        "median time to first contact": [hours(r.median_hours_to_first_contact)
                                         for r in loop.rows],
        "median time to resolution": [hours(r.median_hours_to_resolution) for r in loop.rows],
        "escalated (SLA missed)": [str(r.sla_breaches) for r in loop.rows],
        "resolved": [share(r.pct_resolved, r.resolved, r.cases_opened) for r in loop.rows],
        "re-survey answered": [share(r.resurvey_response_rate, r.resurveys_answered,
                                     r.resurveys_sent) for r in loop.rows],
        "detractors won back": [share(r.recovery_rate, r.recovered, r.recovery_base)
                                for r in loop.rows],
        "root causes": ["\n".join(escape(f"{c.root_cause} {c.cases}") for c in r.root_causes)
                        or "-" for r in loop.rows],
    }
    for figure, cells in figures.items():
        health.add_row(figure, *cells)
    console.print(health if loop.rows else "No cases were opened in the period.")

    if adopted and adopted.adopters:
        customers = Table(title="Adopted customers: scores in the period, oldest first")
        for column in ("colleague", "customer", "scores", "change"):
            customers.add_column(column)
        for adopter in adopted.adopters:
            for customer in adopter.customers:
                customers.add_row(
                    escape(adopter.name), escape(customer.name or customer.respondent_id),
                    " > ".join(f"{s.answered_at:%Y-%m-%d} {s.score}" for s in customer.scores)
                    or "-", signed(customer.change))
        console.print(customers)


# Privacy: `kringloop erase` ---------------------------------------------------------------------

@app.command()
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

    settings = _joining_up(_settings())
    with _database(settings) as session:
        found = footprint_of(session=session, respondent_id=respondent).summary()
    if not found.found:
        raise _refuse(f"no personal data found for respondent {respondent} "
                      "(an unknown id, or erased before)", code=1)
    console.print(_counts(f"Personal data of respondent {respondent}", found))
    if not yes and not typer.confirm("Erase it? This cannot be undone"):
        raise _refuse("nothing erased", code=1)
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
            raise _refuse(
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


# Benchmarks: `kringloop bench` ----------------------------------------------------------------

@app.command()
def bench(
    quick: Annotated[bool, typer.Option(
        "--quick", help="smaller sizes, under ~5 minutes; leaves out the worker-memory "
                        "figure (the smoke run CI does)")] = False,
) -> None:
    """Measure Kringloop against the bare-Temporal ceiling, side by side on the embedded stack;
    every figure is a ratio against a baseline of the same run. Exit 1 only if it crashed."""
    from bench.runner import run_bench

    settings = _settings()
    raise typer.Exit(asyncio.run(run_bench(settings, quick=quick, console=console)))


def main() -> None:
    """The `kringloop` command: the app above, ended without the interpreter's teardown.

    The Temporal client's Rust threads can abort a finishing process while Python tears itself
    down ("PyGILState_Release: thread state … must be current", exit -6 instead of the
    command's own code; temporalio/sdk-python#300, seen in CI after a correct `kringloop
    import`). Every command has finished its work and closed what it opened by then, so the
    output is flushed and the process ends with the command's exit code.
    """
    # What any command writes (the home, the database, the outbox, Temporal's file that the
    # dev server writes) is for this user only, whatever umask the shell had.
    os.umask(0o077)
    try:
        app()
        code: int = 0
    except SystemExit as done:
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
        code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
