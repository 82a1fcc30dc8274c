"""The documented path from `copier copy` to a second release, walked in order as a user would.

Every command comes from what the template prints or documents: the README's copy command, the
message after copy, what the Google Cloud setup prints, the publish workflow's own error messages
and steps. Only what stands in for the outside world is swapped: a local tagged clone for
`gh:OWNER/gar-template`, a bare repository for GitHub, stand-ins for gcloud and gh, pypiserver for
Artifact Registry and for PyPI. A drift between what is printed and what works fails here.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import workflow_steps
import yaml
from cloud import StandIns
from helpers import (
    TEMPLATE_ROOT,
    commit,
    git,
    markdown_section,
    pinned_copier,
    pinned_requirements,
    run,
    working_tree_clone,
)
from package_index import running_index

GITHUB_IDS = {"GITHUB_REPOSITORY_ID": "1000001", "GITHUB_REPOSITORY_OWNER_ID": "2000001"}
pytestmark = pytest.mark.long


def readme_command(starting: str) -> str:
    """The README's shell command that starts with `starting` (continuation lines joined)."""
    text = (TEMPLATE_ROOT / "README.md").read_text().replace("\\\n", " ")
    found = [line.strip() for line in text.splitlines() if line.strip().startswith(starting)]
    assert found, f"the README has no command starting {starting!r}"
    return re.sub(r"\s+", " ", found[0])


def printed_commands(message: str) -> list[str]:
    """The command lines of the message after copy: indented further than the steps' text."""
    return [line.strip() for line in message.splitlines() if line.startswith(" " * 7) and line.strip()]


class User:
    """A shell in the project, with the stand-ins first on PATH, Copier and python3 after."""

    def __init__(self, cloud: StandIns, home: Path) -> None:
        self.cloud = cloud
        self.home = home
        # A user with a git identity of their own; the stand-ins answer for Google and GitHub.
        (home / "gitconfig").write_text("[user]\n\tname = Ada Lovelace\n\temail = ada@example.com\n")

    def sh(self, command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run a command line as typed; it must succeed."""
        result = self.cloud.run("bash", "-c", command, cwd=cwd, GIT_CONFIG_GLOBAL=str(self.home / "gitconfig"))
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        return result

    def at_terminal(self, command: str, cwd: Path, *, confirm: str) -> str:
        """Run a command line as typed at a terminal, answering its one question with `confirm`;
        it must succeed. Its output, as the terminal showed it."""
        env = self.cloud.env(GIT_CONFIG_GLOBAL=str(self.home / "gitconfig"), TMPDIR=str(self.cloud.bin.parent))
        session = pexpect.spawn("bash", ["-c", command], cwd=cwd, env=env, encoding="utf-8", timeout=120)
        try:
            session.expect_exact("[y/N] ")
            session.sendline(confirm)
            session.expect(pexpect.EOF)
        finally:
            session.close()
        shown = (session.before or "").replace("\r\n", "\n")
        assert session.exitstatus == 0, f"{command}\n{shown}"
        return shown


def run_job_step(workflow: dict, checkout: Path, job: str, name: str, runner: dict[str, str], **local: str):
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return workflow_steps.run_step(
        workflow,
        job,
        name,
        cwd=checkout,
        local=local,
        path=path,
        runner={"UV_CACHE_DIR": str(checkout.parent / "uv-cache"), **runner},
    )


def publish_from_origin(
    origin: Path, tag: str, workdir: Path, index, runner: dict[str, str], *, interrupted: bool = False
) -> str:
    """What the publish workflow does on GitHub for a pushed tag: check, build, upload, verify.

    `interrupted`: the first upload stops after the wheel, and the job is re-run, as the failure
    job tells a user to do.
    """
    checkout = workdir / f"runner-{tag}"
    run("git", "clone", "--quiet", "--branch", tag, origin, checkout)
    workflow = workflow_steps.load(checkout / ".github/workflows/publish.yml")
    checked = run_job_step(
        workflow,
        checkout,
        "configuration",
        "Check the tag and the recorded Google Cloud and GitHub values",
        runner,
        TAG=tag,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for step in ("Build the sdist and the wheel",):
        built = run_job_step(workflow, checkout, "build", step, runner)
        assert built.returncode == 0, built.stderr
    checked = run_job_step(workflow, checkout, "build", "Check the files and their version", runner, TAG=tag)
    assert checked.returncode == 0, checked.stderr
    version = workflow_steps.outputs(checkout)["version"]
    notes = run_job_step(
        workflow, checkout, "build", "Write the release notes from CHANGELOG.md", runner, VERSION=version
    )
    assert notes.returncode == 0, notes.stderr
    digests = run_job_step(
        workflow, checkout, "build", "Record the sha256 of every file, for the jobs after this one", runner
    )
    assert digests.returncode == 0, digests.stderr
    sha256sums = workflow_steps.outputs(checkout)["sha256sums"]
    # The publish job's check of what it was handed, against the build's own list.
    handed = run_job_step(
        workflow, checkout, "publish", "Check dist/ against the build's sha256 of every file", runner,
        SHA256SUMS=sha256sums,
    )  # fmt: skip
    assert handed.returncode == 0, handed.stdout + handed.stderr

    def upload():
        return run_job_step(
            workflow,
            checkout,
            "publish",
            "Upload to Artifact Registry",
            runner,
            UV_PUBLISH_URL=index.upload_url,
            UV_PUBLISH_CHECK_URL=index.authenticated_simple_url,
            UV_PUBLISH_PASSWORD=index.token,
            VERSION=version,
        )

    if interrupted:
        sdist = next((checkout / "dist").glob("*.tar.gz"))
        held_back = sdist.rename(workdir / sdist.name)
        assert upload().returncode == 0
        held_back.rename(sdist)
    uploaded = upload()
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    assert ("already exists, skipping" in uploaded.stdout) == interrupted
    served = run_job_step(
        workflow,
        checkout,
        "verify",
        "Check that the index serves exactly the files the build made",
        runner,
        INDEX_URL=index.simple_url,
        INDEX_PASSWORD=index.token,
        VERSION=version,
        SHA256SUMS=sha256sums,
    )
    assert served.returncode == 0, served.stdout + served.stderr
    verified = run_job_step(
        workflow,
        checkout,
        "verify",
        "Install the published version in a fresh virtualenv and import it",
        {**runner, "UV_DEFAULT_INDEX": index.simple_url},
        UV_INDEX=f"artifact-registry={index.simple_url}",
        UV_INDEX_ARTIFACT_REGISTRY_PASSWORD=index.token,
        VERSION=version,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return version


def test_from_copy_to_a_second_release(tmp_path: Path, shared_venv) -> None:
    shared_venv.pip("install", pinned_requirements()["uv"])
    # The template, released: a tagged clone stands in for gh:OWNER/gar-template.
    template = tmp_path / "gar-template"
    working_tree_clone(template)
    git(template, "tag", "v0.1.0")
    cloud = StandIns(tmp_path / "outside")
    cloud.add_project("finance-tools-1", "555555555555")
    cloud.add_github_repository("my-org/ledger-sync", *GITHUB_IDS.values())
    user = User(cloud, tmp_path)

    # The README's non-interactive copy, as printed, from the released template; its Copier part
    # runs with the pinned Copier (tests/test_releases.py runs the Quickstart's uvx as printed).
    copy = readme_command("uvx copier copy --trust --defaults").removeprefix("uvx ")
    copy = copy.replace("gh:OWNER/gar-template", shlex.quote(str(template)))
    copied = user.sh(copy, tmp_path)
    project = tmp_path / "ledger-sync"
    message = copied.stdout + copied.stderr
    commands = printed_commands(message)
    # The task prints step 3's tag command before the message: it has seen the new repository.
    tag_command = commands.pop(0)
    assert tag_command.startswith("git tag -f -a v0.1.0 "), "the task's own tag, never pushed, may move"
    https_remote = commands.pop(3)  # step 1's alternative to the SSH remote
    assert https_remote == "git remote add origin https://github.com/my-org/ledger-sync.git"
    assert git(project, "log", "-1", "--format=%an <%ae>") == "Ada Lovelace <ada@example.com>"

    # Step 1: the branch alone reaches GitHub (a bare repository here); no tag is burned.
    origin = tmp_path / "github" / "ledger-sync.git"
    run("git", "init", "--quiet", "--bare", origin)
    # In one shell, from where the copy ran, as typed: `cd` first.
    user.sh(" && ".join(commands[:3]).replace("git@github.com:my-org/ledger-sync.git", str(origin)), tmp_path)
    assert git(origin, "tag") == "", "no tag reaches GitHub before Google Cloud is ready"

    # A tag pushed too early anyway: the workflow stops in seconds, says nothing was uploaded and how to retry.
    run("git", "push", "--quiet", "origin", "v0.1.0", cwd=project)
    workflow = workflow_steps.load(project / ".github/workflows/publish.yml")
    runner_dir = tmp_path / "early-runner"
    runner_dir.mkdir()
    early = run_job_step(
        workflow,
        runner_dir,
        "configuration",
        "Check the tag and the recorded Google Cloud and GitHub values",
        GITHUB_IDS,
        TAG="v0.1.0",
    )
    assert early.returncode == 1
    # The README's one setup line: the template's command at the release the project records.
    readme = markdown_section((project / "README.md").read_text(), "## Google Cloud setup").splitlines()
    setup_line = next(line for line in readme if line.startswith("uvx --from"))
    assert setup_line == f"uvx --from git+file://{template}@v0.1.0 gar-template-setup"
    assert "Nothing was uploaded" in early.stdout
    assert "Run the Google Cloud setup (README.md, Google Cloud setup)" in early.stdout
    retry = early.stdout.split("release the same version again: ", 1)[1].strip()
    # The run's failure job, which GitHub shows last, says the same with the configuration job's output.
    summary = run_job_step(
        workflow,
        runner_dir,
        "failure",
        "Say whether anything was published",
        {},
        TAG="v0.1.0",
        PUBLISH_RESULT="skipped",
        PUBLISH_STOPPED="",
        VERIFY_RESULT="skipped",
        RELEASE_RESULT="skipped",
        RELEASE_AGAIN=workflow_steps.outputs(runner_dir)["release-again"],
    )
    assert summary.returncode == 1
    assert summary.stdout.split("release the same version again: ", 1)[1].strip() == retry

    # Step 2: Google Cloud, then the command the script prints, then the printed commit.
    assert commands[3:5] == [f"{setup_line} --dry-run", setup_line]
    user.sh(commands[3], project)
    assert cloud.changing_calls() == [], "a dry run reads and plans, never changes"
    # At a terminal, as a person runs it: the changes that give rights are listed, then confirmed.
    setup = user.at_terminal(commands[4], project, confirm="y")
    record = next(line.strip() for line in setup.splitlines() if " update --trust " in line)
    assert record.startswith(pinned_copier() + " update "), "the setup runs Copier as the docs do"
    recorded = user.sh(record, project)
    assert "Keeping template version" in recorded.stdout + recorded.stderr, "recording never upgrades the template"
    assert "Run the Google Cloud setup again" not in recorded.stdout, "recording what setup found needs no re-run"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["gcp_project_number"], answers["github_repository_id"]) == ("555555555555", "1000001")
    user.sh(commands[5], project)
    # The retry the early failure printed is step 3 of the message after copy, with the early tag
    # deleted first: the tag now names the commit that records the ids.
    assert retry == f"git push --delete origin v0.1.0 && {tag_command}"
    user.sh(retry, project)
    assert git(origin, "rev-parse", "v0.1.0^{commit}") == git(project, "rev-parse", "HEAD")

    with running_index(tmp_path / "artifact-registry") as index:
        assert publish_from_origin(origin, "v0.1.0", tmp_path, index, GITHUB_IDS) == "0.1.0"

        # A second release, as the generated README's "Release" section says: the notes first.
        (project / "src/ledger_sync/extra.py").write_text('"""More."""\n')
        changelog = project / "CHANGELOG.md"
        changelog.write_text(
            changelog.read_text().replace(
                "## [Unreleased]\n", "## [Unreleased]\n\n## [0.2.0] - 2026-12-02\n\n- More.\n", 1
            )
        )
        git(project, "add", "--all")
        commit(project, "More")
        user.sh("git push", project)
        readme = (project / "README.md").read_text().splitlines()
        for command in (
            next(line for line in readme if line.startswith(start)) for start in ("git tag -a v", "git push origin v")
        ):
            user.sh(command.split("#")[0].replace("1.2.3", "0.2.0"), project)
        # Its upload stops after the wheel; the re-run completes it.
        assert publish_from_origin(origin, "v0.2.0", tmp_path, index, GITHUB_IDS, interrupted=True) == "0.2.0"
        assert sorted(p.name for p in index.packages.iterdir()) == [
            "ledger_sync-0.1.0-py3-none-any.whl",
            "ledger_sync-0.1.0.tar.gz",
            "ledger_sync-0.2.0-py3-none-any.whl",
            "ledger_sync-0.2.0.tar.gz",
        ]
