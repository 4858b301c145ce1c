"""The layers of the package, as ``lint-imports`` checks them (``[tool.importlinter]`` in
pyproject.toml): the real package keeps every contract, and a copy of it with one upward
import, a type-only one too, breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the console script uv installed next to this interpreter
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` run in ``project`` (its pyproject.toml, its ``authgate``)."""
    # lint-imports finds the root package on sys.path: the project's own copy comes first,
    # and no cache is read, so the answer is always about the files as they are now
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.processes  # lint-imports
def test_the_package_keeps_its_layers() -> None:
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


UPWARD = "\nimport authgate.gate\n"
TYPE_ONLY_UPWARD = (
    "\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import authgate.gate\n"
)


@pytest.mark.processes  # lint-imports
@pytest.mark.parametrize("added", [UPWARD, TYPE_ONLY_UPWARD], ids=["import", "type-only"])
def test_an_upward_import_breaks_the_layers(tmp_path: Path, added: str) -> None:
    shutil.copytree(
        ROOT / "authgate",
        tmp_path / "authgate",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    errors = tmp_path / "authgate" / "redis" / "errors.py"
    errors.write_text(errors.read_text(encoding="utf-8") + added, encoding="utf-8")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Layers, top to bottom BROKEN" in result.stdout
    assert "Nothing below the gate imports the gate BROKEN" in result.stdout
    assert "authgate.redis.errors -> authgate.gate" in result.stdout
