"""scripts/setup-gcp.sh: the exact gcloud commands, idempotence, dry run, and gcloud's own parser.

Google Cloud cannot be reached from here, so a recording gcloud (tests/fake_gcloud.py) stands
first on PATH and the commands it receives are checked one by one. The real gcloud, where
installed, then parses each distinct command: with no account configured it stops at "no active
account" only once its arguments are valid.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import Generated

FAKE_GCLOUD = Path(__file__).with_name("fake_gcloud.py")


def run_setup(
    project: Generated, tmp_path: Path, *args: str, existing: str = "", keys: str = ""
) -> tuple[str, list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "gcloud").unlink(missing_ok=True)
    (bin_dir / "gcloud").symlink_to(FAKE_GCLOUD)
    log = tmp_path / "gcloud.log"
    log.write_text("")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GCLOUD_LOG": str(log),
        "GCLOUD_EXISTING": existing,
        "GCLOUD_KEYS": keys,
        "TMPDIR": str(tmp_path),
    }
    result = subprocess.run(
        ["bash", project.path / "scripts" / "setup-gcp.sh", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=project.path,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, [json.loads(line) for line in log.read_text().splitlines()]


def expected_commands(answers: dict[str, object], *, project_number: str = "123456789012") -> list[list[str]]:
    project, location, repository = answers["gcp_project_id"], answers["gcp_location"], answers["gcp_repository"]
    account = f"{answers['gcp_service_account']}@{project}.iam.gserviceaccount.com"
    wif = answers["publish_auth"] == "workload_identity"
    commands = [
        [
            "services",
            "enable",
            "artifactregistry.googleapis.com",
            "iam.googleapis.com",
            "iamcredentials.googleapis.com",
            *(["sts.googleapis.com"] if wif else []),
            f"--project={project}",
        ],
        ["artifacts", "repositories", "describe", repository, f"--location={location}", f"--project={project}"],
        [
            "artifacts",
            "repositories",
            "create",
            repository,
            "--repository-format=python",
            f"--location={location}",
            f"--project={project}",
            "--description=Private Python packages",
        ],
        ["iam", "service-accounts", "describe", account, f"--project={project}"],
        [
            "iam",
            "service-accounts",
            "create",
            str(answers["gcp_service_account"]),
            f"--project={project}",
            f"--display-name=Publishes {answers['distribution_name']} from GitHub Actions",
        ],
        [
            "artifacts",
            "repositories",
            "add-iam-policy-binding",
            repository,
            f"--location={location}",
            f"--project={project}",
            f"--member=serviceAccount:{account}",
            "--role=roles/artifactregistry.writer",
            "--condition=None",
        ],
    ]
    if wif:
        pool, provider, github = (
            answers["gcp_workload_identity_pool"],
            answers["gcp_workload_identity_provider"],
            answers["github_repository"],
        )
        commands += [
            ["projects", "describe", project, "--format=value(projectNumber)"],
            ["iam", "workload-identity-pools", "describe", pool, "--location=global", f"--project={project}"],
            [
                "iam",
                "workload-identity-pools",
                "create",
                pool,
                "--location=global",
                f"--project={project}",
                "--display-name=GitHub Actions",
            ],
            [
                "iam",
                "workload-identity-pools",
                "providers",
                "describe",
                provider,
                f"--workload-identity-pool={pool}",
                "--location=global",
                f"--project={project}",
            ],
            [
                "iam",
                "workload-identity-pools",
                "providers",
                "create-oidc",
                provider,
                f"--workload-identity-pool={pool}",
                "--location=global",
                f"--project={project}",
                "--display-name=GitHub OIDC",
                "--issuer-uri=https://token.actions.githubusercontent.com",
                "--attribute-mapping=google.subject=assertion.sub,attribute.repository=assertion.repository,"
                "attribute.repository_owner=assertion.repository_owner",
                f"--attribute-condition=assertion.repository == '{github}'",
            ],
            [
                "iam",
                "service-accounts",
                "add-iam-policy-binding",
                account,
                f"--project={project}",
                "--role=roles/iam.workloadIdentityUser",
                "--condition=None",
                f"--member=principalSet://iam.googleapis.com/projects/{project_number}/locations/global/"
                f"workloadIdentityPools/{pool}/attribute.repository/{github}",
            ],
        ]
    else:
        commands += [
            [
                "iam",
                "service-accounts",
                "add-iam-policy-binding",
                account,
                f"--project={project}",
                "--role=roles/iam.serviceAccountTokenCreator",
                f"--member=serviceAccount:{account}",
                "--condition=None",
            ],
            [
                "iam",
                "service-accounts",
                "keys",
                "list",
                f"--iam-account={account}",
                f"--project={project}",
                "--managed-by=user",
                "--format=value(name)",
            ],
            [
                "iam",
                "service-accounts",
                "keys",
                "create",
                "KEY_FILE",
                f"--iam-account={account}",
                f"--project={project}",
            ],
        ]
    return commands


def without_key_path(commands: list[list[str]]) -> list[list[str]]:
    return [[*c[:4], "KEY_FILE", *c[5:]] if c[2:4] == ["keys", "create"] else c for c in commands]


@pytest.mark.parametrize("answer_set", ["defaults", "wif-hyphen-digits", "key-apache", "explicit-names-rc"])
def test_first_run_issues_exactly_the_expected_commands(generate, answer_set: str, tmp_path: Path) -> None:
    project = generate(answer_set)
    output, commands = run_setup(project, tmp_path)
    assert without_key_path(commands) == expected_commands(project.answers)
    if project.answers["publish_auth"] == "workload_identity":
        provider = (
            f"projects/123456789012/locations/global/workloadIdentityPools/"
            f"{project.answers['gcp_workload_identity_pool']}/providers/{project.answers['gcp_workload_identity_provider']}"
        )
        assert provider in output
        recorded = project.answers["gcp_project_number"]
        assert ("copier update --defaults --data gcp_project_number=123456789012" in output) == (
            recorded != "123456789012"
        )
    else:
        key_file = Path(next(c[4] for c in commands if c[2:4] == ["keys", "create"]))
        assert not key_file.is_relative_to(project.path), "the key must be written outside the repository"
        assert key_file.read_text().startswith("{")
        assert f"gh secret set GOOGLE_CREDENTIALS --repo {project.answers['github_repository']}" in output


@pytest.mark.parametrize("answer_set", ["defaults", "key-apache"])
def test_second_run_creates_nothing_that_exists(generate, answer_set: str, tmp_path: Path) -> None:
    project = generate(answer_set)
    _, commands = run_setup(
        project,
        tmp_path,
        existing="repositories,service-accounts,workload-identity-pools,providers",
        keys="projects/p/serviceAccounts/a/keys/0123",
    )
    creating = [c for c in commands if c[2:4] == ["keys", "create"] or "create" in c[:3] or "create-oidc" in c]
    assert creating == []
    expected_bindings = [c for c in expected_commands(project.answers) if "add-iam-policy-binding" in c]
    assert [c for c in commands if "add-iam-policy-binding" in c] == expected_bindings


@pytest.mark.parametrize("answer_set", ["defaults", "key-apache"])
def test_dry_run_prints_every_command_and_runs_none(generate, answer_set: str, tmp_path: Path) -> None:
    project = generate(answer_set)
    output, commands = run_setup(project, tmp_path, "--dry-run")
    assert commands == []
    printed = [line for line in output.splitlines() if line.startswith("+ gcloud ")]
    creates = [
        c for c in expected_commands(project.answers, project_number="PROJECT_NUMBER") if "describe" not in c[:4]
    ]
    if project.answers["publish_auth"] == "workload_identity":
        creates.insert(
            6, ["projects", "describe", str(project.answers["gcp_project_id"]), "--format=value(projectNumber)"]
        )
    else:
        creates = [c for c in creates if c[2:4] != ["keys", "list"]]
    assert len(printed) == len(creates)
    assert list(tmp_path.glob("tmp*")) == [], "a dry run creates no key directory"


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="the real gcloud is not installed")
def test_real_gcloud_accepts_every_command(generate, tmp_path: Path) -> None:
    distinct: dict[str, list[str]] = {}
    for answer_set in ("defaults", "key-apache"):
        project = generate(answer_set)
        _, commands = run_setup(project, tmp_path / answer_set)
        for command in commands:
            distinct.setdefault(" ".join(command[:4]), command)
    config = tmp_path / "gcloud-config"
    config.mkdir()
    env = {**os.environ, "CLOUDSDK_CONFIG": str(config), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
    for command in distinct.values():
        result = subprocess.run(["gcloud", *command], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert "You do not currently have an active account selected" in result.stderr, (command, result.stderr)
