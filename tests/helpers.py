"""Helpers the tests (and benchmarks) import: processes, git, Copier, virtualenvs, pins.

conftest.py holds fixtures only; everything a test calls by name lives here.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import jinja2
import pytest
import yaml
from isolation import replace_environment

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
QUESTIONS: dict[str, dict[str, object]] = {
    key: spec
    for key, spec in yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text()).items()
    if not key.startswith("_") and isinstance(spec, dict)
}
# Values copier.yml computes from the answers (`when: false`): never asked, never recorded.
COMPUTED = sorted(key for key, spec in QUESTIONS.items() if spec.get("when") is False)
TEMPLATE_DEFAULTS = {
    key: spec["default"] for key, spec in QUESTIONS.items() if "default" in spec and key not in COMPUTED
}


def questions_tool() -> ModuleType:
    """tools/questions.py, which writes docs/questions.md and derives the default answers."""
    spec = importlib.util.spec_from_file_location("questions", TEMPLATE_ROOT / "tools/questions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def defaults() -> dict[str, object]:
    """Every answer the template gives a project copied with `--defaults`, and every value copier.yml
    computes from them (`publisher_email`, `upload_url`...), derived by Copier itself from the
    working tree's copier.yml, as docs/questions.md shows them: tests take a default from here
    instead of spelling it, so changing a default fails only the tests about that default."""
    return {k: v for k, v in questions_tool().default_answers().items() if k in QUESTIONS}


def default(key: str) -> str:
    """One default, as text; a key the template does not have fails naming it."""
    assert key in QUESTIONS, f"copier.yml has no question {key!r}"
    return str(defaults()[key])


# The Python versions the template supports, oldest first, from the one place they are written.
SUPPORTED_PYTHONS: list[str] = list(
    jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_ROOT))
    .get_template("includes/pythons.jinja")
    .module.SUPPORTED_PYTHONS  # type: ignore[attr-defined]
)
# The one git identity for commits the tests make as a project's owner or a template maintainer.
IDENTITY = ("-c", "user.name=Owner", "-c", "user.email=owner@example.com")
BIN = Path(sys.executable).parent


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command, fail the test with its output when it fails, return its stdout."""
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result.stdout


def virtualenv_with_pip(path: Path) -> Path:
    """A virtualenv on this Python with pip in it, as `python -m venv` or setup-python gives one.

    uv makes it in well under a second: `python -m venv` runs ensurepip, which installs pip from
    its bundled wheel and compiles it, six seconds of CPU each time.
    """
    run(BIN / "uv", "venv", "--quiet", "--seed", "--python", sys.executable, path)
    return path


def attempt(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command that may fail; the caller checks the result."""
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def tool(name: str, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A command-line tool installed next to this interpreter (ruff, zizmor, check-jsonschema...)."""
    return attempt(BIN / name, *args, cwd=cwd)


def copier_cli(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run the real `copier` command line: Copier's own CLI application, in this process (Copier's
    import alone costs over a second of CPU a process, and the suite runs it about a hundred times),
    with what a process of its own would have: the working directory, the environment, /dev/null on
    stdin, no colours, the interpreter's default warnings, and stdout and stderr caught at their file
    descriptors, so the tasks' lines are caught too and in order. `prefix` wraps it (e.g. unshare)
    and then it runs as a process of its own."""
    if prefix:
        return attempt(*prefix, sys.executable, "-m", "copier", *args, cwd=cwd, env=env)
    from copier._cli import CopierApp  # the class `python -m copier` runs

    argv = ["copier", *map(str, args)]
    with _as_a_process(cwd, env) as caught:
        try:
            _, code = CopierApp.run(argv, exit=False)
        except SystemExit as stopped:
            code = stopped.code if isinstance(stopped.code, int) else 1
        except Exception:  # what the interpreter would print before exiting 1
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess(argv, code, *caught)


def _print_warning(message: warnings.WarningMessage) -> None:
    sys.stderr.write(warnings._formatwarnmsg_impl(message))  # type: ignore[attr-defined]


@contextlib.contextmanager
def _as_a_process(cwd: Path | None, env: dict[str, str] | None) -> Iterator[list[str]]:
    """The surroundings of a child process, for code run in this one; yields [stdout, stderr],
    filled on exit."""
    from plumbum import colors

    caught: list[str] = []
    saved_environ = dict(os.environ)
    saved_cwd, saved_streams, saved_colour = os.getcwd(), (sys.stdin, sys.stdout, sys.stderr), colors.use_color
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fds = (os.dup(1), os.dup(2))
    text = {"mode": "w", "closefd": False, "encoding": "utf-8", "errors": "backslashreplace", "buffering": 1}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            with open(os.devnull) as nothing, open(1, **text) as stdout, open(2, **text) as stderr:  # type: ignore[call-overload]
                sys.stdin, sys.stdout, sys.stderr = nothing, stdout, stderr
                replace_environment(saved_environ if env is None else env)
                if cwd is not None:
                    os.chdir(cwd)
                colors.use_color = 0
                with warnings.catch_warnings():
                    warnings.resetwarnings()
                    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                        warnings.simplefilter("ignore", category)
                    # To stderr, as an interpreter of its own prints them (pytest's recorder is set aside).
                    warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]
                    warnings._showwarnmsg_impl = _print_warning  # type: ignore[attr-defined]
                    yield caught
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            colors.use_color = saved_colour
            for fd, saved in zip((1, 2), saved_fds, strict=True):
                os.dup2(saved, fd)
                os.close(saved)
            os.chdir(saved_cwd)
            replace_environment(saved_environ)
            for stream in (out, err):
                stream.seek(0)
                caught.append(stream.read().decode("utf-8", errors="replace"))


def git(project: Path, *args: str) -> str:
    return run("git", *args, cwd=project).strip()


def commit(project: Path, message: str, *args: str) -> None:
    """Commit as the owner (the tests run with no git identity configured)."""
    git(project, *IDENTITY, "commit", "--quiet", *args, "-m", message)


def pinned_requirements() -> dict[str, str]:
    """pyproject.toml's dev group as {name: "name==version"}: the versions every test environment uses."""
    groups = tomllib.loads((TEMPLATE_ROOT / "pyproject.toml").read_text())["dependency-groups"]

    def flattened(group: str) -> list[str]:
        return [
            r
            for item in groups[group]
            for r in (flattened(item["include-group"]) if isinstance(item, dict) else [item])
        ]

    return {requirement.split("==")[0]: requirement for requirement in flattened("dev")}


def pinned_copier() -> str:
    """How a generated project runs Copier: uvx, at the version the tests pin."""
    return f"uvx {pinned_requirements()['copier']}"


def plain_template(destination: Path) -> Path:
    """This checkout's template files (committed and not ignored) as a plain directory, modes kept.

    Copier reads a plain directory without cloning it, and needs no git to do so.
    """
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=TEMPLATE_ROOT).splitlines()
    for relative in listed:
        source = TEMPLATE_ROOT / relative
        if source.is_file():
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relative)
    return destination


def working_tree_clone(destination: Path) -> Path:
    """A clone of this checkout's history without its tags, with the working tree's uncommitted
    changes (tracked and untracked, not ignored) committed on top as one draft commit.

    The same content Copier takes from a dirty checkout (`--vcs-ref HEAD`), so a test that tags
    releases of its own tests the change being made, committed or not; without the real tags,
    which would clash with the ones tests make.
    """
    run("git", "clone", "--quiet", "--no-tags", TEMPLATE_ROOT, destination)
    changes = run("git", "diff", "HEAD", "--binary", cwd=TEMPLATE_ROOT)
    if changes:
        subprocess.run(["git", "apply", "--binary", "-"], input=changes, cwd=destination, check=True, text=True)
    untracked = run("git", "ls-files", "--others", "--exclude-standard", cwd=TEMPLATE_ROOT).splitlines()
    for relative in untracked:
        (destination / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE_ROOT / relative, destination / relative)
    git(destination, "add", "--all")
    if git(destination, "status", "--porcelain"):
        commit(destination, "Uncommitted changes of the working tree")
    # One pack file: Copier clones the template for every copy and update, and a local clone links
    # each loose object the checkout has (hundreds, in a maintainer's checkout) as a file of its own,
    # each written and deleted again: three times the clone's time.
    git(destination, "repack", "-a", "-d", "-q")
    git(destination, "prune-packed")
    return destination


def made_once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], object]) -> Path:
    """A directory that `make` fills once per test run, whichever xdist worker asks first: the
    others wait for it, then share it. Only for what tests read and run and never change (a
    simulated runner's virtualenv), so that no two workers each spend the time."""
    base = factory.getbasetemp()
    # Under xdist each worker's basetemp is a folder of the run's own; without it, the run's.
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    target = root / f"made-once-{name}"
    # Beside the directory, not in it: what `make` wrote is all the directory holds.
    complete = root / f"made-once-{name}.complete"
    with open(root / f"made-once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not complete.exists():
            shutil.rmtree(target, ignore_errors=True)
            make(target)
            complete.touch()
    return target


def existing_repository(path: Path, *, branch: str, file: str) -> tuple[str, str]:
    """Someone's repository: one commit holding `file` and their annotated tag v0.1.0.

    Returns (HEAD, the tag object), to compare with after a copy into or under it.
    """
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", f"--initial-branch={branch}")
    (path / file).write_text("existing work\n")
    git(path, "add", file)
    commit(path, "existing")
    git(path, *IDENTITY, "tag", "-a", "v0.1.0", "-m", "their own tag")
    return git(path, "rev-parse", "HEAD"), git(path, "rev-parse", "v0.1.0")


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a file with `new`; `old` must be there."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def overlapping_edit(project: Path) -> None:
    """The owner rewrites the very place the template changes after v0.1.0."""
    edit(
        project / "README.md",
        "## Versions come from git tags\n",
        "## Versions come from git tags\n\nOwner's own line.\n",
    )
    commit(project, "Owner edits the same place", "--all")


@dataclass
class UpdateSetup:
    """A tagged template clone (v0.1.0, then a change tagged v0.2.0) and a project copied at v0.1.0."""

    template: Path
    project: Path

    def fresh_project(self, destination: Path) -> Path:
        """A clone of the project, with its owner's work committed, for one test to change."""
        run("git", "clone", "--quiet", self.project, destination)
        return destination


class Generated:
    """A project generated from one answer set, with the answers Copier recorded for it."""

    def __init__(self, name: str, path: Path, given: dict[str, object]) -> None:
        self.name = name
        self.path = path
        self.given = given
        self.answers: dict[str, object] = yaml.safe_load((path / ".copier-answers.yml").read_text())

    def __repr__(self) -> str:
        return f"Generated({self.name!r}, {self.path})"

    def files(self) -> list[Path]:
        """Every file of the project outside .git (not entered: git may be writing there) and the
        __pycache__ that Python writes beside what a test ran."""
        found = []
        for directory, subdirectories, names in os.walk(self.path):
            subdirectories[:] = [d for d in subdirectories if d not in (".git", "__pycache__")]
            found.extend(Path(directory, name) for name in names)
        return sorted(found)


class Virtualenv:
    """A virtualenv the tests install into and run from."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.python = self.bin / "python"

    def pip(self, *args: str | Path) -> str:
        return run(self.python, "-m", "pip", "--quiet", *args)

    def run(self, *args: str | Path, cwd: Path | None = None) -> str:
        return run(self.python, *args, cwd=cwd)

    # uv rather than pip and build where the installer is not what a test is about: half the time
    # (pip's and build's own start is most of theirs). The pip and isolated-build routes the docs
    # print are run as printed by their own tests.

    def install_editable(self, project: Path, python_version: str) -> str:
        """`project` installed editable with the build backend already here, no dependencies,
        resolved for the `python_version` it requires (the code runs on this older Python)."""
        return run(
            BIN / "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            self.python,
            "--python-version",
            python_version,
            "--no-deps",
            "--no-build-isolation",
            "--editable",
            project,
        )

    def build(self, source: Path, outdir: Path, *only: str) -> str:
        """The sdist and the wheel built from it (or `only` "--wheel") with the backend here."""
        return run(
            BIN / "uv",
            "build",
            "--quiet",
            "--python",
            self.python,
            "--no-build-isolation",
            "--no-create-gitignore",
            *only,
            "--out-dir",
            outdir,
            source,
        )


# --- Markdown: the one reader of the READMEs, docs and CONTRIBUTING that tests use -----------------

FENCE = "```"


def _outside_fences(text: str) -> list[tuple[int, str, bool]]:
    """Each line of `text` with its offset, and whether it lies inside a fenced code block."""
    lines, offset, fenced = [], 0, False
    for line in text.splitlines(keepends=True):
        opens_or_closes = line.lstrip().startswith(FENCE)
        lines.append((offset, line, fenced or opens_or_closes))
        if opens_or_closes:
            fenced = not fenced
        offset += len(line)
    return lines


def said(output: str) -> str:
    """The output's words on one line: what a message says, wherever the 80-column wrap broke it."""
    return " ".join(output.split())


def markdown_section(text: str, heading: str) -> str:
    """The body of the section headed `heading` (e.g. "## Develop"), up to the next heading of the
    same or a higher level; headings inside fenced blocks (a `# comment` in bash) do not count."""
    level = len(heading) - len(heading.lstrip("#"))
    start = None
    for offset, line, fenced in _outside_fences(text):
        if fenced:
            continue
        hashes = len(line) - len(line.lstrip("#"))
        if start is None:
            if line.rstrip("\n") == heading:
                start = offset + len(line)
        elif 0 < hashes <= level and line[hashes : hashes + 1] == " ":
            return text[start:offset]
    assert start is not None, f"no section {heading!r}"
    return text[start:]


def code_blocks(text: str, language: str | None = None) -> list[str]:
    """The fenced code blocks of `text` (of one language, or all), each dedented by its fence's
    indentation (a block inside a list item is indented with it)."""
    blocks, current, indent, current_language = [], None, "", ""
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if current is None:
            if stripped.startswith(FENCE):
                indent = line[: len(line) - len(stripped)]
                current_language = stripped[len(FENCE) :].strip()
                current = []
        elif stripped.startswith(FENCE) and not stripped[len(FENCE) :].strip():
            if language is None or current_language == language:
                blocks.append("".join(current))
            current = None
        else:
            current.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
    return blocks


def table_rows(text: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table in `text`, as {header: cell}; cells stripped.

    A `|` inside backticks does not split a cell (`a | b` stays one cell)."""

    def cells(line: str) -> list[str]:
        found, cell, quoted = [], "", False
        for char in line.strip().removeprefix("|").removesuffix("|"):
            if char == "`":
                quoted = not quoted
            if char == "|" and not quoted:
                found.append(cell.strip())
                cell = ""
            else:
                cell += char
        return [*found, cell.strip()]

    lines = [line for _, line, fenced in _outside_fences(text) if not fenced]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("|")), None)
    assert start is not None, "no table"
    table = []
    for line in lines[start:]:
        if not line.lstrip().startswith("|"):
            break
        table.append(cells(line))
    header, separator, *rows = table
    assert all(set(cell) <= set("-: ") for cell in separator), f"not a table header: {separator}"
    return [dict(zip(header, row, strict=True)) for row in rows]


# Copier's own lines ("Copying from template ...", "create  README.md") and a command, which
# stays whole on its line, may be wider; the template's prose may not.
COMMAND_LINE = re.compile(
    r"^ {7,}\S"  # a command
    r"|^\s*(create|identical|conflict|overwrite|skip|Copying from|Updating to template)\b"  # Copier's
    r"|^\S+\.py:\d+: \w+Warning: |^ > Running task |^Task \["  # Copier's, and a dirty template's warning
)


def prose_too_wide(output: str, destination: Path, columns: int = 80) -> list[str]:
    """Lines of the template's prose wider than the terminal; the destination counts as a short
    path such as a person types (the tests' temporary paths are long)."""
    lines = output.replace(str(destination), "~/" + destination.name).splitlines()
    return [line for line in lines if len(line) > columns and not COMMAND_LINE.match(line)]
