"""Google Cloud and GitHub as the tests see them: stateful stand-ins for gcloud and gh on PATH,
GitHub's documented OIDC claims, and Google's evaluation of a workload identity policy.

Google evaluates a token exchange in three steps, each reproduced here with a real CEL
implementation (cel-python): the provider's attribute condition must be true (an error refuses),
the attribute mapping turns the token's claims into attributes (an error refuses), and a principal
set such as `.../attribute.NAME/VALUE` in an IAM binding matches when that attribute equals VALUE.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
from celpy import celtypes
from isolation import replace_environment

HERE = Path(__file__).resolve().parent
ISSUER = "https://token.actions.githubusercontent.com"
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
# gar-template's setup command, from this checkout (installed in .venv), run in a project.
SETUP = (sys.executable, "-m", "gar_template_setup")
# How the commands a stop message names begin; each is printed whole on a line of its own.
COMMAND_STARTS = ("gcloud ", "gh ", "curl ", "echo ", "uvx ", "gar-template-setup")


def assert_fits_80_columns(stderr: str) -> None:
    """Why a setup stopped fits an 80-column terminal: every line but a command, printed whole
    and indented four spaces (terminal.fitted), is at most 80 columns."""
    start = stderr.find("gar-template-setup stopped: ")
    message = stderr[start:] if start >= 0 else ""
    wide = [
        line
        for line in message.splitlines()
        if len(line) > 80 and not (line.startswith("    ") and line.strip().startswith(COMMAND_STARTS))
    ]
    assert not wide, "\n".join(wide)


PRINCIPAL_SET = "principalSet://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{pool}/"


def changes_nothing(call: list[str]) -> bool:
    words = [w for w in call if not w.startswith("-")]
    return any(tuple(words[: len(r)]) == r for r in fake_gcloud_read_only())


def fake_gcloud_read_only() -> set[tuple[str, ...]]:
    import fake_gcloud

    return fake_gcloud.READ_ONLY | {("projects", "describe")}


class StandIns:
    """A bin directory with gcloud and gh stand-ins, and their state files."""

    def __init__(self, root: Path, *, gh: bool = True) -> None:
        self.bin = root / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        self.gcloud_state = root / "gcloud-state.json"
        self.gh_state = root / "gh-state.json"
        for name, script in (("gcloud", "fake_gcloud.py"), *((("gh", "fake_gh.py"),) if gh else ())):
            (self.bin / name).unlink(missing_ok=True)
            (self.bin / name).symlink_to(HERE / script)
        if not self.gcloud_state.exists():
            self.write_gcloud(
                {
                    "projects": {},
                    "services": {},
                    "repositories": {},
                    "service_accounts": {},
                    "pools": {},
                    "providers": {},
                    "calls": [],
                    # A new service account is refused once, as Google documents it may be.
                    "propagation_failures": 1,
                }
            )
        if not self.gh_state.exists():
            self.write_gh({"authenticated": True, "repositories": {}, "calls": []})

    def gcloud(self) -> dict[str, Any]:
        # Under the stand-in's own lock: a setup may be running (tests/fake_gcloud.py, main).
        with open(f"{self.gcloud_state}.lock", "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_SH)
            loaded: dict[str, Any] = json.loads(self.gcloud_state.read_text())
        return loaded

    def gh(self) -> dict[str, Any]:
        with open(f"{self.gh_state}.lock", "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_SH)
            loaded: dict[str, Any] = json.loads(self.gh_state.read_text())
        return loaded

    def write_gcloud(self, state: dict[str, Any]) -> None:
        with open(f"{self.gcloud_state}.lock", "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            self.gcloud_state.write_text(json.dumps(state))

    def write_gh(self, state: dict[str, Any]) -> None:
        with open(f"{self.gh_state}.lock", "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            self.gh_state.write_text(json.dumps(state))

    def add_project(self, project_id: str, number: str) -> None:
        state = self.gcloud()
        state["projects"][project_id] = {"number": number}
        self.write_gcloud(state)

    def add_github_repository(self, name: str, repository_id: str, owner_id: str) -> None:
        state = self.gh()
        state["repositories"][name] = {"id": repository_id, "owner_id": owner_id}
        self.write_gh(state)

    def resources(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """What exists at Google and GitHub (the states without their call logs), to compare runs."""
        gcloud, gh = self.gcloud(), self.gh()
        del gcloud["calls"], gh["calls"]
        return gcloud, gh

    def forget_calls(self) -> None:
        for read, write in ((self.gcloud, self.write_gcloud), (self.gh, self.write_gh)):
            state = read()
            state["calls"] = []
            write(state)

    def env(self, **extra: str) -> dict[str, str]:
        # Only the stand-ins' directory and the system's: no real gh or gcloud can answer instead.
        return {
            **os.environ,
            "PATH": f"{self.bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
            "GCLOUD_STATE": str(self.gcloud_state),
            "GH_STATE": str(self.gh_state),
            "SETUP_GCP_RETRY_DELAYS": "0 0 0 0",
            **extra,
        }

    def setup(self, project: Path, *args: str, confirm: bool = True) -> subprocess.CompletedProcess[str]:
        """The setup, run in `project`, against these stand-ins; its temporary files go beside
        them. With no terminal here, `confirm` passes --yes for the changes that give rights.

        In this process: the tool's main() with the project as the working directory and the
        stand-ins' environment, each gcloud or gh it starts answered by the stand-in's own main()
        here too (the same code, state files and locks as the processes), which saves some sixty
        Python starts a setup. Setups that must run at once are processes (start_setup)."""
        from gar_template_setup.main import main

        confirmed = ["--yes"] if confirm else []
        out, err = io.StringIO(), io.StringIO()
        with (
            self.environment(project, TMPDIR=str(self.bin.parent)),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                code = main([*args, *confirmed])
            except SystemExit as stopped:  # argparse, for a wrong flag or --help
                code = stopped.code if isinstance(stopped.code, int) else 1
        assert_fits_80_columns(err.getvalue())
        return subprocess.CompletedProcess([*SETUP, *args, *confirmed], code, out.getvalue(), err.getvalue())

    @contextlib.contextmanager
    def environment(self, project: Path, **extra: str) -> Iterator[None]:
        """This process as a setup's: the stand-ins' environment, the project as the working
        directory, no terminal, and subprocess.run answering gcloud and gh from the stand-ins."""
        saved_environ, saved_cwd, saved_stdin = dict(os.environ), Path.cwd(), sys.stdin
        saved_tempdir, real_run = tempfile.tempdir, subprocess.run
        stand_ins = {name: (self.bin / name).resolve() for name in ("gcloud", "gh") if (self.bin / name).exists()}

        def run(args: Any, *positional: Any, **options: Any) -> Any:
            found = shutil.which(args[0]) if isinstance(args, list | tuple) and args else None
            target = Path(found).resolve() if found else None
            if target is None or target not in stand_ins.values():
                return real_run(args, *positional, **options)
            return answer_in_process([str(a) for a in args], target, options)

        replace_environment(self.env(**extra))
        tempfile.tempdir = extra.get("TMPDIR")
        os.chdir(project)
        sys.stdin = io.StringIO("")
        subprocess.run = run  # type: ignore[assignment]
        try:
            yield
        finally:
            subprocess.run = real_run  # type: ignore[assignment]
            sys.stdin = saved_stdin
            os.chdir(saved_cwd)
            tempfile.tempdir = saved_tempdir
            replace_environment(saved_environ)

    def start_setup(self, project: Path, **extra: str) -> subprocess.Popen[str]:
        """The same, confirmed, started and left running, its output merged: for setups at once,
        which poll the organisation's lock briskly."""
        return subprocess.Popen(
            [*SETUP, "--yes"],
            cwd=project,
            env=self.env(TMPDIR=str(self.bin.parent), SETUP_GCP_LOCK_POLL="0.05", **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def changing_calls(self) -> list[list[str]]:
        """The gcloud calls that change something (not a describe, list or get-iam-policy)."""
        return [c for c in self.gcloud()["calls"] if not changes_nothing(c)]

    def run(self, *args: str | Path, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args], cwd=cwd, env=self.env(**extra), capture_output=True, text=True, check=False
        )


def answer_in_process(args: list[str], stand_in: Path, options: dict[str, Any]) -> subprocess.CompletedProcess[Any]:
    """What the stand-in process would answer to `args`, from its main() in this process."""
    import fake_gcloud
    import fake_gh

    given = options.get("input")
    text = bool(options.get("text"))
    out, err = io.StringIO(), io.StringIO()
    saved_argv, saved_stdin = sys.argv, sys.stdin
    sys.argv = args
    sys.stdin = io.StringIO(given.decode() if isinstance(given, bytes) else given or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = fake_gcloud.main() if stand_in.name == "fake_gcloud.py" else fake_gh.main(args[1:])
            except SystemExit as stopped:
                code = stopped.code if isinstance(stopped.code, int) else 1
    finally:
        sys.argv, sys.stdin = saved_argv, saved_stdin
    stdout, stderr = out.getvalue(), err.getvalue()
    if not text:
        return subprocess.CompletedProcess(args, code, stdout.encode(), stderr.encode())
    return subprocess.CompletedProcess(args, code, stdout, stderr)


def github_claims(
    repository: str,
    repository_id: str,
    owner_id: str,
    *,
    ref: str,
    environment: str | None = None,
    event_name: str = "push",
    actor_id: str = "5000001",
    workflow: str = "publish.yml",
) -> dict[str, str]:
    """The claims of a GitHub Actions OIDC token, as GitHub documents them (`workflow`: the file
    of the job's workflow, at the run's ref)."""
    if environment is not None:
        subject = f"repo:{repository}:environment:{environment}"
    elif event_name == "pull_request":
        subject = f"repo:{repository}:pull_request"
    else:
        subject = f"repo:{repository}:ref:{ref}"
    claims = {
        "iss": ISSUER,
        "aud": f"https://github.com/{repository.split('/')[0]}",
        "sub": subject,
        "repository": repository,
        "repository_id": repository_id,
        "repository_owner": repository.split("/")[0],
        "repository_owner_id": owner_id,
        "ref": ref,
        "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
        "event_name": event_name,
        "workflow_ref": f"{repository}/.github/workflows/{workflow}@{ref}",
        "job_workflow_ref": f"{repository}/.github/workflows/{workflow}@{ref}",
        "actor": "octocat",
        "actor_id": actor_id,
        "run_id": "12345678901",
        "run_number": "42",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
    }
    if environment is not None:
        claims["environment"] = environment
    return claims


def cel(expression: str, claims: dict[str, str]) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(expression)).evaluate({"assertion": celpy.json_to_cel(claims)})


@dataclass(frozen=True)
class Exchange:
    """The outcome of exchanging a GitHub token at one provider."""

    admitted: bool
    attributes: dict[str, str]
    reason: str = ""


def exchange(state: dict[str, Any], project: str, pool: str, provider: str, claims: dict[str, str]) -> Exchange:
    found = state["providers"].get(f"{project}/{pool}/{provider}")
    if found is None or found["state"] != "ACTIVE" or state["pools"][f"{project}/{pool}"]["state"] != "ACTIVE":
        return Exchange(False, {}, "no active provider")
    if found["issuer"] != claims["iss"]:
        return Exchange(False, {}, "issuer")
    try:
        admitted = cel(found["condition"], claims)
        if not (isinstance(admitted, celtypes.BoolType) and bool(admitted)):
            return Exchange(False, {}, "condition is false")
        attributes = {key: str(cel(value, claims)) for key, value in found["mapping"].items()}
    except Exception as error:  # Google refuses a token whose condition or mapping fails to evaluate
        return Exchange(False, {}, f"evaluation error: {error}")
    if len(attributes.get("google.subject", "").encode()) > 127:
        return Exchange(False, {}, "google.subject exceeds 127 bytes")
    return Exchange(True, attributes)


def matches(member: str, number: str, pool: str, attributes: dict[str, str]) -> bool:
    prefix = PRINCIPAL_SET.format(number=number, pool=pool)
    if member == prefix + "*":
        return True
    if member.startswith(prefix + "attribute."):
        name, _, value = member[len(prefix + "attribute.") :].partition("/")
        return attributes.get(f"attribute.{name}") == value
    return (
        member
        == f"principal://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{pool}/subject/{attributes.get('google.subject')}"
    )


def accounts_usable(state: dict[str, Any], project: str, pool: str, provider: str, claims: dict[str, str]) -> set[str]:
    """The service accounts a job with these claims may act as, as Google decides it."""
    result = exchange(state, project, pool, provider, claims)
    if not result.admitted:
        return set()
    number = state["projects"][project]["number"]
    return {
        email
        for email, account in state["service_accounts"].items()
        if any(
            matches(m, number, pool, result.attributes) for m in role_members(account["iam"], WORKLOAD_IDENTITY_USER)
        )
    }


def role_members(policy: dict[str, Any], role: str) -> list[str]:
    """Who holds `role`. A conditional binding counts as granting: its condition (a time, a
    resource name) is no release gate, and nothing here can tell when it holds."""
    conditional = [m for b in policy.get("conditional", []) if b["role"] == role for m in b["members"]]
    return [*policy.get(role, []), *conditional]


def writers(state: dict[str, Any], project: str, location: str, repository: str) -> set[str]:
    """The service accounts that may upload to an Artifact Registry repository."""
    members = state["repositories"][f"{project}/{location}/{repository}"]["iam"].get(
        "roles/artifactregistry.writer", []
    )
    return {m.split(":", 1)[1] for m in members if m.startswith("serviceAccount:")}
