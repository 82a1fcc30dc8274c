#!/usr/bin/env python3
"""A stand-in for gcloud that remembers what was created and bound, put first on PATH by tests.

Its state is a JSON file named by $GCLOUD_STATE (tests/cloud.py reads and seeds it). Every call is
appended to state["calls"]. It answers the commands scripts/setup_gcp.py uses the way the real
gcloud does: `describe` prints the resource as JSON or exits 1 with NOT_FOUND, `create` of an
existing resource exits 1 with ALREADY_EXISTS, bindings accumulate in IAM policies. Two documented
behaviours are simulated: a new service account cannot be bound for its first
state["propagation_failures"] attempts, and keys cannot be created while
state["key_creation_disabled"] (the organisation policy iam.disableServiceAccountKeyCreation).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

STATE = Path(os.environ["GCLOUD_STATE"])


def parse(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    positionals, flags = [], {}
    for token in argv:
        if token.startswith("--"):
            name, _, value = token[2:].partition("=")
            flags[name] = value
        else:
            positionals.append(token)
    return positionals, flags


class Failure(Exception):
    pass


def fail(command: str, message: str) -> Failure:
    return Failure(f"ERROR: (gcloud.{command}) {message}")


def policy_text(policy: dict[str, list[str]]) -> str:
    bindings = [{"members": sorted(members), "role": role} for role, members in sorted(policy.items())]
    return json.dumps({"bindings": bindings, "etag": "BwY=", "version": 1}, indent=2)


def bind(policy: dict[str, list[str]], flags: dict[str, str]) -> None:
    members = policy.setdefault(flags["role"], [])
    if flags["member"] not in members:
        members.append(flags["member"])


def handle(state: dict[str, Any], argv: list[str]) -> str:
    words, flags = parse(argv)
    project = flags.get("project", "")
    command = ".".join(w for w in words if not w.startswith(("/", "projects/")))
    if project and project not in state["projects"]:
        raise fail(command, f"PERMISSION_DENIED: Permission denied on project {project} (or it may not exist).")

    if words[:2] == ["projects", "describe"]:
        if words[2] not in state["projects"]:
            raise fail("projects.describe", f"PERMISSION_DENIED: project {words[2]} not found or permission denied")
        return state["projects"][words[2]]["number"]
    if words[:2] == ["services", "enable"]:
        state["services"].setdefault(project, [])
        state["services"][project] = sorted(set(state["services"][project]) | set(words[2:]))
        return ""

    if words[:2] == ["artifacts", "repositories"]:
        verb, name = words[2], words[3]
        key = f"{project}/{flags['location']}/{name}"
        repositories = state["repositories"]
        if verb == "create":
            if key in repositories:
                raise fail("artifacts.repositories.create", "ALREADY_EXISTS: the repository already exists")
            upstreams = (
                json.loads(Path(flags["upstream-policy-file"]).read_text()) if "upstream-policy-file" in flags else []
            )
            repositories[key] = {
                "format": flags["repository-format"].upper(),
                "mode": flags.get("mode", "standard-repository").upper().replace("-", "_"),
                "description": flags.get("description", ""),
                "upstreams": upstreams,
                "iam": {},
            }
            return ""
        if key not in repositories:
            raise fail(f"artifacts.repositories.{verb}", "NOT_FOUND: Requested entity was not found.")
        if verb == "describe":
            found = repositories[key]
            return json.dumps(
                {
                    "name": f"projects/{project}/locations/{flags['location']}/repositories/{name}",
                    "format": found["format"],
                    "mode": found["mode"],
                },
                indent=2,
            )
        if verb == "add-iam-policy-binding":
            member = flags["member"]
            if member.startswith("serviceAccount:"):
                account = state["service_accounts"].get(member.split(":", 1)[1])
                if account is None or account["pending"] > 0:
                    if account is not None:
                        account["pending"] -= 1
                    raise fail(command, f"INVALID_ARGUMENT: Service account {member.split(':', 1)[1]} does not exist.")
            bind(repositories[key]["iam"], flags)
            return policy_text(repositories[key]["iam"])

    if words[:2] == ["iam", "service-accounts"]:
        accounts = state["service_accounts"]
        if words[2] == "keys":
            verb, account = words[3], accounts.get(flags["iam-account"])
            if account is None:
                raise fail(command, f"NOT_FOUND: Service account {flags['iam-account']} does not exist.")
            prefix = f"projects/{project}/serviceAccounts/{flags['iam-account']}/keys/"
            if verb == "list":
                return "\n".join(prefix + k["id"] for k in account["keys"])
            if verb == "create":
                if state.get("key_creation_disabled"):
                    raise fail(
                        command,
                        "FAILED_PRECONDITION: Key creation is not allowed on this service account.\n"
                        "- '@type': type.googleapis.com/google.rpc.PreconditionFailure\n  violations:\n"
                        "  - description: Key creation is not allowed on this service account.\n"
                        "    type: constraints/iam.disableServiceAccountKeyCreation",
                    )
                state["key_counter"] = state.get("key_counter", 0) + 1
                key_id = f"{state['key_counter']:040x}"
                account["keys"].append({"id": key_id, "disabled": False})
                Path(words[4]).write_text(json.dumps({"type": "service_account", "private_key_id": key_id}))
                return f"created key [{key_id}] of type [json] as [{words[4]}]"
            found = [k for k in account["keys"] if k["id"] == words[4]]
            if not found:
                raise fail(command, "NOT_FOUND: key not found")
            if verb == "disable":
                found[0]["disabled"] = True
            elif verb == "delete":
                account["keys"].remove(found[0])
            return ""
        verb, email = words[2], words[3]
        if verb == "create":
            email = f"{email}@{project}.iam.gserviceaccount.com"
            if email in accounts:
                raise fail(command, "ALREADY_EXISTS: Service account already exists")
            accounts[email] = {
                "display_name": flags.get("display-name", ""),
                "iam": {},
                "keys": [],
                "pending": state.get("propagation_failures", 0),
            }
            return ""
        if email not in accounts:
            raise fail(
                command, f"NOT_FOUND: Service account projects/{project}/serviceAccounts/{email} does not exist."
            )
        account = accounts[email]
        if verb == "describe":
            return json.dumps({"email": email, "displayName": account["display_name"]}, indent=2)
        if verb == "get-iam-policy":
            return policy_text(account["iam"])
        if verb in ("add-iam-policy-binding", "remove-iam-policy-binding") and account["pending"] > 0:
            account["pending"] -= 1
            raise fail(command, f"NOT_FOUND: Service account projects/-/serviceAccounts/{email} does not exist.")
        if verb == "add-iam-policy-binding":
            bind(account["iam"], flags)
            return policy_text(account["iam"])
        if verb == "remove-iam-policy-binding":
            members = account["iam"].get(flags["role"], [])
            if flags["member"] not in members:
                raise fail(command, "Policy binding with the specified principal, role, and condition not found!")
            members.remove(flags["member"])
            return policy_text(account["iam"])

    if words[:2] == ["iam", "workload-identity-pools"]:
        number = state["projects"][project]["number"]
        if words[2] == "providers":
            verb, name = words[3], words[4]
            key = f"{project}/{flags['workload-identity-pool']}/{name}"
            providers = state["providers"]
            if verb == "create-oidc":
                if f"{project}/{flags['workload-identity-pool']}" not in state["pools"]:
                    raise fail(command, "NOT_FOUND: Requested entity was not found.")
                if key in providers:
                    raise fail(command, "ALREADY_EXISTS: Requested entity already exists")
                providers[key] = {"state": "ACTIVE"}
            if key not in providers:
                raise fail(command, "NOT_FOUND: Requested entity was not found.")
            found = providers[key]
            if verb in ("create-oidc", "update-oidc"):
                for flag, field in (
                    ("issuer-uri", "issuer"),
                    ("attribute-condition", "condition"),
                    ("display-name", "display_name"),
                ):
                    if flag in flags:
                        found[field] = flags[flag]
                if "attribute-mapping" in flags:  # gcloud's dict syntax: KEY=VALUE pairs split on ','
                    found["mapping"] = dict(item.split("=", 1) for item in flags["attribute-mapping"].split(","))
                return ""
            if verb == "undelete":
                found["state"] = "ACTIVE"
                return ""
            if verb == "describe":
                return json.dumps(
                    {
                        "name": f"projects/{number}/locations/global/workloadIdentityPools/"
                        f"{flags['workload-identity-pool']}/providers/{name}",
                        "state": found["state"],
                        "displayName": found.get("display_name", ""),
                        "attributeMapping": found.get("mapping", {}),
                        "attributeCondition": found.get("condition", ""),
                        "oidc": {"issuerUri": found.get("issuer", "")},
                    },
                    indent=2,
                )
        verb, name = words[2], words[3]
        key, pools = f"{project}/{name}", state["pools"]
        if verb == "create":
            if key in pools:
                raise fail(command, "ALREADY_EXISTS: Requested entity already exists")
            pools[key] = {"state": "ACTIVE"}
            return ""
        if key not in pools:
            raise fail(command, "NOT_FOUND: Requested entity was not found.")
        if verb == "undelete":
            pools[key]["state"] = "ACTIVE"
            return ""
        if verb == "describe":
            return json.dumps(
                {
                    "name": f"projects/{number}/locations/global/workloadIdentityPools/{name}",
                    "state": pools[key]["state"],
                },
                indent=2,
            )
    raise fail(command, f"the stand-in does not know `gcloud {' '.join(argv)}`")


def main() -> int:
    state = json.loads(STATE.read_text())
    state["calls"].append(sys.argv[1:])
    try:
        output = handle(state, sys.argv[1:])
        code = 0
    except Failure as error:
        output, code = "", 1
        print(error, file=sys.stderr)
    STATE.write_text(json.dumps(state, indent=1))
    if output:
        print(output)
    return code


if __name__ == "__main__":
    sys.exit(main())
