#!/usr/bin/env python3
"""A stateful stand-in for GitHub's `gh` command line, for tests that run workflow steps locally.

Symlink it as `gh` into a directory put first on PATH. It keeps its state in the JSON file named
by the environment variable GH_STATE (created when missing): every call's argv is appended to
state["calls"], and each kind of GitHub object has its own top-level key ("pulls", ...). It
answers like the real gh run outside a terminal (same output shapes, same exit codes) for the
commands in HANDLERS and LOCAL, and exits 1 with "unknown command" for anything else.

To support another command, write a handler `(state, repo, args) -> exit code` and add it to
HANDLERS under its command words; `repo` is the OWNER/NAME from --repo/-R or GH_REPO.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

State = dict[str, Any]


class GhError(Exception):
    """A failure the real gh reports on stderr with exit status 1."""


def load(path: Path) -> State:
    return json.loads(path.read_text()) if path.is_file() else {}


def save(path: Path, state: State) -> None:
    path.write_text(json.dumps(state, indent=2) + "\n")


def parser(prog: str) -> argparse.ArgumentParser:
    """An argument parser that fails as gh does: a message and exit status 1."""

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            raise GhError(f"{prog}: {message}")

    return Parser(prog=prog, add_help=False)


def jq(value: object, expression: str) -> str:
    """The few jq expressions the workflows use: `.[].FIELD` and `length`."""
    if expression == "length":
        return f"{len(value)}\n"  # type: ignore[arg-type]
    if expression.startswith(".[]."):
        field = expression.removeprefix(".[].")
        return "".join(f"{item[field]}\n" for item in value)  # type: ignore[union-attr]
    raise GhError(f"fake gh: --jq {expression!r} is not supported by this stand-in")


def export(value: object, expression: str | None) -> str:
    """What `--json` prints outside a terminal: compact JSON, or the --jq expression's result."""
    if expression is not None:
        return jq(value, expression)
    return json.dumps(value, separators=(",", ":")) + "\n"


# --- pull requests -----------------------------------------------------------------------------

PR_FIELDS = ("number", "title", "body", "headRefName", "baseRefName", "state", "url", "isDraft", "createdAt")


def pulls_of(state: State, repo: str) -> list[dict[str, Any]]:
    return [pr for pr in state.setdefault("pulls", []) if pr["repo"] == repo]


def body_from(args: argparse.Namespace) -> str | None:
    if args.body_file is not None:
        return sys.stdin.read() if args.body_file == "-" else Path(args.body_file).read_text()
    return args.body


def pr_list(state: State, repo: str, argv: list[str]) -> int:
    p = parser("gh pr list")
    p.add_argument("--head", "-H")
    p.add_argument("--base", "-B")
    p.add_argument("--state", "-s", default="open", choices=["open", "closed", "merged", "all"])
    p.add_argument("--json")
    p.add_argument("--jq", "-q")
    p.add_argument("--limit", "-L", type=int, default=30)
    args = p.parse_args(argv)
    if args.jq is not None and args.json is None:
        raise GhError("cannot use `--jq` without specifying `--json`")
    found = [
        pr
        for pr in reversed(pulls_of(state, repo))
        if (args.head is None or pr["headRefName"] == args.head)
        and (args.base is None or pr["baseRefName"] == args.base)
        and (args.state == "all" or pr["state"] == args.state.upper())
    ][: args.limit]
    if args.json is not None:
        fields = args.json.split(",")
        unknown = [f for f in fields if f not in PR_FIELDS]
        if unknown:
            raise GhError(f"Unknown JSON field: {unknown[0]!r}")
        sys.stdout.write(export([{f: pr[f] for f in fields} for pr in found], args.jq))
    else:
        for pr in found:
            print(f"{pr['number']}\t{pr['title']}\t{pr['headRefName']}\t{pr['state']}\t{pr['createdAt']}")
    return 0


def pr_create(state: State, repo: str, argv: list[str]) -> int:
    p = parser("gh pr create")
    p.add_argument("--head", "-H", required=True)
    p.add_argument("--base", "-B", default="main")
    p.add_argument("--title", "-t")
    p.add_argument("--body", "-b")
    p.add_argument("--body-file", "-F")
    p.add_argument("--draft", "-d", action="store_true")
    args = p.parse_args(argv)
    body = body_from(args)
    if args.title is None or body is None:
        raise GhError(
            "must provide `--title` and `--body` (or `--fill` or `fill-first` or `--fillverbose`) "
            "when not running interactively"
        )
    for pr in pulls_of(state, repo):
        if pr["headRefName"] == args.head and pr["baseRefName"] == args.base and pr["state"] == "OPEN":
            raise GhError(
                f'a pull request for branch "{args.head}" into branch "{args.base}" already exists:\n{pr["url"]}'
            )
    number = 1 + max((pr["number"] for pr in pulls_of(state, repo)), default=0)
    pr = {
        "repo": repo,
        "number": number,
        "title": args.title,
        "body": body,
        "headRefName": args.head,
        "baseRefName": args.base,
        "state": "OPEN",
        "isDraft": args.draft,
        "url": f"https://github.com/{repo}/pull/{number}",
        "createdAt": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    state["pulls"].append(pr)
    print(pr["url"])
    return 0


def pr_edit(state: State, repo: str, argv: list[str]) -> int:
    p = parser("gh pr edit")
    p.add_argument("selector")
    p.add_argument("--title", "-t")
    p.add_argument("--body", "-b")
    p.add_argument("--body-file", "-F")
    p.add_argument("--base", "-B")
    args = p.parse_args(argv)
    selector = args.selector.rsplit("/pull/", 1)[-1]
    pulls = pulls_of(state, repo)
    if selector.isdigit():
        matches = [pr for pr in pulls if pr["number"] == int(selector)]
        missing = f"GraphQL: Could not resolve to a PullRequest with the number of {selector}. (repository.pullRequest)"
    else:
        matches = [pr for pr in pulls if pr["headRefName"] == selector and pr["state"] == "OPEN"]
        missing = f'no pull requests found for branch "{selector}"'
    if not matches:
        raise GhError(missing)
    pr = matches[-1]
    body = body_from(args)
    for key, value in (("title", args.title), ("body", body), ("baseRefName", args.base)):
        if value is not None:
            pr[key] = value
    print(pr["url"])
    return 0


# --- releases (the template's own release workflow) ---------------------------------------------

RELEASE_FIELDS = ("tagName", "name", "body", "url", "isDraft", "createdAt")


def releases_of(state: State, repo: str) -> list[dict[str, Any]]:
    return [release for release in state.setdefault("releases", []) if release["repo"] == repo]


def release_view(state: State, repo: str, argv: list[str]) -> int:
    p = parser("gh release view")
    p.add_argument("tag")
    p.add_argument("--json")
    p.add_argument("--jq", "-q")
    args = p.parse_args(argv)
    found = [release for release in releases_of(state, repo) if release["tagName"] == args.tag]
    if not found:
        raise GhError("release not found")
    if args.json is not None:
        fields = args.json.split(",")
        unknown = [f for f in fields if f not in RELEASE_FIELDS]
        if unknown:
            raise GhError(f"Unknown JSON field: {unknown[0]!r}")
        sys.stdout.write(export({f: found[0][f] for f in fields}, args.jq))
    else:
        print(f"title:\t{found[0]['name']}\ntag:\t{found[0]['tagName']}\n--\n{found[0]['body']}")
    return 0


def release_create(state: State, repo: str, argv: list[str]) -> int:
    """gh release create TAG; with --verify-tag the tag must be on the remote, here `origin` of the cwd."""
    p = parser("gh release create")
    p.add_argument("tag")
    p.add_argument("--title", "-t")
    p.add_argument("--notes", "-n")
    p.add_argument("--notes-file", "-F")
    p.add_argument("--verify-tag", action="store_true")
    p.add_argument("--draft", "-d", action="store_true")
    args = p.parse_args(argv)
    if args.notes_file is not None:
        body = sys.stdin.read() if args.notes_file == "-" else Path(args.notes_file).read_text()
    else:
        body = args.notes or ""
    if any(release["tagName"] == args.tag for release in releases_of(state, repo)):
        raise GhError(
            f"HTTP 422: Validation Failed (https://api.github.com/repos/{repo}/releases)\n"
            "Release.tag_name already exists"
        )
    if args.verify_tag:
        remote = subprocess.run(
            ["git", "ls-remote", "--exit-code", "origin", f"refs/tags/{args.tag}"], capture_output=True, check=False
        )
        if remote.returncode != 0:
            raise GhError(f"tag {args.tag} doesn't exist in the repo {repo}, aborting due to --verify-tag flag")
    release = {
        "repo": repo,
        "tagName": args.tag,
        "name": args.title or args.tag,
        "body": body,
        "isDraft": args.draft,
        "url": f"https://github.com/{repo}/releases/tag/{args.tag}",
        "createdAt": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    state["releases"].append(release)
    print(release["url"])
    return 0


# --- authentication, the REST API, secrets (scripts/setup_gcp.py) -------------------------------


def option(argv: list[str], name: str, default: str | None = None) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else default


def fields(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, word in enumerate(argv) if word in ("-f", "--raw-field", "-F"))


def auth(state: dict[str, Any], argv: list[str]) -> str:
    if argv[:2] == ["auth", "status"] and state.get("authenticated"):
        return "github.com\n  ✓ Logged in to github.com account octo (keyring)"
    if argv[:2] == ["auth", "setup-git"] and (state.get("authenticated") or os.environ.get("GH_TOKEN")):
        # The real gh makes itself git's credential helper for github.com, and prints nothing.
        state["git_credential_helper"] = True
        return ""
    raise GhError("You are not logged into any GitHub hosts. To log in, run: gh auth login")


def known_repository(state: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in state.setdefault("repositories", {}):
        raise GhError("gh: Not Found (HTTP 404)")
    found: dict[str, Any] = state.setdefault("repositories", {})[name]
    return found


def api(state: dict[str, Any], argv: list[str]) -> str:
    method = option(argv, "--method", "GET")
    path = next(w for w in argv[1:] if w.startswith("repos/"))
    parts = path.split("/")
    repo = known_repository(state, "/".join(parts[1:3]))
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
                raise GhError("gh: Deployment branch policies are not available for this repository. (HTTP 422)")
            environments.setdefault(name, {"policies": []})["deployment_branch_policy"] = body.get(
                "deployment_branch_policy"
            )
            return json.dumps({"name": name})
        if name not in environments:
            raise GhError("gh: Not Found (HTTP 404)")
        if parts[5:] == ["deployment-branch-policies"]:
            policies = environments[name]["policies"]
            if method == "POST":
                policy = fields(argv)
                if any(p["name"] == policy["name"] and p["type"] == policy.get("type", "branch") for p in policies):
                    raise GhError("gh: Validation Failed (HTTP 422)")
                policies.append({"name": policy["name"], "type": policy.get("type", "branch")})
                return json.dumps(policies[-1])
            if jq == ".branch_policies[].name":
                return "\n".join(p["name"] for p in policies)
            return json.dumps({"total_count": len(policies), "branch_policies": policies})
    raise GhError(f"unknown command: gh {' '.join(argv)}")


def secret(state: dict[str, Any], argv: list[str]) -> str:
    if argv[1] != "set":
        raise GhError(f"unknown command: gh {' '.join(argv)}")
    repo = known_repository(state, option(argv, "--repo") or "")
    environment = option(argv, "--env")
    value = sys.stdin.read()
    if environment is not None and environment not in repo.get("environments", {}):
        raise GhError(f"failed to fetch public key: HTTP 404: Not Found (environment {environment})")
    scope = f"environment:{environment}" if environment else "repository"
    # A digest, not the secret: the stand-in's state file must hold no credential either.
    repo.setdefault("secrets", {}).setdefault(scope, {})[argv[2]] = hashlib.sha256(value.encode()).hexdigest()
    return f"✓ Set Actions secret {argv[2]} for {option(argv, '--repo')}"


# Run by a person at a terminal (no GH_TOKEN, no --repo needed): each returns what gh prints.
LOCAL: dict[str, Callable[[State, list[str]], str]] = {"auth": auth, "api": api, "secret": secret}


Handler = Callable[[State, str, list[str]], int]
HANDLERS: dict[tuple[str, ...], Handler] = {
    ("pr", "list"): pr_list,
    ("pr", "create"): pr_create,
    ("pr", "edit"): pr_edit,
    ("release", "view"): release_view,
    ("release", "create"): release_create,
}


def repository(argv: list[str]) -> tuple[str | None, list[str]]:
    """Take --repo/-R out of argv; fall back to GH_REPO as gh does."""
    rest, repo, arguments = [], os.environ.get("GH_REPO"), iter(argv)
    for argument in arguments:
        if argument in ("--repo", "-R"):
            repo = next(arguments, None)
        elif argument.startswith("--repo="):
            repo = argument.removeprefix("--repo=")
        else:
            rest.append(argument)
    return repo, rest


def main(argv: list[str]) -> int:
    state_file = Path(os.environ["GH_STATE"])
    state = load(state_file)
    state.setdefault("calls", []).append(argv)
    try:
        if argv[:1] and argv[0] in LOCAL:
            printed = LOCAL[argv[0]](state, argv)
            if printed:
                print(printed)
            return 0
        words = next((key for key in sorted(HANDLERS, key=len, reverse=True) if tuple(argv[: len(key)]) == key), None)
        if words is None:
            raise GhError(f'unknown command "{" ".join(argv[:2])}" for "gh"')
        if not (os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")):
            print(
                "gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable. Example:\n"
                "  env:\n    GH_TOKEN: ${{ github.token }}",
                file=sys.stderr,
            )
            return 4
        repo, rest = repository(argv[len(words) :])
        if not repo:
            raise GhError("no git remotes found")
        return HANDLERS[words](state, repo, rest)
    except GhError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        save(state_file, state)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
