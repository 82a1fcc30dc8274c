"""Fixtures: an isolated user environment, generated projects and one reused virtualenv.

Generating, installing and building are the expensive steps, so each answer set is generated once
per test session (per xdist worker) and every test that needs it reads the same project. Tests
that change a project work on a clone of it. The functions tests call live in helpers.py.
"""

from __future__ import annotations

import venv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from answer_sets import ANSWER_SETS
from helpers import Generated, Virtualenv, pinned_requirements
from isolation import isolate


def pytest_configure(config: pytest.Config) -> None:
    """Run every test as a user with no git identity and no Copier settings of their own."""
    isolate(Path(config.rootpath, ".pytest-home").resolve())


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


@pytest.fixture(scope="session")
def shared_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtualenv]:
    """One virtualenv for the session: pytest, build and the build backend installed once."""
    root = tmp_path_factory.mktemp("venv") / "shared"
    venv.create(root, with_pip=True)
    env = Virtualenv(root)
    # The same versions as the template's own test environment: no resolution surprises.
    pins = pinned_requirements()
    env.pip("install", *(pins[name] for name in ("pytest", "build", "setuptools", "setuptools-scm")))
    yield env
