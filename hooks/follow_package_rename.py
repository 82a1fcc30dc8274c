"""After `copier update` changed package_name, carry the user's package over to the new name.

Run by Copier as a migration, after the update, in the project. Copier renders src/<new>/ from
the template, deletes the template's files from src/<old>/ (with any edits the user made to
them) and leaves the user's own files behind in src/<old>/. This script puts everything back
under src/<new>/:

- a file of the user's own in src/<old>/ moves to src/<new>/;
- a template file the user had changed comes back from the last commit, merged three ways with
  the fresh render: the base is the old template version rendered with the old answers, so the
  user's edits and the template's changes combine, and only lines both changed get conflict
  markers (without that base, the whole file is one conflict); nothing is silently lost;
- in every file it moves or restores, `import <old>` and `from <old>` become the new name.

Copier does not stage or commit an update, and neither does this script: review with
`git status` and `git diff`, then commit.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def previous_answers(answers_file: str) -> dict[str, object]:
    """The answers as last committed, before this update rewrote the answers file."""
    try:
        committed = git("show", f"HEAD:{answers_file}")
    except subprocess.CalledProcessError:
        return {}
    return yaml.safe_load(committed) or {}


def render_previous_version(template: str, answers: dict[str, object], destination: Path) -> Path | None:
    """The template version the project came from, rendered with its answers: the merge base."""
    import copier  # the interpreter running this migration is Copier's own

    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    try:
        copier.run_copy(
            template,
            str(destination),
            data=data,
            vcs_ref=str(answers.get("_commit")),
            defaults=True,
            skip_tasks=True,
            quiet=True,
            unsafe=True,
        )
    except Exception as error:  # any failure costs only the finer merge
        print(
            f"gar-template: could not render the previous template version ({error}); "
            "changed template files will show whole-file conflicts.",
            file=sys.stderr,
        )
        return None
    return destination


def merge(mine: str, base: str | None, template: str, relative: str) -> tuple[str, bool]:
    """Three-way merge with git merge-file; returns the text and whether conflicts remain."""
    if base is None:
        return conflict(mine, template, relative), True
    with tempfile.TemporaryDirectory() as scratch:
        paths = [Path(scratch, name) for name in ("mine", "base", "template")]
        for path, text in zip(paths, (mine, base, template), strict=True):
            path.write_text(text)
        result = subprocess.run(
            [
                "git",
                "merge-file",
                "-p",
                "-L",
                f"your version (was src/{relative})",
                "-L",
                "previous template",
                "-L",
                "template version",
                *map(str, paths),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    return result.stdout, result.returncode != 0


def renamed_imports(text: str, old: str, new: str) -> str:
    return re.sub(rf"(^|\n)(\s*)(from|import)(\s+){re.escape(old)}\b", rf"\1\2\3\4{new}", text)


def conflict(mine: str, template: str, relative: str) -> str:
    return (
        f"<<<<<<< your version (was src/{relative} under the old package name)\n{mine}"
        f"=======\n{template}>>>>>>> template version\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package-name", required=True)
    parser.add_argument("--answers-file", required=True)
    parser.add_argument("--template", required=True, help="the template's local clone")
    args = parser.parse_args()
    new = args.package_name
    answers = previous_answers(args.answers_file)
    old = answers.get("package_name")
    if not isinstance(old, str) or old == new:
        return 0

    old_dir, new_dir = Path("src", old), Path("src", new)
    moved, restored, merged, conflicted = [], [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        previous = render_previous_version(args.template, answers, Path(scratch, "previous"))
        for relative in git("ls-tree", "-r", "--name-only", "HEAD", "--", f"{old_dir}/").splitlines():
            inside = Path(relative).relative_to(old_dir)
            source, target = Path(relative), new_dir / inside
            committed = renamed_imports(git("show", f"HEAD:{relative}"), old, new)
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.exists():
                # A file Copier did not own, left behind under the old name.
                text = renamed_imports(source.read_text(), old, new)
                source.unlink()
                if target.exists() and target.read_text() != text:
                    target.write_text(conflict(text, target.read_text(), f"{old}/{inside}"))
                    conflicted.append(target)
                else:
                    target.write_text(text)
                    moved.append(target)
            elif not target.exists():
                target.write_text(committed)
                restored.append(target)
            elif target.read_text() != committed:
                base_file = previous / relative if previous else None
                base = renamed_imports(base_file.read_text(), old, new) if base_file and base_file.is_file() else None
                text, conflicts = merge(committed, base, target.read_text(), f"{old}/{inside}")
                target.write_text(text)
                (conflicted if conflicts else merged).append(target)

    for directory in sorted((p for p in old_dir.rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    if old_dir.is_dir() and not any(old_dir.iterdir()):
        old_dir.rmdir()

    print(f"gar-template: package renamed from {old} to {new}; src/{old}/ was carried over to src/{new}/.")
    for label, paths in (
        ("moved", moved),
        ("restored", restored),
        ("merged", merged),
        ("CONFLICT, resolve by hand", conflicted),
    ):
        for path in paths:
            print(f"  {label}: {path}")
    print(f"  Imports of '{old}' elsewhere (your own tests, docs) still need renaming: git grep -n '{old}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
