"""gar-template's setup (src/gar_template_setup) against stateful stand-ins for gcloud and gh,
then gcloud's own parser.

The stand-ins (tests/fake_gcloud.py, tests/fake_gh.py) remember what was created and bound, so a
second run, a second package or a damaged earlier setup is seen as Google and GitHub would show
it. Calls are compared on what they do (the command, the resource, the role, the member, the
condition), never on display names or descriptions. Most tests run the scripts of one generated
project with a settings file changed the way `copier update --data` would change it: the same
code, without a Copier run each. What the resulting policy admits is tested in test_policy.py.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import real_gcloud
from cloud import SETUP, StandIns, accounts_usable, github_claims
from helpers import TEMPLATE_ROOT, Generated, defaults, said
from test_validators import BAD_ANSWERS

from gar_template_setup import cloud as gcp_cloud

pytestmark = pytest.mark.long

REPOSITORY_ID, OWNER_ID, USER_ID = "1000001", "2000001", "5000001"
# The defaults project's names, as copier.yml derives them.
D = defaults()
PROJECT, LOCATION, POOL = D["gcp_project_id"], D["gcp_location"], D["gcp_workload_identity_pool"]
GITHUB, PUBLISHER = D["github_repository"], D["publisher_email"]
PROVIDER_KEY = f"{PROJECT}/{POOL}/{D['gcp_workload_identity_provider']}"
REPOSITORY_KEY = f"{PROJECT}/{LOCATION}/{D['gcp_repository']}"
VIRTUAL_KEY = f"{PROJECT}/{LOCATION}/{D['gcp_virtual_repository']}"
NUMBER = "123456789012"
TOOL = TEMPLATE_ROOT / "src" / "gar_template_setup"
# What a call does: the flags that name a resource, a role, a member or a condition.
MEANINGFUL = ("location", "role", "member", "condition", "repository-format", "mode", "iam-account")
MEANINGFUL += (
    "project",
    "workload-identity-pool",
    "attribute-condition",
    "attribute-mapping",
    "issuer-uri",
    "env",
    "repo",
)


def effect(call: list[str]) -> tuple[str, ...]:
    """A call as what it does: its words and the meaningful flags, without display names."""
    words = [w for w in call if not w.startswith("-")]
    flags = sorted(w for w in call if w.startswith("--") and w[2:].partition("=")[0] in MEANINGFUL)
    return (*words, *flags)


def settings_of(project: Path) -> dict:
    return json.loads((project / "scripts/gcp_settings.json").read_text())


def package(base: Generated, root: Path, **changes: object) -> Path:
    """A project holding `base`'s settings changed by `changes` (top-level keys, or
    "package.KEY" / "organisation.KEY"), as a `copier update --data` would render them: all the
    setup reads of a project."""
    project = root / base.name
    (project / "scripts").mkdir(parents=True, exist_ok=True)
    settings = settings_of(base.path)
    for key, value in changes.items():
        section, _, field = key.replace("__", ".").rpartition(".")
        (settings[section] if section else settings)[field] = value
    (project / "scripts/gcp_settings.json").write_text(json.dumps(settings))
    return project


def record(project: Path, **values: str) -> None:
    """What `copier update --vcs-ref=:current: --data KEY=VALUE` changes in the settings."""
    settings = settings_of(project)
    names = {
        "gcp_project_number": "project_number",
        "github_repository_id": "github_repository_id",
        "github_owner_id": "github_owner_id",
        "github_release_manager_ids": "release_manager_ids",
    }
    for key, value in values.items():
        settings[names[key]] = value
    (project / "scripts/gcp_settings.json").write_text(json.dumps(settings))


def stand_ins(root: Path, project: Path, **options: bool) -> StandIns:
    cloud = StandIns(root / f"cloud-{project.name}", **options)
    settings = settings_of(project)
    cloud.add_project(settings["project_id"], NUMBER)
    cloud.add_github_repository(settings["github_repository"], REPOSITORY_ID, OWNER_ID)
    return cloud


def setup(
    cloud: StandIns, project: Path, *args: str, ok: bool = True, confirm: bool = True
) -> subprocess.CompletedProcess[str]:
    result = cloud.setup(project, *args, confirm=confirm)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def recorded_setup(cloud: StandIns, project: Path) -> None:
    """A first setup, then its printed values recorded as the user would."""
    output = setup(cloud, project).stdout
    line = next((x for x in output.splitlines() if " update --trust " in x), "")
    record(project, **dict(pair.split("=", 1) for pair in re.findall(r"--data (\S+)", line)))


@pytest.fixture
def wif(generate, tmp_path: Path) -> tuple[StandIns, Path]:
    project = package(generate("defaults"), tmp_path)
    return stand_ins(tmp_path, project), project


@pytest.fixture(scope="module")
def recorded_once(generate, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A workload identity project set up and its values recorded, once per module."""
    root = tmp_path_factory.mktemp("recorded")
    project = package(generate("defaults"), root)
    cloud = stand_ins(root, project)
    recorded_setup(cloud, project)
    return project, cloud.bin.parent


@pytest.fixture
def ready(recorded_once: tuple[Path, Path], tmp_path: Path) -> tuple[StandIns, Path]:
    """A copy of that set-up project and its Google Cloud and GitHub, for one test to change."""
    project, cloud_root = recorded_once
    root = tmp_path / "ready"
    shutil.copytree(project, root / project.name)
    (root / "cloud").mkdir()
    for state in ("gcloud-state.json", "gh-state.json"):
        shutil.copy(cloud_root / state, root / "cloud" / state)
    cloud = StandIns(root / "cloud")
    cloud.forget_calls()
    return cloud, root / project.name


@pytest.fixture
def key(generate, tmp_path: Path) -> tuple[StandIns, Path]:
    project = package(generate("key-apache"), tmp_path)
    return stand_ins(tmp_path, project), project


def expected_effects(settings: dict) -> set[tuple[str, ...]]:
    """Every change a first setup of an empty project makes, by what it does."""
    p, loc = f"--project={settings['project_id']}", f"--location={settings['location']}"
    repo, publisher = settings["package"]["repository"], settings["package"]["publisher"]
    organisation = settings["organisation"]
    remote, virtual, reader = organisation["pypi_remote"], organisation["virtual_repository"], organisation["reader"]
    internal = organisation["internal_repository"]
    wif = settings["workload_identity"]

    def binding(group: tuple[str, ...], name: str, member: str, role: str, *where: str) -> tuple[str, ...]:
        flags = sorted([*where, p, f"--member={member}", f"--role={role}", "--condition=None"])
        return (*group, "add-iam-policy-binding", name, *flags)

    repository = ("artifacts", "repositories")
    account = ("iam", "service-accounts")
    apis = ["artifactregistry.googleapis.com", "iam.googleapis.com", "iamcredentials.googleapis.com"]
    expected = {
        ("services", "enable", *apis, *(["sts.googleapis.com"] if wif else []), p),
        (*repository, "create", repo, *sorted([loc, p, "--repository-format=python"])),
        (*repository, "create", remote, *sorted([loc, p, "--repository-format=python", "--mode=remote-repository"])),
        (*repository, "create", virtual, *sorted([loc, p, "--repository-format=python", "--mode=virtual-repository"])),
        (*account, "create", reader.split("@")[0], p),
        (*account, "create", publisher.split("@")[0], p),
        binding(repository, remote, f"serviceAccount:{reader}", "roles/artifactregistry.reader", loc),
        binding(repository, virtual, f"serviceAccount:{reader}", "roles/artifactregistry.reader", loc),
        binding(repository, internal, f"serviceAccount:{reader}", "roles/artifactregistry.reader", loc),
        (*repository, "create", internal, *sorted([loc, p, "--repository-format=python", "--mode=virtual-repository"])),
        binding(repository, repo, f"serviceAccount:{reader}", "roles/artifactregistry.reader", loc),
        binding(repository, repo, f"serviceAccount:{publisher}", "roles/artifactregistry.writer", loc),
    }
    if wif:
        pool_name = f"projects/{NUMBER}/locations/global/workloadIdentityPools/{organisation['pool']}"
        release = f"principalSet://iam.googleapis.com/{pool_name}/attribute.release/{REPOSITORY_ID}/{USER_ID}"
        reads = f"principalSet://iam.googleapis.com/{pool_name}/attribute.repository_id/{REPOSITORY_ID}"
        expected |= {
            ("iam", "workload-identity-pools", "create", organisation["pool"], "--location=global", p),
            binding(account, publisher, release, "roles/iam.workloadIdentityUser"),
            binding(account, reader, reads, "roles/iam.workloadIdentityUser"),
        }
    else:
        token_creator = "roles/iam.serviceAccountTokenCreator"
        expected |= {
            binding(account, reader, f"serviceAccount:{reader}", token_creator),
            binding(account, publisher, f"serviceAccount:{publisher}", token_creator),
            ("iam", "service-accounts", "keys", "create", f"--iam-account={publisher}", p),
            ("iam", "service-accounts", "keys", "create", f"--iam-account={reader}", p),
        }
    return expected


@pytest.mark.parametrize("answer_set", ["defaults", "wif-hyphen-digits", "key-apache", "explicit-names-rc"])
def test_first_run_makes_exactly_the_two_layers(generate, answer_set: str, tmp_path: Path) -> None:
    project = generate(answer_set).path
    cloud = stand_ins(tmp_path, project)
    output = setup(cloud, project).stdout
    settings = settings_of(project)
    issued = {effect(c) for c in cloud.changing_calls()}
    # A key's file name is the script's choice; the provider's mapping is test_policy.py's subject.
    issued = {tuple(w for w in e if not w.endswith("-key.json")) for e in issued}
    issued = {e for e in issued if "create-oidc" not in e}
    assert issued == expected_effects(settings)
    assert "the service account is not visible yet; retrying" in output, "a new account is retried, not failed"
    repositories = cloud.gcloud()["repositories"]
    key = f"{settings['project_id']}/{settings['location']}/"
    assert repositories[key + settings["package"]["repository"]]["mode"] == "STANDARD_REPOSITORY"
    ranked = sorted(
        repositories[key + settings["organisation"]["virtual_repository"]]["upstreams"], key=lambda u: -u["priority"]
    )
    assert [u["id"] for u in ranked] == [settings["package"]["repository"], settings["organisation"]["pypi_remote"]]
    internal = repositories[key + settings["organisation"]["internal_repository"]]["upstreams"]
    assert [u["id"] for u in internal] == [settings["package"]["repository"]], "uv's index reads no PyPI"
    github = cloud.gh()["repositories"][settings["github_repository"]]
    assert github["environments"]["artifact-registry"]["policies"] == [{"id": 1, "name": "v*", "type": "tag"}]
    if settings["template_update_environment"]:  # the App's key: deployable from the default branch alone
        updates = github["environments"]["template-update"]
        assert [(p["name"], p["type"]) for p in updates["policies"]] == [("main", "branch")]
        assert updates["deployment_branch_policy"] == {"protected_branches": False, "custom_branch_policies": True}
    else:
        assert "template-update" not in github["environments"]
    if not settings["workload_identity"]:
        assert list(github["secrets"]["environment:artifact-registry"]) == ["GOOGLE_CREDENTIALS"]
        assert list(github["secrets"]["repository"]) == ["ARTIFACT_REGISTRY_READER_KEY"], "the reader's key only"
        assert list(github["secrets"]["dependabot"]) == ["ARTIFACT_REGISTRY_READER_KEY"]
        assert list(cloud.bin.parent.glob("setup-gcp-key-*")) == [], "no key file outlives its storing"
    else:  # Dependabot's two registries, which the organisation owner adds (as the docs say)
        dependabot = output.split("\nDependabot: ", 1)[1]
        organisation = settings["organisation"]
        assert organisation["virtual_index_url"] in dependabot and organisation["internal_index_url"] in dependabot
        docs = (project / "docs/internal-dependencies.md").read_text()
        if "## Dependency updates" in docs:
            assert organisation["internal_index_url"] in docs and organisation["virtual_index_url"] in docs


@pytest.mark.parametrize("damage", ["protected branches", "another branch"])
def test_the_template_update_environment_admits_the_default_branch_alone(generate, tmp_path: Path, damage: str) -> None:
    """--check names "protected branches" (every branch may deploy where no protection rule exists)
    and any other policy; a run puts back the default branch alone."""
    project = package(generate("wif-hyphen-digits"), tmp_path)
    cloud = stand_ins(tmp_path, project)
    recorded_setup(cloud, project)
    gh = cloud.gh()
    repository = gh["repositories"][settings_of(project)["github_repository"]]
    environment = repository["environments"]["template-update"]
    if damage == "protected branches":
        environment["deployment_branch_policy"] = {"protected_branches": True, "custom_branch_policies": False}
        expected = "environment template-update is missing or admits protected branches"
    else:
        environment["policies"].append({"id": 99, "name": "release/*", "type": "branch"})
        expected = "environment template-update also admits branch release/*"
    cloud.write_gh(gh)
    checked = setup(cloud, project, "--check", ok=False)
    assert checked.returncode == 1 and expected in said(checked.stderr), checked.stdout + checked.stderr
    setup(cloud, project)
    repaired = cloud.gh()["repositories"][settings_of(project)["github_repository"]]["environments"]["template-update"]
    assert [(p["name"], p["type"]) for p in repaired["policies"]] == [("main", "branch")]
    assert repaired["deployment_branch_policy"]["protected_branches"] is False
    assert "Ready to publish" in setup(cloud, project, "--check").stdout


def test_a_second_run_and_check_change_nothing(ready) -> None:
    cloud, project = ready
    before = cloud.resources()
    cloud.forget_calls()
    again = setup(cloud, project)
    assert cloud.changing_calls() == [] and cloud.resources() == before
    assert " update --trust " not in again.stdout, "every value is recorded"
    checked = setup(cloud, project, "--check")
    assert "Ready to publish" in checked.stdout
    assert cloud.changing_calls() == [] and cloud.resources() == before


def damage(cloud: StandIns, what: str) -> str:
    """Break one thing a release needs; return the words --check must name."""
    state, gh = cloud.gcloud(), cloud.gh()
    publisher = PUBLISHER
    if what == "binding removed":
        state["service_accounts"][publisher]["iam"]["roles/iam.workloadIdentityUser"] = []
        expected = f"{publisher}: principalSet://"
    elif what == "condition changed":
        state["providers"][PROVIDER_KEY]["condition"] = "true"
        expected = "attribute condition:\n    has   true"
    elif what == "environment missing":
        del gh["repositories"][GITHUB]["environments"]["artifact-registry"]
        expected = "environment artifact-registry is missing"
    else:  # the repository was created again: GitHub now says another id
        gh["repositories"][GITHUB]["id"] = "7777777"
        expected = "now has github_repository_id 7777777, but this project recorded 1000001"
    cloud.write_gcloud(state)
    cloud.write_gh(gh)
    return expected


@pytest.mark.parametrize("what", ["binding removed", "condition changed", "environment missing", "recorded ids differ"])
def test_check_names_each_mismatch_and_changes_nothing(ready, what: str) -> None:
    cloud, project = ready
    expected = damage(cloud, what)
    before = cloud.resources()
    cloud.forget_calls()
    checked = setup(cloud, project, "--check", ok=False)
    assert checked.returncode == 1
    assert said(expected) in said(checked.stderr)
    assert cloud.changing_calls() == [] and cloud.resources() == before
    assert [c for c in cloud.gh()["calls"] if "--method" in c and "GET" not in c] == []


def test_missing_prerequisites_are_reported_together_the_login_first(generate, tmp_path: Path) -> None:
    project = package(generate("defaults"), tmp_path, release_manager_ids="")
    cloud = stand_ins(tmp_path, project, gh=False)
    state = cloud.gcloud()
    state["account"] = ""  # nobody is logged in to gcloud
    cloud.write_gcloud(state)
    for mode in ((), ("--check",)):
        stopped = setup(cloud, project, *mode, ok=False)
        assert stopped.returncode == 1
        steps = re.findall(r"^(\d)\. (\S+ \S+)", stopped.stderr, re.MULTILINE)
        assert steps == [("1", "A gcloud"), ("2", "The numeric"), ("3", "Name the")], stopped.stderr
        assert "gcloud auth login" in said(stopped.stderr) and "--release-manager ID" in said(stopped.stderr)
        assert cloud.changing_calls() == []


def test_every_flag_has_help(generate, tmp_path: Path) -> None:
    project = package(generate("defaults"), tmp_path)
    shown = subprocess.run([*SETUP, "--help"], cwd=project, capture_output=True, text=True, check=True).stdout
    # argparse writes a flag's help beside it, or on the next line, indented, when the flag is long.
    flags = re.findall(r"^  (--[a-z-]+)(?: [A-Z_]+)?(.*)\n(?: {20,}(\S.*))?", shown, re.MULTILINE)
    assert len(flags) >= 10
    assert [flag for flag, beside, below in flags if not (beside.strip() or below)] == [], shown


def test_check_names_every_other_way_to_act_as_the_publisher_and_its_fix_works(ready) -> None:
    """A pool-wide binding hidden behind a condition, a person who may mint the publisher's tokens,
    and a project-level writer role for the pool's principals: each lets something other than a
    release upload. --check names each, the condition included, with a command that removes it."""
    cloud, project = ready
    pool = f"projects/{NUMBER}/locations/global/workloadIdentityPools/{POOL}"
    everyone = f"principalSet://iam.googleapis.com/{pool}/*"
    other_repository = f"principalSet://iam.googleapis.com/{pool}/attribute.repository_id/999"
    state = cloud.gcloud()
    until = {"expression": "request.time < timestamp('2030-01-01T00:00:00Z')", "title": "until-2030"}
    publisher = state["service_accounts"][PUBLISHER]["iam"]
    publisher["conditional"] = [{"role": "roles/iam.workloadIdentityUser", "members": [everyone], "condition": until}]
    publisher["roles/iam.serviceAccountTokenCreator"] = ["user:mallory@example.com"]
    state.setdefault("project_iam", {})[PROJECT] = {"roles/artifactregistry.writer": [other_repository]}
    cloud.write_gcloud(state)
    # Google's view: a token of any repository of the owner now acts as the publisher.
    stranger = github_claims("your-org/another-package", "999", OWNER_ID, ref="refs/heads/main")
    assert PUBLISHER in accounts_usable(cloud.gcloud(), PROJECT, POOL, D["gcp_workload_identity_provider"], stranger)

    cloud.forget_calls()
    checked = setup(cloud, project, "--check", ok=False)
    assert checked.returncode == 1 and cloud.changing_calls() == []
    said = checked.stderr
    assert f"{everyone} holds roles/iam.workloadIdentityUser" in said and "until-2030" in said, said
    assert "user:mallory@example.com holds roles/iam.serviceAccountTokenCreator" in said, said
    assert f"project {PROJECT}: {other_repository} holds roles/artifactregistry.writer" in said, said
    fixes = [line.strip().removeprefix("fix: ") for line in said.splitlines() if line.strip().startswith("fix: ")]
    assert len(fixes) == 3, said
    for command in fixes:
        ran = cloud.run("bash", "-c", command, cwd=project)
        assert ran.returncode == 0, (command, ran.stderr)
    assert setup(cloud, project, "--check").returncode == 0
    assert PUBLISHER not in accounts_usable(
        cloud.gcloud(), PROJECT, POOL, D["gcp_workload_identity_provider"], stranger
    )


def another_package(generate, cloud: StandIns, root: Path, name: str, repository_id: str) -> Path:
    """A package of the same organisation, its ids recorded: the setup asks GitHub nothing."""
    cloud.add_github_repository(f"your-org/{name}", repository_id, OWNER_ID)
    changes = {
        "distribution": name,
        "github_repository": f"your-org/{name}",
        "github_repository_id": repository_id,
        "github_owner_id": OWNER_ID,
        "release_manager_ids": USER_ID,
        "project_number": NUMBER,
        "package__repository": name,
        "package__publisher": f"publish-{name}@{PROJECT}.iam.gserviceaccount.com",
    }
    return package(generate("defaults"), root / name, **changes)


def test_two_setups_at_once_keep_both_packages_in_the_virtual_repositories(generate, ready, tmp_path: Path) -> None:
    """B takes the organisation's lock and is held there; C, started meanwhile, waits for it, then
    reads the list B wrote. Without the lock, C's write (from a read before B's) would drop B."""
    cloud, _ = ready
    b, c = (
        another_package(generate, cloud, tmp_path, name, rid) for name, rid in (("pkg-b", "1002"), ("pkg-c", "1003"))
    )
    go = tmp_path / "go"
    held = {
        "GCLOUD_PAUSE_AFTER": "artifacts repositories create gar-template-setup-lock",
        "GCLOUD_PAUSE_UNTIL": str(go),
    }
    first = cloud.start_setup(b, **held)
    second = None
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{go}.reached").exists():
            assert time.monotonic() < deadline and first.poll() is None, "B never took the lock"
            time.sleep(0.05)
        second = cloud.start_setup(c)
        lock_calls = lambda: [call for call in cloud.gcloud()["calls"] if "gar-template-setup-lock" in call]  # noqa: E731
        while len(lock_calls()) < 2:  # C has tried the lock too, and found it held
            assert time.monotonic() < deadline and second.poll() is None, "C never reached the lock"
            time.sleep(0.05)
        go.touch()
        outputs = [process.communicate(timeout=120)[0] for process in (first, second)]
    finally:
        go.touch()  # a held stand-in never outlives the test
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert "another package's setup holds gar-template-setup-lock: waiting" in outputs[1]
    state = cloud.gcloud()
    for virtual in (D["gcp_internal_repository"], D["gcp_virtual_repository"]):
        read = [u["id"] for u in state["repositories"][f"{PROJECT}/{LOCATION}/{virtual}"]["upstreams"]]
        assert {D["gcp_repository"], "pkg-b", "pkg-c"} <= set(read), (virtual, read)
    assert f"{PROJECT}/{LOCATION}/gar-template-setup-lock" not in state["repositories"], "released"


def test_a_lock_left_by_a_stopped_setup_is_named_with_the_command_that_removes_it(
    generate, ready, tmp_path: Path
) -> None:
    cloud, _ = ready
    project = another_package(generate, cloud, tmp_path, "pkg-d", "1004")
    state = cloud.gcloud()
    left = {"format": "PYTHON", "mode": "STANDARD_REPOSITORY", "description": "", "upstreams": [], "iam": {}}
    state["repositories"][f"{PROJECT}/{LOCATION}/gar-template-setup-lock"] = left
    cloud.write_gcloud(state)
    stopped = cloud.run(*SETUP, "--yes", cwd=project, SETUP_GCP_LOCK_WAIT="0")
    assert stopped.returncode == 1 and "nothing was changed here" in said(stopped.stderr), stopped.stderr
    # The command is a line of its own after "run this again:", printed whole.
    lines = stopped.stderr.splitlines()
    [at] = [n for n, line in enumerate(lines) if "repositories delete gar-template-setup-lock" in line]
    assert lines[at - 1].endswith("run this again:"), stopped.stderr
    removed = cloud.run("bash", "-c", lines[at].strip(), cwd=project)
    assert removed.returncode == 0, removed.stderr
    assert setup(cloud, project).returncode == 0


def test_a_release_manager_added_to_the_settings_is_bound_only_once_confirmed(ready) -> None:
    """Any writer can add an id to the project's answers; the administrator's run shows it, with
    GitHub's login for it, and binds it only with --yes or a confirmation at a terminal."""
    cloud, project = ready
    gh = cloud.gh()
    gh["logins"] = {"6000006": "mallory"}
    cloud.write_gh(gh)
    settings = settings_of(project)
    settings["release_manager_ids"] = f"{settings['release_manager_ids']},6000006"
    (project / "scripts/gcp_settings.json").write_text(json.dumps(settings))
    before = cloud.resources()
    cloud.forget_calls()
    stopped = setup(cloud, project, ok=False, confirm=False)
    assert stopped.returncode == 1 and "nothing was changed" in said(stopped.stderr)
    assert "release manager mallory (id 6000006)" in stopped.stdout, stopped.stdout
    assert cloud.changing_calls() == [] and cloud.resources() == before
    applied = setup(cloud, project)  # --yes
    assert "release manager mallory (id 6000006)" in applied.stdout
    bound = cloud.gcloud()["service_accounts"][PUBLISHER]["iam"]["roles/iam.workloadIdentityUser"]
    assert any(member.endswith(f"/{REPOSITORY_ID}/6000006") for member in bound)
    # Nothing new to give: a run without a terminal and without --yes goes through.
    assert setup(cloud, project, confirm=False).returncode == 0


def test_dry_run_is_a_plan_of_exactly_what_differs(wif, request) -> None:
    cloud, project = wif
    planned = setup(cloud, project, "--dry-run").stdout
    assert cloud.changing_calls() == [], "a dry run reads, never changes"
    first = [line[2:] for line in planned.splitlines() if line.startswith("+ gcloud ")]
    assert len(first) == len(expected_effects(settings_of(project))) + 1  # the provider
    # Each command complete: a file it reads (gcloud takes an upstream policy only as a file) is
    # kept where the command names it, and the plan shows what it holds.
    policies = [re.search(r"--upstream-policy-file=(\S+)", command) for command in first]
    kept = [Path(match.group(1)) for match in policies if match]
    assert len(kept) == 2, "the two virtual repositories"
    for path in kept:
        assert f"{path} (kept for this command) holds: {path.read_text()}" in planned
    # Run as printed, in order, the plan sets up what the setup would. A person, like the setup,
    # runs a binding again while a new account propagates (the stand-in models Google's delay).
    for command in [line[2:] for line in planned.splitlines() if line.startswith("+ ")]:
        ran = cloud.run("bash", "-c", command, cwd=project)
        for _ in range(5):
            if ran.returncode == 0 or "does not exist" not in said(ran.stderr):
                break
            ran = cloud.run("bash", "-c", command, cwd=project)
        assert ran.returncode == 0, (command, ran.stderr)
    checked = setup(cloud, project, "--check", ok=False).stderr
    mismatches = [line for line in checked.split("Not ready to publish:", 1)[1].splitlines() if line.startswith("- ")]
    assert mismatches and all(line.endswith(" is not recorded as " + line.split()[-1]) for line in mismatches), checked
    cloud, project = request.getfixturevalue("ready")
    damage(cloud, "binding removed")
    planned = setup(cloud, project, "--dry-run").stdout
    commands = [line[2:] for line in planned.splitlines() if line.startswith("+ ")]
    assert len(commands) == 1 and f"add-iam-policy-binding {PUBLISHER}" in commands[0]
    assert cloud.changing_calls() == []
    # The plan is the command to run, quoted to be read: run as printed, it repairs the binding.
    assert cloud.run("bash", "-c", commands[0], cwd=project).returncode == 0
    assert setup(cloud, project, "--check").returncode == 0


@pytest.mark.parametrize("obstacle", ["another provider", "docker repository", "virtual reads pypi first"])
def test_state_it_must_not_trust_stops_it_and_changes_nothing(wif, request, obstacle: str) -> None:
    cloud, project = wif
    if obstacle == "docker repository":
        before_state = cloud.gcloud()
        before_state["repositories"][REPOSITORY_KEY] = {
            "format": "DOCKER", "mode": "STANDARD_REPOSITORY", "description": "", "upstreams": [], "iam": {},
        }  # fmt: skip
        cloud.write_gcloud(before_state)
        named = f"The repository {D['gcp_repository']} exists as DOCKER STANDARD_REPOSITORY"
    else:
        cloud, project = request.getfixturevalue("ready")
        state = cloud.gcloud()
        if obstacle == "another provider":
            state["providers"][f"{PROJECT}/{POOL}/legacy"] = {
                "state": "ACTIVE", "issuer": "https://token.actions.githubusercontent.com", "condition": "",
                "mapping": {"google.subject": "assertion.sub", "attribute.release": "assertion.repository_id"},
            }  # fmt: skip
            named = "another provider, legacy, that maps attribute.release"
        else:
            virtual = state["repositories"][VIRTUAL_KEY]
            for upstream in virtual["upstreams"]:
                upstream["priority"] = 500 if upstream["id"] == D["gcp_pypi_remote"] else 100
            named = f"The virtual repository {D['gcp_virtual_repository']} reads {D['gcp_pypi_remote']} (PyPI) before"
        cloud.write_gcloud(state)
    before = cloud.resources()
    cloud.forget_calls()
    stopped = setup(cloud, project, ok=False)
    assert stopped.returncode == 1 and named in said(stopped.stderr) and "Nothing was changed" in said(stopped.stderr)
    assert cloud.changing_calls() == [] and cloud.resources() == before


def test_an_account_that_belongs_to_another_repository_stops_it(ready) -> None:
    cloud, project = ready
    state = cloud.gcloud()
    account = state["service_accounts"][PUBLISHER]
    account["description"] = "gar-template publisher of other-package for GitHub repository id 1000999"
    cloud.write_gcloud(state)
    before = cloud.resources()
    stopped = setup(cloud, project, ok=False)
    assert "belongs to another package" in said(stopped.stderr)
    assert "--data gcp_service_account=NEW_ID" in stopped.stderr
    assert cloud.resources() == before


@pytest.mark.parametrize(
    ("tampering", "named"),
    [
        ("repository of another package", "The repository"),
        ("reader is a publisher", "The reader account"),
        ("internal_repository", "The organisation's gcp_internal_repository is"),
        ("virtual_repository", "The organisation's gcp_virtual_repository is"),
        ("pypi_remote", "The organisation's gcp_pypi_remote is"),
    ],
)
def test_settings_that_name_another_packages_resource_stop_it(ready, tampering: str, named: str) -> None:
    """A writer of this repository edits its answers to name another package's repository, or a
    publisher as the reader (whose principal set is any job of this repository): Google's record
    of the owner stops the administrator's run before anything changes."""
    cloud, project = ready
    state = cloud.gcloud()
    other = "publish-other@" + PROJECT + ".iam.gserviceaccount.com"
    settings = settings_of(project)
    if tampering == "repository of another package":
        state["repositories"][f"{PROJECT}/{LOCATION}/other-package"] = {
            "format": "PYTHON", "mode": "STANDARD_REPOSITORY", "upstreams": [], "iam": {},
            "description": "gar-template repository of other-package for GitHub repository id 1000999",
        }  # fmt: skip
        settings["package"]["repository"] = "other-package"
    elif tampering in ("internal_repository", "virtual_repository", "pypi_remote"):
        # Renamed in the answers: a second set of organisation repositories, which uv or pip trust.
        settings["organisation"][tampering] = f"renamed-{tampering.replace('_', '-')}"
    else:
        state["service_accounts"][other] = {
            "description": "gar-template publisher of other-package for GitHub repository id 1000999",
            "iam": {}, "keys": [], "pending": 0, "display_name": "",
        }  # fmt: skip
        settings["organisation"]["reader"] = other
    cloud.write_gcloud(state)
    (project / "scripts/gcp_settings.json").write_text(json.dumps(settings))
    before = cloud.resources()
    stopped = setup(cloud, project, ok=False)
    assert stopped.returncode == 1, stopped.stderr
    assert named in said(stopped.stderr) and "Nothing was changed" in said(stopped.stderr)
    assert cloud.resources() == before, "nothing was created or bound"
    if tampering.endswith(("_repository", "_remote")):
        assert f"--data gcp_{tampering}={D['gcp_' + tampering]}" in said(stopped.stderr), stopped.stderr


# Where each question's answer stands in scripts/gcp_settings.json.
SETTINGS_OF_ANSWER = {
    "gcp_project_id": ("project_id",),
    "gcp_location": ("location",),
    "gcp_repository": ("package", "repository"),
    "gcp_pypi_remote": ("organisation", "pypi_remote"),
    "gcp_internal_repository": ("organisation", "internal_repository"),
    "gcp_virtual_repository": ("organisation", "virtual_repository"),
    "gcp_workload_identity_pool": ("organisation", "pool"),
    "gcp_workload_identity_provider": ("organisation", "provider"),
    "gcp_reader_service_account": ("organisation", "organisation_reader_id"),
    "github_repository": ("github_repository",),
    "github_repository_id": ("github_repository_id",),
    "github_owner_id": ("github_owner_id",),
    "gcp_project_number": ("project_number",),
    "github_release_manager_ids": ("release_manager_ids",),
}
# A well-formed region missing from the template's list is a typo guard of the questions (Google
# refuses a location that does not exist), not a rule the settings can keep.
CORPUS = [
    (k, v)
    for k, v, label in BAD_ANSWERS
    if k in SETTINGS_OF_ANSWER and isinstance(v, str) and label != "unknown region"
]
CORPUS += [(k, v) for k, v, _ in BAD_ANSWERS if k == "gcp_service_account"]


def test_the_settings_keep_the_questions_rules(generate, tmp_path: Path) -> None:
    """Each answer the questions refuse, written into the settings instead (as a writer could),
    is refused by the setup too, by question; and the defaults pass. In-process: no project to
    render, no process to start per case."""
    base = settings_of(generate("defaults").path)
    path = tmp_path / "gcp_settings.json"
    path.write_text(json.dumps(base))
    assert gcp_cloud.Settings.load(path).problems() == []
    assert len(CORPUS) >= 20
    for key, value in CORPUS:
        changed = json.loads(json.dumps(base))
        if key == "gcp_service_account":
            changed["package"]["publisher"] = f"{value}@{PROJECT}.iam.gserviceaccount.com"
        else:
            *sections, field = SETTINGS_OF_ANSWER[key]
            target = changed
            for section in sections:
                target = target[section]
            target[field] = value
        path.write_text(json.dumps(changed))
        problems = gcp_cloud.Settings.load(path).problems()
        assert any(problem.startswith(f"{key}: ") for problem in problems), (key, value, problems)
    # The setup itself stops on them, before it reads anything.
    project = package(generate("defaults"), tmp_path / "tampered", project_id="evil_project")
    cloud = stand_ins(tmp_path, project)
    stopped = setup(cloud, project, "--dry-run", ok=False)
    assert stopped.returncode == 1 and "gcp_project_id: not an ID" in said(stopped.stderr)
    assert cloud.gcloud()["calls"] == []


def test_a_recorded_id_that_github_contradicts_stops_everything(wif) -> None:
    cloud, project = wif
    record(project, github_repository_id=REPOSITORY_ID, github_owner_id=OWNER_ID)
    cloud.add_github_repository(GITHUB, "7777777", "8888888")  # deleted, registered again
    refused = setup(cloud, project, ok=False)
    assert f"now has github_repository_id 7777777, but this project recorded {REPOSITORY_ID}" in said(refused.stderr)
    read = [call for call in cloud.gcloud()["calls"] if call[:2] != ["auth", "list"]]  # the login only
    assert read == [], "nothing is read, created or bound for the impostor"


def test_a_provider_that_differs_stops_a_package_and_only_the_administrator_changes_it(ready) -> None:
    cloud, project = ready
    state = cloud.gcloud()
    provider = state["providers"][PROVIDER_KEY]
    provider["condition"] = f"assertion.repository == '{GITHUB}'"  # an earlier template's, by name
    provider["description"] = ""
    cloud.write_gcloud(state)
    refused = setup(cloud, project, ok=False)
    assert f"\n    has   assertion.repository == '{GITHUB}'\n" in refused.stderr
    assert f"{settings_of(project)['template']['setup']} --organisation" in said(refused.stderr)
    updated = setup(cloud, project, "--organisation").stdout
    assert "updating provider github" in updated
    assert cloud.gcloud()["providers"][PROVIDER_KEY]["condition"] == ("assertion.repository_owner_id == '2000001'")


def test_earlier_environment_policies_are_replaced_not_kept(wif) -> None:
    cloud, project = wif
    gh = cloud.gh()
    gh["repositories"][GITHUB]["environments"] = {
        "artifact-registry": {"policies": [{"id": 90, "name": "*", "type": "branch"}]}
    }
    cloud.write_gh(gh)
    setup(cloud, project)
    policies = cloud.gh()["repositories"][GITHUB]["environments"]["artifact-registry"]["policies"]
    assert [(p["name"], p["type"]) for p in policies] == [("v*", "tag")]


@pytest.mark.parametrize(
    ("mode", "holds"), [("wif", "Google's gate holds on every plan"), ("key", "anyone with write access can publish")]
)
def test_on_a_plan_without_environment_policies_it_says_what_holds(request, mode: str, holds: str) -> None:
    cloud, project = request.getfixturevalue(mode)
    gh = cloud.gh()
    for repository in gh["repositories"].values():
        repository["plan_allows_environment_policies"] = False
    cloud.write_gh(gh)
    output = setup(cloud, project).stdout
    assert "environment policy: none (not on this plan)" in output and holds in output
    environment = cloud.gh()["repositories"][settings_of(project)["github_repository"]]["environments"]
    assert environment["artifact-registry"]["policies"] == [], "the environment exists, without a policy"


def test_key_mode_then_workload_identity_leaves_no_key_and_no_secret(key, tmp_path: Path) -> None:
    cloud, project = key
    setup(cloud, project)
    publisher = settings_of(project)["package"]["publisher"]
    assert cloud.gcloud()["service_accounts"][publisher]["keys"]
    record(project, github_repository_id="", github_owner_id="")
    settings = settings_of(project)
    settings |= {"workload_identity": True}
    settings["organisation"] |= {"pool": POOL, "provider": D["gcp_workload_identity_provider"]}
    (project / "scripts/gcp_settings.json").write_text(json.dumps(settings))
    setup(cloud, project)
    assert cloud.gcloud()["service_accounts"][publisher]["keys"] == [], "no user-managed key, active or not"
    secrets = cloud.gh()["repositories"]["Fin-Org/ledger_sync"]["secrets"]
    assert "GOOGLE_CREDENTIALS" not in secrets["environment:artifact-registry"]


def test_a_key_that_could_not_be_stored_is_deleted(key) -> None:
    cloud, project = key
    gh = cloud.gh()
    gh["repositories"]["Fin-Org/ledger_sync"]["refuse_secrets"] = True
    cloud.write_gh(gh)
    refused = setup(cloud, project, ok=False)
    assert refused.returncode == 1 and "Resource not accessible" in said(refused.stderr)
    publisher = settings_of(project)["package"]["publisher"]
    assert cloud.gcloud()["service_accounts"][publisher]["keys"] == []


def test_key_rotation_stores_the_new_key_and_leaves_exactly_one(key) -> None:
    cloud, project = key
    setup(cloud, project)
    publisher = settings_of(project)["package"]["publisher"]
    first = cloud.gcloud()["service_accounts"][publisher]["keys"]
    stored = cloud.gh()["repositories"]["Fin-Org/ledger_sync"]["secrets"]["environment:artifact-registry"]
    setup(cloud, project, "--new-key")
    keys = cloud.gcloud()["service_accounts"][publisher]["keys"]
    assert len(keys) == 1 and keys[0]["id"] != first[0]["id"]
    rotated = cloud.gh()["repositories"]["Fin-Org/ledger_sync"]["secrets"]["environment:artifact-registry"]
    assert rotated["GOOGLE_CREDENTIALS"] != stored["GOOGLE_CREDENTIALS"]
    disabled = [c for c in cloud.gcloud()["calls"] if c[2:4] == ["keys", "disable"]]
    assert [c[4] for c in disabled] == [first[0]["id"]], "the old key is disabled before it is deleted"


def test_each_repository_gets_its_own_reader_key_and_rotation_retires_it(key) -> None:
    cloud, project = key
    setup(cloud, project)
    reader = settings_of(project)["organisation"]["reader"]
    first = cloud.gh()["repositories"]["Fin-Org/ledger_sync"]["variables"]["ARTIFACT_REGISTRY_READER_KEY_ID"]
    assert [k["id"] for k in cloud.gcloud()["service_accounts"][reader]["keys"]] == [first]
    setup(cloud, project)
    assert len(cloud.gcloud()["service_accounts"][reader]["keys"]) == 1, "a second run makes no key"
    setup(cloud, project, "--new-reader-key")
    second = cloud.gh()["repositories"]["Fin-Org/ledger_sync"]["variables"]["ARTIFACT_REGISTRY_READER_KEY_ID"]
    assert [k["id"] for k in cloud.gcloud()["service_accounts"][reader]["keys"]] == [second] != [first]


def test_eleven_key_mode_packages_of_one_organisation_are_all_set_up(generate, tmp_path: Path) -> None:
    """Google allows ten user-managed keys per service account (the stand-in too): each key-mode
    package reads with a key of its own reader account, named after the organisation's."""
    base = generate("key-apache")
    cloud = StandIns(tmp_path / "cloud")
    organisation = settings_of(base.path)
    cloud.add_project(organisation["project_id"], NUMBER)
    readers, projects = set(), []
    for number in range(11):
        name, repository_id = f"pkg-{number}", str(3000 + number)
        github = f"Fin-Org/{name}"
        cloud.add_github_repository(github, repository_id, OWNER_ID)
        reader = f"artifact-reader-{number:06x}@{organisation['project_id']}.iam.gserviceaccount.com"
        changes = {
            "distribution": name,
            "github_repository": github,
            "package__repository": name,
            "package__publisher": f"publish-{name}@{organisation['project_id']}.iam.gserviceaccount.com",
            "organisation__reader": reader,  # as includes/computed.jinja names it per package
        }
        projects.append(package(base, tmp_path / name, **changes))
        readers.add(reader)
    # One after another, in this process (setups at once are test_two_setups_at_once_...'s).
    for project in projects:
        assert setup(cloud, project).returncode == 0
    accounts = cloud.gcloud()["service_accounts"]
    assert all(len(accounts[reader]["keys"]) == 1 for reader in readers) and len(readers) == 11
    shared = accounts.get(
        organisation["organisation"]["organisation_reader_id"]
        + "@"
        + organisation["project_id"]
        + ".iam.gserviceaccount.com"
    )
    assert shared is None or shared["keys"] == [], "the organisation's reader holds no key"


def test_a_shared_readers_key_moves_to_the_packages_own_reader(key) -> None:
    """A key-mode project of 0.2.0 read with a key of the organisation's one reader: the setup
    stores a key of the package's own reader, then deletes the old one."""
    cloud, project = key
    settings = settings_of(project)
    shared = f"{settings['organisation']['organisation_reader_id']}@{settings['project_id']}.iam.gserviceaccount.com"
    state = cloud.gcloud()
    state["service_accounts"][shared] = {
        "display_name": "", "description": "", "iam": {}, "pending": 0,
        "keys": [{"id": "0ld", "disabled": False}, {"id": "0ther", "disabled": False}],
    }  # fmt: skip
    cloud.write_gcloud(state)
    gh = cloud.gh()
    gh["repositories"]["Fin-Org/ledger_sync"].setdefault("variables", {})["ARTIFACT_REGISTRY_READER_KEY_ID"] = "0ld"
    cloud.write_gh(gh)
    setup(cloud, project)
    accounts = cloud.gcloud()["service_accounts"]
    assert [k["id"] for k in accounts[shared]["keys"]] == ["0ther"], "another repository's key stays"
    own = cloud.gh()["repositories"]["Fin-Org/ledger_sync"]["variables"]["ARTIFACT_REGISTRY_READER_KEY_ID"]
    assert [k["id"] for k in accounts[settings["organisation"]["reader"]]["keys"]] == [own]


def test_an_organisation_that_forbids_keys_gets_told_why_and_what_instead(key) -> None:
    cloud, project = key
    state = cloud.gcloud()
    state["key_creation_disabled"] = True
    cloud.write_gcloud(state)
    refused = setup(cloud, project, ok=False)
    assert "constraints/iam.disableServiceAccountKeyCreation forbids service account keys" in said(refused.stderr)
    assert "--data publish_auth=workload_identity" in said(refused.stderr)


def test_readers_may_read_and_never_write(wif) -> None:
    cloud, project = wif
    setup(cloud, project, "--reader", "group:data@example.com")
    iam = cloud.gcloud()["repositories"][REPOSITORY_KEY]["iam"]
    assert "group:data@example.com" in iam["roles/artifactregistry.reader"]
    assert iam["roles/artifactregistry.writer"] == [f"serviceAccount:{PUBLISHER}"]
    refused = setup(cloud, project, "--reader", "allUsers", ok=False)
    assert refused.returncode == 1 and "expected a member such as group:" in said(refused.stderr)


def test_a_shared_repository_stops_it_with_the_way_out(ready) -> None:
    """A project of the earlier layout, or settings that name another package's repository: two
    packages would write one repository."""
    cloud, project = ready
    state = cloud.gcloud()
    state["repositories"][REPOSITORY_KEY]["iam"]["roles/artifactregistry.writer"].append(
        f"serviceAccount:publish-other@{PROJECT}.iam.gserviceaccount.com"
    )
    cloud.write_gcloud(state)
    before = cloud.resources()
    stopped = setup(cloud, project, ok=False)
    assert stopped.returncode == 1 and "Nothing was changed" in said(stopped.stderr)
    assert "can also be written by serviceAccount:publish-other@" in said(stopped.stderr)
    assert "--data gcp_repository=NEW_NAME" in said(stopped.stderr)
    assert cloud.resources() == before
    # A person the withdrawal procedure made repoAdmin is reported, not refused.
    state["repositories"][REPOSITORY_KEY]["iam"]["roles/artifactregistry.writer"].pop()
    state["repositories"][REPOSITORY_KEY]["iam"]["roles/artifactregistry.repoAdmin"] = ["user:ops@example.com"]
    cloud.write_gcloud(state)
    noted = setup(cloud, project).stdout
    assert "note: user:ops@example.com holds roles/artifactregistry.repoAdmin" in noted


@pytest.mark.skipif(not real_gcloud.installed(), reason="the real gcloud is not installed")
def test_real_gcloud_parses_every_distinct_command(generate, tmp_path: Path) -> None:
    """Every distinct command the script issued in these scenarios, parsed by the real gcloud."""
    distinct: dict[tuple[object, ...], list[str]] = {}
    for answer_set in ("defaults", "key-apache"):
        printed_fixes: list[list[str]] = []
        project = package(generate(answer_set), tmp_path / answer_set)
        cloud = stand_ins(tmp_path / answer_set, project)
        setup(cloud, project, "--reader", "group:g@example.com")
        if answer_set == "key-apache":
            setup(cloud, project, "--new-key")
        else:  # the repair paths: a changed provider, a deleted pool and provider, a stale binding
            state = cloud.gcloud()
            state["providers"][PROVIDER_KEY] |= {"condition": "true", "state": "DELETED"}
            state["pools"][f"{PROJECT}/{POOL}"]["state"] = "DELETED"
            state["service_accounts"][PUBLISHER]["iam"]["roles/iam.workloadIdentityUser"].append(
                "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*"
            )
            state["service_accounts"][PUBLISHER]["description"] = ""
            state["repositories"][REPOSITORY_KEY]["description"] = ""  # as releases up to 0.2.0 left it
            state["repositories"][VIRTUAL_KEY]["upstreams"].pop(0)
            # What only the printed fixes remove: a conditional binding (the setup removes it with
            # --all), a token creator and a project-level writer of the pool (named, with the fix).
            pool = f"principalSet://iam.googleapis.com/projects/{NUMBER}/locations/global/workloadIdentityPools/{POOL}"
            until = {"expression": "request.time < timestamp('2030-01-01T00:00:00Z')", "title": "t"}
            state["service_accounts"][PUBLISHER]["iam"]["conditional"] = [
                {"role": "roles/iam.workloadIdentityUser", "members": [f"{pool}/*"], "condition": until}
            ]
            state["service_accounts"][PUBLISHER]["iam"]["roles/iam.serviceAccountTokenCreator"] = ["user:m@example.com"]
            state.setdefault("project_iam", {})[PROJECT] = {"roles/artifactregistry.writer": [f"{pool}/*"]}
            cloud.write_gcloud(state)
            repaired = setup(cloud, project, "--organisation").stdout
            printed_fixes = [
                shlex.split(line.strip().removeprefix("fix: "))[1:]
                for line in repaired.splitlines()
                if line.strip().startswith("fix: gcloud ")
            ]
            assert len(printed_fixes) == 2, repaired
            assert f"pool {POOL} was deleted" in repaired
            assert f"updating provider {D['gcp_workload_identity_provider']}" in repaired
            after = cloud.gcloud()
            assert after["pools"][f"{PROJECT}/{POOL}"]["state"] == "ACTIVE"
            assert after["providers"][PROVIDER_KEY]["state"] == "ACTIVE"
        for call in [*cloud.gcloud()["calls"], *printed_fixes]:
            words = tuple(w for w in call if not w.startswith("-"))[:4]
            distinct.setdefault((*words, "--all" in call), call)
    upstreams = tmp_path / "upstreams.json"
    upstreams.write_text(
        json.dumps([{"id": "a", "repository": "projects/p/locations/l/repositories/a", "priority": 1}])
    )
    verbs = {word for c in distinct.values() for word in c[:5]}
    expected = {"create-oidc", "update-oidc", "undelete", "remove-iam-policy-binding", "disable", "delete", "update"}
    assert expected <= verbs
    # gcloud reads the upstream policy file while parsing: give it one that still exists.
    commands = [
        [f"--upstream-policy-file={upstreams}" if w.startswith("--upstream-policy-file=") else w for w in command]
        for command in distinct.values()
    ]
    for command, answer in zip(commands, real_gcloud.run_all(commands, tmp_path / "gcloud-config"), strict=True):
        if command[:2] == ["auth", "list"]:  # needs no account: it answers, with nobody logged in
            assert answer["code"] == 0, (command, answer)
            continue
        # Parsed, then stopped for want of an account (a list says so in its own words).
        refused = str(answer["stderr"])
        assert real_gcloud.NO_ACCOUNT in refused or "NoActiveAccountException" in refused, (command, answer)


def test_without_gh_the_route_needs_no_gh(generate, tmp_path: Path) -> None:
    """Key mode with no GitHub CLI: the ids and the environment through curl against GitHub's REST
    API (a stand-in server here), the key written only where the user said, its base64 printed
    portably, and nothing left behind."""
    project = package(generate("explicit-names-rc"), tmp_path)
    cloud = stand_ins(tmp_path, project, gh=False)
    refused = setup(cloud, project, ok=False)
    assert "--repository-id ID --owner-id ID" in said(refused.stderr) and cloud.changing_calls() == []
    port_file = tmp_path / "port"
    server = subprocess.Popen(
        [sys.executable, str(TEMPLATE_ROOT / "tests/fake_gh.py"), "serve", str(port_file)], env=cloud.env()
    )
    try:
        for _ in range(100):
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.05)
        api = {"GITHUB_API_URL": f"http://127.0.0.1:{port_file.read_text()}", "GITHUB_TOKEN": "t0ken"}
        [ids_command] = [line.strip() for line in refused.stderr.splitlines() if line.strip().startswith("curl ")]
        ids = cloud.run("bash", "-c", ids_command, cwd=project, **api)
        assert ids.stdout.split() == [REPOSITORY_ID, OWNER_ID], ids.stderr
        refused = setup(cloud, project, "--repository-id", REPOSITORY_ID, "--owner-id", OWNER_ID, ok=False)
        assert "--key-dir DIRECTORY" in said(refused.stderr)
        keys = tmp_path / "my-keys"
        output = setup(
            cloud, project, "--repository-id", REPOSITORY_ID, "--owner-id", OWNER_ID, "--key-dir", str(keys)
        ).stdout
        curls = [line.strip() for line in output.splitlines() if line.strip().startswith("curl ")]
        for command in curls:
            ran = cloud.run("bash", "-c", command, cwd=project, **api)
            assert ran.returncode == 0, (command, ran.stdout, ran.stderr)
    finally:
        server.terminate()
        server.wait()
    environment = cloud.gh()["repositories"][settings_of(project)["github_repository"]]["environments"][
        "artifact-registry"
    ]
    assert [(p["name"], p["type"]) for p in environment["policies"]] == [("v*", "tag")]
    assert environment["deployment_branch_policy"]["custom_branch_policies"] is True
    printed = [line.strip() for line in output.splitlines() if line.strip().startswith(("python3 -c", "rm "))]
    assert len(printed) == 4, output  # the base64 and the removal of each of the two keys
    for command in printed:
        ran = cloud.run("bash", "-c", command, cwd=project)
        assert ran.returncode == 0, (command, ran.stderr)
        if command.startswith("python3"):
            assert json.loads(base64.b64decode(ran.stdout))["type"] == "service_account"
            assert "base64 -w0" not in command
    assert list(keys.iterdir()) == [], "each key is gone once stored"
    assert list(cloud.bin.parent.glob("setup-gcp-key-*")) == [], "nothing in the temporary directory"
    assert all(shlex.split(c)[-1].startswith(str(keys.resolve())) for c in printed if c.startswith("rm "))


def test_the_tool_is_standard_library_python_linted_formatted_and_typed(tmp_path: Path) -> None:
    """The tool runs wherever Python and uv do: no dependency, checked by this repository's ruff
    configuration and strict mypy; a project carries its settings alone."""
    import tomllib

    assert tomllib.loads((TEMPLATE_ROOT / "pyproject.toml").read_text())["project"]["dependencies"] == []
    bin_dir = Path(sys.executable).parent
    checks = [
        [str(bin_dir / "ruff"), "check", "--no-cache", str(TOOL)],
        [str(bin_dir / "ruff"), "format", "--no-cache", "--check", str(TOOL)],
        [str(bin_dir / "mypy"), "--strict", "--python-version", "3.11", "--cache-dir", str(tmp_path), str(TOOL)],
    ]
    for check in checks:
        result = subprocess.run(check, capture_output=True, text=True, check=False, cwd=TEMPLATE_ROOT)
        assert result.returncode == 0, result.stdout + result.stderr
    scripts = TEMPLATE_ROOT / "template" / "scripts"
    assert [p.name for p in scripts.iterdir() if p.name.startswith("gcp_")] == ["gcp_settings.json.jinja"]


@pytest.mark.parametrize(
    "spelling",
    [
        "gh:Acme/gar-template",
        "https://github.com/acme/gar-template.git",
        "git+https://github.com/acme/gar-template",
        "git@github.com:acme/gar-template.git",
        "ssh://git@github.com/acme/gar-template",
        "https://github.com/acme/gar-template/",
    ],
)
def test_every_spelling_of_a_template_source_compares_as_one(spelling: str) -> None:
    from gar_template_setup import provenance

    assert provenance.comparable(spelling) == "https://github.com/acme/gar-template"
    assert provenance.comparable("gh:acme/gar-template-fork") != "https://github.com/acme/gar-template"


def test_a_local_source_compares_by_its_path(tmp_path: Path) -> None:
    from gar_template_setup import provenance

    (tmp_path / "gar-template").mkdir()
    absolute = provenance.comparable(str(tmp_path / "gar-template"))
    assert absolute == (tmp_path / "gar-template").as_uri()
    assert provenance.comparable("../gar-template", tmp_path / "project") == absolute
    assert provenance.comparable(f"git+{absolute}") == absolute


@pytest.mark.parametrize(
    ("recorded", "named"),
    [
        ({"source": "gh:attacker/gar-template"}, "records its template as gh:attacker/gar-template"),
        ({"commit": "v999.0.0"}, "rendered by template v999.0.0, newer than this tool"),
        ({"commit": "v999.0.0-3-gabc1234"}, "rendered by template v999.0.0-3-gabc1234, newer"),
    ],
)
def test_a_project_that_names_another_source_or_a_newer_release_is_refused_without_yes(
    generate, tmp_path: Path, recorded: dict[str, str], named: str
) -> None:
    """The line in a README is built from answers any writer can edit: a fork there, or a release
    the tool does not know, is shown and refused before anything is read, unless --yes."""
    base = settings_of(generate("defaults").path)["template"]
    project = package(generate("defaults"), tmp_path, template={**base, **recorded})
    cloud = stand_ins(tmp_path, project)
    refused = setup(cloud, project, confirm=False, ok=False)
    assert refused.returncode == 1 and named in refused.stdout, refused.stdout
    assert "nothing was read or changed" in said(refused.stderr) and "--yes" in said(refused.stderr)
    assert cloud.gcloud()["calls"] == [] and cloud.gh()["calls"] == []
    accepted = setup(cloud, project)  # --yes: the person has seen the source and trusts it
    assert named in accepted.stdout and "Done." in accepted.stdout


def test_the_project_this_checkout_renders_is_accepted_without_yes(generate) -> None:
    """A project copied from this checkout names it: the tool, installed from it, has no objection."""
    from gar_template_setup import provenance

    template = settings_of(generate("defaults").path)["template"]
    assert provenance.objections(template["source"], template["commit"], generate("defaults").path) == []


def test_a_stop_message_wraps_its_prose_at_80_columns_and_keeps_each_command_whole() -> None:
    from gar_template_setup.terminal import fitted

    command = (
        "gcloud iam workload-identity-pools providers delete legacy "
        "--workload-identity-pool=github-actions --location=global --project=my-gcp-project"
    )
    prose = "The pool github-actions has another provider, legacy, that maps attribute.release. " * 2
    lines = fitted(f"{prose}Delete it:\n  - an item that runs on " + "and on " * 15 + f"\n$ {command}").splitlines()
    assert all(len(line) <= 80 for line in lines[:-1]) and len(lines) > 4, lines
    assert said(" ".join(lines[:-1])).startswith(said(prose))
    item = [n for n, line in enumerate(lines) if line.startswith("  - an item")]
    assert item and lines[item[0] + 1].startswith("    and on"), lines  # a list item's lines stay indented
    assert lines[-1] == f"    {command}"  # whole, as it runs


def test_settings_of_a_release_that_copied_the_scripts_ask_for_the_update_first(generate, tmp_path: Path) -> None:
    settings = settings_of(generate("defaults").path)
    del settings["template"]  # as releases up to 0.2.0 rendered them
    project = tmp_path / "earlier"
    (project / "scripts").mkdir(parents=True)
    (project / "scripts/gcp_settings.json").write_text(json.dumps(settings))
    cloud = stand_ins(tmp_path, project)
    stopped = setup(cloud, project, ok=False)
    assert stopped.returncode == 1
    update = f"{settings['copier']} update --trust --defaults"
    assert f"Take the template's new release first, then run the command its README gives: {update}" in said(
        stopped.stderr
    )
    assert f"\n    {update}\n" in stopped.stderr  # whole, on a line of its own
    assert cloud.gcloud()["calls"] == []
