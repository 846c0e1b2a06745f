"""docker-compose.yml and the Dockerfile, read without a Docker engine: maintained images pinned to
a version, the schema jobs before the parts that need them, what shows every email or workflow
published on this host only, every Kringloop setting and command they name a real one, no
secret written into the file. (tests/deploy/test_image_recipe.py runs them.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.main import get_command

from kringloop.cli import app
from kringloop.resources import CHECKOUT
from kringloop.settings import Settings
from tests.support.deployment import (
    DOCKERFILE,
    compose_file,
    compose_service,
    dockerfile_stages,
    read_env_file,
)

COMPOSE = compose_file()
SERVICES = COMPOSE["services"]
KRINGLOOP_SERVICES = [name for name, service in SERVICES.items() if "build" in service]
CLI_COMMANDS = set(get_command(app).commands)  # type: ignore[attr-defined]
# name:1.2.3, name:v1.2.3 or name:15.13-bookworm: never `latest`, never a bare major.
PINNED = re.compile(r"^[\w./-]+:v?\d+\.\d+(\.\d+)?(-[\w.-]+)?$")


def test_the_stack_is_built_from_maintained_images_each_pinned_to_a_version() -> None:
    images = {name: service["image"] for name, service in SERVICES.items()}
    for name, image in images.items():
        if name in KRINGLOOP_SERVICES:
            assert image == "kringloop:${KRINGLOOP_VERSION:-local}", name
        else:
            assert PINNED.match(image), f"{name}: {image} is not pinned to a version"
    wanted = {"postgres:15.", "temporalio/server:", "temporalio/admin-tools:", "temporalio/ui:",
              "axllent/mailpit:"}
    assert all(any(image.startswith(w) for image in images.values()) for w in wanted), images
    assert not any("auto-setup" in image for image in images.values())
    assert {"migrate", "worker", "web", "codec-server"} <= set(KRINGLOOP_SERVICES)
    for stage in dockerfile_stages():
        assert PINNED.match(stage.base), stage.base


def test_workers_and_web_wait_for_the_schema_and_the_namespace_jobs() -> None:
    for part in ("worker", "web"):
        depends = SERVICES[part]["depends_on"]
        for job in ("migrate", "temporal-namespace"):
            assert depends[job] == {"condition": "service_completed_successfully"}, part
    assert SERVICES["migrate"]["command"] == ["kringloop", "db", "upgrade"]
    assert SERVICES["temporal"]["depends_on"]["temporal-schema"] == {
        "condition": "service_completed_successfully"}
    for job in ("migrate", "temporal-schema", "temporal-namespace"):
        assert SERVICES[job]["restart"] == "no", job


def test_the_temporal_ui_is_wired_to_kringloops_codec_server() -> None:
    ui = SERVICES["temporal-ui"]["environment"]
    codec = SERVICES["codec-server"]
    assert codec["command"][:2] == ["kringloop", "codec-server"]
    port = codec["command"][codec["command"].index("--port") + 1]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"http://localhost:{port}"
    assert f"127.0.0.1:{port}:{port}" in codec["ports"]
    ui_port = SERVICES["temporal-ui"]["ports"][0].split(":")[1]
    assert f"http://localhost:{ui_port}" in codec["environment"]["KRINGLOOP_TEMPORAL_UI_ORIGINS"]


@pytest.mark.parametrize("service", ["mail", "temporal-ui", "codec-server"])
def test_what_shows_every_email_or_workflow_is_published_on_this_host_only(service: str) -> None:
    ports = SERVICES[service]["ports"]
    assert ports and all(str(port).startswith("127.0.0.1:") for port in ports), ports


def test_the_web_app_is_published_on_this_host_unless_the_operator_says_otherwise(
        tmp_path: Path) -> None:
    assert compose_service("web", _filled_example(tmp_path)).definition["ports"] == [
        "127.0.0.1:8000:8000"]


@pytest.mark.parametrize("service", KRINGLOOP_SERVICES)
def test_every_kringloop_setting_named_in_compose_or_env_example_is_a_real_setting(
        service: str) -> None:
    named = list(SERVICES[service]["environment"])
    example = (CHECKOUT / ".env.example").read_text()
    named += re.findall(r"^#?\s*(KRINGLOOP_\w+)=", example, re.MULTILINE)
    settings = [key.removeprefix("KRINGLOOP_").lower() for key in named
                if key.startswith("KRINGLOOP_")]
    # Read by docker compose itself, not by Kringloop.
    compose_only = {"version", "org_dir", "web_publish"}
    unknown = [n for n in settings if n not in Settings.model_fields and n not in compose_only]
    assert not unknown, f"{service}: no such settings {unknown}"


@pytest.mark.parametrize("service", KRINGLOOP_SERVICES)
def test_every_kringloop_service_runs_a_real_command(service: str) -> None:
    command = SERVICES[service]["command"]
    assert command[0] == "kringloop" and command[1] in CLI_COMMANDS | {"db"}


@pytest.mark.parametrize("service", KRINGLOOP_SERVICES)
def test_kringloop_parts_run_on_a_read_only_file_system_with_a_tmpfs(service: str) -> None:
    assert SERVICES[service]["read_only"] is True
    assert SERVICES[service]["tmpfs"] == ["/tmp"]


def test_the_dockerfile_copies_files_that_exist_and_runs_a_real_command_as_non_root() -> None:
    text = DOCKERFILE.read_text()
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in shlex.split(line)[1:-1]:
                assert (CHECKOUT / source).exists(), source
    for copied in ("templates", "migrations", "examples"):
        assert f"COPY {copied} ./{copied}" in text
    assert re.search(r'^CMD \["kringloop", "web"\]', text, re.MULTILINE)
    assert re.search(r'^HEALTHCHECK .*CMD \["kringloop", "health"\]', text, re.MULTILINE)
    assert "health" in CLI_COMMANDS
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and user[-1].split(":")[0] not in ("0", "root"), user


def test_no_secret_is_committed_in_compose_or_the_env_example() -> None:
    secrets = {f"{name}.{key}": str(value)
               for name, service in SERVICES.items()
               for key, value in (service.get("environment") or {}).items()
               if any(word in key for word in ("PASSWORD", "PWD", "TOKEN", "SECRET", "KEYS"))
               and value not in ("true", "false")}  # a switch, not a secret
    assert secrets, "the stack needs secrets: they must come from .env"
    for where, value in secrets.items():
        assert value.startswith("${") and ":?" in value, f"{where} is written into the file"
    example = read_env_file(CHECKOUT / ".env.example")
    for key in ("POSTGRES_PASSWORD", "KRINGLOOP_ADMIN_TOKEN", "KRINGLOOP_SECRET_KEY",
                "KRINGLOOP_PAYLOAD_KEYS"):
        assert example[key] == "", f".env.example gives {key} a value: compose must refuse it"
    assert ".env" in (CHECKOUT / ".gitignore").read_text().split()
    assert ".env" in (CHECKOUT / ".dockerignore").read_text().split()


def test_compose_refuses_to_start_without_the_secrets() -> None:
    with pytest.raises(ValueError, match=r"POSTGRES_PASSWORD: set it in \.env"):
        compose_service("worker", CHECKOUT / ".env.example")


def _filled_example(folder: Path) -> Path:
    """.env.example with every empty secret given a value."""
    filled = folder / ".env"
    filled.write_text("\n".join(
        f"{line}x" if line.endswith("=") and not line.startswith("#") else line
        for line in (CHECKOUT / ".env.example").read_text().splitlines()))
    return filled
