#!/usr/bin/env python3
"""The template's releases, read from the history of CHANGELOG.md: list, tag, notes.

A release of gar-template is the annotated tag vX.Y.Z on main. Tags do not travel with every push
or clone, so the history alone says which commit each release is: the commit that adds the
heading `## [X.Y.Z]` to CHANGELOG.md, on main's first-parent line (a heading that arrives with a
merge makes the merge commit the release). A release heading is never removed or renamed.

  python3 tools/release.py list             # each release, oldest first: vX.Y.Z COMMIT
  python3 tools/release.py tag              # tag every release that lacks its tag, check the rest
  python3 tools/release.py notes vX.Y.Z     # that release's section of CHANGELOG.md

`tag` is what .github/workflows/release.yml runs on every push of CHANGELOG.md to main, and what
restores the tags in a clone without them. It needs a git identity for the tagger (git's own, or
GIT_COMMITTER_NAME and GIT_COMMITTER_EMAIL); each tag carries its release commit's date. With
--notes-dir it also writes each release's notes to DIR/vX.Y.Z.md, and it prints `created=` (the
tags it made) and `releases=` (every release) for $GITHUB_OUTPUT. Standard library only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CHANGELOG = "CHANGELOG.md"
HEADING = re.compile(r"^## \[(?P<name>[^\]\n]*)\]", re.MULTILINE)
UNRELEASED = "Unreleased"
# Semantic versions without pre-release or build parts: the tag is v<version>.
VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


class ReleaseError(Exception):
    """What stops a release, with the fix."""


@dataclass(frozen=True)
class Release:
    version: str
    commit: str

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result.stdout


def versions_in(changelog: str) -> list[str]:
    """The release versions of a CHANGELOG.md, in the order of their headings."""
    return [m["name"] for m in HEADING.finditer(changelog) if VERSION.fullmatch(m["name"])]


def check_headings(changelog: str) -> None:
    """Every `## [...]` heading is `Unreleased` or a version X.Y.Z, each version once."""
    names = [m["name"] for m in HEADING.finditer(changelog)]
    wrong = [name for name in names if name != UNRELEASED and not VERSION.fullmatch(name)]
    if wrong:
        raise ReleaseError(
            f"{CHANGELOG}: the heading '## [{wrong[0]}]' is neither '## [{UNRELEASED}]' nor a version "
            "X.Y.Z (numbers without leading zeros, no 'v')"
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ReleaseError(f"{CHANGELOG}: the heading '## [{twice[0]}]' appears more than once")


def changelog_history(repo: Path, ref: str) -> list[tuple[str, str]]:
    """(commit, CHANGELOG.md at that commit) for each first-parent commit that changed it, oldest first."""
    if git(repo, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise ReleaseError(
            "this clone is shallow, so its history cannot say which commit each release is: "
            "git fetch --unshallow (in GitHub Actions, actions/checkout with fetch-depth: 0)"
        )
    commits = git(repo, "log", "--first-parent", "--reverse", "--format=%H", ref, "--", CHANGELOG).split()
    if not commits:
        return []
    listed = "".join(f"{commit}:{CHANGELOG}\n" for commit in commits).encode()
    batch = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch"], input=listed, capture_output=True, check=True
    ).stdout
    history, position = [], 0
    for commit in commits:
        end = batch.index(b"\n", position)
        header = batch[position:end].split()
        position = end + 1
        if header[-1] == b"missing":  # the commit deleted the file
            history.append((commit, ""))
            continue
        size = int(header[2])
        history.append((commit, batch[position : position + size].decode()))
        position += size + 1
    return history


def releases(repo: Path, ref: str = "HEAD") -> list[Release]:
    """Every release CHANGELOG.md records at `ref`, oldest first, each at the commit that added it."""
    history = changelog_history(repo, ref)
    current = history[-1][1] if history else ""
    check_headings(current)
    added: dict[str, str] = {}
    before: set[str] = set()
    for commit, text in history:
        now = set(versions_in(text))
        for version in now - before:
            added.setdefault(version, commit)
        before = now
    order = {commit: index for index, (commit, _) in enumerate(history)}
    found = sorted((Release(v, added[v]) for v in versions_in(current)), key=lambda r: (order[r.commit], r.key))
    for earlier, later in itertools.pairwise(found):
        if later.key <= earlier.key:
            raise ReleaseError(
                f"{CHANGELOG}: release {later.version} (commit {later.commit[:12]}) comes after "
                f"{earlier.version} in the history but is not a higher version"
            )
    return found


def notes(repo: Path, release: Release) -> str:
    """The release's section of CHANGELOG.md as its release commit has it, without the heading."""
    text = git(repo, "show", f"{release.commit}:{CHANGELOG}")
    start = next(m for m in HEADING.finditer(text) if m["name"] == release.version)
    body_start = start.end() + len(text[start.end() :].split("\n", 1)[0]) + 1  # past the heading's line
    following = HEADING.search(text, body_start)
    return text[body_start : following.start() if following else len(text)].strip() + "\n"


def existing_tags(repo: Path) -> dict[str, tuple[str, str]]:
    """{tag: (object type, commit it points at)} for every tag of the clone."""
    # %(*objectname) is what an annotated tag points at, empty for a lightweight one.
    listed = git(
        repo, "for-each-ref", "refs/tags", "--format=%(refname:short) %(objecttype) %(*objectname) %(objectname)"
    )
    found = {}
    for line in listed.splitlines():
        name, kind, peeled, direct = line.split(" ")
        found[name] = (kind, peeled or direct)
    return found


def tag(repo: Path, notes_dir: Path | None = None) -> tuple[list[Release], list[Release]]:
    """Create each missing annotated tag; returns (every release, the ones tagged now).

    A tag already there must be annotated and point at its release commit: otherwise nothing is
    created and the error names the tag, both commits and the fix.
    """
    recorded = releases(repo)
    tags = existing_tags(repo)
    for release in recorded:
        if release.tag not in tags:
            continue
        kind, commit = tags[release.tag]
        if commit != release.commit:
            raise ReleaseError(
                f"the tag {release.tag} points at {commit[:12]}, but {CHANGELOG} records release "
                f"{release.version} at {release.commit[:12]}, the commit that added its heading. A release "
                "tag is never moved: if the tag is wrong, delete it (git push origin :refs/tags/"
                f"{release.tag}) and run this again; if the heading is, record the next version instead."
            )
        if kind != "tag":
            raise ReleaseError(
                f"the tag {release.tag} is a lightweight tag; releases are annotated tags. Delete it "
                f"(git tag -d {release.tag}, and on the remote git push origin :refs/tags/{release.tag}) "
                "and run this again."
            )
    created = []
    for release in recorded:
        if release.tag in tags:
            continue
        date = git(repo, "log", "-1", "--format=%cI", release.commit).strip()
        env = {**os.environ, "GIT_COMMITTER_DATE": date}
        git(repo, "tag", "-a", release.tag, "-m", f"gar-template {release.version}", release.commit, env=env)
        created.append(release)
    if notes_dir is not None:
        notes_dir.mkdir(parents=True, exist_ok=True)
        for release in recorded:
            (notes_dir / f"{release.tag}.md").write_text(notes(repo, release))
    return recorded, created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path("."), help="the template's clone (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="each release, oldest first, and its commit")
    tagging = commands.add_parser("tag", help="tag every release that lacks its tag")
    tagging.add_argument("--notes-dir", type=Path, help="write each release's notes to DIR/vX.Y.Z.md")
    noting = commands.add_parser("notes", help="a release's section of CHANGELOG.md")
    noting.add_argument("tag", help="vX.Y.Z")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for release in releases(args.repo):
                print(release.tag, release.commit)
        elif args.command == "notes":
            found = [r for r in releases(args.repo) if r.tag == args.tag]
            if not found:
                raise ReleaseError(f"{CHANGELOG} records no release {args.tag}")
            print(notes(args.repo, found[0]), end="")
        else:
            recorded, created = tag(args.repo, args.notes_dir)
            for release in recorded:
                done = "tagged now" if release in created else "already tagged"
                print(f"{release.tag} {release.commit[:12]} {done}", file=sys.stderr)
            print(f"created={' '.join(r.tag for r in created)}")
            print(f"releases={' '.join(r.tag for r in recorded)}")
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
