"""The generated project works as its user will use it: installed, tested, built, versioned."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from answer_sets import ANSWER_SETS
from helpers import Generated, Virtualenv, commit, default, git, run
from packaging.version import Version

pytestmark = pytest.mark.long


def built_files(outdir: Path) -> list[str]:
    return sorted(p.name for p in outdir.iterdir())


def install(project: Generated, venv: Virtualenv) -> None:
    """Install the project into the shared virtualenv, whatever its python_min_version.

    The shared virtualenv runs the oldest supported Python, and the generated code runs on it;
    that pip enforces requires-python is checked by its own test below.
    """
    venv.install_editable(project.path, str(project.answers["python_min_version"]))


def test_project_tests_pass_once_installed(project: Generated, shared_venv: Virtualenv) -> None:
    install(project, shared_venv)
    output = shared_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project.path)
    assert re.search(r"^\d+ passed", output, re.MULTILINE), output
    imported = shared_venv.run("-c", f"import {project.answers['package_name']} as p; print(p.__version__)")
    assert imported.strip() == str(Version(str(project.answers["initial_version"])))


def test_build_gives_exactly_the_tagged_version(project: Generated, shared_venv: Virtualenv, tmp_path: Path) -> None:
    shared_venv.build(project.path, tmp_path)
    normalized = re.sub(r"[-_.]+", "_", str(project.answers["distribution_name"])).lower()
    version = str(Version(str(project.answers["initial_version"])))
    assert built_files(tmp_path) == sorted(
        [f"{normalized}-{version}-py3-none-any.whl", f"{normalized}-{version}.tar.gz"]
    )
    with zipfile.ZipFile(tmp_path / f"{normalized}-{version}-py3-none-any.whl") as wheel:
        names = wheel.namelist()
        package = project.answers["package_name"]
        assert f"{package}/py.typed" in names and f"{package}/__init__.py" in names
        metadata = wheel.read(f"{normalized}-{version}.dist-info/METADATA").decode()
    assert f"Version: {version}\n" in metadata
    assert "Classifier: Private :: Do Not Upload" in metadata
    with tarfile.open(tmp_path / f"{normalized}-{version}.tar.gz") as sdist:
        assert f"{normalized}-{version}/tests/test_ops.py" in sdist.getnames()
    # The build wrote nothing that git would see as a change.
    assert git(project.path, "status", "--porcelain") == ""


def test_isolated_build_resolves_the_declared_build_requirements(
    generate, shared_venv: Virtualenv, tmp_path: Path
) -> None:
    """The default build fetches hatchling and hatch-vcs as pyproject declares them."""
    project = generate("defaults")
    shared_venv.run("-m", "build", "--wheel", "--outdir", tmp_path, project.path)
    wheel = f"{default('distribution_name').replace('-', '_')}-{default('initial_version')}-py3-none-any.whl"
    assert built_files(tmp_path) == [wheel]


def test_next_commit_gives_the_next_development_version(
    project: Generated, shared_venv: Virtualenv, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    run("git", "clone", "--quiet", project.path, clone)
    (clone / "CHANGES.md").write_text("one more change\n")
    git(clone, "add", "CHANGES.md")
    commit(clone, "more")
    version = Version(shared_venv.run("-m", "setuptools_scm", cwd=clone).strip())
    tagged = Version(str(project.answers["initial_version"]))
    assert version > tagged
    assert version.dev == 1
    local = str(version.local)
    assert local.startswith("g") and len(local) >= 8
    assert git(clone, "rev-parse", "HEAD").startswith(local[1:]), "the local part names the new commit"
    if not (tagged.is_prerelease or tagged.is_postrelease):
        major, minor, patch = (*tagged.release, 0, 0)[:3]
        assert version.public == f"{major}.{minor}.{patch + 1}.dev1"


def test_pip_refuses_a_python_older_than_python_min_version(generate, shared_venv: Virtualenv) -> None:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    newer = [
        name
        for name, answers in ANSWER_SETS.items()
        if Version(str(answers.get("python_min_version", "3.11"))) > Version(running)
    ]
    if not newer:
        pytest.skip(f"no answer set requires a Python newer than {running}")
    project = generate(newer[0])
    result = subprocess.run(
        [shared_venv.python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--dry-run", project.path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "requires a different Python" in result.stderr
    assert f">={project.answers['python_min_version']}" in result.stderr
