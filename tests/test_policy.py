"""What Google admits after setup: only a tag release of the package's own repository, in its
environment, may act as the account that uploads; for every package of an organisation at once.

The policy is what the setup script left in the gcloud stand-in's state (the provider's mapping and
condition, the bindings); tests/cloud.py evaluates it with cel-python against GitHub's documented
token claims, the way Google does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cloud import StandIns, accounts_usable, github_claims, writers
from helpers import TEMPLATE_ROOT, Generated, copier_cli

PROJECT, LOCATION, REPOSITORY, POOL, PROVIDER = (
    "my-gcp-project",
    "us-central1",
    "python-packages",
    "github-actions",
    "github",
)
FIRST = ("your-org/my-package", "1000001")
SECOND = ("your-org/second-package", "1000002")
OWNER_ID = "2000001"


def release(repository: str, repository_id: str, owner_id: str = OWNER_ID) -> dict[str, str]:
    return github_claims(repository, repository_id, owner_id, ref="refs/tags/v1.0.0", environment="artifact-registry")


def attempts(repository: str, repository_id: str) -> dict[str, dict[str, str]]:
    """Every way a person with write access to the repository could ask for the upload account."""
    claims = {
        "a tag release in the environment": release(repository, repository_id),
        "a push to a branch": github_claims(repository, repository_id, OWNER_ID, ref="refs/heads/main"),
        "a branch job that names the environment": github_claims(
            repository, repository_id, OWNER_ID, ref="refs/heads/evil", environment="artifact-registry"
        ),
        "a tag job outside the environment": github_claims(repository, repository_id, OWNER_ID, ref="refs/tags/v1.0.0"),
        "a tag that is not a version, in the environment": github_claims(
            repository, repository_id, OWNER_ID, ref="refs/tags/nightly", environment="artifact-registry"
        ),
        "a pull request": github_claims(
            repository, repository_id, OWNER_ID, ref="refs/pull/7/merge", event_name="pull_request"
        ),
        "a pull request job that names the environment": github_claims(
            repository,
            repository_id,
            OWNER_ID,
            ref="refs/pull/7/merge",
            environment="artifact-registry",
            event_name="pull_request",
        ),
        "another repository of the organisation": release("your-org/other-tool", "1000099"),
        "the name registered again by someone else": release(repository, "9999991", "9999992"),
        "another environment of the repository": github_claims(
            repository, repository_id, OWNER_ID, ref="refs/tags/v1.0.0", environment="staging"
        ),
    }
    return claims


def account(package: str) -> str:
    return f"publish-{package}@{PROJECT}.iam.gserviceaccount.com"


def publishers(cloud: StandIns, claims: dict[str, str]) -> set[str]:
    state = cloud.gcloud()
    return accounts_usable(state, PROJECT, POOL, PROVIDER, claims) & writers(state, PROJECT, LOCATION, REPOSITORY)


@pytest.fixture(scope="module")
def organisation(generate, tmp_path_factory: pytest.TempPathFactory) -> tuple[StandIns, Generated, Path]:
    """One Google Cloud project and GitHub organisation; the first package set up, the second generated."""
    root = tmp_path_factory.mktemp("organisation")
    cloud = StandIns(root / "cloud")
    cloud.add_project(PROJECT, "123456789012")
    cloud.add_github_repository(*FIRST, OWNER_ID)
    cloud.add_github_repository(*SECOND, OWNER_ID)
    first = generate("defaults")
    assert first.answers["github_repository"] == FIRST[0]
    second = root / "second-package"
    copied = copier_cli(
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        "HEAD",
        "--data",
        "project_name=Second Package",
        TEMPLATE_ROOT,
        second,
    )
    assert copied.returncode == 0, copied.stderr
    ran = cloud.setup(first.path)
    assert ran.returncode == 0, ran.stderr
    return cloud, first, second


@pytest.mark.parametrize("attempt", list(attempts(*FIRST)))
def test_only_a_tag_release_in_the_environment_may_publish(organisation, attempt: str) -> None:
    cloud, _, _ = organisation
    allowed = publishers(cloud, attempts(*FIRST)[attempt])
    expected = {account("my-package")} if attempt == "a tag release in the environment" else set()
    assert allowed == expected


def test_a_second_package_of_the_organisation_publishes_and_the_first_still_does(organisation) -> None:
    cloud, first, second = organisation
    provider_before = cloud.gcloud()["providers"][f"{PROJECT}/{POOL}/{PROVIDER}"]
    ran = cloud.setup(second)
    assert ran.returncode == 0, ran.stderr
    assert "provider github exists and admits exactly what publishing needs" in ran.stdout
    assert cloud.gcloud()["providers"][f"{PROJECT}/{POOL}/{PROVIDER}"] == provider_before, "the shared provider is kept"

    assert publishers(cloud, release(*SECOND)) == {account("second-package")}
    assert publishers(cloud, release(*FIRST)) == {account("my-package")}
    for name, claims in attempts(*SECOND).items():
        if name != "a tag release in the environment":
            assert publishers(cloud, claims) == set(), name

    # The first package again: its run changes nothing and both keep publishing.
    before = cloud.resources()
    again = cloud.setup(first.path)
    assert again.returncode == 0, again.stderr
    assert cloud.resources() == before
    assert publishers(cloud, release(*FIRST)) == {account("my-package")}
    assert publishers(cloud, release(*SECOND)) == {account("second-package")}


@pytest.mark.parametrize("answer_set", ["internal-deps-wif", "key-apache"])
def test_the_ci_reader_may_read_from_any_branch_and_never_write(generate, answer_set: str, tmp_path: Path) -> None:
    project = generate(answer_set)
    answers = project.answers
    project_id, location, repository = answers["gcp_project_id"], answers["gcp_location"], answers["gcp_repository"]
    github = str(answers["github_repository"])
    cloud = StandIns(tmp_path)
    cloud.add_project(str(project_id), "555666777888")
    cloud.add_github_repository(github, "3000001", "4000001")
    ran = cloud.setup(project.path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    state = cloud.gcloud()
    reader = f"{answers['gcp_reader_service_account']}@{project_id}.iam.gserviceaccount.com"
    for name in (repository, "pypi-remote", f"{repository}-all"):
        iam = state["repositories"][f"{project_id}/{location}/{name}"]["iam"]
        assert f"serviceAccount:{reader}" in iam["roles/artifactregistry.reader"], name
        assert f"serviceAccount:{reader}" not in iam.get("roles/artifactregistry.writer", []), name
    if answers["publish_auth"] != "workload_identity":
        secrets = cloud.gh()["repositories"][github]["secrets"]
        assert set(secrets["repository"]) == {"ARTIFACT_REGISTRY_READER_KEY"}, "the reader's key, never the publisher's"
        return
    pool, provider = answers["gcp_workload_identity_pool"], answers["gcp_workload_identity_provider"]
    branch = github_claims(github, "3000001", "4000001", ref="refs/heads/feature")
    assert accounts_usable(state, str(project_id), str(pool), str(provider), branch) == {reader}
    assert reader not in writers(state, str(project_id), str(location), str(repository))
    other = github_claims(f"{github.split('/')[0]}/other", "3000099", "4000001", ref="refs/heads/main")
    assert accounts_usable(state, str(project_id), str(pool), str(provider), other) == set()
