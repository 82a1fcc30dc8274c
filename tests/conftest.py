"""Shared fixtures: an isolated user environment, generated projects and one reused virtualenv.

Generating, installing and building are the expensive steps, so each answer set is generated once
per test session (per xdist worker) and every test that needs it reads the same project. Tests
that change a project work on a clone of it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from answer_sets import ANSWER_SETS
from isolation import isolate

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DEFAULTS = {
    key: spec["default"]
    for key, spec in yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text()).items()
    if not key.startswith("_") and isinstance(spec, dict) and "default" in spec
}


def pytest_configure(config: pytest.Config) -> None:
    """Run every test as a user with no git identity and no Copier settings of their own."""
    isolate(Path(config.rootpath, ".pytest-home").resolve())


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command, fail the test with its output when it fails, return its stdout."""
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result.stdout


def copier_cli(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run the real `copier` command line with this interpreter; `prefix` wraps it (e.g. unshare)."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "copier", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def git(project: Path, *args: str) -> str:
    return run("git", *args, cwd=project).strip()


def existing_repository(path: Path, *, branch: str, file: str) -> tuple[str, str]:
    """Someone's repository: one commit holding `file` and their annotated tag v0.1.0.

    Returns (HEAD, the tag object), to compare with after a copy into or under it.
    """
    identity = ["-c", "user.name=Owner", "-c", "user.email=owner@example.com"]
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", f"--initial-branch={branch}")
    (path / file).write_text("existing work\n")
    git(path, "add", file)
    git(path, *identity, "commit", "--quiet", "-m", "existing")
    git(path, *identity, "tag", "-a", "v0.1.0", "-m", "their own tag")
    return git(path, "rev-parse", "HEAD"), git(path, "rev-parse", "v0.1.0")


class Generated:
    """A project generated from one answer set, with the answers Copier recorded for it."""

    def __init__(self, name: str, path: Path, given: dict[str, object]) -> None:
        self.name = name
        self.path = path
        self.given = given
        self.answers: dict[str, object] = yaml.safe_load((path / ".copier-answers.yml").read_text())

    def __repr__(self) -> str:
        return f"Generated({self.name!r}, {self.path})"

    def files(self) -> list[Path]:
        """Every file of the project outside .git (not entered: git may be writing there)."""
        found = []
        for directory, subdirectories, names in os.walk(self.path):
            subdirectories[:] = [d for d in subdirectories if d != ".git"]
            found.extend(Path(directory, name) for name in names)
        return sorted(found)


@pytest.fixture(scope="session")
def generate(copie_session) -> Callable[[str], Generated]:
    """Return a function that generates an answer set once and hands out the same project after."""
    cache: dict[str, Generated] = {}

    def _generate(name: str) -> Generated:
        if name not in cache:
            result = copie_session.copy(extra_answers=ANSWER_SETS[name])
            if result.exception is not None:
                raise result.exception
            cache[name] = Generated(name, result.project_dir, ANSWER_SETS[name])
        return cache[name]

    return _generate


@pytest.fixture(params=sorted(ANSWER_SETS))
def project(request: pytest.FixtureRequest, generate: Callable[[str], Generated]) -> Generated:
    """Each answer set's project in turn."""
    return generate(request.param)


class Virtualenv:
    """One virtualenv shared by the session: pytest, build and the build backend installed once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / "bin" / "python"

    def pip(self, *args: str | Path) -> str:
        return run(self.python, "-m", "pip", "--quiet", *args)

    def run(self, *args: str | Path, cwd: Path | None = None) -> str:
        return run(self.python, *args, cwd=cwd)


@pytest.fixture(scope="session")
def shared_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtualenv]:
    root = tmp_path_factory.mktemp("venv") / "shared"
    venv.create(root, with_pip=True)
    env = Virtualenv(root)
    # The same versions as the template's own test environment: no resolution surprises.
    pinned = {
        line.split("==")[0]: line.strip()
        for line in (TEMPLATE_ROOT / "requirements-dev.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    env.pip("install", *(pinned[name] for name in ("pytest", "build", "setuptools", "setuptools-scm")))
    yield env
