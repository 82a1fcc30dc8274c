"""After an update: the files the template no longer renders, deleted unless the owner changed them.

Copier deletes every file that the previous template version rendered and the new one does not
(a file the template dropped, or one an answer no longer asks for), edits and all: git still has
the owner's version, but nothing says so. `follow` looks at each committed file the update deleted:

- unchanged since the previous template version rendered it: it stays deleted, and is listed;
- changed by its owner: it comes back as last committed, and is listed as kept, for the owner to
  move what they need and delete it, or keep it as their own file.

Without the previous version's render (it could not be made) every such file is kept: nothing an
owner wrote is lost on a guess.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import package_rename


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], capture_output=True, check=True).stdout


def deleted_by_update(skip: str | None) -> list[str]:
    """Committed files missing from the work tree: the tree was clean before the update (Copier insists)."""
    paths = [path.decode() for path in git("ls-files", "--deleted", "-z").split(b"\0") if path]
    return [path for path in paths if skip is None or not path.startswith(skip)]


def restore(path: str) -> None:
    """Put a file back exactly as last committed, mode included, leaving the index alone."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(git("show", f"HEAD:{path}"))
    if git("ls-tree", "HEAD", "--", path).split(b" ", 1)[0] == b"100755":
        target.chmod(0o755)


def follow(previous: dict[str, Any], template: str, answers_file: str, skip: str | None = None) -> None:
    """Settle and report the files this update deleted; `skip` is a directory another step handles."""
    deleted = deleted_by_update(skip)
    if not deleted:
        return
    removed, kept = [], []
    with tempfile.TemporaryDirectory() as scratch:
        render = package_rename.render_previous_version(template, previous, answers_file, Path(scratch, "previous"))
        for path in deleted:
            rendered = render / path if render else None
            if rendered and rendered.is_file() and rendered.read_bytes() == git("show", f"HEAD:{path}"):
                removed.append(path)
            else:
                restore(path)
                kept.append(path)
    print("gar-template: this template version no longer renders these files:")
    for path in removed:
        print(f"  deleted (unchanged since the template made it): {path}")
    for path in kept:
        print(f"  KEPT, you changed it: {path}")
    if kept:
        print(
            "  Kept files are yours now: move what you still need elsewhere and delete them "
            "(git rm PATH), or keep them as your own."
        )
