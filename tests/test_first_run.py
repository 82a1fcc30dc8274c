"""The first run never crashes and never surprises.

Defaults pass their own rules for names that would shadow a module or a tool; a name with nothing to
derive from stops on the named question; every help line fits; the pre-commit hooks run the locked
tools offline; `uv run nox` is what CI runs and fails on each kind of planted error;
check_release_files.py needs nothing but the standard library; the message after copy says what
happened and its commands run as printed.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import shlex
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import copier
import pytest
import workflow_steps
import yaml
from helpers import (
    BIN,
    QUESTIONS,
    TEMPLATE_ROOT,
    Generated,
    attempt,
    copier_cli,
    default,
    git,
    markdown_section,
    plain_template,
    prose_too_wide,
    run,
)
from jinja2 import Environment, FileSystemLoader
from jinja2_ansible_filters import AnsibleCoreFiltersExtension

pytestmark = pytest.mark.long

GITHUB = default("github_repository")
PACKAGE = default("package_name")

PATH = f"{BIN}{os.pathsep}{os.environ['PATH']}"
PEP_508 = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
SOURCE = (TEMPLATE_ROOT / "includes" / "python_names.jinja").read_text()
HELP_WIDTH = 76  # Copier puts "🎤 " before a help's first line: 80 columns in all


def listed(variable: str) -> set[str]:
    block = re.search(rf"set {variable} = \[(.*?)\]", SOURCE, re.DOTALL)
    assert block, variable
    return set(re.findall(r'"([^"]+)"', block.group(1)))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def template_tools() -> set[str]:
    """Every distribution a generated project installs to build, check or test itself."""
    pyproject = (TEMPLATE_ROOT / "template" / "pyproject.toml.jinja").read_text()
    groups = pyproject.split("[dependency-groups]", 1)[1].split("\n[", 1)[0]
    build = pyproject.split("[build-system]", 1)[1].split("\n[", 1)[0]
    return {canonical(name) for name in re.findall(r'"([A-Za-z0-9._-]+)\s*[<>=!~]', groups + build)}


# --- Defaults that pass their own rules -------------------------------------------------------------

# Project names whose defaults used to crash Copier, a tool's, and names in other scripts; every
# standard-library module and keyword, title-cased, joins them below.
NAMES = ["Email", "Calendar", "Platform", "Test", "Pytest", "Ruff", "Nox", "Pre-commit", "Py", "Ty"]
NAMES += ["2024", "42 Tools", "1️⃣ ✨", "Café Crème", "Zoë's Toolkit", "🚀 Rocket", "Ελληνικά Data", "x"]
# Nothing ASCII to derive a distribution name from: the question has no default.
NO_DEFAULT = ["台帳同期", "Москва", "العربية", "🚀", "Ελληνικά"]
CORPUS = [
    *NAMES,
    *NO_DEFAULT,
    *(name.title() for name in sorted(sys.stdlib_module_names) if not name.startswith("_")),
    *(name.title() for name in keyword.kwlist),
]
UNSET = "<UNSET>"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return plain_template(tmp_path_factory.mktemp("template"))


class Questions:
    """copier.yml's own default and validator strings, rendered as Copier renders them (its Jinja
    filters, its UNSET), in milliseconds rather than a Copier run per name."""

    def __init__(self) -> None:
        env = Environment(loader=FileSystemLoader(TEMPLATE_ROOT), extensions=[AnsibleCoreFiltersExtension])
        self.defaults = {k: env.from_string(str(q["default"])) for k, q in QUESTIONS.items() if "default" in q}
        self.validators = {k: env.from_string(str(q["validator"])) for k, q in QUESTIONS.items() if "validator" in q}

    def default(self, key: str, answers: dict[str, str]) -> str:
        return self.defaults[key].render(**answers, UNSET=UNSET).strip()

    def refusal(self, key: str, answers: dict[str, str]) -> str:
        return self.validators[key].render(**answers).strip()


def test_the_reserved_lists_hold_every_tool_the_project_installs() -> None:
    """A new tool in the dev group or the build system must be reserved, or its name could be derived."""
    tools = template_tools()
    assert {"pytest", "ruff", "ty", "nox", "pre-commit", "hatchling"} <= tools
    assert tools - listed("TOOL_DISTRIBUTIONS") == set()
    # Their import names, where this test environment has the tool (most are in requirements-dev.txt).
    for tool in sorted(tools):
        try:
            found = distribution(tool)
        except PackageNotFoundError:
            continue
        # Packages (name/...) and single-file modules (name.py) at the top of site-packages.
        top_level = {
            str(f).split("/")[0].removesuffix(".py")
            for f in found.files or []
            if str(f).endswith(".py") and not str(f).startswith((".", "_"))
        }
        assert top_level - listed("TOOL_NAMES") == set(), tool


def test_every_derived_default_passes_its_rule_and_shadows_nothing() -> None:
    questions = Questions()
    tools = template_tools()
    without_default = []
    for name in CORPUS:
        answers = {"project_name": name}
        answers["distribution_name"] = questions.default("distribution_name", answers)
        if answers["distribution_name"] == UNSET:
            without_default.append(name)
            continue
        answers["package_name"] = questions.default("package_name", answers)
        for key in ("gcp_service_account", "github_repository"):
            answers[key] = questions.default(key, answers)
        for key in ("distribution_name", "package_name", "gcp_service_account", "github_repository"):
            assert questions.refusal(key, answers) == "", f"{name!r}: the default {key} {answers[key]!r} is refused"
        # Checked here again without the template's lists: Python's own, and the tools it installs.
        distribution_name, package = answers["distribution_name"], answers["package_name"]
        assert PEP_508.match(distribution_name) and canonical(distribution_name) not in tools, name
        assert re.fullmatch(r"[a-z][a-z0-9_]*", package), name
        assert package not in sys.stdlib_module_names and not keyword.iskeyword(package), name
        # A reserved name takes the one documented suffix; any other derived name is kept as it is.
        plain = re.sub(r"[^a-z0-9]+", "_", distribution_name.lower()).strip("_")
        plain = plain if plain[:1].isalpha() else f"py{plain}"
        reserved = plain in sys.stdlib_module_names or keyword.iskeyword(plain) or plain in listed("TOOL_NAMES")
        assert package == (f"{plain}_pkg" if reserved else plain), name
    assert without_default == NO_DEFAULT, "only names without an ASCII letter or digit have no default"


def test_the_reader_accounts_default_never_equals_the_publishers() -> None:
    """Its rule refuses the publishing account, so its default steps aside when that was typed."""
    questions = Questions()
    for publisher in ("artifact-reader", "publish-my-package"):
        answers = {"gcp_service_account": publisher, "internal_dependencies": "true"}
        answers["gcp_reader_service_account"] = questions.default("gcp_reader_service_account", answers)
        assert questions.refusal("gcp_reader_service_account", answers) == "", answers


@pytest.mark.parametrize(
    ("name", "distribution_name", "package"),
    [("Email", "email-pkg", "email_pkg"), ("Test", "test-pkg", "test_pkg"), ("Pytest", "pytest-pkg", "pytest_pkg")],
)
def test_copier_itself_takes_the_defaults(
    template: Path, tmp_path: Path, name: str, distribution_name: str, package: str
) -> None:
    worker = copier.run_copy(
        str(template),
        str(tmp_path / "p"),
        data={"project_name": name},
        defaults=True,
        unsafe=True,
        pretend=True,
        quiet=True,
    )
    answers = worker.answers.combined
    assert (answers["distribution_name"], answers["package_name"]) == (distribution_name, package)


def test_a_name_with_nothing_to_derive_from_stops_on_the_named_question(template: Path, tmp_path: Path) -> None:
    destination = tmp_path / "p"
    with pytest.raises(ValueError, match=r'^Question "distribution_name" is required$'):
        copier.run_copy(
            str(template), str(destination), data={"project_name": NO_DEFAULT[0]}, defaults=True, unsafe=True
        )
    assert not destination.exists()
    # Typed by hand, the rest derives from it.
    worker = copier.run_copy(
        str(template),
        str(destination),
        data={"project_name": NO_DEFAULT[0], "distribution_name": "daicho-sync"},
        defaults=True,
        unsafe=True,
        pretend=True,
        quiet=True,
    )
    assert worker.answers.combined["package_name"] == "daicho_sync"


def test_what_the_docs_say_a_refused_answer_prints_is_what_copier_prints(tmp_path: Path) -> None:
    """docs/validation.md quotes the last line of Copier's traceback for a refused --data value."""
    readme = (TEMPLATE_ROOT / "docs/validation.md").read_text()
    quoted = re.search(r"read its \*\*last line\*\*:\n\n```\n(.*?)\n```", readme)
    assert quoted, "docs/validation.md quotes the line to read"
    answer = re.search(r"question '(\w+)'", quoted.group(1))
    assert answer
    refused = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--data", f"{answer.group(1)}=class",
        TEMPLATE_ROOT, tmp_path / "refused",
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == quoted.group(1)
    required = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--data", f"project_name={NO_DEFAULT[0]}",
        TEMPLATE_ROOT, tmp_path / "required",
    )  # fmt: skip
    assert required.returncode == 1
    last = required.stderr.strip().splitlines()[-1]
    assert f"`{last}`" in readme
    assert not (tmp_path / "refused").exists() and not (tmp_path / "required").exists()


def test_every_help_line_fits_76_columns() -> None:
    """Every question of copier.yml, asked or computed, present or added later."""
    assert len(QUESTIONS) >= 20
    too_long = [
        f"{key}: {line}"
        for key, spec in QUESTIONS.items()
        for text in [str(spec.get("help", "")), *map(str, spec.get("choices") or [])]
        for line in text.splitlines()
        if len(line) > HELP_WIDTH
    ]
    assert too_long == []
    assert all(spec.get("help") for spec in QUESTIONS.values()), "every question says what it asks"


def test_template_updates_help_names_the_github_app_first() -> None:
    first_line = str(QUESTIONS["template_updates"]["help"]).splitlines()[0]
    assert "GitHub App" in first_line


# --- A generated project's own checks ---------------------------------------------------------------


def clone(project: Generated, tmp_path: Path) -> Path:
    destination = tmp_path / "clone"
    run("git", "clone", "--quiet", project.path, destination)
    return destination


def sh(command: str, cwd: Path, *, prefix: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command line as a user would type it, with this environment's tools first on PATH."""
    return attempt(*prefix, "bash", "-eo", "pipefail", "-c", command, cwd=cwd, env={**os.environ, "PATH": PATH, **env})


def offline() -> tuple[str, ...]:
    """A prefix that runs a command without any network: a new user and network namespace."""
    if subprocess.run(["unshare", "-rn", "true"], check=False, capture_output=True).returncode != 0:
        pytest.skip("needs unshare -rn (user namespaces)")
    return ("unshare", "-rn")


def locked_versions(project: Path) -> dict[str, str]:
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {canonical(p["name"]): p["version"] for p in lock["package"] if "version" in p}  # not the project


def installed_commands(project: Path) -> dict[str, tuple[str, str]]:
    """Each command in the project's .venv/bin: (the distribution that installed it, its version),
    from the installers' records (entry-point scripts and binaries such as ruff's alike)."""
    code = (
        "import json, importlib.metadata as m\n"
        "print(json.dumps({f.name: (d.metadata['Name'], d.version) for d in m.distributions()"
        " for f in d.files or [] if f.parent.name == 'bin'}))"
    )
    found = json.loads(run(project / ".venv/bin/python", "-c", code))
    return {name: (canonical(dist), version) for name, (dist, version) in found.items()}


def test_pre_commit_runs_the_locked_tools_with_no_network(generate, tmp_path: Path) -> None:
    work = clone(generate("defaults"), tmp_path)
    config = yaml.safe_load((work / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [repo["repo"] for repo in config["repos"]] == ["local"], "no hook repository to fetch"
    assert len(hooks) >= 12

    synced = sh("uv sync --quiet", work)
    assert synced.returncode == 0, synced.stderr
    locked, commands = locked_versions(work), installed_commands(work)
    for hook in hooks:
        assert hook["language"] == "system" and hook["entry"].startswith("uv run --frozen "), hook["id"]
        executable = shlex.split(hook["entry"])[3]
        dist, version = commands[executable]
        assert locked[dist] == version, f"{hook['id']} runs {dist} {version}, uv.lock has {locked[dist]}"

    # Every hook on every file, then a commit through the installed hook, with no network at all.
    no_network = offline()
    checked = sh("uv run --frozen pre-commit run --all-files", work, prefix=no_network)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sh("uv run --frozen pre-commit install", work).returncode == 0
    (work / f"src/{PACKAGE}/extra.py").write_text('"""More."""\n\nANSWER = 42\n')
    git(work, "add", f"src/{PACKAGE}/extra.py")
    committed = sh("git -c user.name=A -c user.email=a@example.com commit -q -m 'More'", work, prefix=no_network)
    assert committed.returncode == 0, committed.stdout + committed.stderr
    assert "ruff check" in committed.stdout + committed.stderr, "the hooks ran"
    assert git(work, "log", "-1", "--format=%s") == "More"


PLANTED = {
    "lint": (f"src/{PACKAGE}/planted_lint.py", '"""Planted."""\n\nimport os\n'),
    "format": (f"src/{PACKAGE}/planted_format.py", '"""Planted."""\n\nVALUES = [1,2]\n'),
    "types": (f"src/{PACKAGE}/planted_types.py", '"""Planted."""\n\n\ndef f() -> int:\n    return "a"\n'),
    "tests": ("tests/test_planted.py", '"""Planted."""\n\n\ndef test_planted() -> None:\n    assert 1 + 1 == 3\n'),
}


def test_one_command_runs_what_ci_runs_and_fails_on_each_planted_error(generate, tmp_path: Path) -> None:
    """`uv run nox` is the README's one command (tests/test_developer_tools.py runs it as printed);
    CI's lint job runs the same noxfile: here its own steps run as the runner would run them, on a
    project with no uv.lock committed yet."""
    project = generate("defaults")
    work = clone(project, tmp_path)
    develop = markdown_section((work / "README.md").read_text(), "## Develop")
    assert re.search(r"^uv run nox +#", develop, re.MULTILINE), "the README's one command"
    workflow = workflow_steps.load(work / ".github/workflows/test.yml")
    assert [s.get("run") for s in workflow["jobs"]["lint"]["steps"]][-1] == "uv run --no-sync nox"
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    runner = {k: v for k, v in os.environ.items() if k.startswith(("UV_", "SSL_CERT_"))}
    runner |= {"UV_PYTHON": str(project.answers["python_min_version"]), "RUNNER_TEMP": str(runner_temp)}

    def ci(*, merged: bool = False) -> subprocess.CompletedProcess[str]:
        for name in ("Install nox", "Lint, format, types and tests"):
            result = workflow_steps.run_step(
                workflow, "lint", name, cwd=work, local={"UV_LOCKED": "false"}, path=PATH, runner=runner, merged=merged
            )
            if result.returncode != 0:
                break
        return result

    passed = ci()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    for path, text in PLANTED.values():
        (work / path).write_text(text)
    # The log as the runner shows it, one stream in order: nox runs every session even after a
    # failure, each one's output after its "Running session NAME" line, then the summary.
    failed = ci(merged=True)
    assert failed.returncode != 0
    for session in PLANTED:
        assert re.search(rf"^nox > \* {session}: failed", failed.stdout, re.MULTILINE), failed.stdout
    # Each session fails on its own planted error: the file it names is the one planted for it.
    parts = re.split(r"^nox > Running session (\w+)$", failed.stdout, flags=re.MULTILINE)[1:]
    outputs = dict(zip(parts[::2], parts[1::2], strict=True))
    assert sorted(outputs) == sorted(PLANTED), failed.stdout
    for session, (path, _) in PLANTED.items():
        named = {p for p, _ in PLANTED.values() if Path(p).name in outputs[session]}
        assert named == {path}, f"{session}\n{outputs[session]}"


def test_check_release_files_needs_only_the_standard_library_and_ignores_uvs_gitignore(
    generate, tmp_path: Path
) -> None:
    project = generate("defaults")
    work = clone(project, tmp_path)
    out = tmp_path / "out"
    built = sh(f"uv build --quiet --out-dir {out}", work)
    assert built.returncode == 0, built.stderr
    assert (out / ".gitignore").read_text().strip() == "*", "uv build writes a .gitignore"
    usage = re.search(
        r"^    (python3 scripts/check_release_files\.py .*)$",
        (work / "scripts/check_release_files.py").read_text(),
        re.M,
    )
    assert usage, "the script's docstring shows its command"
    # As documented, under a Python that sees no site-packages at all (-I -S): the standard library only.
    command = usage.group(1).replace("python3", shlex.quote(sys.executable) + " -I -S").replace(" dist/", f" {out}")

    def check(tag: str = "v0.1.0") -> subprocess.CompletedProcess[str]:
        return sh(command.replace("v1.2.3", tag), work)

    accepted = check()
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == "version=0.1.0"
    assert "No module named" not in accepted.stderr

    wrong_version = check("v0.2.0")
    assert wrong_version.returncode == 1 and "the tag v0.2.0 says 0.2.0" in wrong_version.stderr
    not_normalised = check("v0.1.0-rc1")
    assert not_normalised.returncode == 1 and "normalised PEP 440" in not_normalised.stderr
    (out / f"{PACKAGE}-0.0.9.tar.gz").write_text("stale")
    stale = check()
    assert stale.returncode == 1 and f"{PACKAGE}-0.0.9.tar.gz" in stale.stderr
    assert ".gitignore" not in stale.stderr, "uv's .gitignore is not counted as a release file"


# --- The message after copy -------------------------------------------------------------------------


def test_the_message_after_copy_offers_both_remotes_and_warns_before_google_cloud(tmp_path: Path) -> None:
    destination = tmp_path / "ledger"
    copied = copier_cli("copy", "--trust", "--defaults", "--vcs-ref", "HEAD", TEMPLATE_ROOT, destination)
    assert copied.returncode == 0, copied.stderr
    message = copied.stdout + copied.stderr
    assert "gar-template: initialised git on branch main, committed, tagged v0.1.0" in message
    assert "https://docs.astral.sh/uv/getting-started/installation/" in message
    assert "never `git push --follow-tags` before step 3" in " ".join(message.split())
    assert "GitHub App" not in message, "only with template_updates"
    assert prose_too_wide(message, destination) == []

    # Both remotes as printed: the SSH one is a command line, the HTTPS one stands beside it.
    ssh = next(line.strip() for line in message.splitlines() if line.strip().startswith("git remote add origin git@"))
    https = next(line.strip().rstrip(")") for line in message.splitlines() if "git remote add origin https://" in line)
    remotes = {ssh: f"git@github.com:{GITHUB}.git", https: f"https://github.com/{GITHUB}.git"}
    for command, url in remotes.items():
        assert sh(command, destination).returncode == 0
        assert git(destination, "remote", "get-url", "origin") == url
        git(destination, "remote", "remove", "origin")


def test_with_tasks_skipped_the_message_records_the_project_and_names_the_github_app(tmp_path: Path) -> None:
    destination = tmp_path / "skipped"
    copied = copier_cli(
        "copy", "--trust", "--defaults", "--skip-tasks", "--data", "template_updates=true", "--vcs-ref", "HEAD",
        TEMPLATE_ROOT, destination,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    message = copied.stdout + copied.stderr
    assert prose_too_wide(message, destination) == []
    assert "nothing is in git yet" in message and "initialised git" not in message
    assert "needs a GitHub App first" in message
    page = re.search(r"see\s+(docs/\S+\.md)\.", message)
    assert page and (destination / page.group(1)).is_file(), "the page it names is in the project"
    record = message.split("Record it first:", 1)[1].split("Nothing can publish", 1)[0]
    commands = [line.strip() for line in record.splitlines() if line.strip()]
    assert commands[0].startswith("cd ")
    identity = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.com"}
    result = sh(" && ".join(commands), tmp_path, **identity)
    assert result.returncode == 0, result.stderr
    assert git(destination, "tag", "--points-at", "HEAD") == "v0.1.0"
    assert git(destination, "status", "--porcelain") == ""
