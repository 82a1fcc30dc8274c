"""What the package layer (main.py) and the organisation layer (organisation.py) share: the
settings, the commands the messages name, and one runner that reads Google Cloud and GitHub, then
applies, plans or checks every change.

Standard library only. The settings come from the project's scripts/gcp_settings.json, which
Copier renders from the answers; nothing else here is specific to one project.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .provenance import PROGRAM

# In the project the tool runs in: Copier renders it from the answers.
SETTINGS = Path("scripts", "gcp_settings.json")


def retry_delays() -> list[float]:
    """Seconds between attempts: Google documents that a new service account can take a while
    before it can be bound. SETUP_GCP_RETRY_DELAYS (read when used) shortens them in tests."""
    return [float(s) for s in os.environ.get("SETUP_GCP_RETRY_DELAYS", "5 10 20 30").split()]


READER_ROLE = "roles/artifactregistry.reader"
WRITER_ROLE = "roles/artifactregistry.writer"
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator"
# Roles that let their holder act as a service account: mint its tokens, attach it, federate to it,
# make it keys, or rewrite its policy to grant any of these (basic roles included).
IMPERSONATION_ROLES = (
    WORKLOAD_IDENTITY_USER,
    TOKEN_CREATOR,
    "roles/iam.serviceAccountOpenIdTokenCreator",
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountKeyAdmin",
    "roles/iam.serviceAccountAdmin",
    "roles/owner",
    "roles/editor",
)
# Project-level roles that write every Artifact Registry repository of the project.
REGISTRY_WRITE_ROLES = (
    WRITER_ROLE,
    "roles/artifactregistry.repoAdmin",
    "roles/artifactregistry.admin",
    "roles/artifactregistry.createOnPushWriter",
    "roles/artifactregistry.createOnPushRepoAdmin",
)


@dataclass
class Commands:
    """The commands the messages name, as this project runs them (set by Settings.load): Copier
    with uvx at the version the template is tested with, and this tool as the README gives it."""

    copier: str = "uvx copier"
    setup: str = PROGRAM

    @property
    def record(self) -> str:
        return f"{self.copier} update --trust --defaults --vcs-ref=:current:"


commands = Commands()


def installed_command() -> str | None:
    """The tool's own name when it runs as installed on PATH (`uv tool install`), so messages name
    the command the person uses; None when started otherwise (uvx, python -m)."""
    found = shutil.which(PROGRAM)
    started = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    return PROGRAM if found and started and Path(found).resolve() == started else None


def lowercase_id(value: str, shortest: int, longest: int) -> bool:
    """Google Cloud's ID shape, as includes/validators.jinja's lowercase_id: `shortest` to
    `longest` of a-z, 0-9 and '-', a letter first, no '-' last."""
    repeat = f"{max(shortest - 2, 0)},{longest - 2}"
    inner = "[a-z0-9-]{" + repeat + "}[a-z0-9]"
    return re.fullmatch(f"[a-z]({inner})" + ("?" if shortest == 1 else ""), value) is not None


def shell_join(args: tuple[str, ...] | list[str]) -> str:
    """A command line to copy: like shlex.join, but CEL's single quotes go inside double quotes."""
    words = []
    for arg in args:
        quoted = shlex.quote(arg)
        if quoted != arg and "'" in arg and not any(c in arg for c in '"$`\\!'):
            quoted = f'"{arg}"'
        words.append(quoted)
    return " ".join(words)


class SetupError(Exception):
    """A state the setup must not change on its own: the message says what and how to fix it.
    A line of it that starts with "$ " is a command, which terminal.fitted prints whole."""


@dataclass(frozen=True)
class Settings:
    """scripts/gcp_settings.json: the answers and the names computed from them, once."""

    project_id: str
    project_number: str
    location: str
    workload_identity: bool
    distribution: str
    github_repository: str
    github_repository_id: str
    github_owner_id: str
    release_manager_ids: list[str]
    environment: str
    template_update_environment: str  # "" without the template-update workflow
    repository: str
    publisher: str
    upload_url: str
    index_url: str
    pool: str
    provider: str
    pypi_remote: str
    internal_repository: str
    virtual_repository: str
    virtual_index_url: str
    internal_index_url: str
    reader: str
    organisation_reader: str  # the organisation's reader; in key mode `reader` is the package's own
    template_source: str  # the project's _src_path and _commit, as Copier recorded them
    template_commit: str

    @classmethod
    def load(cls, path: Path = SETTINGS) -> Settings:
        """The project's settings; they also set the commands the messages name."""
        if not path.is_file():
            raise SetupError(f"no {path} here: run this in a project made from gar-template, at its top level")
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if "template" not in data:
            raise SetupError(
                f"{path} comes from a template release that carried its own setup scripts. Take "
                "the template's new release first, then run the command its README gives:\n"
                f"$ {data.get('copier', 'uvx copier')} update --trust --defaults"
            )
        package, organisation, template = data["package"], data["organisation"], data["template"]
        commands.copier = data["copier"]
        commands.setup = installed_command() or template["setup"]
        return cls(
            project_id=data["project_id"],
            project_number=data["project_number"],
            location=data["location"],
            workload_identity=data["workload_identity"],
            distribution=data["distribution"],
            github_repository=data["github_repository"],
            github_repository_id=data["github_repository_id"],
            github_owner_id=data["github_owner_id"],
            release_manager_ids=[i for i in data["release_manager_ids"].split(",") if i],
            environment=data["environment"],
            # Settings rendered before this field existed have no template-update environment.
            template_update_environment=data.get("template_update_environment", ""),
            repository=package["repository"],
            publisher=package["publisher"],
            upload_url=package["upload_url"],
            index_url=package["index_url"],
            pool=organisation["pool"],
            provider=organisation["provider"],
            pypi_remote=organisation["pypi_remote"],
            internal_repository=organisation["internal_repository"],
            virtual_repository=organisation["virtual_repository"],
            virtual_index_url=organisation["virtual_index_url"],
            internal_index_url=organisation["internal_index_url"],
            reader=organisation["reader"],
            organisation_reader=(
                f"{organisation.get('organisation_reader_id', '')}@{data['project_id']}.iam.gserviceaccount.com"
            ),
            template_source=template["source"],
            template_commit=template["commit"],
        )

    def problems(self) -> list[str]:
        """What breaks the questions' rules (includes/validators.jinja), by question: any writer can
        edit the settings or the answers they come from, and the setup runs with an administrator's
        rights. tests/test_setup_gcp.py puts the questions' refusal corpus through this too."""
        ids = {  # question: (value, shortest, longest)
            "gcp_project_id": (self.project_id, 6, 30),
            "gcp_repository": (self.repository, 1, 63),
            "gcp_service_account": (self.publisher.split("@")[0], 6, 30),
            "gcp_reader_service_account": (self.organisation_reader.split("@")[0], 6, 30),
            "gcp_pypi_remote": (self.pypi_remote, 1, 63),
            "gcp_internal_repository": (self.internal_repository, 1, 63),
            "gcp_virtual_repository": (self.virtual_repository, 1, 63),
        }
        if self.workload_identity:
            ids["gcp_workload_identity_pool"] = (self.pool, 4, 32)
            ids["gcp_workload_identity_provider"] = (self.provider, 4, 32)
        found = [
            f"{key}: not an ID of {shortest} to {longest} of a-z, 0-9, '-', a-z first: {value!r}"
            for key, (value, shortest, longest) in ids.items()
            if not lowercase_id(value, shortest, longest)
        ]
        if "google" in self.project_id or "ssl" in self.project_id:
            found.append(f"gcp_project_id: has google or ssl: {self.project_id!r}")
        for key in ("gcp_workload_identity_pool", "gcp_workload_identity_provider"):
            if key in ids and ids[key][0].startswith("gcp-"):
                found.append(f"{key}: reserved 'gcp-': {ids[key][0]!r}")
        if not re.fullmatch(r"[a-z]+(-[a-z]+[0-9]+)?", self.location):
            found.append(f"gcp_location: not a location: {self.location!r}")
        owner_name = r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}"
        if not re.fullmatch(owner_name, self.github_repository) or self.github_repository.endswith(("/.", "/..")):
            found.append(f"github_repository: not OWNER/NAME: {self.github_repository!r}")
        numbers = {
            "gcp_project_number": [self.project_number] if self.project_number else [],
            "github_repository_id": [self.github_repository_id] if self.github_repository_id else [],
            "github_owner_id": [self.github_owner_id] if self.github_owner_id else [],
            "github_release_manager_ids": self.release_manager_ids,
        }
        found += [
            f"{key}: not digits: {value!r}"
            for key, values in numbers.items()
            for value in values
            if not re.fullmatch(r"[1-9][0-9]{0,19}", value)
        ]
        return found

    def repository_name(self, repository: str) -> str:
        return f"projects/{self.project_id}/locations/{self.location}/repositories/{repository}"


@dataclass
class Runner:
    """Runs gcloud and gh. `mode` is "apply" (change), "plan" (print the changes) or "check"
    (a change that would be needed is a mismatch). Reads run in every mode."""

    mode: str
    mismatches: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    # What was read since the last change: a later read of the same thing is answered from here.
    seen: dict[tuple[str, ...], subprocess.CompletedProcess[str]] = field(default_factory=dict)
    # A plan without a logged-in gcloud: every resource is assumed missing.
    offline: bool = False
    # The files that commands read (gcloud takes an upstream policy only as a file), by path.
    files: dict[str, str] = field(default_factory=dict)
    files_dir: str = ""
    # False for the plan that reads ahead of a run that applies: nobody runs its commands.
    keep_files: bool = True

    def input_file(self, name: str, content: str) -> str:
        """A file for a command to read. A plan or a check prints commands for a person to run:
        its files are kept (and shown) where the printed command names them; a run that applies
        removes its own when it ends."""
        if not self.files_dir:
            self.files_dir = tempfile.mkdtemp(prefix="setup-gcp-files-")
            if self.mode == "apply" or not self.keep_files:
                atexit.register(shutil.rmtree, self.files_dir, True)
        path = str(Path(self.files_dir, name))
        Path(path).write_text(content, encoding="utf-8")
        self.files[path] = content
        return path

    def shown_files(self, args: tuple[str, ...]) -> str:
        """The files a printed command reads, with what they hold."""
        return "".join(
            f"\n    {path} (kept for this command) holds: {content}"
            for path, content in self.files.items()
            if any(path in arg for arg in args)
        )

    @property
    def changes(self) -> bool:
        return self.mode == "apply"

    def read(self, *args: str) -> subprocess.CompletedProcess[str]:
        if self.offline:
            return subprocess.CompletedProcess(args, 1, "", "NOT_FOUND: not read (offline plan)")
        if args not in self.seen:
            self.seen[args] = subprocess.run(args, capture_output=True, text=True, check=False)
        return self.seen[args]

    def read_json(self, *args: str) -> Any:
        """What `describe`/`list` prints, or None when the resource does not exist."""
        result = self.read(*args, "--format=json")
        if result.returncode != 0:
            if "NOT_FOUND" in result.stderr or "not found" in result.stderr.lower():
                return None
            raise SetupError(f"this command failed:\n$ {shlex.join(args)}\n{result.stderr.strip()}")
        return json.loads(result.stdout or "null")

    def change(self, why: str, *args: str, stdin: str | None = None, shown: str | None = None) -> bool:
        """A command that creates or changes something. True when it ran."""
        command = shown or shell_join(args)
        if self.mode == "check":
            self.mismatches.append(f"{why}\n    fix: {command}{self.shown_files(args)}")
            return False
        print(f"+ {command}{self.shown_files(args) if self.mode == 'plan' else ''}", flush=True)
        if self.mode == "plan":
            self.planned.append(command)
            return False
        self.seen.clear()
        result = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SetupError(f"this command failed:\n$ {command}\n{result.stderr.strip()}")
        return True

    def retrying(self, why: str, *args: str) -> None:
        """A binding that names a service account created a moment ago: wait while it propagates."""
        for delay in [*retry_delays(), None]:
            try:
                self.change(why, *args)
                return
            except SetupError as error:
                if delay is None or "does not exist" not in str(error):
                    raise
                print(f"  the service account is not visible yet; retrying in {delay:g} s", flush=True)
                time.sleep(delay)


def gcloud(settings: Settings, *args: str) -> list[str]:
    return ["gcloud", *args, f"--project={settings.project_id}"]


def gh_ready() -> bool:
    """The GitHub CLI is installed and logged in."""
    if shutil.which("gh") is None:
        return False
    return subprocess.run(["gh", "auth", "status"], capture_output=True, check=False).returncode == 0


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def bindings(policy: Any) -> list[tuple[str, str, dict[str, str] | None]]:
    """Every (role, member, condition) of an IAM policy as gcloud prints it; condition None when
    the binding has none."""
    return [
        (b.get("role", ""), m, b.get("condition") or None)
        for b in (policy or {}).get("bindings", [])
        for m in b.get("members", [])
    ]


def members(policy: Any, role: str) -> list[str]:
    """The members an IAM policy (as gcloud prints it) gives `role` without a condition."""
    return [m for r, m, condition in bindings(policy) if r == role and condition is None]


@dataclass(frozen=True)
class Resource:
    """A resource that holds an IAM policy, named the way gcloud names it."""

    group: tuple[str, ...]  # ("artifacts", "repositories") or ("iam", "service-accounts")
    name: str
    flags: tuple[str, ...] = ()

    def command(self, settings: Settings, verb: str, *more: str) -> list[str]:
        return gcloud(settings, *self.group, verb, self.name, *self.flags, *more)

    def policy(self, run: Runner, settings: Settings) -> Any:
        return run.read_json(*self.command(settings, "get-iam-policy"))


def repository_resource(settings: Settings, name: str) -> Resource:
    return Resource(("artifacts", "repositories"), name, (f"--location={settings.location}",))


def account_resource(email: str) -> Resource:
    return Resource(("iam", "service-accounts"), email)


def project_resource(settings: Settings) -> Resource:
    return Resource(("projects",), settings.project_id)


def grant(
    run: Runner,
    settings: Settings,
    resource: Resource,
    member: str,
    role: str,
    *,
    retry: bool = False,
) -> None:
    """`role` for `member` on `resource`, unless it is there already."""
    if member in members(resource.policy(run, settings), role):
        return
    command = resource.command(settings, "add-iam-policy-binding", f"--member={member}", f"--role={role}")
    command.append("--condition=None")
    why = f"{resource.name}: {member} lacks {role}"
    if retry:
        run.retrying(why, *command)
    else:
        run.change(why, *command)


def described(member: str, role: str, condition: dict[str, str] | None) -> str:
    if not condition:
        return f"{member} holds {role}"
    named = condition.get("title") or condition.get("expression", "")
    return f"{member} holds {role} under the condition {named!r} ({condition.get('expression', '')})"


def removal(settings: Settings, resource: Resource, member: str, role: str, *, every_condition: bool) -> list[str]:
    """The command that removes `member`'s binding of `role` from `resource`: the one without a
    condition, or with `every_condition` (--all) every one whatever its condition."""
    return resource.command(
        settings,
        "remove-iam-policy-binding",
        f"--member={member}",
        f"--role={role}",
        "--all" if every_condition else "--condition=None",
    )


def revoke(
    run: Runner,
    settings: Settings,
    resource: Resource,
    member: str,
    role: str,
    *,
    condition: dict[str, str] | None = None,
) -> None:
    command = removal(settings, resource, member, role, every_condition=bool(condition))
    run.change(
        f"{resource.name}: {described(member, role, condition)}, which publishing must not allow",
        *command,
    )
