"""`copier update` and `copier recopy` on a project with its owner's work in it.

The `update_setup` fixture (conftest.py) tags a temporary clone of this template v0.1.0, copies
a project from that tag in which its owner commits work (edits to template-owned files and files
of their own), then changes the template and tags it v0.2.0. Each test updates its own clone of
that project with the real CLI.
"""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import TEMPLATE_ROOT, UpdateSetup, commit, copier_cli, edit, git, overlapping_edit, run


def files_with(project: Path, text: str) -> list[str]:
    found = subprocess.run(
        ["git", "grep", "-l", "--untracked", "-F", text], cwd=project, capture_output=True, text=True
    )
    return found.stdout.split()


def test_update_brings_template_changes_and_keeps_the_owners_work(update_setup: UpdateSetup, tmp_path: Path) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    commits, tags = git(project, "rev-list", "--count", "HEAD"), git(project, "tag")
    result = copier_cli("update", "--trust", "--defaults", cwd=project)
    assert result.returncode == 0, result.stderr

    readme = (project / "README.md").read_text()
    assert "Template v0.2.0 says hello." in readme
    assert "Ask #data-platform for access first." in readme
    assert (project / "CONTRIBUTING.md").read_text() == "Contributions welcome.\n"
    assert (project / "NOTES.md").is_file() and (project / "src/my_package/extra.py").is_file()
    assert list(project.rglob("*.rej")) == []
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0"
    # The initial-commit task runs on copy only: the update made no commit and no tag.
    assert (git(project, "rev-list", "--count", "HEAD"), git(project, "tag")) == (commits, tags)
    assert "initialised git" not in result.stdout + result.stderr


def test_changing_an_answer_rewrites_every_place_that_uses_it(update_setup: UpdateSetup, tmp_path: Path) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    users = files_with(project, "us-central1")
    assert {"README.md", ".github/workflows/publish.yml", "scripts/gcp_settings.json"} <= set(users)
    result = copier_cli("update", "--trust", "--defaults", "--data", "gcp_location=europe-west1", cwd=project)
    assert result.returncode == 0, result.stderr
    assert files_with(project, "us-central1") == []
    assert set(users) <= set(files_with(project, "europe-west1"))

    # The Google Cloud side does not follow by itself: the migration says what to run again.
    message = result.stdout[result.stdout.index("gar-template: this update changed answers") :]
    changes = [line.strip() for line in message.splitlines() if " -> " in line]
    assert changes == ["gcp_location: us-central1 -> europe-west1 (the location of the Artifact Registry repository)"]
    commands = [line.strip() for line in message.splitlines() if line.startswith("  python3 ")]
    assert commands == ["python3 scripts/setup_gcp.py --dry-run", "python3 scripts/setup_gcp.py"]
    # The dry run, as printed, plans the repository in the new location.
    dry_run = run(*shlex.split(commands[0]), cwd=project)
    assert "--location=europe-west1" in dry_run or "--location europe-west1" in dry_run, dry_run


def test_an_update_that_changes_no_google_cloud_answer_says_nothing_about_it(
    update_setup: UpdateSetup, tmp_path: Path
) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    result = copier_cli("update", "--trust", "--defaults", "--data", "description=Now with ledgers.", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "setup_gcp.py" not in result.stdout + result.stderr


def test_overlapping_edits_fail_the_update_and_name_the_file_with_nothing_lost(
    update_setup: UpdateSetup, tmp_path: Path
) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    overlapping_edit(project)
    # A conflict marker the owner keeps on purpose, committed before the update, is not a conflict.
    (project / "docs.md").write_text("How a conflict looks:\n<<<<<<< ours\n=======\n>>>>>>> theirs\n")
    git(project, "add", "docs.md")
    commit(project, "Owner documents conflicts")
    result = copier_cli("update", "--trust", "--defaults", cwd=project)
    assert result.returncode != 0, "Copier alone exits 0 with conflicts left"
    listed = result.stderr[result.stderr.index("the update left conflicts in these files:") :].splitlines()
    assert listed[1:3] == [
        "  README.md",
        "Nothing was lost or rolled back: each conflict holds both sides, "
        "between '<<<<<<< before updating' and '>>>>>>> after updating' (a .rej file holds the "
        "template's change that did not apply). Resolve them, delete any .rej file, then "
        "review with `git diff` and commit.",
    ]
    # The failing migration rolled nothing back: both sides, the rest of the update, the owner's files.
    readme = (project / "README.md").read_text()
    assert "<<<<<<< before updating" in readme and ">>>>>>> after updating" in readme
    assert "Owner's own line." in readme and "Template v0.2.0 says hello." in readme
    assert (project / "CONTRIBUTING.md").is_file() and "as of template v0.2.0" in (
        project / "src/my_package/ops.py"
    ).read_text()
    assert (project / "NOTES.md").is_file() and (project / "src/my_package/extra.py").is_file()
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v0.2.0"
    assert list(project.rglob("*.rej")) == []


def test_rejected_hunks_fail_the_update_and_name_the_rej_file(update_setup: UpdateSetup, tmp_path: Path) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    overlapping_edit(project)
    result = copier_cli("update", "--trust", "--defaults", "--conflict", "rej", cwd=project)
    assert result.returncode != 0
    assert "  README.md.rej\n" in result.stderr
    assert (project / "README.md.rej").is_file()


def test_renaming_the_package_carries_the_owners_files_over(update_setup: UpdateSetup, tmp_path: Path) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    edit(
        project / "src/my_package/ops.py",
        '"""Return the product of a and b."""',
        '"""Multiply: the owner\'s docstring."""',
    )
    commit(project, "Owner edits a template file", "--all")
    result = copier_cli("update", "--trust", "--defaults", "--data", "package_name=ledger", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "package renamed from my_package to ledger" in result.stdout

    assert not (project / "src/my_package").exists()
    extra = (project / "src/ledger/extra.py").read_text()
    assert extra.startswith("from ledger.ops import add")
    ops = (project / "src/ledger/ops.py").read_text()
    # A three-way merge against the old template version keeps both sides' changes.
    assert "Multiply: the owner's docstring." in ops, "the owner's edit is kept"
    assert "as of template v0.2.0" in ops, "the template's change arrives"
    assert "<<<<<<<" not in ops
    assert "merged: src/ledger/ops.py" in result.stdout
    assert "from ledger import add, multiply" in (project / "tests/test_ops.py").read_text()


def test_update_without_rename_leaves_the_package_alone(update_setup: UpdateSetup, tmp_path: Path) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    result = copier_cli("update", "--trust", "--defaults", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "package renamed" not in result.stdout
    # The template's change to ops.py arrives in place; nothing is moved, added or deleted.
    assert git(project, "status", "--porcelain", "--", "src") == "M src/my_package/ops.py"


def test_recopy_regenerates_from_the_answers_without_touching_git_history(
    update_setup: UpdateSetup, tmp_path: Path
) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    (project / "LICENSE").unlink()
    commit(project, "Owner deletes the license", "--all")
    commits, tags = git(project, "rev-list", "--count", "HEAD"), git(project, "tag")
    result = copier_cli("recopy", "--trust", "--defaults", "--overwrite", cwd=project)
    assert result.returncode == 0, result.stderr
    # Recopy renders the template afresh: the deleted file is back, the answers are kept.
    assert (project / "LICENSE").is_file()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["package_name"] == "my_package" and answers["_commit"] == "v0.2.0"
    # Recopy is a copy to Copier; the task sees an existing repository and leaves it alone.
    assert (git(project, "rev-list", "--count", "HEAD"), git(project, "tag")) == (commits, tags)
    assert "history and tags were left untouched" in result.stderr


def test_without_trust_the_update_is_refused_and_nothing_changes(update_setup: UpdateSetup, tmp_path: Path) -> None:
    """What the hosted Renovate app runs (its copier manager's command, without --trust)."""
    project = update_setup.fresh_project(tmp_path / "project")
    result = copier_cli("update", "--skip-answered", "--defaults", "--vcs-ref", "v0.2.0", cwd=project)
    assert result.returncode == 4
    assert "Template uses potentially unsafe features: migrations, tasks." in result.stderr
    assert git(project, "status", "--porcelain") == ""


def test_answers_without_a_template_version_give_a_clear_error() -> None:
    """The rename's merge base needs `_commit`; its absence is named, not rendered as "None"."""
    spec = importlib.util.spec_from_file_location("copier_answers", TEMPLATE_ROOT / "hooks" / "copier_answers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(ValueError, match=r"records no template version \(_commit\)"):
        module.template_version({"_src_path": "gh:org/gar-template"}, ".copier-answers.yml")
    assert module.template_version({"_commit": "v0.2.0"}, ".copier-answers.yml") == "v0.2.0"
