"""What Google admits after setup, for two packages of one organisation whose names share their
first 30 characters: only a release manager's version tag, pushed to the package's own repository
and published by its own publish workflow in its environment, may act as the account that writes
that package's repository; the reader reads from any branch and writes nothing.

Both packages are copied from a clone of this checkout tagged as a release, and set up by the
README's one line run as printed (uvx builds gar-template-setup from that clone at that tag), then
checked with it after recording what it found with the command it printed. The policy is what
the setup left in the gcloud stand-in's state (the provider's mapping and condition, the
bindings); tests/cloud.py evaluates it with cel-python against GitHub's documented token claims,
the way Google does (a mapped google.subject over 127 bytes is refused). Tampering with a
project's answers through `copier update --data` stops the setup with nothing changed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cloud import StandIns, accounts_usable, exchange, github_claims, writers
from helpers import commit, copier_cli, default, git, markdown_section, said, working_tree_clone

pytestmark = pytest.mark.long

PROJECT, LOCATION = default("gcp_project_id"), default("gcp_location")
POOL, PROVIDER = default("gcp_workload_identity_pool"), default("gcp_workload_identity_provider")
# The organisation's repositories every package's reader reads.
SHARED = tuple(default(k) for k in ("gcp_pypi_remote", "gcp_internal_repository", "gcp_virtual_repository"))
OWNER = default("github_repository").split("/")[0]
OWNER_ID, MANAGER, STRANGER = "2000001", "5000001", "6000001"
PACKAGES = {  # project name -> (GitHub repository id); both names start "Enterprise Financial L"
    "Enterprise Financial Ledger Sync": "1000001",
    "Enterprise Financial Loans": "1000002",
}
ENVIRONMENT = default("github_environment")
RELEASE = "v0.9.0"  # the template release the clone is tagged as


class Package:
    def __init__(self, path: Path, repository_id: str) -> None:
        answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
        self.path, self.repository_id = path, repository_id
        self.github = str(answers["github_repository"])
        self.repository = str(answers["gcp_repository"])
        self.publisher = f"{answers['gcp_service_account']}@{PROJECT}.iam.gserviceaccount.com"
        self.reader = f"{answers['gcp_reader_service_account']}@{PROJECT}.iam.gserviceaccount.com"

    def claims(self, ref: str = "refs/tags/v1.0.0", **options: str) -> dict[str, str]:
        options.setdefault("environment", ENVIRONMENT)
        environment = options.pop("environment") or None
        return github_claims(self.github, self.repository_id, OWNER_ID, ref=ref, environment=environment, **options)


def usable(cloud: StandIns, claims: dict[str, str]) -> set[str]:
    return accounts_usable(cloud.gcloud(), PROJECT, POOL, PROVIDER, claims)


def may_write(cloud: StandIns, claims: dict[str, str], repository: str) -> set[str]:
    """The accounts a job with these claims may act as that may upload to `repository`."""
    return usable(cloud, claims) & writers(cloud.gcloud(), PROJECT, LOCATION, repository)


def readme_setup(project: Path) -> str:
    """The README's one setup command, as printed."""
    block = markdown_section((project / "README.md").read_text(), "## Google Cloud setup")
    [line] = [line for line in block.splitlines() if line.startswith("uvx --from ")]
    return line


def shell(cloud: StandIns, command: str, project: Path) -> subprocess.CompletedProcess[str]:
    return cloud.run("bash", "-c", command, cwd=project, TMPDIR=str(cloud.bin.parent))


@pytest.fixture(scope="module")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> tuple[StandIns, list[Package]]:
    """One Google Cloud project and GitHub organisation, both packages set up and checked by the
    README's line, their found values recorded and committed as the setup says."""
    root = tmp_path_factory.mktemp("organisation")
    template = working_tree_clone(root / "gar-template")
    git(template, "tag", RELEASE)
    cloud = StandIns(root / "cloud")
    cloud.add_project(PROJECT, "123456789012")
    packages = []
    for name, repository_id in PACKAGES.items():
        path = root / name.replace(" ", "-").lower()
        copied = copier_cli("copy", "--trust", "--defaults", "--data", f"project_name={name}", template, path)
        assert copied.returncode == 0, copied.stderr
        package = Package(path, repository_id)
        cloud.add_github_repository(package.github, repository_id, OWNER_ID)
        line = readme_setup(path)
        assert line == f"uvx --from git+file://{template}@{RELEASE} gar-template-setup"
        ran = shell(cloud, f"{line} --yes", path)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        record = next(x.strip() for x in ran.stdout.splitlines() if " update --trust " in x)
        recorded = shell(cloud, record, path)
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
        git(path, "add", "--all")
        commit(path, "Record the Google Cloud and GitHub ids")
        checked = shell(cloud, f"{line} --check", path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        packages.append(package)
    return cloud, packages


def copy_of(organisation: tuple[StandIns, list[Package]], root: Path) -> tuple[StandIns, list[Path]]:
    """The organisation's Google Cloud and GitHub, and clones of its projects, for one test to change."""
    cloud, packages = organisation
    (root / "cloud").mkdir(parents=True)
    for state in (cloud.gcloud_state, cloud.gh_state):
        shutil.copy(state, root / "cloud" / state.name)
    projects = []
    for package in packages:
        projects.append(root / package.path.name)
        git(root, "clone", "--quiet", str(package.path), package.path.name)
    changed = StandIns(root / "cloud")
    changed.forget_calls()
    return changed, projects


def attempts(package: Package) -> dict[str, dict[str, str]]:
    """Every way a person with write access to the repository could ask for the upload account."""
    return {
        "a release manager's version tag in the environment": package.claims(),
        "a tag vnightly": package.claims("refs/tags/vnightly"),
        "a tag v-attacker": package.claims("refs/tags/v-attacker"),
        "a tag very-unofficial": package.claims("refs/tags/very-unofficial"),
        "a workflow_dispatch run on a version tag": package.claims(event_name="workflow_dispatch"),
        "another workflow file at the tag": package.claims(workflow="release-by-hand.yml"),
        "a version tag pushed by someone who is not a release manager": package.claims(actor_id=STRANGER),
        "a push to a branch": package.claims("refs/heads/main", environment=""),
        "a branch job that names the environment": package.claims("refs/heads/evil"),
        "a tag job outside the environment": package.claims(environment=""),
        "a pull request job that names the environment": package.claims("refs/pull/7/merge", event_name="pull_request"),
        "another environment of the repository": package.claims(environment="staging"),
    }


def test_only_a_release_managers_version_tag_may_publish(organisation) -> None:
    cloud, packages = organisation
    for package in packages:
        for attempt, claims in attempts(package).items():
            allowed = may_write(cloud, claims, package.repository)
            expected = {package.publisher} if attempt.startswith("a release manager's") else set()
            assert allowed == expected, (package.github, attempt)


def test_each_package_publishes_with_its_own_account_and_writes_no_other_repository(organisation) -> None:
    cloud, (first, second) = organisation
    assert first.publisher != second.publisher and first.repository != second.repository
    assert first.publisher[:30].startswith("publish-enterprise-fina")  # both names were cut...
    assert first.publisher.split("@")[0] != second.publisher.split("@")[0]  # ...to two accounts
    for one, other in ((first, second), (second, first)):
        assert may_write(cloud, one.claims(), one.repository) == {one.publisher}
        assert may_write(cloud, one.claims(), other.repository) == set(), "no file under the other's name"
        assert writers(cloud.gcloud(), PROJECT, LOCATION, one.repository) == {one.publisher}


def test_impostors_of_the_repository_get_nothing(organisation) -> None:
    cloud, (first, _) = organisation
    another = github_claims(f"{OWNER}/other-tool", "1000099", OWNER_ID, ref="refs/tags/v1.0.0", environment=ENVIRONMENT)
    again = github_claims(first.github, "9999991", "9999992", ref="refs/tags/v1.0.0", environment=ENVIRONMENT)
    for claims in (another, again):
        assert usable(cloud, claims) == set()


def test_the_reader_reads_from_any_branch_and_writes_nowhere(organisation) -> None:
    cloud, packages = organisation
    state = cloud.gcloud()
    for package in packages:
        branch = package.claims("refs/heads/feature", environment="")
        assert usable(cloud, branch) == {package.reader}
        for name in (*(p.repository for p in packages), *SHARED):
            iam = state["repositories"][f"{PROJECT}/{LOCATION}/{name}"]["iam"]
            assert f"serviceAccount:{package.reader}" in iam["roles/artifactregistry.reader"], name
            assert package.reader not in writers(state, PROJECT, LOCATION, name), name
    stranger = github_claims(f"{OWNER}/not-set-up", "1000077", OWNER_ID, ref="refs/heads/main")
    assert usable(cloud, stranger) == set(), "only repositories whose setup bound them may read"


def test_google_subject_stays_within_127_bytes_for_the_longest_names(organisation) -> None:
    cloud, (first, _) = organisation
    owner, name = "o" * 39, "r" * 100  # the longest owner and repository names GitHub allows
    claims = github_claims(
        f"{owner}/{name}", first.repository_id, OWNER_ID, ref="refs/tags/v" + "9" * 240, environment=ENVIRONMENT
    )
    claims |= {"run_id": "9" * 20, "run_attempt": "9" * 5}
    result = exchange(cloud.gcloud(), PROJECT, POOL, PROVIDER, claims)
    assert result.admitted, result.reason
    assert all(len(v.encode()) <= 127 for v in result.attributes.values())


def test_the_mapping_uses_only_the_cel_google_documents(organisation) -> None:
    """Operators, `in`, the conditional operator and startsWith: no `matches`, no extensions."""
    cloud, _ = organisation
    provider = cloud.gcloud()["providers"][f"{PROJECT}/{POOL}/{PROVIDER}"]
    text = " ".join([*provider["mapping"].values(), provider["condition"]])
    assert set(re.findall(r"\.(\w+)\(", text)) == {"startsWith"}


@pytest.mark.parametrize(
    "answer",
    [
        "gcp_repository",  # the other package's repository: a second writer of it
        "gcp_service_account",  # the other package's publisher: this repository would publish as it
        "gcp_reader_service_account",  # the other package's publisher as this package's reader
    ],
)
def test_answers_that_name_another_packages_resource_stop_the_setup_with_nothing_changed(
    organisation, tmp_path: Path, answer: str
) -> None:
    """A writer of the second repository points its answers at the first package's resources,
    through the update that records answers, and runs the README's line as an administrator would."""
    cloud, (first, second) = copy_of(organisation, tmp_path)
    theirs = yaml.safe_load((first / ".copier-answers.yml").read_text())
    value = theirs[answer] if answer != "gcp_reader_service_account" else theirs["gcp_service_account"]
    tampered = copier_cli(
        "update", "--trust", "--defaults", "--vcs-ref=:current:", "--data", f"{answer}={value}", cwd=second
    )
    assert tampered.returncode == 0, tampered.stderr
    before = cloud.resources()
    stopped = shell(cloud, f"{readme_setup(second)} --yes", second)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "Nothing was changed" in said(stopped.stderr) or "nothing was" in said(stopped.stderr), stopped.stderr
    assert cloud.changing_calls() == [] and cloud.resources() == before


def test_a_release_manager_added_to_the_answers_is_bound_only_with_yes(organisation, tmp_path: Path) -> None:
    cloud, (_, second) = copy_of(organisation, tmp_path)
    recorded = yaml.safe_load((second / ".copier-answers.yml").read_text())["github_release_manager_ids"]
    added = copier_cli(
        "update",
        "--trust",
        "--defaults",
        "--vcs-ref=:current:",
        "--data",
        f"github_release_manager_ids={recorded},{STRANGER}",
        cwd=second,
    )
    assert added.returncode == 0, added.stderr
    line = readme_setup(second)
    unconfirmed = shell(cloud, line, second)  # no terminal here, and no --yes
    assert unconfirmed.returncode == 1 and f"(id {STRANGER})" in unconfirmed.stdout, unconfirmed.stdout
    assert cloud.changing_calls() == []
    confirmed = shell(cloud, f"{line} --yes", second)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    package = Package(second, PACKAGES["Enterprise Financial Loans"])
    assert may_write(cloud, package.claims(actor_id=STRANGER), package.repository) == {package.publisher}


def test_the_organisations_pinned_tool_runs_from_the_docs_and_refuses_another_source(
    organisation, tmp_path: Path
) -> None:
    """docs/publishing.md's `uv tool install` line, as printed, installs gar-template-setup on
    PATH; it checks a project as the README's line does, names itself in its messages, and
    refuses a project whose answers name another template source, reading nothing."""
    cloud, (first, _) = copy_of(organisation, tmp_path)
    publishing = (first / "docs/publishing.md").read_text()
    [install] = [line for line in publishing.splitlines() if line.startswith("uv tool install ")]
    tools = {"UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}
    path = f"{tmp_path / 'bin'}:{cloud.env()['PATH']}"
    installed = cloud.run("bash", "-c", install, cwd=first, **tools, PATH=path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    template = organisation[1][0].path.parent / "gar-template"
    version = cloud.run("gar-template-setup", "--version", cwd=first, PATH=path)
    assert version.stdout.strip() == f"gar-template-setup {RELEASE[1:]} from {template.as_uri()}"
    checked = cloud.run("gar-template-setup", "--check", cwd=first, PATH=path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # A writer points the answers at a fork: Copier records its source as the project's template.
    settings = json.loads((first / "scripts/gcp_settings.json").read_text())
    settings["template"]["source"] = "gh:attacker/gar-template"
    (first / "scripts/gcp_settings.json").write_text(json.dumps(settings))
    cloud.forget_calls()
    refused = cloud.run("gar-template-setup", cwd=first, PATH=path)
    assert refused.returncode == 1
    assert "gh:attacker/gar-template" in refused.stdout and "nothing was read or changed" in said(refused.stderr)
    assert cloud.gcloud()["calls"] == [] and cloud.gh()["calls"] == []
