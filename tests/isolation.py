"""A user environment with no personal settings, shared by the tests and the benchmarks.

HOME, git's global config and Copier's settings point at empty places, so a developer's own
defaults or identity cannot change results. pip and uv keep their real caches so that installs stay
fast and need no network after the first run; uv uses the machine's Pythons and never downloads one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

PERSONAL = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL")
# Unset too: PYTHONDONTWRITEBYTECODE. Python writes the bytecode of what it imports (__pycache__)
# and reads it back in the next process, as on a user's machine; an environment that turns that off
# (set in many container images) makes every process compile its imports again: Copier's import
# takes 1.2 s instead of 0.4 s, and the tests and benchmarks start hundreds of them.
UNSET = (*PERSONAL, "PYTHONDONTWRITEBYTECODE")


def isolate(home: Path) -> None:
    """Point this process (and what it starts) at an empty user environment under `home`."""
    home.mkdir(parents=True, exist_ok=True)
    _write(home / "gitconfig", "")
    _write(home / "copier-settings.yml", "{}\n")
    cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    uv_cache = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")
    environment = {name: value for name, value in os.environ.items() if name not in UNSET}
    environment.update(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        COPIER_SETTINGS_PATH=str(home / "copier-settings.yml"),
        PIP_CACHE_DIR=cache,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_CACHE_DIR=uv_cache,
        UV_PYTHON_DOWNLOADS="never",
    )
    replace_environment(environment)
    sys.dont_write_bytecode = False  # see UNSET


def replace_environment(values: Mapping[str, str]) -> None:
    """This process's environment becomes `values`: os.environ, and plumbum's copy of it, which
    Copier runs git and its tasks with. plumbum copies os.environ when first imported (pytest-copie
    imports it before the tests isolate themselves) and never reads it again."""
    os.environ.clear()
    os.environ.update(values)
    plumbum = sys.modules.get("plumbum")
    if plumbum is not None:
        plumbum.local.env.clear()
        plumbum.local.env.update(**values)


def _write(path: Path, text: str) -> None:
    """Replace the file in one step: each xdist worker isolates itself in the same home while the
    others already read these files (a file truncated before it is written reads as empty)."""
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    staged.write_text(text)
    os.replace(staged, path)
