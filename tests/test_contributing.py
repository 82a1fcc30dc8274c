"""CONTRIBUTING.md cannot drift from the repository, and the initial-commit task's limits hold.

The map is CONTRIBUTING's "Layout" tree plus every repository path the guide names in backticks
(`tests/helpers.py`, or a test module by its file name). Both are checked against `git ls-files`:
what it names exists, every top-level file and folder is in the tree, and every file under tests/
and hooks/ is named somewhere. A file added without a line in CONTRIBUTING fails here by name.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import PurePosixPath

import pytest
import yaml
from helpers import TEMPLATE_ROOT, Generated, code_blocks, git, markdown_section, run

CONTRIBUTING = (TEMPLATE_ROOT / "CONTRIBUTING.md").read_text()
# Tree lines: "name  # why", indented by "├── ", "└── ", "│   " or four spaces per level.
TREE_LINE = re.compile(r"^((?:[├└]── |│   |    )*)(\S+)")
# Backticked paths in the repository's own folders; bare module names stand for tests/ or hooks/.
REPOSITORY_PATH = re.compile(r"`((?:tests|hooks|includes|benchmarks|template|\.ci)/[^`\s]*|[\w.]+\.py)`")


def tracked() -> list[str]:
    return run("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=TEMPLATE_ROOT).splitlines()


def layout_paths() -> list[str]:
    """Every path the Layout tree names, folders ending in `/`."""
    [tree] = code_blocks(markdown_section(CONTRIBUTING, "## Layout"))
    paths: list[str] = []
    folders: list[str] = []  # the folder open at each depth
    for line in tree.splitlines():
        match = TREE_LINE.match(line)
        if not match:
            continue
        depth = len(match.group(1)) // 4
        path = "".join(folders[:depth]) + match.group(2)
        folders[depth:] = [path] if path.endswith("/") else []
        paths.append(path)
    return paths


def prose_paths(files: list[str]) -> list[str]:
    """The repository paths CONTRIBUTING names in backticks, bare module names resolved."""
    named = []
    for token in REPOSITORY_PATH.findall(CONTRIBUTING):
        if "/" not in token:
            candidates = [f for f in files if f in (f"tests/{token}", f"hooks/{token}")]
            assert candidates, f"CONTRIBUTING.md names {token}, which is neither in tests/ nor in hooks/"
            token = candidates[0]
        named.append(token)
    return named


def exists(path: str, files: list[str]) -> bool:
    return path in files or any(f.startswith(path.rstrip("/") + "/") for f in files)


def test_everything_the_map_names_exists() -> None:
    files = tracked()
    missing = [path for path in layout_paths() + prose_paths(files) if not exists(path, files)]
    assert missing == [], f"CONTRIBUTING.md names what the repository does not hold: {missing}"


def test_the_layout_names_every_top_level_file_and_folder() -> None:
    named = {path.rstrip("/").split("/")[0] for path in layout_paths()}
    top_level = {path.split("/")[0] for path in tracked()}
    assert sorted(top_level - named) == [], "add these to CONTRIBUTING.md's Layout"


@pytest.mark.parametrize("folder", ["tests", "hooks"])
def test_contributing_names_every_file_of(folder: str) -> None:
    files = tracked()
    named = set(layout_paths()) | set(prose_paths(files))
    unnamed = [f for f in files if f.startswith(f"{folder}/") and f not in named]
    assert unnamed == [], "say in CONTRIBUTING.md what each of these files is for"


# --- The initial-commit task's reading of file names (CONTRIBUTING, "File names in template/") ----


@pytest.fixture
def task(monkeypatch: pytest.MonkeyPatch):
    """hooks/record_initial_commit.py as a module, its folder first on sys.path as when Copier runs it."""
    monkeypatch.syspath_prepend(str(TEMPLATE_ROOT / "hooks"))
    spec = importlib.util.spec_from_file_location(
        "record_initial_commit", TEMPLATE_ROOT / "hooks/record_initial_commit.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_file_name_in_the_template_is_one_the_task_can_render(task) -> None:
    names = {part for f in tracked() if f.startswith("template/") for part in PurePosixPath(f).parts[1:]}
    with_jinja = sorted(name for name in names if "{" in name or "%" in name)
    assert with_jinja, "the template has rendered names: this test checks them"
    for name in with_jinja:
        rest = task.ANSWER_IN_NAME.sub("", task.CONDITIONAL_NAME.sub(r"\2", name))
        assert not re.search(r"[{}%]", rest), f"{name}: not a pattern CONTRIBUTING documents"


def test_the_task_reads_copiers_own_settings(task) -> None:
    """The settings the task parses (those before the first question) are copier.yml's."""
    spec = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    subdirectory, exclude = task.template_settings(TEMPLATE_ROOT)
    assert subdirectory == TEMPLATE_ROOT / spec["_subdirectory"]
    assert exclude == spec["_exclude"] and exclude


def test_the_task_commits_exactly_what_copier_rendered(task, project: Generated) -> None:
    """The task's reading of the names, for each answer set, is Copier's: the first commit holds
    every file of the project and nothing else."""
    committed = git(project.path, "ls-files").splitlines()
    assert task.rendered_files(TEMPLATE_ROOT, project.answers, ".copier-answers.yml") == sorted(committed)
    assert sorted(str(p.relative_to(project.path)) for p in project.files()) == sorted(committed)
