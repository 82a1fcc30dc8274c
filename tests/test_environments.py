"""Copying in the environments users really have: each one works, or fails saying what to do.

conftest.py already runs every test with an empty HOME and no git identity; these tests vary
the rest: what is in the destination, the network, HOME itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import (
    TEMPLATE_ROOT,
    copier_cli,
    default,
    existing_repository,
    git,
    markdown_section,
    prose_too_wide,
    table_rows,
    working_tree_clone,
)

PROJECT_NAME = default("project_name")


def copy_template(
    destination: Path,
    *args: str,
    env: dict[str, str] | None = None,
    prefix: tuple[str, ...] = (),
    template: Path = TEMPLATE_ROOT,
) -> subprocess.CompletedProcess[str]:
    return copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", *args, template, destination, env=env, prefix=prefix
    )


def recorded(project: Path) -> tuple[str, str, str]:
    return git(project, "rev-list", "--count", "HEAD"), git(project, "tag"), git(project, "status", "--porcelain")


def test_no_git_identity_is_configured_and_the_copy_still_commits(tmp_path: Path) -> None:
    identity = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True, check=False)
    assert identity.returncode != 0, "the test environment must have no git identity"
    result = copy_template(tmp_path / "project")
    assert result.returncode == 0, result.stderr
    assert recorded(tmp_path / "project") == ("1", "v0.1.0", "")


def test_files_already_in_the_destination_stay_out_of_the_first_commit(tmp_path: Path) -> None:
    destination = tmp_path / "project"
    destination.mkdir()
    (destination / "notes.txt").write_text("mine\n")
    result = copy_template(destination)
    assert result.returncode == 0, result.stderr
    assert "not part of the first commit: notes.txt" in " ".join(result.stderr.split())
    assert git(destination, "status", "--porcelain") == "?? notes.txt"
    assert "notes.txt" not in git(destination, "ls-files")


def test_a_file_in_the_way_is_not_overwritten_without_permission(tmp_path: Path) -> None:
    destination = tmp_path / "project"
    destination.mkdir()
    (destination / "README.md").write_text("my own readme\n")
    refused = copy_template(destination)
    assert refused.returncode != 0
    assert "--overwrite" in refused.stderr
    assert (destination / "README.md").read_text() == "my own readme\n"
    assert not (destination / ".git").exists()

    allowed = copy_template(destination, "--overwrite")
    assert allowed.returncode == 0, allowed.stderr
    assert (destination / "README.md").read_text().startswith(f"# {PROJECT_NAME}")
    assert recorded(destination) == ("1", "v0.1.0", "")


def test_the_same_copy_twice_changes_nothing(tmp_path: Path) -> None:
    # From a clean clone: copying from a work tree with changes records a new draft commit each time.
    template = working_tree_clone(tmp_path / "template")
    destination = tmp_path / "project"
    assert copy_template(destination, template=template).returncode == 0
    before = (*recorded(destination), git(destination, "rev-parse", "v0.1.0"))
    again = copy_template(destination, "--overwrite", template=template)
    assert again.returncode == 0, again.stderr
    assert "history and tags were left untouched" in again.stderr
    assert (*recorded(destination), git(destination, "rev-parse", "v0.1.0")) == before
    # The tag is there and may be published: no tag command, neither one that fails nor one that moves it.
    said = " ".join((again.stdout + again.stderr).split())
    assert "Step 3 makes no tag: v0.1.0 exists in this repository already" in said
    assert "git tag" not in said


def test_a_repository_root_with_history_keeps_its_history_and_tags(tmp_path: Path) -> None:
    destination = tmp_path / "existing"
    before = existing_repository(destination, branch="main", file="LICENSE.txt")
    result = copy_template(destination)
    assert result.returncode == 0, result.stderr
    assert "Step 3 makes no tag: v0.1.0 exists" in " ".join(result.stderr.split()), "their tag is never moved"
    assert "git tag" not in result.stdout + result.stderr
    assert (git(destination, "rev-parse", "HEAD"), git(destination, "rev-parse", "v0.1.0")) == before


def test_a_repository_without_the_tag_gets_a_tag_command_that_moves_nothing(tmp_path: Path) -> None:
    destination = tmp_path / "untagged"
    existing_repository(destination, branch="main", file="LICENSE.txt")
    git(destination, "tag", "-d", "v0.1.0")
    result = copy_template(destination)
    assert result.returncode == 0, result.stderr
    [command] = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("git tag")]
    assert command == "git tag -a v0.1.0 -m 'Release 0.1.0' && git push origin v0.1.0"


@pytest.mark.skipif(
    shutil.which("unshare") is None or subprocess.run(["unshare", "--net", "true"], check=False).returncode != 0,
    reason="needs unshare --net (root or user namespaces)",
)
def test_copy_and_tasks_need_no_network(tmp_path: Path) -> None:
    result = copy_template(tmp_path / "project", prefix=("unshare", "--net"))
    assert result.returncode == 0, result.stderr
    assert recorded(tmp_path / "project") == ("1", "v0.1.0", "")


@pytest.mark.parametrize("home", [None, "/nonexistent/dir with spaces/Zoë"], ids=["unset", "missing-non-ascii"])
def test_an_unusual_home_does_not_matter(tmp_path: Path, home: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "COPIER_SETTINGS_PATH", "XDG_CONFIG_HOME")}
    if home is not None:
        env["HOME"] = home
    result = copy_template(tmp_path / "project", env=env)
    assert result.returncode == 0, result.stderr
    assert recorded(tmp_path / "project") == ("1", "v0.1.0", "")


# Each situation of README.md's "Environments" table, and the test that shows it.
SITUATIONS = {
    "no git identity configured": "test_no_git_identity_is_configured_and_the_copy_still_commits",
    "a git identity configured (`user.name` and `user.email`)": (
        "test_git_history.test_a_configured_git_identity_is_used_rather_than_the_author_answers"
    ),
    "no git on PATH": "test_git_history.test_without_git_on_path_the_files_stay_and_the_message_says_what_to_do",
    "destination below the root of another repository (a monorepo's `packages/sub-pkg`)": (
        "test_git_history.test_below_another_repositorys_root_the_copy_is_refused_and_leaves_nothing",
        "test_git_history.test_below_another_repositorys_root_an_existing_directory_gets_its_files_back",
    ),
    "destination is the root of an existing repository (a clone with history, the same copy twice)": (
        "test_a_repository_root_with_history_keeps_its_history_and_tags"
    ),
    "destination not empty": "test_files_already_in_the_destination_stay_out_of_the_first_commit",
    "a file in the way (e.g. your own `README.md`)": "test_a_file_in_the_way_is_not_overwritten_without_permission",
    "the same copy twice": "test_the_same_copy_twice_changes_nothing",
    "no network at all (`unshare --net`)": "test_copy_and_tasks_need_no_network",
    "no GitHub access (a proxy, an air gap)": "test_first_run.test_pre_commit_runs_the_locked_tools_with_no_network",
    "`HOME` unset, or a missing path with spaces and non-ASCII letters": "test_an_unusual_home_does_not_matter",
    "the template named by a relative path (`copier copy . ../pkg`)": "test_a_relative_template_path_is_reported",
}


def test_a_relative_template_path_is_reported(tmp_path: Path) -> None:
    """`_src_path: .` in the answers: the setup line the README renders from it names the project
    itself, so the task says so, at 80 columns; an absolute path gets no such line."""
    template = working_tree_clone(tmp_path / "gar-template")
    relative = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", ".", tmp_path / "relative", cwd=template
    )  # fmt: skip
    assert relative.returncode == 0, relative.stderr
    assert yaml.safe_load((tmp_path / "relative/.copier-answers.yml").read_text())["_src_path"] == "."
    said = " ".join(relative.stderr.split())
    assert "Copier recorded the template as '.', a path relative to where you ran it" in said, said
    assert "by its full path" in said
    assert prose_too_wide(relative.stderr, tmp_path / "relative") == []
    absolute = copy_template(tmp_path / "absolute", template=template)
    assert absolute.returncode == 0, absolute.stderr
    assert "Copier recorded the template as" not in absolute.stderr


def test_every_situation_of_the_environments_table_has_its_test() -> None:
    page = (TEMPLATE_ROOT / "docs/copying.md").read_text()
    rows = table_rows(markdown_section(page, "## Environments"))
    assert [row["situation"] for row in rows] == list(SITUATIONS), "the table and SITUATIONS list the same rows"
    for tests in SITUATIONS.values():
        for test in (tests,) if isinstance(tests, str) else tests:
            module, _, name = test.rpartition(".")
            source = (TEMPLATE_ROOT / "tests" / f"{module or 'test_environments'}.py").read_text()
            assert f"\ndef {name}(" in source, f"{test} does not exist"
