"""The `kringloop` command: run the stack or its parts, import responses, run the demo, and
give team members their sign-in secrets (passwords, personal API tokens)."""

from __future__ import annotations

import logging
import os
import sys

import typer

from kringloop.cli import bench, demo, erasure, people, report, running, sources, spreadsheets
from kringloop.cli import inbound as inbound_command

app = typer.Typer(help="Kringloop: every low score becomes a case, until the loop is closed.",
                  no_args_is_help=True, add_completion=False)
# In the order `kringloop --help` lists them: the commands, then the groups.
app.add_typer(running.commands)  # up, worker, web, health, codec-server
app.add_typer(inbound_command.commands)  # inbound
app.add_typer(spreadsheets.commands)  # import, reject
app.add_typer(demo.commands)
app.add_typer(report.commands)
app.add_typer(erasure.commands)  # erase
app.add_typer(bench.commands)
app.add_typer(people.member_app, name="member")
app.add_typer(people.token_app, name="token")
app.add_typer(running.db_app, name="db")
app.add_typer(sources.sources_app, name="sources")
app.add_typer(sources.hooks_app, name="hooks")

__all__ = ["app", "main"]


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
