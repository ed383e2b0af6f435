"""ruff and mypy as part of the test suite: the repository lints clean and the package type-checks.

Both tools run in subprocesses with the configuration in pyproject.toml ([tool.ruff], [tool.mypy]),
from the repository root found from this file's location. They are test requirements (the ``test``
extra pins them), so a missing tool fails here rather than skipping. Nothing is written into the
tree: ruff runs without its cache and mypy's cache goes to pytest's temporary directory. mypy reads
the extension's stub ``python/sharpdyn/_core.pyi``, so no compiled ``_core`` is needed in the tree.
The last test runs the same helpers on a small package with one lint error or one type error, so
these tests can fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINTED = ("python", "tests", "bench", "docs")  # what ruff checks, relative to the root


def run_ruff(root: Path, paths: Sequence[str] = LINTED) -> subprocess.CompletedProcess[str]:
    """``ruff check`` over ``paths`` (relative to ``root``) with ``root``'s pyproject.toml."""
    cmd = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
           "--config", str(root / "pyproject.toml"), *paths]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)


def run_mypy(root: Path, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    """``mypy`` from ``root`` with its pyproject.toml ([tool.mypy] names the files), cache in ``cache_dir``."""
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(root / "pyproject.toml"), "--cache-dir", str(cache_dir)]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)


def failure(tool: str, proc: subprocess.CompletedProcess[str]) -> str:
    """The message a failing check shows: the command's exit status and everything it printed."""
    return f"{tool} exited with status {proc.returncode}:\n{proc.stdout}{proc.stderr}"


def test_ruff_reports_no_error():
    proc = run_ruff(REPO)
    if proc.returncode != 0:
        pytest.fail(failure("ruff", proc), pytrace=False)


def test_mypy_reports_no_error(tmp_path):
    proc = run_mypy(REPO, tmp_path / "mypy_cache")
    if proc.returncode != 0:
        pytest.fail(failure("mypy", proc), pytrace=False)


CLEAN = '''"""A module both tools accept."""

from __future__ import annotations


def twice(x: int) -> int:
    return 2 * x
'''
# one ruff error (F401: unused import; the code type-checks)
LINT_ERROR = CLEAN.replace("from __future__ import annotations\n", "from __future__ import annotations\n\nimport os\n")
# one mypy error (a str returned where an int is declared; ruff has nothing to say)
TYPE_ERROR = CLEAN.replace("return 2 * x", 'return str(2 * x)')


@pytest.mark.parametrize(
    "source, ruff_fails, mypy_fails",
    [(CLEAN, False, False), (LINT_ERROR, True, False), (TYPE_ERROR, False, True)],
    ids=["clean", "lint-error", "type-error"],
)
def test_the_checks_fail_on_a_bad_file(tmp_path, source, ruff_fails, mypy_fails):
    # a small tree laid out like the repository, with the repository's configuration
    root = tmp_path / "repo"
    package = root / "python" / "sharpdyn"
    package.mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    (package / "__init__.py").write_text(source)

    ruff = run_ruff(root, ["python"])
    assert (ruff.returncode != 0) == ruff_fails, failure("ruff", ruff)
    mypy = run_mypy(root, tmp_path / "mypy_cache")
    assert (mypy.returncode != 0) == mypy_fails, failure("mypy", mypy)
    if ruff_fails:
        assert "F401" in ruff.stdout and "__init__.py" in ruff.stdout
    if mypy_fails:
        assert "__init__.py:7: error: Incompatible return value type" in mypy.stdout
