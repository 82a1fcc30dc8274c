#!/usr/bin/env python3
"""Set up Google Cloud (and, with the GitHub CLI, GitHub) so that a tag release of the project
in the current directory can publish to its own Artifact Registry repository.

    gar-template-setup --dry-run   # read, then print what differs and the commands
    gar-template-setup             # apply them; safe to run again
    gar-template-setup --check     # read only: exit 0 when publishing is ready, else 1

Run it in a project made from gar-template, with an account that may administer the Google Cloud
project (`gcloud auth login`) and, where installed, the GitHub CLI logged in (`gh auth login`). It
reads before it trusts, creates only what is missing, and stops, changing nothing, where existing
state disagrees with what publishing needs. Standard library only; the names come from the
project's scripts/gcp_settings.json, which Copier renders from its answers.

The package layer is this package's own: its repository (written by its publisher alone), its
publisher account, the bindings that let a release manager's tag release act as it, and the GitHub
environment. The organisation layer (organisation.py) is shared and only checked.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import organisation, provenance
from .cloud import (
    IMPERSONATION_ROLES,
    READER_ROLE,
    REGISTRY_WRITE_ROLES,
    TOKEN_CREATOR,
    WORKLOAD_IDENTITY_USER,
    WRITER_ROLE,
    Runner,
    Settings,
    SetupError,
    account_resource,
    bindings,
    commands,
    described,
    gcloud,
    gh_ready,
    grant,
    project_resource,
    removal,
    repository_resource,
    revoke,
    section,
    shell_join,
)
from .terminal import fitted

KEY_POLICY = "constraints/iam.disableServiceAccountKeyCreation"
PUBLISHER_SECRET, READER_SECRET = "GOOGLE_CREDENTIALS", "ARTIFACT_REGISTRY_READER_KEY"
READER_KEY_VARIABLE = "ARTIFACT_REGISTRY_READER_KEY_ID"
OWNER_NOTE = "gar-template publisher of {distribution} for GitHub repository id {repository_id}"
# The package repository's description records its owner the same way; releases up to 0.2.0
# wrote EARLIER_REPOSITORY_NOTE, which names the distribution only.
REPOSITORY_NOTE = "gar-template repository of {distribution} for GitHub repository id {repository_id}"
EARLIER_REPOSITORY_NOTE = "Python package {distribution}, written by its publisher alone"
API = "${GITHUB_API_URL:-https://api.github.com}"
# Portable (GNU and BSD base64 differ: `base64 -w0` fails on macOS): python3 is there already.
BASE64 = "python3 -c 'import base64, sys; print(base64.b64encode(open(sys.argv[1], \"rb\").read()).decode())'"


class GitHub:
    """GitHub through gh when it is installed and logged in; else the commands are printed."""

    def __init__(self, run: Runner, settings: Settings) -> None:
        self.run, self.settings = run, settings
        self.ready = gh_ready()
        self.api = f"repos/{settings.github_repository}"

    def get(self, path: str, jq: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.run.read("gh", "api", path, *(["--jq", jq] if jq else []))

    def ids(self) -> tuple[str, str] | None:
        if not self.ready:
            return None
        found = self.get(self.api, ".id, .owner.id")
        if found.returncode != 0:
            raise SetupError(
                f"GitHub does not know {self.settings.github_repository} ({found.stderr.strip()}). Create the "
                "repository first, or correct github_repository:\n"
                f"$ {commands.record} --data github_repository=OWNER/NAME"
            )
        repository_id, owner_id = found.stdout.split()
        return repository_id, owner_id

    def login(self, user_id: str) -> str | None:
        found = self.get(f"user/{user_id}", ".login") if self.ready else None
        return found.stdout.strip() if found is not None and found.returncode == 0 else None

    def user_id(self) -> str | None:
        found = self.get("user", ".id") if self.ready else None
        return found.stdout.strip() if found is not None and found.returncode == 0 else None


def github_ids(github: GitHub, settings: Settings, repository_id: str | None, owner_id: str | None) -> tuple[str, str]:
    """The numeric ids: from the flags, else from GitHub, checked against what the project recorded."""
    looked_up = github.ids() if repository_id is None or owner_id is None else None
    repository_id = repository_id or (looked_up[0] if looked_up else settings.github_repository_id)
    owner_id = owner_id or (looked_up[1] if looked_up else settings.github_owner_id)
    if not repository_id or not owner_id:
        raise SetupError(ids_needed(settings))
    for key, value, recorded in (
        ("github_repository_id", repository_id, settings.github_repository_id),
        ("github_owner_id", owner_id, settings.github_owner_id),
    ):
        if not value.isdigit():
            raise SetupError(f"{key} must be digits, got {value!r}")
        if recorded and recorded != value:
            raise SetupError(
                f"{settings.github_repository} now has {key} {value}, but this project recorded {recorded}: the "
                "repository (or its owner) was deleted and created again, or the name now belongs to someone "
                "else. Trust moves only when you say so: check the repository, then record the new id:\n"
                f"$ {commands.record} --data {key}={value}"
            )
    return repository_id, owner_id


def ids_needed(settings: Settings) -> str:
    return (
        f"The numeric ids of {settings.github_repository} are needed: install the GitHub CLI and run "
        "`gh auth login`, or pass them: --repository-id ID --owner-id ID. Without gh, with a token:\n"
        f'$ curl -fsS -H "Authorization: Bearer $GITHUB_TOKEN" {API}/repos/{settings.github_repository}'
        ' | python3 -c \'import json, sys; r = json.load(sys.stdin); print(r["id"], r["owner"]["id"])\''
    )


def managers_needed(bad: list[str]) -> str:
    """How to name the release managers; `bad`, the ids given that are not numeric."""
    return (
        "Name the release managers by numeric GitHub user id: --release-manager ID (repeatable)"
        + (f" (not digits: {', '.join(bad)})" if bad else "")
        + ". Find an id without gh:\n$ curl -fsS https://api.github.com/users/LOGIN | "
        "python3 -c 'import json, sys; print(json.load(sys.stdin)[\"id\"])'"
    )


def missing_prerequisites(settings: Settings, args: argparse.Namespace, github: GitHub) -> list[str]:
    """Everything the setup needs from the person before it can read, all at once, the login
    first: one run says what to do, rather than one thing per run."""
    missing = []
    if not logged_in():
        missing.append(f"A gcloud login that may administer {settings.project_id}:\n$ gcloud auth login")
    has_ids = (args.repository_id or settings.github_repository_id) and (args.owner_id or settings.github_owner_id)
    if not has_ids and not github.ready:
        missing.append(ids_needed(settings))
    has_managers = settings.release_manager_ids or args.release_manager
    if settings.workload_identity and not has_managers and not github.ready:
        missing.append(managers_needed([]))
    return missing


def release_managers(github: GitHub, settings: Settings, given: list[str]) -> list[str]:
    """Recorded ones, those given by flag, else the GitHub user running this (gh api user)."""
    managers = list(dict.fromkeys([*settings.release_manager_ids, *given]))
    if not managers and (user := github.user_id()):
        print(f"release manager: you, GitHub user id {user} (add more with --release-manager ID)")
        managers = [user]
    bad = [m for m in managers if not m.isdigit()]
    if bad or not managers:
        raise SetupError(managers_needed(bad))
    return managers


def logged_in() -> bool:
    """gcloud has an active account (a plan then reads what exists)."""
    if shutil.which("gcloud") is None:
        return False
    listed = subprocess.run(
        ["gcloud", "auth", "list", "--filter=status:ACTIVE", "--format=value(account)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return listed.returncode == 0 and bool(listed.stdout.strip())


def project_number(run: Runner, settings: Settings) -> str:
    result = run.read("gcloud", "projects", "describe", settings.project_id, "--format=value(projectNumber)")
    if result.returncode != 0:
        raise SetupError(f"cannot read the project {settings.project_id}: {result.stderr.strip()}")
    number = result.stdout.strip()
    if settings.project_number and settings.project_number != number:
        raise SetupError(
            f"{settings.project_id} has the number {number}, but this project recorded {settings.project_number}. "
            f"Check gcp_project_id, then record the right number:\n"
            f"$ {commands.record} --data gcp_project_number={number}"
        )
    return number


def package_repository(run: Runner, settings: Settings, repository_id: str) -> None:
    """This package's repository, recorded as this GitHub repository's: a name that Google
    records as another package's stops the setup (any writer can change the name in the answers)."""
    section(f"This package's repository {settings.repository} in {settings.location}")
    location = f"--location={settings.location}"
    note = REPOSITORY_NOTE.format(distribution=settings.distribution, repository_id=repository_id)
    found = run.read_json(*gcloud(settings, "artifacts", "repositories", "describe", settings.repository, location))
    if found is None:
        run.change(
            f"repository {settings.repository} is missing",
            *gcloud(settings, "artifacts", "repositories", "create", settings.repository, location),
            "--repository-format=python",
            f"--description={note}",
        )
        return
    organisation.repository_checked(found, settings.repository, "STANDARD_REPOSITORY")
    recorded = found.get("description") or ""
    earlier = EARLIER_REPOSITORY_NOTE.format(distribution=settings.distribution)
    owned = recorded.startswith(("gar-template repository of ", "Python package "))
    if owned and recorded not in (note, earlier):
        raise SetupError(
            f"The repository {settings.repository} belongs to another package: '{recorded}'. Nothing "
            f"was changed. Give this package its own:\n$ {commands.record} --data gcp_repository=NEW_NAME"
        )
    if recorded != note:
        run.change(
            f"{settings.repository} does not record which repository owns it",
            *gcloud(settings, "artifacts", "repositories", "update", settings.repository, location),
            f"--description={note}",
        )
    print(f"repository {settings.repository} exists and is this repository's")


def publisher(run: Runner, settings: Settings, repository_id: str) -> bool:
    """The publisher account, recorded as this repository's; True when created now."""
    section(f"Publisher {settings.publisher}")
    note = OWNER_NOTE.format(distribution=settings.distribution, repository_id=repository_id)
    found = run.read_json(*gcloud(settings, "iam", "service-accounts", "describe", settings.publisher))
    if found is None:
        return run.change(
            f"service account {settings.publisher} is missing",
            *gcloud(settings, "iam", "service-accounts", "create", settings.publisher.split("@")[0]),
            f"--display-name=Publishes {settings.distribution}"[:101],
            f"--description={note}",
        )
    recorded = found.get("description") or ""
    if recorded.startswith("gar-template publisher of ") and recorded != note:
        raise SetupError(
            f"The service account {settings.publisher} belongs to another package: '{recorded}'. Nothing was "
            f"changed. Give this package its own:\n$ {commands.record} --data gcp_service_account=NEW_ID"
        )
    if recorded != note:
        run.change(
            f"{settings.publisher} does not record which repository owns it",
            *gcloud(settings, "iam", "service-accounts", "update", settings.publisher),
            f"--description={note}",
        )
    print(f"service account {settings.publisher} exists and is this repository's")
    return False


def writers(run: Runner, settings: Settings, created: bool) -> None:
    """Only this package's publisher may write its repository."""
    resource = repository_resource(settings, settings.repository)
    grant(run, settings, resource, f"serviceAccount:{settings.publisher}", WRITER_ROLE, retry=created)
    policy = resource.policy(run, settings)
    others = [
        (role, member)
        for role, member, _ in bindings(policy)
        if role in REGISTRY_WRITE_ROLES and member != f"serviceAccount:{settings.publisher}"
    ]
    # A person (the withdrawal procedure grants repoAdmin for a while) is reported; an account
    # or a federated principal that can upload is another publisher, and stops the setup.
    people = [(r, m) for r, m in others if m.startswith(("user:", "group:", "domain:"))]
    for role, member in people:
        print(f"note: {member} holds {role} on {settings.repository}: remove it when no longer needed")
    machines = [member for role, member in others if (role, member) not in people]
    if machines:
        message = (
            f"{settings.repository} can also be written by {', '.join(machines)}: a release of theirs "
            f"can upload files under the name {settings.distribution}. Nothing was changed. Give this "
            "package its own repository (gar-template's docs/publishing.md, 'Moving to a repository per "
            f"package'):\n$ {commands.record} --data gcp_repository=NEW_NAME"
        )
        if run.mode == "check":
            run.mismatches.append(message.replace("\n$ ", "\n    fix: "))  # as the report gives fixes
        else:
            raise SetupError(message)


def release_principal(settings: Settings, number: str, repository_id: str, manager: str) -> str:
    """The tag releases of this repository pushed by `manager`, as the shared provider maps them."""
    return organisation.principal_set(settings, number, organisation.RELEASE_ATTRIBUTE, f"{repository_id}/{manager}")


def release_bindings(run: Runner, settings: Settings, number: str, repository_id: str, managers: list[str]) -> None:
    """Exactly one principal set per release manager may act as the publisher; nothing else."""
    section(f"Release gate: a version tag pushed by {', '.join(managers)} in {settings.environment}")
    account = account_resource(settings.publisher)
    wanted = [release_principal(settings, number, repository_id, manager) for manager in managers]
    # A binding that is not wanted goes, a conditional one too: its condition is no release gate.
    for role, stale, condition in bindings(account.policy(run, settings)):
        if role == WORKLOAD_IDENTITY_USER and (stale not in wanted or condition):
            revoke(run, settings, account, stale, WORKLOAD_IDENTITY_USER, condition=condition)
    for member in wanted:
        grant(run, settings, account, member, WORKLOAD_IDENTITY_USER, retry=True)
    # Any job of this repository may read (the checks before and after an upload, the tests).
    reader = organisation.principal_set(settings, number, "repository_id", repository_id)
    grant(run, settings, account_resource(settings.reader), reader, WORKLOAD_IDENTITY_USER, retry=True)


def acting_as_publisher(run: Runner, settings: Settings, number: str) -> None:
    """Who else can act as the publisher: a binding on it that lets its holder mint its tokens or
    otherwise impersonate it (a condition does not make it safe), and, with workload identity,
    project-level roles that give the pool's principals Artifact Registry writes or impersonation.
    Each is named with the command that removes it: a mismatch for --check, a warning otherwise."""
    # The release gate's bindings are release_bindings' to keep exact; with a key, the auth action
    # mints the publisher's token from its key: Token Creator on itself.
    allowed = set() if settings.workload_identity else {(TOKEN_CREATOR, f"serviceAccount:{settings.publisher}")}
    account = account_resource(settings.publisher)
    found = [
        (account, f"{settings.publisher}: {described(member, role, condition)}", member, role)
        for role, member, condition in bindings(account.policy(run, settings))
        if role in IMPERSONATION_ROLES
        and not (settings.workload_identity and role == WORKLOAD_IDENTITY_USER)
        and ((role, member) not in allowed or condition)
    ]
    if settings.workload_identity and settings.pool:
        pool = organisation.pool_name(settings, number)
        project = project_resource(settings)
        of_pool = (
            f"principal://iam.googleapis.com/{pool}/",
            f"principalSet://iam.googleapis.com/{pool}/",
        )
        found += [
            (
                project,
                f"project {settings.project_id}: {described(member, role, condition)}",
                member,
                role,
            )
            for role, member, condition in bindings(project.policy(run, settings))
            if member.startswith(of_pool) and role in (*REGISTRY_WRITE_ROLES, *IMPERSONATION_ROLES)
        ]
    for resource, what, member, role in found:
        # --all: every binding of that member and role, whatever its condition.
        fix = removal(settings, resource, member, role, every_condition=True)
        message = (
            f"{what}, so it can act as or beside the publisher outside the release gate\n    fix: {shell_join(fix)}"
        )
        if run.mode == "check":
            run.mismatches.append(message)
        else:
            print(f"WARNING: {message}")


def user_keys(run: Runner, settings: Settings, email: str) -> list[str]:
    listing = run.read_json(
        *gcloud(settings, "iam", "service-accounts", "keys", "list", f"--iam-account={email}"),
        "--managed-by=user",
    )
    return [key["name"].rsplit("/", 1)[-1] for key in listing or []]


def delete_key(run: Runner, settings: Settings, email: str, key: str, why: str) -> None:
    account = f"--iam-account={email}"
    run.change(why, *gcloud(settings, "iam", "service-accounts", "keys", "disable", key, account))
    run.change(why, *gcloud(settings, "iam", "service-accounts", "keys", "delete", key, account, "--quiet"))


def new_key(run: Runner, settings: Settings, email: str, directory: Path) -> tuple[Path, str]:
    key_file = directory / f"{email.split('@')[0]}-key.json"
    try:
        run.change(
            f"{email} needs a key",
            *gcloud(
                settings,
                "iam",
                "service-accounts",
                "keys",
                "create",
                str(key_file),
                f"--iam-account={email}",
            ),
        )
    except SetupError as error:
        if KEY_POLICY in str(error):
            raise SetupError(
                f"The organisation policy {KEY_POLICY} forbids service account keys (organisations created "
                "secure by default enforce it). Use workload identity federation, which needs no key:\n"
                f"$ {commands.copier} update --trust --defaults --data publish_auth=workload_identity"
            ) from error
        raise
    return key_file, json.loads(key_file.read_text())["private_key_id"]


def store_key(
    run: Runner,
    settings: Settings,
    github: GitHub,
    email: str,
    secrets: list[list[str]],
    key_dir: Path | None,
) -> str | None:
    """A new key for `email`, stored by each `gh secret set` of `secrets`, the file then removed.
    Without gh the key goes to `key_dir` (the user's choice) with the steps. The new key's id."""
    if not run.changes:  # a plan or a check: say that a key would be made, make none
        create = ("iam", "service-accounts", "keys", "create", "KEY_FILE", f"--iam-account={email}")
        run.change(f"{email} needs a key, stored in GitHub", *gcloud(settings, *create))
        return None
    if github.ready:
        scratch = Path(tempfile.mkdtemp(prefix="setup-gcp-key-"))
        try:
            key_file, key_id = new_key(run, settings, email, scratch)
            value = base64.b64encode(key_file.read_bytes()).decode()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        try:
            for secret in secrets:
                run.change(f"store the key of {email}", *secret, stdin=value, shown=shlex.join(secret))
        except SetupError:
            delete_key(run, settings, email, key_id, "a key that could not be stored must not stay active")
            raise
        return key_id
    if key_dir is None:
        raise SetupError(
            "Without the GitHub CLI a new key must be written somewhere you choose, outside the repository: "
            "--key-dir DIRECTORY (then store it as printed, and delete it)."
        )
    key_dir.mkdir(parents=True, exist_ok=True)
    key_file, key_id = new_key(run, settings, email, key_dir.resolve())
    print(f"\nStore the key {key_id} in GitHub, base64-encoded: print it with")
    print(f"  {BASE64} {shlex.quote(str(key_file))}")
    for secret in secrets:
        where = f"environment {secret[secret.index('--env') + 1]}" if "--env" in secret else "repository"
        page = "settings/environments" if "--env" in secret else "settings/secrets/actions"
        if "--app" in secret:
            where, page = "Dependabot", "settings/secrets/dependabot"
        print(
            f"  then add it as the {where} secret {secret[3]}: https://github.com/{settings.github_repository}/{page}"
        )
    print(f"and delete the file:\n  rm {shlex.quote(str(key_file))}")
    return key_id


def publisher_key(run: Runner, settings: Settings, github: GitHub, rotate: bool, key_dir: Path | None) -> None:
    """Key mode: one key, stored as the environment secret; older ones disabled, then deleted."""
    section(f"Publisher key, the environment secret {PUBLISHER_SECRET} (whoever holds it publishes)")
    grant(
        run,
        settings,
        account_resource(settings.publisher),
        f"serviceAccount:{settings.publisher}",
        TOKEN_CREATOR,
    )
    existing = user_keys(run, settings, settings.publisher)
    if existing and not rotate:
        print(f"{settings.publisher} has a key ({', '.join(existing)}); --new-key rotates it")
        return
    secret = ["gh", "secret", "set", PUBLISHER_SECRET, "--env", settings.environment]
    key = store_key(
        run,
        settings,
        github,
        settings.publisher,
        [[*secret, "--repo", settings.github_repository]],
        key_dir,
    )
    if key is None:
        return
    if github.ready:
        for old in existing:
            delete_key(run, settings, settings.publisher, old, "a rotated key must stop working")
    elif existing:
        print(f"Once stored, retire the older keys:\n  {commands.setup} --retire-keys-except {key}")


def reader_key(run: Runner, settings: Settings, github: GitHub, rotate: bool, key_dir: Path | None) -> None:
    """Key mode: this repository's own key of the reader (tests, release checks, Dependabot)."""
    section(f"Reader key of this repository, the secret {READER_SECRET}")
    recorded = None
    if github.ready:
        found = run.read("gh", "variable", "get", READER_KEY_VARIABLE, "--repo", settings.github_repository)
        recorded = found.stdout.strip() if found.returncode == 0 else None
    keys = user_keys(run, settings, settings.reader)
    if recorded in keys and not rotate:
        print(f"this repository's reader key is {recorded}; --new-reader-key rotates it")
        return
    secret = ["gh", "secret", "set", READER_SECRET, "--repo", settings.github_repository]
    key = store_key(run, settings, github, settings.reader, [secret, [*secret, "--app", "dependabot"]], key_dir)
    if key is not None and recorded and recorded not in keys:
        # Releases up to 0.2.0 gave each repository a key of the organisation's one reader, which
        # stops at Google's ten keys: the old key of this repository goes once the new one is stored.
        shared = user_keys(run, settings, settings.organisation_reader)
        if recorded in shared:
            delete_key(
                run,
                settings,
                settings.organisation_reader,
                str(recorded),
                "this repository now reads with a key of its own reader",
            )
    if key is not None and github.ready:
        variable = [
            "gh",
            "variable",
            "set",
            READER_KEY_VARIABLE,
            "--body",
            key,
            "--repo",
            settings.github_repository,
        ]
        run.change("record which reader key is this repository's", *variable)
        if recorded in keys:
            delete_key(run, settings, settings.reader, str(recorded), "a rotated key must stop working")


def no_keys_left(run: Runner, settings: Settings, github: GitHub) -> None:
    """Workload identity: the publisher keeps no key and GitHub no copy of one."""
    for key in user_keys(run, settings, settings.publisher):
        delete_key(run, settings, settings.publisher, key, f"{settings.publisher} still has the key {key}")
    if not github.ready:
        return
    listing = run.read("gh", "secret", "list", "--env", settings.environment, "--repo", settings.github_repository)
    if listing.returncode == 0 and PUBLISHER_SECRET in listing.stdout.split():
        run.change(
            f"the environment still stores {PUBLISHER_SECRET}",
            *("gh", "secret", "delete", PUBLISHER_SECRET, "--env", settings.environment),
            *("--repo", settings.github_repository),
        )


def github_environment(run: Runner, settings: Settings, github: GitHub) -> None:
    """The upload job's environment, deployable from v* tags only where the plan allows it; its
    earlier policies replaced, not added to."""
    section(f"GitHub environment {settings.environment}")
    api = f"{github.api}/environments/{settings.environment}"
    tags_only = {"protected_branches": False, "custom_branch_policies": True}
    body = json.dumps({"deployment_branch_policy": tags_only})
    tag_policy = json.dumps({"name": "v*", "type": "tag"})
    if not github.ready:
        if run.mode == "check":
            run.mismatches.append("GitHub cannot be read: install the GitHub CLI and run gh auth login")
            return
        auth = '-H "Authorization: Bearer $GITHUB_TOKEN" -H "Accept: application/vnd.github+json"'
        print(
            "Without the GitHub CLI: with a token that may administer the repository (GITHUB_TOKEN), run\n"
            f"  curl -fsS -X PUT {auth} {API}/{api} -d {shlex.quote(body)}\n"
            f"  curl -fsS -X POST {auth} {API}/{api}/deployment-branch-policies -d {shlex.quote(tag_policy)}\n"
            f"or open https://github.com/{settings.github_repository}/settings/environments, "
            f"add {settings.environment}, and allow the tags v* only."
        )
        return
    found = github.get(api)
    current = json.loads(found.stdout) if found.returncode == 0 else None
    policy = (current or {}).get("deployment_branch_policy") or {}
    if current is None or not policy.get("custom_branch_policies"):
        try:
            run.change(
                f"environment {settings.environment} is missing or admits every branch",
                *("gh", "api", "--method", "PUT", api, "--input", "-"),
                stdin=body,
                shown=f"echo {shlex.quote(body)} | gh api --method PUT {api} --input -",
            )
        except SetupError as error:
            print(f"GitHub refused a deployment policy ({error}): this plan has none for private repositories.")
            run.change(
                f"environment {settings.environment} is missing",
                *("gh", "api", "--method", "PUT", api, "--input", "-"),
                stdin="{}",
                shown=f"echo {shlex.quote(json.dumps({}))} | gh api --method PUT {api} --input -",
            )
            plan_report(settings, environment_policy=False)
            return
    listing = github.get(f"{api}/deployment-branch-policies")
    policies = json.loads(listing.stdout).get("branch_policies", []) if listing.returncode == 0 else []
    for stale in policies:
        if (stale.get("name"), stale.get("type")) != ("v*", "tag"):
            run.change(
                f"environment {settings.environment} also admits {stale.get('type')} {stale.get('name')}",
                *(
                    "gh",
                    "api",
                    "--method",
                    "DELETE",
                    f"{api}/deployment-branch-policies/{stale.get('id')}",
                ),
            )
    if not any((p.get("name"), p.get("type")) == ("v*", "tag") for p in policies):
        run.change(
            f"environment {settings.environment} lacks its tag policy v*",
            *(
                "gh",
                "api",
                "--method",
                "POST",
                f"{api}/deployment-branch-policies",
                "-f",
                "name=v*",
                "-f",
                "type=tag",
            ),
        )
    plan_report(
        settings,
        environment_policy=True,
        rulesets=github.get(f"{github.api}/rulesets", "[.[] | .target]"),
    )


def template_update_environment(run: Runner, settings: Settings, github: GitHub) -> None:
    """The environment whose secret is the template-update App's private key: deployable from the
    default branch alone, by one custom branch policy naming it. Not "protected branches": with
    no branch protection rule, GitHub lets every branch deploy there, and the key mints write
    tokens for every repository the App is installed on."""
    name = settings.template_update_environment
    if not name:
        return
    section(f"GitHub environment {name}")
    if not github.ready:
        if run.mode == "check":
            run.mismatches.append("GitHub cannot be read: install the GitHub CLI and run gh auth login")
            return
        print(
            f"Without the GitHub CLI: open https://github.com/{settings.github_repository}/settings/environments, "
            f"add {name}, choose 'Selected branches and tags' and add the default branch alone."
        )
        return
    found = github.get(github.api, ".default_branch")
    branch = found.stdout.strip() if found.returncode == 0 else ""
    if not branch:
        raise SetupError(f"GitHub does not say the default branch of {settings.github_repository}.")
    api = f"{github.api}/environments/{name}"
    current = github.get(api)
    policy = (json.loads(current.stdout) if current.returncode == 0 else {}).get("deployment_branch_policy") or {}
    branches_only = {"protected_branches": False, "custom_branch_policies": True}
    body = json.dumps({"deployment_branch_policy": branches_only})
    if not policy.get("custom_branch_policies") or policy.get("protected_branches"):
        said = "protected branches" if policy.get("protected_branches") else "every branch"
        try:
            run.change(
                f"environment {name} is missing or admits {said}, not the default branch {branch} alone",
                *("gh", "api", "--method", "PUT", api, "--input", "-"),
                stdin=body,
                shown=f"echo {shlex.quote(body)} | gh api --method PUT {api} --input -",
            )
        except SetupError as error:
            print(
                fitted(
                    f"GitHub refused a deployment policy: this plan has none for private repositories. "
                    f"Store no App key in {name}: update by hand (docs/template-update-workflow.md).\n{error}"
                )
            )
            return
    listing = github.get(f"{api}/deployment-branch-policies")
    policies = json.loads(listing.stdout).get("branch_policies", []) if listing.returncode == 0 else []
    for other in policies:
        if (other.get("name"), other.get("type")) != (branch, "branch"):
            run.change(
                f"environment {name} also admits {other.get('type')} {other.get('name')}",
                *("gh", "api", "--method", "DELETE"),
                f"{api}/deployment-branch-policies/{other.get('id')}",
            )
    if not any((p.get("name"), p.get("type")) == (branch, "branch") for p in policies):
        run.change(
            f"environment {name} lacks its policy: the default branch {branch}",
            *("gh", "api", "--method", "POST", f"{api}/deployment-branch-policies"),
            *("-f", f"name={branch}", "-f", "type=branch"),
        )


def plan_report(
    settings: Settings,
    *,
    environment_policy: bool,
    rulesets: subprocess.CompletedProcess[str] | None = None,
) -> None:
    """What protects a release on this repository's plan, and what does not."""
    tag_rules = rulesets is not None and rulesets.returncode == 0 and "tag" in rulesets.stdout
    lines = [
        "environment policy: v* tags only" if environment_policy else "environment policy: none (not on this plan)",
        "tag ruleset: yes" if tag_rules else "tag ruleset: none (anyone with write access can push a v* tag)",
    ]
    if settings.workload_identity:
        lines.append("Google's gate holds on every plan: a version tag pushed by a release manager, nothing else.")
    elif not environment_policy:
        lines.append(
            f"KEY MODE WITHOUT AN ENVIRONMENT POLICY: any branch job that names {settings.environment} reads "
            f"{PUBLISHER_SECRET}; anyone with write access can publish. Use workload identity."
        )
    else:
        lines.append("Key mode: whoever can push a v* tag (or holds the key) publishes.")
    print("\n".join(f"  {line}" for line in lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=provenance.PROGRAM, description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--version", action="store_true", help="say which release of the tool this is, and its source")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--dry-run", action="store_true", help="read, then print the commands it would run")
    modes.add_argument("--check", action="store_true", help="read only; exit 1 naming each mismatch")
    parser.add_argument("--organisation", action="store_true", help="administrator: update the shared provider")
    parser.add_argument("--reader", action="append", default=[], metavar="MEMBER", help="also may read this package")
    parser.add_argument(
        "--release-manager",
        action="append",
        default=[],
        metavar="GITHUB_USER_ID",
        help="workload identity: also may release, by numeric GitHub user id (repeatable)",
    )
    parser.add_argument("--repository-id", help="numeric id of the GitHub repository (else asked of gh)")
    parser.add_argument("--owner-id", help="numeric id of its owner (else asked of gh)")
    parser.add_argument("--new-key", action="store_true", help="key mode: rotate the publisher's key")
    parser.add_argument(
        "--new-reader-key",
        action="store_true",
        help="key mode: rotate this repository's reader key",
    )
    parser.add_argument("--retire-keys-except", metavar="KEY_ID", help="key mode: delete the publisher's other keys")
    parser.add_argument("--key-dir", type=Path, help="without gh: where a new key is written for you to store")
    parser.add_argument(
        "--yes",
        action="store_true",
        help="apply the listed changes that give rights without asking (else asked at a "
        "terminal); also act on a project that records another template source or a newer release",
    )
    args = parser.parse_args(argv)
    if args.version:  # printed whole: argparse's own version action wraps it at the terminal's width
        own = provenance.tool()
        print(f"{provenance.PROGRAM} {own.version} from {own.source or 'an unknown source'}")
        return 0
    try:
        settings = Settings.load()
    except SetupError as error:
        stopped(str(error))
        return 1
    if problems := settings.problems():
        stopped(
            "scripts/gcp_settings.json breaks the questions' rules; nothing was read or changed. "
            "Correct the answers (the command records a value):\n"
            + "\n".join(f"  {problem}" for problem in problems)
            + f"\n$ {commands.record} --data KEY=VALUE"
        )
        return 1
    if objections := provenance.objections(settings.template_source, settings.template_commit, Path.cwd()):
        print("This project and this tool do not agree:")
        print("\n".join(f"  - {objection}" for objection in objections))
        if not args.yes:
            stopped(
                "nothing was read or changed. Run the tool your organisation pins (the project's "
                "docs/publishing.md, One-time Google Cloud setup), or pass --yes once you trust the "
                "source the project records."
            )
            return 1
    run = Runner("check" if args.check else "plan" if args.dry_run else "apply")
    try:
        kinds = ("user:", "group:", "serviceAccount:", "domain:", "principal:", "principalSet:")
        readers = [m for m in args.reader if m.startswith(kinds)]
        if len(readers) != len(args.reader):
            raise SetupError(f"--reader: expected a member such as group:team@example.com ({', '.join(kinds)})")
        if shutil.which("gcloud") is None and not args.dry_run:
            raise SetupError("gcloud is not installed: see https://cloud.google.com/sdk/docs/install")
        if args.retire_keys_except:
            keys = user_keys(run, settings, settings.publisher)
            if args.retire_keys_except not in keys:
                raise SetupError(f"no key {args.retire_keys_except} on {settings.publisher}: nothing was retired")
            for key in keys:
                if key != args.retire_keys_except:
                    delete_key(run, settings, settings.publisher, key, "a rotated key must stop working")
            return 0
        if args.dry_run and not logged_in():
            print("gcloud is not logged in (gcloud auth login): this plan assumes nothing exists yet.")
            run.offline = True
        github = GitHub(run, settings)
        if not args.dry_run and (missing := missing_prerequisites(settings, args, github)):
            raise SetupError(
                "nothing was read or changed; first:\n" + "\n".join(f"{n}. {what}" for n, what in enumerate(missing, 1))
            )
        if run.offline:
            github.ready = False
            repository_id = args.repository_id or settings.github_repository_id or "REPOSITORY_ID"
            owner_id = args.owner_id or settings.github_owner_id or "OWNER_ID"
            managers = [*settings.release_manager_ids, *args.release_manager] or ["YOUR_GITHUB_USER_ID"]
            number = settings.project_number or "PROJECT_NUMBER"
        else:
            repository_id, owner_id = github_ids(github, settings, args.repository_id, args.owner_id)
            wif = settings.workload_identity
            managers = release_managers(github, settings, args.release_manager) if wif else []
            number = project_number(run, settings)
        if run.changes:
            # Everything is read once before anything changes, as a plan: a state that stops the
            # setup (a repository of another format, another provider, another package's account)
            # stops it with nothing changed, and the privileged changes are confirmed first.
            plan = Runner("plan", keep_files=False)
            with contextlib.redirect_stdout(io.StringIO()):
                layers(plan, settings, args, github, number, repository_id, owner_id, managers)
            confirm(privileged(plan.planned, github), args.yes)
        layers(run, settings, args, github, number, repository_id, owner_id, managers)
        return closing(run, settings, number, repository_id, owner_id, managers)
    except SetupError as error:
        stopped(str(error))
        return 1


def stopped(message: str) -> None:
    """Why the setup stops, on stderr, fitted to an 80-column terminal (terminal.fitted)."""
    print("\n" + fitted(f"{provenance.PROGRAM} stopped: {message}"), file=sys.stderr)


def privileged(planned: list[str], github: GitHub) -> list[str]:
    """The planned changes that give someone a right: each binding, said with its member (a
    release manager's GitHub login beside the numeric id the binding holds)."""
    said = []
    for command in planned:
        words = shlex.split(command)
        if "add-iam-policy-binding" not in words:
            continue
        resource = words[words.index("add-iam-policy-binding") + 1]
        member = next(w.split("=", 1)[1] for w in words if w.startswith("--member="))
        role = next(w.split("=", 1)[1] for w in words if w.startswith("--role="))
        who = member
        if f"/attribute.{organisation.RELEASE_ATTRIBUTE}/" in member:
            actor = member.rsplit("/", 1)[1]
            login = github.login(actor)
            who = f"release manager {login or 'GitHub user'} (id {actor}): {member}"
        said.append(f"{role} on {resource} for {who}")
    return said


def confirm(changes: list[str], yes: bool) -> None:
    """Privileged changes are shown first and applied only once confirmed: at a terminal, or by
    --yes. Without either, nothing changes."""
    if not changes:
        return
    print("These changes give rights to act on this package or read it:")
    for change in changes:
        print(f"  - {change}")
    if yes:
        return
    if not sys.stdin.isatty():
        raise SetupError("nothing was changed: confirm the changes above at a terminal, or pass --yes")
    answer = input("Apply them? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise SetupError("nothing was changed: the changes above were not confirmed")


def layers(
    run: Runner,
    settings: Settings,
    args: argparse.Namespace,
    github: GitHub,
    number: str,
    repository_id: str,
    owner_id: str,
    managers: list[str],
) -> None:
    """Both layers, in the order that needs nothing before it exists."""
    wif = settings.workload_identity
    section("APIs")
    organisation.apis(run, settings)
    package_repository(run, settings, repository_id)
    names = (settings.pypi_remote, settings.internal_repository, settings.virtual_repository)
    section(f"Organisation repositories {', '.join(names)}")
    organisation.organisation_names(run, settings)
    organisation.pypi_remote(run, settings)
    organisation.virtual_repository(run, settings, settings.internal_repository, with_pypi=False)
    organisation.virtual_repository(run, settings, settings.virtual_repository, with_pypi=True)
    organisation.reader_account(run, settings)
    for member in [f"serviceAccount:{settings.reader}", *args.reader]:
        grant(run, settings, repository_resource(settings, settings.repository), member, READER_ROLE)
    created = publisher(run, settings, repository_id)
    writers(run, settings, created)
    if wif:
        organisation.pool_and_provider(run, settings, owner_id, number, administer=args.organisation)
        release_bindings(run, settings, number, repository_id, managers)
        no_keys_left(run, settings, github)
    github_environment(run, settings, github)
    template_update_environment(run, settings, github)
    if not wif:
        publisher_key(run, settings, github, args.new_key, args.key_dir)
        reader_key(run, settings, github, args.new_reader_key, args.key_dir)
    acting_as_publisher(run, settings, number)


def closing(
    run: Runner,
    settings: Settings,
    number: str,
    repository_id: str,
    owner_id: str,
    managers: list[str],
) -> int:
    discovered = {
        "gcp_project_number": (number, settings.project_number),
        "github_repository_id": (repository_id, settings.github_repository_id),
        "github_owner_id": (owner_id, settings.github_owner_id),
        "github_release_manager_ids": (",".join(managers), ",".join(settings.release_manager_ids)),
    }
    if not settings.workload_identity:
        discovered = {}  # key mode records no ids: Google trusts the key, not the repository
    unrecorded = {key: found for key, (found, recorded) in discovered.items() if found != recorded}
    if run.mode == "check":
        run.mismatches += [f"{key} is not recorded as {value}" for key, value in unrecorded.items()]
        if run.mismatches:
            print(
                "\nNot ready to publish:\n" + "\n".join(f"- {m}" for m in run.mismatches),
                file=sys.stderr,
            )
            return 1
        print(
            "\nReady to publish: every resource, binding, the environment and the recorded ids match.\n"
            "A release that still got a 403 within minutes of a change: IAM takes up to about 5 minutes "
            "to apply; re-run the failed jobs."
        )
        return 0
    if run.mode == "plan":
        print(f"\nDry run: {len(run.planned)} command(s) above would run; nothing was changed.")
        return 0
    if unrecorded:
        data = " ".join(f"--data {key}={value}" for key, value in unrecorded.items())
        print(
            "\nRecord these values in the project (the publish workflow refuses to run without them), with a "
            f"clean work tree:\n  {commands.record} {data}\nthen commit and push. --vcs-ref=:current: keeps the "
            "template version: nothing else changes."
        )
    if settings.workload_identity:
        print(
            "\nDependabot: no key is made for it. An organisation owner gives it the registries once "
            "through OIDC: organisation settings > Advanced Security > Global settings > Private "
            f"registries > two Python registries, {settings.virtual_index_url} (the base index, "
            f"instead of PyPI) and {settings.internal_index_url} (uv's explicit index of the internal "
            "names), each with authentication OIDC with Google Cloud, provider "
            f"projects/{number}/locations/global/workloadIdentityPools/{settings.pool}/providers/"
            f"{settings.provider}, service account {settings.reader}."
        )
    else:
        print(f"\nDependabot reads with this repository's reader key (its Dependabot secret {READER_SECRET}).")
    print(f"Done. IAM changes can take a few minutes to apply; `{commands.setup} --check` verifies.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
