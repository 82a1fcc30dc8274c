#!/usr/bin/env -S python3 -I -S
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

import fcntl
import json
import os
import re
import sys

# A setup calls gh a dozen times, each a new process: modules only some commands need are imported
# where they are used, and typing's names not at all at run time, which halves each call's start-up.
State = dict[str, "Any"]  # a string: Any is not imported at run time
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

    Route = Callable[[State, dict[str, Any], re.Match[str], dict[str, Any]], object]
    Command = Callable[[State, str, list[str]], int]


class GhError(Exception):
    """A failure the real gh reports on stderr with exit status 1."""


def load(path: str) -> State:
    if not os.path.isfile(path):
        return {}
    with open(path) as file:
        loaded: State = json.load(file)
    return loaded


def save(path: str, state: State) -> None:
    with open(path, "w") as file:
        file.write(json.dumps(state) + "\n")  # no indent: json's C encoder (tests/fake_gcloud.py, main)


def text_of(path: str) -> str:
    """A --body-file or --notes-file: standard input for `-`."""
    if path == "-":
        return sys.stdin.read()
    with open(path) as file:
        return file.read()


def created(state: State, kind: str, repo: str, url: str, fields: dict[str, Any]) -> int:
    """A new pull request or release: stored with its repository, URL and time; gh prints the URL."""
    state.setdefault(kind, []).append({"repo": repo, **fields, "url": url, "createdAt": now()})
    print(url)
    return 0


def now() -> str:
    import datetime

    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parser(prog: str) -> argparse.ArgumentParser:
    """An argument parser that fails as gh does: a message and exit status 1."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            raise GhError(f"{prog}: {message}")

    return Parser(prog=prog, add_help=False)


def jq(value: object, expression: str) -> str:
    """The few jq expressions the workflows and the setup use, printed as gh prints them (strings
    raw, one result a line): `length`, `.[].FIELD`, `[.[] | .FIELD]`, paths such as `.object.sha`,
    several of them separated by `, ` (one line each), and `+` joining paths and "literal" strings."""
    if expression == "length":
        return f"{len(value)}\n"  # type: ignore[arg-type]
    if expression.startswith(".[]."):
        field = expression.removeprefix(".[].")
        return "".join(f"{item[field]}\n" for item in value)  # type: ignore[union-attr]
    collected = re.fullmatch(r"\[\.\[\] \| \.(\w+)\]", expression)
    if collected:
        return json.dumps([item[collected[1]] for item in value]) + "\n"  # type: ignore[union-attr]

    def term(text: str) -> object:
        if text.startswith('"'):
            return json.loads(text)
        if not re.fullmatch(r"(\.\w+)+", text):
            raise GhError(f"fake gh: --jq {expression!r} is not supported by this stand-in")
        found = value
        for key in text.split(".")[1:]:
            found = found[key]  # type: ignore[index]
        return found

    results = ("".join(str(term(t.strip())) for t in part.split(" + ")) for part in expression.split(", "))
    return "".join(f"{result}\n" for result in results)


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
        return text_of(args.body_file)
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
    fields = {"number": number, "title": args.title, "body": body, "headRefName": args.head}
    fields |= {"baseRefName": args.base, "state": "OPEN", "isDraft": args.draft}
    return created(state, "pulls", repo, f"https://github.com/{repo}/pull/{number}", fields)


def edit_arguments(command: str, target: str, text: str, short: str, argv: list[str], *more: str) -> Any:
    """`gh pr edit` and `gh release edit`: what to edit, a new title, new text given inline or
    from a file (--TEXT, --TEXT-file), and `more` options (a long and a short name each)."""
    p = parser(command)
    p.add_argument(target)
    p.add_argument("--title", "-t")
    p.add_argument(f"--{text}", short)
    p.add_argument(f"--{text}-file", "-F")
    for long, abbreviated in zip(more[::2], more[1::2], strict=True):
        p.add_argument(long, abbreviated)
    return p.parse_args(argv)


def pr_edit(state: State, repo: str, argv: list[str]) -> int:
    args = edit_arguments("gh pr edit", "selector", "body", "-b", argv, "--base", "-B")
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
    body = text_of(args.notes_file) if args.notes_file is not None else args.notes or ""
    if any(release["tagName"] == args.tag for release in releases_of(state, repo)):
        raise GhError(
            f"HTTP 422: Validation Failed (https://api.github.com/repos/{repo}/releases)\n"
            "Release.tag_name already exists"
        )
    if args.verify_tag:
        import subprocess

        remote = subprocess.run(
            ["git", "ls-remote", "--exit-code", "origin", f"refs/tags/{args.tag}"], capture_output=True, check=False
        )
        if remote.returncode != 0:
            raise GhError(f"tag {args.tag} doesn't exist in the repo {repo}, aborting due to --verify-tag flag")
    fields = {"tagName": args.tag, "name": args.title or args.tag, "body": body, "isDraft": args.draft}
    return created(state, "releases", repo, f"https://github.com/{repo}/releases/tag/{args.tag}", fields)


def release_edit(state: State, repo: str, argv: list[str]) -> int:
    """gh release edit TAG: a new title or notes for an existing release."""
    args = edit_arguments("gh release edit", "tag", "notes", "-n", argv)
    found = [release for release in releases_of(state, repo) if release["tagName"] == args.tag]
    if not found:
        raise GhError("release not found")
    if args.title is not None:
        found[0]["name"] = args.title
    if args.notes_file is not None:
        found[0]["body"] = text_of(args.notes_file)
    elif args.notes is not None:
        found[0]["body"] = args.notes
    print(found[0]["url"])
    return 0


# --- authentication, the REST API, secrets and variables (scripts/setup_gcp.py) ------------------


def option(argv: list[str], name: str, default: str | None = None) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else default


def fields(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, word in enumerate(argv) if word in ("-f", "--raw-field", "-F"))


def auth(state: State, argv: list[str]) -> str:
    if argv[:2] == ["auth", "status"] and state.get("authenticated"):
        return "github.com\n  ✓ Logged in to github.com account octo (keyring)"
    if argv[:2] == ["auth", "setup-git"] and (state.get("authenticated") or os.environ.get("GH_TOKEN")):
        # The real gh makes itself git's credential helper for github.com, and prints nothing.
        state["git_credential_helper"] = True
        return ""
    raise GhError("You are not logged into any GitHub hosts. To log in, run: gh auth login")


def known_repository(state: State, name: str) -> dict[str, Any]:
    if name not in state.setdefault("repositories", {}):
        raise GhError("gh: Not Found (HTTP 404)")
    found: dict[str, Any] = state["repositories"][name]
    return found


def environment(repo: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in repo.setdefault("environments", {}):
        raise GhError("gh: Not Found (HTTP 404)")
    found: dict[str, Any] = repo["environments"][name]
    return found


# REST routes: (method, path pattern) -> handler(state, repository, path match, request body).


def get_repository(state: State, repo: dict[str, Any], match: re.Match[str], body: dict[str, Any]) -> object:
    return {
        "id": int(repo["id"]),
        "full_name": match["repo"],
        "owner": {"id": int(repo["owner_id"])},
        "default_branch": repo.get("default_branch", "main"),
    }


def get_tag_ref(state: State, repo: dict[str, Any], match: re.Match[str], body: dict[str, Any]) -> object:
    """A tag as GitHub has it now: repo["tags"][NAME] is {"type": "tag" (annotated) or "commit", "sha"}."""
    found = repo.get("tags", {}).get(match["tag"])
    if found is None:
        raise GhError("gh: Not Found (HTTP 404)")
    return {"ref": f"refs/tags/{match['tag']}", "object": found}


def get_tag_object(state: State, repo: dict[str, Any], match: re.Match[str], body: dict[str, Any]) -> object:
    """An annotated tag's object: repo["tag_objects"][SHA] is the commit it names."""
    found = repo.get("tag_objects", {}).get(match["sha"])
    if found is None:
        raise GhError("gh: Not Found (HTTP 404)")
    return {"sha": match["sha"], "object": {"type": "commit", "sha": found}}


def put_environment(state: State, repo: dict[str, Any], match: re.Match[str], body: dict[str, Any]) -> object:
    if body.get("deployment_branch_policy") and not repo.get("plan_allows_environment_policies", True):
        raise GhError("gh: Deployment branch policies are not available for this repository. (HTTP 422)")
    found = repo.setdefault("environments", {}).setdefault(match["env"], {"policies": []})
    found["deployment_branch_policy"] = body.get("deployment_branch_policy")
    return {"name": match["env"], "deployment_branch_policy": found["deployment_branch_policy"]}


def get_environment(state: State, repo: dict[str, Any], match: re.Match[str], body: dict[str, Any]) -> object:
    found = environment(repo, match["env"])
    return {"name": match["env"], "deployment_branch_policy": found.get("deployment_branch_policy")}


def list_policies(state: State, repo: dict[str, Any], match: re.Match[str], body: dict[str, Any]) -> object:
    policies = environment(repo, match["env"])["policies"]
    return {"total_count": len(policies), "branch_policies": policies}


def add_policy(state: State, repo: dict[str, Any], match: re.Match[str], body: dict[str, Any]) -> object:
    policies = environment(repo, match["env"])["policies"]
    if any(p["name"] == body["name"] and p["type"] == body.get("type", "branch") for p in policies):
        raise GhError("gh: Validation Failed (HTTP 422)")
    state["policy_counter"] = state.get("policy_counter", 0) + 1
    policies.append({"id": state["policy_counter"], "name": body["name"], "type": body.get("type", "branch")})
    return policies[-1]


def delete_policy(state: State, repo: dict[str, Any], match: re.Match[str], body: dict[str, Any]) -> object:
    policies = environment(repo, match["env"])["policies"]
    found = [p for p in policies if str(p["id"]) == match["id"]]
    if not found:
        raise GhError("gh: Not Found (HTTP 404)")
    policies.remove(found[0])
    return None


def list_rulesets(state: State, repo: dict[str, Any], match: re.Match[str], body: dict[str, Any]) -> object:
    return repo.get("rulesets", [])


REPO = r"repos/(?P<repo>[^/]+/[^/]+)"
ENV = REPO + r"/environments/(?P<env>[^/]+)"
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", REPO): get_repository,
    ("GET", ENV): get_environment,
    ("PUT", ENV): put_environment,
    ("GET", ENV + "/deployment-branch-policies"): list_policies,
    ("POST", ENV + "/deployment-branch-policies"): add_policy,
    ("DELETE", ENV + r"/deployment-branch-policies/(?P<id>\d+)"): delete_policy,
    ("GET", REPO + "/rulesets"): list_rulesets,
    ("GET", REPO + r"/git/ref/tags/(?P<tag>.+)"): get_tag_ref,
    ("GET", REPO + r"/git/tags/(?P<sha>[0-9a-f]+)"): get_tag_object,
}


def rest(state: State, method: str, path: str, body: dict[str, Any]) -> object:
    """One REST call, as both `gh api` and the stand-in REST server (`serve`) make it."""
    if path.strip("/") == "user" and method == "GET":
        return {"id": int(state.get("user_id", 5000001)), "login": "octo"}
    if (user := re.fullmatch(r"user/(\d+)", path.strip("/"))) and method == "GET":
        # GitHub's user by numeric id; the logins are state["logins"] ({id: login}), "octo" for ours.
        logins = {str(state.get("user_id", 5000001)): "octo", **state.get("logins", {})}
        if user[1] not in logins:
            raise GhError("gh: Not Found (HTTP 404)")
        return {"id": int(user[1]), "login": logins[user[1]]}
    for (route_method, pattern), route in ROUTES.items():
        match = re.fullmatch(pattern, path.strip("/"))
        if match and route_method == method:
            return route(state, known_repository(state, match["repo"]), match, body)
    raise GhError(f"gh: Not Found (HTTP 404) {method} {path}")


def api(state: State, argv: list[str]) -> str:
    method = option(argv, "--method", "GET") or "GET"
    valued = ("--method", "--jq", "-f", "--input")
    path = next(w for i, w in enumerate(argv) if i and not w.startswith("-") and argv[i - 1] not in valued)
    body: dict[str, Any] = fields(argv)
    if option(argv, "--input") == "-":
        body = json.loads(sys.stdin.read() or "{}")
    result = rest(state, method, path, body)
    expression = option(argv, "--jq")
    if expression is not None:
        return jq(result, expression).removesuffix("\n")
    return "" if result is None else json.dumps(result)


def secret(state: State, argv: list[str]) -> str:
    verb, name = argv[1], argv[2] if len(argv) > 2 and not argv[2].startswith("-") else ""
    repo = known_repository(state, option(argv, "--repo") or "")
    env = option(argv, "--env")
    if env is not None and env not in repo.get("environments", {}):
        raise GhError(f"failed to fetch public key: HTTP 404: Not Found (environment {env})")
    scope = f"environment:{env}" if env else "dependabot" if option(argv, "--app") == "dependabot" else "repository"
    secrets = repo.get("secrets", {}).get(scope, {})
    if verb == "set":
        secrets = repo.setdefault("secrets", {}).setdefault(scope, {})
        if repo.get("refuse_secrets"):
            raise GhError("failed to set secret: HTTP 403: Resource not accessible by integration")
        # A digest, not the secret: the stand-in's state file must hold no credential either.
        import hashlib

        secrets[name] = hashlib.sha256(sys.stdin.read().encode()).hexdigest()
        return f"✓ Set Actions secret {name} for {option(argv, '--repo')}"
    if verb == "delete":
        if name not in secrets:
            raise GhError("failed to delete secret: HTTP 404: Not Found")
        del secrets[name]
        return f"✓ Deleted secret {name} from {option(argv, '--repo')}"
    if verb == "list":
        return "\n".join(f"{n}\t2026-12-02T11:00:00Z" for n in secrets)
    raise GhError(f"unknown command: gh {' '.join(argv)}")


def variable(state: State, argv: list[str]) -> str:
    repo = known_repository(state, option(argv, "--repo") or "")
    variables = repo.setdefault("variables", {})
    if argv[1] == "set":
        variables[argv[2]] = option(argv, "--body")
        return f"✓ Created variable {argv[2]} for {option(argv, '--repo')}"
    if argv[1] == "get" and argv[2] in variables:
        return str(variables[argv[2]])
    raise GhError(f"variable {argv[2]} was not found")


# Run by a person at a terminal (no GH_TOKEN, no --repo needed): each returns what gh prints.
LOCAL: dict[str, Callable[[State, list[str]], str]] = {"auth": auth, "api": api, "secret": secret, "variable": variable}


def serve(state_file: str, port_file: str) -> None:
    """GitHub's REST API on 127.0.0.1, over the same state: what `curl` reaches without gh."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            state = load(state_file)
            state.setdefault("calls", []).append(["REST", self.command, self.path])
            try:
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    raise GhError("Requires authentication (HTTP 401)")
                result, code = rest(state, self.command, self.path, body), 200
            except GhError as error:
                result, code = {"message": str(error)}, 404
            save(state_file, state)
            payload = json.dumps(result).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file, "w") as file:
        file.write(str(server.server_address[1]))
    server.serve_forever()


HANDLERS: dict[tuple[str, ...], Command] = {
    ("pr", "list"): pr_list,
    ("pr", "create"): pr_create,
    ("pr", "edit"): pr_edit,
    ("release", "view"): release_view,
    ("release", "create"): release_create,
    ("release", "edit"): release_edit,
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
    state_file = os.environ["GH_STATE"]
    if argv[:1] == ["serve"]:
        serve(state_file, argv[1])
        return 0
    # Several setups may run at once (tests/test_setup_gcp.py): one call at a time.
    with open(state_file + ".lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        return answer(state_file, argv)


def answer(state_file: str, argv: list[str]) -> int:
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
