"""After an update that changed what uv.lock is resolved from: run `uv lock`, or say to.

uv.lock belongs to the project, not the template, so Copier never touches it; but a template
release that changes pyproject.toml's dependencies, dependency groups, Python range, uv settings
or build backend leaves it stale, and `uv sync --locked` (and CI) then refuse it. When the project
has a uv.lock and such a table changed, `uv lock` runs if uv is on PATH; otherwise, or when it
fails (an index out of reach, say), the message says to run it. Nothing here fails the update:
the lock is the owner's to review and commit with it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from terminal import say

# What uv.lock is resolved from, as (table, key) paths in pyproject.toml.
RESOLVED_FROM = (
    ("build-system",),
    ("project", "name"),
    ("project", "requires-python"),
    ("project", "dependencies"),
    ("project", "optional-dependencies"),
    ("dependency-groups",),
    ("tool", "uv"),
)


def resolved_from(text: str) -> dict[str, Any]:
    """The parts of a pyproject.toml that uv.lock depends on, by dotted name."""
    try:
        import tomllib
    except ImportError:  # Copier's Python may be older than 3.11: then any change counts
        return {"pyproject.toml": text}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:  # not for this step to report: compare the text instead
        return {"pyproject.toml": text}
    found = {}
    for path in RESOLVED_FROM:
        value: Any = data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        found[".".join(path)] = value
    return found


def committed(path: str) -> str:
    shown = subprocess.run(["git", "show", f"HEAD:{path}"], capture_output=True, text=True, check=False)
    return shown.stdout if shown.returncode == 0 else ""


def follow(conflicted: list[str]) -> None:
    """Bring uv.lock up to date when this update changed what it is resolved from."""
    if not Path("uv.lock").is_file() or not Path("pyproject.toml").is_file():
        return
    if "pyproject.toml" in conflicted:
        say("gar-template: once pyproject.toml's conflicts are resolved, run `uv lock` and commit uv.lock.")
        return
    before, after = resolved_from(committed("pyproject.toml")), resolved_from(Path("pyproject.toml").read_text())
    changed = [name for name in after if before.get(name) != after[name]]
    if not changed:
        return
    what = "pyproject.toml" if changed == ["pyproject.toml"] else f"pyproject.toml's {', '.join(changed)}"
    uv = shutil.which("uv")
    if uv is None:
        say(f"gar-template: this update changed {what}, so uv.lock is out of date: run `uv lock` and commit uv.lock.")
        return
    locked = subprocess.run([uv, "lock"], capture_output=True, text=True, check=False)
    if locked.returncode == 0:
        say(f"gar-template: this update changed {what}; `uv lock` updated uv.lock (review it with the rest).")
    else:
        print(
            f"gar-template: this update changed {what}, and `uv lock` failed:\n{locked.stderr.strip()}", file=sys.stderr
        )
        say("Fix the cause, then run `uv lock` and commit uv.lock with the update.", file=sys.stderr)
