"""The one reading of the answers file that the hooks share.

The hooks run as scripts with Copier's own Python, which has PyYAML; the script's directory is
first on sys.path, so `import copier_answers` finds this module. Copier renders the answers file before
any task or migration runs, so it always holds the answers of the copy or update in progress.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml


def read(answers_file: str) -> dict[str, Any]:
    """The answers of this copy or update, as Copier just rendered them."""
    path = Path(answers_file)
    if not path.is_file():
        raise SystemExit(
            f"gar-template: the answers file {answers_file} is missing; Copier renders it before hooks run."
        )
    return yaml.safe_load(path.read_text()) or {}


def committed(answers_file: str) -> dict[str, Any]:
    """The answers as last committed, before this update rewrote the file ({} if none)."""
    shown = subprocess.run(["git", "show", f"HEAD:{answers_file}"], capture_output=True, text=True, check=False)
    return (yaml.safe_load(shown.stdout) or {}) if shown.returncode == 0 else {}


def template_version(answers: dict[str, Any], answers_file: str) -> str:
    """The template version (`_commit`) the answers were recorded from; a clear error without one."""
    version = answers.get("_commit")
    if not isinstance(version, str) or not version:
        raise ValueError(
            f"{answers_file} records no template version (_commit): the project was not generated "
            "from a git-tracked template, so its previous template version cannot be rendered"
        )
    return version
