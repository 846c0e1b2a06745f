"""The Dockerfile and docker-compose.yml as the tests read them, without a Docker engine: the
compose file's services with `.env` put in the way Compose does it, and the image's file tree
built on this machine from the Dockerfile's own lines (its COPY lines from this checkout, its
`uv sync` lines run as they are written)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kringloop.resources import CHECKOUT

COMPOSE_FILE = CHECKOUT / "docker-compose.yml"
DOCKERFILE = CHECKOUT / "Dockerfile"
# What a Debian-based image's PATH holds before the Dockerfile changes it.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NETWORK_SETTINGS = {"UV_CACHE_DIR", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_NATIVE_TLS",
                     "SSL_CERT_FILE", "SSL_CERT_DIR"}
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


# --- docker-compose.yml -------------------------------------------------------------------------

def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines, as Compose reads `.env` (comments and blank lines skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def interpolate(text: str, variables: dict[str, str]) -> str:
    """`${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$` as Compose substitutes them."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3) or ""
        value = variables.get(name)
        missing = value is None or (value == "" and operator in (":-", ":?"))
        if operator in (":-", "-") and missing:
            return argument
        if operator in (":?", "?") and missing:
            raise ValueError(f"compose refuses to start: {name}: {argument}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def _interpolated(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, variables)
    if isinstance(value, list):
        return [_interpolated(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _interpolated(item, variables) for key, item in value.items()}
    return value


def compose_file() -> dict[str, Any]:
    """docker-compose.yml as written (YAML anchors and merges resolved, nothing substituted)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())  # type: ignore[no-any-return]


@dataclass
class Service:
    """A compose service as Compose would start it with this `.env`."""

    name: str
    definition: dict[str, Any]
    environment: dict[str, str]

    @property
    def command(self) -> list[str]:
        return list(self.definition["command"])

    @property
    def volumes(self) -> list[tuple[str, str]]:
        """(source on the host, path in the container) of each bind mount."""
        mounts = []
        for volume in self.definition.get("volumes", []):
            source, target = volume.split(":")[:2]
            mounts.append((source, target))
        return mounts


def compose_service(name: str, env_file: Path) -> Service:
    """Service `name` with `env_file` as the project's `.env`: substituted, its env_file read,
    its environment over that (as Compose gives precedence)."""
    variables = read_env_file(env_file)
    definition = _interpolated(compose_file()["services"][name], variables)
    environment: dict[str, str] = {}
    for listed in definition.get("env_file", []):
        assert listed == ".env", f"{name} reads {listed}: the tests know only .env"
        environment.update(variables)
    environment.update({key: str(value) for key, value in
                        (definition.get("environment") or {}).items()})
    return Service(name=name, definition=definition, environment=environment)


# --- the Dockerfile -----------------------------------------------------------------------------

@dataclass
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)


def dockerfile_stages() -> list[Stage]:
    """The Dockerfile's stages and their instructions (continued lines joined)."""
    stages: list[Stage] = []
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            base, _, name = arguments.partition(" AS ")
            stages.append(Stage(name=name.strip() or str(len(stages)), base=base.strip()))
        else:
            stages[-1].instructions.append(Instruction(keyword, arguments))
    return stages


@cache
def _dockerignore() -> tuple[str, ...]:
    return tuple(line.strip() for line in (CHECKOUT / ".dockerignore").read_text().splitlines()
                 if line.strip() and not line.startswith("#"))


def _dockerignored(relative: Path) -> bool:
    text = relative.as_posix()
    for pattern in _dockerignore():
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in relative.parts):
                return True
        elif fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(relative.parts[0], pattern):
            return True
    return False


def _copy(source: Path, target: Path, *, context: Path | None) -> None:
    """COPY's semantics: a folder's contents into the target folder, a file into it (a target
    ending in / or a folder) or onto it; what .dockerignore names stays out of the context."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if context is not None and _dockerignored(path.relative_to(context)):
                continue
            destination = target / path.relative_to(source)
            if path.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination, follow_symlinks=False)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


@dataclass
class Image:
    """The image's file tree on this machine (its / is `root`) and how it runs a command."""

    root: Path
    environment: dict[str, str]
    workdir: str
    user: tuple[int, int]
    healthcheck: list[str]
    cmd: list[str]

    def on_host(self, path_in_image: str) -> Path:
        return self.root / path_in_image.lstrip("/")

    def host_value(self, value: str) -> str:
        """An environment value with the image's paths made this machine's (PATH included)."""
        parts = []
        for part in value.split(":"):
            top = part.lstrip("/").split("/")[0]
            inside = part.startswith("/") and top and (self.root / top).exists()
            parts.append(str(self.on_host(part)) if inside else part)
        return ":".join(parts)

    def as_user(self, command: list[str]) -> list[str]:
        uid, gid = self.user
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *command]


def _environment_pairs(arguments: str, current: dict[str, str]) -> dict[str, str]:
    pairs = {}
    for word in shlex.split(arguments):
        key, _, value = word.partition("=")
        pairs[key] = interpolate(value, {**current, **pairs})
    return pairs


def build_image(root: Path, *, uv: str, python: str) -> Image:
    """Build the Dockerfile's final image as a file tree under `root`, stage by stage: COPY from
    this checkout (or an earlier stage), RUN's `uv sync` lines run as written with this
    machine's `uv` and `python` (the base image's), everything else recorded."""
    # As Docker builds: files readable by the image's user, writable by root only.
    umask = os.umask(0o022)
    try:
        return _build(root, uv=uv, python=python)
    finally:
        os.umask(umask)


def _build(root: Path, *, uv: str, python: str) -> Image:
    stages_made: dict[str, Path] = {}
    image = Image(root=root, environment={}, workdir="/", user=(0, 0), healthcheck=[], cmd=[])
    stages = dockerfile_stages()
    for number, stage in enumerate(stages):
        if number:  # the previous stage's files move aside, where COPY --from finds them
            previous = root / ".stages" / stages[number - 1].name
            previous.mkdir(parents=True)
            for made in list(root.iterdir()):
                if made.name != ".stages":
                    made.rename(previous / made.name)
            stages_made[stages[number - 1].name] = previous
        image.environment, image.workdir = {"PATH": IMAGE_PATH}, "/"
        for instruction in stage.instructions:
            _build_step(image, instruction, stages_made, uv=uv, python=python)
    shutil.rmtree(root / ".stages", ignore_errors=True)
    return image


def _build_step(image: Image, instruction: Instruction, stages_made: dict[str, Path], *,
                uv: str, python: str) -> None:
    keyword, arguments = instruction.keyword, instruction.arguments
    if keyword == "ENV":
        image.environment.update(_environment_pairs(arguments, image.environment))
    elif keyword == "WORKDIR":
        image.workdir = arguments
        image.on_host(arguments).mkdir(parents=True, exist_ok=True)
    elif keyword == "COPY":
        words = shlex.split(arguments)
        origin = None
        if words[0].startswith("--from="):
            origin = stages_made[words.pop(0).removeprefix("--from=")]
        *sources, target = words
        into = image.on_host(target if target.startswith("/")
                             else f"{image.workdir.rstrip('/')}/{target}")
        for source in sources:
            found = (origin / source.lstrip("/")) if origin else CHECKOUT / source
            assert found.exists(), f"COPY {source}: not in the {'stage' if origin else 'checkout'}"
            destination = into / found.name if (target.endswith("/") and found.is_file()) \
                else into
            _copy(found, destination, context=None if origin else CHECKOUT)
    elif keyword == "RUN":
        _run_step(image, arguments, uv=uv, python=python)
    elif keyword == "USER":
        uid, _, gid = arguments.partition(":")
        assert uid.isdigit() and gid.isdigit(), "USER by number (runAsNonRoot checks it)"
        image.user = (int(uid), int(gid))
    elif keyword == "HEALTHCHECK":
        image.healthcheck = json.loads(arguments[arguments.index("CMD ") + 4:])
    elif keyword == "CMD":
        image.cmd = json.loads(arguments)
    else:
        assert keyword in ("EXPOSE", "LABEL"), f"the tests cannot build {keyword} yet"


def _run_step(image: Image, command: str, *, uv: str, python: str) -> None:
    if re.fullmatch(r"pip install --no-cache-dir uv==[\d.]+", command):
        return  # the base image gets uv; here it is this machine's
    assert command.startswith("uv "), f"the tests run only uv's RUN lines, not {command!r}"
    environment = {**{k: image.host_value(v) for k, v in image.environment.items()},
                   "HOME": os.environ.get("HOME", "/root"), "UV_PYTHON": python}
    environment["PATH"] = f"{Path(uv).parent}:{environment['PATH']}"
    # This machine's way to the package index (its proxy, its CAs, as scripts/uv trusts them).
    environment["UV_SYSTEM_CERTS"] = os.environ.get("UV_SYSTEM_CERTS", "1")
    environment.update({key: value for key, value in os.environ.items()
                        if key in _NETWORK_SETTINGS or key.upper().endswith("_PROXY")})
    done = subprocess.run(["sh", "-ec", command], cwd=image.on_host(image.workdir),
                          env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"RUN {command}:\n{done.stdout}\n{done.stderr}"
