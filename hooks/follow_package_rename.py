"""After `copier update` changed package_name, carry the user's package over to the new name.

Run by Copier as a migration, after the update, in the project. Copier renders src/<new>/ from
the template, deletes the template's files from src/<old>/ (with any edits the user made to
them) and leaves the user's own files behind in src/<old>/. This script puts everything back
under src/<new>/:

- a file of the user's own in src/<old>/ moves to src/<new>/;
- a template file the user had changed comes back from the last commit: if the fresh render
  differs, the file gets conflict markers with both versions, so nothing is silently lost;
- in every file it moves or restores, `import <old>` and `from <old>` become the new name.

Copier does not stage or commit an update, and neither does this script: review with
`git status` and `git diff`, then commit.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import yaml


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def previous_package_name(answers_file: str) -> str | None:
    """package_name as last committed, before this update rewrote the answers file."""
    try:
        committed = git("show", f"HEAD:{answers_file}")
    except subprocess.CalledProcessError:
        return None
    return (yaml.safe_load(committed) or {}).get("package_name")


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
    args = parser.parse_args()
    new = args.package_name
    old = previous_package_name(args.answers_file)
    if old is None or old == new:
        return 0

    old_dir, new_dir = Path("src", old), Path("src", new)
    moved, restored, conflicted = [], [], []
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
            target.write_text(conflict(committed, target.read_text(), f"{old}/{inside}"))
            conflicted.append(target)
    for directory in sorted((p for p in old_dir.rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    if old_dir.is_dir() and not any(old_dir.iterdir()):
        old_dir.rmdir()

    print(f"gar-template: package renamed from {old} to {new}; src/{old}/ was carried over to src/{new}/.")
    for label, paths in (("moved", moved), ("restored", restored), ("CONFLICT, resolve by hand", conflicted)):
        for path in paths:
            print(f"  {label}: {path}")
    print(f"  Imports of '{old}' elsewhere (your own tests, docs) still need renaming: git grep -n '{old}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
