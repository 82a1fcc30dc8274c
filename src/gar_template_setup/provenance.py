"""Where this tool comes from, against where the project says its template comes from.

The project's record (its settings, rendered from `_src_path` and `_commit` in .copier-answers.yml)
is a file any writer can edit: it could name a fork. The tool's own origin is the installer's
record, `direct_url.json` in the tool's metadata (PEP 610: the URL and commit uv or pip installed
it from), and its version, which hatch-vcs took from the template's git tag. A project that names
another source, or a template release newer than the tool, is shown and refused without --yes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DISTRIBUTION = PROGRAM = "gar-template-setup"
# Copier's own shortcuts for template sources (copier/_vcs.py).
ALIASES = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
# "v0.3.0" or, between releases, git describe's "v0.3.0-3-gabc1234".
DESCRIBED = re.compile(r"v(\d+\.\d+(?:\.\d+)*)(?:-(\d+)-g[0-9a-f]+)?")
# hatch-vcs with version_scheme "no-guess-dev": "0.3.0", or "0.3.0.post1.dev3+gabc1234".
VERSION = re.compile(r"(\d+(?:\.\d+)*)(?:\.post\d+\.dev(\d+))?(?:\+.*)?")


@dataclass(frozen=True)
class Origin:
    source: str  # a comparable URL (see `comparable`), "" when unknown
    version: str  # the release, as tagged or described


def tool() -> Origin:
    """This tool, as its installer recorded it."""
    try:
        found = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return Origin("", "unknown")
    direct = json.loads(found.read_text("direct_url.json") or "{}")
    return Origin(comparable(direct.get("url", "")), found.version)


def comparable(source: str, base: Path | None = None) -> str:
    """A template source as one spelling: Copier's gh:/gl: shortcuts, git+ URLs, scp-like SSH
    addresses and local paths (relative ones taken from `base`) all become plain URLs."""
    source = source.strip()
    for alias, url in ALIASES.items():
        if source.startswith(alias):
            source = url + source[len(alias) :]
    source = source.removeprefix("git+")
    if scp := re.fullmatch(r"[\w.-]+@([\w.-]+):(.+)", source):
        source = f"https://{scp[1]}/{scp[2]}"
    source = re.sub(r"^ssh://[\w.-]+@", "https://", source)
    if source and "://" not in source:
        path = Path(source)
        source = (base / path if base and not path.is_absolute() else path).resolve().as_uri()
    source = source.rstrip("/").removesuffix(".git")
    if source.startswith(("https://github.com/", "https://gitlab.com/")):
        source = source.lower()  # both treat owner and repository names case-insensitively
    return source


def position(described: str, pattern: re.Pattern[str]) -> tuple[tuple[int, ...], int] | None:
    """A release and the commits after it, or None when `described` names no release."""
    found = pattern.fullmatch(described.strip())
    if found is None:
        return None
    return tuple(int(part) for part in found[1].split(".")), int(found[2] or 0)


def objections(project_source: str, project_commit: str, project_dir: Path) -> list[str]:
    """Why the tool should not act on this project without --yes: another template source, or a
    template release newer than the tool."""
    own = tool()
    found = []
    recorded = comparable(project_source, project_dir) if project_source else ""
    if recorded != own.source:
        found.append(
            f"the project records its template as {project_source or '(nothing)'}, "
            f"but this tool comes from {own.source or 'an unknown source'}: "
            "anyone who can push to the project can change that record"
        )
    project = position(project_commit, DESCRIBED)
    tool_release = position(own.version, VERSION)
    if project and tool_release and project > tool_release:
        found.append(
            f"the project was rendered by template {project_commit}, newer than this tool "
            f"({own.version}): it may ask for what this tool does not know"
        )
    return found
