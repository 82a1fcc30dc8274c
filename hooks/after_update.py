"""After every `copier update`: follow a package rename, settle dropped files, flag Google Cloud
changes, refresh uv.lock, fail on conflicts.

Run by Copier as a migration, after the update has been applied, in the project, with Copier's
own Python. It compares the answers Copier has just rendered with the ones last committed:

1. package_name changed: src/<old>/ is carried over to src/<new>/ (hooks/package_rename.py).
2. Files the new template version no longer renders, which Copier deleted: those the owner
   changed come back and are listed as kept, the others stay deleted; untracked files the new
   .gitignore no longer hides are listed, a stale setuptools-scm version file deleted
   (hooks/removed_files.py).
3. An answer that names a Google Cloud resource changed: the Google Cloud setup must run again,
   and the message says which resources, old name -> new name. A project that carried the setup
   as copied scripts (up to 0.2.0) is told the command that replaces them.
4. The dependencies or the build backend in pyproject.toml changed and the project has a
   uv.lock: `uv lock` runs when uv is installed, or the message says to (hooks/uv_lock.py).
5. The update left conflicts (inline markers it introduced, `.rej` files, paths Copier marked
   unmerged): they are listed and the script exits 1, so `copier update` ends non-zero (Copier
   itself exits 0 with conflicts left) and an unattended update cannot pass them off as done.
   Copier rolls nothing back when a migration fails: every file stays as the update left it.

Copier does not stage or commit an update, and neither does this script: review with
`git status` and `git diff`, then commit.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from typing import Any

import copier_answers
import package_rename
import removed_files
import uv_lock
from conflict_labels import BOTH_SIDES
from terminal import say

# The answers that name Google Cloud resources, and what the Google Cloud setup makes of each.
GCP_RESOURCES = {
    "gcp_project_id": "the Google Cloud project that holds every resource below",
    "gcp_location": "the location of the Artifact Registry repository",
    "gcp_repository": "this package's own Artifact Registry repository",
    "publish_auth": "how GitHub Actions authenticates: workload identity pool and provider, or a key",
    "gcp_service_account": "the service account that publishes, and its writer role on the repository",
    "gcp_workload_identity_pool": "the workload identity pool",
    "gcp_workload_identity_provider": "the workload identity provider",
    "github_repository": "the repository whose numeric ids the setup looks up and records",
    "github_repository_id": "the repository id whose tag releases may act as the service account",
    "github_owner_id": "the owner id the workload identity provider admits",
    "gcp_reader_service_account": "the organisation's read-only account (release checks, tests, Dependabot)",
    "gcp_pypi_remote": "the organisation's PyPI remote repository",
    "gcp_virtual_repository": "the organisation's virtual repository, which reads this package's",
    "github_release_manager_ids": "the GitHub users whose version tags may act as the publisher",
}

# Answers that the Google Cloud setup finds and prints the command to record.
RECORDED_BY_SETUP = {"github_repository_id", "github_owner_id", "github_release_manager_ids"}

MARKERS = (b"<<<<<<<", b">>>>>>>")
# How the commands printed here run Copier and the setup: copier.yml passes its copier_command
# and setup_command.
COPIER = "uvx copier"
SETUP = "gar-template-setup"
# The setup as releases up to 0.2.0 copied it into every project.
COPIED_SETUP = ("scripts/setup_gcp.py", "scripts/gcp_organisation.py", "scripts/gcp_cloud.py")


def git(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], input=stdin, capture_output=True, check=True).stdout


def report_gcp_changes(previous: dict[str, Any], current: dict[str, Any]) -> None:
    if not previous:
        return
    # Recording what the setup found (the ids were empty) asks for no second setup.
    changed = [
        key
        for key in GCP_RESOURCES
        if previous.get(key) != current.get(key) and (key not in RECORDED_BY_SETUP or previous.get(key))
    ]
    if not changed:
        return
    items = [
        f"  {key}: {previous.get(key, '(not set)')} -> {current.get(key, '(not set)')} ({GCP_RESOURCES[key]})"
        for key in changed
    ]
    say(
        "gar-template: this update changed answers that Google Cloud resources are named after:",
        *items,
        "Run the Google Cloud setup again, a dry run first, before the next release:",
        f"$ {SETUP} --dry-run",
        f"$ {SETUP}",
        "It sets up what the new answers name; it deletes nothing named by the old ones.",
    )


# The repository every package shared before each package had its own (template 0.1.0's default).
SHARED_REPOSITORY = "python-packages"


def report_shared_repository(current: dict[str, Any]) -> None:
    """A project still on the shared layout: any package's release can upload under its name."""
    if current.get("gcp_repository") != SHARED_REPOSITORY:
        return
    own = re.sub("[^a-z0-9]+", "-", str(current.get("distribution_name", "")).lower()).strip("-")
    own = own if own[:1].isalpha() else f"py-{own}"
    say(
        f"gar-template: this package still publishes to {SHARED_REPOSITORY}, which other packages' "
        "publishers may write too. Move it to a repository of its own (gar-template's README, "
        "'Moving to a repository per package'):",
        f"$ {COPIER} update --trust --defaults --vcs-ref=:current: --data gcp_repository={own}",
        f"$ {SETUP}",
    )


def report_setup_moved() -> None:
    """The copied setup scripts went (hooks/removed_files.py keeps edited ones): say what runs now."""
    carried = git("ls-files", "--", *COPIED_SETUP).decode().splitlines()
    if not carried:
        return
    say(
        "gar-template: the Google Cloud setup is no longer copied into the project "
        f"({', '.join(carried)}): it is gar-template's command, run at the template release this "
        "project records (its README.md, section Google Cloud setup). Check the setup with it once:",
        f"$ {SETUP} --check",
        "An organisation runs the copy it pins instead (docs/publishing.md).",
    )


def marker_lines(data: bytes) -> int:
    """How many lines start a conflict's side (`<<<<<<< ...`) or end it (`>>>>>>> ...`)."""
    return sum(1 for line in data.splitlines() if line[:7] in MARKERS and line[7:8] in (b"", b" ", b"\t"))


def changed_paths() -> list[str]:
    """Paths this update changed: the tree was clean before it (Copier insists), so git status."""
    entries = git("status", "--porcelain=v1", "-z", "--untracked-files=all").decode().split("\0")
    paths, skip_next = [], False
    for entry in entries:
        if skip_next or not entry:
            skip_next = False
            continue
        status, path = entry[:2], entry[3:]
        skip_next = status[0] in "RC"  # a rename or copy is followed by its source path
        if "D" not in status:
            paths.append(path)
    return paths


def committed_marker_lines(paths: list[str]) -> dict[str, int]:
    """Marker lines of each path as last committed (0 for a path new to HEAD), in one git process."""
    batch = git("cat-file", "--batch", stdin="".join(f"HEAD:{path}\n" for path in paths).encode())
    counts, position = {}, 0
    for path in paths:
        end = batch.index(b"\n", position)
        header = batch[position:end].split()
        position = end + 1
        if header[-1] == b"missing":
            counts[path] = 0
            continue
        size = int(header[2])
        counts[path] = marker_lines(batch[position : position + size])
        position += size + 1
    return counts


def conflicted_paths() -> list[str]:
    """Files whose conflicts this update introduced; markers already committed do not count."""
    changed = changed_paths()
    found = {path.decode() for path in git("diff", "--name-only", "--diff-filter=U", "-z").split(b"\0") if path}
    found.update(path for path in changed if path.endswith(".rej"))
    # .rej files the project's .gitignore hides are still the update's leftovers.
    found.update(path.decode() for path in git("ls-files", "-z", "--others", "--", "*.rej").split(b"\0") if path)
    before = committed_marker_lines(changed) if changed else {}
    for path in changed:
        try:
            with open(path, "rb") as file:
                now = marker_lines(file.read())
        except (IsADirectoryError, FileNotFoundError):
            continue
        if now > before[path]:
            found.add(path)
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", required=True, help="the template's root (its local clone)")
    parser.add_argument("--answers-file", required=True, help="the answers file's name in the project")
    parser.add_argument("--copier", required=True, help="how the project runs Copier (copier.yml's copier_command)")
    parser.add_argument("--setup", required=True, help="how it runs the Google Cloud setup (setup_command)")
    args = parser.parse_args()
    global COPIER, SETUP  # set once, from the arguments, before anything prints
    COPIER, SETUP = args.copier, args.setup
    current = copier_answers.read(args.answers_file)
    previous = copier_answers.committed(args.answers_file)

    package_rename.follow(previous, current, args.template, args.answers_file)
    old_package, new_package = previous.get("package_name"), current.get("package_name")
    renamed = isinstance(old_package, str) and old_package != new_package
    # The rename has settled src/<old>/ already.
    removed_files.follow(previous, args.template, args.answers_file, skip=f"src/{old_package}/" if renamed else None)
    removed_files.follow_ignores()
    report_setup_moved()
    report_gcp_changes(previous, current)
    report_shared_repository(current)
    conflicts = conflicted_paths()
    uv_lock.follow(conflicts)
    if conflicts:
        say(
            "gar-template: the update left conflicts in these files:",
            *(f"  {path}" for path in conflicts),
            f"Nothing was lost or rolled back: each conflict holds both sides, {BOTH_SIDES}"
            " (a .rej file holds the template's change that did not apply)."
            " Resolve them, delete any .rej file, then review with `git diff` and commit.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
