"""The production recipe followed as an operator follows it, without a Docker engine: the image's
file tree built from the Dockerfile's own lines, and the compose file's Kringloop services
started on it with their own commands and environment, as the image's non-root user, against
a fresh PostgreSQL database, a Temporal dev server and an SMTP server. The migrate service
brings the database to the schema, the worker and the web app pass the image's health check,
a detractor is acknowledged, and nothing is written into the image."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url
from temporalio.testing import WorkflowEnvironment

from kringloop.database import make_engine
from kringloop.migrations import is_at_head
from kringloop.network import free_port
from kringloop.resources import CHECKOUT
from kringloop.runtime.stack import start_dev_server
from tests.support.deployment import Image, Service, build_image, compose_service
from tests.support.mail import MailServer
from tests.support.stack import ANNA, post_detractor

pytestmark = pytest.mark.slow  # installs the image's environment: about a minute


def _runnable_python(uid: int) -> str | None:
    for candidate in ("/usr/bin/python3.11", os.path.realpath(shutil.which("python3.11") or "")):
        if candidate and subprocess.run(
                ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", candidate,
                 "-c", "import sys; assert sys.version_info[:2] == (3, 11)"],
                capture_output=True).returncode == 0:
            return candidate
    return None


def _python_for(uid: int) -> str:
    """A Python 3.11 the image's user may run (the base image's is /usr/local/bin/python3):
    Debian's, installed here if this machine lacks it (a developer's own Python often lives
    under a home the image's user cannot enter)."""
    if found := _runnable_python(uid):
        return found
    subprocess.run("apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive "
                   "apt-get install -y -qq python3.11 >/dev/null", shell=True, check=False)
    if found := _runnable_python(uid):
        return found
    pytest.fail(f"no Python 3.11 that user {uid} may run (apt-get install python3.11)")


def _uv() -> str:
    """The uv binary itself (`uv run` says which; scripts/uv finds it on PATH otherwise)."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.fail("no uv binary: run the tests with ./scripts/uv run")
    return found


@pytest.fixture(scope="module")
def image() -> Iterator[Image]:
    """The final image's file tree, built as root, owned by root: read-only for its user."""
    if os.geteuid() != 0:
        pytest.skip("builds the image as root and runs it as its user, as Docker does")
    root = Path(tempfile.mkdtemp(prefix="kringloop-image-"))
    root.chmod(0o755)
    try:
        yield build_image(root, uv=_uv(), python=_python_for(65534))
    finally:
        shutil.rmtree(root)


@pytest.fixture
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal server of this test's own, for the `temporal` service."""
    env, _ = await start_dev_server()
    yield env
    await env.shutdown()


def _dot_env(folder: Path) -> Path:
    """`.env` filled in as README's Production section says (from .env.example)."""
    secrets = {"POSTGRES_PASSWORD": "pg-" + uuid.uuid4().hex,
               "KRINGLOOP_ADMIN_TOKEN": "admin-" + uuid.uuid4().hex,
               "KRINGLOOP_SECRET_KEY": "secret-" + uuid.uuid4().hex,
               "KRINGLOOP_PAYLOAD_KEYS": f"2026-12:{base64.b64encode(os.urandom(32)).decode()}"}
    lines = []
    for line in (CHECKOUT / ".env.example").read_text().splitlines():
        key = line.partition("=")[0]
        lines.append(f"{key}={secrets[key]}" if key in secrets else line)
    dot_env = folder / ".env"
    dot_env.write_text("\n".join(lines) + "\n")
    return dot_env


class Container:
    """A compose service's process on the image: its command, its environment with the
    service names (postgresql, temporal, mail) made this machine's addresses, its own /tmp,
    its bind mounts copied into the image, and the image's user."""

    def __init__(self, service: Service, image: Image, *, database_url: str, temporal: str,
                 smtp_port: int, scratch: Path) -> None:
        self.service, self.image = service, image
        environment = {key: image.host_value(value) for key, value in image.environment.items()}
        environment.update(service.environment)
        url = make_url(environment["KRINGLOOP_DATABASE_URL"])
        assert (url.host, url.port, url.drivername) == ("postgresql", 5432, "postgresql+psycopg")
        environment["KRINGLOOP_DATABASE_URL"] = database_url
        assert environment["KRINGLOOP_TEMPORAL_ADDRESS"] == "temporal:7233"
        environment["KRINGLOOP_TEMPORAL_ADDRESS"] = temporal
        assert (environment["KRINGLOOP_SMTP_HOST"], environment["KRINGLOOP_SMTP_PORT"]) == (
            "mail", "1025")
        environment["KRINGLOOP_SMTP_HOST"] = "127.0.0.1"
        environment["KRINGLOOP_SMTP_PORT"] = str(smtp_port)
        for source, target in service.volumes:
            shutil.copytree(CHECKOUT / source, image.on_host(target), dirs_exist_ok=True)
        environment = {key: image.host_value(value) if value.startswith("/") else value
                       for key, value in environment.items()}
        # The container's own /tmp (compose: a tmpfs), and no home to write to.
        self.tmp = scratch / f"tmp-{service.name}"
        self.tmp.mkdir()
        os.chown(self.tmp, *image.user)
        environment.update(TMPDIR=str(self.tmp), HOME="/nonexistent")
        self.environment = environment
        self.log = scratch / f"{service.name}.log"

    def publish(self, port: int) -> str:
        """The web app on this machine's loopback at `port` (compose publishes 8000)."""
        self.environment.update(KRINGLOOP_WEB_HOST="127.0.0.1", KRINGLOOP_WEB_PORT=str(port))
        return f"http://127.0.0.1:{port}"

    def run(self, command: list[str], *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.image.as_user(command), env=self.environment, text=True,
                              cwd=self.image.on_host(self.image.workdir), capture_output=True,
                              timeout=timeout)

    async def start(self) -> asyncio.subprocess.Process:
        with self.log.open("wb") as output:
            return await asyncio.create_subprocess_exec(
                *self.image.as_user(self.service.command), env=self.environment,
                cwd=self.image.on_host(self.image.workdir), stdout=output,
                stderr=asyncio.subprocess.STDOUT)

    async def healthy(self, process: asyncio.subprocess.Process, *, timeout: float = 60) -> None:
        """The image's HEALTHCHECK command, run beside the service as Docker runs it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            assert process.returncode is None, self.log.read_text(errors="replace")
            checked = await asyncio.to_thread(self.run, self.image.healthcheck, timeout=20)
            if checked.returncode == 0:
                return
            assert asyncio.get_running_loop().time() < deadline, (
                f"{self.service.name} never healthy: {checked.stderr}\n"
                f"{self.log.read_text(errors='replace')}")
            await asyncio.sleep(1)


def _tree(root: Path) -> dict[str, tuple[int, int, int]]:
    return {str(path.relative_to(root)): (path.lstat().st_mode, path.lstat().st_size,
                                          path.lstat().st_mtime_ns)
            for path in root.rglob("*")}


@pytest.fixture
def scratch() -> Iterator[Path]:
    """Where the containers' /tmp folders and logs go: reachable by the image's user (pytest's
    own tmp_path is for root only)."""
    folder = Path(tempfile.mkdtemp(prefix="kringloop-run-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


async def test_the_compose_services_on_the_image_bring_a_fresh_database_to_a_working_loop(
    image: Image, postgresql_database: str, temporal: WorkflowEnvironment, smtp: MailServer,
    scratch: Path, tmp_path: Path,
) -> None:
    dot_env = _dot_env(tmp_path)
    containers = {name: Container(
        compose_service(name, dot_env), image, database_url=postgresql_database,
        temporal=temporal.client.service_client.config.target_host, smtp_port=smtp.port,
        scratch=scratch) for name in ("migrate", "worker", "web")}
    web_url = containers["web"].publish(free_port())
    before = _tree(image.root)
    running: list[asyncio.subprocess.Process] = []
    try:
        migrated = containers["migrate"].run(containers["migrate"].service.command)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        engine = make_engine(postgresql_database)
        assert is_at_head(engine)
        engine.dispose()

        for name in ("worker", "web"):
            running.append(await containers[name].start())
        for name, process in zip(("worker", "web"), running, strict=True):
            await containers[name].healthy(process)

        case_id, _ = await post_detractor(web_url)
        deadline = asyncio.get_running_loop().time() + 30
        while not smtp.to(ANNA["email"], "acknowledgement"):
            assert asyncio.get_running_loop().time() < deadline, (
                f"{case_id} never acknowledged:\n"
                f"{containers['worker'].log.read_text(errors='replace')}")
            await asyncio.sleep(0.2)
    finally:
        for process in running:
            if process.returncode is None:
                process.terminate()
        stopped = [await asyncio.wait_for(process.wait(), 30) for process in running]
        logs = {name: c.log.read_text(errors="replace") for name, c in containers.items()
                if c.log.exists()}

    assert stopped == [0, 0], logs
    assert _tree(image.root) == before, "a Kringloop part wrote into the image"
