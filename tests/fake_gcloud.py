#!/usr/bin/env -S python3 -I -S
"""A stand-in for gcloud that remembers what was created and bound, put first on PATH by tests.

Its state is a JSON file named by $GCLOUD_STATE (tests/cloud.py reads and seeds it). Every call is
appended to state["calls"]. HANDLERS maps the command words (`artifacts repositories describe`) to
one small function each, which answers the way the real gcloud does: `describe` prints JSON or
fails with NOT_FOUND, `create` of an existing resource fails with ALREADY_EXISTS, bindings
accumulate in IAM policies. Two documented behaviours are simulated: a new service account cannot
be bound for its first state["propagation_failures"] attempts, and keys cannot be created while
state["key_creation_disabled"] (the organisation policy iam.disableServiceAccountKeyCreation).
To support another command, write `handler(state, call) -> output` and add it to HANDLERS.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time

# A setup makes some fifty calls, each a new process: only json, os, sys, fcntl and time are imported
# (dataclasses, pathlib and typing would more than double each call's start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

State = dict[str, "Any"]  # a string: Any is not imported at run time


class Failure(Exception):
    pass


class Call:
    def __init__(self, words: list[str], flags: dict[str, str], command: str) -> None:
        self.words = words  # positionals after the command words
        self.flags = flags
        self.command = command  # "artifacts.repositories.describe", as gcloud names it in errors

    @property
    def project(self) -> str:
        return self.flags.get("project", "")

    def fail(self, message: str) -> Failure:
        return Failure(f"ERROR: (gcloud.{self.command}) {message}")


def dumps(value: object) -> str:
    return json.dumps(value, indent=2)


# A policy is {role: [member, ...]} for the bindings without a condition; those with one are kept
# under CONDITIONAL as [{"role", "members", "condition": {"expression", "title"}}], as Google
# prints them (policy version 3).
CONDITIONAL = "conditional"


def policy_text(policy: dict[str, Any]) -> str:
    bindings = [{"members": sorted(m), "role": r} for r, m in sorted(policy.items()) if m and r != CONDITIONAL]
    bindings += [b for b in policy.get(CONDITIONAL, []) if b["members"]]
    return dumps({"bindings": bindings, "etag": "BwY=", "version": 3 if policy.get(CONDITIONAL) else 1})


def condition_of(call: Call) -> dict[str, str] | None:
    """--condition=expression=EXPR,title=TITLE[,description=...]; None for none or "None"."""
    text = call.flags.get("condition", "None")
    if text in ("", "None"):
        return None
    fields = dict(part.split("=", 1) for part in text.split(","))
    if "expression" not in fields or "title" not in fields:
        raise call.fail("Invalid value for [--condition]: expression and title are required.")
    return {"expression": fields["expression"], "title": fields["title"]}


def bind(state: State, call: Call, policy: dict[str, list[str]]) -> str:
    member = call.flags["member"]
    if member.startswith("serviceAccount:"):
        account = state["service_accounts"].get(member.split(":", 1)[1])
        if account is None or account["pending"] > 0:
            if account is not None:
                account["pending"] -= 1
            raise call.fail(f"INVALID_ARGUMENT: Service account {member.split(':', 1)[1]} does not exist.")
    condition = condition_of(call)
    if condition is not None:
        policy.setdefault(CONDITIONAL, []).append(
            {"role": call.flags["role"], "members": [member], "condition": condition}
        )
        return policy_text(policy)
    members = policy.setdefault(call.flags["role"], [])
    if member not in members:
        members.append(member)
    return policy_text(policy)


def unbind(call: Call, policy: dict[str, Any]) -> str:
    """Without a condition, the unconditional binding; with --all, every binding of the member and
    role whatever its condition."""
    role, member = call.flags["role"], call.flags["member"]
    members = policy.get(role, [])
    conditional = [b for b in policy.get(CONDITIONAL, []) if b["role"] == role and member in b["members"]]
    if "all" in call.flags:
        if member not in members and not conditional:
            raise call.fail("Policy binding with the specified principal and role not found!")
        for binding in conditional:
            binding["members"].remove(member)
        policy[CONDITIONAL] = [b for b in policy.get(CONDITIONAL, []) if b["members"]]
    elif member not in members:
        raise call.fail("Policy binding with the specified principal, role, and condition not found!")
    if member in members:
        members.remove(member)
    return policy_text(policy)


# --- projects and services -----------------------------------------------------------------------


def project_describe(state: State, call: Call) -> str:
    if call.words[0] not in state["projects"]:
        raise call.fail(f"PERMISSION_DENIED: project {call.words[0]} not found or permission denied")
    return str(state["projects"][call.words[0]]["number"])


def project_iam(state: State, call: Call) -> dict[str, Any]:
    """The project's own policy (the project is the positional argument here, not --project)."""
    project_describe(state, call)
    return state.setdefault("project_iam", {}).setdefault(call.words[0], {})


def services_enable(state: State, call: Call) -> str:
    enabled = state["services"].setdefault(call.project, [])
    state["services"][call.project] = sorted(set(enabled) | set(call.words))
    return ""


def services_list(state: State, call: Call) -> str:
    return dumps([{"config": {"name": name}, "state": "ENABLED"} for name in state["services"].get(call.project, [])])


# --- Artifact Registry -----------------------------------------------------------------------------


def repository_key(call: Call) -> str:
    return f"{call.project}/{call.flags['location']}/{call.words[0]}"


def existing(state: State, call: Call, table: str, key: str) -> dict[str, Any]:
    """A resource of the state's table `table` (repositories, pools, providers), or NOT_FOUND."""
    found: dict[str, Any] | None = state[table].get(key)
    if found is None:
        raise call.fail("NOT_FOUND: Requested entity was not found.")
    return found


def repository(state: State, call: Call) -> dict[str, Any]:
    return existing(state, call, "repositories", repository_key(call))


def upstreams(call: Call) -> list[dict[str, Any]]:
    with open(call.flags["upstream-policy-file"]) as policy:
        return json.load(policy)


def repository_create(state: State, call: Call) -> str:
    key = repository_key(call)
    if key in state["repositories"]:
        raise call.fail("ALREADY_EXISTS: the repository already exists")
    state["repositories"][key] = {
        "format": call.flags["repository-format"].upper(),
        "mode": call.flags.get("mode", "standard-repository").upper().replace("-", "_"),
        "description": call.flags.get("description", ""),
        "upstreams": upstreams(call) if "upstream-policy-file" in call.flags else [],
        "iam": {},
    }
    return ""


def repository_delete(state: State, call: Call) -> str:
    repository(state, call)
    del state["repositories"][repository_key(call)]
    return ""


def repository_update(state: State, call: Call) -> str:
    found = repository(state, call)
    if "upstream-policy-file" in call.flags:
        found["upstreams"] = upstreams(call)
    if "description" in call.flags:
        found["description"] = call.flags["description"]
    return ""


def repository_list(state: State, call: Call) -> str:
    prefix = f"{call.project}/{call.flags['location']}/"
    listed = []
    for key, found in state["repositories"].items():
        if key.startswith(prefix):
            listed.append(described_repository(call, key.removeprefix(prefix), found))
    return dumps(listed)


def repository_describe(state: State, call: Call) -> str:
    return dumps(described_repository(call, call.words[0], repository(state, call)))


def described_repository(call: Call, name: str, found: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": f"projects/{call.project}/locations/{call.flags['location']}/repositories/{name}",
        "format": found["format"],
        "mode": found["mode"],
        "description": found.get("description", ""),
    }
    if found["mode"] == "VIRTUAL_REPOSITORY":
        described["virtualRepositoryConfig"] = {"upstreamPolicies": found["upstreams"]}
    return described


# --- service accounts and keys --------------------------------------------------------------------


def account(state: State, call: Call, email: str | None = None) -> dict[str, Any]:
    email = email or call.words[0]
    found = state["service_accounts"].get(email)
    if found is None:
        raise call.fail(f"NOT_FOUND: Service account projects/{call.project}/serviceAccounts/{email} does not exist.")
    return found


def bound_account(state: State, call: Call) -> dict[str, Any]:
    """An account whose policy changes: refused while it is still propagating."""
    found = account(state, call)
    if found["pending"] > 0:
        found["pending"] -= 1
        raise call.fail(f"NOT_FOUND: Service account projects/-/serviceAccounts/{call.words[0]} does not exist.")
    return found


def account_create(state: State, call: Call) -> str:
    email = f"{call.words[0]}@{call.project}.iam.gserviceaccount.com"
    if email in state["service_accounts"]:
        raise call.fail("ALREADY_EXISTS: Service account already exists")
    state["service_accounts"][email] = {
        "display_name": call.flags.get("display-name", ""),
        "description": call.flags.get("description", ""),
        "iam": {},
        "keys": [],
        "pending": state.get("propagation_failures", 0),
    }
    return ""


def account_update(state: State, call: Call) -> str:
    account(state, call)["description"] = call.flags.get("description", "")
    return ""


def account_describe(state: State, call: Call) -> str:
    found = account(state, call)
    return dumps({"email": call.words[0], "displayName": found["display_name"], "description": found["description"]})


def key_account(state: State, call: Call) -> dict[str, Any]:
    return account(state, call, call.flags["iam-account"])


def keys_list(state: State, call: Call) -> str:
    prefix = f"projects/{call.project}/serviceAccounts/{call.flags['iam-account']}/keys/"
    keys = key_account(state, call)["keys"]
    return dumps([{"name": prefix + k["id"], "disabled": k["disabled"], "keyType": "USER_MANAGED"} for k in keys])


def keys_create(state: State, call: Call) -> str:
    found = key_account(state, call)
    if state.get("key_creation_disabled"):
        raise call.fail(
            "FAILED_PRECONDITION: Key creation is not allowed on this service account.\n"
            "- '@type': type.googleapis.com/google.rpc.PreconditionFailure\n  violations:\n"
            "  - description: Key creation is not allowed on this service account.\n"
            "    type: constraints/iam.disableServiceAccountKeyCreation"
        )
    if len(found["keys"]) >= 10:  # Google's limit of user-managed keys per service account
        raise call.fail("FAILED_PRECONDITION: Precondition check failed.")
    state["key_counter"] = state.get("key_counter", 0) + 1
    key_id = f"{state['key_counter']:040x}"
    found["keys"].append({"id": key_id, "disabled": False})
    with open(call.words[0], "w") as key_file:
        json.dump({"type": "service_account", "private_key_id": key_id}, key_file)
    return f"created key [{key_id}] of type [json] as [{call.words[0]}]"


def key(state: State, call: Call) -> dict[str, Any]:
    found = [k for k in key_account(state, call)["keys"] if k["id"] == call.words[0]]
    if not found:
        raise call.fail("NOT_FOUND: key not found")
    return found[0]


def keys_disable(state: State, call: Call) -> str:
    key(state, call)["disabled"] = True
    return ""


def keys_delete(state: State, call: Call) -> str:
    key_account(state, call)["keys"].remove(key(state, call))
    return ""


# --- workload identity pools and providers ---------------------------------------------------------


def pool(state: State, call: Call, name: str | None = None) -> dict[str, Any]:
    return existing(state, call, "pools", f"{call.project}/{name or call.words[0]}")


def number(state: State, call: Call) -> str:
    return str(state["projects"][call.project]["number"])


def pool_create(state: State, call: Call) -> str:
    if f"{call.project}/{call.words[0]}" in state["pools"]:
        raise call.fail("ALREADY_EXISTS: Requested entity already exists")
    description = call.flags.get("description", "")
    state["pools"][f"{call.project}/{call.words[0]}"] = {"state": "ACTIVE", "description": description}
    return ""


def pool_undelete(state: State, call: Call) -> str:
    pool(state, call)["state"] = "ACTIVE"
    return ""


def pool_describe(state: State, call: Call) -> str:
    found = pool(state, call)
    name = f"projects/{number(state, call)}/locations/global/workloadIdentityPools/{call.words[0]}"
    return dumps({"name": name, "state": found["state"], "description": found.get("description", "")})


def provider_key(call: Call) -> str:
    return f"{call.project}/{call.flags['workload-identity-pool']}/{call.words[0]}"


def provider(state: State, call: Call) -> dict[str, Any]:
    return existing(state, call, "providers", provider_key(call))


def provider_fields(found: dict[str, Any], call: Call) -> str:
    for flag, field in (
        ("issuer-uri", "issuer"),
        ("attribute-condition", "condition"),
        ("display-name", "display_name"),
        ("description", "description"),
    ):
        if flag in call.flags:
            found[field] = call.flags[flag]
    if "attribute-mapping" in call.flags:  # gcloud's dict syntax: KEY=VALUE pairs split on ','
        found["mapping"] = dict(item.split("=", 1) for item in call.flags["attribute-mapping"].split(","))
    if "allowed-audiences" in call.flags:
        found["audiences"] = call.flags["allowed-audiences"].split(",")
    return ""


def provider_create(state: State, call: Call) -> str:
    pool(state, call, call.flags["workload-identity-pool"])
    if provider_key(call) in state["providers"]:
        raise call.fail("ALREADY_EXISTS: Requested entity already exists")
    state["providers"][provider_key(call)] = {"state": "ACTIVE"}
    return provider_fields(state["providers"][provider_key(call)], call)


def provider_update(state: State, call: Call) -> str:
    return provider_fields(provider(state, call), call)


def provider_undelete(state: State, call: Call) -> str:
    provider(state, call)["state"] = "ACTIVE"
    return ""


def provider_json(state: State, call: Call, pool_id: str, name: str, found: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"projects/{number(state, call)}/locations/global/workloadIdentityPools/{pool_id}/providers/{name}",
        "state": found["state"],
        "displayName": found.get("display_name", ""),
        "description": found.get("description", ""),
        "attributeMapping": found.get("mapping", {}),
        "attributeCondition": found.get("condition", ""),
        "oidc": {"issuerUri": found.get("issuer", ""), "allowedAudiences": found.get("audiences", [])},
    }


def provider_describe(state: State, call: Call) -> str:
    found = provider(state, call)
    return dumps(provider_json(state, call, call.flags["workload-identity-pool"], call.words[0], found))


def provider_list(state: State, call: Call) -> str:
    pool_id = call.flags["workload-identity-pool"]
    prefix = f"{call.project}/{pool_id}/"
    listed = [
        provider_json(state, call, pool_id, key.removeprefix(prefix), found)
        for key, found in state["providers"].items()
        if key.startswith(prefix) and (found["state"] == "ACTIVE" or "show-deleted" in call.flags)
    ]
    return dumps(listed)


def iam_handlers(
    words: tuple[str, ...],
    policy_of: Callable[[State, Call], dict[str, Any]],
    changed_of: Callable[[State, Call], dict[str, Any]] | None = None,
) -> dict[tuple[str, ...], Callable[[State, Call], str]]:
    """get-iam-policy, add-iam-policy-binding and remove-iam-policy-binding of one kind of resource
    (`changed_of`: the policy a binding changes, when finding it checks more than reading does)."""
    changed_of = changed_of or policy_of
    return {
        (*words, "get-iam-policy"): lambda s, c: policy_text(policy_of(s, c)),
        (*words, "add-iam-policy-binding"): lambda s, c: bind(s, c, changed_of(s, c)),
        (*words, "remove-iam-policy-binding"): lambda s, c: unbind(c, changed_of(s, c)),
    }


HANDLERS: dict[tuple[str, ...], Callable[[State, Call], str]] = {
    ("auth", "list"): lambda state, call: state.get("account", "admin@example.com"),
    ("projects", "describe"): project_describe,
    **iam_handlers(("projects",), project_iam),
    ("services", "enable"): services_enable,
    ("services", "list"): services_list,
    ("artifacts", "repositories", "create"): repository_create,
    ("artifacts", "repositories", "update"): repository_update,
    ("artifacts", "repositories", "delete"): repository_delete,
    ("artifacts", "repositories", "describe"): repository_describe,
    ("artifacts", "repositories", "list"): repository_list,
    **iam_handlers(("artifacts", "repositories"), lambda s, c: repository(s, c)["iam"]),
    ("iam", "service-accounts", "create"): account_create,
    ("iam", "service-accounts", "update"): account_update,
    ("iam", "service-accounts", "describe"): account_describe,
    **iam_handlers(
        ("iam", "service-accounts"), lambda s, c: account(s, c)["iam"], lambda s, c: bound_account(s, c)["iam"]
    ),
    ("iam", "service-accounts", "keys", "list"): keys_list,
    ("iam", "service-accounts", "keys", "create"): keys_create,
    ("iam", "service-accounts", "keys", "disable"): keys_disable,
    ("iam", "service-accounts", "keys", "delete"): keys_delete,
    ("iam", "workload-identity-pools", "create"): pool_create,
    ("iam", "workload-identity-pools", "undelete"): pool_undelete,
    ("iam", "workload-identity-pools", "describe"): pool_describe,
    ("iam", "workload-identity-pools", "providers", "create-oidc"): provider_create,
    ("iam", "workload-identity-pools", "providers", "update-oidc"): provider_update,
    ("iam", "workload-identity-pools", "providers", "undelete"): provider_undelete,
    ("iam", "workload-identity-pools", "providers", "describe"): provider_describe,
    ("iam", "workload-identity-pools", "providers", "list"): provider_list,
}
# Commands that change nothing: tests check that `--check` issues no other.
READ_ONLY = {words for words in HANDLERS if words[-1] in ("describe", "list", "get-iam-policy")}


def parse(argv: list[str]) -> tuple[tuple[str, ...], Call]:
    positionals, flags = [], {}
    for token in argv:
        if token.startswith("--"):
            name, _, value = token[2:].partition("=")
            flags[name] = value
        else:
            positionals.append(token)
    words = next((w for w in sorted(HANDLERS, key=len, reverse=True) if tuple(positionals[: len(w)]) == w), None)
    if words is None:
        raise Failure(f"ERROR: the stand-in does not know `gcloud {' '.join(argv)}`")
    return words, Call(positionals[len(words) :], flags, ".".join(words))


def handle(state: State, argv: list[str]) -> str:
    words, call = parse(argv)
    if call.project and call.project not in state["projects"]:
        raise call.fail(f"PERMISSION_DENIED: Permission denied on project {call.project} (or it may not exist).")
    return HANDLERS[words](state, call)


def main() -> int:
    state_file = os.environ["GCLOUD_STATE"]
    # Two setups may run at once (tests/test_setup_gcp.py): one call at a time reads and writes the
    # state, as Google serialises changes to one resource.
    with open(state_file + ".lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        with open(state_file) as read:
            state = json.load(read)
        state["calls"].append(sys.argv[1:])
        try:
            output, code = handle(state, sys.argv[1:]), 0
        except Failure as error:
            output, code = "", 1
            print(error, file=sys.stderr)
        with open(state_file, "w") as write:
            # json.dumps, no indent: only then does json use its C encoder (json.dump and an indent
            # take the pure-Python one, 3 ms a call once a setup's calls have piled up).
            write.write(json.dumps(state))
    if output:
        print(output)
    pause_after(sys.argv[1:])
    return code


def pause_after(argv: list[str]) -> None:
    """$GCLOUD_PAUSE_AFTER names a call (its words joined by spaces) after which this process waits,
    its answer already given, until the file $GCLOUD_PAUSE_UNTIL exists: a test holds one setup
    between its read and its write while another runs."""
    pause = os.environ.get("GCLOUD_PAUSE_AFTER")
    if pause and " ".join(argv).startswith(pause):
        os.close(os.open(os.environ["GCLOUD_PAUSE_UNTIL"] + ".reached", os.O_CREAT | os.O_WRONLY))
        while not os.path.exists(os.environ["GCLOUD_PAUSE_UNTIL"]):
            time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main())
