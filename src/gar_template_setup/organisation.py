"""The organisation layer: what every package of one Google Cloud project and GitHub owner shares.

The workload identity pool and its GitHub provider, the PyPI remote repository, the virtual
repository (every package's repository, then PyPI) and the read-only service account. A package's
setup creates what is missing, so the first package needs one command; where the layer exists it
is read and checked, never rewritten: a provider that differs stops the setup with the one
command an administrator runs (the tool's `--organisation`). The layer's version
is recorded in the provider's and the virtual repository's descriptions.

The release gate lives in the provider's attribute mapping, written with the CEL that Google
documents for attribute mappings and conditions (operators, `in`, the conditional operator and
`startsWith`; https://cloud.google.com/iam/docs/workload-identity-federation#mapping and
#conditions): a token gets `attribute.release` = REPOSITORY_ID/ACTOR_ID only for a `push` of a
tag v<digit>... running this repository's .github/workflows/publish.yml at that tag in the
environment. Each package then lets one principal set per release manager act as its publisher.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

from .cloud import (
    READER_ROLE,
    TOKEN_CREATOR,
    Runner,
    Settings,
    SetupError,
    account_resource,
    commands,
    gcloud,
    grant,
    repository_resource,
    section,
    shell_join,
)

LAYER = "gar-template organisation layer 2"
ISSUER = "https://token.actions.githubusercontent.com"
RELEASE_ATTRIBUTE = "release"
# The attributes the packages' bindings name: another provider of the pool must not map them.
BOUND_ATTRIBUTES = (f"attribute.{RELEASE_ATTRIBUTE}", "attribute.repository_id")
PACKAGE_PRIORITY, PYPI_PRIORITY = 100, 1
APIS = ("artifactregistry", "iam", "iamcredentials", "sts")


def release_condition(environment: str) -> str:
    version_tag = " || ".join(f"assertion.ref.startsWith('refs/tags/v{digit}')" for digit in range(10))
    return (
        "assertion.event_name == 'push' && assertion.ref_type == 'tag'"
        f" && ({version_tag})"
        f" && 'environment' in assertion && assertion.environment == '{environment}'"
        " && assertion.job_workflow_ref == assertion.repository + '/.github/workflows/publish.yml@' + assertion.ref"
    )


def attribute_mapping(environment: str) -> dict[str, str]:
    """The shared provider's mapping. google.subject is ids only: at most 75 bytes (Google allows
    127), whatever the length of the names, tags and environment."""
    return {
        "google.subject": (
            "'repository_id:' + assertion.repository_id + ':run:' + assertion.run_id + ':' + assertion.run_attempt"
        ),
        "attribute.repository_id": "assertion.repository_id",
        "attribute.repository_owner_id": "assertion.repository_owner_id",
        f"attribute.{RELEASE_ATTRIBUTE}": (
            f"({release_condition(environment)}) ? assertion.repository_id + '/' + assertion.actor_id : 'none'"
        ),
    }


def provider_condition(owner_id: str) -> str:
    return f"assertion.repository_owner_id == '{owner_id}'"


def pool_name(settings: Settings, number: str) -> str:
    return f"projects/{number}/locations/global/workloadIdentityPools/{settings.pool}"


def principal_set(settings: Settings, number: str, attribute: str, value: str) -> str:
    return f"principalSet://iam.googleapis.com/{pool_name(settings, number)}/attribute.{attribute}/{value}"


def mapping_text(mapping: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in mapping.items())


def apis(run: Runner, settings: Settings) -> None:
    wanted = [f"{api}.googleapis.com" for api in APIS if settings.workload_identity or api != "sts"]
    enabled = run.read_json(*gcloud(settings, "services", "list", "--enabled")) or []
    names = {service.get("config", {}).get("name") for service in enabled}
    missing = [api for api in wanted if api not in names]
    if missing:
        run.change(
            f"APIs not enabled: {', '.join(missing)}",
            *gcloud(settings, "services", "enable", *missing),
        )


def pool_and_provider(run: Runner, settings: Settings, owner_id: str, number: str, *, administer: bool) -> None:
    section(f"Workload identity pool {settings.pool} and provider {settings.provider} (organisation)")
    where = ("--location=global",)
    pool = run.read_json(*gcloud(settings, "iam", "workload-identity-pools", "describe", settings.pool, *where))
    if pool is None:
        run.change(
            f"pool {settings.pool} is missing",
            *gcloud(settings, "iam", "workload-identity-pools", "create", settings.pool, *where),
            "--display-name=GitHub Actions",
            f"--description={LAYER}",
        )
    elif pool.get("state") == "DELETED":
        print(f"pool {settings.pool} was deleted (it stays restorable for 30 days)")
        run.change(
            f"pool {settings.pool} is deleted",
            *gcloud(settings, "iam", "workload-identity-pools", "undelete", settings.pool, *where),
        )
    in_pool = (f"--workload-identity-pool={settings.pool}", *where)
    providers = (
        []
        if pool is None
        else run.read_json(
            *gcloud(
                settings,
                "iam",
                "workload-identity-pools",
                "providers",
                "list",
                *in_pool,
                "--show-deleted",
            )
        )
        or []
    )
    others_checked(providers, settings)
    found = next(
        (p for p in providers if p.get("name", "").endswith(f"/providers/{settings.provider}")),
        None,
    )
    # google-github-actions/auth asks for the provider's full name as the audience, which Google
    # accepts when the provider lists no audiences.
    audience = f"https://iam.googleapis.com/{pool_name(settings, number)}/providers/{settings.provider}"
    wanted: dict[str, Any] = {
        "issuer": ISSUER,
        "attribute mapping": attribute_mapping(settings.environment),
        "attribute condition": provider_condition(owner_id),
        "allowed audiences": [],
    }
    arguments = (
        f"--issuer-uri={ISSUER}",
        f"--attribute-mapping={mapping_text(attribute_mapping(settings.environment))}",
        f"--attribute-condition={provider_condition(owner_id)}",
    )
    providers_command = ("iam", "workload-identity-pools", "providers")
    if found is None:
        run.change(
            f"provider {settings.provider} is missing",
            *gcloud(settings, *providers_command, "create-oidc", settings.provider, *in_pool),
            "--display-name=GitHub OIDC",
            f"--description={LAYER}",
            *arguments,
        )
        return
    if found.get("state") == "DELETED":
        print(f"provider {settings.provider} was deleted (it stays restorable for 30 days)")
        run.change(
            f"provider {settings.provider} is deleted",
            *gcloud(settings, *providers_command, "undelete", settings.provider, *in_pool),
        )
    oidc = found.get("oidc") or {}
    have = {
        "issuer": oidc.get("issuerUri"),
        "attribute mapping": found.get("attributeMapping"),
        "attribute condition": found.get("attributeCondition"),
        "allowed audiences": [a for a in oidc.get("allowedAudiences") or [] if a != audience],
    }
    differences = [what for what in wanted if have[what] != wanted[what]]
    if not differences:
        print(f"provider {settings.provider} admits exactly what publishing needs ({LAYER})")
        return
    report = "\n".join(f"  {what}:\n    has   {have[what]}\n    needs {wanted[what]}" for what in differences)
    recorded = found.get("description") or "no recorded layer (an earlier template)"
    if not administer:
        raise SetupError(
            f"The provider {settings.provider} of pool {settings.pool} (shared by the organisation's "
            f"packages; {recorded}) differs from {LAYER}:\n{report}\n"
            "A package's setup never rewrites the organisation layer, and a token refused by the condition "
            "is the 403 'Failed to generate Google Cloud federated token'. If the provider names another "
            "owner, give this package its own pool (--data gcp_workload_identity_pool=NEW_ID); otherwise an "
            f"administrator runs, once, from a project on this template version:\n$ {commands.setup} --organisation"
        )
    print(f"updating provider {settings.provider} to {LAYER}:\n{report}")
    run.change(
        f"provider {settings.provider} differs: {', '.join(differences)}",
        *gcloud(settings, *providers_command, "update-oidc", settings.provider, *in_pool),
        f"--description={LAYER}",
        *arguments,
        *([f"--allowed-audiences={audience}"] if have["allowed audiences"] else []),
    )


def others_checked(providers: list[dict[str, Any]], settings: Settings) -> None:
    """Any provider of the pool can satisfy a principal set: another that maps an attribute the
    packages bind, or admits every token, would let its tokens act as a publisher or reader."""
    for other in providers:
        name = other.get("name", "").rsplit("/", 1)[-1]
        if name == settings.provider or other.get("state") == "DELETED" or other.get("disabled"):
            continue
        mapped = [key for key in other.get("attributeMapping", {}) if key in BOUND_ATTRIBUTES]
        if mapped or not other.get("attributeCondition"):
            reason = f"maps {', '.join(mapped)}" if mapped else "has no attribute condition"
            raise SetupError(
                f"The pool {settings.pool} has another provider, {name}, that {reason}: its tokens could act "
                "as this package's publisher or reader. Nothing was changed. Move it to a pool of its own, "
                f"or delete it:\n$ gcloud iam workload-identity-pools providers delete {name} "
                f"--workload-identity-pool={settings.pool} --location=global --project={settings.project_id}"
            )


def repository_checked(found: dict[str, Any], name: str, mode: str) -> None:
    if found.get("format") != "PYTHON" or found.get("mode") != mode:
        raise SetupError(
            f"The repository {name} exists as {found.get('format')} {found.get('mode')}, not PYTHON {mode}. "
            "Nothing was changed. Remove that repository, or choose another name (KEY is the "
            f"question that names it):\n$ {commands.record} --data KEY=NEW_NAME"
        )


def organisation_names(run: Runner, settings: Settings) -> None:
    """The organisation's repositories are the ones its first setup made: a project whose settings
    name others (any writer can change the answers) stops, changing nothing, rather than make a
    second set that uv or pip would then trust."""
    listed = run.read_json(*gcloud(settings, "artifacts", "repositories", "list", f"--location={settings.location}"))
    ours: dict[str, list[str]] = {
        "gcp_pypi_remote": [],
        "gcp_internal_repository": [],
        "gcp_virtual_repository": [],
    }
    for found in listed or []:
        name = str(found.get("name", "")).rsplit("/", 1)[-1]
        described = str(found.get("description") or "")
        if found.get("mode") == "REMOTE_REPOSITORY" and described.startswith("PyPI, cached"):
            ours["gcp_pypi_remote"].append(name)
        elif found.get("mode") == "VIRTUAL_REPOSITORY" and "gar-template organisation layer" in described:
            key = "gcp_virtual_repository" if "then PyPI" in described else "gcp_internal_repository"
            ours[key].append(name)
    named = {
        "gcp_pypi_remote": settings.pypi_remote,
        "gcp_internal_repository": settings.internal_repository,
        "gcp_virtual_repository": settings.virtual_repository,
    }
    for key, existing in ours.items():
        if existing and named[key] not in existing:
            raise SetupError(
                f"The organisation's {key} is {', '.join(existing)}; this project names "
                f"{named[key]}. Nothing was changed. Record the organisation's:\n"
                f"$ {commands.record} --data {key}={existing[0]}"
            )


def pypi_remote(run: Runner, settings: Settings) -> None:
    name = settings.pypi_remote
    found = run.read_json(
        *gcloud(
            settings,
            "artifacts",
            "repositories",
            "describe",
            name,
            f"--location={settings.location}",
        )
    )
    if found is not None:
        repository_checked(found, name, "REMOTE_REPOSITORY")
        return
    run.change(
        f"remote repository {name} is missing",
        *gcloud(settings, "artifacts", "repositories", "create", name, f"--location={settings.location}"),
        "--repository-format=python",
        "--mode=remote-repository",
        "--remote-repo-config-desc=PyPI",
        "--remote-python-repo=PYPI",
        f"--description=PyPI, cached ({LAYER})",
    )


def upstreams_file(run: Runner, name: str, upstreams: list[dict[str, Any]]) -> str:
    return run.input_file(f"{name}-upstreams.json", json.dumps(upstreams))


def virtual_repository(run: Runner, settings: Settings, name: str, *, with_pypi: bool) -> None:
    """A virtual repository of every package repository (`with_pypi`: then PyPI); this package's
    repository joins it."""
    location = f"--location={settings.location}"
    found = run.read_json(*gcloud(settings, "artifacts", "repositories", "describe", name, location))
    ours = {
        "id": settings.repository,
        "repository": settings.repository_name(settings.repository),
        "priority": PACKAGE_PRIORITY,
    }
    remote = {
        "id": settings.pypi_remote,
        "repository": settings.repository_name(settings.pypi_remote),
        "priority": PYPI_PRIORITY,
    }
    pypi_upstream = [remote] if with_pypi else []
    if found is None:
        run.change(
            f"virtual repository {name} is missing",
            *gcloud(settings, "artifacts", "repositories", "create", name, location),
            "--repository-format=python",
            "--mode=virtual-repository",
            f"--upstream-policy-file={upstreams_file(run, name, [ours, *pypi_upstream])}",
            f"--description=Internal packages{', then PyPI' if with_pypi else ' only'} ({LAYER})",
            shown=None,
        )
        return
    repository_checked(found, name, "VIRTUAL_REPOSITORY")
    if reads_ours(settings, name, found, with_pypi):
        return
    # Another package's setup may rewrite the same list at the same moment: the read that the
    # write is built on happens under the organisation's lock.
    with organisation_lock(run, settings):
        found = run.read_json(*gcloud(settings, "artifacts", "repositories", "describe", name, location))
        if reads_ours(settings, name, found, with_pypi):
            return
        upstreams = upstream_policies(found)
        pypi = [u for u in upstreams if is_pypi(settings, u)]
        packages = [u for u in upstreams if u not in pypi]
        run.change(
            f"virtual repository {name} does not read {settings.repository}",
            *gcloud(settings, "artifacts", "repositories", "update", name, location),
            "--upstream-policy-file=" + upstreams_file(run, name, [*packages, ours, *(pypi or pypi_upstream)]),
        )


def upstream_policies(found: dict[str, Any]) -> list[dict[str, Any]]:
    return list((found.get("virtualRepositoryConfig") or {}).get("upstreamPolicies", []))


def is_pypi(settings: Settings, upstream: dict[str, Any]) -> bool:
    return str(upstream.get("repository", "")).endswith(f"/{settings.pypi_remote}")


def reads_ours(settings: Settings, name: str, found: dict[str, Any], with_pypi: bool) -> bool:
    """Whether the virtual repository already reads this package's repository; stops, changing
    nothing, when it reads PyPI where it must not, or before the internal packages."""
    upstreams = upstream_policies(found)
    pypi = [u for u in upstreams if is_pypi(settings, u)]
    packages = [u for u in upstreams if u not in pypi]
    if pypi and not with_pypi:
        raise SetupError(
            f"The virtual repository {name} reads {settings.pypi_remote} (PyPI), but it is uv's "
            "index of internal packages only: a public upload under an internal name would be "
            f"installed. Nothing was changed. Remove that upstream:\n$ {commands.setup} --organisation"
        )
    if pypi and packages and max(u.get("priority", 0) for u in pypi) >= min(u.get("priority", 0) for u in packages):
        raise SetupError(
            f"The virtual repository {name} reads {settings.pypi_remote} (PyPI) before or beside the "
            "internal packages: a public upload under an internal name would win. Nothing was changed. "
            f"Give {settings.pypi_remote} the lowest priority:\n$ {commands.setup} --organisation"
        )
    return any(str(u.get("repository", "")).endswith(f"/{settings.repository}") for u in upstreams)


# The organisation's lock: a repository that exists while a setup rewrites a shared list. Creating
# it fails while another setup holds it, so taking it is atomic on Google's side.
LOCK = "gar-template-setup-lock"


def lock_timing() -> tuple[float, float]:
    """How long to wait for another setup's lock, and how often to look (read when used:
    SETUP_GCP_LOCK_WAIT and SETUP_GCP_LOCK_POLL)."""
    return float(os.environ.get("SETUP_GCP_LOCK_WAIT", "300")), float(os.environ.get("SETUP_GCP_LOCK_POLL", "2"))


@contextlib.contextmanager
def organisation_lock(run: Runner, settings: Settings) -> Iterator[None]:
    """Held around a read-then-write of a list that every package's setup changes (a virtual
    repository's upstreams), so that two setups at once cannot drop each other's entry. A plan or
    a check writes nothing and takes no lock."""
    if not run.changes:
        yield
        return
    location = f"--location={settings.location}"
    take = [
        *gcloud(settings, "artifacts", "repositories", "create", LOCK, location),
        "--repository-format=python",
        f"--description=Held by the setup of {settings.distribution} ({LAYER})",
    ]
    release = gcloud(settings, "artifacts", "repositories", "delete", LOCK, location, "--quiet")
    wait, poll = lock_timing()
    deadline = time.monotonic() + wait
    while True:
        try:
            run.change(f"take the organisation's lock {LOCK}", *take)
            break
        except SetupError as error:
            if "ALREADY_EXISTS" not in str(error):
                raise
            if time.monotonic() > deadline:
                raise SetupError(
                    f"Another package's setup has held {LOCK} for over {wait:g} s; nothing was "
                    "changed here. If no setup is running, a setup stopped while holding it: remove "
                    f"it, then run this again:\n$ {shell_join(release)}"
                ) from error
            print(f"  another package's setup holds {LOCK}: waiting", flush=True)
            time.sleep(poll)
    try:
        yield
    finally:
        run.change(f"release the organisation's lock {LOCK}", *release)


def reader_account(run: Runner, settings: Settings) -> bool:
    """The read-only account, reader of the remote and virtual repositories. True when created now."""
    section(f"Read-only account {settings.reader} (organisation)")
    created = False
    found = run.read_json(*gcloud(settings, "iam", "service-accounts", "describe", settings.reader))
    described = str((found or {}).get("description") or "")
    if described.startswith("gar-template publisher of "):
        # Every job of this repository may act as the reader: were it a publisher, any branch
        # here could publish that package.
        raise SetupError(
            f"The reader account {settings.reader} is a package's publisher: '{described}'. Nothing "
            "was changed. Name the organisation's read-only account:\n"
            f"$ {commands.record} --data gcp_reader_service_account=ID"
        )
    if found is None:
        created = run.change(
            f"service account {settings.reader} is missing",
            *gcloud(settings, "iam", "service-accounts", "create", settings.reader.split("@")[0]),
            "--display-name=Reads internal packages (CI, Dependabot)",
        )
    member = f"serviceAccount:{settings.reader}"
    for name in (settings.pypi_remote, settings.internal_repository, settings.virtual_repository):
        grant(run, settings, repository_resource(settings, name), member, READER_ROLE, retry=created)
    if not settings.workload_identity:
        # The auth action mints a short-lived token from the key: Token Creator on itself.
        grant(run, settings, account_resource(settings.reader), member, TOKEN_CREATOR, retry=created)
    return created
