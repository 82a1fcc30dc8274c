"""`copier update` and `copier recopy` on a project with its owner's work in it.

The `update_setup` fixture (conftest.py) tags a temporary clone of this template v0.1.0, copies
a project from that tag in which its owner commits work (edits to template-owned files and files
of their own), then changes the template and tags it v0.2.0. Each test updates its own clone of
that project with the real CLI.

The `dropping_template` fixture (here) is a synthetic pair of template versions, the second of
which no longer renders two files and changes a dependency group: the migration deletes the
untouched file, keeps the edited one and lists both, and brings uv.lock up to date (or says to).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from helpers import (
    BIN,
    TEMPLATE_ROOT,
    UpdateSetup,
    attempt,
    commit,
    copier_cli,
    default,
    edit,
    git,
    overlapping_edit,
    prose_too_wide,
    run,
    working_tree_clone,
)

pytestmark = pytest.mark.long

PACKAGE = default("package_name")


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
    assert (project / "NOTES.md").is_file() and (project / f"src/{PACKAGE}/extra.py").is_file()
    assert list(project.rglob("*.rej")) == []
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0"
    # The initial-commit task runs on copy only: the update made no commit and no tag.
    assert (git(project, "rev-list", "--count", "HEAD"), git(project, "tag")) == (commits, tags)
    assert "initialised git" not in result.stdout + result.stderr


def test_changing_an_answer_rewrites_every_place_that_uses_it(update_setup: UpdateSetup, tmp_path: Path) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    before = default("gcp_location")
    after = "europe-west1" if before != "europe-west1" else "us-east1"
    users = files_with(project, before)
    assert {"README.md", ".github/workflows/publish.yml", "scripts/gcp_settings.json"} <= set(users)
    result = copier_cli("update", "--trust", "--defaults", "--data", f"gcp_location={after}", cwd=project)
    assert result.returncode == 0, result.stderr
    assert files_with(project, before) == []
    assert set(users) <= set(files_with(project, after))

    # The Google Cloud side does not follow by itself: the migration says what to run again.
    message = result.stdout[result.stdout.index("gar-template: this update changed answers") :]
    assert prose_too_wide(result.stdout + result.stderr, project) == []
    changes = re.findall(r"^  (\S.*?)(?=\n\S|\n {7}\S)", message, re.MULTILINE | re.DOTALL)
    assert [" ".join(change.split()) for change in changes] == [
        f"gcp_location: {before} -> {after} (the location of the Artifact Registry repository)"
    ]
    commands = [line.strip() for line in message.splitlines() if line.strip().startswith("uvx --from ")]
    setup = f"uvx --from git+file://{update_setup.template}@v0.2.0 gar-template-setup"
    assert commands == [f"{setup} --dry-run", setup], "the setup at the release the project now records"
    # The dry run, as printed, plans the repository in the new location.
    dry_run = run(*shlex.split(commands[0]), cwd=project)
    assert f"--location={after}" in dry_run or f"--location {after}" in dry_run, dry_run


def test_an_update_that_changes_no_google_cloud_answer_says_nothing_about_it(
    update_setup: UpdateSetup, tmp_path: Path
) -> None:
    project = update_setup.fresh_project(tmp_path / "project")
    result = copier_cli("update", "--trust", "--defaults", "--data", "description=Now with ledgers.", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "Run the Google Cloud setup again" not in " ".join((result.stdout + result.stderr).split())


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
    listed = result.stderr[result.stderr.index("the update left conflicts in these files:") :]
    assert listed.splitlines()[1] == "  README.md"
    assert " ".join(listed.split()[7:]).startswith(
        "README.md Nothing was lost or rolled back: each conflict holds both sides, "
        "between '<<<<<<< before updating' and '>>>>>>> after updating' (a .rej file holds the "
        "template's change that did not apply). Resolve them, delete any .rej file, then "
        "review with `git diff` and commit."
    )
    assert prose_too_wide(result.stderr, project) == []
    # The failing migration rolled nothing back: both sides, the rest of the update, the owner's files.
    readme = (project / "README.md").read_text()
    assert "<<<<<<< before updating" in readme and ">>>>>>> after updating" in readme
    assert "Owner's own line." in readme and "Template v0.2.0 says hello." in readme
    assert (project / "CONTRIBUTING.md").is_file() and "as of template v0.2.0" in (
        project / f"src/{PACKAGE}/ops.py"
    ).read_text()
    assert (project / "NOTES.md").is_file() and (project / f"src/{PACKAGE}/extra.py").is_file()
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
        project / f"src/{PACKAGE}/ops.py",
        '"""Return the product of a and b."""',
        '"""Multiply: the owner\'s docstring."""',
    )
    commit(project, "Owner edits a template file", "--all")
    result = copier_cli("update", "--trust", "--defaults", "--data", "package_name=ledger", cwd=project)
    assert result.returncode == 0, result.stderr
    assert f"package renamed from {PACKAGE} to ledger" in result.stdout

    assert not (project / f"src/{PACKAGE}").exists()
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
    assert git(project, "status", "--porcelain", "--", "src") == f"M src/{PACKAGE}/ops.py"


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
    assert answers["package_name"] == f"{PACKAGE}" and answers["_commit"] == "v0.2.0"
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


@dataclass
class DroppingTemplate:
    """A template v1.0.0 that renders two files and ignores two paths that v1.1.0 drops (v1.1.0
    also changes a dependency group), and a project copied at v1.0.0, locked with uv, one of the
    two files edited by its owner, and an untracked file under each ignored path."""

    template: Path
    project: Path


GUIDE, CHECKLIST = "notes/setup-guide.md", "notes/checklist.md"
VERSION_FILE, SCRATCH = f"src/{PACKAGE}/_version.py", "scratch/"
# What setuptools-scm writes into its version file.
SCM_VERSION_FILE = "# file generated by setuptools-scm\n# don't change, don't track in version control\n"
IGNORED_BY_OLD = "\n# An older setup\nsrc/*/_version.py\nscratch/\n"


def with_uv(present: bool) -> dict[str, str]:
    """The environment with this interpreter's tools (uv among them) first on PATH, or with no uv at all."""
    if present:
        return {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ["PATH"]])}
    path = os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if not shutil.which("uv", path=d))
    assert shutil.which("uv", path=path) is None
    return {**os.environ, "PATH": path}


@pytest.fixture(scope="module")
def dropping_template(tmp_path_factory: pytest.TempPathFactory) -> DroppingTemplate:
    root = tmp_path_factory.mktemp("dropping")
    template = root / "template"
    working_tree_clone(template)
    (template / "template/notes").mkdir()
    (template / "template" / GUIDE).write_text("How to set up.\n")
    (template / "template" / CHECKLIST).write_text("- [ ] set up\n")
    gitignore = template / "template/.gitignore"
    gitignore.write_text(gitignore.read_text() + IGNORED_BY_OLD)
    git(template, "add", "--all")
    commit(template, "A template that renders two more files and ignores two more paths")
    git(template, "tag", "v1.0.0")
    git(template, "rm", "--quiet", "-r", "template/notes")
    gitignore.write_text(gitignore.read_text().replace(IGNORED_BY_OLD, ""))
    edit(template / "template/pyproject.toml.jinja", 'test = ["pytest>=8"]', 'test = ["pytest>=8", "iniconfig>=2"]')
    commit(template, "The next template drops them and changes a dependency group", "--all")
    git(template, "tag", "v1.1.0")

    project = root / "project"
    copied = copier_cli("copy", "--trust", "--defaults", "--vcs-ref", "v1.0.0", template, project)
    assert copied.returncode == 0, copied.stderr
    assert (project / GUIDE).is_file() and (project / CHECKLIST).is_file()
    run("uv", "lock", "--quiet", cwd=project, env=with_uv(True))
    (project / GUIDE).write_text("How to set up.\nOur own step: ask #data-platform.\n")
    git(project, "add", "--all")
    commit(project, "Owner locks the dependencies and extends the guide")
    # Untracked, and hidden by the old .gitignore: a build's version file and the owner's scratch.
    (project / VERSION_FILE).write_text(SCM_VERSION_FILE + '__version__ = version = "1.0.0"\n')
    (project / SCRATCH).mkdir()
    (project / SCRATCH / "todo.txt").write_text("mine\n")
    assert run("git", "status", "--porcelain", cwd=project) == ""
    return DroppingTemplate(template, project)


def test_dropped_files_go_unless_edited_and_uv_lock_follows(
    dropping_template: DroppingTemplate, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(dropping_template.project, project, symlinks=True)
    env = with_uv(True)
    result = copier_cli("update", "--trust", "--defaults", cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"

    listed = " ".join(result.stdout[result.stdout.index("no longer renders these files:") :].split())
    assert listed.startswith(
        f"no longer renders these files: deleted (unchanged since the template made it): {CHECKLIST} "
        f"KEPT, you changed it: {GUIDE}"
    )
    assert prose_too_wide(result.stdout, project) == []
    assert not (project / CHECKLIST).exists()
    assert (project / GUIDE).read_text() == "How to set up.\nOur own step: ask #data-platform.\n"
    listed = " ".join(result.stdout[result.stdout.index("no longer hides these untracked files:") :].split())
    assert listed.startswith(
        f"no longer hides these untracked files: now shown by git status: {SCRATCH} (commit it, delete it, "
        "or ignore it yourself) deleted (setuptools-scm wrote it for an older setup; it would ship a stale "
        f"version): {VERSION_FILE}"
    )
    assert not (project / VERSION_FILE).exists() and (project / SCRATCH / "todo.txt").is_file()
    assert sorted(run("git", "status", "--porcelain", cwd=project).splitlines()) == [
        " D " + CHECKLIST,
        " M .copier-answers.yml",
        " M .gitignore",
        # The setup's line follows the template release the project records.
        " M README.md",
        " M docs/publishing.md",
        " M pyproject.toml",
        " M scripts/gcp_settings.json",
        " M uv.lock",
        "?? " + SCRATCH,
    ]
    assert "`uv lock` updated uv.lock" in " ".join(result.stdout.split())
    run("uv", "sync", "--locked", "--quiet", cwd=project, env=env)


def test_without_uv_the_update_says_to_run_uv_lock_as_needed(
    dropping_template: DroppingTemplate, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    run("git", "clone", "--quiet", dropping_template.project, project)
    result = copier_cli("update", "--trust", "--defaults", cwd=project, env=with_uv(False))
    assert result.returncode == 0, result.stderr
    assert git(project, "status", "--porcelain", "--", "uv.lock") == ""
    [command] = re.findall(r"uv\.lock is out of date: run `([^`]+)`", " ".join(result.stdout.split()))
    env = with_uv(True)
    stale = attempt("uv", "sync", "--locked", cwd=project, env=env)
    assert stale.returncode != 0 and "needs to be updated" in stale.stderr
    run(*shlex.split(command), cwd=project, env=env)
    run("uv", "lock", "--check", cwd=project, env=env)  # what `uv sync --locked` checks first
