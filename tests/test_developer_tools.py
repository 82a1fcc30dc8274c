"""The tools a developer of a generated project runs, as generated and as its README prints them.

Lint, format, types and pre-commit on every answer set; the uv route, repo-review and codespell;
the test workflow's lockfile handling; and this repository's own lint, quickstart and Questions
table. The tools run with the versions pinned in requirements-dev.txt and the generated
pyproject's own configuration; caches go outside the project so that nothing new appears in its
tree. The uv commands are read from the rendered README and run as printed, in a clone of the
shared generated project (uv writes `.venv` and `uv.lock`). uv's cache is the machine's
(tests/isolation.py), so after the first run these installs need no network and take about a second.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import workflow_steps
from helpers import (
    BIN,
    TEMPLATE_ROOT,
    Generated,
    code_blocks,
    commit,
    git,
    markdown_section,
    pinned_requirements,
    run,
    tool,
)

pytestmark = pytest.mark.long

# uv, uvx and the tools of this test environment first, then the machine's Pythons.
PATH = f"{BIN}{os.pathsep}{os.environ['PATH']}"


def passes(name: str, *args: str | Path, cwd: Path) -> None:
    result = tool(name, *args, cwd=cwd)
    assert result.returncode == 0, f"{name} {' '.join(map(str, args))}\n{result.stdout}{result.stderr}"


def test_ruff_check_passes(project: Generated) -> None:
    passes("ruff", "check", "--no-cache", ".", cwd=project.path)


def test_ruff_format_check_passes(project: Generated) -> None:
    passes("ruff", "format", "--check", "--no-cache", ".", cwd=project.path)


def test_ty_passes(project: Generated) -> None:
    # This environment has the project's test and nox dependencies that ty resolves imports in.
    passes("ty", "check", "--python", sys.executable, cwd=project.path)


def test_pre_commit_config_is_valid(project: Generated) -> None:
    passes("pre-commit", "validate-config", ".pre-commit-config.yaml", cwd=project.path)


def test_lint_job_runs_the_same_tools(project: Generated) -> None:
    """The lint job runs nox, whose sessions run the same tools (tests/test_first_run.py runs them)."""
    workflow = (project.path / ".github/workflows/test.yml").read_text()
    assert "uv run --no-sync nox\n" in workflow
    noxfile = (project.path / "noxfile.py").read_text()
    for command in ('"ruff", "check"', '"ruff", "format", "--check"', '"ty", "check"', '"pytest"'):
        assert command in noxfile


def test_this_repository_is_lint_clean() -> None:
    """The template's own Python (hooks, tests, benchmarks) follows the same tools."""
    passes("ruff", "check", "--no-cache", ".", cwd=TEMPLATE_ROOT)
    passes("ruff", "format", "--check", "--no-cache", ".", cwd=TEMPLATE_ROOT)


# --- The uv route, repo-review, spelling, the lockfile in CI ------------------------------------


def uv_block(text: str, prefix: str = "uv ") -> str:
    """The one bash block of `text` whose every command starts with `prefix`."""
    blocks = [b for b in code_blocks(text, "bash") if all(line.startswith(prefix) for line in b.splitlines())]
    assert len(blocks) == 1, text
    return blocks[0]


def run_as_printed(commands: str, cwd: Path, **extra_env: str) -> str:
    """Run README lines as a bash script, as a reader pasting them would (comments and all)."""
    script = cwd.parent / "readme-commands.sh"
    script.write_text(commands)
    env = {**os.environ, "PATH": PATH, **extra_env}
    return run("bash", "-eo", "pipefail", script, cwd=cwd, env=env)


def clone(project: Generated, tmp_path: Path) -> Path:
    destination = tmp_path / "clone"
    run("git", "clone", "--quiet", project.path, destination)
    return destination


def test_sp_repo_review_finds_no_failure_in_any_answer_set(all_projects: list[Generated]) -> None:
    result = tool("sp-repo-review", "--format", "json", *(p.path for p in all_projects))
    assert result.returncode == 0, result.stdout + result.stderr
    reports = json.loads(result.stdout)  # keyed by directory name
    assert len(reports) == len(all_projects)
    for project in all_projects:
        report = reports[project.path.name]
        failed = {name: check["err_msg"] for name, check in report["checks"].items() if check["result"] is False}
        assert failed == {}, project.name
        # repo-review drops an ignored check without a reason from its report: a silent skip.
        ignore = tomllib.loads((project.path / "pyproject.toml").read_text())["tool"]["repo-review"]["ignore"]
        assert isinstance(ignore, dict) and ignore, "ignores are a table of check: reason"
        assert all(isinstance(reason, str) and reason.strip() for reason in ignore.values()), ignore
        skipped = {name: check["skip_reason"] for name, check in report["checks"].items() if check["result"] is None}
        assert skipped == ignore, "every skip is an ignore with its reason, and every ignore is a check"


def test_codespell_finds_no_misspelling_in_any_answer_set(all_projects: list[Generated]) -> None:
    """The pre-commit hook's spell checker passes on every generated project (the hook runs the
    version of uv.lock: tests/test_first_run.py)."""
    assert "uv run --frozen codespell" in (all_projects[0].path / ".pre-commit-config.yaml").read_text()
    for project in all_projects:
        result = tool("codespell", ".", cwd=project.path)
        assert result.returncode == 0, f"{project.name}\n{result.stdout}{result.stderr}"


def test_readme_develop_commands_use_the_minimum_python(project: Generated) -> None:
    develop = markdown_section((project.path / "README.md").read_text(), "## Develop")
    minimum = project.answers["python_min_version"]
    assert f"uv sync --python {minimum}" in uv_block(develop)
    pip_block = next(b for b in code_blocks(develop, "bash") if "-m venv" in b)
    assert pip_block.startswith(f"python{minimum} -m venv .venv\n")


def test_uv_route_from_the_readme_installs_tests_lints_and_versions(generate, tmp_path: Path) -> None:
    project = generate("defaults")
    readme = (project.path / "README.md").read_text()
    work = clone(project, tmp_path)

    develop = uv_block(markdown_section(readme, "## Develop"))
    output = run_as_printed(develop, work)
    assert re.search(r"\b\d+ passed\b", output), output
    assert (work / "uv.lock").is_file(), "uv sync writes the lockfile the README says to commit"
    version = run(work / ".venv/bin/python", "-c", "import sys; print(*sys.version_info[:2], sep='.')")
    assert version.strip() == project.answers["python_min_version"]

    lint = markdown_section(readme, "## Lint, format, types")
    run_as_printed(uv_block(lint), work)
    assert (work / ".git/hooks/pre-commit").is_file()
    assert git(work, "status", "--porcelain") == "?? uv.lock", "ruff format found nothing to change"
    # The commands its prose names, one by one (`uv run ty check`, `uv run nox -s types`, ...), as
    # printed, less those the Develop block ran; `uv run --frozen`, how the hooks run, is no command.
    prose = re.sub(r"```.*?```", "", lint, flags=re.DOTALL)
    named = re.findall(r"`(uv run [a-z][^`]*)`", prose)
    assert {"uv run ruff check .", "uv run ty check", "uv run nox -s types"} <= set(named), named
    ran = {line.split("#")[0].strip() for line in develop.splitlines()}
    for command in [c for c in dict.fromkeys(named) if c not in ran]:
        run_as_printed(command, work)

    # Both printed ways to see the version work in the environment the README makes.
    versions = markdown_section(readme, "## Versions come from git tags")
    printed = re.findall(r"`((?:uv run|\.venv/bin/python) [^`]*setuptools_scm)`", versions)
    assert len(printed) == 2, versions
    for command in printed:
        assert run_as_printed(command, work).strip() == "0.1.0"

    # A new tag is seen without reinstalling by hand: [tool.uv] cache-keys rebuild the project.
    (work / "NOTES.md").write_text("next\n")
    git(work, "add", "NOTES.md", "uv.lock")
    commit(work, "next", "--no-verify")  # the hooks just installed would fetch their repositories
    git(work, "tag", "v0.2.0")
    package = project.answers["package_name"]
    shown = run_as_printed(f"uv run python -c 'import {package}; print({package}.__version__)'", work)
    assert shown.strip() == "0.2.0"

    # Developing two packages together, as docs/internal-dependencies.md prints it: a checkout of
    # another package beside this one, used for one command, with no file changed.
    other = generate("explicit-names-rc")
    run("git", "clone", "--quiet", other.path, work.parent / "other-package")
    docs = (work / "docs/internal-dependencies.md").read_text()
    together = code_blocks(markdown_section(docs, "## Developing two packages together"), "bash")
    assert len(together) == 1 and "--with-editable ../other-package" in together[0]
    output = run_as_printed(together[0], work)
    assert re.search(r"\b\d+ passed\b", output), output
    imported = f"import {other.answers['package_name']} as m; print(m.__file__)"
    shown = run_as_printed(f"uv run --with-editable ../other-package python -c '{imported}'", work)
    assert str(work.parent / "other-package" / "src") in shown, "the checkout itself, editable"
    back = subprocess.run(
        ["uv", "run", "python", "-c", imported], cwd=work, env={**os.environ, "PATH": PATH}, capture_output=True
    )
    assert back.returncode != 0, "the next uv run without it is back on the lock"
    assert git(work, "status", "--porcelain") == "", "no file changed"

    # repo-review as printed, at the version this repository pins.
    constraint = tmp_path / "constraint.txt"
    constraint.write_text(pinned_requirements()["sp-repo-review[cli]"].replace("[cli]", "") + "\n")
    run_as_printed(uv_block(lint, "uvx "), work, UV_CONSTRAINT=str(constraint))

    assert not (project.path / "uv.lock").exists() and not (project.path / ".venv").exists()


def test_ci_installs_the_committed_lock_and_refuses_a_stale_one(generate, tmp_path: Path) -> None:
    """The test job's uv steps, run as the runner would, with uv.lock committed or not. (The lint
    job's, without a lock, run in test_first_run.py, green and then with an error planted.)"""
    project = generate("defaults")
    work = clone(project, tmp_path)
    workflow = workflow_steps.load(work / ".github/workflows/test.yml")
    # What setup-uv gives the steps (the matrix Python, uv's cache), and this machine's uv and TLS settings.
    runner = {k: v for k, v in os.environ.items() if k.startswith(("UV_", "SSL_CERT_"))} | {"UV_PYTHON": "3.11"}

    def step(job: str, name: str, locked: bool):
        local = {"UV_LOCKED": str(locked).lower()}
        return workflow_steps.run_step(workflow, job, name, cwd=work, local=local, path=PATH, runner=runner)

    # No lock committed yet (pip users): CI resolves afresh and is green.
    for name in ("Install the package and its test dependencies", "Run the tests"):
        result = step("test", name, locked=False)
        assert result.returncode == 0, f"{name}\n{result.stdout}{result.stderr}"
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout

    # uv.lock present (the first install wrote it) and current: installed as locked.
    assert (work / "uv.lock").is_file()
    assert step("test", "Install the package and its test dependencies", locked=True).returncode == 0

    # pyproject.toml changed without `uv lock`: the locked install stops and says why.
    pyproject = work / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('test = ["pytest>=8"]', 'test = ["pytest>=8", "packaging"]'))
    stale = step("test", "Install the package and its test dependencies", locked=True)
    assert stale.returncode != 0
    assert "needs to be updated" in stale.stderr, stale.stderr


def test_ci_uv_steps_take_uv_locked_from_the_lockfile(project: Generated) -> None:
    workflow = workflow_steps.load(project.path / ".github/workflows/test.yml")
    for job in ("lint", "test"):
        steps = workflow["jobs"][job]["steps"]
        installs = [s for s in steps if s.get("run", "").startswith("uv sync")]
        assert [s["env"]["UV_LOCKED"] for s in installs] == ["${{ hashFiles('uv.lock') != '' }}"]
        setup = [s for s in steps if s.get("uses", "").startswith("astral-sh/setup-uv@")]
        assert len(setup) == 1 and "enable-cache" not in setup[0]["with"], "the default: no cache on tag pushes"
        assert all(s["run"].startswith("uv run --no-sync ") for s in steps[steps.index(installs[0]) + 1 :])
