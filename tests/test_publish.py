"""The publish workflow's own steps, run for real against local package indexes.

Google Cloud is out of reach, so pypiserver (tests/package_index.py) plays Artifact Registry: same
user name, a token as password, authentication on upload and download; a second, anonymous
pypiserver plays PyPI for public dependencies. Each step's `run:` script is read from the rendered
publish.yml and run verbatim; only the index URLs and the token differ from what GitHub Actions
would pass.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import real_gcloud
import workflow_steps
from helpers import (
    BIN,
    IDENTITY,
    Generated,
    Virtualenv,
    commit,
    git,
    made_once,
    pinned_requirements,
    run,
    virtualenv_with_pip,
)
from package_index import PackageIndex, running_index

pytestmark = pytest.mark.long

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
    shared_venv.build(source, outdir, "--wheel")


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


NOTES_STEP = "Write the release notes from CHANGELOG.md"
DIGESTS_STEP = "Record the sha256 of every file, for the jobs after this one"
FILES_STEP = "Check dist/ against the build's sha256 of every file"
GUARD_STEP = "Check who runs this release and that the tag still names its commit"
FAKE_GH = Path(__file__).with_name("fake_gh.py")


@pytest.fixture(scope="session")
def runner_path(generate, tmp_path_factory: pytest.TempPathFactory) -> str:
    """PATH of the simulated runner: a fresh virtualenv given the release tools by the build job's
    own install step, so every file pip takes must match a hash of the rendered list."""
    project = generate("defaults")
    workflow = workflow_steps.load(project.path / ".github/workflows/publish.yml")
    python = made_once(
        tmp_path_factory,
        "publish-runner",
        lambda root: workflow_steps.runner_with_tools(workflow, "build", INSTALL_STEP, cwd=project.path, root=root),
    )
    return os.pathsep.join([str(python / "bin"), os.environ["PATH"]])


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
            "verify",
            "Install the published version in a fresh virtualenv and import it",
            runner={"UV_DEFAULT_INDEX": public.simple_url},  # PyPI, as the runner would reach it
            UV_INDEX=f"artifact-registry={private.simple_url}",
            UV_INDEX_ARTIFACT_REGISTRY_PASSWORD=private.token,
            VERSION=version,
        )

    def build(self) -> str:
        """The build job's steps; its outputs (the version, the sha256 of every file and of the
        notes) are kept as the later jobs receive them."""
        # The machine's warm cache: the build backend's hash-pinned files come from PyPI only once.
        built = self.step("build", "Build the sdist and the wheel", runner={"UV_CACHE_DIR": os.environ["UV_CACHE_DIR"]})
        assert built.returncode == 0, built.stderr
        temp = self.workdir / "build-temp"
        temp.mkdir()
        runner = {"RUNNER_TEMP": str(temp)}
        checked = self.step("build", "Check the files and their version", runner=runner, TAG=self.tag)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        version = workflow_steps.outputs(temp)["version"]
        for name in (NOTES_STEP, DIGESTS_STEP):
            done = self.step("build", name, runner=runner, VERSION=version)
            assert done.returncode == 0, done.stdout + done.stderr
        self.outputs = workflow_steps.outputs(temp)
        self.notes = temp / "notes/notes.md"
        return version


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
    # Every pip install of the workflow, one per job that needs uv, is the build job's hash-pinned one.
    scripts = {name: [s.get("run", "") for s in job.get("steps", [])] for name, job in workflow["jobs"].items()}
    pip_installs = {
        name: [line for script in job for line in script.splitlines() if "python -m pip install" in line]
        for name, job in scripts.items()
    }
    installing = {name: lines for name, lines in pip_installs.items() if lines}
    assert sorted(installing) == ["build", "publish", "test-wheel", "verify"]
    assert {line for lines in installing.values() for line in lines} == {steps[install]["run"]}
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
    commands = [line for line in section.splitlines() if line.startswith(("pip install ", "uv pip install "))]
    answers = release.project.answers
    host = f"{answers['gcp_location']}-python.pkg.dev"
    virtual = (
        f"https://oauth2accesstoken@{host}/{answers['gcp_project_id']}/{answers['gcp_virtual_repository']}/simple/"
    )
    distribution = answers["distribution_name"]
    # One URL form, the user name keyring needs included; pip and uv, each one line.
    assert commands == [
        f"pip install --index-url {virtual} {distribution}",
        f"uv pip install --keyring-provider subprocess --index-url {virtual} {distribution}",
    ]
    (tmp_path / "virtual").mkdir()
    with running_index(tmp_path / "virtual", packages=private.packages, fallback=public.simple_url) as stand_in:
        for number, command in enumerate(commands):
            venv_dir = tmp_path / f"venv-{number}"
            virtualenv_with_pip(venv_dir)
            env = {  # an activated virtual environment; the stand-in's password in place of keyring's token
                **os.environ,
                "PATH": f"{venv_dir / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
                "VIRTUAL_ENV": str(venv_dir),
                "PIP_FIND_LINKS": "",
            }
            command = command.replace(virtual, stand_in.authenticated_simple_url) + f"=={version}"
            installed = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, check=False)
            assert installed.returncode == 0, installed.stdout + installed.stderr
            shown = run(
                venv_dir / "bin/python",
                "-c",
                f"import {answers['package_name']}, {PUBLIC_DEPENDENCY}; print({answers['package_name']}.__version__)",
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


# The jobs around the upload: the wheel's test before it, the check of what the index serves and
# the GitHub Release after it, each run from the rendered workflow.

WHEEL_JOB = "test-wheel"


def wheel_job_checkout(release: Release, destination: Path) -> Path:
    """What the wheel job's sparse checkout holds, taken from the release's checkout, and dist/."""
    [checkout] = [s for s in release.workflow["jobs"][WHEEL_JOB]["steps"] if "checkout" in s.get("uses", "")]
    for entry in checkout["with"]["sparse-checkout"].split():
        source, target = release.checkout / entry, destination / entry
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copytree(release.checkout / "dist", destination / "dist")
    assert not (destination / "src").exists()
    return destination


def run_wheel_job(release: Release, checkout: Path, public: PackageIndex) -> list[subprocess.CompletedProcess[str]]:
    """The wheel job's install and test steps, until one fails; PyPI's stand-in first for tinydep,
    the real PyPI (through the machine's warm cache) for pytest."""
    local = {"WHEEL_TEST": str(checkout.parent / "wheel-test")}
    runner = {"UV_INDEX": public.simple_url, "UV_CACHE_DIR": os.environ["UV_CACHE_DIR"]}
    results = []
    for name in (
        "Install the wheel and the test group in a fresh virtualenv",
        "Run the tests against the installed wheel",
    ):
        results.append(
            workflow_steps.run_step(
                release.workflow, WHEEL_JOB, name, cwd=checkout, local=local, path=release.path, runner=runner
            )
        )
        if results[-1].returncode != 0:
            break
    return results


def test_the_wheel_job_runs_the_tests_against_the_wheel_from_dist(published, indexes, tmp_path: Path) -> None:
    release, _ = published
    checkout = wheel_job_checkout(release, tmp_path / "checkout")
    installed, tested = run_wheel_job(release, checkout, indexes[1])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert tested.returncode == 0, tested.stdout + tested.stderr
    package = release.project.answers["package_name"]
    assert f"{package} is imported from the installed wheel: {tmp_path / 'wheel-test'}" in tested.stdout
    assert re.search(r"\d+ passed", tested.stdout), tested.stdout


def test_a_wheel_missing_a_module_fails_the_wheel_job_before_any_upload(published, indexes, tmp_path: Path) -> None:
    release, _ = published
    checkout = wheel_job_checkout(release, tmp_path / "checkout")
    [wheel] = (checkout / "dist").glob("*.whl")
    package = release.project.answers["package_name"]
    whole = wheel.read_bytes()
    with zipfile.ZipFile(wheel.with_suffix(".zip"), "w") as broken, zipfile.ZipFile(wheel) as original:
        for item in original.infolist():
            if item.filename != f"{package}/ops.py":
                broken.writestr(item, original.read(item))
    wheel.with_suffix(".zip").replace(wheel)
    assert wheel.read_bytes() != whole
    results = run_wheel_job(release, checkout, indexes[1])
    assert results[-1].returncode != 0
    assert f"::error::{package} cannot be imported from the built wheel" in results[-1].stdout
    assert f"No module named '{package}.ops'" in results[-1].stderr


def check_served(
    release: Release, index: PackageIndex, version: str, temp: Path, sha256sums: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The verify job's check, given the build's list of files (or another) as its output."""
    return release.step(
        "verify",
        "Check that the index serves exactly the files the build made",
        runner={"RUNNER_TEMP": str(temp)},
        INDEX_URL=index.simple_url,
        INDEX_PASSWORD=index.token,
        VERSION=version,
        SHA256SUMS=release.outputs["sha256sums"] if sha256sums is None else sha256sums,
    )


def test_the_verify_job_finds_exactly_the_uploaded_files_on_the_index(published, indexes, tmp_path: Path) -> None:
    release, version = published
    checked = check_served(release, indexes[0], version, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for path in (release.checkout / "dist").iterdir():
        assert (
            f"{path.name} sha256:{hashlib.sha256(path.read_bytes()).hexdigest()} served as uploaded" in checked.stdout
        )


def test_the_verify_job_fails_when_a_served_file_differs(published, indexes, tmp_path: Path) -> None:
    release, version = published
    [wheel] = (release.checkout / "dist").glob("*.whl")
    served = indexes[0].packages / wheel.name
    kept = tmp_path / wheel.name
    shutil.copy2(served, kept)
    served.write_bytes(served.read_bytes() + b"\0")
    try:
        checked = check_served(release, indexes[0], version, tmp_path)
    finally:
        shutil.copy2(kept, served)
    assert checked.returncode == 1
    other = hashlib.sha256(kept.read_bytes() + b"\0").hexdigest()
    assert f"::error::{wheel.name} is served with sha256 {other}, but the uploaded file has" in checked.stderr


def test_the_published_files_check_waits_for_a_file_the_index_does_not_list(published, indexes, tmp_path: Path) -> None:
    release, _ = published
    distribution = release.project.answers["distribution_name"]
    canonical = re.sub(r"[-_.]+", "-", distribution).lower()
    name = f"{canonical.replace('-', '_')}-9.9.9-py3-none-any.whl"
    sums = tmp_path / "sha256sums"
    sums.write_text(f"{hashlib.sha256(b'never uploaded').hexdigest()}  {name}\n")
    private = indexes[0]
    env = {
        **os.environ,
        "INDEX_URL": private.simple_url,
        "INDEX_USERNAME": "oauth2accesstoken",
        "INDEX_PASSWORD": private.token,
    }
    script = release.checkout / "scripts/check_published_files.py"
    args = ["--distribution", distribution, "--version", "9.9.9", "--attempts", "2", "--delay", "0", sums]
    result = subprocess.run([sys.executable, script, *args], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert f"::error::the index does not list {name} after 2 attempts" in result.stderr
    # No attempt at all would be no check: it is refused before the index is asked.
    never = [*args[:5], "0", *args[6:]]
    refused_count = subprocess.run(
        [sys.executable, script, *never], env=env, capture_output=True, text=True, check=False
    )
    assert (refused_count.returncode, refused_count.stderr) == (2, "::error::--attempts is 0: ask at least once\n")
    # With a wrong token the index refuses: the check says so instead of passing.
    env["INDEX_PASSWORD"] = "not-the-token"
    refused = subprocess.run([sys.executable, script, *args], env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert f"::error::{private.simple_url}{canonical}/ answered HTTP 403" in refused.stderr


def test_the_build_job_writes_the_release_notes_from_the_changelog(published, tmp_path: Path) -> None:
    release, version = published
    written = release.step("build", NOTES_STEP, runner={"RUNNER_TEMP": str(tmp_path)}, VERSION=version)
    assert written.returncode == 0, written.stdout + written.stderr
    notes = (tmp_path / "notes/notes.md").read_text()
    assert notes.startswith("### Added\n\n- The package's first release.\n\nFiles uploaded to Artifact Registry")
    for path in (release.checkout / "dist").iterdir():
        assert f"    {hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n" in notes


def test_a_version_without_its_changelog_section_stops_the_build(published, tmp_path: Path) -> None:
    release, _ = published
    stopped = release.step("build", NOTES_STEP, runner={"RUNNER_TEMP": str(tmp_path)}, VERSION="9.9.9")
    assert stopped.returncode == 1
    assert "::error::CHANGELOG.md has no section for 9.9.9. Add '## [9.9.9] - YYYY-MM-DD'" in stopped.stderr
    assert "Nothing was uploaded" in stopped.stderr


def test_the_release_job_creates_the_github_release_once_and_a_rerun_updates_it(published, tmp_path: Path) -> None:
    release, version = published
    written = release.step("build", NOTES_STEP, runner={"RUNNER_TEMP": str(tmp_path)}, VERSION=version)
    assert written.returncode == 0, written.stderr
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "gh").symlink_to(FAKE_GH)
    repo = release.project.answers["github_repository"]
    state = tmp_path / "gh.json"
    local = {"GH_TOKEN": "github-token", "GH_REPO": repo, "TAG": release.tag, "VERSION": version}

    def release_job() -> subprocess.CompletedProcess[str]:
        # The job has no checkout; the stand-in checks --verify-tag against `origin` of its working
        # directory, so it runs in the release's clone, whose origin holds the tag.
        return workflow_steps.run_step(
            release.workflow,
            "release",
            "Create or update the GitHub Release",
            cwd=release.checkout,
            local=local,
            path=f"{fake_bin}{os.pathsep}{release.path}",
            runner={"GH_STATE": str(state), "RUNNER_TEMP": str(tmp_path)},
        )

    for _ in range(2):
        created = release_job()
        assert created.returncode == 0, created.stdout + created.stderr
    gh = json.loads(state.read_text())
    distribution = release.project.answers["distribution_name"]
    [made] = gh["releases"]
    assert (made["repo"], made["tagName"], made["name"]) == (repo, release.tag, f"{distribution} {version}")
    assert made["body"] == (tmp_path / "notes/notes.md").read_text()
    calls = [call[:2] for call in gh["calls"]]
    assert calls == [["release", "view"], ["release", "create"], ["release", "view"], ["release", "edit"]]


# --- Each hand-off is checked: what a job after the build acts on, it checks against the build's
# own outputs (artifact ids and sha256), never against an artifact as it is when the job runs.


@pytest.mark.parametrize("change", ["none", "one byte", "missing", "extra"])
def test_the_upload_job_takes_exactly_the_files_the_build_made(published, tmp_path: Path, change: str) -> None:
    release, _ = published
    dist = tmp_path / "dist"
    shutil.copytree(release.checkout / "dist", dist)
    [wheel], [sdist] = dist.glob("*.whl"), dist.glob("*.tar.gz")
    named = {"one byte": wheel.name, "missing": sdist.name, "extra": "other_pkg-99.0-py3-none-any.whl"}.get(change)
    if change == "one byte":
        data = wheel.read_bytes()
        wheel.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif change == "missing":
        sdist.unlink()
    elif change == "extra":
        (dist / "other_pkg-99.0-py3-none-any.whl").write_bytes(b"another package's name")
    checked = workflow_steps.run_step(
        release.workflow,
        "publish",
        FILES_STEP,
        cwd=tmp_path,
        local={"SHA256SUMS": release.outputs["sha256sums"]},
        path=release.path,
    )
    if named is None:
        assert checked.returncode == 0, checked.stdout + checked.stderr
        return
    assert checked.returncode == 1
    assert "::error::" in checked.stdout and named in checked.stdout, checked.stdout
    assert "Nothing was uploaded" in checked.stdout
    assert workflow_steps.outputs(tmp_path)["stopped"] == "files"


def guard(release: Release, tmp_path: Path, *, triggering: str = "octo", **repository: object):
    """The publish job's checks of who runs it and of the tag, against a GitHub stand-in whose
    repository holds `repository` (tags, tag objects) and the GitHub Releases of state["releases"]."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "gh").symlink_to(FAKE_GH)
    repo = release.project.answers["github_repository"]
    releases = repository.pop("releases", [])
    state = tmp_path / "gh.json"
    state.write_text(json.dumps({"repositories": {repo: repository}, "releases": releases}))
    commit_sha = git(release.checkout, "rev-parse", f"{release.tag}^{{commit}}")
    runner = {
        "GH_STATE": str(state),
        "GITHUB_ACTOR": "octo",
        "GITHUB_TRIGGERING_ACTOR": triggering,
        "GITHUB_REPOSITORY": repo,
        "GITHUB_SHA": commit_sha,
        "RUNNER_TEMP": str(tmp_path),
    }
    local = {"GH_TOKEN": "github-token", "GH_REPO": repo, "TAG": release.tag}
    path = f"{fake_bin}{os.pathsep}{release.path}"
    ran = workflow_steps.run_step(
        release.workflow, "publish", GUARD_STEP, cwd=tmp_path, local=local, path=path, runner=runner
    )
    stopped = workflow_steps.outputs(tmp_path).get("stopped")
    return ran, stopped, commit_sha


def annotated(release: Release, commit_sha: str) -> dict[str, object]:
    """The tag as GitHub stores an annotated tag: a tag object naming the commit."""
    tag_object = git(release.checkout, "rev-parse", release.tag)
    return {"tags": {release.tag: {"type": "tag", "sha": tag_object}}, "tag_objects": {tag_object: commit_sha}}


def test_the_upload_job_runs_for_the_tags_own_actor_and_commit(published, tmp_path: Path) -> None:
    release, _ = published
    commit_sha = git(release.checkout, "rev-parse", f"{release.tag}^{{commit}}")
    ran, stopped, _ = guard(release, tmp_path, **annotated(release, commit_sha))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert stopped is None
    assert f"octo releases {release.tag} at {commit_sha}" in ran.stdout


def test_a_rerun_by_someone_else_stops_before_any_credential(published, tmp_path: Path) -> None:
    release, _ = published
    commit_sha = git(release.checkout, "rev-parse", f"{release.tag}^{{commit}}")
    ran, stopped, _ = guard(release, tmp_path, triggering="mallory", **annotated(release, commit_sha))
    assert ran.returncode == 1 and stopped == "rerun"
    assert "::error::mallory re-ran the release octo started. Only octo may re-run it" in ran.stdout


@pytest.mark.parametrize("where", ["another commit", "deleted"])
def test_a_tag_moved_or_deleted_after_the_run_started_stops_it(published, tmp_path: Path, where: str) -> None:
    release, _ = published
    other = "0" * 40
    tags = annotated(release, other) if where == "another commit" else {"tags": {}}
    ran, stopped, commit_sha = guard(release, tmp_path, **tags)
    assert ran.returncode == 1 and stopped == "tag-moved", ran.stdout + ran.stderr
    if where == "another commit":
        assert f"now names {other}, not {commit_sha}" in ran.stdout
    else:
        assert f"The tag {release.tag} no longer exists" in ran.stdout


def test_a_withdrawn_version_is_never_uploaded_again(published, tmp_path: Path) -> None:
    """docs/publishing.md's withdrawal, as printed, marks the release; an old run's re-run stops."""
    release, version = published
    docs = (release.project.path / "docs/publishing.md").read_text()
    [mark] = [line.strip() for line in docs.splitlines() if line.strip().startswith("gh release edit ")]
    distribution = release.project.answers["distribution_name"]
    mark = mark.replace("vX.Y.Z", release.tag).replace("X.Y.Z", version)
    repo = release.project.answers["github_repository"]
    notes = {
        "repo": repo,
        "tagName": release.tag,
        "name": f"{distribution} {version}",
        "body": "",
        "url": "",
        "isDraft": False,
        "createdAt": "",
    }
    commit_sha = git(release.checkout, "rev-parse", f"{release.tag}^{{commit}}")
    state = tmp_path / "marking" / "gh.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"repositories": {repo: {}}, "releases": [notes]}))
    fake_bin = tmp_path / "marking" / "bin"
    fake_bin.mkdir()
    (fake_bin / "gh").symlink_to(FAKE_GH)
    env = {
        **os.environ,
        "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
        "GH_STATE": str(state),
        "GH_TOKEN": "t",
        "GH_REPO": repo,
    }
    marked = subprocess.run(["bash", "-c", mark], env=env, capture_output=True, text=True, check=False)
    assert marked.returncode == 0, marked.stderr
    [withdrawn] = json.loads(state.read_text())["releases"]
    ran, stopped, _ = guard(release, tmp_path, releases=[withdrawn], **annotated(release, commit_sha))
    assert ran.returncode == 1 and stopped == "withdrawn", ran.stdout + ran.stderr
    assert f"::error::{release.tag} was withdrawn" in ran.stdout


def test_the_release_job_refuses_notes_other_than_the_builds(published, tmp_path: Path) -> None:
    release, _ = published
    (tmp_path / "notes").mkdir()
    shutil.copy2(release.notes, tmp_path / "notes/notes.md")
    local = {"NOTES_SHA256": release.outputs["notes-sha256"]}
    name = "Check the notes against the build's sha256"

    def check() -> subprocess.CompletedProcess[str]:
        return workflow_steps.run_step(
            release.workflow, "release", name, cwd=tmp_path, local=local, path=release.path,
            runner={"RUNNER_TEMP": str(tmp_path)},
        )  # fmt: skip

    assert check().returncode == 0
    with (tmp_path / "notes/notes.md").open("a") as notes:
        notes.write("\nAlso install other_pkg 99.0.\n")
    refused = check()
    assert refused.returncode == 1 and "::error::The release notes are not the ones the build wrote" in refused.stdout


def test_no_job_takes_an_artifact_by_name_and_each_checks_what_it_takes(all_projects) -> None:
    """Every download names the build's artifact id from its outputs, one id a step; a job that
    takes dist/ checks it against the build's sha256 next; verify reads the build's list."""
    for project in all_projects:
        workflow = workflow_steps.load(project.path / ".github/workflows/publish.yml")
        jobs = workflow["jobs"]
        produced = set(jobs["build"]["outputs"])
        assert {"dist-artifact-id", "notes-artifact-id", "sha256sums", "notes-sha256"} <= produced
        for name, job in jobs.items():
            steps = job.get("steps", [])
            for index, step in enumerate(steps):
                if not step.get("uses", "").startswith("actions/download-artifact@"):
                    continue
                assert "name" not in step["with"], (project.name, name)
                ids = step["with"]["artifact-ids"]
                assert re.fullmatch(r"\$\{\{ needs\.build\.outputs\.[a-z-]+-artifact-id \}\}", ids), ids
                assert "build" in job["needs"], name
                check = steps[index + 1]
                assert check.get("name", "").startswith("Check "), (name, check)
                digest = "sha256sums" if "dist-artifact-id" in ids else "notes-sha256"
                assert f"needs.build.outputs.{digest}" in json.dumps(check["env"]), name
        verify = json.dumps(jobs["verify"])
        assert "download-artifact" not in verify and "needs.build.outputs.sha256sums" in verify
        uploads = [s for s in jobs["build"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
        assert [u["id"] for u in uploads] == ["dist", "notes"]
        # The publish job: the file check and the guard before the credential.
        publish = [s.get("name") or s.get("id") for s in jobs["publish"]["steps"]]
        assert publish.index(FILES_STEP) < publish.index(GUARD_STEP) < publish.index("auth")


@pytest.mark.skipif(not real_gcloud.installed(), reason="the real gcloud is not installed")
def test_the_readme_withdraw_command_is_one_gcloud_accepts(generate, tmp_path: Path) -> None:
    """The command of docs/publishing.md's "Withdraw a published version", as printed, parsed by the real gcloud (with
    no account it stops right after parsing)."""
    commands = []
    for name in AUTH_MODES.values():
        project = generate(name)
        docs = (project.path / "docs/publishing.md").read_text()
        [command] = [line for line in docs.splitlines() if line.startswith("gcloud artifacts versions delete ")]
        answers = project.answers
        normalized = re.sub(r"[-_.]+", "-", answers["distribution_name"]).lower()
        assert command == (
            f"gcloud artifacts versions delete 1.2.3 --package={normalized} --repository={answers['gcp_repository']} "
            f"--location={answers['gcp_location']} --project={answers['gcp_project_id']}"
        )
        commands.append(shlex.split(command)[1:])
    for answer in real_gcloud.run_all(commands, tmp_path / "gcloud-config"):
        assert real_gcloud.NO_ACCOUNT in str(answer["stderr"]), answer


@pytest.mark.parametrize(
    ("results", "says"),
    [
        ({"PUBLISH_RESULT": "failure"}, "files of v1.0.0 may already be in Artifact Registry. Re-run the failed jobs"),
        (
            {"PUBLISH_RESULT": "success", "VERIFY_RESULT": "failure"},
            "v1.0.0 is published, but the verify job found",
        ),
        (
            {"PUBLISH_RESULT": "success", "VERIFY_RESULT": "success", "RELEASE_RESULT": "failure"},
            "v1.0.0 is published and verified; only its GitHub Release failed",
        ),
        ({"PUBLISH_RESULT": "skipped"}, "Nothing was uploaded: v1.0.0 failed before the publish job"),
        # The publish job's own checks stopped it: a re-run would not help, and is not advised.
        (
            {"PUBLISH_RESULT": "failure", "PUBLISH_STOPPED": "rerun"},
            "v1.0.0 was re-run by someone other than the release manager who pushed it",
        ),
        ({"PUBLISH_RESULT": "failure", "PUBLISH_STOPPED": "tag-moved"}, "do not re-run this one"),
        ({"PUBLISH_RESULT": "failure", "PUBLISH_STOPPED": "withdrawn"}, "v1.0.0 was withdrawn and stays withdrawn"),
        ({"PUBLISH_RESULT": "failure", "PUBLISH_STOPPED": "files"}, "not the ones the build made"),
    ],
)
def test_the_failure_job_says_what_to_do_after_each_job(
    generate, tmp_path: Path, results: dict[str, str], says: str
) -> None:
    workflow = workflow_steps.load(generate("defaults").path / ".github/workflows/publish.yml")
    local = {"TAG": "v1.0.0", "VERIFY_RESULT": "skipped", "RELEASE_RESULT": "skipped", "PUBLISH_STOPPED": ""}
    local |= results
    said = workflow_steps.run_step(
        workflow,
        "failure",
        "Say whether anything was published",
        cwd=tmp_path,
        local={**local, "RELEASE_AGAIN": "git push --delete origin v1.0.0 && ..."},
        path=os.environ["PATH"],
    )
    assert said.returncode == 1
    assert said.stdout.startswith("::error::") and says in said.stdout
    if results.get("PUBLISH_STOPPED"):
        assert "Re-run the failed jobs" not in said.stdout
