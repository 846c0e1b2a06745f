"""Kringloop installed from its wheel, far from any checkout: it finds its templates, its
migrations and the example organisation file inside the package, renders an email, migrates
a fresh database to the newest schema and answers `kringloop --help`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kringloop.resources import CHECKOUT

pytestmark = pytest.mark.slow  # builds a wheel and installs it into a new environment: ~30 s

UV = str(CHECKOUT / "scripts" / "uv")

CHECK = """
import sys
from pathlib import Path
from kringloop import resources
from kringloop.database import make_engine
from kringloop.mail.rendering import render
from kringloop.migrations import is_at_head, upgrade_to_head
from kringloop.org.organisation import load_organisation
from kringloop.settings import Settings

home = Path(sys.argv[1])
for found in (resources.TEMPLATES, resources.MIGRATIONS, resources.EXAMPLE_ORG_FILE):
    assert "site-packages" in str(found) and found.exists(), found
settings = Settings(home=home)
org = load_organisation(settings.org_file)
email = render("sign_in", "nl", {"organisation": org.name, "time_zone": "Europe/Amsterdam",
                                 "base_url": "https://nps.example", "member_name": "Bram",
                                 "link": "https://nps.example/login/magic/x", "minutes": 15})
assert "Bram" in email.text, email.text
engine = make_engine(settings.database_url)
upgrade_to_head(engine)
assert is_at_head(engine)
print("installed Kringloop works:", org.name)
"""


def test_the_installed_wheel_carries_what_kringloop_reads_at_run_time(tmp_path: Path) -> None:
    built = subprocess.run([UV, "build", "--wheel", "--out-dir", str(tmp_path / "dist"),
                            str(CHECKOUT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("kringloop-*.whl")
    venv = tmp_path / "venv"
    for command in ([UV, "venv", "--quiet", "--python", sys.executable, str(venv)],
                    [UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                     str(wheel)]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    checked = subprocess.run([str(venv / "bin" / "python"), "-c", CHECK,
                              str(elsewhere / "home")], cwd=elsewhere, capture_output=True,
                             text=True, timeout=120)
    helped = subprocess.run([str(venv / "bin" / "kringloop"), "--help"], cwd=elsewhere,
                            capture_output=True, text=True, timeout=60)

    assert checked.returncode == 0, checked.stderr
    assert "installed Kringloop works: Fietsenwinkel Kringloop B.V." in checked.stdout
    assert helped.returncode == 0 and "up" in helped.stdout, helped.stderr
