"""The publish workflow's own steps, run for real against local package indexes.

Google Cloud is out of reach, so pypiserver (tests/package_index.py) plays Artifact Registry: same
user name, a token as password, authentication on upload and download; a second, anonymous
pypiserver plays PyPI for public dependencies. Each step's `run:` script is read from the rendered
publish.yml and run verbatim; only the index URLs and the token differ from what GitHub Actions
would pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import workflow_steps
from helpers import IDENTITY, Generated, Virtualenv, commit, git, pinned_requirements, run
from package_index import PackageIndex, running_index

AUTH_MODES = {"workload_identity": "defaults", "service_account_key": "explicit-names-rc"}
PUBLIC_DEPENDENCY = "tinydep"


def build_public_dependency(shared_venv: Virtualenv, workdir: Path, outdir: Path) -> None:
    """A package that only the public index has, as a published project's dependency."""
    source = workdir / PUBLIC_DEPENDENCY
    (source / PUBLIC_DEPENDENCY).mkdir(parents=True)
    (source / PUBLIC_DEPENDENCY / "__init__.py").write_text("VALUE = 1\n")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{PUBLIC_DEPENDENCY}"\nversion = "1.0"\n'
    )
    shared_venv.run("-m", "build", "--wheel", "--no-isolation", "--outdir", outdir, source)


@pytest.fixture(scope="session")
def indexes(
    tmp_path_factory: pytest.TempPathFactory, shared_venv: Virtualenv
) -> Iterator[tuple[PackageIndex, PackageIndex]]:
    """(private, public): Artifact Registry's stand-in, and PyPI's holding a public dependency."""
    root = tmp_path_factory.mktemp("indexes")
    with running_index(root / "private") as private, running_index(root / "public", authenticate="update") as public:
        build_public_dependency(shared_venv, root, public.packages)
        yield private, public


INSTALL_STEP = "Install uv and packaging, hash-pinned"


@pytest.fixture(scope="session")
def runner_path(generate, tmp_path_factory: pytest.TempPathFactory) -> str:
    """PATH of the simulated runner: a fresh virtualenv given the release tools by the build job's
    own install step, so every file pip takes must match a hash of the rendered list."""
    project = generate("defaults")
    workflow = workflow_steps.load(project.path / ".github/workflows/publish.yml")
    root = tmp_path_factory.mktemp("runner") / "python"
    return workflow_steps.runner_with_tools(workflow, "build", INSTALL_STEP, cwd=project.path, root=root)


class Release:
    """A checkout of the project at its tag, with the publish workflow's steps at hand.

    The project gains a public dependency first, so that verifying an upload means resolving it.
    """

    def __init__(self, project: Generated, workdir: Path, path: str) -> None:
        self.project = project
        self.workdir = workdir
        self.checkout = workdir / "checkout"
        run("git", "clone", "--quiet", project.path, self.checkout)
        pyproject = self.checkout / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace("dependencies = []", f'dependencies = ["{PUBLIC_DEPENDENCY}>=1.0"]', 1)
        )
        self.tag = f"v{project.answers['initial_version']}"
        commit(self.checkout, "Depend on a public package", "--all")
        git(self.checkout, *IDENTITY, "tag", "-f", "-a", self.tag, "-m", "release")
        self.workflow = workflow_steps.load(project.path / ".github/workflows/publish.yml")
        self.path = path

    def step(
        self, job: str, name: str, runner: dict[str, str] | None = None, **local: str
    ) -> subprocess.CompletedProcess[str]:
        return workflow_steps.run_step(
            self.workflow,
            job,
            name,
            cwd=self.checkout,
            local=local,
            path=self.path,
            runner={"UV_CACHE_DIR": str(self.workdir / "uv-cache"), **(runner or {})},
        )

    def upload(self, index: PackageIndex, version: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        """The workflow's upload step against the local index (with its token unless given another)."""
        token = index.token if token is None else token
        return self.step(
            "publish",
            "Upload to Artifact Registry",
            UV_PUBLISH_URL=index.upload_url,
            UV_PUBLISH_CHECK_URL=f"http://oauth2accesstoken:{token}@127.0.0.1:{index.port}/simple/",
            UV_PUBLISH_PASSWORD=token,
            VERSION=version,
        )

    def verify(self, private: PackageIndex, public: PackageIndex, version: str) -> subprocess.CompletedProcess[str]:
        return self.step(
            "publish",
            "Install the published version in a fresh virtualenv and import it",
            runner={"UV_DEFAULT_INDEX": public.simple_url},  # PyPI, as the runner would reach it
            UV_INDEX=f"artifact-registry={private.authenticated_simple_url}",
            VERSION=version,
        )

    def build(self) -> str:
        # The machine's warm cache: the build backend's hash-pinned files come from PyPI only once.
        built = self.step("build", "Build the sdist and the wheel", runner={"UV_CACHE_DIR": os.environ["UV_CACHE_DIR"]})
        assert built.returncode == 0, built.stderr
        checked = self.step("build", "Check the files and their version", TAG=self.tag)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        return workflow_steps.outputs(self.checkout)["version"]


@pytest.fixture(params=sorted(AUTH_MODES), scope="module")
def published(request, generate, indexes, runner_path: str, tmp_path_factory) -> tuple[Release, str]:
    """Each auth mode's project built once, then uploaded as a failed run and its re-run would."""
    private, _ = indexes
    project = generate(AUTH_MODES[request.param])
    assert project.answers["publish_auth"] == request.param
    release = Release(project, tmp_path_factory.mktemp(request.param), runner_path)
    version = release.build()
    # A run that stopped after the wheel: only the wheel reached the index.
    sdist = next((release.checkout / "dist").glob("*.tar.gz"))
    held_back = sdist.rename(release.workdir / sdist.name)
    partial = release.upload(private, version)
    assert partial.returncode == 0, partial.stdout + partial.stderr
    held_back.rename(sdist)
    rerun = release.upload(private, version)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "already exists, skipping" in rerun.stdout, "the re-run skips the wheel it finds"
    return release, version


def test_build_step_gives_the_tag_version(published: tuple[Release, str]) -> None:
    release, version = published
    assert f"v{version}" == release.tag
    files = sorted(p.name for p in (release.checkout / "dist").iterdir())
    assert len(files) == 2 and all(version in name for name in files)


def test_a_rerun_completes_a_partial_upload(published: tuple[Release, str], indexes) -> None:
    release, _ = published
    built = {p.name for p in (release.checkout / "dist").iterdir()}
    assert built <= {p.name for p in indexes[0].packages.iterdir()}


def test_verify_step_installs_the_published_version_with_its_public_dependency(published, indexes) -> None:
    release, version = published
    verified = release.verify(*indexes, version)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_uploading_the_same_files_again_changes_nothing(published: tuple[Release, str], indexes) -> None:
    release, version = published
    again = release.upload(indexes[0], version)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("already exists, skipping") == 2


def test_other_content_under_a_published_name_is_refused_clearly(published, indexes, tmp_path: Path) -> None:
    release, version = published
    wheel = next((release.checkout / "dist").glob("*.whl"))
    original = tmp_path / wheel.name
    shutil.copy2(wheel, original)
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    try:
        refused = release.upload(indexes[0], version)
    finally:
        shutil.copy2(original, wheel)
    assert refused.returncode != 0
    distribution = release.project.answers["distribution_name"]
    assert f"::error::{distribution} {version} is already in the repository with other content" in refused.stdout


def test_install_without_credentials_fails(published: tuple[Release, str], indexes, tmp_path: Path) -> None:
    release, version = published
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--index-url",
            indexes[0].simple_url,
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


def test_upload_with_a_wrong_token_fails(published: tuple[Release, str], indexes) -> None:
    release, version = published
    before = len(indexes[0].requests())
    refused = release.upload(indexes[0], version, token="not-the-token")
    assert refused.returncode != 0
    assert f"::error::The upload of {release.project.answers['distribution_name']} {version} stopped" in refused.stdout
    # The index's own log, not uv's message: pypiserver answers before reading the upload's body
    # and closes the connection, so on a busy machine uv may see the reset instead of the status.
    uploads = {r.status for r in indexes[0].requests()[before:] if r.method == "POST"}
    assert uploads == {403}, uploads


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


def test_the_release_jobs_install_their_tools_from_hashes_before_the_token(generate, runner_path: str) -> None:
    """runner_path ran the build job's install step; the publish job's is the same command."""
    project = generate("defaults")
    workflow = workflow_steps.load(project.path / ".github/workflows/publish.yml")
    steps = workflow["jobs"]["publish"]["steps"]
    names = [s.get("name") or s.get("id") or s["uses"] for s in steps]
    install = names.index("Install uv, hash-pinned, before any credential exists")
    assert install < names.index("auth"), "no tool is installed once a token exists"
    assert steps[install]["run"] == workflow_steps.step(workflow, "build", INSTALL_STEP)["run"]
    # Every pip install of the workflow (uv pip install only installs the published package).
    scripts = [s.get("run", "") for job in workflow["jobs"].values() for s in job.get("steps", [])]
    pip_installs = [line for script in scripts for line in script.splitlines() if "python -m pip install" in line]
    assert len(pip_installs) == 2 and all("--require-hashes" in line for line in pip_installs), pip_installs
    uv = shutil.which("uv", path=runner_path)
    assert uv and run(uv, "--version").startswith(f"uv {pinned_requirements()['uv'].split('==')[1]}")


@pytest.mark.parametrize("name", ["publish-requirements.txt", "build-requirements.txt"])
def test_the_hash_pinned_lists_are_what_the_command_in_their_header_writes(
    generate, runner_path: str, tmp_path: Path, name: str
) -> None:
    """The command a maintainer runs after editing a version, as printed in the file, on a copy."""
    project = generate("defaults")
    copy = tmp_path / "project"
    shutil.copytree(project.path / ".github", copy / ".github")
    listed = (copy / ".github" / name).read_text()
    header = listed.splitlines()[:2]
    assert header[0] == "# This file was autogenerated by uv via the following command:"
    command = header[1].removeprefix("#").strip()
    assert command.startswith("uv pip compile ") and f"-o .github/{name}" in command
    env = {**os.environ, "PATH": runner_path}
    regenerated = subprocess.run(command, shell=True, cwd=copy, env=env, capture_output=True, text=True, check=False)
    assert regenerated.returncode == 0, regenerated.stderr
    assert (copy / ".github" / name).read_text() == listed


def test_the_readme_pip_command_installs_the_release_with_its_public_dependency(
    published: tuple[Release, str], indexes, tmp_path: Path
) -> None:
    """As printed in "Install from Artifact Registry", through a stand-in for the virtual repository:
    the private index's files first, the public index for everything else."""
    release, version = published
    private, public = indexes
    readme = (release.project.path / "README.md").read_text()
    section = readme[readme.index("## Install from Artifact Registry") :]
    command = next(line for line in section.splitlines() if line.startswith("pip install --index-url"))
    answers = release.project.answers
    virtual = f"https://{answers['gcp_location']}-python.pkg.dev/{answers['gcp_project_id']}/{answers['gcp_virtual_repository']}/simple/"
    assert command == f"pip install --index-url {virtual} {answers['distribution_name']}"
    (tmp_path / "virtual").mkdir()
    with running_index(tmp_path / "virtual", packages=private.packages, fallback=public.simple_url) as stand_in:
        venv_dir = tmp_path / "venv"
        run(sys.executable, "-m", "venv", venv_dir)
        env = {**os.environ, "PATH": f"{venv_dir / 'bin'}{os.pathsep}{os.environ['PATH']}", "PIP_FIND_LINKS": ""}
        command = command.replace(virtual, stand_in.authenticated_simple_url) + f"=={version}"
        installed = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, check=False)
        assert installed.returncode == 0, installed.stdout + installed.stderr
    shown = run(
        venv_dir / "bin/python",
        "-c",
        f"import {answers['package_name']}, {PUBLIC_DEPENDENCY} as d; print({answers['package_name']}.__version__)",
    )
    assert shown.strip() == version


@pytest.mark.parametrize(
    ("tag", "accepted"),
    [("v1.0.0rc1", True), ("v2.0.0.post1", True), ("v1.0-beta", False), ("1.0.0", False), ("v1.0.0+local", False)],
)
def test_the_configuration_job_refuses_a_tag_that_is_not_a_version_in_seconds(
    generate, tmp_path: Path, tag: str, accepted: bool
) -> None:
    project = generate("explicit-names-rc")  # key mode: the tag is all there is to check
    workflow = workflow_steps.load(project.path / ".github/workflows/publish.yml")
    name = "Check the tag and the recorded Google Cloud and GitHub values"
    checked = workflow_steps.run_step(
        workflow, "configuration", name, cwd=tmp_path, local={"TAG": tag}, path=os.environ["PATH"]
    )
    assert (checked.returncode == 0) == accepted, checked.stdout
    again = workflow_steps.outputs(tmp_path).get("release-again")
    if accepted:
        assert (
            again
            == f"git push --delete origin {tag} && git tag -f -a {tag} -m 'Release {tag[1:]}' && git push origin {tag}"
        )
    else:
        assert f"::error::The tag {tag} is not v<version>" in checked.stdout
        assert f"git push --delete origin {tag}" in checked.stdout
        assert again is None, "no command re-pushes a tag that is not a version"
