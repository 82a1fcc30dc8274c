"""The generated workflows: security audit, schema, pins, least privilege, rendered coordinates."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import workflow_steps
import yaml
from helpers import BIN, TEMPLATE_ROOT, Generated, copier_cli, plain_template, tool

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+?)@(\S+)(.*)$", re.MULTILINE)


def test_zizmor_finds_nothing_in_any_answer_set(all_projects: list[Generated]) -> None:
    # Whole project directories, so that .github/zizmor.yml and dependabot.yml are read too.
    result = tool("zizmor", "--offline", "--no-progress", *(p.path for p in all_projects), TEMPLATE_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_pedantic_persona_finds_nothing_in_the_generated_workflows(all_projects: list[Generated]) -> None:
    result = tool("zizmor", "--offline", "--no-progress", "--persona", "pedantic", *(p.path for p in all_projects))
    assert result.returncode == 0, result.stdout + result.stderr


ARTIFACT_ID = re.compile(r"\$\{\{ needs\.(?P<job>[\w-]+)\.outputs\.[\w-]+-artifact-id \}\}")


def test_every_artifact_is_taken_by_its_id_and_checked_against_its_makers_sha256(
    all_projects: list[Generated],
) -> None:
    """In every workflow: no download-artifact step names an artifact (another job could have put a
    new one under that name); each takes the id its maker's outputs hand on, and the step right
    after it checks what arrived against the sha256 the same job handed on."""
    downloads = 0
    for project in all_projects:
        for path in sorted((project.path / ".github/workflows").glob("*.yml")):
            for name, job in workflow_steps.load(path)["jobs"].items():
                steps = job.get("steps", [])
                for index, step in enumerate(steps):
                    if not step.get("uses", "").startswith("actions/download-artifact@"):
                        continue
                    downloads += 1
                    where = f"{project.name}: {path.name}, job {name}"
                    assert "name" not in step["with"] and "pattern" not in step["with"], where
                    maker = ARTIFACT_ID.fullmatch(step["with"].get("artifact-ids", ""))
                    assert maker, f"{where}: artifact-ids from a job's outputs"
                    needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
                    assert maker["job"] in needs, where
                    check = steps[index + 1]
                    assert check.get("name", "").startswith("Check "), f"{where}: no check after the download"
                    digests = [v for v in check.get("env", {}).values() if f"needs.{maker['job']}.outputs." in str(v)]
                    assert digests and "sha256sum --check" in check["run"], f"{where}: {check}"
    assert downloads >= len(all_projects) * 3, "publish.yml alone takes dist/ twice and the notes once"


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
    order = {name: job.get("needs") for name, job in jobs.items()}
    assert order == {
        "configuration": None,
        "test": "configuration",
        "build": "test",
        "test-wheel": "build",
        "publish": ["build", "test-wheel"],
        "verify": ["build", "publish"],
        "release": ["build", "verify"],
        "failure": ["configuration", "test", "build", "test-wheel", "publish", "verify", "release"],
    }
    wif = project.answers["publish_auth"] == "workload_identity"
    internal = project.answers["internal_dependencies"]
    oidc = {"id-token": "write"} if wif else {}
    assert {name: job["permissions"] for name, job in jobs.items()} == {
        "configuration": {},
        "test": {"contents": "read", **(oidc if internal else {})},
        "build": {"contents": "read"},
        "test-wheel": {"contents": "read", **(oidc if internal else {})},
        "publish": {"contents": "read", **oidc},
        "verify": {"contents": "read", **oidc},
        "release": {"contents": "write"},
        "failure": {},
    }
    # Only the upload job is in the environment Google requires for upload rights.
    assert {name for name, job in jobs.items() if "environment" in job} == {"publish"}
    assert jobs["publish"]["environment"] == "artifact-registry"
    checkout = next(s for s in jobs["build"]["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    checkouts = [s for s in jobs["publish"]["steps"] if "checkout" in s.get("uses", "")]
    # The publish job never builds: it checks out only the hash-pinned list of its one tool.
    assert [c["with"]["sparse-checkout"] for c in checkouts] == [".github/publish-requirements.txt"]
    # The wheel is tested without the source tree beside it: src/ is not checked out.
    [wheel_checkout] = [s for s in jobs["test-wheel"]["steps"] if "checkout" in s.get("uses", "")]
    assert wheel_checkout["with"]["sparse-checkout"].split() == [
        "tests/",
        "pyproject.toml",
        ".github/publish-requirements.txt",
    ]
    assert not any("checkout" in s.get("uses", "") for s in jobs["release"]["steps"]), (
        "the release job runs no repository code"
    )
    assert jobs["failure"]["if"] == "failure()"


# What may run in a job that can write (upload, push, release): the hash-pinned tools and the
# actions that fetch them, the files and the credential; nothing that resolves, builds or imports.
WRITE_JOB_ACTIONS = (
    "actions/checkout@",
    "actions/setup-python@",
    "actions/download-artifact@",
    "actions/upload-artifact@",
    "google-github-actions/auth@",
    "actions/create-github-app-token@",
)
RESOLVES_OR_IMPORTS = re.compile(
    r"\buv (sync|run|venv|pip|build|tool|add|lock|export)\b|\buvx\b|\bimport\b|\$PACKAGE\b|\bpytest\b|\bcopier\b"
    r"|\bpython3? (?!-m pip install --require-hashes --no-deps)"
)
PUBLISHING_SECRETS = ("secrets.GOOGLE_CREDENTIALS", "secrets.TEMPLATE_UPDATE_PRIVATE_KEY")


def workflows(project: Generated) -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted((project.path / ".github/workflows").glob("*.yml"))}


def can_write(job: dict) -> bool:
    """A job that holds, or can get, a credential that writes somewhere."""
    permissions = job.get("permissions", {})
    text = yaml.safe_dump(job)
    return (
        "environment" in job
        or any(secret in text for secret in PUBLISHING_SECRETS)
        or any(level == "write" for scope, level in permissions.items() if scope != "id-token")
        or (permissions.get("id-token") == "write" and "env.GCP_SERVICE_ACCOUNT }}" in text)
    )


def test_no_job_that_can_write_resolves_builds_or_imports_anything(project: Generated) -> None:
    """A write credential never shares a job with code nobody pinned by hash (issue 19)."""
    writers = []
    for name, workflow in workflows(project).items():
        for job_name, job in workflow["jobs"].items():
            if "steps" not in job or not can_write(job):
                continue
            writers.append(f"{name}:{job_name}")
            for step in job["steps"]:
                if "uses" in step:
                    assert step["uses"].startswith(WRITE_JOB_ACTIONS), (name, job_name, step["uses"])
                script = step.get("run", "")
                found = RESOLVES_OR_IMPORTS.search(script)
                assert not found, (name, job_name, step.get("name"), found and found.group())
                for line in script.splitlines():
                    if "pip install" in line:
                        assert "--require-hashes" in line and "--no-deps" in line, line
    expected = {"publish.yml:publish", "publish.yml:release"}
    if project.answers["template_updates"]:
        expected |= {"template-update.yml:template", "template-update.yml:propose"}
    assert set(writers) == expected


def test_id_tokens_outside_the_environment_can_only_become_the_reader(project: Generated) -> None:
    """Google grants upload only to the environment's tag jobs; every other job that may ask for
    GitHub's OIDC token impersonates the read-only account, never the publisher."""
    for workflow in workflows(project).values():
        for job in workflow["jobs"].values():
            auths = [
                s["with"] for s in job.get("steps", []) if s.get("uses", "").startswith("google-github-actions/auth@")
            ]
            accounts = {a["service_account"] for a in auths}
            if job.get("environment") == "artifact-registry":
                assert accounts == {"${{ env.GCP_SERVICE_ACCOUNT }}"}
            else:
                assert "${{ env.GCP_SERVICE_ACCOUNT }}" not in accounts
                settings = json.loads((project.path / "scripts/gcp_settings.json").read_text())
                assert accounts <= {"${{ env.GCP_READER_SERVICE_ACCOUNT }}", settings["organisation"]["reader"]}
                assert "secrets.GOOGLE_CREDENTIALS" not in yaml.safe_dump(job)


def test_template_code_runs_without_tokens_and_the_app_key_only_on_the_default_branch(project: Generated) -> None:
    if not project.answers["template_updates"]:
        return
    jobs = workflows(project)["template-update.yml"]["jobs"]
    runs_copier = [n for n, j in jobs.items() if any("copier update" in s.get("run", "") for s in j["steps"])]
    assert runs_copier == ["update"]
    update = jobs["update"]
    text = yaml.safe_dump(update)
    assert "secrets." not in text and "token" not in text.replace("persist-credentials", "")
    assert update["permissions"] == {"contents": "read"}
    assert not any(s.get("uses", "").startswith("actions/create-github-app-token@") for s in update["steps"])
    # The jobs that read the App's key run in the environment only the default branch may use.
    key_jobs = {n for n, j in jobs.items() if "secrets.TEMPLATE_UPDATE_PRIVATE_KEY" in yaml.safe_dump(j)}
    assert key_jobs == {"template", "propose"}
    assert all(jobs[n]["environment"] == "template-update" for n in key_jobs)
    # ... which the setup limits to the default branch alone (tests/test_setup_gcp.py), as the docs say:
    # "protected branches" would let every branch deploy where no protection rule exists.
    readme = " ".join((project.path / "docs/template-update-workflow.md").read_text().split())
    assert "the environment `template-update`, deployable from the **default branch alone**" in readme
    assert 'Not "Protected branches only"' in readme
    # The job that pushes points git's hooks at an empty directory before any git command of its own.
    pushes = [(n, s) for n, j in jobs.items() for s in j["steps"] if "git push" in s.get("run", "")]
    assert [n for n, _ in pushes] == ["propose"]
    git_lines = [line.strip() for line in pushes[0][1]["run"].splitlines() if re.match(r"\s*(if )?git ", line)]
    assert git_lines[0] == 'git config core.hooksPath "$hooks"', git_lines
    assert 'hooks="$(mktemp -d)"' in pushes[0][1]["run"]


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
        assert "Run the Google Cloud setup (README.md, Google Cloud setup);" in configuration
        assert "\n## Google Cloud setup\n" in (project.path / "README.md").read_text()
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
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {}
    assert {n: j["permissions"] for n, j in jobs.items()} == {
        "template": {},
        "update": {"contents": "read"},
        "propose": {},
    }
    steps = [s for j in jobs.values() for s in j["steps"]]
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
    # Without `repositories`, the App's token is for this repository only.
    assert "repositories" not in tokens["app-token"]
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(c["with"]["persist-credentials"] is False for c in checkouts)


def test_the_first_push_with_internal_dependencies_warns_instead_of_failing(generate, tmp_path: Path) -> None:
    """Before the Google Cloud setup has run, the test workflow has nothing to sign in with: each job
    says what is missing, skips the login, and installs what PyPI has (all a new project needs)."""
    project = tmp_path / "first-push"
    template = plain_template(tmp_path / "template")
    copied = copier_cli("copy", "--trust", "--defaults", "--data", "internal_dependencies=true", template, project)
    assert copied.returncode == 0, copied.stderr
    wif = workflow_steps.load(project / ".github/workflows/test.yml")
    key = workflow_steps.load(generate("key-apache").path / ".github/workflows/test.yml")
    for job in ("lint", "test"):
        steps = wif["jobs"][job]["steps"]
        assert "id-token" not in wif["jobs"][job]["permissions"]
        assert not any(s.get("uses", "").startswith("google-github-actions/auth@") for s in steps)
        said = workflow_steps.run_step(
            wif,
            job,
            "Say that internal dependencies wait for the Google Cloud setup",
            cwd=tmp_path,
            local={},
            path=os.environ["PATH"],
        )
        assert said.returncode == 0
        assert "::warning::Internal dependencies cannot be installed yet" in said.stdout
        assert "Run the Google Cloud setup (README.md, Google Cloud setup) and" in said.stdout, said.stdout
        assert "\n## Google Cloud setup\n" in (project / "README.md").read_text()
        # Key mode: the secret is empty until the setup stores it, and the login is skipped.
        checked = workflow_steps.run_step(
            key,
            job,
            "Check that the reader's key is stored",
            cwd=tmp_path,
            local={"READER_KEY": ""},
            path=os.environ["PATH"],
        )
        assert checked.returncode == 0 and "the secret ARTIFACT_REGISTRY_READER_KEY is not stored" in checked.stdout
        assert "stored" not in workflow_steps.outputs(tmp_path)
        [auth] = [s for s in key["jobs"][job]["steps"] if s.get("uses", "").startswith("google-github-actions/auth@")]
        assert auth["if"] == "steps.reader-key.outputs.stored == 'true'"
    # The lint job's install, as rendered, with no credentials at all: nothing asks Artifact Registry.
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_INDEX")}
    installed = workflow_steps.run_step(
        wif,
        "lint",
        "Install nox",
        cwd=project,
        local={"UV_LOCKED": "false"},
        path=f"{BIN}{os.pathsep}{env['PATH']}",
        runner={"UV_CACHE_DIR": os.environ["UV_CACHE_DIR"], "UV_PYTHON": sys.executable},
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
