"""Every rendered path and file carries the chosen names, and nothing unrendered survives."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from answer_sets import DISTINCTIVE_QUESTIONS
from helpers import (
    COMPUTED,
    SUPPORTED_PYTHONS,
    TEMPLATE_DEFAULTS,
    Generated,
    code_blocks,
    default,
    markdown_section,
    pinned_copier,
)

# GitHub's own expressions, ${{ ... }}, are meant to stay in the workflows.
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
JINJA_MARKUP = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
# What Jinja prints for a macro, or a value it could not render, that a template used by mistake.
JINJA_OBJECT = re.compile(r"<Macro '|Undefined|<function ")


def supported_pythons(answers: dict[str, object]) -> list[str]:
    """The template's supported Pythons from the answer up: what it claims to support."""
    return SUPPORTED_PYTHONS[SUPPORTED_PYTHONS.index(str(answers["python_min_version"])) :]


def test_no_unrendered_jinja_in_paths_or_contents(project: Generated) -> None:
    for path in project.files():
        relative = path.relative_to(project.path).as_posix()
        assert not JINJA_MARKUP.search(relative), f"unrendered path {relative}"
        assert not relative.endswith(".jinja"), f"template suffix kept on {relative}"
        text = GITHUB_EXPRESSION.sub("", path.read_text(encoding="utf-8"))
        match = JINJA_MARKUP.search(text) or JINJA_OBJECT.search(text)
        assert match is None, f"unrendered Jinja in {relative}: {text[max(0, match.start() - 40) : match.end() + 40]!r}"


def test_no_default_name_survives_where_another_was_given(project: Generated) -> None:
    distinctive = {key: default(key) for key in DISTINCTIVE_QUESTIONS}
    # The default repository's owner: the name part follows the distribution name.
    distinctive["github_repository"] = default("github_repository").split("/")[0] + "/"
    replaced = {
        key: value for key, value in distinctive.items() if not str(project.answers[key]).startswith(value.rstrip("/"))
    }
    for path in project.files():
        relative = path.relative_to(project.path).as_posix()
        text = path.read_text(encoding="utf-8")
        for key, value in replaced.items():
            assert value not in relative, f"{relative} is named after the default {key} {value!r}"
            assert value not in text, f"{relative} still holds the default {key} {value!r}"


def test_package_lives_under_its_own_name(project: Generated) -> None:
    package = project.answers["package_name"]
    packages = [p.name for p in (project.path / "src").iterdir() if (p / "__init__.py").is_file()]
    assert packages == [package]
    for name in ("__init__.py", "ops.py", "py.typed"):
        assert (project.path / "src" / package / name).is_file()
    for test_file in (project.path / "tests").glob("test_*.py"):
        imports = re.findall(r"^(?:from|import) (\w+)", test_file.read_text(), re.MULTILINE)
        assert package in imports, f"{test_file.name} does not import {package}"


def test_pyproject_follows_the_answers(project: Generated) -> None:
    answers = project.answers
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    metadata = pyproject["project"]
    assert metadata["name"] == answers["distribution_name"]
    assert metadata["description"] == answers["description"]
    assert metadata["authors"] == [{"name": answers["author_name"], "email": answers["author_email"]}]
    assert metadata["requires-python"] == f">={answers['python_min_version']}"
    expected_license = "LicenseRef-Proprietary" if answers["license"] == "Proprietary" else answers["license"]
    assert metadata["license"] == expected_license
    assert metadata["dynamic"] == ["version"]
    assert "Private :: Do Not Upload" in metadata["classifiers"]
    versions = [
        c.rsplit(" ", 1)[1]
        for c in metadata["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert versions == supported_pythons(answers)
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [f"src/{answers['package_name']}"]


def test_license_file_follows_the_answer(project: Generated) -> None:
    text = (project.path / "LICENSE").read_text(encoding="utf-8")
    first_line = {
        "MIT": "MIT License",
        "BSD-3-Clause": "BSD 3-Clause License",
        "Apache-2.0": "Apache License",
        "Proprietary": f"Copyright (c) {project.answers['copyright_holder']}. All rights reserved.",
    }[str(project.answers["license"])]
    assert text.strip().splitlines()[0].strip() == first_line
    holder, author = str(project.answers["copyright_holder"]), str(project.answers["author_name"])
    assert project.answers["copyright_holder"] == project.given.get("copyright_holder", author)
    if project.answers["license"] != "Apache-2.0":
        assert f"Copyright (c) {holder}" in text
        assert holder == author or author not in text, "the holder, not the author, owns the copyright"


def test_answers_file_records_every_answer(project: Generated) -> None:
    expected = dict(TEMPLATE_DEFAULTS)
    expected.update(project.given)
    for key, value in expected.items():
        if key not in project.answers:
            # Questions hidden by `when` (the workload identity ones in key mode) are not recorded,
            # nor is gcp_location_unlisted_ok, which is never asked and recorded only when given.
            hidden = (
                "gcp_workload_identity",
                "gcp_project_number",
                "github_repository_id",
                "github_owner_id",
                "gcp_location_unlisted_ok",
                "github_release_manager_ids",
            )
            assert key.startswith(hidden), key
            continue
        if isinstance(value, str) and "{{" in value:
            continue  # a derived default: checked through the files that use it
        assert project.answers[key] == value, key
    assert project.answers["_src_path"]
    assert project.answers["_commit"]
    assert not set(COMPUTED) & set(project.answers), "computed values are never recorded"


def test_computed_values_reach_the_files(project: Generated) -> None:
    answers = project.answers
    host = f"{answers['gcp_location']}-python.pkg.dev/{answers['gcp_project_id']}/{answers['gcp_repository']}"
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    install = markdown_section(readme, "## Install from Artifact Registry")
    assert f"`https://{host}/simple/`" in install  # index_url
    virtual = f"{answers['gcp_location']}-python.pkg.dev/{answers['gcp_project_id']}"
    virtual += f"/{answers['gcp_virtual_repository']}"
    pip = f"pip install --index-url https://oauth2accesstoken@{virtual}/simple/ {answers['distribution_name']}\n"
    assert code_blocks(install, "bash")[0].startswith(pip)
    publishing = (project.path / "docs/publishing.md").read_text(encoding="utf-8")
    [upload] = code_blocks(markdown_section(publishing, "## Publish from your machine"), "bash")
    assert f"--repository-url https://{host}/ " in upload
    workload_identity = answers["publish_auth"] == "workload_identity"
    assert ("workload identity pool" in publishing) == workload_identity
    assert ("GOOGLE_CREDENTIALS" in publishing) != workload_identity


def test_ci_matrix_starts_at_the_minimum_python(project: Generated) -> None:
    workflow = yaml.safe_load((project.path / ".github/workflows/test.yml").read_text())
    matrix = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert matrix == supported_pythons(project.answers)
    checkout = next(s for s in workflow["jobs"]["test"]["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0


@pytest.mark.parametrize(
    ("answer_set", "distribution", "package"),
    [
        ("defaults", "my-package", "my_package"),
        ("wif-hyphen-digits", "data-tools-2", "data_tools_2"),
        ("leading-digit-key", "3d-mesh-kit", "py3d_mesh_kit"),
        ("explicit-names-rc", "acme.billing-core", "billing_core"),
        ("non-ascii-author", "zoes-toolkit", "zoes_toolkit"),
    ],
)
def test_names_are_derived_from_the_project_name(generate, answer_set: str, distribution: str, package: str) -> None:
    answers = generate(answer_set).answers
    assert (answers["distribution_name"], answers["package_name"]) == (distribution, package)


COPIER_COMMAND = re.compile(r"(?:uvx )?copier(?:==[0-9.]+)? (?:update|recopy)(?: -[^`\n'\"]*)")
# The one place Copier runs without uvx: the workflow installs it hash-pinned, for its own job.
INSTALLS_COPIER = ".github/workflows/template-update.yml"


def test_every_copier_command_carries_trust_and_runs_the_pinned_copier(project: Generated) -> None:
    """The template has a task and a migration: Copier refuses an update without --trust (exit 4).
    Copier is no dependency of the project: every command runs it the same way, with uvx at the
    version the template is tested with."""
    sources = [
        (path.relative_to(project.path).as_posix(), path.read_text(encoding="utf-8")) for path in project.files()
    ]
    seen = 0
    for name, text in sources:
        for command in COPIER_COMMAND.findall(text):
            seen += 1
            assert "--trust" in command, f"{name}: {command}"
            if name != INSTALLS_COPIER:
                assert command.startswith(pinned_copier() + " "), f"{name}: {command}"
    assert seen >= 5, "the project documents its Copier commands"


def test_each_key_mode_package_reads_as_an_account_of_its_own(all_projects: list[Generated]) -> None:
    """Google allows ten keys per service account: in key mode each package's CI reads with a key of
    its own reader, named after the organisation's; with workload identity all share that one."""
    readers: dict[str, str] = {}
    for project in all_projects:
        settings = json.loads((project.path / "scripts/gcp_settings.json").read_text())
        organisation = settings["organisation"]
        account_id, _, domain = organisation["reader"].partition("@")
        assert domain == f"{settings['project_id']}.iam.gserviceaccount.com"
        if settings["workload_identity"]:
            assert account_id == organisation["organisation_reader_id"]
            continue
        assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", account_id), account_id
        assert account_id.startswith(organisation["organisation_reader_id"][:6]), "named after the organisation's"
        assert account_id != organisation["organisation_reader_id"]
        readers[project.name] = account_id
    assert len(readers) >= 2 and len(set(readers.values())) == len(readers), readers


def test_the_generated_readme_stays_short(project: Generated) -> None:
    """The README is where a new owner starts: 160 lines at most, the details in docs/."""
    lines = (project.path / "README.md").read_text().splitlines()
    assert len(lines) <= 160, f"{project.name}: the README has {len(lines)} lines"


def test_the_setup_line_names_the_recorded_source_and_commit(project: Generated) -> None:
    """Between releases (`_commit` such as v0.2.0-3-gabc1234, or a bare hash) the line names the
    full commit, which uv can fetch; a release tag names itself (tests/test_policy.py)."""
    settings = json.loads((project.path / "scripts/gcp_settings.json").read_text())["template"]
    recorded = project.answers["_commit"]
    assert (settings["source"], settings["commit"]) == (project.answers["_src_path"], recorded)
    assert not re.fullmatch(r"v\d+\.\d+\.\d+", str(recorded)), "these projects are copied between releases"
    source = Path(str(project.answers["_src_path"]))
    assert source.is_absolute()
    assert re.fullmatch(
        rf"uvx --from git\+file://{re.escape(str(source))}@[0-9a-f]{{40}} gar-template-setup", settings["setup"]
    )
