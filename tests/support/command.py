"""The `kringloop` command as an operator runs it: the console script installed beside this
interpreter (what `uv run kringloop` runs), in an environment with nothing of the developer's
shell."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

KRINGLOOP = Path(sys.executable).parent / "kringloop"


def clean_environment(**settings: str) -> dict[str, str]:
    """A bare environment (nothing of the developer's shell) plus the given KRINGLOOP_* settings."""
    return {"PATH": "/usr/bin:/bin", **settings}


def kringloop(*args: str, cwd: Path, database_url: str | None = None, stdin: str = "",
              **settings: str) -> subprocess.CompletedProcess[str]:
    """`kringloop *args` run in `cwd` with the given KRINGLOOP_* settings and `stdin` typed in;
    with `database_url`, as an operator runs a one-off command: its home in `cwd`, and that
    database."""
    if database_url is not None:
        settings = {"KRINGLOOP_HOME": str(cwd / "home"), "KRINGLOOP_DATABASE_URL": database_url,
                    **settings}
    return subprocess.run([str(KRINGLOOP), *args], cwd=cwd, input=stdin,
                          env=clean_environment(**settings), capture_output=True, text=True,
                          timeout=60, check=False)


def the_one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got {lines}"
    return lines[0]
