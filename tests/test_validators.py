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

# (question, answer, words the message must hold besides the question's key)
BAD_ANSWERS: list[tuple[str, object, str]] = [
    ("project_name", "", "must not be empty"),
    ("project_name", "   ", "must not be empty"),
    ("distribution_name", "-pkg", "PEP 508"),
    ("distribution_name", "pkg-", "PEP 508"),
    ("distribution_name", "my pkg", "PEP 508"),
    ("distribution_name", "my/pkg", "PEP 508"),
    ("distribution_name", "ünïcode", "PEP 508"),
    ("distribution_name", ".hidden", "PEP 508"),
    ("distribution_name", "", "PEP 508"),
    ("distribution_name", "a name far too long to echo in full", "PEP 508"),
    ("distribution_name", "pytest", "installs that tool"),
    ("distribution_name", "Pre_Commit", "installs that tool"),
    ("distribution_name", "nox", "installs that tool"),
    ("package_name", "my-pkg", "lowercase ASCII identifier"),
    ("package_name", "My_Pkg", "lowercase ASCII identifier"),
    ("package_name", "pkg.sub", "lowercase ASCII identifier"),
    ("package_name", "1pkg", "lowercase ASCII identifier"),
    ("package_name", "_private", "lowercase ASCII identifier"),
    ("package_name", "über", "lowercase ASCII identifier"),
    ("package_name", "a b", "lowercase ASCII identifier"),
    ("package_name", "", "lowercase ASCII identifier"),
    ("package_name", "class", "keyword"),
    ("package_name", "import", "keyword"),
    ("package_name", "json", "standard-library"),
    ("package_name", "os", "standard-library"),
    ("package_name", "typing", "standard-library"),
    ("package_name", "tomllib", "standard-library"),
    ("package_name", "pytest", "shadow"),
    ("package_name", "tests", "shadow"),
    ("package_name", "nox", "shadow"),
    ("package_name", "py", "shadow"),
    ("description", 'says "hi"', "one line without"),
    ("description", "back\\slash", "one line without"),
    ("description", "two\nlines", "one line without"),
    ("author_name", "", "must not be empty"),
    ("author_name", "Ada <ada@example.com>", "must not contain"),
    ("author_email", "not-an-address", "e-mail address"),
    ("author_email", "a@b", "e-mail address"),
    ("author_email", "a@@example.com", "e-mail address"),
    ("author_email", "a b@example.com", "e-mail address"),
    ("author_email", "@example.com", "e-mail address"),
    ("author_email", "someone-with-a-long-name.at.example.com", "e-mail address"),
    ("initial_version", "v1.0.0", "without a leading 'v'"),
    ("initial_version", "V2.0", "without a leading 'v'"),
    ("initial_version", "1.0-beta", "PEP 440"),
    ("initial_version", "1.0.0-rc1", "PEP 440"),
    ("initial_version", "1.0.0+local", "without a local"),
    ("initial_version", "01.0", "PEP 440"),
    ("initial_version", "latest", "PEP 440"),
    ("initial_version", "", "PEP 440"),
    ("gcp_project_id", "My_Project", "a project ID"),
    ("gcp_project_id", "short", "6 to 30"),
    ("gcp_project_id", "a" * 31, "6 to 30"),
    ("gcp_project_id", "1project", "a-z first"),
    ("gcp_project_id", "project-", "no '-' last"),
    ("gcp_project_id", "my-google-project", "must not contain 'google'"),
    ("gcp_project_id", "my-ssl-project", "must not contain 'google' or 'ssl'"),
    ("gcp_location", "Mars", "a region such as us-central1"),
    ("gcp_location", "us central1", "a region such as us-central1"),
    ("gcp_location", "US-CENTRAL1", "a region such as us-central1"),
    ("gcp_location", "europe-west99", "gcp_location_unlisted_ok=yes"),
    ("gcp_location", "mars-north1", "gcp_location_unlisted_ok=yes"),
    ("gcp_repository", "Python_Packages", "a repository ID"),
    ("gcp_repository", "1repo", "a-z first"),
    ("gcp_repository", "repo-", "no '-' last"),
    ("gcp_repository", "a" * 64, "1 to 63"),
    ("gcp_service_account", "gh", "an account ID: 6 to 30"),
    ("gcp_service_account", "GitHub-Publisher", "an account ID"),
    ("gcp_workload_identity_pool", "gcp-pool", "must not start with 'gcp-'"),
    ("gcp_workload_identity_pool", "abc", "4 to 32"),
    ("gcp_workload_identity_provider", "Provider", "4 to 32"),
    ("gcp_project_number", "abc", "digits only"),
    ("github_repository_id", "12a", "numeric id"),
    ("github_owner_id", "-1", "numeric id"),
    ("copyright_holder", "", "not empty"),
    ("copyright_holder", 'Acme "Inc"', "without"),
    ("gcp_project_number", "0123456", "digits only"),
    ("github_repository", "just-a-name", "OWNER/NAME"),
    ("github_repository", "owner/", "OWNER/NAME"),
    ("github_repository", "-owner/name", "OWNER/NAME"),
    ("github_repository", "owner/na me", "OWNER/NAME"),
    ("github_repository", "owner/..", "OWNER/NAME"),
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
    {"project_name": "Email"},  # its derived package name, email_pkg, shadows nothing
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
# in the interactive prompt as on stderr; that prefix is Copier's and is not counted.
LONGEST_MESSAGE = 76


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
    [("gh", "account ID"), ("Reader", "account ID"), ("publish-my-package", "must differ")],
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
