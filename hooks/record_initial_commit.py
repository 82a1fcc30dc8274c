"""Record a freshly generated project in git: init on main, one commit, annotated tag v<version>.

Run by Copier as a task, on copy only, in the destination directory, with Copier's own Python.
It reads the answers from the answers file Copier has just rendered.

Whose name is on the commit and the tag: the user's own git identity when one is configured
(`git config user.name` and `user.email` both resolve), since they are the one recording the
project; otherwise the author answers, which reach git through GIT_AUTHOR_* and GIT_COMMITTER_*
in the environment of these git calls alone. It never writes any git configuration, so it works
where no identity is set.

When the destination is the root of an existing git repository (a clone, the same copy twice),
nothing is committed or tagged there: its history and tags belong to its owner, and files staged
by them must not be swept into our commit. The user is told what to run instead.

A destination below the root of another repository (a monorepo's packages/sub-pkg) is refused:
the project's version comes from its own v* tags and its workflows from its own .github/, which
GitHub runs only at a repository's root, so there it would neither build nor publish. The task
takes back every file the copy wrote and the directories left empty up to that root, says so and
fails the copy.

The commit holds exactly the files the template rendered: files that were in a non-empty
destination before the copy stay untracked, and the user is told which.

A template named by a relative path (`copier copy . ../pkg`) is recorded by Copier as given, so
`copier update` and the README's Google Cloud setup line would look for it relative to the
project: the user is told to name it by its full path or URL.
"""

from __future__ import annotations

import argparse
import fnmatch  # already loaded by pathlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier_answers
import yaml  # Copier's own dependency, already loaded by copier_answers
from terminal import say


def git(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], env=env, capture_output=True, text=True, check=False)


def tag_step(tag: str, version: str, *, moves: bool) -> str:
    """Step 3 of the message after copy: the release tag, pushed alone. Only a tag this task made
    moves (-f): nobody has pushed it, and it must name the commit that records the ids."""
    force = "-f " if moves else ""
    return f"$ git tag {force}-a {tag} -m 'Release {version}' && git push origin {tag}"


def fail(step: str, result: subprocess.CompletedProcess[str]) -> int:
    print(f"gar-template: '{step}' failed:\n{result.stderr.strip()}", file=sys.stderr)
    say(
        "The project was not recorded in git. Fix the cause and copy again, or run Copier with "
        "--skip-tasks and record it yourself (see the template's README, 'Tasks and trust').",
        file=sys.stderr,
    )
    return 1


# The only Jinja in template/'s file names: an answer, or a name kept only when an answer is true
# (CONTRIBUTING.md, "File names in template/"; tests/test_contributing.py checks every name).
# Read with two patterns rather than Jinja itself: importing jinja2 would double this task's time.
CONDITIONAL_NAME = re.compile(r"\{% if (\w+) %\}(.*?)\{% endif %\}")
ANSWER_IN_NAME = re.compile(r"\{\{ ([\w.]+) \}\}")
# copier.yml's settings (`_subdirectory`, `_exclude`...) come before its first question.
FIRST_QUESTION = re.compile(r"^[A-Za-z]\w*:", re.MULTILINE)


def rendered_name(part: str, context: dict[str, Any]) -> str:
    """A file name rendered as Copier renders it; a name that renders empty is not created."""
    part = CONDITIONAL_NAME.sub(lambda m: m.group(2) if context.get(m.group(1)) else "", part)
    part = ANSWER_IN_NAME.sub(lambda m: str(context[m.group(1)]), part)
    if "{" in part or "%}" in part:
        raise SystemExit(f"gar-template: the file name {part!r} holds Jinja this task cannot read")
    return part


def template_settings(template: Path) -> tuple[Path, list[str]]:
    """copier.yml's `_subdirectory` (where the project's files are) and `_exclude` (names left out).

    Only the settings before the first question are parsed, with libyaml where PyYAML has it: all
    of copier.yml, in pure Python, would cost this task a tenth of a second. An `_exclude` pattern
    matches one path component, as `*.pyc` does.
    """
    text = (template / "copier.yml").read_text()
    first = FIRST_QUESTION.search(text)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where PyYAML has it: faster
    settings = yaml.load(text[: first.start() if first else len(text)], Loader=loader) or {}
    exclude = [str(pattern) for pattern in settings.get("_exclude", [])]
    unsupported = [pattern for pattern in exclude if "/" in pattern or pattern.startswith("!")]
    if unsupported:
        raise SystemExit(f"gar-template: this task reads only one-component _exclude patterns, not {unsupported}")
    return template / str(settings.get("_subdirectory", "")), exclude


def rendered_files(template: Path, answers: dict[str, Any], answers_file: str) -> list[str]:
    """The project paths the template renders: the names in its subdirectory rendered with the
    answers, less what `_exclude` leaves out. A name that renders empty
    (`{% if x %}name{% endif %}`) is not created, and `.jinja` goes.
    """
    context = {**answers, "_copier_conf.answers_file": answers_file}
    template_dir, exclude = template_settings(template)
    found = []
    for path in template_dir.rglob("*"):
        relative = path.relative_to(template_dir)
        if not path.is_file() or any(fnmatch.fnmatchcase(part, p) for part in relative.parts for p in exclude):
            continue
        parts = [rendered_name(part, context) for part in relative.parts]
        parts[-1] = parts[-1].removesuffix(".jinja")
        if all(parts):
            found.append("/".join(parts))
    return sorted(found)


def configured_identity() -> bool:
    """Whether git resolves the user's own name and e-mail from its configuration."""
    found = git("config", "--get-regexp", r"^user\.(name|email)$").stdout.splitlines()
    return {line.split(" ", 1)[0] for line in found if " " in line} == {"user.name", "user.email"}


def files_on_disk() -> set[str]:
    found = set()
    for directory, subdirectories, names in os.walk("."):
        subdirectories[:] = [d for d in subdirectories if d != ".git"]
        found.update(Path(directory, name).as_posix().removeprefix("./") for name in names)
    return found


def refuse_inside(toplevel: Path, rendered: list[str]) -> int:
    """Take back what the copy wrote below another repository's root, and say why."""
    destination = Path.cwd().resolve()
    present = [f for f in rendered if Path(f).is_file()]
    tracked = set(git("ls-files", "--", *present).stdout.splitlines()) if present else set()
    for name in present:
        if name in tracked:  # a file of theirs that the copy overwrote: their version comes back
            git("checkout", "--", name)
        else:
            Path(name).unlink()
    for directory, _, _ in sorted(os.walk("."), key=lambda entry: -len(entry[0])):
        if directory != "." and not os.listdir(directory):
            os.rmdir(directory)
    # Copier made the destination and its missing parents; git tracks no empty directory, so the
    # empty ones up to the repository's root go too.
    emptied = destination
    while emptied != toplevel and toplevel in emptied.parents and not any(emptied.iterdir()):
        emptied.rmdir()
        emptied = emptied.parent
    say(
        f"gar-template: refused: {destination}",
        f"is inside the git repository {toplevel}.",
        "A project from this template is a repository of its own: its version comes from its own v* "
        "tags, and GitHub runs workflows only from a repository's root .github/. Inside another "
        "repository it would neither build nor publish. The files this copy wrote are removed again: "
        "copy it to a directory outside that repository.",
        file=sys.stderr,
    )
    return 1


def warn_relative_source(source: str) -> None:
    """Copier records `_src_path` as the user typed it; a relative local path means nothing from
    the project, where `copier update` and the README's setup line read it."""
    if not source or os.path.isabs(source) or re.match(r"(gh:|gl:|git@|[a-z][a-z0-9+.-]*://)", source):
        return
    say(
        f"gar-template: Copier recorded the template as {source!r}, a path relative to where you "
        "ran it: from the project, `copier update` and the README's Google Cloud setup line would "
        "look for it there, and it is not. Copy again naming the template by its full path (the "
        'docs write "$PWD") or by its URL.',
        file=sys.stderr,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", required=True, type=Path, help="the template's root (its local clone)")
    parser.add_argument("--answers-file", required=True, help="the answers file's name in the project")
    args = parser.parse_args()
    answers = copier_answers.read(args.answers_file)
    warn_relative_source(str(answers.get("_src_path", "")))
    version = answers["initial_version"]
    tag = f"v{version}"

    if shutil.which("git") is None:
        say(
            "gar-template: git is not on PATH, so the project was generated but nothing was "
            "committed or tagged. Install git, then in the project run:",
            "$ git init --initial-branch=main && git add --all && git commit -m 'Initial commit'",
            "and the steps below apply; step 3, the release tag, once Google Cloud is set up:",
            tag_step(tag, version, moves=False),
            file=sys.stderr,
        )
        return 0

    inside = git("rev-parse", "--show-toplevel")
    if inside.returncode == 0 and Path(inside.stdout.strip()).resolve() != Path.cwd().resolve():
        toplevel = Path(inside.stdout.strip()).resolve()
        return refuse_inside(toplevel, rendered_files(args.template, answers, args.answers_file))
    if inside.returncode == 0:
        say(
            f"gar-template: this directory is the git repository {inside.stdout.strip()}: nothing "
            "was committed or tagged, its history and tags were left untouched. Review and commit "
            "the generated files yourself. In step 1 below, keep the remote it already has, if any.",
            file=sys.stderr,
        )
        if git("rev-parse", "--quiet", "--verify", f"refs/tags/{tag}").returncode == 0:
            say(
                f"Step 3 makes no tag: {tag} exists in this repository already, and may be published. "
                "Release your changes as a new version, with a tag of its own (docs/publishing.md).",
                file=sys.stderr,
            )
        else:
            say("Step 3, the release tag, once Google Cloud is set up:", tag_step(tag, version, moves=False))
        return 0

    env = dict(os.environ)
    if not configured_identity():
        name, email = answers["author_name"], answers["author_email"]
        env.update(GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email)
    generated = [f for f in rendered_files(args.template, answers, args.answers_file) if Path(f).is_file()]
    steps = [
        ("git init", ["init", "--quiet", "--initial-branch=main"]),
        ("git add", ["add", "--", *generated]),
        ("git commit", ["commit", "--quiet", "--no-verify", "-m", "Initial commit from gar-template"]),
        ("git tag", ["tag", "-a", tag, "-m", f"Release {version}"]),
    ]
    for step, argv in steps:
        result = git(*argv, env=env)
        if result.returncode != 0:
            return fail(step, result)
    say(
        f"gar-template: initialised git on branch main, committed, tagged {tag} (nothing pushed). "
        "Step 3, once Google Cloud is set up, moves this unpushed tag onto what you pushed last "
        "and pushes it alone:",
        tag_step(tag, version, moves=True),
    )
    # Asking git which files it does not track costs a process: only when there can be some.
    already_there = (
        git("ls-files", "--others", "--exclude-standard").stdout.splitlines()
        if files_on_disk() - set(generated)
        else []
    )
    if already_there:
        say(
            "gar-template: these files were in the directory before the copy and are not part of "
            f"the first commit: {', '.join(already_there)}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
