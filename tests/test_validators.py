"""Every bad answer is refused by name and rule, before anything is written; edge cases pass.

Answers go through the real Copier, in-process and from a plain-directory copy of the template
(no git clone per case), exactly as `--defaults --data KEY=VALUE` passes them.
"""

from __future__ import annotations

import re
from pathlib import Path

import copier
import pytest
import yaml
from helpers import TEMPLATE_ROOT, copier_cli, plain_template
from packaging.version import InvalidVersion, Version

# (question, answer, the label the message opens with: what is wrong, before the first colon)
BAD_ANSWERS: list[tuple[str, object, str]] = [
    ("project_name", "", "empty"),
    ("project_name", "   ", "empty"),
    ("distribution_name", "-pkg", "not a PEP 508 name"),
    ("distribution_name", "pkg-", "not a PEP 508 name"),
    ("distribution_name", "my pkg", "not a PEP 508 name"),
    ("distribution_name", "my/pkg", "not a PEP 508 name"),
    ("distribution_name", "ünïcode", "not a PEP 508 name"),
    ("distribution_name", ".hidden", "not a PEP 508 name"),
    ("distribution_name", "", "not a PEP 508 name"),
    ("distribution_name", "a name far too long to echo in full", "not a PEP 508 name"),
    ("distribution_name", "pytest", "a tool's name"),
    ("distribution_name", "Pre_Commit", "a tool's name"),
    ("distribution_name", "nox", "a tool's name"),
    ("package_name", "my-pkg", "not a lowercase identifier"),
    ("package_name", "My_Pkg", "not a lowercase identifier"),
    ("package_name", "pkg.sub", "not a lowercase identifier"),
    ("package_name", "1pkg", "not a lowercase identifier"),
    ("package_name", "_private", "not a lowercase identifier"),
    ("package_name", "über", "not a lowercase identifier"),
    ("package_name", "a b", "not a lowercase identifier"),
    ("package_name", "", "not a lowercase identifier"),
    ("package_name", "class", "a Python keyword"),
    ("package_name", "import", "a Python keyword"),
    ("package_name", "json", "standard-library name"),
    ("package_name", "os", "standard-library name"),
    ("package_name", "typing", "standard-library name"),
    ("package_name", "tomllib", "standard-library name"),
    ("package_name", "test", "standard-library name"),  # the test suite's, not in stdlib_module_names
    ("package_name", "xxsubtype", "standard-library name"),
    ("package_name", "pytest", "a tool's name"),
    ("package_name", "tests", "a tool's name"),
    ("package_name", "nox", "a tool's name"),
    ("package_name", "py", "a tool's name"),
    ("description", 'says "hi"', "bad character"),
    ("description", "back\\slash", "bad character"),
    ("description", "two\nlines", "bad character"),
    ("author_name", "", "empty"),
    ("author_name", "Ada <ada@example.com>", "bad character"),
    ("author_email", "not-an-address", "not an e-mail"),
    ("author_email", "a@b", "not an e-mail"),
    ("author_email", "a@@example.com", "not an e-mail"),
    ("author_email", "a b@example.com", "not an e-mail"),
    ("author_email", "@example.com", "not an e-mail"),
    ("author_email", "someone-with-a-long-name.at.example.com", "not an e-mail"),
    ("initial_version", "v1.0.0", "leading 'v'"),
    ("initial_version", "V2.0", "leading 'v'"),
    ("initial_version", "1.0-beta", "not PEP 440"),
    ("initial_version", "1.0.0-rc1", "not PEP 440"),
    ("initial_version", "1.0.0+local", "local '+' part"),
    ("initial_version", "01.0", "not PEP 440"),
    ("initial_version", "latest", "not PEP 440"),
    ("initial_version", "", "not PEP 440"),
    ("gcp_project_id", "My_Project", "not a project ID"),
    ("gcp_project_id", "short", "not a project ID"),
    ("gcp_project_id", "a" * 31, "not a project ID"),
    ("gcp_project_id", "1project", "not a project ID"),
    ("gcp_project_id", "project-", "not a project ID"),
    ("gcp_project_id", "my-google-project", "has google or ssl"),
    ("gcp_project_id", "my-ssl-project", "has google or ssl"),
    ("gcp_location", "Mars", "not a location"),
    ("gcp_location", "us central1", "not a location"),
    ("gcp_location", "US-CENTRAL1", "not a location"),
    ("gcp_location", "europe-west99", "unknown region"),
    ("gcp_location", "mars-north1", "unknown region"),
    ("gcp_repository", "Python_Packages", "not a repository ID"),
    ("gcp_repository", "1repo", "not a repository ID"),
    ("gcp_repository", "repo-", "not a repository ID"),
    ("gcp_repository", "a" * 64, "not a repository ID"),
    ("gcp_service_account", "gh", "not an account ID"),
    ("gcp_service_account", "GitHub-Publisher", "not an account ID"),
    ("gcp_workload_identity_pool", "gcp-pool", "reserved 'gcp-'"),
    ("gcp_workload_identity_pool", "abc", "not an ID"),
    ("gcp_workload_identity_provider", "Provider", "not an ID"),
    ("gcp_workload_identity_provider", "gcp-oidc", "reserved 'gcp-'"),  # the longest key
    ("workload_identity_provider", "projects/1/x", "computed"),
    ("github_release_manager_ids", "1, 2", "not digits"),
    ("gcp_project_number", "abc", "not digits"),
    ("github_repository_id", "12a", "not digits"),
    ("github_owner_id", "-1", "not digits"),
    ("copyright_holder", "", "empty or bad character"),
    ("copyright_holder", 'Acme "Inc"', "empty or bad character"),
    ("gcp_project_number", "0123456", "not digits"),
    ("github_repository", "just-a-name", "not OWNER/NAME"),
    ("github_repository", "owner/", "not OWNER/NAME"),
    ("github_repository", "-owner/name", "not OWNER/NAME"),
    ("github_repository", "owner/na me", "not OWNER/NAME"),
    ("github_repository", "owner/..", "not OWNER/NAME"),
    ("uses_workload_identity", False, "computed"),
    ("python_versions", ["3.9"], "computed"),
    ("registry_host", "evil.example.com/pypi", "computed"),
    ("index_url", "https://evil.example.com/simple/", "computed"),
    ("publish_auth", "oidc", "Invalid choice"),
    ("license", "GPL-3.0", "Invalid choice"),
    ("python_min_version", "3.10", "Invalid choice"),
]

VALID_EDGE_CASES: list[dict[str, object]] = [
    {"package_name": "a"},
    {"package_name": "pkg2_"},
    {"package_name": "match"},  # a soft keyword: `import match` is valid
    {"distribution_name": "A.B-c_d", "package_name": "abcd"},
    {"distribution_name": "x", "package_name": "x"},
    {"distribution_name": "pytest-pkg"},  # a tool's name with the suffix the defaults add
    {"project_name": "Email"},  # its derived names, email-pkg and email_pkg, shadow nothing
    {"project_name": "Test"},  # nor test-pkg and test_pkg: the standard library installs `test`
    {"initial_version": "0.0.0"},
    {"initial_version": "1!2.0"},
    {"initial_version": "1.0.0.post1"},
    {"initial_version": "1.0.0.dev0"},
    {"initial_version": "2026.11"},
    {"initial_version": "10.20.30a1"},
    {"gcp_project_id": "abcdef"},
    {"gcp_project_id": "a" + "b" * 28 + "9"},
    {"gcp_location": "asia"},
    {"gcp_location": "europe-west10"},
    {"gcp_location": "asia-central9", "gcp_location_unlisted_ok": "yes"},
    {"gcp_repository": "a"},
    {"gcp_repository": "a" * 63},
    {"author_name": "Zoë O'Brien-Müller", "author_email": "first.last+tag@sub.example.co.uk"},
    {"author_name": "山田 太郎"},
    {"github_repository": "a/b"},
    {"github_repository": "Org-1/repo.name_x"},
    {"description": "Ünïcode summary — with a dash"},
    {"publish_auth": "service_account_key", "gcp_service_account": "a" * 30},
    {"gcp_project_number": "123456"},
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed and working-tree template files as a plain directory."""
    return plain_template(tmp_path_factory.mktemp("template"))


def copy_with(template: Path, destination: Path, data: dict[str, object], **kwargs: object) -> None:
    copier.run_copy(str(template), str(destination), data=data, defaults=True, unsafe=True, quiet=True, **kwargs)


# A message fits one 80-column line. Copier puts "Validation error for question 'KEY': " before it,
# in the interactive prompt as on stderr; that prefix is Copier's and is not counted. At a prompt
# the line is cut at the terminal's width: the label must fit before the cut even for a long KEY.
LONGEST_MESSAGE = 76
COLUMNS = 80


@pytest.mark.parametrize(("key", "value", "rule"), BAD_ANSWERS, ids=[f"{k}={v!r}"[:60] for k, v, _ in BAD_ANSWERS])
def test_bad_answer_is_refused_with_the_question_and_a_rule_that_fits_a_line(
    template: Path, tmp_path: Path, key: str, value: object, rule: str
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError) as error:
        copy_with(template, destination, {key: value}, skip_tasks=True)
    message = str(error.value)
    if not message.startswith(f"Invalid choice for '{key}'"):  # Copier's own, for a choice question
        prefix, _, message = message.partition(f"Validation error for question '{key}': ")
        assert not prefix and message, f"not a validator's refusal of {key}: {error.value}"
        assert len(message) <= LONGEST_MESSAGE, f"{len(message)} characters: {message}"
        shown = f"Validation error for question '{key}': {message}"[:COLUMNS]
        assert shown.endswith(f": {rule}") or f": {rule}:" in shown, f"at {COLUMNS} columns: {shown}"
    assert rule in message
    assert not destination.exists(), "nothing is written before every answer is valid"


@pytest.mark.parametrize("data", VALID_EDGE_CASES, ids=[repr(d)[:60] for d in VALID_EDGE_CASES])
def test_valid_edge_case_is_accepted(template: Path, tmp_path: Path, data: dict[str, object]) -> None:
    copy_with(template, tmp_path / "project", data, pretend=True)


def test_corpus_is_large_enough() -> None:
    assert len(BAD_ANSWERS) >= 50 and len(VALID_EDGE_CASES) >= 15
    questions = {key for key, _, _ in BAD_ANSWERS}
    assert {
        "project_name",
        "package_name",
        "distribution_name",
        "gcp_project_id",
        "gcp_location",
        "gcp_repository",
        "publish_auth",
        "initial_version",
        "author_email",
    } <= questions


VERSIONS = (
    [str(v) for k, v, _ in BAD_ANSWERS if k == "initial_version"]
    + [str(d["initial_version"]) for d in VALID_EDGE_CASES if "initial_version" in d]
    + ["1.0", "1.0.0a1", "1.0.0b2.post3.dev4", "1.0.0.RC1", "1.0.0-1", "1.0.0_post1", "1.0.0c1"]
)


@pytest.mark.parametrize("version", VERSIONS)
def test_initial_version_rule_is_packagings_normalised_public_version(
    template: Path, tmp_path: Path, version: str
) -> None:
    """The Jinja validator cannot import packaging; it must agree with it on every case here."""
    try:
        parsed = Version(version)
        expected = str(parsed) == version and parsed.local is None
    except InvalidVersion:
        expected = False
    try:
        copy_with(template, tmp_path / "project", {"initial_version": version}, pretend=True)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == expected


@pytest.mark.parametrize(("key", "value"), [("package_name", "class"), ("gcp_location", "mars-north1")])
def test_non_interactive_cli_fails_naming_the_question_and_leaves_nothing(tmp_path: Path, key: str, value: str) -> None:
    destination = tmp_path / "project"
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--data", f"{key}={value}", TEMPLATE_ROOT, destination
    )
    assert result.returncode != 0
    assert re.search(rf"\b{key}", result.stderr)
    assert not destination.exists()


def test_non_interactive_cli_accepts_an_unlisted_location_once_confirmed(tmp_path: Path) -> None:
    destination = tmp_path / "project"
    result = copier_cli(
        "copy", "--trust", "--defaults", "--skip-tasks", "--vcs-ref", "HEAD",
        "--data", "gcp_location_unlisted_ok=yes", "--data", "gcp_location=europe-west99",
        TEMPLATE_ROOT, destination,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert (answers["gcp_location"], answers["gcp_location_unlisted_ok"]) == ("europe-west99", True)
    assert "europe-west99-python.pkg.dev" in (destination / "README.md").read_text()


@pytest.mark.parametrize(
    ("value", "rule"),
    [("gh", "account ID"), ("Reader", "account ID"), ("publish-my-package", "same as publisher")],
)
def test_reader_account_is_refused_when_malformed_or_the_publishers(
    template: Path, tmp_path: Path, value: str, rule: str
) -> None:
    """Asked only with internal_dependencies; its key may sit in Dependabot, so it must not publish."""
    destination = tmp_path / "project"
    with pytest.raises(ValueError) as error:
        data = {"internal_dependencies": True, "gcp_reader_service_account": value}
        copy_with(template, destination, data, skip_tasks=True)
    assert "gcp_reader_service_account" in str(error.value) and rule in str(error.value)
    assert not destination.exists()
