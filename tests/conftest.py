"""Fixtures: an isolated user environment, generated projects and one reused virtualenv.

Generating, installing and building are the expensive steps, so each answer set is generated once
per run (each xdist worker copies it) and every test that needs it reads the same project. Tests
that change a project work on a clone of it. The functions tests call live in helpers.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from answer_sets import ANSWER_SETS
from compiled_templates import reuse_compiled_templates
from helpers import (
    BIN,
    Generated,
    UpdateSetup,
    Virtualenv,
    commit,
    copier_cli,
    default,
    edit,
    git,
    made_once,
    pinned_requirements,
    run,
    virtualenv_with_pip,
    working_tree_clone,
)
from isolation import isolate
from libyaml_loader import load_yaml_with_libyaml


def pytest_configure(config: pytest.Config) -> None:
    """Run every test as a user with no git identity and no Copier settings of their own, with
    Jinja's compiled code reused between Copier runs and YAML parsed by libyaml."""
    isolate(Path(config.rootpath, ".pytest-home").resolve())
    reuse_compiled_templates()
    load_yaml_with_libyaml()
    # pytest-copie copies from its --template, "." unless given: Copier records it as _src_path,
    # and the setup compares that with where it runs from (this checkout), so give it whole.
    if getattr(config.option, "template", None) in (None, "."):
        config.option.template = str(config.rootpath)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked `long` first, each in collection order. xdist hands modules to idle workers
    in this order, so the run ends on quick modules filling the gaps, not on a long one started
    last while the other workers sit idle."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` starts one worker more than there are cores: a worker spends part of its time
    waiting on what its tests start (index servers, git, uv's downloads), and the third worker
    fills those waits (benchmarks/README.md has the runs that chose it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores + 1


@pytest.fixture(scope="session")
def generate(copie_session, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Generated]:
    """Return a function that hands out an answer set's project, the same one on every call.

    pytest-copie generates each answer set once per run, whichever worker asks first; every worker
    reads its own copy of it (files, git history and all), since tools run in it write there.
    """
    cache: dict[str, Generated] = {}

    def _generate(name: str) -> Generated:
        if name not in cache:

            def make(target: Path) -> None:
                result = copie_session.copy(extra_answers=ANSWER_SETS[name])
                if result.exception is not None:
                    raise result.exception
                shutil.move(result.project_dir, target)

            generated = made_once(tmp_path_factory, f"project-{name}", make)
            own = copie_session.test_dir / name
            shutil.copytree(generated, own, symlinks=True)
            cache[name] = Generated(name, own, ANSWER_SETS[name])
        return cache[name]

    return _generate


@pytest.fixture(params=sorted(ANSWER_SETS))
def project(request: pytest.FixtureRequest, generate: Callable[[str], Generated]) -> Generated:
    """Each answer set's project in turn."""
    return generate(request.param)


@pytest.fixture(scope="session")
def all_projects(generate: Callable[[str], Generated]) -> list[Generated]:
    """Every answer set's project at once, for tools that take many projects in one run."""
    return [generate(name) for name in sorted(ANSWER_SETS)]


@pytest.fixture(scope="session")
def shared_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtualenv]:
    """One virtualenv for the session: pytest, build and the build backend installed once."""
    # uv fills it in about a second where pip took ten. Tests install projects into it with uv
    # (Virtualenv.install_editable); pip is in it for the tests that run pip (the requires-python
    # check, the journey installing uv).
    env = Virtualenv(virtualenv_with_pip(tmp_path_factory.mktemp("venv") / "shared"))
    # The same versions as the template's own test environment: no resolution surprises.
    pins = pinned_requirements()
    # hatchling's editable installs need editables; setuptools builds the tests' own small wheels.
    backend = ("hatchling", "hatch-vcs", "editables", "setuptools-scm", "setuptools")
    packages = [pins[name] for name in ("pytest", "build", *backend)]
    run(BIN / "uv", "pip", "install", "--quiet", "--python", env.python, *packages)
    yield env


@pytest.fixture(scope="session")
def update_setup(tmp_path_factory: pytest.TempPathFactory) -> UpdateSetup:
    """This template's committed state tagged v0.1.0, a project copied from it with its owner's
    work committed, then a template change (with its changelog entry) tagged v0.2.0.

    The project opts in to the template-update workflow, whose steps tests/test_template_update.py
    runs against this same pair. Made once per run: tests clone the project and read the template
    (so uv builds the setup from one git URL, once).
    """
    root = made_once(tmp_path_factory, "update", make_update_setup)
    return UpdateSetup(template=root / "template", project=root / "project")


def make_update_setup(root: Path) -> None:
    root.mkdir(parents=True)
    template = root / "template"
    working_tree_clone(template)
    git(template, "tag", "v0.1.0")

    project = root / "project"
    copied = copier_cli(
        "copy", "--trust", "--defaults", "--data", "template_updates=true", "--vcs-ref", "v0.1.0", template, project
    )
    assert copied.returncode == 0, copied.stderr
    # The owner's work: an edit to a template-owned file, and files of their own.
    edit(project / "README.md", "## Develop\n", "## Develop\n\nAsk #data-platform for access first.\n")
    package = default("package_name")
    (project / f"src/{package}/extra.py").write_text(
        f"from {package}.ops import add\n\n\ndef twice(a: float) -> float:\n    return add(a, a)\n"
    )
    (project / "NOTES.md").write_text("Our own notes.\n")
    git(project, "add", "--all")
    commit(project, "Owner's work")

    # The template moves on: a changed file, a new file, and the changelog says so.
    edit(
        template / "template/README.md.jinja",
        "## Versions come from git tags\n",
        "## Versions come from git tags\n\nTemplate v0.2.0 says hello.\n",
    )
    (template / "template/CONTRIBUTING.md").write_text("Contributions welcome.\n")
    edit(
        template / "template/src/{{ package_name }}/ops.py",
        '"""Arithmetic operations: the starting point to replace with your own code."""',
        '"""Arithmetic operations, as of template v0.2.0."""',
    )
    edit(
        template / "CHANGELOG.md",
        "## [Unreleased]\n",
        "## [Unreleased]\n\n## [0.2.0] - 2026-11-27\n\n### Added\n- CONTRIBUTING.md; the README says hello.\n\n"
        "## [0.1.0] - 2026-11-20\n",
    )
    git(template, "add", "--all")
    commit(template, "Template change")
    git(template, "tag", "v0.2.0")
