#!/usr/bin/env python3
"""A stand-in for the GitHub CLI that remembers state, put first on PATH by tests.

Its state is a JSON file named by $GH_STATE (tests/cloud.py seeds it); every call is appended to
state["calls"]. Handlers answer like the real gh: the same output shapes and error texts for the
calls the template makes; anything else exits 1 naming the unknown command.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

STATE = Path(os.environ["GH_STATE"])


class Failure(Exception):
    pass


def option(argv: list[str], name: str, default: str | None = None) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else default


def fields(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, word in enumerate(argv) if word in ("-f", "--raw-field", "-F"))


def auth(state: dict[str, Any], argv: list[str]) -> str:
    if argv[:2] == ["auth", "status"] and state.get("authenticated"):
        return "github.com\n  ✓ Logged in to github.com account octo (keyring)"
    raise Failure("You are not logged into any GitHub hosts. To log in, run: gh auth login")


def repository(state: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in state["repositories"]:
        raise Failure("gh: Not Found (HTTP 404)")
    found: dict[str, Any] = state["repositories"][name]
    return found


def api(state: dict[str, Any], argv: list[str]) -> str:
    method = option(argv, "--method", "GET")
    path = next(w for w in argv[1:] if w.startswith("repos/"))
    parts = path.split("/")
    repo = repository(state, "/".join(parts[1:3]))
    jq = option(argv, "--jq")
    if len(parts) == 3 and method == "GET":
        if jq == ".id, .owner.id":
            return f"{repo['id']}\n{repo['owner_id']}"
        return json.dumps(
            {"id": int(repo["id"]), "full_name": "/".join(parts[1:3]), "owner": {"id": int(repo["owner_id"])}}
        )
    if len(parts) >= 5 and parts[3] == "environments":
        environments = repo.setdefault("environments", {})
        name = parts[4]
        if len(parts) == 5 and method == "PUT":
            body = json.loads(sys.stdin.read() or "{}")
            if body.get("deployment_branch_policy") and not repo.get("plan_allows_environment_policies", True):
                raise Failure("gh: Deployment branch policies are not available for this repository. (HTTP 422)")
            environments.setdefault(name, {"policies": []})["deployment_branch_policy"] = body.get(
                "deployment_branch_policy"
            )
            return json.dumps({"name": name})
        if name not in environments:
            raise Failure("gh: Not Found (HTTP 404)")
        if parts[5:] == ["deployment-branch-policies"]:
            policies = environments[name]["policies"]
            if method == "POST":
                policy = fields(argv)
                if any(p["name"] == policy["name"] and p["type"] == policy.get("type", "branch") for p in policies):
                    raise Failure("gh: Validation Failed (HTTP 422)")
                policies.append({"name": policy["name"], "type": policy.get("type", "branch")})
                return json.dumps(policies[-1])
            if jq == ".branch_policies[].name":
                return "\n".join(p["name"] for p in policies)
            return json.dumps({"total_count": len(policies), "branch_policies": policies})
    raise Failure(f"unknown command: gh {' '.join(argv)}")


def secret(state: dict[str, Any], argv: list[str]) -> str:
    if argv[1] != "set":
        raise Failure(f"unknown command: gh {' '.join(argv)}")
    repo = repository(state, option(argv, "--repo") or "")
    environment = option(argv, "--env")
    value = sys.stdin.read()
    if environment is not None and environment not in repo.get("environments", {}):
        raise Failure(f"failed to fetch public key: HTTP 404: Not Found (environment {environment})")
    scope = f"environment:{environment}" if environment else "repository"
    # A digest, not the secret: the stand-in's state file must hold no credential either.
    repo.setdefault("secrets", {}).setdefault(scope, {})[argv[2]] = hashlib.sha256(value.encode()).hexdigest()
    return f"✓ Set Actions secret {argv[2]} for {option(argv, '--repo')}"


HANDLERS: dict[str, Callable[[dict[str, Any], list[str]], str]] = {"auth": auth, "api": api, "secret": secret}


def main() -> int:
    state = json.loads(STATE.read_text())
    argv = sys.argv[1:]
    state["calls"].append(argv)
    try:
        handler = HANDLERS.get(argv[0]) if argv else None
        if handler is None:
            raise Failure(f"unknown command: gh {' '.join(argv)}")
        output, code = handler(state, argv), 0
    except Failure as error:
        output, code = "", 1
        print(error, file=sys.stderr)
    STATE.write_text(json.dumps(state, indent=1))
    if output:
        print(output)
    return code


if __name__ == "__main__":
    sys.exit(main())
