"""The publish workflow's own commands, run for real against a local package index.

Google Cloud is out of reach, so pypiserver (tests/package_index.py) plays Artifact Registry:
same user name, a token as password, authentication on upload and download. The build, check,
upload and verify steps are read from the rendered publish.yml and run verbatim; only the index
URL and the token differ from what GitHub Actions would pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import workflow_steps
from helpers import Generated, Virtualenv, pinned_requirements, run
from package_index import PackageIndex, running_index

AUTH_MODES = {"workload_identity": "defaults", "service_account_key": "explicit-names-rc"}


@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    with running_index(tmp_path_factory.mktemp("index")) as index:
        yield index


@pytest.fixture(scope="session")
def runner_python(shared_venv: Virtualenv) -> str:
    """PATH of the simulated runner: the shared virtualenv's python, with the publishing tools."""
    pins = pinned_requirements()
    shared_venv.pip("install", pins["twine"], pins["packaging"])
    return f"{shared_venv.root / 'bin'}{os.pathsep}{os.environ['PATH']}"


class Release:
    """A checkout of the project at its tag, with the publish workflow's steps at hand."""

    def __init__(self, project: Generated, workdir: Path, path: str) -> None:
        self.project = project
        self.checkout = workdir / "checkout"
        run("git", "clone", "--quiet", project.path, self.checkout)
        self.workflow = workflow_steps.load(project.path / ".github/workflows/publish.yml")
        self.path = path
        self.tag = f"v{project.answers['initial_version']}"

    def step(self, job: str, name: str, **local: str) -> subprocess.CompletedProcess[str]:
        output = self.checkout / "github-output"
        output.touch()
        return workflow_steps.run_step(
            self.workflow,
            job,
            name,
            cwd=self.checkout,
            local=local,
            path=self.path,
            runner={"GITHUB_OUTPUT": str(output)},
        )

    def upload(self, index: PackageIndex, version: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        """The workflow's upload step against the local index (with its token unless given another)."""
        return self.step(
            "publish",
            "Upload to Artifact Registry",
            TWINE_REPOSITORY_URL=index.upload_url,
            TWINE_PASSWORD=index.token if token is None else token,
            VERSION=version,
        )

    def build(self) -> str:
        built = self.step("build", "Build the sdist and the wheel")
        assert built.returncode == 0, built.stderr
        checked = self.step("build", "Check the files and their version", TAG=self.tag)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        outputs = dict(line.split("=", 1) for line in (self.checkout / "github-output").read_text().splitlines())
        return outputs["version"]


@pytest.fixture(params=sorted(AUTH_MODES), scope="module")
def published(
    request, generate, package_index: PackageIndex, runner_python: str, tmp_path_factory
) -> tuple[Release, str]:
    """Each auth mode's project built and uploaded once, as the workflow does it."""
    project = generate(AUTH_MODES[request.param])
    assert project.answers["publish_auth"] == request.param
    release = Release(project, tmp_path_factory.mktemp(request.param), runner_python)
    version = release.build()
    uploaded = release.upload(package_index, version)
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    return release, version


def test_build_step_gives_the_tag_version(published: tuple[Release, str]) -> None:
    release, version = published
    assert f"v{version}" == release.tag
    files = sorted(p.name for p in (release.checkout / "dist").iterdir())
    assert len(files) == 2 and all(version in name for name in files)


def test_uploaded_files_are_exactly_the_built_ones(published: tuple[Release, str], package_index: PackageIndex) -> None:
    release, _ = published
    built = {p.name for p in (release.checkout / "dist").iterdir()}
    assert built <= {p.name for p in package_index.packages.iterdir()}


def test_verify_step_installs_and_imports_the_published_version(
    published: tuple[Release, str], package_index: PackageIndex
) -> None:
    release, version = published
    verified = release.step(
        "publish",
        "Install the published version in a fresh virtualenv and import it",
        PIP_INDEX_URL=package_index.authenticated_simple_url,
        VERSION=version,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_second_upload_of_a_version_is_refused_with_a_clear_message(
    published: tuple[Release, str], package_index: PackageIndex
) -> None:
    release, version = published
    again = release.upload(package_index, version)
    assert again.returncode != 0
    distribution = release.project.answers["distribution_name"]
    assert f"::error::{distribution} {version} is already in the repository" in again.stdout


def test_install_without_credentials_fails(
    published: tuple[Release, str], package_index: PackageIndex, tmp_path: Path
) -> None:
    release, version = published
    result = subprocess.run(
        [
            shutil.which("python3") or "python3",
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--index-url",
            package_index.simple_url,
            "--dest",
            tmp_path,
            f"{release.project.answers['distribution_name']}=={version}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "401" in result.stdout + result.stderr


def test_upload_with_a_wrong_token_fails(published: tuple[Release, str], package_index: PackageIndex) -> None:
    release, version = published
    refused = release.upload(package_index, version, token="not-the-token")
    assert refused.returncode != 0
    assert "403" in refused.stdout or "401" in refused.stdout


def test_check_step_refuses_a_tag_that_is_not_the_built_version(published: tuple[Release, str]) -> None:
    release, _ = published
    checked = release.step("build", "Check the files and their version", TAG="v9.9.9")
    assert checked.returncode != 0
    assert "but the tag v9.9.9 says 9.9.9" in checked.stderr


def test_check_step_refuses_stale_files_in_dist(published: tuple[Release, str]) -> None:
    release, _ = published
    stale = release.checkout / "dist" / "stale-0.0.1-py3-none-any.whl"
    stale.write_bytes(b"")
    try:
        checked = release.step("build", "Check the files and their version", TAG=release.tag)
    finally:
        stale.unlink()
    assert checked.returncode != 0
    assert "expected one wheel and one sdist" in checked.stderr
