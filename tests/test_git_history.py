"""The post-generation task records the project in git: one commit, one tag, a clean tree.

conftest.py gives every test an empty HOME and global git config, so these also prove the task
works where no git identity is configured.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from helpers import TEMPLATE_ROOT, Generated, commit, copier_cli, default, existing_repository, git, plain_template

AUTHOR = default("author_name")
PACKAGE = default("package_name")


def test_exactly_one_commit_tagged_with_the_initial_version(project: Generated) -> None:
    assert git(project.path, "rev-list", "--count", "HEAD") == "1"
    assert git(project.path, "branch", "--show-current") == "main"
    tag = f"v{project.answers['initial_version']}"
    assert git(project.path, "tag", "--points-at", "HEAD") == tag
    assert git(project.path, "cat-file", "-t", tag) == "tag", "the tag must be annotated"
    assert git(project.path, "status", "--porcelain", "--untracked-files=all") == ""


def test_commit_and_tag_are_by_the_author_answers(project: Generated) -> None:
    expected = f"{project.answers['author_name']} <{project.answers['author_email']}>"
    assert git(project.path, "log", "-1", "--format=%an <%ae>") == expected
    assert git(project.path, "log", "-1", "--format=%cn <%ce>") == expected
    tag = f"v{project.answers['initial_version']}"
    assert git(project.path, "tag", "-l", "--format=%(taggername) %(taggeremail)", tag) == expected


def test_a_configured_git_identity_is_used_rather_than_the_author_answers(tmp_path: Path) -> None:
    """Whoever records the project commits it as themselves; the answers only fill a gap."""
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Grace Hopper\n\temail = grace@example.net\n")
    destination = tmp_path / "project"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(config)}
    result = copier_cli("copy", "--trust", "--defaults", plain_template(tmp_path / "template"), destination, env=env)
    assert result.returncode == 0, result.stderr
    expected = "Grace Hopper <grace@example.net>"
    assert git(destination, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == f"{expected}|{expected}"
    assert git(destination, "tag", "-l", "--format=%(taggername) %(taggeremail)", "v0.1.0") == expected
    # The author answers still fill the package metadata.
    assert f'name = "{AUTHOR}"' in (destination / "pyproject.toml").read_text()


def test_no_git_config_was_written(project: Generated) -> None:
    assert Path(os.environ["GIT_CONFIG_GLOBAL"]).read_text() == ""
    local = git(project.path, "config", "--local", "--list")
    assert "user." not in local


def test_gitignore_hides_only_build_artefacts(project: Generated) -> None:
    """A rendered file that .gitignore matched would silently be left out of the first commit."""
    ignored = git(project.path, "ls-files", "--others", "--ignored", "--exclude-standard").splitlines()
    artefacts = re.compile(r"src/[^/]+/_version\.py|src/[^/]+\.egg-info/.*|build/.*|(.*/)?__pycache__/.*")
    assert [path for path in ignored if not artefacts.fullmatch(path)] == []


def test_without_git_on_path_the_files_stay_and_the_message_says_what_to_do(tmp_path: Path) -> None:
    no_git = tmp_path / "empty-bin"
    no_git.mkdir()
    destination = tmp_path / "project"
    without_git = {**os.environ, "PATH": str(no_git)}
    result = copier_cli(
        "copy", "--trust", "--defaults", plain_template(tmp_path / "template"), destination, env=without_git
    )
    assert result.returncode == 0, result.stderr
    assert "git is not on PATH" in result.stderr
    assert "git tag -a v0.1.0" in result.stderr
    assert (destination / "pyproject.toml").is_file()
    assert (destination / "src" / PACKAGE / "ops.py").is_file()
    assert not (destination / ".git").exists()


def test_below_another_repositorys_root_the_copy_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    outer = tmp_path / "monorepo"
    before = existing_repository(outer, branch="trunk", file="NOTES.md")

    destination = outer / "packages" / "sub-pkg"
    result = copier_cli("copy", "--trust", "--defaults", "--vcs-ref", "HEAD", TEMPLATE_ROOT, destination)
    assert result.returncode == 1
    assert f"refused: {destination} is inside the git repository {outer}." in " ".join(result.stderr.split())
    assert "copy it to a directory outside that repository" in " ".join(result.stderr.split())
    assert "is ready in" not in result.stdout + result.stderr, "no message after a refused copy"
    assert (git(outer, "rev-parse", "HEAD"), git(outer, "rev-parse", "v0.1.0")) == before
    assert git(outer, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (outer / "packages").exists()


def test_below_another_repositorys_root_an_existing_directory_gets_its_files_back(tmp_path: Path) -> None:
    """The directory was there, with a file the repository tracks (replaced with --overwrite) and
    an untracked file of the owner's: both stay as they were, and nothing else is left."""
    outer = tmp_path / "monorepo"
    existing_repository(outer, branch="main", file="NOTES.md")
    destination = outer / "packages" / "sub-pkg"
    destination.mkdir(parents=True)
    (destination / "README.md").write_text("tracked readme\n")
    git(outer, "add", "packages/sub-pkg/README.md")
    commit(outer, "sub-pkg readme")
    (destination / "scratch.txt").write_text("mine\n")

    result = copier_cli("copy", "--trust", "--defaults", "--overwrite", "--vcs-ref", "HEAD", TEMPLATE_ROOT, destination)
    assert result.returncode == 1
    assert "refused" in result.stderr
    assert sorted(p.name for p in destination.rglob("*")) == ["README.md", "scratch.txt"]
    assert (destination / "README.md").read_text() == "tracked readme\n"
    assert git(outer, "status", "--porcelain", "--untracked-files=all") == "?? packages/sub-pkg/scratch.txt"
