"""The template-update workflow's own steps, run locally against a tagged clone of this template.

GitHub is out of reach, so each test plays the runner: a bare clone of the project is `origin`,
Copier is installed by the workflow's own install step (from the project's hashed requirements),
and a stateful stand-in for `gh` (tests/fake_gh.py) stands first on PATH. The `run:` steps are
read from the rendered template-update.yml and run verbatim (tests/workflow_steps.py); the `uses:`
steps (the App token, checkout, setup-python) need GitHub and are replaced by the clone and the
values given locally. `update_setup` (conftest.py) provides the template tagged v0.1.0 and v0.2.0
and a project copied at v0.1.0 with its owner's commits.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import helpers
import pytest
import workflow_steps
import yaml
from helpers import (
    UpdateSetup,
    commit,
    copier_cli,
    git,
    overlapping_edit,
    pinned_copier,
    pinned_requirements,
    run,
)

pytestmark = pytest.mark.long

# The defaults project's names, as copier.yml derives them.
GITHUB, PACKAGE = helpers.default("github_repository"), helpers.default("package_name")

FAKE_GH = Path(__file__).with_name("fake_gh.py")
WORKFLOW = ".github/workflows/template-update.yml"
REQUIREMENTS = ".github/template-update-requirements.txt"
# What the runner and the `uses:` steps would provide, given locally.
APP = {"TOKEN": "app-token", "GH_TOKEN": "app-token", "GH_REPO": GITHUB, "BASE": "main"}
BOT = {
    "GIT_AUTHOR_NAME": "template-updater[bot]",
    "GIT_AUTHOR_EMAIL": "template-updater[bot]@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "template-updater[bot]",
    "GIT_COMMITTER_EMAIL": "template-updater[bot]@users.noreply.github.com",
}


@pytest.fixture(scope="module")
def runner_path(tmp_path_factory: pytest.TempPathFactory, update_setup: UpdateSetup) -> str:
    """PATH of the simulated runner: the fake gh, then a Python with Copier installed by the
    workflow's own install step from the project's hashed requirements."""
    root = tmp_path_factory.mktemp("runner")
    fake_bin = root / "bin"
    fake_bin.mkdir()
    (fake_bin / "gh").symlink_to(FAKE_GH)
    project = update_setup.project
    workflow = workflow_steps.load(project / WORKFLOW)
    python = helpers.made_once(
        tmp_path_factory,
        "template-update-runner",
        lambda target: workflow_steps.runner_with_tools(workflow, "update", "Install Copier", cwd=project, root=target),
    )
    return os.pathsep.join([str(fake_bin), str(python / "bin"), os.environ["PATH"]])


UPDATE_STEP = "Update from the template when it has a newer release"
CHECK_STEP = "Check the update against the update job's sha256"
PUSH_STEP = "Commit the update and push the branch"
PR_STEP = "Open or update the pull request"


class Run:
    """One run of the workflow: the job `update` on a checkout of `origin`'s main branch, then the
    job `propose` on a fresh checkout, with the artifact between them carried as upload-artifact
    and download-artifact would; each job has its own runner temp dir. Every step's result is
    kept, to search for what it printed."""

    def __init__(self, origin: Path, workdir: Path, path: str, gh_state: Path) -> None:
        self.origin = origin
        self.workdir = workdir
        self.checkout = workdir / "checkout"
        run("git", "clone", "--quiet", origin, self.checkout)
        self.temp = workdir / "runner-temp"
        self.temp.mkdir()
        self.path = path
        self.gh_state = gh_state
        self.workflow = workflow_steps.load(self.checkout / WORKFLOW)
        self.outputs: dict[str, dict[str, str]] = {}
        self.results: list[subprocess.CompletedProcess[str]] = []
        self.proposal: Path | None = None
        self.proposal_temp = workdir / "propose-runner-temp"

    def step(self, job: str, name: str, cwd: Path, temp: Path, **local: str) -> subprocess.CompletedProcess[str]:
        found = workflow_steps.step(self.workflow, job, name)
        output = temp / "github-output"
        output.write_text("")
        result = workflow_steps.run_step(
            self.workflow,
            job,
            name,
            cwd=cwd,
            local=local,
            path=self.path,
            runner={"GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(temp), "GH_STATE": str(self.gh_state)},
        )
        self.results.append(result)
        if "id" in found:
            self.outputs[found["id"]] = workflow_steps.parse_outputs(output.read_text())
        return result

    def proposes(self) -> bool:
        """Whether the job `propose` runs: its condition, for the one form this workflow uses."""
        condition = self.workflow["jobs"]["propose"]["if"]
        assert condition == "needs.update.outputs.to != ''", condition
        assert self.workflow["jobs"]["update"]["outputs"]["to"] == "${{ steps.update.outputs.to }}"
        return self.outputs.get("update", {}).get("to", "") != ""

    def update(self) -> subprocess.CompletedProcess[str]:
        # The variable TEMPLATE_UPDATE_TEMPLATE_REPOSITORY is not set: the template is public.
        return self.step("update", UPDATE_STEP, self.checkout, self.temp, TEMPLATE_REPOSITORY="your-org/")

    def versions(self) -> dict[str, str]:
        return {"FROM": self.outputs["update"]["from"], "TO": self.outputs["update"]["to"]}

    def hand_over(self, tamper: Callable[[Path], None] | None = None) -> Path:
        """The artifact `update` uploads, downloaded by `propose` by its id into its own fresh
        checkout and checked against the update job's sha256 (`tamper` changes it in between)."""
        assert self.proposes()
        jobs = self.workflow["jobs"]
        [upload] = [s for s in jobs["update"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
        [download] = [s for s in jobs["propose"]["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
        assert jobs["update"]["outputs"]["update-artifact-id"] == f"${{{{ steps.{upload['id']}.outputs.artifact-id }}}}"
        assert download["with"]["artifact-ids"] == "${{ needs.update.outputs.update-artifact-id }}"
        assert upload["with"]["path"] == download["with"]["path"] == "${{ runner.temp }}/template-update/"
        self.proposal_temp.mkdir()
        shutil.copytree(self.temp / "template-update", self.proposal_temp / "template-update")
        if tamper is not None:
            tamper(self.proposal_temp / "template-update")
        self.proposal = self.workdir / "propose-checkout"
        run("git", "clone", "--quiet", self.origin, self.proposal)
        self.checked = self.step(
            "propose", CHECK_STEP, self.proposal, self.proposal_temp, SHA256SUMS=self.outputs["update"]["sha256sums"]
        )
        return self.proposal

    def push(self, token: str = APP["TOKEN"]) -> subprocess.CompletedProcess[str]:
        if self.proposal is None:
            self.hand_over()
        assert self.proposal is not None
        assert self.checked.returncode == 0, self.checked.stdout + self.checked.stderr
        return self.step("propose", PUSH_STEP, self.proposal, self.proposal_temp, TOKEN=token, **BOT, **self.versions())

    def pull_request(self) -> subprocess.CompletedProcess[str]:
        assert self.proposal is not None, "the branch is pushed first"
        local = {k: APP[k] for k in ("GH_TOKEN", "GH_REPO", "BASE")}
        return self.step("propose", PR_STEP, self.proposal, self.proposal_temp, **local, **self.versions())

    def printed(self) -> str:
        """What the steps printed, as a run's log shows it: the runner consumes `::add-mask::`
        commands (and masks their value) instead of printing them."""
        lines = "".join(r.stdout + r.stderr for r in self.results).splitlines()
        return "\n".join(line for line in lines if not line.startswith("::add-mask::"))

    def gh(self) -> dict:
        return json.loads(self.gh_state.read_text()) if self.gh_state.is_file() else {}


def bare(project: Path, destination: Path) -> Path:
    run("git", "clone", "--quiet", "--bare", project, destination)
    return destination


def test_no_newer_release_changes_nothing_and_opens_no_pull_request(
    update_setup: UpdateSetup, runner_path: str, tmp_path: Path
) -> None:
    current = tmp_path / "current"
    copied = copier_cli(
        "copy", "--trust", "--defaults", "--data", "template_updates=true", "--vcs-ref", "v0.2.0",
        update_setup.template, current,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    job = Run(bare(current, tmp_path / "origin.git"), tmp_path, runner_path, tmp_path / "gh.json")
    checked = job.update()
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "on the template's latest release" in checked.stdout
    assert job.outputs["update"] == {}
    assert git(job.checkout, "status", "--porcelain", "--untracked-files=all") == ""
    assert not job.proposes()
    assert not (job.temp / "template-update").exists(), "nothing to hand over"
    assert job.gh() == {}


def rendered_numstat(template: Path) -> set[str]:
    """The template's own change from v0.1.0 to v0.2.0, under the names the project gives its files."""
    found = set()
    for line in git(template, "diff", "--numstat", "v0.1.0", "v0.2.0", "--", "template/").splitlines():
        added, removed, name = line.split("\t")
        name = name.removeprefix("template/").removesuffix(".jinja").replace("{{ package_name }}", PACKAGE)
        found.add(f"{added}\t{removed}\t{name}")
    return found


def with_release_lines(numstat: set[str], origin: Path) -> set[str]:
    """`numstat` plus the lines that name the template release the project records, which follow
    it to v0.2.0: the setup's command (`...@v0.1.0 gar-template-setup`) and the settings' record."""
    found = git(origin, "grep", "--count", "-e", "@v0.1.0", "-e", '"commit": "v0.1.0"', "main", "--")
    counts = {name.removeprefix("main:"): int(n) for name, n in (line.rsplit(":", 1) for line in found.splitlines())}
    merged = {}
    for line in numstat:
        added, removed, name = line.split("\t")
        merged[name] = (int(added), int(removed))
    for name, n in counts.items():
        added, removed = merged.get(name, (0, 0))
        merged[name] = (added + n, removed + n)
    return {f"{a}\t{r}\t{name}" for name, (a, r) in merged.items()}


def test_a_newer_release_gives_one_pull_request_with_exactly_the_template_change(
    update_setup: UpdateSetup, runner_path: str, tmp_path: Path
) -> None:
    origin = bare(update_setup.project, tmp_path / "origin.git")
    gh_state = tmp_path / "gh.json"
    job = Run(origin, tmp_path / "first", runner_path, gh_state)
    updated = job.update()
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert job.versions() == {"FROM": "v0.1.0", "TO": "v0.2.0"}
    pushed = job.push()
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr

    # The branch holds the template's change and the new version in the answers file, nothing else.
    numstat = set(git(origin, "diff", "--numstat", "main", "template-update").splitlines())
    assert numstat == with_release_lines(rendered_numstat(update_setup.template), origin) | {
        "1\t1\t.copier-answers.yml"
    }
    answers_diff = git(origin, "diff", "-U0", "main", "template-update", "--", ".copier-answers.yml")
    assert [line for line in answers_diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-_commit: v0.1.0",
        "+_commit: v0.2.0",
    ]
    assert git(origin, "log", "-1", "--format=%an", "template-update") == "template-updater[bot]"

    opened = job.pull_request()
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert opened.stdout == f"https://github.com/{GITHUB}/pull/1\n"
    [pull] = job.gh()["pulls"]
    assert (pull["headRefName"], pull["baseRefName"], pull["state"]) == ("template-update", "main", "OPEN")
    assert pull["title"] == "Update from the template, v0.1.0 to v0.2.0"
    # The template's changelog between the two versions, and only that.
    assert "### [0.2.0] - 2026-11-27" in pull["body"] and "- CONTRIBUTING.md; the README says hello." in pull["body"]
    assert "[0.1.0]" not in pull["body"] and "Unreleased" not in pull["body"]
    assert [call[:2] for call in job.gh()["calls"]] == [["pr", "list"], ["pr", "create"]]

    # The body's command redoes the update by hand, to the very same files.
    [command] = re.findall(r"`([^`]* update [^`]*)`", pull["body"].split("To redo it by hand:")[1])
    assert command.startswith(pinned_copier() + " update "), "the project's one way to run Copier"
    by_hand = tmp_path / "by-hand"
    run("git", "clone", "--quiet", origin, by_hand)
    redone = copier_cli(*shlex.split(command)[2:], cwd=by_hand)
    assert redone.returncode == 0, redone.stderr
    git(by_hand, "add", "--all")
    assert git(by_hand, "write-tree") == git(origin, "rev-parse", "template-update^{tree}")

    # A week later the release is still the newest: the same branch, the same pull request, edited.
    again = Run(origin, tmp_path / "second", runner_path, gh_state)
    assert again.update().returncode == 0
    repushed = again.push()
    assert repushed.returncode == 0, repushed.stderr
    assert "already holds this update" in repushed.stdout
    edited = again.pull_request()
    assert edited.returncode == 0, edited.stderr
    assert len(again.gh()["pulls"]) == 1
    assert [call[:2] for call in again.gh()["calls"]][-2:] == [["pr", "list"], ["pr", "edit"]]


def test_an_overlapping_owner_edit_fails_the_job_and_names_the_file(
    update_setup: UpdateSetup, runner_path: str, tmp_path: Path
) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    overlapping_edit(project)
    job = Run(bare(project, tmp_path / "origin.git"), tmp_path, runner_path, tmp_path / "gh.json")
    failed = job.update()
    assert failed.returncode != 0
    assert "the update left conflicts in these files:\n  README.md\n" in failed.stderr
    assert "::error::copier update left conflicts" in failed.stdout
    assert not job.proposes()
    assert job.gh() == {}


def test_an_update_changed_after_the_update_job_is_never_pushed(
    update_setup: UpdateSetup, runner_path: str, tmp_path: Path
) -> None:
    """A job that could replace the artifact `template-update` (the update job ran template code)
    cannot get another patch pushed with the App's token: propose checks it against the update
    job's own sha256 first."""
    origin = bare(update_setup.project, tmp_path / "origin.git")
    job = Run(origin, tmp_path / "run", runner_path, tmp_path / "gh.json")
    assert job.update().returncode == 0

    def tamper(handed: Path) -> None:
        patch = handed / "update.patch"
        patch.write_text(patch.read_text().replace("Template v0.2.0 says hello.", "Template v0.2.0 says HELLO."))

    job.hand_over(tamper)
    assert job.checked.returncode == 1
    assert "update.patch: FAILED" in job.checked.stdout
    assert "::error::The update is not the one the update job made: nothing is pushed." in job.checked.stdout
    assert git(origin, "branch", "--list", "template-update") == ""


def test_the_pull_request_lists_the_workflow_files_the_update_changes(
    update_setup: UpdateSetup, tmp_path: Path
) -> None:
    """They run on the pull request's branch with the repository's secrets before review."""
    script = update_setup.project / "scripts/template_update_body.py"
    patch = tmp_path / "update.patch"
    patch.write_text(
        "diff --git a/.github/workflows/test.yml b/.github/workflows/test.yml\n--- a\n+++ b\n"
        "diff --git a/README.md b/README.md\n--- a\n+++ b\n"
    )
    listed = run(sys.executable, script, "--from", "v0.1.0", "--to", "v0.2.0", "--patch", patch)
    section = listed.split("## Workflow files this update changes", 1)[1].split("## ", 1)[0]
    assert "- `.github/workflows/test.yml`" in section and "README.md" not in section
    patch.write_text("diff --git a/README.md b/README.md\n")
    assert "Workflow files" not in run(sys.executable, script, "--from", "v0.1.0", "--to", "v0.2.0", "--patch", patch)


def test_the_workflow_installs_the_copier_the_template_is_tested_with(update_setup: UpdateSetup) -> None:
    """The install step ran with --require-hashes (runner_path), so every pin carries its hashes."""
    pins = (update_setup.project / REQUIREMENTS).read_text()
    assert re.search(rf"^{re.escape(pinned_requirements()['copier'])} \\$", pins, re.MULTILINE)


def test_the_body_says_so_when_the_changelog_has_no_section_for_the_release(
    update_setup: UpdateSetup, tmp_path: Path
) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text("# Changelog\n\n## [0.1.0]\n\n- First.\n")
    script = update_setup.project / "scripts/template_update_body.py"
    body = run(sys.executable, script, "--from", "v0.1.0", "--to", "v0.3.0", "--changelog", changelog)
    assert "The template's CHANGELOG.md has no section for v0.3.0." in body
    assert "First." not in body


def test_fake_gh_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    env = {**os.environ, "GH_STATE": str(tmp_path / "gh.json"), "GH_TOKEN": "t", "GH_REPO": "o/r"}
    result = subprocess.run([FAKE_GH, "repo", "delete"], env=env, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr) == (1, 'unknown command "repo delete" for "gh"\n')
    assert json.loads((tmp_path / "gh.json").read_text())["calls"] == [["repo", "delete"]]


# Every hook git runs on the client side: a template migration plants each in the update's checkout.
HOOKS = (
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
    "prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout", "post-merge",
    "pre-push", "pre-auto-gc", "post-rewrite", "reference-transaction", "post-index-change",
)  # fmt: skip
PLANT_HOOKS = """\
import os
from pathlib import Path

leak = Path({leak!r})
hook = "#!/bin/sh\\necho \\"hook $0 ran\\" >> {leak}\\nenv | tee -a {leak}\\n"
if Path(".git").is_dir():
    for name in {hooks!r}:
        path = Path(".git/hooks", name)
        path.parent.mkdir(exist_ok=True)
        path.write_text(hook)
        path.chmod(0o755)
with leak.open("a") as out:
    out.write("migration ran\\n")
    out.writelines(f"{{key}}={{value}}\\n" for key, value in os.environ.items())
for key, value in os.environ.items():
    print(f"{{key}}={{value}}")
"""


def test_git_hooks_a_template_migration_plants_never_see_the_app_token(
    update_setup: UpdateSetup, runner_path: str, tmp_path: Path
) -> None:
    """A template release whose migration prints its environment and plants every git hook, each
    printing the environment: the token of the job that pushes appears nowhere."""
    template = tmp_path / "template"
    run("git", "clone", "--quiet", update_setup.template, template)
    leak = tmp_path / "leak.txt"
    (template / "hooks/plant_hooks.py").write_text(PLANT_HOOKS.format(leak=str(leak), hooks=HOOKS))
    settings = yaml.safe_load((template / "copier.yml").read_text())
    settings["_migrations"].append(
        {
            "command": ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/plant_hooks.py"],
            "when": "{{ _stage == 'after' }}",
        }
    )
    (template / "copier.yml").write_text(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True))
    git(template, "add", "--all")
    commit(template, "A release whose migration plants git hooks")
    git(template, "tag", "v0.3.0")
    project = tmp_path / "project"
    copied = copier_cli(
        "copy", "--trust", "--defaults", "--data", "template_updates=true", "--vcs-ref", "v0.2.0", template, project
    )
    assert copied.returncode == 0, copied.stderr

    job = Run(bare(project, tmp_path / "origin.git"), tmp_path / "run", runner_path, tmp_path / "gh.json")
    updated = job.update()
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert job.versions() == {"FROM": "v0.2.0", "TO": "v0.3.0"}
    assert "migration ran" in leak.read_text(), "the template's code ran in the update job"
    proposal = job.hand_over()
    # The worst case: the planted hooks are in the pushing job's checkout too, and live.
    shutil.copytree(job.checkout / ".git/hooks", proposal / ".git/hooks", dirs_exist_ok=True)
    before = leak.read_text()

    token = f"ghs_{secrets.token_hex(18)}"
    pushed = job.push(token)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    opened = job.pull_request()
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert leak.read_text() == before, "no hook ran in the job that holds the token"
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    for secret in (token, basic):
        assert secret not in job.printed() and secret not in leak.read_text()
    assert git(tmp_path / "origin.git", "rev-parse", "template-update^{tree}")
    # Control: the same checkout with git's default hooks directory runs the planted hooks.
    run("git", "-C", proposal, "-c", "core.hooksPath=.git/hooks", "checkout", "--quiet", "-b", "control")
    assert "hooks/post-checkout ran" in leak.read_text()[len(before) :]


def test_a_private_template_reaches_the_update_job_as_a_bundle_without_a_token(
    update_setup: UpdateSetup, runner_path: str, tmp_path: Path
) -> None:
    """The job `template` bundles the template repository (a local clone plays the private one on
    github.com); the job `update`, holding no token, updates from that bundle through the URL the
    answers file records."""
    private = "your-org/private-template"
    # A project copied from github.com: git reads the private repository's URL as the local clone.
    on_github = {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": f"url.{update_setup.template}.insteadOf",
        "GIT_CONFIG_VALUE_0": f"https://github.com/{private}.git",
        "GIT_CONFIG_KEY_1": f"url.{update_setup.template}.insteadOf",
        "GIT_CONFIG_VALUE_1": f"https://github.com/{private}",
    }
    project = tmp_path / "project"
    copied = copier_cli(
        "copy", "--trust", "--defaults", "--data", "template_updates=true", "--vcs-ref", "v0.1.0", f"gh:{private}",
        project, env={**os.environ, **on_github},
    )  # fmt: skip
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_src_path"] == f"gh:{private}"
    job = Run(bare(project, tmp_path / "origin.git"), tmp_path / "run", runner_path, tmp_path / "gh.json")

    fetch = tmp_path / "template-runner-temp"
    fetch.mkdir()
    bundled = workflow_steps.run_step(
        job.workflow,
        "template",
        "Bundle the template repository with its tags",
        cwd=fetch,
        local={"TEMPLATE_TOKEN": "read-only-token", "TEMPLATE_URL": str(update_setup.template)},
        path=runner_path,
        runner={"RUNNER_TEMP": str(fetch)},
    )
    assert bundled.returncode == 0, bundled.stdout + bundled.stderr
    job.results.append(bundled)
    digest = workflow_steps.run_step(
        job.workflow, "template", "Record the bundle's sha256", cwd=fetch, local={}, path=runner_path,
        runner={"RUNNER_TEMP": str(fetch)},
    )  # fmt: skip
    assert digest.returncode == 0, digest.stderr
    jobs = job.workflow["jobs"]
    [upload] = [s for s in jobs["template"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    [download] = [s for s in jobs["update"]["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert upload["with"]["path"] == download["with"]["path"] == "${{ runner.temp }}/template/"
    assert download["with"]["artifact-ids"] == "${{ needs.template.outputs.bundle-artifact-id }}"
    shutil.copytree(fetch / "template", job.temp / "template")
    sha256 = workflow_steps.outputs(fetch)["sha256"]
    for bundle_sha256, ok in ((sha256, True), ("0" * 64, False)):
        checked = job.step("update", "Check the bundle against the template job's sha256", job.checkout, job.temp,
                           BUNDLE_SHA256=bundle_sha256)  # fmt: skip
        assert (checked.returncode == 0) == ok, checked.stdout + checked.stderr

    updated = job.step("update", UPDATE_STEP, job.checkout, job.temp, TEMPLATE_REPOSITORY=private)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert job.versions() == {"FROM": "v0.1.0", "TO": "v0.2.0"}
    body = (job.temp / "template-update/body.md").read_text()
    assert "- CONTRIBUTING.md; the README says hello." in body, "the changelog came from the bundle too"
    assert "read-only-token" not in job.printed()
