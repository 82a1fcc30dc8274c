"""The template's releases, rebuilt from the history alone, and what each of them promises.

The `released` fixture clones this checkout without its tags and lets tools/release.py tag every
release that CHANGELOG.md's history records (the commit that added its heading). On that clone:
the release workflow's own steps, a copy that reports its release, the README's Quickstart run
as printed, and every release updated to HEAD giving exactly the files of a fresh copy at HEAD.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import workflow_steps
import yaml
from answer_sets import ANSWER_SETS
from helpers import (
    BIN,
    TEMPLATE_ROOT,
    attempt,
    commit,
    copier_cli,
    edit,
    git,
    pinned_requirements,
    run,
    working_tree_clone,
)

pytestmark = pytest.mark.long

RELEASE = TEMPLATE_ROOT / "tools" / "release.py"
WORKFLOW = ".github/workflows/release.yml"
FAKE_GH = Path(__file__).with_name("fake_gh.py")
HEADING = re.compile(r"^## \[(\d+\.\d+\.\d+)\]", re.MULTILINE)
# The tagger of tags the tests make (the tests run with no git identity).
TAGGER = {"GIT_COMMITTER_NAME": "Maintainer", "GIT_COMMITTER_EMAIL": "maintainer@example.com"}
# Both publish modes, internal dependencies in each, the template-update workflow in each.
UPDATED_SETS = ("key-apache", "internal-deps-wif", "wif-hyphen-digits")


def release_tool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return attempt(sys.executable, RELEASE, *args, cwd=cwd, env={**os.environ, **TAGGER})


@dataclass
class Released:
    """A clone of this checkout (uncommitted changes as a draft commit), tagged by tools/release.py."""

    path: Path
    releases: list[tuple[str, str]]  # (vX.Y.Z, commit), oldest first

    @property
    def latest(self) -> str:
        return self.releases[-1][0]


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Released:
    clone = tmp_path_factory.mktemp("released") / "gar-template"
    working_tree_clone(clone)
    assert git(clone, "tag") == "", "the clone starts without tags"
    tagged = release_tool("tag", cwd=clone)
    assert tagged.returncode == 0, tagged.stderr
    listed = [tuple(line.split()) for line in release_tool("list", cwd=clone).stdout.splitlines()]
    return Released(clone, listed)  # type: ignore[arg-type]


def headings(repo: Path, revision: str) -> list[str]:
    shown = attempt("git", "show", f"{revision}:CHANGELOG.md", cwd=repo)
    return HEADING.findall(shown.stdout) if shown.returncode == 0 else []


def section(repo: Path, commit: str, version: str) -> str:
    """The text under `## [version]` up to the next `## ` heading, read here independently."""
    text = git(repo, "show", f"{commit}:CHANGELOG.md")
    body = text.split(f"\n## [{version}]", 1)[1].split("\n", 1)[1]
    return body.split("\n## ", 1)[0].strip() + "\n"


def test_each_release_is_the_commit_that_added_its_heading_and_is_tagged_there(released: Released) -> None:
    clone = released.path
    assert [tag for tag, _ in released.releases] == [f"v{v}" for v in reversed(headings(clone, "HEAD"))]
    first_parent_line = git(clone, "rev-list", "--first-parent", "HEAD").split()
    for tag, commit_id in released.releases:
        version = tag.removeprefix("v")
        assert commit_id in first_parent_line, f"{tag} is on main's own line"
        assert version in headings(clone, commit_id) and version not in headings(clone, f"{commit_id}^1")
        # An annotated tag, on that commit, dated as the commit.
        assert git(clone, "cat-file", "-t", tag) == "tag"
        assert git(clone, "rev-parse", f"{tag}^{{commit}}") == commit_id
        assert git(clone, "log", "-1", "--format=%cI", tag) == git(
            clone, "tag", "-l", "--format=%(taggerdate:iso-strict)", tag
        )
        assert git(clone, "tag", "-l", "--format=%(contents:subject)", tag) == f"gar-template {version}"
        assert release_tool("notes", tag, cwd=clone).stdout == section(clone, commit_id, version)
    assert released.releases[0][0] == "v0.1.0", "the first release recorded"


def test_tagging_again_changes_nothing_and_a_wrong_tag_stops_it(released: Released, tmp_path: Path) -> None:
    again = release_tool("tag", cwd=released.path)
    assert again.returncode == 0 and "created=\n" in again.stdout
    clone = tmp_path / "clone"
    run("git", "clone", "--quiet", "--no-tags", released.path, clone)
    first_tag, first_commit = released.releases[0]
    git(clone, "tag", first_tag, f"{first_commit}^")  # lightweight, and on the wrong commit
    refused = release_tool("tag", cwd=clone)
    assert refused.returncode == 1
    assert (
        f"release: the tag {first_tag} points at {git(clone, 'rev-parse', first_commit + '^')[:12]}" in refused.stderr
    )
    assert "A release tag is never moved" in refused.stderr
    assert git(clone, "tag") == first_tag, "nothing was tagged"


def test_a_shallow_clone_is_refused_with_the_fix(released: Released, tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    run("git", "clone", "--quiet", "--depth=1", f"file://{released.path}", shallow)
    refused = release_tool("list", cwd=shallow)
    assert refused.returncode == 1
    assert "this clone is shallow" in refused.stderr and "fetch-depth: 0" in refused.stderr


def test_a_malformed_heading_is_named() -> None:
    sys.path.insert(0, str(RELEASE.parent))
    try:
        import release
    finally:
        sys.path.remove(str(RELEASE.parent))
    with pytest.raises(release.ReleaseError, match=r"the heading '## \[v1.0\]' is neither"):
        release.check_headings("# Changelog\n\n## [Unreleased]\n\n## [v1.0] - 2026-01-01\n")
    release.check_headings("## [Unreleased]\n\n## [1.10.0] - 2026-01-02\n\n## [1.9.0]\n")


class WorkflowRun:
    """One run of the release job: a checkout of `origin`, the runner's temp dir, the fake gh."""

    def __init__(self, origin: Path, root: Path, gh_state: Path) -> None:
        self.checkout = root / "checkout"
        run("git", "clone", "--quiet", origin, self.checkout)  # actions/checkout, fetch-depth 0
        self.temp = root / "runner-temp"
        self.temp.mkdir()
        self.workflow = workflow_steps.load(self.checkout / WORKFLOW)
        fake_bin = root / "bin"
        fake_bin.mkdir()
        (fake_bin / "gh").symlink_to(FAKE_GH)
        self.path = os.pathsep.join([str(fake_bin), os.environ["PATH"]])
        self.gh_state = gh_state
        self.outputs: dict[str, str] = {}

    def runs(self, name: str) -> bool:
        """Whether the step's `if:` holds, for the one form of condition this workflow uses."""
        condition = workflow_steps.step(self.workflow, "release", name).get("if")
        if condition is None:
            return True
        match = re.fullmatch(r"steps\.tag\.outputs\.(\w+) != ''", condition)
        assert match, f"this test reads no other condition: {condition!r}"
        return self.outputs.get(match[1], "") != ""

    def step(self, name: str) -> subprocess.CompletedProcess[str] | None:
        if not self.runs(name):
            return None
        local = {
            "GH_TOKEN": "github-token",
            "GH_REPO": "OWNER/gar-template",
            "CREATED": self.outputs.get("created", ""),
            "RELEASES": self.outputs.get("releases", ""),
        }
        output = self.temp / "github-output"
        output.write_text("")
        result = workflow_steps.run_step(
            self.workflow,
            "release",
            name,
            cwd=self.checkout,
            local=local,
            path=self.path,
            runner={"RUNNER_TEMP": str(self.temp), "GITHUB_OUTPUT": str(output), "GH_STATE": str(self.gh_state)},
        )
        assert result.returncode == 0, f"{name}\n{result.stdout}{result.stderr}"
        if workflow_steps.step(self.workflow, "release", name).get("id") == "tag":
            self.outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
        return result

    def all_steps(self) -> None:
        for found in self.workflow["jobs"]["release"]["steps"]:
            if "run" in found:
                self.step(found["name"])


def test_the_release_workflow_tags_the_releases_and_publishes_their_notes(released: Released, tmp_path: Path) -> None:
    """Its run: steps, verbatim, with a bare clone as GitHub's repository and the fake gh."""
    origin = tmp_path / "origin.git"
    run("git", "clone", "--quiet", "--bare", "--no-tags", released.path, origin)
    gh_state = tmp_path / "gh.json"
    first = WorkflowRun(origin, tmp_path / "first", gh_state)
    assert first.workflow["jobs"]["release"]["if"] == "github.ref == 'refs/heads/main'", "releases are on main"
    first.all_steps()

    tags = [tag for tag, _ in released.releases]
    assert first.outputs == {"created": " ".join(tags), "releases": " ".join(tags)}
    for tag, commit_id in released.releases:
        assert git(origin, "cat-file", "-t", f"refs/tags/{tag}") == "tag"
        assert git(origin, "rev-parse", f"{tag}^{{commit}}") == commit_id
    state = yaml.safe_load(gh_state.read_text())
    assert state["git_credential_helper"] is True, "the push borrowed gh's credentials"
    assert [r["tagName"] for r in state["releases"]] == tags
    for (tag, commit_id), published in zip(released.releases, state["releases"], strict=True):
        assert published["name"] == f"gar-template {tag.removeprefix('v')}"
        assert published["body"] == section(released.path, commit_id, tag.removeprefix("v"))

    # The next push of CHANGELOG.md (a typo fixed, say) finds every tag and release in place.
    second = WorkflowRun(origin, tmp_path / "second", gh_state)
    second.all_steps()
    assert second.outputs == {"created": "", "releases": " ".join(tags)}
    assert not second.runs("Push the new tags")
    calls = yaml.safe_load(gh_state.read_text())["calls"]
    assert [call[:2] for call in calls if call[:2] == ["release", "create"]] == [["release", "create"]] * len(tags)


def test_a_copy_from_a_clone_with_the_release_tags_records_the_release(released: Released, tmp_path: Path) -> None:
    copied = copier_cli("copy", "--trust", "--defaults", released.path, tmp_path / "project")
    assert copied.returncode == 0, copied.stderr
    assert yaml.safe_load((tmp_path / "project/.copier-answers.yml").read_text())["_commit"] == released.latest
    assert "No git tags found" not in copied.stdout + copied.stderr
    # What it looked like before the tags existed, so the assertion above can fail.
    untagged = tmp_path / "untagged"
    run("git", "clone", "--quiet", "--no-tags", released.path, untagged)
    warned = copier_cli("copy", "--trust", "--defaults", "--skip-tasks", untagged, tmp_path / "from-untagged")
    assert "No git tags found in template; using HEAD as ref" in warned.stderr


def quickstart_blocks() -> list[list[str]]:
    readme = (TEMPLATE_ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [block.strip().splitlines() for block in re.findall(r"```bash\n(.*?)```", quickstart, re.DOTALL)]


def test_readme_test_command_is_the_one_ci_runs() -> None:
    [[test]] = [block for block in quickstart_blocks() if " pytest " in " ".join(block)]
    ci = (TEMPLATE_ROOT / ".ci/run").read_text().splitlines()
    assert ci[-1] == test, "CI runs the README's test command"
    assert test.startswith("uv run --locked "), "the test tools at uv.lock's versions"


def test_ci_installs_the_pinned_uv_when_the_machine_has_none(tmp_path: Path) -> None:
    """.ci/run's bootstrap, run as written with no uv on PATH: it installs the uv that pyproject.toml
    pins (uv's own installer downloads binaries, which these machines cannot reach)."""
    script = (TEMPLATE_ROOT / ".ci/run").read_text()
    bootstrap = script[script.index("if ! command -v uv") : script.index("\nfi\n") + 4]
    checkout = tmp_path / "checkout"
    (checkout / ".ci").mkdir(parents=True)
    shutil.copy(TEMPLATE_ROOT / "pyproject.toml", checkout)
    # A PATH with python3 (a venv of this interpreter's base, so no uv in it) and the system's tools.
    base = tmp_path / "base"
    run(sys.executable, "-m", "venv", "--without-pip", base)
    path = f"{base / 'bin'}{os.pathsep}/usr/bin:/bin"
    assert shutil.which("uv", path=path) is None
    found = attempt(
        "bash", "-euo", "pipefail", "-c", f"{bootstrap}\nuv --version", cwd=checkout, env={**os.environ, "PATH": path}
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split()[:2] == ["uv", pinned_requirements()["uv"].split("==")[1]]


def test_readme_quickstart_trial_runs_as_printed_and_updates(released: Released, tmp_path: Path) -> None:
    """The trial copy with uvx, as printed, from a checkout with its tags; then the next release
    arrives with the printed update. uvx gets Copier from PyPI, held to the version these tests
    pin (UV_CONSTRAINT), so that the run is reproducible."""
    [(copy, update)] = [block for block in quickstart_blocks() if any('"$PWD"' in line for line in block)]
    assert copy.startswith("uvx copier copy --trust ") and "uvx copier update --trust" in update
    checkout = tmp_path / "gar-template"
    run("git", "clone", "--quiet", released.path, checkout)  # a clone from GitHub has the tags
    constraint = tmp_path / "constraint.txt"
    constraint.write_text(pinned_requirements()["copier"] + "\n")
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ["PATH"]]), "UV_CONSTRAINT": str(constraint)}

    copied = attempt("bash", "-c", copy, cwd=checkout, env=env)
    assert copied.returncode == 0, copied.stderr
    project = tmp_path / "my-package"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == released.latest and answers["_src_path"] == str(checkout)
    assert git(project, "tag", "--points-at", "HEAD") == "v0.1.0"

    # The checkout gets a newer release: a template change, its changelog heading, its tag.
    major, minor, _ = map(int, released.latest.removeprefix("v").split("."))
    version = f"{major}.{minor + 1}.0"
    edit(checkout / "template/README.md.jinja", "## Develop\n", "## Develop\n\nThe next release says hello.\n")
    edit(
        checkout / "CHANGELOG.md", "## [Unreleased]\n", f"## [Unreleased]\n\n## [{version}] - 2026-12-31\n\n- Hello.\n"
    )
    commit(checkout, f"Release {version}", "--all")
    assert release_tool("tag", cwd=checkout).returncode == 0

    updated = attempt("bash", "-c", update, cwd=checkout, env=env)
    assert updated.returncode == 0, updated.stderr
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == f"v{version}"
    assert "The next release says hello." in (project / "README.md").read_text()


def data(answers: dict[str, object]) -> list[str]:
    """An answer set as `--data KEY=VALUE` arguments."""
    pairs = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in answers.items()]
    return [argument for pair in pairs for argument in ("--data", pair)]


def tree(project: Path) -> dict[str, tuple[bool, bytes]]:
    """Every file outside .git: (executable, content); the answers file without its `_commit`."""
    found = {}
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if relative.parts[0] == ".git" or not path.is_file():
            continue
        content = path.read_bytes()
        if relative.as_posix() == ".copier-answers.yml":
            content = re.sub(rb"(?m)^_commit: .*\n", b"", content)
        found[relative.as_posix()] = (os.access(path, os.X_OK), content)
    return found


@pytest.mark.parametrize("answer_set", UPDATED_SETS)
def test_every_release_updates_to_head_as_a_fresh_copy(released: Released, answer_set: str, tmp_path: Path) -> None:
    """For each release: copy at it, commit, `copier update` to HEAD; the files equal those of a fresh
    copy at HEAD with the same answers: the ones the updated project records (an update keeps an
    answer recorded at the release, a default the template has changed since included)."""
    given = data(ANSWER_SETS[answer_set])
    head = git(released.path, "rev-parse", "HEAD")
    # A release at HEAD itself has nothing to update to: its copy is the fresh copy.
    earlier = [tag for tag, commit_id in released.releases if commit_id != head]
    assert earlier, "no release before HEAD to update from"
    fresh_copies: dict[str, Path] = {}  # one fresh copy per set of recorded answers
    for tag in earlier:
        project = tmp_path / tag
        old = copier_cli("copy", "--trust", "--defaults", *given, "--vcs-ref", tag, released.path, project)
        assert old.returncode == 0, old.stderr
        assert git(project, "status", "--porcelain", "--untracked-files=all") == "", "the copy task committed it"
        carried_setup = (project / "scripts/setup_gcp.py").is_file()  # releases up to 0.2.0 copied it
        updated = copier_cli("update", "--trust", "--defaults", "--vcs-ref", "HEAD", cwd=project)
        assert updated.returncode == 0, updated.stdout + updated.stderr
        if carried_setup:
            said = " ".join(updated.stdout.split())
            setup = json.loads((project / "scripts/gcp_settings.json").read_text())["template"]["setup"]
            assert "the Google Cloud setup is no longer copied into the project" in said, said
            assert f"{setup} --check" in said, "the update prints the command that replaces the scripts"
        recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
        same = {key: value for key, value in recorded.items() if not key.startswith("_")}
        key = yaml.safe_dump(same, sort_keys=True)
        if key not in fresh_copies:
            fresh_copies[key] = tmp_path / f"fresh-{tag}"
            copied = copier_cli(
                "copy", "--trust", "--defaults", *data(same), "--vcs-ref", "HEAD", released.path, fresh_copies[key]
            )
            assert copied.returncode == 0, copied.stderr
        expected, got = tree(fresh_copies[key]), tree(project)
        assert sorted(got) == sorted(expected), f"{tag} -> HEAD: other files than a fresh copy"
        differing = [path for path in expected if got[path] != expected[path]]
        assert differing == [], f"{tag} -> HEAD differs from a fresh copy in {differing}"


def test_an_update_keeps_a_package_name_the_rules_now_refuse(released: Released, tmp_path: Path) -> None:
    """`test` shadows the standard library's test package: refused since after 0.2.0, which took it.
    Copier drops a recorded answer its validator refuses and derives the default again (which would
    rename the package under every consumer): the validator keeps the recorded one instead."""
    accepting = [tag for tag, _ in released.releases if tag in ("v0.1.0", "v0.2.0")]
    assert accepting, "a release that accepted the name"
    project = tmp_path / "project"
    copied = copier_cli(
        "copy", "--trust", "--defaults", "--data", "package_name=test", "--vcs-ref", accepting[-1],
        released.path, project,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    updated = copier_cli("update", "--trust", "--defaults", "--vcs-ref", "HEAD", cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["package_name"] == "test"
    assert (project / "src/test/__init__.py").is_file() and not (project / "src/test_pkg").exists()
    said = " ".join((updated.stdout + updated.stderr).split())
    assert "package_name 'test' is kept" in said and "standard library installs its own 'test'" in said
    refused = copier_cli(
        "copy", "--trust", "--defaults", "--data", "package_name=test", "--vcs-ref", "HEAD",
        released.path, tmp_path / "new",
    )  # fmt: skip
    assert refused.returncode == 1 and "standard-library name" in refused.stderr, "a new project may not take it"


def contributing_block(containing: str) -> list[str]:
    guide = (TEMPLATE_ROOT / "CONTRIBUTING.md").read_text()
    section = guide.split("## Releasing the template\n", 1)[1].split("\n## ", 1)[0]
    blocks = [block.strip().splitlines() for block in re.findall(r"```bash\n(.*?)```", section, re.DOTALL)]
    [found] = [block for block in blocks if containing in "\n".join(block)]
    return found


def test_contributing_release_commands_run_as_printed(released: Released, tmp_path: Path) -> None:
    """list, tag and notes in a clone without tags, each line as CONTRIBUTING.md prints it."""
    clone = tmp_path / "clone"
    run("git", "clone", "--quiet", "--no-tags", released.path, clone)
    env = {**os.environ, **TAGGER}
    listed, tagged, noted = (
        attempt("bash", "-c", line, cwd=clone, env=env) for line in contributing_block("release.py")
    )
    assert listed.returncode == tagged.returncode == noted.returncode == 0, listed.stderr + tagged.stderr + noted.stderr
    assert [tuple(line.split()) for line in listed.stdout.splitlines()] == released.releases
    assert git(clone, "tag").split() == [tag for tag, _ in released.releases]
    assert noted.stdout == section(clone, released.releases[0][1], "0.1.0")


def test_contributing_trial_of_unreleased_work_copies_head(released: Released, tmp_path: Path) -> None:
    [trial] = contributing_block("--vcs-ref HEAD")
    checkout = tmp_path / "gar-template"
    run("git", "clone", "--quiet", released.path, checkout)
    (checkout / ".venv").mkdir()  # what README.md's install command makes (a directory: .gitignore'd)
    (checkout / ".venv/bin").symlink_to(BIN)
    edit(checkout / "template/README.md.jinja", "## Develop\n", "## Develop\n\nUnreleased work.\n")
    commit(checkout, "Unreleased work", "--all")
    run("bash", "-c", trial, cwd=checkout)
    project = tmp_path / "my-trial"
    assert "Unreleased work." in (project / "README.md").read_text()
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"]
    assert recorded == git(checkout, "describe", "--tags") != released.latest, "HEAD, not the latest release"
