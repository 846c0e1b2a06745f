"""The rooms keep their doors: every import contract holds (pyproject.toml,
`[tool.importlinter]`), a forbidden import fails `lint-imports` (as it fails `.ci/run`), and no
module imports itself through others."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

from kringloop.resources import CHECKOUT

LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
PACKAGES = ("kringloop", "workflows", "activities", "bench")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT_IMPORTS, "--config", str(tree / "pyproject.toml"),
                           "--no-cache"], cwd=tree, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})


def test_every_import_contract_holds() -> None:
    checked = lint_imports(CHECKOUT)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 broken" in checked.stdout


def test_a_domain_importing_the_web_breaks_the_contracts(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(CHECKOUT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CHECKOUT / "pyproject.toml", tmp_path)
    queries = tmp_path / "kringloop" / "cases" / "queries.py"
    queries.write_text(queries.read_text() + "\nfrom kringloop.web import app  # noqa\n")

    checked = lint_imports(tmp_path)

    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "kringloop.cases is not allowed to import kringloop.web" in checked.stdout


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph(*PACKAGES)
    circles = sorted({tuple(sorted((a, b))) for a in graph.modules
                      for b in graph.find_modules_directly_imported_by(a)
                      if b in graph.modules and graph.find_shortest_chain(importer=b,
                                                                          imported=a)})

    assert circles == []
