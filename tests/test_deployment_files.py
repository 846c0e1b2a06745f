"""docker-compose.yml and the Dockerfile, checked without a Docker engine: every Kringloop
setting they name exists, every command they run exists, every file they copy is here."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml
from typer.main import get_command

from kringloop.cli import app
from kringloop.resources import CHECKOUT as PROJECT_ROOT
from kringloop.settings import Settings

COMPOSE: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()
KRINGLOOP_SERVICES = [name for name, service in COMPOSE["services"].items() if "build" in service]
CLI_COMMANDS = set(get_command(app).commands)  # type: ignore[attr-defined]


def test_the_stack_has_temporal_postgres_mail_and_kringloop() -> None:
    images = " ".join(s.get("image", "") for s in COMPOSE["services"].values())
    for expected in ("temporalio/auto-setup", "temporalio/ui", "postgres:15", "mailpit"):
        assert expected in images
    assert {"worker", "web"} <= set(KRINGLOOP_SERVICES)


@pytest.mark.parametrize("service", KRINGLOOP_SERVICES)
def test_every_kringloop_setting_named_in_compose_is_a_real_setting(service: str) -> None:
    environment = COMPOSE["services"][service]["environment"]
    names = [key.removeprefix("KRINGLOOP_").lower()
             for key in environment if key.startswith("KRINGLOOP_")]
    assert names, "a Kringloop service without settings"
    unknown = [n for n in names if n not in Settings.model_fields]
    assert not unknown, f"{service}: no such settings {unknown}"


@pytest.mark.parametrize("service", KRINGLOOP_SERVICES)
def test_every_kringloop_service_runs_a_real_command(service: str) -> None:
    command = COMPOSE["services"][service]["command"]
    assert command[0] == "kringloop" and command[1] in CLI_COMMANDS


def test_the_dockerfile_copies_files_that_exist_and_runs_a_real_command() -> None:
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY "):
            for source in shlex.split(line)[1:-1]:
                assert (PROJECT_ROOT / source).exists(), source
    cmd = re.search(r'^CMD \["kringloop", "(\w+)"\]', DOCKERFILE, re.MULTILINE)
    assert cmd and cmd.group(1) in CLI_COMMANDS


def test_no_secret_is_committed_in_compose() -> None:
    secrets = {f"{name}.{key}": str(value)
               for name, service in COMPOSE["services"].items()
               for key, value in (service.get("environment") or {}).items()
               if any(word in key for word in ("PASSWORD", "PWD", "TOKEN", "SECRET"))}
    assert secrets, "the stack needs secrets: they must come from .env"
    for where, value in secrets.items():
        assert value.startswith("${"), f"{where} is written into the file"
    assert (PROJECT_ROOT / ".env.example").exists()
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text().split()


def test_the_healthchecks_are_declared() -> None:
    for name in ("postgresql", "temporal", "web"):
        assert "healthcheck" in COMPOSE["services"][name], name


@pytest.mark.parametrize("service", ["mail", "temporal-ui"])
def test_what_shows_every_email_or_workflow_is_published_on_this_host_only(service: str) -> None:
    ports = COMPOSE["services"][service]["ports"]
    assert ports and all(str(port).startswith("127.0.0.1:") for port in ports), ports
