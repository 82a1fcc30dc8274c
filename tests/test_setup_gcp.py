"""scripts/setup_gcp.py against stateful stand-ins for gcloud and gh, then gcloud's own parser.

The stand-ins (tests/fake_gcloud.py, tests/fake_gh.py) remember what was created and bound, so a
second run, a second package or a damaged earlier setup is seen as Google and GitHub would show
it. What the resulting policy admits is tested in test_policy.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cloud import StandIns
from helpers import Generated

IDS = {"repository": "1000001", "owner": "2000001"}
NUMBERS = {
    "my-gcp-project": "123456789012",
    "analytics-prod-42": "123456789012",
    "finance-tools-1": "555555555555",
    "shop-packages": "555666777888",
}
READ_ONLY = ("describe", "list", "get-iam-policy", "status")


def stand_ins(project: Generated, root: Path, **options: bool) -> StandIns:
    cloud = StandIns(root, **options)
    cloud.add_project(str(project.answers["gcp_project_id"]), NUMBERS.get(str(project.answers["gcp_project_id"]), "1"))
    cloud.add_github_repository(str(project.answers["github_repository"]), IDS["repository"], IDS["owner"])
    return cloud


def setup(project: Generated, cloud: StandIns, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = cloud.setup(project.path, *args)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def label(call: list[str]) -> str:
    """A command named by its words without flags: `artifacts repositories create python-packages`."""
    return " ".join(word for word in call if not word.startswith("-"))


def changes(calls: list[list[str]]) -> list[list[str]]:
    return [c for c in calls if not any(word in READ_ONLY for word in c[:5])]


def expected_changes(answers: dict[str, object]) -> dict[str, list[str]]:
    """Each command the first run must issue, by label, with every argument."""
    project, location, repository = answers["gcp_project_id"], answers["gcp_location"], answers["gcp_repository"]
    account = f"{answers['gcp_service_account']}@{project}.iam.gserviceaccount.com"
    p = f"--project={project}"
    wif = answers["publish_auth"] == "workload_identity"
    expected = {
        "enable APIs": [
            "services",
            "enable",
            "artifactregistry.googleapis.com",
            "iam.googleapis.com",
            "iamcredentials.googleapis.com",
            *(["sts.googleapis.com"] if wif else []),
            p,
        ],
        "create the repository": [
            *("artifacts", "repositories", "create", repository, "--repository-format=python"),
            *(f"--location={location}", p, "--description=Private Python packages"),
        ],
        "create the service account": [
            *("iam", "service-accounts", "create", answers["gcp_service_account"], p),
            f"--display-name=Publishes {answers['distribution_name']} from GitHub Actions",
        ],
        "let it upload to the repository": [
            *("artifacts", "repositories", "add-iam-policy-binding", repository, f"--location={location}", p),
            *(f"--member=serviceAccount:{account}", "--role=roles/artifactregistry.writer", "--condition=None"),
        ],
    }
    if wif:
        pool, provider = answers["gcp_workload_identity_pool"], answers["gcp_workload_identity_provider"]
        where = (f"--workload-identity-pool={pool}", "--location=global", p)
        number = NUMBERS[str(project)]
        expected |= {
            "create the pool": [
                *("iam", "workload-identity-pools", "create", pool, "--location=global", p),
                "--display-name=GitHub Actions",
            ],
            "create the provider": ["iam", "workload-identity-pools", "providers", "create-oidc", provider, *where],
            "let tag releases act as the account": [
                *("iam", "service-accounts", "add-iam-policy-binding", account, p),
                "--role=roles/iam.workloadIdentityUser",
                f"--member=principalSet://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/"
                f"{pool}/attribute.release_repository_id/{IDS['repository']}",
                "--condition=None",
            ],
        }
    else:
        expected |= {
            "let the key mint tokens": [
                *("iam", "service-accounts", "add-iam-policy-binding", account, p),
                *(
                    "--role=roles/iam.serviceAccountTokenCreator",
                    f"--member=serviceAccount:{account}",
                    "--condition=None",
                ),
            ],
            "create a key": ["iam", "service-accounts", "keys", "create", "KEY_FILE", f"--iam-account={account}", p],
        }
    return expected


@pytest.mark.parametrize("answer_set", ["defaults", "wif-hyphen-digits", "key-apache", "explicit-names-rc"])
def test_first_run_issues_exactly_the_expected_commands(generate, answer_set: str, tmp_path: Path) -> None:
    project = generate(answer_set)
    cloud = stand_ins(project, tmp_path)
    output = setup(project, cloud).stdout
    issued = changes(cloud.gcloud()["calls"])
    issued = [[*c[:4], "KEY_FILE", *c[5:]] if c[2:4] == ["keys", "create"] else c for c in issued]
    expected = expected_changes(project.answers)
    # Each expected command is issued (the provider's mapping and condition: see test_policy.py); the first
    # binding of the new account is refused once and retried, and nothing else is issued.
    for name, argv in expected.items():
        assert [c for c in issued if c[: len(argv)] == argv], f"{name}: {argv}"
    if not project.answers["internal_dependencies"]:  # the reader's commands: see test_policy.py
        assert len(issued) == len(expected) + 1, [label(c) for c in issued]
    assert "the service account is not visible yet; retrying" in output
    records = [line.strip() for line in output.splitlines() if line.strip().startswith("copier update")]
    if project.answers["publish_auth"] == "workload_identity" and project.answers["github_repository_id"]:
        assert records == [], "every value was recorded already"
    elif project.answers["publish_auth"] == "workload_identity":
        assert records[0] == (
            "copier update --trust --defaults --vcs-ref=:current: "
            f"--data gcp_project_number={NUMBERS[str(project.answers['gcp_project_id'])]} "
            f"--data github_repository_id={IDS['repository']} --data github_owner_id={IDS['owner']}"
        )
        environment = cloud.gh()["repositories"][project.answers["github_repository"]]["environments"]
        assert environment["artifact-registry"]["policies"] == [{"name": "v*", "type": "tag"}]
    else:
        secrets = cloud.gh()["repositories"][project.answers["github_repository"]]["secrets"]
        assert list(secrets["environment:artifact-registry"]) == ["GOOGLE_CREDENTIALS"]
        assert "GOOGLE_CREDENTIALS" not in secrets.get("repository", {}), "an environment secret only"
        assert list(tmp_path.glob("setup-gcp-key-*")) == [], "the key file is gone once stored"


@pytest.mark.parametrize("answer_set", ["defaults", "key-apache"])
def test_second_run_changes_nothing(generate, answer_set: str, tmp_path: Path) -> None:
    project = generate(answer_set)
    cloud = stand_ins(project, tmp_path)
    setup(project, cloud)
    before = cloud.resources()
    cloud.forget_calls()
    output = setup(project, cloud).stdout
    assert cloud.resources() == before
    assert [label(c) for c in changes(cloud.gcloud()["calls"]) if "create" in c[:5]] == []
    assert "exists" in output


@pytest.mark.parametrize("answer_set", ["defaults", "key-apache"])
def test_dry_run_prints_every_command_and_runs_none(generate, answer_set: str, tmp_path: Path) -> None:
    project = generate(answer_set)
    cloud = stand_ins(project, tmp_path)
    output = setup(project, cloud, "--dry-run").stdout
    assert cloud.gcloud()["calls"] == [] and cloud.gh()["calls"] == []
    printed = [line for line in output.splitlines() if line.startswith("+ gcloud ")]
    assert len(printed) >= len(expected_changes(project.answers))
    assert list(tmp_path.glob("setup-gcp-key-*")) == [], "a dry run creates no key"


def test_without_gh_the_ids_come_from_flags(generate, tmp_path: Path) -> None:
    project = generate("defaults")
    cloud = stand_ins(project, tmp_path, gh=False)
    refused = setup(project, cloud, ok=False)
    assert refused.returncode == 1
    assert "--repository-id ID --owner-id ID" in refused.stderr
    assert cloud.gcloud()["calls"] == [], "nothing is created before the ids are known"
    output = setup(project, cloud, "--repository-id", IDS["repository"], "--owner-id", IDS["owner"]).stdout
    assert "gh api --method PUT" in output, "without gh the GitHub side is printed, not done"


def test_a_recorded_id_that_github_contradicts_stops_everything(generate, tmp_path: Path) -> None:
    project = generate("wif-hyphen-digits")  # its answers record the ids
    cloud = stand_ins(project, tmp_path)
    # The repository was deleted and its name registered again by someone else.
    cloud.add_github_repository(str(project.answers["github_repository"]), "7777777", "8888888")
    refused = setup(project, cloud, ok=False)
    assert refused.returncode == 1
    assert f"now has github_repository_id 7777777, but this project recorded {IDS['repository']}" in refused.stderr
    assert cloud.gcloud()["calls"] == [], "nothing is created or bound for the impostor"


def test_an_existing_provider_that_differs_is_shown_and_changed_only_on_request(generate, tmp_path: Path) -> None:
    project = generate("defaults")
    cloud = stand_ins(project, tmp_path)
    setup(project, cloud)
    state = cloud.gcloud()
    provider = state["providers"]["my-gcp-project/github-actions/github"]
    provider["condition"] = "assertion.repository == 'your-org/my-package'"  # an earlier template's, by name
    state["service_accounts"]["publish-my-package@my-gcp-project.iam.gserviceaccount.com"]["iam"][
        "roles/iam.workloadIdentityUser"
    ].append(
        "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github-actions/attribute.repository/your-org/my-package"
    )
    cloud.write_gcloud(state)

    refused = setup(project, cloud, ok=False)
    assert refused.returncode == 1
    assert "has   assertion.repository == 'your-org/my-package'" in refused.stderr
    assert "--update-provider" in refused.stderr
    assert cloud.gcloud()["providers"]["my-gcp-project/github-actions/github"]["condition"].startswith(
        "assertion.repository =="
    )

    updated = setup(project, cloud, "--update-provider").stdout
    assert "updating provider github" in updated
    assert "removing an earlier binding that no longer matches" in updated
    after = cloud.gcloud()
    assert (
        after["providers"]["my-gcp-project/github-actions/github"]["condition"]
        == "assertion.repository_owner_id == '2000001'"
    )
    members = after["service_accounts"]["publish-my-package@my-gcp-project.iam.gserviceaccount.com"]["iam"]
    assert [m.rsplit("/", 2)[-2] for m in members["roles/iam.workloadIdentityUser"]] == [
        "attribute.release_repository_id"
    ]


def test_a_soft_deleted_pool_and_provider_are_restored(generate, tmp_path: Path) -> None:
    project = generate("defaults")
    cloud = stand_ins(project, tmp_path)
    setup(project, cloud)
    state = cloud.gcloud()
    state["pools"]["my-gcp-project/github-actions"]["state"] = "DELETED"
    state["providers"]["my-gcp-project/github-actions/github"]["state"] = "DELETED"
    cloud.write_gcloud(state)
    output = setup(project, cloud).stdout
    assert "pool github-actions was deleted" in output and "provider github was deleted" in output
    after = cloud.gcloud()
    assert after["pools"]["my-gcp-project/github-actions"]["state"] == "ACTIVE"
    assert after["providers"]["my-gcp-project/github-actions/github"]["state"] == "ACTIVE"


def test_key_rotation_stores_the_new_key_and_leaves_exactly_one(generate, tmp_path: Path) -> None:
    project = generate("key-apache")
    cloud = stand_ins(project, tmp_path)
    setup(project, cloud)
    account = f"{project.answers['gcp_service_account']}@finance-tools-1.iam.gserviceaccount.com"
    first = cloud.gcloud()["service_accounts"][account]["keys"]
    secret = cloud.gh()["repositories"]["Fin-Org/ledger_sync"]["secrets"]["environment:artifact-registry"]
    setup(project, cloud, "--new-key")
    keys = cloud.gcloud()["service_accounts"][account]["keys"]
    assert len(keys) == 1 and keys[0]["id"] != first[0]["id"] and not keys[0]["disabled"]
    rotated = cloud.gh()["repositories"]["Fin-Org/ledger_sync"]["secrets"]["environment:artifact-registry"]
    assert rotated["GOOGLE_CREDENTIALS"] != secret["GOOGLE_CREDENTIALS"], "the new key was stored"
    disabled = [c for c in cloud.gcloud()["calls"] if c[2:4] == ["keys", "disable"]]
    assert [c[4] for c in disabled] == [first[0]["id"]], "the old key is disabled before it is deleted"


def test_an_organisation_that_forbids_keys_gets_told_why_and_what_instead(generate, tmp_path: Path) -> None:
    project = generate("key-apache")
    cloud = stand_ins(project, tmp_path)
    state = cloud.gcloud()
    state["key_creation_disabled"] = True
    cloud.write_gcloud(state)
    refused = setup(project, cloud, ok=False)
    assert refused.returncode == 1
    assert "constraints/iam.disableServiceAccountKeyCreation forbids service account keys" in refused.stderr
    assert "--data publish_auth=workload_identity" in refused.stderr


def test_readers_and_the_pypi_proxy(generate, tmp_path: Path) -> None:
    project = generate("defaults")
    cloud = stand_ins(project, tmp_path)
    setup(project, cloud, "--pypi-proxy", "--reader", "group:data@example.com")
    repositories = cloud.gcloud()["repositories"]
    remote, virtual = (
        repositories["my-gcp-project/us-central1/pypi-remote"],
        repositories["my-gcp-project/us-central1/python-packages-all"],
    )
    assert remote["mode"] == "REMOTE_REPOSITORY" and virtual["mode"] == "VIRTUAL_REPOSITORY"
    ranked = sorted(virtual["upstreams"], key=lambda u: -u["priority"])
    assert [u["id"] for u in ranked] == ["python-packages", "pypi-remote"], "the private repository is read first"
    for name in ("python-packages", "pypi-remote", "python-packages-all"):
        iam = repositories[f"my-gcp-project/us-central1/{name}"]["iam"]
        assert iam["roles/artifactregistry.reader"] == ["group:data@example.com"]
        assert "group:data@example.com" not in iam.get("roles/artifactregistry.writer", [])
    refused = setup(project, cloud, "--reader", "allUsers", ok=False)
    assert refused.returncode == 1 and "expected a member such as group:" in refused.stderr


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="the real gcloud is not installed")
def test_real_gcloud_accepts_every_command(generate, tmp_path: Path) -> None:
    """Every distinct command the script issued in these scenarios, parsed by the real gcloud."""
    distinct: dict[str, list[str]] = {}
    for answer_set, args in (("defaults", ["--pypi-proxy", "--reader", "group:g@example.com"]), ("key-apache", [])):
        project = generate(answer_set)
        cloud = stand_ins(project, tmp_path / answer_set)
        setup(project, cloud, *args)
        setup(project, cloud, "--new-key" if answer_set == "key-apache" else "--dry-run")
        if answer_set == "defaults":  # the repair paths: a changed provider, a deleted pool and provider
            state = cloud.gcloud()
            state["providers"]["my-gcp-project/github-actions/github"] |= {"condition": "true", "state": "DELETED"}
            state["pools"]["my-gcp-project/github-actions"]["state"] = "DELETED"
            state["service_accounts"]["publish-my-package@my-gcp-project.iam.gserviceaccount.com"]["iam"][
                "roles/iam.workloadIdentityUser"
            ].append("principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*")
            cloud.write_gcloud(state)
            setup(project, cloud, "--update-provider")
        for call in cloud.gcloud()["calls"]:
            distinct.setdefault(label([w for w in call if not w.startswith(("projects/", "/"))])[:60], call)
    config = tmp_path / "gcloud-config"
    config.mkdir()
    env = {**os.environ, "CLOUDSDK_CONFIG": str(config), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
    upstreams = tmp_path / "upstreams.json"
    upstreams.write_text(
        json.dumps([{"id": "a", "repository": "projects/p/locations/l/repositories/a", "priority": 1}])
    )
    verbs = {word for c in distinct.values() for word in c[:5]}
    assert {"create-oidc", "update-oidc", "undelete", "remove-iam-policy-binding", "disable", "delete"} <= verbs
    for command in distinct.values():
        # gcloud reads the upstream policy file while parsing: give it one that still exists.
        command = [
            f"--upstream-policy-file={upstreams}" if word.startswith("--upstream-policy-file=") else word
            for word in command
        ]
        result = subprocess.run(["gcloud", *command], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert "You do not currently have an active account selected" in result.stderr, (command, result.stderr)


def test_without_gh_the_printed_commands_store_the_key_and_rotation_retires_the_old_one(
    generate, tmp_path: Path
) -> None:
    """Key mode for someone without the GitHub CLI: the script prints the GitHub side; run as
    printed once gh is there, they create the environment and store the key, and the key file goes."""
    project = generate("explicit-names-rc")

    def printed(output: str, *starts: str) -> list[str]:
        starts = (*starts, "base64 ", "rm -r ", "python3 scripts/setup_gcp.py --retire")
        return [line.strip() for line in output.splitlines() if line.strip().startswith(starts)]

    cloud = stand_ins(project, tmp_path, gh=False)
    commands = printed(setup(project, cloud).stdout, "echo ", "gh api ")
    StandIns(tmp_path)  # the same Google Cloud and GitHub, now with gh on PATH
    for command in commands:
        assert cloud.run("bash", "-c", command, cwd=project.path).returncode == 0, command
    repository = cloud.gh()["repositories"][project.answers["github_repository"]]
    assert repository["environments"]["artifact-registry"]["policies"] == [{"name": "v*", "type": "tag"}]
    assert list(repository["secrets"]["environment:artifact-registry"]) == ["GOOGLE_CREDENTIALS"]
    assert list(tmp_path.glob("setup-gcp-key-*")) == []

    (cloud.bin / "gh").unlink()
    account = f"{project.answers['gcp_service_account']}@my-gcp-project.iam.gserviceaccount.com"
    first = [k["id"] for k in cloud.gcloud()["service_accounts"][account]["keys"]]
    commands = printed(setup(project, cloud, "--new-key").stdout)  # the environment exists now
    StandIns(tmp_path)
    new = [k["id"] for k in cloud.gcloud()["service_accounts"][account]["keys"] if k["id"] not in first]
    for command in commands:
        ran = cloud.run("bash", "-c", command.replace("NEW_KEY_ID", new[0]), cwd=project.path)
        assert ran.returncode == 0, (command, ran.stdout, ran.stderr)
    assert [k["id"] for k in cloud.gcloud()["service_accounts"][account]["keys"]] == new
