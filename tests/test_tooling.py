"""Generated projects are green under their own linter, formatter and type checker as generated.

The tools run with the versions pinned in requirements-dev.txt and the generated pyproject's own
configuration; caches go outside the project so that nothing new appears in its tree.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from helpers import TEMPLATE_ROOT, Generated, tool


def passes(name: str, *args: str | Path, cwd: Path) -> None:
    result = tool(name, *args, cwd=cwd)
    assert result.returncode == 0, f"{name} {' '.join(map(str, args))}\n{result.stdout}{result.stderr}"


def test_ruff_check_passes(project: Generated) -> None:
    passes("ruff", "check", "--no-cache", ".", cwd=project.path)


def test_ruff_format_check_passes(project: Generated) -> None:
    passes("ruff", "format", "--check", "--no-cache", ".", cwd=project.path)


def test_mypy_strict_passes(project: Generated, tmp_path: Path) -> None:
    passes("mypy", "--cache-dir", tmp_path / "mypy-cache", cwd=project.path)


def test_pre_commit_config_is_valid(project: Generated) -> None:
    passes("pre-commit", "validate-config", ".pre-commit-config.yaml", cwd=project.path)


def test_lint_job_runs_the_same_tools(project: Generated) -> None:
    """The lint job runs nox, whose sessions run the same tools (tests/test_first_run.py runs them)."""
    workflow = (project.path / ".github/workflows/test.yml").read_text()
    assert "uv run --no-sync nox\n" in workflow
    noxfile = (project.path / "noxfile.py").read_text()
    for command in ('"ruff", "check"', '"ruff", "format", "--check"', '"mypy"', '"pytest"'):
        assert command in noxfile


def test_this_repository_is_lint_clean() -> None:
    """The template's own Python (hooks, tests, benchmarks) follows the same tools."""
    passes("ruff", "check", "--no-cache", ".", cwd=TEMPLATE_ROOT)
    passes("ruff", "format", "--check", "--no-cache", ".", cwd=TEMPLATE_ROOT)


def test_the_readme_documents_every_question() -> None:
    """Each asked question has a row in README.md's Questions table, and one in "What is validated"
    when it has a rule (a pair such as `gcp_workload_identity_pool`, `_provider` shares a row)."""
    readme = (TEMPLATE_ROOT / "README.md").read_text()
    questions, validated = readme.split("## Questions\n", 1)[1].split("\n## ", 1)[0].split("### What is validated", 1)
    spec = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    for key, question in spec.items():
        if key.startswith("_") or not isinstance(question, dict) or question.get("when") is False:
            continue
        assert f"`{key}`" in questions, f"{key} is missing from the Questions table"
        if "validator" in question or "choices" in question:
            assert f"`{key}`" in validated or f"`_{key.rsplit('_', 1)[1]}`" in validated, key
