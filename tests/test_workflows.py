"""The generated workflows: security audit, schema, pins, least privilege, rendered coordinates."""

from __future__ import annotations

import os
import re

import pytest
import yaml
from answer_sets import ANSWER_SETS
from helpers import TEMPLATE_ROOT, Generated, tool

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+?)@(\S+)(.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def all_projects(generate) -> list[Generated]:
    return [generate(name) for name in sorted(ANSWER_SETS)]


def test_zizmor_finds_nothing_in_any_answer_set(all_projects: list[Generated]) -> None:
    # Whole project directories, so that .github/zizmor.yml and dependabot.yml are read too.
    result = tool("zizmor", "--offline", "--no-progress", *(p.path for p in all_projects), TEMPLATE_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_pedantic_persona_finds_nothing_in_the_generated_workflows(all_projects: list[Generated]) -> None:
    result = tool("zizmor", "--offline", "--no-progress", "--persona", "pedantic", *(p.path for p in all_projects))
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_and_dependabot_match_github_schemas(all_projects: list[Generated]) -> None:
    workflows = [w for p in all_projects for w in (p.path / ".github/workflows").glob("*.yml")]
    workflows += list((TEMPLATE_ROOT / ".github/workflows").glob("*.yml"))
    opted_in = sum(bool(p.answers["template_updates"]) for p in all_projects)
    assert 0 < opted_in < len(all_projects), "the answer sets cover both sides of template_updates"
    assert len(workflows) == 2 * len(all_projects) + opted_in + 2  # and this repository's ci.yml, release.yml
    result = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    dependabot = [p.path / ".github/dependabot.yml" for p in all_projects] + [TEMPLATE_ROOT / ".github/dependabot.yml"]
    result = tool("check-jsonschema", "--builtin-schema", "vendor.dependabot", *dependabot)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_commit_with_its_version_and_the_same_everywhere() -> None:
    sources = [*TEMPLATE_ROOT.glob("template/.github/workflows/*"), *TEMPLATE_ROOT.glob(".github/workflows/*")]
    pins: dict[str, set[tuple[str, str]]] = {}
    for source in sources:
        for action, ref, comment in USES.findall(source.read_text()):
            if action.startswith(("./", "$/")):
                continue  # this repository's own workflow
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{source.name}: {action}@{ref} is not pinned to a commit"
            version = re.fullmatch(r"\s*# (v\d+\.\d+\.\d+)\s*", comment)
            assert version, f"{source.name}: {action}@{ref} lacks its '# vX.Y.Z' comment"
            pins.setdefault(action, set()).add((ref, version.group(1)))
    assert pins, "no action found"
    assert {action: refs for action, refs in pins.items() if len(refs) > 1} == {}


def publish_workflow(project: Generated) -> dict:
    return yaml.safe_load((project.path / ".github/workflows/publish.yml").read_text())


def test_publish_runs_on_version_tags_with_least_privilege(project: Generated) -> None:
    workflow = publish_workflow(project)
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # YAML reads the key `on` as True
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["test"]["uses"] == "$/.github/workflows/test.yml"
    assert jobs["build"]["needs"] == "test" and jobs["publish"]["needs"] == "build"
    assert jobs["build"]["permissions"] == {"contents": "read"}
    wif = project.answers["publish_auth"] == "workload_identity"
    expected = {"contents": "read", "id-token": "write"} if wif else {"contents": "read"}
    assert jobs["publish"]["permissions"] == expected
    assert jobs["publish"]["environment"] == "artifact-registry"
    checkout = next(s for s in jobs["build"]["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    checkouts = [s for s in jobs["publish"]["steps"] if "checkout" in s.get("uses", "")]
    # The publish job never builds: it checks out only the hash-pinned list of its one tool.
    assert [c["with"]["sparse-checkout"] for c in checkouts] == [".github/publish-requirements.txt"]
    assert jobs["test"]["needs"] == "configuration" and jobs["configuration"]["permissions"] == {}
    assert jobs["failure"]["if"] == "failure()" and jobs["failure"]["permissions"] == {}


def test_publish_coordinates_are_rendered_once_from_the_answers(project: Generated) -> None:
    answers = project.answers
    workflow = publish_workflow(project)
    account = f"{answers['gcp_service_account']}@{answers['gcp_project_id']}.iam.gserviceaccount.com"
    assert {
        k: workflow["env"][k] for k in ("GCP_PROJECT_ID", "GCP_LOCATION", "GCP_REPOSITORY", "GCP_SERVICE_ACCOUNT")
    } == {
        "GCP_PROJECT_ID": answers["gcp_project_id"],
        "GCP_LOCATION": answers["gcp_location"],
        "GCP_REPOSITORY": answers["gcp_repository"],
        "GCP_SERVICE_ACCOUNT": account,
    }
    jobs_text = yaml.safe_dump(workflow["jobs"])
    for key in ("gcp_project_id", "gcp_repository"):
        assert str(answers[key]) not in jobs_text, f"{key} is repeated outside the workflow env"

    auth = next(s for s in workflow["jobs"]["publish"]["steps"] if s.get("id") == "auth")["with"]
    assert auth["token_format"] == "access_token"
    assert auth["service_account"] == "${{ env.GCP_SERVICE_ACCOUNT }}"
    assert auth["create_credentials_file"] is False
    configuration = workflow["jobs"]["configuration"]["steps"][0]["run"]
    if answers["publish_auth"] == "workload_identity":
        assert "credentials_json" not in auth
        assert auth["workload_identity_provider"] == "${{ env.GCP_WORKLOAD_IDENTITY_PROVIDER }}"
        recorded = {
            k: workflow["env"][k] for k in ("GCP_PROJECT_NUMBER", "RECORDED_REPOSITORY_ID", "RECORDED_OWNER_ID")
        }
        assert recorded == {
            "GCP_PROJECT_NUMBER": answers["gcp_project_number"],
            "RECORDED_REPOSITORY_ID": answers["github_repository_id"],
            "RECORDED_OWNER_ID": answers["github_owner_id"],
        }
        assert "python3 scripts/setup_gcp.py" in configuration
        if answers["gcp_project_number"]:
            assert workflow["env"]["GCP_WORKLOAD_IDENTITY_PROVIDER"] == (
                f"projects/{answers['gcp_project_number']}/locations/global/workloadIdentityPools/"
                f"{answers['gcp_workload_identity_pool']}/providers/{answers['gcp_workload_identity_provider']}"
            )
        else:
            assert "GCP_WORKLOAD_IDENTITY_PROVIDER" not in workflow["env"]
    else:
        assert auth["credentials_json"] == "${{ secrets.GOOGLE_CREDENTIALS }}"
        assert "workload_identity_provider" not in auth and "RECORDED_REPOSITORY_ID" not in workflow["env"]


def test_no_expression_is_expanded_inside_a_run_script(project: Generated) -> None:
    """Values reach scripts through env: an expression in `run:` is a template-injection risk."""
    for workflow_file in (project.path / ".github/workflows").glob("*.yml"):
        workflow = yaml.safe_load(workflow_file.read_text())
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{workflow_file.name}: {step.get('name')}"


def test_setup_script_is_executable(all_projects: list[Generated]) -> None:
    scripts = [p.path / "scripts" / "setup_gcp.py" for p in all_projects]
    assert all(os.access(script, os.X_OK) for script in scripts)


def test_template_update_workflow_exists_only_when_asked_for_with_least_privilege(project: Generated) -> None:
    path = project.path / ".github/workflows/template-update.yml"
    helpers = [
        project.path / ".github/template-update-requirements.txt",
        project.path / "scripts/template_update_body.py",
    ]
    if not project.answers["template_updates"]:
        assert not path.exists() and not any(p.exists() for p in helpers)
        return
    assert all(p.is_file() for p in helpers)
    workflow = yaml.safe_load(path.read_text())
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML reads the key `on` as True
    assert workflow["permissions"] == {} and workflow["jobs"]["update"]["permissions"] == {}
    steps = workflow["jobs"]["update"]["steps"]
    tokens = {s["id"]: s["with"] for s in steps if s.get("uses", "").startswith("actions/create-github-app-token@")}
    permissions = {
        name: {k: v for k, v in given.items() if k.startswith("permission-")} for name, given in tokens.items()
    }
    assert permissions == {
        "app-token": {
            "permission-contents": "write",
            "permission-pull-requests": "write",
            "permission-workflows": "write",
        },
        "template-token": {"permission-contents": "read"},
    }
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
